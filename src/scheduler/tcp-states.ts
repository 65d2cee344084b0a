// IPVS connection states, the DR (input-only) TCP transition table, default timeouts and active-state sets, as data
// (ip_vs_proto_tcp.c tcp_states[] INPUT-ONLY rows, tcp_timeouts[], tcp_state_active_table; ip_vs_proto_udp.c).
// The native data plane is generated from / checked against these exports.
import type { TcpFlags } from '../table/types';

/** TCP states in kernel enum order (IP_VS_TCP_S_*): the index is the state number. */
export const TCP_STATES = [
  'NONE', 'ESTABLISHED', 'SYN_SENT', 'SYN_RECV', 'FIN_WAIT', 'TIME_WAIT',
  'CLOSE', 'CLOSE_WAIT', 'LAST_ACK', 'LISTEN', 'SYNACK',
] as const;
export type TcpState = (typeof TCP_STATES)[number];
export const UDP_STATE = 'UDP';
export type ConnState = TcpState | typeof UDP_STATE;

/** Flag events in the kernel's row order; tcp_state_idx() priority is rst > syn > fin > ack. */
export const TCP_EVENTS = ['syn', 'fin', 'ack', 'rst'] as const;
export type TcpEvent = (typeof TCP_EVENTS)[number];

export type { TcpFlags };

/** TCP header flag bits (FIN 1, SYN 2, RST 4, ACK 16), as the native table takes them. */
export const TCP_FLAG_BITS = { fin: 0x01, syn: 0x02, rst: 0x04, ack: 0x10 } as const;

export function tcpFlagByte(f: Partial<TcpFlags> | undefined): number {
  return (f?.fin ? 0x01 : 0) | (f?.syn ? 0x02 : 0) | (f?.rst ? 0x04 : 0) | (f?.ack ? 0x10 : 0);
}

export function tcpFlagsOf(byte: number): TcpFlags {
  return { fin: !!(byte & 0x01), syn: !!(byte & 0x02), rst: !!(byte & 0x04), ack: !!(byte & 0x10) };
}

/** tcp_state_idx(): which row a segment uses, or null when no flag is set (the kernel then moves to CLOSE). */
export function tcpEvent(f: TcpFlags): TcpEvent | null {
  if (f.rst) return 'rst';
  if (f.syn) return 'syn';
  if (f.fin) return 'fin';
  if (f.ack) return 'ack';
  return null;
}

/** INPUT-ONLY table: next state = DR_INPUT_ONLY_TABLE[event][from]. Used because DR dests get IP_VS_CONN_F_NOOUTPUT. */
export const DR_INPUT_ONLY_TABLE: Readonly<Record<TcpEvent, Readonly<Record<TcpState, TcpState>>>> = {
  syn: {
    NONE: 'SYN_RECV', ESTABLISHED: 'ESTABLISHED', SYN_SENT: 'ESTABLISHED', SYN_RECV: 'SYN_RECV', FIN_WAIT: 'SYN_RECV',
    TIME_WAIT: 'SYN_RECV', CLOSE: 'SYN_RECV', CLOSE_WAIT: 'SYN_RECV', LAST_ACK: 'SYN_RECV', LISTEN: 'SYN_RECV', SYNACK: 'SYN_RECV',
  },
  fin: {
    NONE: 'CLOSE', ESTABLISHED: 'FIN_WAIT', SYN_SENT: 'SYN_SENT', SYN_RECV: 'TIME_WAIT', FIN_WAIT: 'FIN_WAIT',
    TIME_WAIT: 'TIME_WAIT', CLOSE: 'CLOSE', CLOSE_WAIT: 'CLOSE_WAIT', LAST_ACK: 'LAST_ACK', LISTEN: 'LISTEN', SYNACK: 'TIME_WAIT',
  },
  ack: {
    NONE: 'ESTABLISHED', ESTABLISHED: 'ESTABLISHED', SYN_SENT: 'SYN_SENT', SYN_RECV: 'ESTABLISHED', FIN_WAIT: 'FIN_WAIT',
    TIME_WAIT: 'TIME_WAIT', CLOSE: 'CLOSE', CLOSE_WAIT: 'CLOSE_WAIT', LAST_ACK: 'CLOSE', LISTEN: 'LISTEN', SYNACK: 'ESTABLISHED',
  },
  rst: {
    NONE: 'CLOSE', ESTABLISHED: 'CLOSE', SYN_SENT: 'CLOSE', SYN_RECV: 'SYN_RECV', FIN_WAIT: 'CLOSE',
    TIME_WAIT: 'CLOSE', CLOSE: 'CLOSE', CLOSE_WAIT: 'CLOSE', LAST_ACK: 'LAST_ACK', LISTEN: 'LISTEN', SYNACK: 'CLOSE',
  },
};

/** Next state for a segment seen by a DR director (set_tcp_state with the INPUT_ONLY offset). */
export function nextTcpState(from: TcpState, flags: TcpFlags): TcpState {
  const ev = tcpEvent(flags);
  return ev === null ? 'CLOSE' : DR_INPUT_ONLY_TABLE[ev][from];
}

/** Default timeouts in seconds (tcp_timeouts[], udp_timeouts[]). */
export const DEFAULT_TIMEOUTS_S: Readonly<Record<ConnState, number>> = {
  NONE: 2, ESTABLISHED: 900, SYN_SENT: 120, SYN_RECV: 60, FIN_WAIT: 120, TIME_WAIT: 120,
  CLOSE: 10, CLOSE_WAIT: 60, LAST_ACK: 30, LISTEN: 120, SYNACK: 120, UDP: 300,
};

/** What a template gets after it fires while still controlling connections (expire_later in ip_vs_conn.c). */
export const TEMPLATE_RETRY_MS = 60_000;

/** Current kernels (>= 4.7, "ipvs: count pre-established TCP states as active"). */
export const ACTIVE_STATES_CURRENT: ReadonlySet<TcpState> = new Set<TcpState>(['ESTABLISHED', 'SYN_SENT', 'SYN_RECV', 'SYNACK']);
/** Older kernels: only ESTABLISHED counted in ActiveConn. */
export const ACTIVE_STATES_LEGACY: ReadonlySet<TcpState> = new Set<TcpState>(['ESTABLISHED']);

export interface TimeoutOverrides {
  tcp: number;    // ESTABLISHED seconds, 0 = keep default
  tcpfin: number; // FIN_WAIT seconds, 0 = keep default
  udp: number;    // UDP seconds, 0 = keep default
}

/**
 * Per-state timeouts in ms after `ipvsadm --set tcp tcpfin udp` semantics: a 0 (or absent) value keeps the
 * current one, i.e. `current`'s (the IPVS defaults when there is none yet).
 */
export function timeoutTableMs(o: Partial<TimeoutOverrides> = {}, current?: Readonly<Record<ConnState, number>>): Record<ConnState, number> {
  const out = {} as Record<ConnState, number>;
  for (const [s, v] of Object.entries(DEFAULT_TIMEOUTS_S)) out[s as ConnState] = current ? current[s as ConnState] : v * 1000;
  if (o.tcp) out.ESTABLISHED = o.tcp * 1000;
  if (o.tcpfin) out.FIN_WAIT = o.tcpfin * 1000;
  if (o.udp) out.UDP = o.udp * 1000;
  return out;
}
