// SYN flood through the namespace data-plane lab: a client floods the VIP with SYNs from random spoofed sources
// (trafgen, one sender core, RATE frames/s or as fast as it goes, FLOOD_S seconds, bounded in packets too) while
// HOLD established connections keep exchanging a line every 20 ms and a new connection is tried every 250 ms.
// Reports the director's longest batch (loopMaxUs), the worst round trip on the established connections, how many
// new connections got in, evictions and drops. The real servers drop the flood at ingress (no SYN-ACK storm).
// Run as root: node -r @isaacs/ts-node-temp-fork-for-pr-2009/register/transpile-only bench/synflood.ts
// FLOOD_S (default 60; QUICK=1: 10), RATE (frames/s, default: full), TABLE (default 2^20, the daemon's), HOLD (8),
// NICE (e.g. -20: every thread of the director reniced, so other load on a shared machine deschedules it less).
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { DataPlaneLab, VIP, dests, service, synFloodConfig } from '../test/dataplane/dplab';

const FLOOD_S = Number(process.env.FLOOD_S ?? (process.env.QUICK ? 10 : 60));
const RATE = Number(process.env.RATE ?? 0);
const TABLE = Number(process.env.TABLE ?? 1 << 20);
const HOLD = Number(process.env.HOLD ?? 8);
const NICE = process.env.NICE;
const MAX_PPS = 3_000_000; // packet bound: no sender in this lab goes faster
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
/** utime + stime of a process, seconds. */
function cpuSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(rest[11]) + Number(rest[12])) / CLK_TCK;
}

// Runs in the client namespace for `secs`: HOLD connections ping every 20 ms; a fresh connection every 250 ms.
const PROBE_JS = `
const net = require('net'); const [vip, port, n, secs] = process.argv.slice(1).map((x, i) => i ? Number(x) : x);
const rtt = [], fresh = { ok: 0, fail: 0, ms: [] }; let closed = 0, late = 0; const end = Date.now() + secs * 1000;
function hold() { return new Promise((res) => { let t0 = 0n, pending = false, started = false, buf = '';
  const s = net.connect({ host: vip, port }, () => s.write('hold\\n'));
  const ping = () => { if (Date.now() > end) return; if (pending) { late++; return; } t0 = process.hrtime.bigint(); pending = true; s.write('ping\\n'); };
  s.on('data', (d) => { buf += d; while (buf.includes('\\n')) { buf = buf.slice(buf.indexOf('\\n') + 1);
    if (!started) { started = true; setInterval(ping, 20); res(s); } else if (pending) { rtt.push(Number(process.hrtime.bigint() - t0) / 1e6); pending = false; } } });
  s.on('error', () => {}); s.on('close', () => { closed++; }); }); }
function one() { const t0 = Date.now(); const s = net.connect({ host: vip, port }); let done = false;
  const fin = (ok) => { if (done) return; done = true; clearTimeout(tm); s.destroy(); if (ok) { fresh.ok++; fresh.ms.push(Date.now() - t0); } else fresh.fail++; };
  const tm = setTimeout(() => fin(false), 3000); s.on('connect', () => s.write('name\\n')); s.on('data', () => fin(true)); s.on('error', () => fin(false)); }
(async () => { for (let i = 0; i < n; i++) await hold(); console.error('ready');
  const iv = setInterval(() => { if (Date.now() > end) clearInterval(iv); else one(); }, 250);
  setTimeout(() => { rtt.sort((a, b) => a - b); fresh.ms.sort((a, b) => a - b);
    console.log(JSON.stringify({ pings: rtt.length, late, closed, rttMaxMs: rtt.at(-1), rttP99Ms: rtt[Math.floor(rtt.length * 0.99)], rttP50Ms: rtt[Math.floor(rtt.length / 2)],
      freshOk: fresh.ok, freshFail: fresh.fail, freshMaxMs: fresh.ms.at(-1) })); process.exit(0); }, secs * 1000 + 3500); })();
`;

interface Stats { rxFrames: number; evictions?: number; loopMaxUs?: number; drops: Record<string, number>; services: { dests: { activeConns: number; inactConns: number }[] }[] }

async function main(): Promise<void> {
  const d = await DataPlaneLab.create(2);
  const cfg = `/tmp/directord-synflood-${process.pid}.cfg`;
  try {
    d.startServers(80, 2);
    d.dropFlood(2);
    await d.startHarness(true, 'v2', 'afpacket', '', '', 0, TABLE);
    if (NICE) for (const tid of readdirSync(`/proc/${d.harnessPid}/task`)) execFileSync('renice', ['-n', NICE, '-p', tid], { stdio: 'ignore' });
    await d.call('setServices', [service({ dests: dests(2) })]);
    await d.waitForMacs();
    writeFileSync(cfg, synFloodConfig());
    const secs = FLOOD_S + 2;
    const probe = d.lab.exec('cli', [process.execPath, '-e', PROBE_JS, VIP, '80', String(HOLD), String(secs)], { timeoutMs: (secs + 30) * 1000 });
    await sleep(1500); // the held connections are up
    const s0 = await d.call<Stats>('stats'); // also restarts loopMaxUs (the longest batch since the last read)
    const rate = RATE ? ['-b', `${RATE}pps`] : [];
    const tg = d.lab.spawn('cli', ['trafgen', '-o', 'eth0', '-P', '1', '-n', String((RATE || MAX_PPS) * FLOOD_S), '-i', cfg, '-q', ...rate]);
    const t0 = Date.now();
    const cpu0 = cpuSeconds(d.harnessPid!);
    const series: string[] = [];
    let maxUs = s0.loopMaxUs ?? 0; // before the flood: setup and the held connections' handshakes
    while (Date.now() - t0 < FLOOD_S * 1000) {
      await sleep(5000);
      const s = await d.call<Stats>('stats');
      const live = s.services[0].dests.reduce((n, x) => n + x.activeConns + x.inactConns, 0);
      maxUs = Math.max(maxUs, s.loopMaxUs ?? 0);
      series.push(`${Math.round((Date.now() - t0) / 1000)}s: ${live} entries, ${s.evictions ?? 0} evicted, longest batch ${((s.loopMaxUs ?? 0) / 1000).toFixed(1)} ms`);
      console.error(series.at(-1));
    }
    const cpuShare = (cpuSeconds(d.harnessPid!) - cpu0) / ((Date.now() - t0) / 1000);
    tg.kill('SIGKILL');
    const s1 = await d.call<Stats>('stats');
    maxUs = Math.max(maxUs, s1.loopMaxUs ?? 0);
    const r = JSON.parse((await probe).stdout) as Record<string, number>;
    const frames = s1.rxFrames - s0.rxFrames;
    console.log(`SYN flood ${FLOOD_S} s at ${RATE ? `${RATE} frames/s` : 'full rate'}, table ${TABLE} entries, ${HOLD} established connections${NICE ? `, director at nice ${NICE}` : ''}:`);
    const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
    console.log(`| director frames/s (its CPU, of one core) | evictions | table_full | longest batch (loopMaxUs) | established: pings, worst / p99 / p50 round trip | new connections admitted |`);
    console.log(`|---:|---:|---:|---:|---|---|`);
    console.log(`| ${Math.round(frames / FLOOD_S)} (${(cpuShare * 100).toFixed(0)}%) | ${s1.evictions ?? 0} | ${s1.drops.table_full ?? 0} | ${(maxUs / 1000).toFixed(2)} ms (before the flood ${((s0.loopMaxUs ?? 0) / 1000).toFixed(2)}) | ${r.pings} pings (${r.late} over 20 ms), ${r.closed} closed; ${r.rttMaxMs?.toFixed(1)} / ${r.rttP99Ms?.toFixed(1)} / ${r.rttP50Ms?.toFixed(2)} ms | ${r.freshOk} of ${r.freshOk + r.freshFail} (slowest ${r.freshMaxMs} ms) |`);
    console.log(`\n${series.join('; ')}; drops ${JSON.stringify(s1.drops)}; load average at the end ${load}`);
  } finally {
    rmSync(cfg, { force: true });
    await d.destroy();
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
