// The only loader of the native addons (main, AF_XDP, bench): checks DD_ABI_VERSION, validates every argument and
// packs tables into the record layouts the addon itself exports (native-layout.ts), so no layout is copied by hand.
import path from 'node:path';
import { DirectordError } from '../errors';
import { defaultOptions } from '../defaults';
import type { ConnEntry, DestCounters, PacketSummary, ServiceSpec, Timeouts } from '../table/types';
import type { ConnSnapshot } from './types';
import { tcpFlagByte } from '../scheduler/tcp-states';
import { DATAPLANE_LIMITS, checkBusyPoll, checkPacketThreads, ipToInt, intToIp, macToBytes, validateServices } from './validate';
import { checkTableLayout, checkXdpKeyLayout, decodeConnRecords, encodeConnRecords, type NativeLayout, type XdpKeyLayout } from './native-layout';
import type { BenchBinding, Handle, NativeBinding, RawDecision, XdpBinding, XdpInfo } from './native-binding';

export { checkXdpKeyLayout, type NativeLayout, type XdpKeyLayout };

export const EXPECTED_ABI_VERSION = 13;
/** DD_XDP_MAX_QUEUES (xdp_abi.h): the most RX queues, hence AF_XDP packet threads. */
export const XDP_MAX_THREADS = 256;
/** DD_VLAN_MAX: the highest 802.1Q VLAN id (0 means untagged). */
export const VLAN_MAX = 4094;

export type { BenchBinding, Handle, NativeBinding, XdpBinding, XdpInfo };

export const DEFAULT_ADDON_PATH = path.join(__dirname, '..', '..', '..', 'build', 'Release', 'directord_native.node');

/** The first candidate that loads, ABI-checked (E_DATAPLANE_ABI names it); `missing` when none loads (its reason). */
function requireAddon<T extends { abiVersion(): number }>(what: string, candidates: string[], missing: (lastErr: unknown) => DirectordError): { b: T; f: string } {
  let lastErr: unknown;
  for (const f of candidates) {
    let b: T;
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      b = require(f) as T;
    } catch (e) {
      lastErr = e;
      continue;
    }
    const v = b.abiVersion();
    if (v !== EXPECTED_ABI_VERSION) {
      throw new DirectordError('E_DATAPLANE_ABI', `${what} ${f} has ABI ${v}, this build expects ${EXPECTED_ABI_VERSION}: run npm run build:native`, { details: { file: f, abi: v } });
    }
    return { b, f };
  }
  throw missing(lastErr);
}

let cached: NativeBinding | undefined;

/** Load and ABI-check the addon (dist/ and ts-node layouts both resolve to <repo>/build/Release). */
export function loadNative(file?: string): NativeBinding {
  if (!file && cached) return cached;
  const candidates = file ? [file] : [DEFAULT_ADDON_PATH, path.join(__dirname, '..', '..', 'build', 'Release', 'directord_native.node')];
  const { b } = requireAddon<NativeBinding>('native addon', candidates, (lastErr) =>
    new DirectordError('E_DATAPLANE_NO_ADDON', `native addon not found (run npm run build:native): ${String(lastErr)}`, { cause: lastErr }));
  if (!file) cached = b;
  return b;
}

export const BENCH_ADDON_FILE = 'directord_bench.node';

/** Load and ABI-check the benchmark/test addon (it reads directord_native.node's tables: one build for both). */
export function loadBench(file?: string): BenchBinding {
  const candidates = file ? [file] : buildDirs().map((d) => path.join(d, BENCH_ADDON_FILE));
  return requireAddon<BenchBinding>('bench addon', candidates, (lastErr) =>
    new DirectordError('E_DATAPLANE_NO_ADDON', `bench addon not found (run npm run build:native): ${String(lastErr)}`, { cause: lastErr })).b;
}

export const XDP_ADDON_FILE = 'directord_afxdp.node';
export const XDP_OBJECT_FILE = 'directord_xdp.bpf.o';

/** build/Release of this checkout (dist/ and ts-node layouts), where both addons and the XDP object live. */
export function buildDirs(): string[] {
  return [path.dirname(DEFAULT_ADDON_PATH), path.join(__dirname, '..', '..', 'build', 'Release')];
}

/** Load and ABI-check the AF_XDP addon; E_DATAPLANE_NO_XDP (with the loader's reason) when it cannot be used. */
export function loadXdp(file?: string): XdpBinding {
  const candidates = file ? [file] : buildDirs().map((d) => path.join(d, XDP_ADDON_FILE));
  const { b, f } = requireAddon<XdpBinding>('AF_XDP addon', candidates, (lastErr) => {
    const why = (lastErr as Error | undefined)?.message?.split('\n')[0] ?? 'not found';
    return new DirectordError('E_DATAPLANE_NO_XDP', `AF_XDP addon not available (built only where libxdp/libbpf are installed): ${why}`, { cause: lastErr });
  });
  checkXdpKeyLayout(b.layout().xdpKey, loadNative().layout().xdpKey, f);
  return b;
}

export type { PacketSummary };

export interface NativeDecision {
  verdict: string;
  dest?: { address: string; port: number };
  state: string;
  created: boolean;
}

export interface NativeCounters {
  counters: Record<string, number>;
  verdicts: Record<string, number>;
}

/** A dest's counters as the addon reports them, with the index of its service in the last table. */
export interface NativeDestStats extends Omit<DestCounters, 'unavailableReason'> {
  serviceIndex: number;
}

function wrapNative<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof DirectordError) throw e;
    const err = e as Error & { code?: string };
    throw new DirectordError(err.code && err.code.startsWith('E_') ? err.code : 'E_DATAPLANE_NATIVE', err.message, { cause: e });
  }
}

/** One native connection table (and optionally its packet loop). JS-side validation happens here. */
export class NativeTable {
  readonly binding: NativeBinding;
  readonly layout: NativeLayout;
  readonly size: number;
  private readonly handle: Handle;
  private loopRunning = false;

  constructor(size: number, binding: NativeBinding = loadNative()) {
    if (!Number.isInteger(size) || size < 16 || size > 1 << 26 || (size & (size - 1)) !== 0) {
      throw new DirectordError('E_DATAPLANE_TABLE_SIZE', `connection table size must be a power of two in 16..2^26, got ${size}`);
    }
    this.binding = binding;
    this.layout = binding.layout();
    checkTableLayout(this.layout);
    this.size = size;
    this.handle = wrapNative(() => binding.tableCreate(size));
  }

  /** Push the complete policy: dests without a MAC stay in the list (keeping their connections) but are never used. */
  setServices(services: ServiceSpec[]): void {
    validateServices(services, DATAPLANE_LIMITS);
    const L = this.layout;
    const ndest = services.reduce((n, s) => n + s.dests.length, 0);
    const sb = Buffer.alloc(L.service.size * services.length);
    const db = Buffer.alloc(L.dest.size * ndest);
    let di = 0;
    services.forEach((s, i) => {
      const o = i * L.service.size;
      sb.writeUInt32LE(ipToInt(s.vip), o + L.service.vip);
      sb.writeUInt32LE(ipToInt(s.pmask), o + L.service.pmask);
      sb.writeUInt32LE(s.fwmark, o + L.service.fwmark);
      sb.writeUInt32LE(s.persistent * 1000, o + L.service.persistent_ms);
      sb.writeUInt16LE(s.port, o + L.service.port);
      sb.writeUInt8(s.protocol === 'tcp' ? 6 : 17, o + L.service.protocol);
      sb.writeUInt8(L.schedulers.indexOf(s.scheduler), o + L.service.scheduler);
      sb.writeUInt8(s.expireQuiescentTemplate ? 1 : 0, o + L.service.expire_quiescent_template);
      sb.writeUInt8(s.expireNodestConn ? 1 : 0, o + L.service.expire_nodest_conn);
      sb.writeUInt16LE(s.dests.length, o + L.service.dest_count);
      sb.writeUInt32LE(di, o + L.service.dest_first);
      for (const d of s.dests) {
        const p = di * L.dest.size;
        db.writeUInt32LE(ipToInt(d.address), p + L.dest.addr);
        db.writeInt32LE(d.weight, p + L.dest.weight);
        db.writeUInt16LE(d.port, p + L.dest.port);
        if (d.mac) {
          db.writeUInt8(1, p + L.dest.has_mac);
          macToBytes(d.mac).copy(db, p + L.dest.mac);
        }
        if (d.failed) db.writeUInt8(1, p + L.dest.failed);
        if (d.closeConns) db.writeUInt8(1, p + L.dest.close_conns);
        di++;
      }
    });
    wrapNative(() => this.binding.tableSetServices(this.handle, sb, db));
  }

  setTimeouts(t: Timeouts): void {
    for (const [k, v] of Object.entries(t)) {
      if (!Number.isInteger(v) || v < 0 || v > 31 * 24 * 3600) throw new DirectordError('E_DATAPLANE_TIMEOUT', `timeout ${k} must be 0..2678400 s, got ${v}`);
    }
    this.binding.tableSetTimeouts(this.handle, t.tcp, t.tcpfin, t.udp);
  }

  setForwarding(on: boolean): void {
    this.binding.tableSetForwarding(this.handle, on);
  }

  /** The 802.1Q VLAN the table serves (0: untagged frames); before startLoop/startXdp, whose filters depend on it. */
  setVlan(vid: number): void {
    if (!Number.isInteger(vid) || vid < 0 || vid > VLAN_MAX) throw new DirectordError('E_DATAPLANE_VLAN', `VLAN id must be 0..${VLAN_MAX}, got ${vid}`);
    wrapNative(() => this.binding.tableSetVlan(this.handle, vid));
  }

  nowMs(): number {
    return this.binding.nowMs();
  }

  private decision(r: RawDecision): NativeDecision {
    return {
      verdict: this.layout.verdicts[r[0]],
      dest: r[1] >= 0 ? { address: intToIp(r[1]), port: r[2] } : undefined,
      state: this.layout.states[r[3]],
      created: r[4] === 1,
    };
  }

  /** Test entry: a frame through the packet loops' own step (parse, decide, MAC rewrite, or an ICMP reply): what
   * would be sent, or the drop reason. The input is not modified. */
  forwardFrame(frame: Buffer, nowMs: number, ourMac: string, tag?: { tci: number } | 'other'): { action: 'forward' | 'reply' | 'drop'; verdict: string; frame?: Buffer } {
    const meta = tag === undefined ? -1 : tag === 'other' ? -2 : tag.tci;
    if (!Number.isInteger(meta) || meta < -2 || meta > 0xffff) throw new DirectordError('E_DATAPLANE_VLAN', `bad tag ${JSON.stringify(tag)}`);
    const [r, v, out] = this.binding.tableForwardFrame(this.handle, frame, nowMs, macToBytes(ourMac), meta);
    return { action: r === 1 || r === 3 ? 'forward' : r === 2 ? 'reply' : 'drop', verdict: this.layout.verdicts[v], ...(out ? { frame: out } : {}) };
  }


  /** Test entry: a packet summary straight into the table (no frame, no socket). */
  processPacket(p: PacketSummary, nowMs: number): NativeDecision {
    const proto = p.protocol === 'tcp' ? 6 : 17;
    return this.decision(this.binding.tableProcessPacket(this.handle, ipToInt(p.saddr), p.sport, ipToInt(p.daddr), p.dport, proto, tcpFlagByte(p.flags), p.len, nowMs));
  }

  /** Test entry (directord_bench.node): the 32-bit connection hash of a TCP/UDP key (the bucket is its low bits). */
  hashOf(p: Pick<PacketSummary, 'saddr' | 'sport' | 'daddr' | 'dport' | 'protocol'>, template = false): number {
    const proto = p.protocol === 'tcp' ? 6 : 17;
    return loadBench().tableHash(this.handle, template, proto, ipToInt(p.saddr), p.sport, ipToInt(p.daddr), p.dport);
  }

  /** Test entry (directord_bench.node): replace the per-table secret hash key (only while the table is empty). */
  setHashKey(k0: bigint, k1: bigint): void {
    wrapNative(() => loadBench().tableSetHashKey(this.handle, k0, k1));
  }

  /** Test entry (directord_bench.node): frames as one batch of a packet loop, prefetch pass included (untagged). */
  forwardBatch(frames: Buffer[], nowMs: number, ourMac: string): { action: 'forward' | 'reply' | 'drop'; frame?: Buffer }[] {
    return loadBench().tableForwardBatch(this.handle, frames, nowMs, macToBytes(ourMac)).map(([r, out]) =>
      ({ action: r === 1 ? 'forward' : r === 2 ? 'reply' : 'drop', ...(out ? { frame: out } : {}) }));
  }

  /** Test entry: a whole Ethernet frame through the parser and the table. */
  processFrame(frame: Buffer, nowMs: number): NativeDecision {
    return this.decision(this.binding.tableProcessFrame(this.handle, frame, nowMs));
  }

  counters(): NativeCounters {
    const b = this.binding.tableCounters(this.handle);
    const counters: Record<string, number> = {};
    const verdicts: Record<string, number> = {};
    this.layout.counters.forEach((n, i) => (counters[n] = Number(b.readBigUInt64LE(i * 8))));
    this.layout.verdicts.forEach((n, i) => (verdicts[n] = Number(b.readBigUInt64LE((this.layout.counterCount + i) * 8))));
    return { counters, verdicts };
  }

  destStats(): NativeDestStats[] {
    const b = this.binding.tableDestStats(this.handle);
    const L = this.layout.destStats;
    const out: NativeDestStats[] = [];
    for (let o = 0; o + L.size <= b.length; o += L.size) {
      out.push({
        serviceIndex: b.readUInt32LE(o + L.svc_index),
        address: intToIp(b.readUInt32LE(o + L.addr)),
        port: b.readUInt16LE(o + L.port),
        weight: b.readInt32LE(o + L.weight),
        activeConns: b.readUInt32LE(o + L.active_conns),
        inactConns: b.readUInt32LE(o + L.inact_conns),
        persistConns: b.readUInt32LE(o + L.persist_conns),
        conns: Number(b.readBigUInt64LE(o + L.conns)),
        inPkts: Number(b.readBigUInt64LE(o + L.in_pkts)),
        inBytes: Number(b.readBigUInt64LE(o + L.in_bytes)),
      });
    }
    return out;
  }

  /** Rows for `ipvsadm -lnc`; nowMs defaults to the loop's monotonic clock. */
  connections(limit = this.size, nowMs = -1): ConnEntry[] {
    const n = Math.max(0, Math.min(this.size, Math.floor(limit)));
    return decodeConnRecords(this.layout, this.binding.tableConnections(this.handle, n, nowMs));
  }

  /** The whole table copied at once (C, under the lock), decoded a slice at a time (DataPlane.connectionSnapshot). */
  snapshot(nowMs = -1): ConnSnapshot {
    const size = this.layout.conn.size;
    const b = this.binding.tableConnections(this.handle, this.size, nowMs);
    return { length: Math.floor(b.length / size), slice: (from, to) => decodeConnRecords(this.layout, b.subarray(from * size, to * size)) };
  }

  /** Sync records since the last drain, at most max (the first call switches recording on). expiresMs is the timeout
   * length of the record's state (core.c's transition() sets it before it queues the record). */
  drainSync(max = this.layout.syncRing): ConnEntry[] {
    return decodeConnRecords(this.layout, this.drainSyncRecords(max));
  }

  applySync(entries: ConnEntry[], nowMs = -1): number {
    return this.applySyncRecords(encodeConnRecords(this.layout, entries), nowMs);
  }

  /** drainSync's records as the addon wrote them (struct dd_conn_record): SyncRecordIO, the object-free sync path. */
  drainSyncRecords(max: number): Buffer {
    if (!Number.isInteger(max) || max < 0) throw new DirectordError('E_DATAPLANE_SYNC', `drain at most a count of records, not ${max}`);
    return this.binding.tableDrainSync(this.handle, Math.min(max, this.layout.syncRing));
  }

  applySyncRecords(records: Buffer, nowMs = -1): number {
    return wrapNative(() => this.binding.tableApplySync(this.handle, records, nowMs));
  }

  /** rxRing 'v3': 1 MiB blocks, best batching, up to 1 ms hand-over delay; 'v2': per-frame hand-over. `threads`
   * packet threads in one PACKET_FANOUT_HASH group share this table (1..DD_MAX_PACKET_THREADS). */
  startLoop(ifname: string, mac: string, filter: string, vnetHdr: boolean, rxRing: 'v2' | 'v3' = 'v3', busyPollUs = 0, threads = 1): void {
    if (!/^[A-Za-z0-9_.:@-]{1,15}$/.test(ifname)) throw new DirectordError('E_DATAPLANE_INTERFACE', `bad interface name ${JSON.stringify(ifname)}`);
    checkBusyPoll(busyPollUs);
    checkPacketThreads(threads);
    wrapNative(() => this.binding.loopStart(this.handle, ifname, macToBytes(mac), filter, vnetHdr, rxRing === 'v2', busyPollUs, threads));
    this.loopRunning = true;
  }

  setFilter(filter: string): void {
    if (this.loopRunning) wrapNative(() => this.binding.loopSetFilter(this.handle, filter));
  }

  /** Frames each packet thread has taken since start ([] when the loop is stopped). */
  loopThreads = (): number[] => this.binding.loopThreads(this.handle);

  stopLoop(): void {
    this.binding.loopStop(this.handle);
    this.loopRunning = false;
  }

  /** Attach the XDP program and start the AF_XDP threads on this table (a socket per RX queue; threads 0: one per
   * queue, at most one per usable CPU but one); returns the XDP handle. */
  startXdp(xdp: XdpBinding, ifname: string, mac: string, bpfObject: string, skbMode = false, busyPollUs = 0, threads = 0): Handle {
    if (!/^[A-Za-z0-9_.:@-]{1,15}$/.test(ifname)) throw new DirectordError('E_DATAPLANE_INTERFACE', `bad interface name ${JSON.stringify(ifname)}`);
    checkBusyPoll(busyPollUs);
    if (!Number.isInteger(threads) || threads < 0 || threads > XDP_MAX_THREADS) throw new DirectordError('E_DATAPLANE_OPTION', `AF_XDP threads must be an integer from 0 to ${XDP_MAX_THREADS}, not ${threads}`);
    return wrapNative(() => xdp.xdpStart(this.handle, ifname, macToBytes(mac), bpfObject, skbMode, busyPollUs, threads));
  }
}
