// Scale-out behind BGP ECMP (issue 18), in the namespace lab of test/bgp/bgp-lab.ts (BIRD router, directors with
// BIRD + directord, scale_out = 1 and sync_peers). Every figure is printed per round next to a baseline measured in
// the same round, as a ratio, then as median (min-max) over the rounds. Parts (--parts, comma-separated):
//   death  a director's death (its link goes silent, then bird and directord are killed -9) until the router's
//          kernel route loses its next hop, with BFD at two timings; and a graceful stop (SIGTERM to directord) until
//          the withdrawal reaches the router's kernel. Baseline: the same death without BFD (BGP hold time 3 s).
//   conns  N long-lived connections (test/ha/flows.ts, a line every 250 ms each) while a 4th director is added,
//          one is drained (drain-director) and one is killed -9: connections broken at each step (for the kill, split
//          by whether the survivors held the flow's state just before), and per director where sync entries were lost.
//          Baseline: the same steps with scale-out but no sync_peers (the flows the router moves find no entry).
//   share  1, 2 and 3 directors under the same load: each one's share of the forwarded packets against the ideal 1/n,
//          and the CPU per packet against the 1-director run of the same round (the lab shares 2 cores: no speed-up
//          is claimed).
// Run as root after the build: node -r @isaacs/ts-node-temp-fork-for-pr-2009/register/transpile-only bench/scaleout.ts
//   [--parts death,conns,share] [--rounds 3] [--conns 10000] [--hold 75] [--check 30] [--share-conns 1000]
//   [--share-interval 50]
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BgpLab, BGP_LAB } from '../test/bgp/bgp-lab';
import { waitFor } from '../test/lab/lab';
import { execIn } from '../test/lab/ns-exec';
import { paths } from '../test/lab/build-lab';

const argOf = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const PARTS = argOf('--parts', 'death,conns').split(',');
const ROUNDS = Number(argOf('--rounds', '5'));
const CONNS = Number(argOf('--conns', '10000'));
/** Seconds the connections stay established before the first step (long-lived: longer than any handshake timeout). */
const HOLD_S = Number(argOf('--hold', '75'));
/** Seconds a connection has to answer after a step before it counts as broken. */
const CHECK_S = Number(argOf('--check', '30'));
const SHARE_CONNS = Number(argOf('--share-conns', '1000'));
const SHARE_INTERVAL_MS = Number(argOf('--share-interval', '50'));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : NaN;
};
const num = (x: number, d: number): string => (Number.isFinite(x) ? x.toFixed(d) : '-');
const spread = (xs: number[], d: number): string => (xs.length ? `${num(median(xs), d)} (${num(Math.min(...xs), d)}-${num(Math.max(...xs), d)})` : '-');

/** One figure per round with the same round's baseline; summarised as median (min-max) over the rounds. */
class Figures {
  private rows = new Map<string, { unit: string; digits: number; base: string; values: number[]; ratios: number[] }>();

  /** Records and prints one round's value; ratio = value / baseline when a baseline is given (skipped when 0). */
  add(round: number, name: string, value: number, unit: string, digits: number, baseline?: { name: string; value: number }): void {
    const row = this.rows.get(name) ?? { unit, digits, base: baseline?.name ?? '', values: [], ratios: [] };
    this.rows.set(name, row);
    row.values.push(value);
    const ratio = baseline && baseline.value !== 0 ? value / baseline.value : NaN;
    if (Number.isFinite(ratio)) row.ratios.push(ratio);
    console.log(`  round ${round}: ${name}: ${num(value, digits)} ${unit}${baseline ? `; ${baseline.name} ${num(baseline.value, digits)} ${unit}; ratio ${num(ratio, 3)}` : ''}`);
  }

  print(title: string): void {
    console.log(`\n${title}: median (min-max) over the rounds`);
    for (const [name, r] of this.rows) {
      console.log(`  ${name}: ${spread(r.values, r.digits)} ${r.unit} (n=${r.values.length})${r.base ? `; ratio to ${r.base}: ${spread(r.ratios, 3)} (n=${r.ratios.length})` : ''}`);
    }
  }
}

/** Start a poller in the router namespace; resolves with the wall time (ms) at which `hop` left the VIP's route. */
function hopGone(b: BgpLab, hop: string): Promise<number> {
  const script = `while ip route show ${BGP_LAB.vip} | grep -q "via ${hop} "; do :; done; date +%s.%N`;
  return execIn(b.lab, 'router', ['sh', '-c', script], 400_000).then((r) => Number(r.stdout.trim()) * 1000);
}

/** Wall time (ms) of a command run in a lab host, taken in the same shell just before it. */
async function timed(b: BgpLab, host: string, cmd: string): Promise<number> {
  const r = await execIn(b.lab, host, ['sh', '-c', `date +%s.%N; ${cmd}`]);
  return Number(r.stdout.split('\n')[0]) * 1000;
}

/** One death of director 2 (already announced with director 1): ms until the router drops its next hop, or NaN
 * when BFD flapped before the death (gone before it: the loaded host, not a measurement) in both of two tries. */
async function deathOnce(b: BgpLab, label: string): Promise<number> {
  for (let attempt = 0; attempt < 2; attempt++) {
    await b.waitNextHops([1, 2], 60_000);
    await sleep(1000);
    const gone = hopGone(b, BGP_LAB.director(2));
    await sleep(200); // the poller is running
    const t0 = await timed(b, 'sw', `ip link set ${b.lab.switchPort('d2')} down`);
    await b.killDirector(2);
    const dt = (await gone) - t0;
    await b.lab.sh('sw', `ip link set ${b.lab.switchPort('d2')} up`);
    await b.startDirector(2);
    if (dt >= 0) return dt;
    console.log(`  ${label}: next hop already gone ${(-dt).toFixed(0)} ms before the death (BFD flap): not counted`);
  }
  return NaN;
}

/** SIGTERM to directord 2 (bird stays): ms until the withdrawal reaches the router's kernel. */
async function sigtermOnce(b: BgpLab): Promise<number> {
  await b.waitNextHops([1, 2], 60_000);
  await sleep(1000);
  const gone = hopGone(b, BGP_LAB.director(2));
  await sleep(200);
  const t0 = Date.now();
  b.directors.get(2)!.signal('SIGTERM');
  const dt = (await gone) - t0;
  await waitFor('d2 exited', () => !b.directors.get(2)!.running, 20_000, 50);
  await b.startDirector(2);
  return dt;
}

/** Each round measures every variant in a fresh lab (the BFD timing is the lab's), baseline first. */
async function deathPart(): Promise<void> {
  const f = new Figures();
  const HOLD = 'no BFD, hold time 3 s (baseline)';
  const variants: { name: string; bfd: number; mult: number; hold?: number }[] = [
    { name: HOLD, bfd: 0, mult: 3, hold: 3 },
    { name: 'death, BFD 50 ms x 3', bfd: 0.05, mult: 3 },
    { name: 'death, BFD 100 ms x 3', bfd: 0.1, mult: 3 },
  ];
  for (let r = 1; r <= ROUNDS; r++) {
    let base = NaN;
    for (const v of variants) {
      const b = await BgpLab.create({ directors: 2, bfdInterval: v.bfd, bfdMultiplier: v.mult });
      b.holdTime = v.hold;
      try {
        for (const i of [1, 2]) await b.startDirector(i);
        const dt = await deathOnce(b, v.name);
        if (v.hold) {
          base = dt;
          f.add(r, v.name, dt, 'ms', 0);
        } else if (Number.isFinite(dt)) f.add(r, v.name, dt, 'ms', 0, { name: 'hold-time death', value: base });
        // Graceful: the route is withdrawn before the daemon exits; against what a silent death costs without BFD.
        if (v.bfd === 0.1) f.add(r, 'SIGTERM to withdrawal (BFD 100 ms x 3 lab)', await sigtermOnce(b), 'ms', 0, { name: 'hold-time death', value: base });
      } finally {
        await b.destroy();
      }
    }
  }
  f.print('death to withdrawal at the router');
}

interface Check { alive: number; broken: number; closed: number; changed: number; servers: Record<string, number>; brokenFlows: string[] }

function flowsClient(b: BgpLab, n: number, sources: string[], intervalMs = 250): { child: ChildProcess; check(waitMs?: number): Promise<Check> } {
  const flowsJs = join(paths.root, 'dist', 'test', 'ha', 'flows.js');
  const child = b.lab.spawn('client', [process.execPath, flowsJs, 'client', BGP_LAB.vip, String(BGP_LAB.port), String(n), ...sources], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, FLOWS_INTERVAL_MS: String(intervalMs) } });
  let out = '';
  child.stdout!.on('data', (x) => (out += x));
  return {
    child,
    async check(waitMs = 15_000) {
      const before = out.split('\n').filter(Boolean).length;
      child.stdin!.write(`check ${waitMs}\n`);
      const line = await waitFor('client report', () => out.split('\n').filter(Boolean)[before], waitMs + 30_000, 100);
      return JSON.parse(line) as Check;
    },
  };
}

const METRICS = '127.0.0.1:9100';

/** A director's /metrics (in its namespace), as name{labels} -> value. */
async function metricsOf(b: BgpLab, i: number): Promise<Map<string, number>> {
  const r = await execIn(b.lab, `d${i}`, ['curl', '-s', `http://${METRICS}/metrics`]);
  const m = new Map<string, number>();
  for (const l of r.stdout.split('\n')) if (l && !l.startsWith('#')) m.set(l.slice(0, l.lastIndexOf(' ')), Number(l.slice(l.lastIndexOf(' ') + 1)));
  return m;
}

/** Where sync entries can be lost, per director: sequence gaps, entries refused, the data plane's ring overflow, the kernel's UDP receive-buffer drops, and packets dropped for want of an entry. */
async function syncReport(b: BgpLab, i: number): Promise<string> {
  const st = await b.directors.get(i)!.status();
  const peers = st.ha.scaleOut?.sync?.peers ?? [];
  const sum = (f: (p: (typeof peers)[number]) => number): number => peers.reduce((a, p) => a + f(p), 0);
  const m = await metricsOf(b, i);
  const snmp = (await execIn(b.lab, `d${i}`, ['cat', '/proc/net/snmp'])).stdout.split('\n').filter((l) => l.startsWith('Udp:'));
  const udp = snmp.length === 2 ? Object.fromEntries(snmp[0].split(/\s+/).slice(1).map((k, j) => [k, Number(snmp[1].split(/\s+/)[j + 1])])) : {};
  const transfers = peers.map((p) => `${p.address.split('.')[3]}:${p.transfer.phase}${p.transfer.lastEntries !== undefined ? `/${p.transfer.lastEntries}e/${p.transfer.lastMs}ms` : ''}`).join(' ');
  return `d${i}: join ${st.ha.scaleOut?.join?.endedBy ?? '-'} after ${st.ha.scaleOut?.join?.waitedMs ?? '-'} ms; applied ${sum((p) => p.entriesApplied)}, not applied ${sum((p) => p.entriesNotApplied)}, datagrams lost ${sum((p) => p.datagramsLost)}, rejected ${sum((p) => Object.values(p.rejected).reduce((a, x) => a + x, 0))}; sync_overflow ${m.get('directord_dataplane_drops_total{reason="sync_overflow"}') ?? 0}; no_conn drops ${m.get('directord_dataplane_drops_total{reason="no_conn"}') ?? 0}; UDP RcvbufErrors ${udp.RcvbufErrors ?? '?'}; transfers ${transfers}`;
}

/** The client flows (address:port) a director's table holds. */
async function tableOf(b: BgpLab, i: number): Promise<Set<string>> {
  const r = await b.directors.get(i)!.ctl(['--json', 'status', '--connections', '--limit', '100000'], 60_000);
  const conns = (JSON.parse(r.stdout) as { result?: { connections?: Array<{ caddr: string; cport: number; template: boolean }> } }).result?.connections;
  if (!conns) throw new Error(`d${i}: no connection table in the answer: ${r.stdout.slice(0, 200)}`);
  return new Set(conns.filter((c) => !c.template).map((c) => `${c.caddr}:${c.cport}`));
}

/**
 * One run of the conns steps: broken connections per step (new at that step; the ones broken before stay silent).
 * sync = false: the baseline, scale-out without sync_peers (each director holds only the flows it forwarded).
 */
async function connsRun(sync: boolean): Promise<number[]> {
  const b = await BgpLab.create({ directors: 4, bfdInterval: 0.1, bfdMultiplier: 5, syncPeers: sync ? [1, 2, 3, 4] : [], serversAnswer: 'name-each-line', daemonArgs: () => ['--metrics', METRICS] });
  const label = sync ? 'sync' : 'no sync (baseline)';
  const out: number[] = [];
  try {
    const sources = Array.from({ length: 20 }, (_, i) => `10.1.0.${100 + i}`);
    await b.lab.sh('client', sources.map((a) => `ip addr add ${a}/24 dev eth0`).join(' && '));
    for (const i of [1, 2, 3]) await b.startDirector(i);
    await b.waitNextHops([1, 2, 3], 60_000);
    const c = flowsClient(b, CONNS, sources);
    const t0 = Date.now();
    const first = await c.check(180_000);
    console.log(`conns, ${label}: ${first.alive} of ${CONNS} connections answering through 3 directors after ${((Date.now() - t0) / 1000).toFixed(0)} s (${JSON.stringify(first.servers)})`);
    // Long-lived: the steps come well after the handshakes (a synced copy that expired after 60 s broke flows here).
    await sleep(HOLD_S * 1000);
    let survivors: Map<number, Set<string>> | undefined;
    const steps: [string, number[], () => Promise<unknown>][] = [
      ['add a 4th director', [1, 2, 3, 4], async () => {
        const t = Date.now();
        await b.startDirector(4);
        await b.waitNextHops([1, 2, 3, 4], 60_000);
        console.log(`  d4 started and announced after ${((Date.now() - t) / 1000).toFixed(1)} s`);
      }],
      ['drain director 1 (drain-director)', [1, 2, 3, 4], async () => {
        await b.directors.get(1)!.ctl(['drain-director'], 30_000);
        await b.waitNextHops([2, 3, 4], 60_000);
      }],
      ['kill -9 director 2 (link silent, bird + directord killed)', [1, 3, 4], async () => {
        survivors = new Map([[3, await tableOf(b, 3)], [4, await tableOf(b, 4)]]);
        await b.killDirector(2);
        await b.waitNextHops([3, 4], 60_000);
      }],
    ];
    const before = new Set(first.brokenFlows);
    for (const [what, report, run] of steps) {
      await run();
      const r = await c.check(CHECK_S * 1000);
      const fresh = r.brokenFlows.filter((x) => !before.has(x));
      fresh.forEach((x) => before.add(x));
      let split = '';
      const held = survivors ? [...survivors.values()] : [];
      if (survivors) {
        const both = fresh.filter((x) => held.every((t) => t.has(x))).length;
        const one = fresh.filter((x) => held.filter((t) => t.has(x)).length === 1).length;
        split = `: ${fresh.length - both - one} whose state no survivor held (unsynced), ${one} held by one survivor only, ${both} held by both (synced)`;
      }
      console.log(`conns, ${label}: ${what}: ${fresh.length} newly broken${split} (${r.broken} of ${CONNS} silent in all, ${r.closed} closed, ${r.changed} changed real server)`);
      if (sync) for (const i of report) console.log(`  ${await syncReport(b, i)}`);
      out.push(fresh.length);
    }
    c.child.kill('SIGKILL');
  } finally {
    await b.destroy();
  }
  return out;
}

async function connsPart(): Promise<void> {
  const f = new Figures();
  const steps = ['add a 4th director', 'drain director 1', 'kill -9 director 2'];
  for (let r = 1; r <= ROUNDS; r++) {
    const base = await connsRun(false);
    const got = await connsRun(true);
    steps.forEach((s, k) => f.add(r, `${s}: connections broken`, got[k], 'conns', 0, { name: 'no-sync run', value: base[k] }));
    steps.forEach((s, k) => f.add(r, `${s}: broken without sync (baseline)`, base[k], 'conns', 0));
  }
  f.print(`connections broken per step (${CONNS} connections, held ${HOLD_S} s, ${CHECK_S} s to answer)`);
}

/** Per-director CPU (utime + stime of directord, all threads) in ms, from /proc. */
function cpuMs(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const x = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return ((Number(x[11]) + Number(x[12])) * 1000) / 100; // fields 14, 15 in clock ticks (USER_HZ 100)
}

/** One round: a fresh lab, 1, then 2, then 3 directors under the same client load. */
async function shareRound(f: Figures, round: number): Promise<void> {
  const b = await BgpLab.create({ directors: 3, bfdInterval: 0.1, bfdMultiplier: 5, syncPeers: [1, 2, 3], serversAnswer: 'name-each-line', daemonArgs: () => ['--metrics', METRICS] });
  const windowS = 10;
  try {
    const sources = Array.from({ length: 20 }, (_, i) => `10.1.0.${100 + i}`);
    await b.lab.sh('client', sources.map((a) => `ip addr add ${a}/24 dev eth0`).join(' && '));
    let c: ReturnType<typeof flowsClient> | undefined;
    let one = { rate: NaN, cpuPerPkt: NaN };
    for (const n of [1, 2, 3]) {
      await b.startDirector(n);
      const up = Array.from({ length: n }, (_, k) => k + 1);
      await b.waitNextHops(up, 60_000);
      if (!c) {
        c = flowsClient(b, SHARE_CONNS, sources, SHARE_INTERVAL_MS);
        const x = await c.check(120_000);
        console.log(`share: ${x.alive} of ${SHARE_CONNS} connections answering (a line every ${SHARE_INTERVAL_MS} ms each)`);
      }
      await sleep(3000);
      const sample = async () => Promise.all(up.map(async (i) => ({ pkts: (await metricsOf(b, i)).get('directord_incoming_packets_total') ?? 0, cpu: cpuMs(b.directors.get(i)!.pid!) })));
      const a = await sample();
      const ta = Date.now();
      await sleep(windowS * 1000);
      const z = await sample();
      const dt = (Date.now() - ta) / 1000;
      const pk = up.map((_, k) => z[k].pkts - a[k].pkts);
      const cpu = up.map((_, k) => z[k].cpu - a[k].cpu);
      const total = pk.reduce((x, y) => x + y, 0);
      const cpuPerPkt = (cpu.reduce((x, y) => x + y, 0) * 1000) / Math.max(1, total);
      up.forEach((i, k) => console.log(`  ${n} director(s): d${i}: ${((100 * pk[k]) / total).toFixed(1)} % of the packets (${(pk[k] / dt).toFixed(0)}/s), CPU ${((100 * cpu[k]) / (dt * 1000)).toFixed(1)} % of a core, ${((cpu[k] * 1000) / Math.max(1, pk[k])).toFixed(1)} µs CPU per packet`));
      if (n === 1) one = { rate: total / dt, cpuPerPkt };
      const base = (v: number) => (n > 1 ? { name: '1-director run', value: v } : undefined);
      f.add(round, `${n} director(s): packets/s in all`, total / dt, 'pkt/s', 0, base(one.rate));
      // The ideal is 1/n each: the largest share times n (1.000 = an even split).
      if (n > 1) f.add(round, `${n} directors: largest share`, (100 * Math.max(...pk)) / total, '%', 1, { name: 'ideal 1/n', value: 100 / n });
      f.add(round, `${n} director(s): CPU per packet (all directors)`, cpuPerPkt, 'µs', 2, base(one.cpuPerPkt));
    }
    c?.child.kill('SIGKILL');
  } finally {
    await b.destroy();
  }
}

async function sharePart(): Promise<void> {
  const f = new Figures();
  for (let r = 1; r <= ROUNDS; r++) await shareRound(f, r);
  f.print(`share and CPU per packet (${SHARE_CONNS} connections, a line every ${SHARE_INTERVAL_MS} ms each)`);
}

void (async () => {
  if (PARTS.includes('death')) await deathPart();
  if (PARTS.includes('conns')) await connsPart();
  if (PARTS.includes('share')) await sharePart();
  process.exit(0);
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
