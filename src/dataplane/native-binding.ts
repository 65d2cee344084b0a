// What the three addons export (main, AF_XDP, bench), as TypeScript sees it; native.ts loads them and checks the ABI.
import type { NativeLayout, XdpKeyLayout } from './native-layout';

export type Handle = object;
export type RawDecision = [number, number, number, number, number];

/** The raw addon; injectable in tests (better-sqlite3 style). */
export interface NativeBinding {
  abiVersion(): number;
  layout(): NativeLayout;
  nowMs(): number;
  parseFrame(frame: Buffer): number;
  tableCreate(size: number): Handle;
  tableSetServices(h: Handle, services: Buffer, dests: Buffer): void;
  tableSetTimeouts(h: Handle, tcp: number, tcpfin: number, udp: number): void;
  tableSetForwarding(h: Handle, on: boolean): void;
  tableSetVlan(h: Handle, vid: number): void;
  tableProcessFrame(h: Handle, frame: Buffer, nowMs: number): RawDecision;
  /** Test entry: dd_forward_frame as the packet loops run it; [0 drop | 1 forward | 2 reply | 3 forward with the
   * metadata tag put back inline, verdict, frame out]. tag: the TCI the receive path took out, -1 none, -2 not 802.1Q. */
  tableForwardFrame(h: Handle, frame: Buffer, nowMs: number, ourMac: Buffer, tag?: number): [number, number, Buffer | null];
  tableProcessPacket(h: Handle, saddr: number, sport: number, daddr: number, dport: number, proto: number, flags: number, iplen: number, nowMs: number): RawDecision;
  tableCounters(h: Handle): Buffer;
  tableDestStats(h: Handle): Buffer;
  tableConnections(h: Handle, limit: number, nowMs: number): Buffer;
  /** At most max (capped at DD_SYNC_RING) sync records, oldest first. */
  tableDrainSync(h: Handle, max: number): Buffer;
  tableApplySync(h: Handle, records: Buffer, nowMs: number): number;
  loopStart(h: Handle, ifname: string, mac: Buffer, filter: string, vnetHdr: boolean, rxRingV2: boolean, busyPollUs: number, threads: number): void;
  loopThreads(h: Handle): number[];
  loopSetFilter(h: Handle, filter: string): void;
  loopStop(h: Handle): void;
  /** sd_notify(3): one datagram to $NOTIFY_SOCKET from this PID ('@' = abstract name); 0 or an errno (src/daemon/sd-notify.ts). */
  sdNotify(socket: string, message: string): number;
}

/** The benchmark and test addon (build/Release/directord_bench.node, never shipped): entries the daemon never uses. */
export interface BenchBinding {
  abiVersion(): number;
  /** ns per insert/lookup for `conns` connections in a `size`-slot table, timed inside C. */
  benchLookup(size: number, conns: number, lookups: number): { insertNs: number; lookupNs: number; used: number; bytes: number };
  /** n SYNs over one second, then one packet per ms once all are due; thread CPU time in C. */
  benchExpire(size: number, conns: number): { maxUs: number; nsPerEntry: number; calls: number };
  /** `syns` random SYNs at `rate`/s of clock into a `size`-slot table; thread CPU time in C. */
  benchFlood(size: number, syns: number, rate: number): { maxCallUs: number; maxBatchUs: number; meanNs: number; evictions: number; used: number };
  /** The packet loops' batches over `conns` connections in a `size`-slot table, `packets` frames per figure: ns per
   * frame, [ACKs of existing, SYNs of absent][batch of 2, 32, 256][no prefetch pass, bucket pass, bucket + entry]. */
  benchBatch(size: number, conns: number, packets: number): number[];
  /** The connection hash of a key under a directord_native.node table's secret key, and fixing that key (empty table). */
  tableHash(h: Handle, template: boolean, proto: number, caddr: number, cport: number, vaddr: number, vport: number): number;
  tableSetHashKey(h: Handle, k0: bigint, k1: bigint): void;
  /** Frames through the packet loops' batch path (prefetch pass, one lock): per frame [result, frame out or null]. */
  tableForwardBatch(h: Handle, frames: Buffer[], nowMs: number, ourMac: Buffer): [number, Buffer | null][];
}

/** The optional AF_XDP addon (build/Release/directord_afxdp.node, linked with libxdp/libbpf). */
export interface XdpBinding {
  abiVersion(): number;
  layout(): { xdpKey: XdpKeyLayout };
  /** threads: packet threads, 0 = one per RX queue (at most one per usable CPU but one). */
  xdpStart(table: Handle, ifname: string, mac: Buffer, bpfObject: string, skbMode: boolean, busyPollUs: number, threads: number): Handle;
  xdpSetServices(xdp: Handle, keys: Buffer): void;
  xdpStop(xdp: Handle): void;
  /** True when a directord program left by a crash was detached; throws E_DATAPLANE_XDP for a foreign program. */
  xdpRemoveStale(ifname: string): boolean;
  xdpInfo(xdp: Handle): XdpInfo;
}

export interface XdpInfo {
  attachMode: 'native' | 'skb';
  zeroCopy: boolean;
  /** Attached through libxdp's dispatcher (false: alone, where the kernel or a missing bpffs rule it out). */
  dispatcher: boolean;
  threads: number;
  /** One per RX queue: frames its socket delivered. */
  queues: { queue: number; rxFrames: number }[];
}
