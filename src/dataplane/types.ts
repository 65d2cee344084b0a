// The contract between the control plane and any data-plane backend (native AF_PACKET, AF_XDP, the JS fake).
// The control plane writes tables and reads counters; it never handles packets (Katran's split).
import type { ConnEntry, ServiceCounters, ServiceSpec, Timeouts } from '../table/types';
import type { NativeLayout } from './native-layout';

// The vocabulary is re-exported for the DataPlane interface's users; its home is src/table/types.ts.
export type { ConnEntry, DestCounters, DestSpec, ServiceCounters, ServiceSpec, Timeouts } from '../table/types';

export interface DataPlaneStats {
  services: ServiceCounters[];
  /** Frames dropped or passed, by reason (e.g. truncated, bad_ihl, fragment, no_dest, no_mac, not_active). */
  drops: Record<string, number>;
  rxFrames: number;
  txFrames: number;
  /** Times a packet thread found its ring empty and slept in poll(); each later frame then costs the kernel a
   * wake-up on the receiving CPU. Native backends only. */
  loopWakeups?: number;
  /** Embryonic connections (never ESTABLISHED) evicted to admit a new one while the table was full. Native only. */
  evictions?: number;
  /** Longest a packet thread waited for and held the table lock for one batch since the previous stats(), µs
   *  (wall time: includes the thread being descheduled). Native only. */
  loopMaxUs?: number;
  /** ICMP errors about a VIP flow relayed to the flow's real server (unmatched ones: drops.icmp_no_conn). Native. */
  icmpRelayed?: number;
  /** ICMP port unreachables answered for drops.no_dest, and those the rate limit held back. Native only. */
  icmpUnreachSent?: number;
  icmpUnreachLimited?: number;
  /** TCP RSTs written for drops.dest_closed (connections of a dest that closes them: writer_demote = close). Native. */
  resetsSent?: number;
  /** Later IP fragments forwarded after their first fragment (unmatched ones: drops.fragment). Native only. */
  fragments?: number;
  /** The table lock (one for all packet threads and control calls): acquisitions, those that had to wait for another
   * thread, and the total wait in ns. Contention = lockContended / lockTaken. Native only. */
  lockTaken?: number;
  lockContended?: number;
  lockWaitNs?: number;
  /** Time the table lock was held in all, ns: the serial part of the packet path (N threads scale on the rest). */
  lockHoldNs?: number;
  /** Frames each AF_PACKET packet thread has taken from its ring since start (one entry per thread). */
  threadFrames?: number[];
}

/** A table snapshot taken at once, its entries decoded only as slices are asked for. */
export interface ConnSnapshot {
  readonly length: number;
  slice(from: number, to: number): ConnEntry[];
}

/** An array is a snapshot too (the fake data plane, tests). */
export function arraySnapshot(entries: ConnEntry[]): ConnSnapshot {
  return { length: entries.length, slice: (from, to) => entries.slice(from, to) };
}

/** Sync records as the native table queues and applies them (struct dd_conn_record, abi.h), read with the layout the
 * addon exports: connection sync without a JavaScript object per connection (src/ha/sync-records.ts). */
export interface SyncRecordIO {
  readonly layout: Pick<NativeLayout, 'conn' | 'states'>;
  /** At most max records queued since the last drain, oldest first (fewer: the queue is empty). */
  drainSyncRecords(max: number): Buffer;
  /** As applySyncUpdates: how many were applied. */
  applySyncRecords(records: Buffer): number;
}

export interface DataPlane {
  readonly backend: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Replace the whole policy table. Dests are matched by (address, port): their connections and counters survive. */
  setServices(services: ServiceSpec[]): void;
  setTimeouts(t: Timeouts): void;
  /** Only the active director forwards; a standby keeps its (synced) table warm. */
  setForwarding(enabled: boolean): void;
  stats(): DataPlaneStats;
  connections(limit?: number): ConnEntry[];
  /**
   * The whole table as one snapshot decoded a slice at a time (a table transfer to the peer): decoding a large
   * table at once would block the event loop for seconds, heartbeats included. Without it, connections() is used.
   */
  connectionSnapshot?(): ConnSnapshot;
  /** Changes since the last call (new connections, state changes, templates), for HA connection sync; at most max
   * when given (the rest stays queued for the next call). */
  drainSyncUpdates(max?: number): ConnEntry[];
  /** The same changes as raw records (native backends); the sync channel prefers it. */
  readonly syncRecords?: SyncRecordIO;
  /** Apply records received from the peer director (entries are created or refreshed, never scheduled anew). */
  /** Returns how many were applied when the data plane knows (an entry whose service or real server is absent is not). */
  applySyncUpdates(entries: ConnEntry[]): number | void;
}
