// The table vocabulary every layer shares: the policy table (services, dests, timeouts), its counters, connection
// entries and packet summaries. Pure types on the ground floor: scheduler/ and dataplane/ both build on them.
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
  /** Its connections end (writer mode, writer_demote = close): at the client's next packet the entry is deleted,
   * a TCP one answered with a RST from the VIP (drops.dest_closed), a UDP one scheduled anew. */
  closeConns?: boolean;
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
  expiresMs: number;        // remaining lifetime (in drainSyncUpdates records: a template's full timeout; 0 for a connection, the receiver's own for its state)
  template: boolean;
  /** fwmark templates only: the mark (shown by ipvsadm as protocol IP, virtual 0.0.0.<mark>). */
  fwmark?: number;
}

/** TCP header flags as the connection model reads them. */
export interface TcpFlags {
  syn: boolean;
  ack: boolean;
  fin: boolean;
  rst: boolean;
}

/** One client→VIP packet as the tables see it (the reference model and the native table's test entry). */
export interface PacketSummary {
  protocol: Protocol;
  saddr: string;
  sport: number;
  daddr: string;
  dport: number;
  flags?: Partial<TcpFlags>;
  /** IP total length, counted into InBytes. */
  len: number;
  /** Firewall mark, for fwmark services. */
  fwmark?: number;
}
