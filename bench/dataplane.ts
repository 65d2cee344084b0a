// Data-plane benchmark (as root): ROUNDS paired rounds of the direct path, bench/minfwd.c and each backend in BACKENDS
// on its own namespace lab, then the conn table's lookup cost. One path's figures: dataplane-figures.ts. Run:
// node -r @isaacs/ts-node-temp-fork-for-pr-2009/register/transpile-only bench/dataplane.ts
import { readFileSync } from 'node:fs';
import { Lab } from '../test/lab/lab';
import { ensureHarness } from '../test/dataplane/dplab';
import { loadBench, loadNative } from '../src/dataplane/native';
import { buildMinfwd, FWD_CPU, QUEUES, pinned, RS, RS_MAC, sh, sleep, startDirector, startMinfwd, VIP } from './forwarders';
import { CLI_MAC, DIR_MAC, FIGS, FIGURES, one, overloadUnderQuota, pps, PPS_RATE, QUOTA, SENDER, type Sample } from './dataplane-figures';

const ROUNDS = Number(process.env.ROUNDS ?? 3);
// OVERLOAD=0: skip both overload figures (2 sender cores; the true 2x under a CPU quota, several minutes).
const OVERLOAD = process.env.OVERLOAD !== '0' && FIGURES === 'all';
// Lab variants tried while looking for the frames/s ceiling (docs/benchmarks.md, "What was tried"), each a flag so
// the figures quoted there can be reproduced: BR_NETFILTER=1 turns br_netfilter's hooks back on in the switch
// (the labs turn them off; needs the module loaded), GRO=1 turns GRO on on every host's eth0, RPS=1 steers the
// director's receive to CPU 1 (rps_cpus = 2 on its eth0), SENDER=copy makes trafgen send through sendto() (-t 0)
// instead of its zero-copy TX ring.
const BR_NETFILTER = process.env.BR_NETFILTER === '1';
const GRO = process.env.GRO === '1';
const RPS = process.env.RPS === '1';

/** One figure of one path: per-round values and ratios, median and spread (min-max) over the rounds. */
interface Fig {
  /** The path's values, one per round. */
  v: number[];
  /** Per-round path / direct, and path / minfwd (the same round's). */
  toDirect: number[];
  toMin: number[];
}

const KEYS = ['pps', 'tcpOn', 'tcpOff', 'conn', 'p50', 'p99', 'proc', 'softirq'] as const;

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * ROUNDS paired rounds. Each round measures the direct path, then every forwarder (minfwd and each backend, each
 * started for its turn and stopped after it, so only one taps the director's interface at a time) in an order that
 * rotates from round to round, so the machine's drift (this VM's direct rate moves by a third between runs) hits
 * every path of a round alike. Every ratio is taken within a round.
 */
async function measure(lab: Lab, fwds: string[], minfwdBin: string): Promise<{ names: Map<string, string>; rounds: Map<string, Sample>[]; drops: Map<string, unknown> }> {
  const rounds: Map<string, Sample>[] = [];
  const names = new Map<string, string>();
  const drops = new Map<string, unknown>();
  for (let r = 0; r < ROUNDS; r++) {
    const got = new Map<string, Sample>();
    got.set('direct', await one(lab, RS_MAC, RS, undefined));
    const order = fwds.map((_, i) => fwds[(i + r) % fwds.length]);
    for (const name of order) {
      const fw = name.startsWith('minfwd') ? await startMinfwd(lab, minfwdBin, name === 'minfwd-ring') : await startDirector(lab, name);
      try {
        names.set(name, fw.name);
        const s = await one(lab, DIR_MAC, VIP, fw, process.env.PERF && r === 0 ? `${process.env.PERF}-${name}` : undefined);
        if (OVERLOAD) {
          const o = await pps(lab, DIR_MAC, VIP, 2, fw);
          s.over = { fwd: o.fwd, offered: o.offered };
        }
        if (fw.call) drops.set(name, (await fw.call('stats')).drops);
        got.set(name, s);
      } finally {
        await fw.stop();
      }
      await sleep(500);
    }
    rounds.push(got);
    console.error(`  round ${r + 1}: ${JSON.stringify(Object.fromEntries(got))}`);
  }
  return { names, rounds, drops };
}

function fig(rounds: Map<string, Sample>[], name: string, k: typeof KEYS[number]): Fig {
  return {
    v: rounds.map((x) => x.get(name)![k]),
    toDirect: rounds.map((x) => x.get(name)![k] / x.get('direct')![k]),
    toMin: rounds.map((x) => x.get(name)![k] / x.get('minfwd')![k]),
  };
}

const spread = (xs: number[], d = 2): string => `**${median(xs).toFixed(d)}x** (${Math.min(...xs).toFixed(d)}–${Math.max(...xs).toFixed(d)})`;

async function main(): Promise<void> {
  ensureHarness();
  const backends = (process.env.BACKENDS ?? 'afpacket,afxdp').split(',');
  // MINFWD_RING=1: also minfwd on a TPACKET_V2 ring shaped like directord's (same I/O, none of its work).
  const fwds = ['minfwd', ...(process.env.MINFWD_RING === '1' ? ['minfwd-ring'] : []), ...backends];
  const { bin, cleanup } = buildMinfwd();
  const lab = await Lab.create([
    { name: 'cli', address: '10.61.1.1/20', mac: CLI_MAC, queues: QUEUES },
    { name: 'dir', address: '10.61.0.2/20', mac: DIR_MAC, queues: QUEUES },
    { name: 'rs1', address: `${RS}/20`, mac: RS_MAC, vipsOnLo: [VIP], queues: QUEUES },
  ], { tag: 'dpbench' });
  try {
    sh(lab, 'dir', `ip addr add ${VIP}/32 dev eth0`);
    if (BR_NETFILTER) sh(lab, 'sw', 'sysctl -qw net.bridge.bridge-nf-call-iptables=1 net.bridge.bridge-nf-call-ip6tables=1 net.bridge.bridge-nf-call-arptables=1');
    if (GRO) for (const h of ['cli', 'dir', 'rs1']) sh(lab, h, 'ethtool -K eth0 gro on');
    if (RPS) sh(lab, 'dir', 'echo 2 > /sys/class/net/eth0/queues/rx-0/rps_cpus');
    const variant = [BR_NETFILTER && 'br_netfilter hooks on', GRO && 'GRO on', RPS && 'RPS to CPU 1', SENDER === 'copy' && 'copying sender'].filter(Boolean);
    if (variant.length) console.log(`lab variant: ${variant.join(', ')}`);
    sh(lab, 'rs1', `nft -f - <<'E'
table netdev sink {
  chain ing {
    type filter hook ingress device eth0 priority 0; policy accept;
    udp dport 9 drop
  }
}
E`);
    lab.spawn('rs1', [...pinned(), 'iperf3', '-s']);
    lab.spawn('rs1', [...pinned(), process.execPath, '-e', "require('net').createServer(s=>{s.on('error',()=>{});s.destroy()}).listen(5001)"]);
    lab.spawn('rs1', [...pinned(), process.execPath, '-e', "const u=require('dgram').createSocket('udp4');u.on('message',(m,r)=>u.send(m,r.port,r.address));u.bind(7)"]);
    sh(lab, 'cli', `ping -c 1 -W 1 ${RS} >/dev/null`);
    sh(lab, 'cli', `ping -c 1 -W 1 ${VIP} >/dev/null || true`);
    const load0 = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
    const { names, rounds, drops } = await measure(lab, fwds, bin);
    const over2x = new Map<string, Awaited<ReturnType<typeof overloadUnderQuota>>>();
    if (OVERLOAD) {
      for (const b of backends) {
        const d = await startDirector(lab, b);
        try {
          over2x.set(b, await overloadUnderQuota(lab, d));
          console.error(`  ${b} 2x under quota: ${JSON.stringify(over2x.get(b))}`);
        } finally {
          await d.stop();
        }
      }
    }
    const native = loadNative();
    const small = loadBench().benchLookup(1 << 11, 1000, 2_000_000);
    const big = loadBench().benchLookup(1 << 21, 1_000_000, 2_000_000);
    const row = (label: string, cells: string[]) => `| ${label} | ${cells.join(' | ')} |`;
    // A throughput figure: the path's median, its ratio to direct and (directord) to minfwd, each with its spread.
    const tput = (k: 'pps' | 'tcpOn' | 'tcpOff' | 'conn') => fwds.map((n) => {
      const f = fig(rounds, n, k);
      return `${fmt(median(f.v))}: ${spread(f.toDirect)} direct` + (n === 'minfwd' ? '' : `, ${spread(f.toMin)} minfwd`);
    });
    const added = (k: 'p50' | 'p99') => fwds.map((n) => {
      return `${signed(median(rounds.map((x) => x.get(n)![k] - x.get('direct')![k])))} µs`;
    });
    const cpu = (k: 'proc' | 'softirq' | 'sum') => fwds.map((n) => {
      const per = rounds.map((x) => (k === 'sum' ? x.get(n)!.proc + x.get(n)!.softirq : x.get(n)![k]));
      const toMin = rounds.map((x, i) => per[i] / (k === 'sum' ? x.get('minfwd')!.proc + x.get('minfwd')!.softirq : x.get('minfwd')![k]));
      return `${median(per).toFixed(0)} ns (${Math.min(...per).toFixed(0)}–${Math.max(...per).toFixed(0)})` + (n === 'minfwd' ? '' : `, ${spread(toMin)} minfwd`);
    });
    const directCol = (k: 'pps' | 'tcpOn' | 'tcpOff' | 'conn') => fmt(median(rounds.map((x) => x.get('direct')![k])));
    // Both cores' busy time per unit: CPU 0 + CPU 1 (medians), and the sum's ratio to minfwd's of the same round.
    const busy = (k: 'pps' | 'tcpOn' | 'tcpOff' | 'conn') => ['direct', ...fwds].map((n) => {
      const b = rounds.map((x) => x.get(n)!.busy[k]!);
      const sums = b.map((c) => c[0] + c[1]);
      const toMin = rounds.map((x, i) => sums[i] / (x.get('minfwd')!.busy[k]![0] + x.get('minfwd')!.busy[k]![1]));
      return `${median(b.map((c) => c[0])).toFixed(0)} + ${median(b.map((c) => c[1])).toFixed(0)} ns` + (n === 'minfwd' || n === 'direct' ? '' : `, sum ${spread(toMin)} minfwd`);
    });
    const rows = [
      row('64-byte frames/s (1 sender core)', [directCol('pps'), ...tput('pps')]),
      ...(FIGS.has('tcp') ? [
        row('TCP Gbit/s, client offloads on', [directCol('tcpOn'), ...tput('tcpOn')]),
        row('TCP Gbit/s, client offloads off', [directCol('tcpOff'), ...tput('tcpOff')]),
      ] : []),
      ...(FIGS.has('conn') ? [row('new TCP connections/s', [directCol('conn'), ...tput('conn')])] : []),
      ...(FIGS.has('rtt') ? [
        row('UDP round trip p50, added to direct', ['–', ...added('p50')]),
        row('UDP round trip p99, added to direct', ['–', ...added('p99')]),
      ] : []),
      row('busy CPU 0 (sender) + CPU 1 (forwarder) per forwarded frame', busy('pps')),
      ...(FIGS.has('tcp') ? [
        row('busy CPU 0 + CPU 1 per 64 KiB, TCP offloads on', busy('tcpOn')),
        row('busy CPU 0 + CPU 1 per 64 KiB, TCP offloads off', busy('tcpOff')),
      ] : []),
      ...(FIGS.has('conn') ? [
        row('busy CPU 0 + CPU 1 per connection', busy('conn')),
        row('forwarder CPU (its process) per connection', ['–', ...fwds.map((n) => {
          const per = rounds.map((x) => x.get(n)!.connProc ?? 0);
          const toMin = rounds.map((x, i) => per[i] / (x.get('minfwd')!.connProc ?? 1));
          return `${median(per).toFixed(0)} ns (${Math.min(...per).toFixed(0)}–${Math.max(...per).toFixed(0)})` + (n === 'minfwd' ? '' : `, ${spread(toMin)} minfwd`);
        })]),
        row('forwarder sleeps (voluntary context switches) per connection', ['–', ...fwds.map((n) => {
          const per = rounds.map((x) => x.get(n)!.connSleeps ?? 0);
          return `${median(per).toFixed(2)} (${Math.min(...per).toFixed(2)}–${Math.max(...per).toFixed(2)})`;
        })]),
      ] : []),
      row('forwarder CPU per forwarded frame: its process', ['–', ...cpu('proc')]),
      row(`softirq on its core (CPU ${FWD_CPU}) per forwarded frame`, ['–', ...cpu('softirq')]),
      row('both', ['–', ...cpu('sum')]),
      row('forwarder sleeps (voluntary context switches, all threads) per forwarded frame', ['–', ...fwds.map((n) => median(rounds.map((x) => x.get(n)!.sleepsPps)).toFixed(3))]),
      row('packet-thread wake-ups per forwarded frame', ['–', ...fwds.map((n) => (n.startsWith('minfwd') ? '–' : median(rounds.map((x) => x.get(n)!.wake)).toFixed(3)))]),
      ...(OVERLOAD ? [
        row('overload (2 sender cores): forwarded', ['–', ...fwds.map((n) => `${fmt(median(rounds.map((x) => x.get(n)!.over!.fwd)))} of ${fmt(median(rounds.map((x) => x.get(n)!.over!.offered)))} offered (**${median(rounds.map((x) => x.get(n)!.over!.fwd / x.get(n)!.pps)).toFixed(2)}x** of its 1-sender rate)`)]),
        row(`true 2x overload (director held to ${QUOTA * 100}% of a core)`, ['–', '–', ...backends.map((b) => { const o = over2x.get(b); return o ? `peak ${fmt(o.peak)}; at ${fmt(o.offered)} offered (${(o.offered / o.peak).toFixed(1)}x) forwards ${fmt(o.fwd)} = **${(o.fwd / o.peak).toFixed(2)}x** of peak` : 'no cgroup cpu controller'; })]),
        row('control request round trip during that overload', ['–', '–', ...backends.map((b) => { const c = over2x.get(b)?.control; return c ? `p50 ${c.p50.toFixed(1)} ms, max ${c.max.toFixed(1)} ms (${c.n} requests)` : '–'; })]),
      ] : []),
    ];
    const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
    console.log(`Each cell: the path's median over ${ROUNDS} paired rounds; **median** of the per-round ratios to the same round's direct path and minimal forwarder (minfwd), with their spread (min–max).\n`);
    console.log(`| figure | direct | ${fwds.map((n) => names.get(n) ?? n).join(' | ')} |\n|---|---:|${fwds.map(() => '---:|').join('')}\n${rows.join('\n')}`);
    console.log(`\n| conn table | |\n|---|---:|`);
    console.log(`| lookup, 1k connections | ${small.lookupNs.toFixed(0)} ns (insert ${small.insertNs.toFixed(0)} ns) |`);
    console.log(`| lookup, 1M connections | ${big.lookupNs.toFixed(0)} ns (insert ${big.insertNs.toFixed(0)} ns, ${(big.lookupNs / small.lookupNs).toFixed(1)}x the 1k cost) |`);
    console.log(`| memory per connection slot | ${native.layout().connBytes} B (preallocated) |`);
    console.log(`\n${PPS_RATE ? `frames/s window offered at ${PPS_RATE}/s (PPS_RATE); ` : ''}AF_PACKET RX ring ${process.env.RX_RING ?? 'v2'}; load average at the start ${load0}, at the end ${load}; director drops over the last round's run of each: ${[...drops].map(([n, d]) => `${n} ${JSON.stringify(d)}`).join('; ')}`);
  } finally {
    await lab.destroy();
    cleanup();
  }
}

function signed(n: number): string {
  return `${n >= 0 ? '+' : '−'}${Math.abs(n).toFixed(0)}`;
}

function fmt(n: number): string {
  return n >= 1000 ? `${(n / 1000).toFixed(1)}k` : n.toFixed(2);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
