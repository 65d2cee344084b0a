// Connection-sync CPU (no network): N sync records queued in a real native table, drained and encoded by the active's
// SyncChannel (mesh send into an array), then the datagrams decoded and applied by a standby's SyncChannel into a
// second table. Per record: CPU µs of drain+encode (active) and decode+apply (standby); and the longest synchronous
// block of the active's pump (pump() itself and every setImmediate callback it scheduled, wall ms). Same-run baseline:
// main's code and addon imported from /work/main (its SyncChannel and NativeTable, ABI 12: one unbounded drain into
// ConnEntry objects); also this build's object path (bounded, ConnEntry, no SyncRecordIO) to separate the two changes.
// Run: MAIN=<a built checkout of 8acf938, the last main before the bounded drain> node --expose-gc -r
//   @isaacs/ts-node-temp-fork-for-pr-2009/register/transpile-only bench/sync.ts   (SIZES=10000,65536 ROUNDS=5)
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { NativeTable } from '../src/dataplane/native';
import type { DataPlane, ServiceSpec } from '../src/dataplane/types';
import { SyncChannel } from '../src/ha/sync-io';
import { SYNC_DRAIN_SLICE } from '../src/ha/sync-drain';
import { createRootLogger } from '../src/log';
import { tcpFlagsOf } from '../src/scheduler';

const ROUNDS = Number(process.env.ROUNDS ?? 5);
const SIZES = (process.env.SIZES ?? '10000,65536').split(',').map(Number);
const MAIN = process.env.MAIN ?? '';
// The baseline must be the code before the change: this checkout as its own baseline would print ratios of 1.
if (!MAIN || path.resolve(MAIN) === path.resolve(__dirname, '..')) {
  throw new Error('MAIN=<dir>: a built checkout of the baseline (e.g. git worktree add /tmp/dd-sync-base 8acf938; ln -s "$PWD/node_modules" /tmp/dd-sync-base/; (cd /tmp/dd-sync-base && npm run build:native)), not this checkout');
}
const VIP = '10.61.0.100';
const key = Buffer.from('sync-key-sync-key-sync-key-12345');
const log = createRootLogger({ level: 'fatal' });
const svc: ServiceSpec = { vip: VIP, port: 80, protocol: 'tcp', fwmark: 0, scheduler: 'rr', persistent: 0, pmask: '255.255.255.255',
  expireQuiescentTemplate: false, expireNodestConn: false,
  dests: [1, 2].map((i) => ({ address: `10.61.0.${10 + i}`, port: 80, weight: 1, mac: `02:61:00:00:00:1${i}` })) };

/* eslint-disable @typescript-eslint/no-require-imports */
type Table = { drainSync(max?: number): unknown[]; setServices(s: ServiceSpec[]): void; processPacket(p: object, now: number): unknown; counters(): { counters: Record<string, number> } };
type TableCtor = new (size: number) => Table;
type ChannelCtor = new (opts: object) => { setSending(on: boolean): void; pump(): void; deliver(m: Buffer, from: string): void; close(): void; entriesSent: number; entriesApplied: number };
const mainMods = { Table: require(path.join(MAIN, 'src/dataplane/native')).NativeTable as TableCtor, Channel: require(path.join(MAIN, 'src/ha/sync-io')).SyncChannel as ChannelCtor };

interface Variant { name: string; Table: TableCtor; Channel: ChannelCtor; plane(t: Table): DataPlane }
const variants: Variant[] = [
  { name: 'main', ...mainMods, plane: (t) => ({ drainSyncUpdates: () => t.drainSync(), applySyncUpdates: (e: unknown[]) => (t as unknown as NativeTable).applySync(e as never) }) as unknown as DataPlane },
  { name: 'objects', Table: NativeTable as unknown as TableCtor, Channel: SyncChannel as unknown as ChannelCtor,
    plane: (t) => ({ drainSyncUpdates: (m?: number) => t.drainSync(m), applySyncUpdates: (e: unknown[]) => (t as unknown as NativeTable).applySync(e as never) }) as unknown as DataPlane },
  { name: 'records', Table: NativeTable as unknown as TableCtor, Channel: SyncChannel as unknown as ChannelCtor,
    plane: (t) => ({ syncRecords: t, drainSyncUpdates: (m?: number) => t.drainSync(m), applySyncUpdates: (e: unknown[]) => (t as unknown as NativeTable).applySync(e as never) }) as unknown as DataPlane },
];

/** A table whose sync ring holds n records: n/2 new connections (a SYN queues NONE, then SYN_RECV). */
function filled(T: TableCtor, n: number): Table {
  const t = new T(1 << 18);
  t.setServices([svc]);
  t.drainSync();
  for (let i = 0; i < n / 2; i++) {
    t.processPacket({ saddr: `11.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, sport: 1024 + (i & 1023), daddr: VIP, dport: 80, protocol: 'tcp', flags: tcpFlagsOf(0x02), len: 60 }, 0);
  }
  return t;
}

// Every setImmediate callback timed: the active's later drain slices run in them.
let blocks: number[] = [];
let blocksCpu: number[] = [];
/** fn's wall ms into blocks, and its CPU ms (this process, all threads: GC helpers included) into blocksCpu. */
function timed(fn: () => void): void {
  const c0 = cpuUs();
  const t0 = performance.now();
  fn();
  blocks.push(performance.now() - t0);
  blocksCpu.push((cpuUs() - c0) / 1000);
}
const realSetImmediate = global.setImmediate;
global.setImmediate = ((fn: (...a: unknown[]) => void, ...args: unknown[]) => realSetImmediate(() => timed(() => fn(...args)))) as typeof setImmediate;
const turn = () => new Promise<void>((r) => realSetImmediate(r));
const cpuUs = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const gc = (global as { gc?: () => void }).gc ?? (() => undefined);

async function once(v: Variant, n: number): Promise<{ activeUs: number; standbyUs: number; maxBlockMs: number; maxBlockCpuMs: number; medBlockMs: number; blocks: number }> {
  const a = filled(v.Table, n);
  const b = new v.Table(1 << 18);
  b.setServices([svc]);
  const sent: Buffer[] = [];
  const active = new v.Channel({ local: '10.61.0.1', peer: '10.61.0.2', port: 1, key, dataplane: v.plane(a), log, mesh: { send: (m: Buffer) => void sent.push(m) } });
  active.setSending(true);
  gc();
  blocks = [];
  blocksCpu = [];
  let c0 = cpuUs();
  timed(() => active.pump());
  for (let i = 0; i < 100_000 && active.entriesSent < n; i++) await turn();
  const activeUs = cpuUs() - c0;
  const maxBlockMs = Math.max(...blocks);
  const maxBlockCpuMs = Math.max(...blocksCpu);
  const nblocks = blocks.length;
  if (process.env.SHOW_BLOCKS) console.log(`  ${v.name} n=${n}: blocks wall ${blocks.map((x) => x.toFixed(1)).join(' ')} ms; CPU ${blocksCpu.map((x) => x.toFixed(1)).join(' ')} ms`);
  if (active.entriesSent !== n) throw new Error(`${v.name}: ${active.entriesSent} of ${n} sent`);
  active.close();
  const standby = new v.Channel({ local: '10.61.0.2', peer: '10.61.0.1', port: 1, key, dataplane: v.plane(b), log, proveBoot: () => true });
  gc();
  c0 = cpuUs();
  for (const m of sent) standby.deliver(m, '10.61.0.1');
  const standbyUs = cpuUs() - c0;
  if (standby.entriesApplied !== n) throw new Error(`${v.name}: ${standby.entriesApplied} of ${n} applied`);
  standby.close();
  return { activeUs: activeUs / n, standbyUs: standbyUs / n, maxBlockMs, maxBlockCpuMs, medBlockMs: median(blocks), blocks: nblocks };
}

const spread = (xs: number[], d: number) => `${median(xs).toFixed(d)} (${Math.min(...xs).toFixed(d)}-${Math.max(...xs).toFixed(d)})`;

async function main(): Promise<void> {
  const rev = (dir: string) => execFileSync('git', ['-C', dir, 'log', '-1', '--format=%h'], { encoding: 'utf8' }).trim();
  console.log(`bench/sync.ts: ROUNDS=${ROUNDS} SIZES=${SIZES.join(',')} SYNC_DRAIN_SLICE=${SYNC_DRAIN_SLICE}; main ${MAIN} at ${rev(MAIN)}, this build at ${rev(path.join(__dirname, '..'))}; load ${execFileSync('cat', ['/proc/loadavg'], { encoding: 'utf8' }).split(' ').slice(0, 3).join(' ')}`);
  for (const v of variants) await once(v, 10_000); // warm-up (JIT), not counted
  for (const n of SIZES) {
    const res = new Map(variants.map((v) => [v.name, [] as Awaited<ReturnType<typeof once>>[]]));
    for (let r = 0; r < ROUNDS; r++) {
      // Alternate the order: neither gets the warmer caches every round.
      for (const v of r % 2 ? [...variants].reverse() : variants) res.get(v.name)!.push(await once(v, n));
    }
    console.log(`\nN = ${n} records, median (min-max) of ${ROUNDS} rounds; ratio = this build / main in the same round`);
    const base = res.get('main')!;
    for (const [name, rs] of res) {
      const fig = (k: 'activeUs' | 'standbyUs' | 'maxBlockMs' | 'maxBlockCpuMs' | 'medBlockMs', d: number) => `${spread(rs.map((x) => x[k]), d)}${name === 'main' ? '' : ` [x${spread(rs.map((x, i) => x[k] / base[i][k]), 2)}]`}`;
      console.log(`  ${name.padEnd(8)} active drain+encode ${fig('activeUs', 3)} µs/record; standby decode+apply ${fig('standbyUs', 3)} µs/record; longest block ${fig('maxBlockMs', 2)} ms wall, ${fig('maxBlockCpuMs', 2)} ms CPU, in ${rs[0].blocks} blocks of median ${fig('medBlockMs', 2)} ms wall`);
    }
  }
}

main().then(() => process.exit(0), (e) => {
  console.error(e);
  process.exit(1);
});
