// Benchmark of the reference scheduler model: wlc decisions/s (2, 64, 1024 dests) and connection-table operations/s
// (new connection, lookup, expiry) at 1k/100k/1M entries, each next to a same-run baseline and the ratio.
// Build with `npx tsc -p .`, run `node --max-old-space-size=4096 dist/bench/scheduler.js`.
import { performance } from 'node:perf_hooks';
import { ConnTableModel, type PacketSummary, ipToU32, newSchedDest, wlcPick } from '../src/scheduler';

function rate(ops: number, ms: number): number {
  return ops / (ms / 1000);
}

function fmt(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(2)} M/s` : `${(n / 1e3).toFixed(1)} k/s`;
}

/** wlc over n dests whose counters drift as connections are added to the chosen one and removed at random. */
function benchWlc(n: number, decisions: number): { model: number; baseline: number } {
  const list = Array.from({ length: n }, (_, i) => {
    const d = newSchedDest(`10.61.${i >> 8}.${i & 255}`, ipToU32(`10.61.${i >> 8}.${i & 255}`), 3306);
    d.weight = 1 + (i % 4);
    d.lastWeight = d.weight;
    return d;
  });
  let seed = 12345;
  const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n);
  let t0 = performance.now();
  for (let k = 0; k < decisions; k++) {
    const d = wlcPick(list);
    if (d) d.activeConns++;
    const x = list[rnd()];
    if (x.activeConns > 0) x.activeConns--;
  }
  const model = rate(decisions, performance.now() - t0);
  // Baseline: the least work any least-connection choice needs, a plain min scan over a typed array.
  const load = new Float64Array(n);
  t0 = performance.now();
  for (let k = 0; k < decisions; k++) {
    let best = 0;
    for (let i = 1; i < n; i++) if (load[i] < load[best]) best = i;
    load[best]++;
    const r = rnd();
    if (load[r] > 0) load[r]--;
  }
  const baseline = rate(decisions, performance.now() - t0);
  return { model, baseline };
}

interface TableRates { create: number; lookup: number; expire: number; baseCreate: number; baseLookup: number; baseDelete: number }

/** Repeats small tables so every figure covers at least ~200k operations (1k-entry tables are timed 200 times). */
function benchTable(n: number): TableRates {
  const rounds = Math.max(1, Math.floor(200_000 / n));
  const sum: TableRates = { create: 0, lookup: 0, expire: 0, baseCreate: 0, baseLookup: 0, baseDelete: 0 };
  for (let i = 0; i < rounds; i++) {
    const r = benchTableOnce(n);
    for (const k of Object.keys(sum) as (keyof TableRates)[]) sum[k] += n / r[k];
  }
  const out = { ...sum };
  for (const k of Object.keys(sum) as (keyof TableRates)[]) out[k] = (n * rounds) / sum[k];
  return out;
}

/** n connections through ConnTableModel.process (SYN, then ACK), then all expired; baseline: a Map of the same keys. */
function benchTableOnce(n: number): TableRates {
  const addrs = Array.from({ length: 1024 }, (_, i) => `10.62.${i >> 8}.${i & 255}`);
  const m = new ConnTableModel();
  m.setServices([{
    vip: '10.61.0.100', port: 3306, protocol: 'tcp', fwmark: 0, scheduler: 'wlc', persistent: 0, pmask: '255.255.255.255',
    expireQuiescentTemplate: false, expireNodestConn: false,
    dests: Array.from({ length: 8 }, (_, i) => ({ address: `10.61.1.${i + 1}`, port: 3306, weight: 1 })),
  }]);
  const pkt: PacketSummary = { protocol: 'tcp', saddr: '', sport: 0, daddr: '10.61.0.100', dport: 3306, flags: { syn: true }, len: 60 };
  let t0 = performance.now();
  for (let i = 0; i < n; i++) {
    pkt.saddr = addrs[i & 1023];
    pkt.sport = 1024 + (i >> 10);
    m.process(pkt, 0);
  }
  const create = rate(n, performance.now() - t0);
  pkt.flags = { ack: true };
  t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const j = (i * 7919) % n;
    pkt.saddr = addrs[j & 1023];
    pkt.sport = 1024 + (j >> 10);
    m.process(pkt, 1000);
  }
  const lookup = rate(n, performance.now() - t0);
  t0 = performance.now();
  m.expire(10_000_000);
  const expire = rate(n, performance.now() - t0);
  if (m.size !== 0) throw new Error(`expiry left ${m.size} entries`);

  const map = new Map<string, { c: number }>();
  t0 = performance.now();
  for (let i = 0; i < n; i++) map.set(`tcp:${addrs[i & 1023]}:${1024 + (i >> 10)}`, { c: i });
  const baseCreate = rate(n, performance.now() - t0);
  let sum = 0;
  t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const j = (i * 7919) % n;
    sum += map.get(`tcp:${addrs[j & 1023]}:${1024 + (j >> 10)}`)?.c ?? 0;
  }
  const baseLookup = rate(n, performance.now() - t0);
  t0 = performance.now();
  for (const k of map.keys()) map.delete(k);
  const baseDelete = rate(n, performance.now() - t0);
  if (sum < 0) console.log(sum);
  return { create, lookup, expire, baseCreate, baseLookup, baseDelete };
}

function main(): void {
  console.log('wlc decisions (wlcPick with drifting counters) vs baseline (plain min scan over a Float64Array)');
  for (const n of [2, 64, 1024]) {
    const decisions = n === 1024 ? 200_000 : 2_000_000;
    benchWlc(n, decisions / 10); // warm-up
    const r = benchWlc(n, decisions);
    console.log(`  ${String(n).padStart(4)} dests: ${fmt(r.model).padStart(11)}  baseline ${fmt(r.baseline).padStart(11)}  ratio ${(r.model / r.baseline).toFixed(2)}`);
  }
  console.log('connection table via ConnTableModel.process (SYN = new conn, ACK = lookup + transition) and expire() vs a Map<string, object>');
  benchTable(10_000); // warm-up
  for (const n of [1_000, 100_000, 1_000_000]) {
    const r = benchTable(n);
    const row = (name: string, a: number, b: number) => `${name} ${fmt(a).padStart(10)} (baseline ${fmt(b).padStart(10)}, ratio ${(a / b).toFixed(2)})`;
    console.log(`  ${String(n).padStart(9)} conns: ${row('new', r.create, r.baseCreate)}  ${row('lookup', r.lookup, r.baseLookup)}  ${row('expire', r.expire, r.baseDelete)}`);
  }
}

main();
