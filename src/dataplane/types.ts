// The contract between the control plane and any data-plane backend (native AF_PACKET, AF_XDP, the JS fake).
// The control plane writes tables and reads counters; it never handles packets (Katran's split).
import type { Protocol, SchedulerName } from '../config/schema';

export interface DestSpec {
  address: string;          // real server IPv4
  port: number;
  weight: number;           // current effective weight (0 = quiesced: no new connections)
  /** Resolved Ethernet address; a dest without one is never chosen (and says why in status). */
  mac?: string;
  /** Down by its health check (kept in the list at weight 0 by quiesce_server): persistence templates pointing
   * here are invalid, so a persistent client is scheduled afresh. An operator's weight 0 leaves it unset. */
  failed?: boolean;
}

export interface ServiceSpec {
  vip: string;
  port: number;
  protocol: Protocol;
  fwmark: number;
  scheduler: SchedulerName;
  persistent: number;       // seconds, 0 = off
  pmask: string;            // dotted quad, 255.255.255.255 when unset
  expireQuiescentTemplate: boolean;
  expireNodestConn: boolean;
  /** In IPVS list order: index 0 is the head (the most recently added dest). */
  dests: DestSpec[];
}

export interface Timeouts {
  tcp: number;              // ESTABLISHED, default 900
  tcpfin: number;           // FIN_WAIT, default 120
  udp: number;              // default 300
}

export interface DestCounters {
  address: string;
  port: number;
  weight: number;
  activeConns: number;
  inactConns: number;
  persistConns: number;
  conns: number;            // total scheduled
  inPkts: number;
  inBytes: number;
  /** Set when the data plane cannot use this dest (e.g. "no MAC address (failed)"); the dest is never chosen. */
  unavailableReason?: string;
}

export interface ServiceCounters {
  vip: string;
  port: number;
  protocol: Protocol;
  conns: number;
  inPkts: number;
  inBytes: number;
  dests: DestCounters[];
}

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

/** One row of `ipvsadm -lnc` / one conn-sync record. Templates have cport 0 and a masked caddr. */
export interface ConnEntry {
  protocol: Protocol;
  caddr: string;
  cport: number;
  vaddr: string;
  vport: number;
  daddr: string;
  dport: number;
  state: string;            // NONE ESTABLISHED SYN_SENT SYN_RECV FIN_WAIT TIME_WAIT CLOSE CLOSE_WAIT LAST_ACK LISTEN SYNACK UDP; templates: NONE or ASSURED
  expiresMs: number;        // remaining lifetime (in drainSyncUpdates records: the full timeout, just re-armed)
  template: boolean;
  /** fwmark templates only: the mark (shown by ipvsadm as protocol IP, virtual 0.0.0.<mark>). */
  fwmark?: number;
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
  /** Changes since the last call (new connections, state changes, templates), for HA connection sync. */
  drainSyncUpdates(): ConnEntry[];
  /** Apply records received from the peer director (entries are created or refreshed, never scheduled anew). */
  applySyncUpdates(entries: ConnEntry[]): void;
}
