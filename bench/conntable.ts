// Connection-table benchmark (no network): lookup cost and the longest expiry stall from 1k to 1M entries, this
// build against a baseline addon (main's, built into a temp dir) in the same run, as ratios (medians of ROUNDS).
// Run: BASELINE=/tmp/dd-main/build/Release/directord_native.node \
//      node --expose-gc -r @isaacs/ts-node-temp-fork-for-pr-2009/register/transpile-only bench/conntable.ts
// SIZES (default 1000,10000,100000,1000000); BASELINE_MAX (default 100000): the baseline's expiry is quadratic, so
// larger tables are not run on it (80k entries took 10.9 s; 1M would take about half an hour). FIGURES (default
// all; a list of lookup, flood, batch): batch is the packet loops' prefetch pass (BATCH_SIZES 100000,1000000,
// BATCH_ROUNDS 7, BATCH_PACKETS 300000 per figure and way; BATCH_BASELINE: a directord_bench.node of main's sources
// with this benchBatch overlaid, whose "no pass" is main's loop; docs/benchmarks.md "Prefetch pass" builds it).
import path from 'node:path';
import { loadBench, loadNative, NativeTable, BENCH_ADDON_FILE, type BenchBinding, type NativeBinding } from '../src/dataplane/native';
import type { ServiceSpec } from '../src/dataplane/types';
import { tcpFlagsOf } from '../src/scheduler';

const ROUNDS = Number(process.env.ROUNDS ?? 3);
const SIZES = (process.env.SIZES ?? '1000,10000,100000,1000000').split(',').map(Number);
const BASELINE_MAX = Number(process.env.BASELINE_MAX ?? 100_000);
const VIP = '10.61.0.100';
const T0 = 10_000_000;
const FIGURES = (process.env.FIGURES ?? 'lookup,flood,batch').split(',');
const BATCH_SIZES = (process.env.BATCH_SIZES ?? '100000,1000000').split(',').map(Number);
const BATCH_ROUNDS = Number(process.env.BATCH_ROUNDS ?? 7);
const BATCH_PACKETS = Number(process.env.BATCH_PACKETS ?? 300_000);

const svc: ServiceSpec = { vip: VIP, port: 80, protocol: 'tcp', fwmark: 0, scheduler: 'rr', persistent: 0, pmask: '255.255.255.255',
  expireQuiescentTemplate: false, expireNodestConn: false,
  dests: [1, 2].map((i) => ({ address: `10.61.0.${10 + i}`, port: 80, weight: 1, mac: `02:61:00:00:00:1${i}` })) };
const flow = (i: number, flags: number) =>
  ({ saddr: `11.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, sport: 1024 + (i & 1023), daddr: VIP, dport: 80, protocol: 'tcp' as const, flags: tcpFlagsOf(flags), len: 60 });
const pow2 = (n: number) => 2 ** Math.ceil(Math.log2(Math.max(16, 2 * n)));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const live = (tab: NativeTable) => tab.destStats().reduce((n, d) => n + d.activeConns + d.inactConns, 0);

interface Stall {
  /** Longest single packet-path call while the entries expired, CPU ms (this process; preemption excluded). */
  maxMs: number;
  /** The same call's wall-clock ms (on a loaded machine this includes being descheduled). */
  maxWallMs: number;
  /** Time spent in those calls per expired entry, ns. */
  nsPerEntry: number;
  /** Packet-path calls until every entry had expired. */
  calls: number;
}

/**
 * A SYN flood's aftermath: n SYNs spread over one second (SYN_RECV, 60 s), then the first packet 61 s later, after
 * a quiet second (every entry due at once), then one packet per millisecond until the table is empty. Every call
 * is timed from JavaScript (the N-API crossing, about a microsecond, is included), in CPU time and wall time.
 */
function expiryStall(b: NativeBinding, n: number): Stall {
  const tab = new NativeTable(pow2(n), b);
  tab.setServices([svc]);
  for (let i = 0; i < n; i++) tab.processPacket(flow(i, 0x02), T0 + Math.floor((i * 1000) / n));
  const probe = flow(n + 1, 0x10);
  let maxUs = 0, maxWallNs = 0, total = 0, calls = 0;
  for (let now = T0 + 61_000; live(tab) > 0 && calls < 100_000; now++) {
    const c = process.cpuUsage();
    const a = process.hrtime.bigint();
    tab.processPacket(probe, now);
    const ns = Number(process.hrtime.bigint() - a);
    const cu = process.cpuUsage(c);
    const us = cu.user + cu.system;
    if (us > maxUs) { maxUs = us; maxWallNs = ns; }
    total += us * 1000;
    calls++;
  }
  return { maxMs: maxUs / 1000, maxWallMs: maxWallNs / 1e6, nsPerEntry: total / n, calls };
}

function lookup(b: BenchBinding, n: number): number {
  return b.benchLookup(pow2(n), n, 2_000_000).lookupNs;
}

function main(): void {
  const after = loadNative();
  const basePath = process.env.BASELINE;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const before = basePath ? (require(basePath) as NativeBinding & Partial<BenchBinding>) : undefined;
  if (!before) console.error('BASELINE not set: this build only');
  // The bench entries: an older baseline has them in its main addon, a newer one in directord_bench.node beside it.
  const benchAfter = loadBench();
  const benchBefore = before && (before.benchLookup ? (before as BenchBinding) : loadBench(path.join(path.dirname(basePath as string), BENCH_ADDON_FILE)));
  if (FIGURES.includes('lookup')) lookupFigure(after, before, benchAfter, benchBefore);
  if (FIGURES.includes('flood')) floodFigure(benchAfter, benchBefore);
  if (FIGURES.includes('batch')) batchFigure(benchAfter, process.env.BATCH_BASELINE
    ? (require(process.env.BATCH_BASELINE) as BenchBinding) : undefined);   // eslint-disable-line @typescript-eslint/no-require-imports
}

function lookupFigure(after: NativeBinding, before: NativeBinding | undefined, benchAfter: BenchBinding, benchBefore: BenchBinding | undefined): void {
  const rows: string[] = [];
  for (const n of SIZES) {
    const look = { a: [] as number[], b: [] as number[] };
    const stall = { a: [] as Stall[], b: [] as Stall[] };
    const inC: { maxUs: number; nsPerEntry: number }[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      // Alternate which build goes first, so drift during the round hits both alike.
      const order = r % 2 ? ['a', 'b'] : ['b', 'a'];
      // Lookups first (timed inside C, fresh table each), then the expiry runs; their tables are freed before the
      // next round (run with --expose-gc), so no round pays for another's memory.
      for (const w of order) {
        const bind = w === 'a' ? after : before;
        const bench = w === 'a' ? benchAfter : benchBefore;
        if (bench) (w === 'a' ? look.a : look.b).push(lookup(bench, n));
      }
      for (const w of order) {
        const bind = w === 'a' ? after : before;
        if (!bind) continue;
        // The quadratic baseline takes ~10 s of CPU a round at 100k: beyond 10k, one round of it.
        if (w === 'a' || (n <= BASELINE_MAX && (n <= 10_000 || r === 0))) (w === 'a' ? stall.a : stall.b).push(expiryStall(bind, n));
        (globalThis as { gc?: () => void }).gc?.();
      }
      inC.push(benchAfter.benchExpire(pow2(n), n));
      console.error(`  ${n}: round ${r + 1} lookup ${look.a.at(-1)?.toFixed(1)} / ${look.b.at(-1)?.toFixed(1)} ns; stall ${stall.a.at(-1)?.maxMs.toFixed(3)} / ${stall.b.at(-1)?.maxMs.toFixed(1) ?? '-'} CPU ms`);
    }
    const la = median(look.a), lb = look.b.length ? median(look.b) : NaN;
    const sa = median(stall.a.map((s) => s.maxMs)), sb = stall.b.length ? median(stall.b.map((s) => s.maxMs)) : NaN;
    const ea = median(stall.a.map((s) => s.nsPerEntry)), eb = stall.b.length ? median(stall.b.map((s) => s.nsPerEntry)) : NaN;
    const calls = median(stall.a.map((s) => s.calls));
    const wa = median(stall.a.map((s) => s.maxWallMs)), wb = stall.b.length ? median(stall.b.map((s) => s.maxWallMs)) : NaN;
    const fmt = (v: number, d = 1) => (Number.isNaN(v) ? 'not run' : v.toFixed(d));
    const cMax = inC.length ? median(inC.map((x) => x.maxUs)) / 1000 : NaN, cPer = inC.length ? median(inC.map((x) => x.nsPerEntry)) : NaN;
    const ratio = (v: number, d: number) => (Number.isNaN(v) ? '' : ` = **${v.toFixed(d)}x**`);
    rows.push(`| ${n.toLocaleString('en')} | ${fmt(la)} / ${fmt(lb)}${ratio(la / lb, 2)} | ${fmt(sa, 3)} / ${fmt(sb, 1)}${ratio(sa / sb, 5)} (${calls} packets) | ${fmt(wa, 3)} / ${fmt(wb, 1)} | ${fmt(ea, 0)} / ${fmt(eb, 0)} | ${fmt(cMax, 3)} ms, ${fmt(cPer, 0)} ns |`);
  }
  console.log(`Each cell: this build / baseline, medians of ${ROUNDS} rounds${before ? '' : ' (no baseline)'}.\n`);
  console.log('| entries | lookup ns | longest expiry call, CPU ms | its wall ms | expiry CPU ns per entry | this build timed in C: longest call, ns per entry |\n|---:|---:|---:|---:|---:|---:|');
  console.log(rows.join('\n'));
}

/** A flood into a full table (evicting), then past the 60 s SYN_RECV timeout: the table's share of a loop stall.
 * Each cell: this build / baseline (one run each, this build first). */
function floodFigure(benchAfter: BenchBinding, benchBefore: BenchBinding | undefined): void {
  console.log('\n| SYN flood into a 2^20 table, timed in C (thread CPU), this build / baseline | longest call | longest batch of 256 | mean per SYN | evictions |\n|---|---:|---:|---:|---:|');
  for (const [rate, secs] of [[17_500, 80], [300_000, 20]]) {
    const r = benchAfter.benchFlood(1 << 20, rate * secs, rate);
    const b = benchBefore?.benchFlood(1 << 20, rate * secs, rate);
    const pair = (x: number, y: number | undefined, d: number) => `${x.toFixed(d)} / ${y === undefined ? '-' : y.toFixed(d)}`;
    console.log(`| ${rate.toLocaleString('en')} SYN/s for ${secs} s of clock | ${pair(r.maxCallUs, b?.maxCallUs, 0)} µs | ${pair(r.maxBatchUs / 1000, b && b.maxBatchUs / 1000, 2)} ms | ${pair(r.meanNs, b?.meanNs, 0)} ns${b ? ` = **${(r.meanNs / b.meanNs).toFixed(2)}x**` : ''} | ${r.evictions} |`);
  }
}

/**
 * The packet loops' access pattern (benchBatch): batches of frames decided under one lock, ACKs of random existing
 * (cold) connections and SYNs of absent keys, without the prefetch pass (the loop as on main), with the bucket pass
 * and with its second stage (the chain's first entry), the three ways batch by batch in turn within one call. Per
 * cell: median ns per frame over the rounds, and the ratio to no pass as its median with min-max over the rounds.
 */
function batchFigure(bench: BenchBinding, main: BenchBinding | undefined): void {
  const kinds = ['ACK, existing', 'SYN, absent'];
  const batches = [2, 32, 256];
  const rows: string[] = [];
  for (const n of BATCH_SIZES) {
    const size = n >= 1_000_000 ? 1 << 20 : pow2(n);
    const runs: number[][] = [], mains: number[][] = [];
    for (let r = 0; r < BATCH_ROUNDS; r++) {
      // Alternate which build goes first, as for the lookups.
      if (main && r % 2) mains.push(main.benchBatch(size, n, BATCH_PACKETS));
      runs.push(bench.benchBatch(size, n, BATCH_PACKETS));
      if (main && !(r % 2)) mains.push(main.benchBatch(size, n, BATCH_PACKETS));
      console.error(`  batch ${n}: round ${r + 1} ${runs.at(-1)?.map((x) => x.toFixed(0)).join(' ')}`);
    }
    kinds.forEach((kind, ki) => batches.forEach((bs, bi) => {
      const at = (w: number, rs = runs) => rs.map((x) => x[(ki * batches.length + bi) * 3 + w]);
      const ref = main ? at(0, mains) : at(0);
      const cell = (w: number) => {
        const ratios = at(w).map((v, i) => v / ref[i]);
        return `${median(at(w)).toFixed(0)} (**${median(ratios).toFixed(2)}x**, ${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)})`;
      };
      rows.push(`| ${n.toLocaleString('en')} in 2^${Math.log2(size)} | ${kind} | ${bs} | ${median(ref).toFixed(0)} |${main ? ` ${cell(0)} |` : ''} ${cell(1)} | ${cell(2)} |`);
    }));
  }
  console.log(`\nPrefetch pass, ns per frame (frames written fresh, decided under one lock per batch), medians of ${BATCH_ROUNDS} rounds, ${BATCH_PACKETS} frames per cell and round:\n`);
  console.log(main
    ? '| entries | frames | batch | main (no pass) | this build, no pass (ratio to main, min–max) | bucket pass | bucket + entry pass |\n|---|---|---:|---:|---:|---:|---:|'
    : '| entries | frames | batch | no pass | bucket pass (ratio, min–max) | bucket + entry pass (ratio, min–max) |\n|---|---|---:|---:|---:|---:|');
  console.log(rows.join('\n'));
}

main();
