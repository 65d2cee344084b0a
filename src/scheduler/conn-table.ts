// ConnTableModel: the reference IPVS data path for a DR director as a pure, table-driven function of
// (policy table, packet summary, time in ms) → decision. No sockets, no timers: expiry runs on the given clock.
import type { Protocol } from '../config/schema';
import type { ConnEntry, PacketSummary, ServiceCounters, Timeouts } from '../table/types';
import { DirectordError } from '../errors';
import { ipToU32, u32ToIp } from './addr';
import { checkOverloadAfterBind, checkOverloadAfterUnbind } from './dest';
import { TimerHeap } from './heap';
import { type ModelDest, type ModelServiceSpec, type Service, ServiceTable } from './services';
import {
  ACTIVE_STATES_CURRENT, ACTIVE_STATES_LEGACY, type ConnState, type TcpFlags, type TcpState,
  TEMPLATE_RETRY_MS, nextTcpState, timeoutTableMs,
} from './tcp-states';

export type { PacketSummary };

export type Verdict = 'forward' | 'drop' | 'pass' | 'no_dest';
/** pass: no_service, no_conn (TCP non-SYN without a connection: goes to the local stack as in ip_vs_in).
 *  drop: dest_unavailable (connection to a removed dest, expire_nodest_conn off), table_full (no free entry and,
 *  for a TCP SYN, no embryonic entry to evict).
 *  no_dest: the scheduler found nobody (IPVS answers ICMP port unreachable and drops).
 *  drop dest_closed: a TCP segment of a connection whose dest closes its connections (DestSpec.closeConns): the
 *  entry is deleted and the native data plane answers the client with a RST. */
export type DecisionReason = 'no_service' | 'no_conn' | 'dest_unavailable' | 'dest_closed' | 'no_dest' | 'port_mismatch' | 'table_full';

export interface Decision {
  verdict: Verdict;
  reason?: DecisionReason;
  dest?: { address: string; port: number };
  state?: ConnState;
  newConn: boolean;
  templateCreated: boolean;
}

export interface ModelOptions {
  /** ipvsadm --set tcp tcpfin udp, seconds; 0 keeps the default. */
  timeouts?: Partial<Timeouts>;
  /** 'current' (>= 4.7: ESTABLISHED SYN_SENT SYN_RECV SYNACK) or 'legacy' (ESTABLISHED only). */
  activeStates?: 'current' | 'legacy';
  /** Treat dests without a MAC as unusable (never chosen), as the data plane does. Default false. */
  requireMac?: boolean;
  /** Entries the table holds (the native table's size); default unbounded. When full, a new TCP connection evicts
   *  the oldest connection that never reached ESTABLISHED (docs/dataplane.md); otherwise it is refused. */
  capacity?: number;
}

type KeyProto = Protocol | 'ip';

interface Conn {
  id: number;
  template: boolean;
  proto: KeyProto;
  pktProto: Protocol;
  caddr: number;
  cport: number;
  vaddr: number;
  vport: number;
  dport: number;
  fwmark: number;
  dest: ModelDest;
  state: ConnState | 'ASSURED';
  inactive: boolean;
  timeoutMs: number;
  expiresAt: number;
  control: Conn | null;
  nControl: number;
  dead: boolean;
  timerSeq: number;
  timerT: number;
}

const FTP_PORT = 21;
const INVALID_PORT = 0xffff;

function validPort(p: number): boolean {
  return Number.isInteger(p) && p >= 0 && p <= 65535;
}

function badPacket(message: string, details: Record<string, unknown>): DirectordError {
  return new DirectordError('E_SCHED_BAD_PACKET', message, { details });
}

export class ConnTableModel {
  private readonly table = new ServiceTable();
  private readonly conns = new Map<string, Map<number, Conn>>();
  private readonly templates = new Map<string, Map<number, Conn>>();
  private readonly timers = new TimerHeap<Conn>();
  private timeouts: Record<ConnState, number>;
  private readonly active: ReadonlySet<TcpState>;
  private nextId = 1;
  private live = 0;
  private lastNow = 0;
  private readonly capacity: number;
  /** TCP connections that never reached ESTABLISHED, oldest first (Map keeps insertion order). */
  private readonly embryos = new Map<number, Conn>();
  /** Embryonic entries evicted for a new connection (the native evictions counter). */
  evictions = 0;

  constructor(opts: ModelOptions = {}) {
    this.timeouts = timeoutTableMs(opts.timeouts);
    this.active = opts.activeStates === 'legacy' ? ACTIVE_STATES_LEGACY : ACTIVE_STATES_CURRENT;
    this.table.requireMac = opts.requireMac ?? false;
    this.capacity = opts.capacity ?? Infinity;
  }

  /** Same semantics as DataPlane.setServices: dests matched by address:port keep counters and connections. */
  setServices(services: readonly ModelServiceSpec[]): void {
    this.table.set(services);
  }

  /** ipvsadm --set: 0 keeps the current value (as IPVS and the native table); applies from each connection's next packet. */
  setTimeouts(t: Partial<Timeouts>): void {
    this.timeouts = timeoutTableMs(t, this.timeouts);
  }

  /** One client→VIP packet at time nowMs: every timer due by then fires first. */
  process(pkt: PacketSummary, nowMs: number): Decision {
    this.expire(nowMs);
    const saddr = ipToU32(pkt.saddr), daddr = ipToU32(pkt.daddr);
    if (!validPort(pkt.sport) || !validPort(pkt.dport)) {
      const port = validPort(pkt.sport) ? pkt.dport : pkt.sport;
      throw badPacket(`port ${port} is not 0..65535`, { port });
    }
    if (pkt.protocol !== 'tcp' && pkt.protocol !== 'udp') throw badPacket(`protocol '${String(pkt.protocol)}' is not tcp or udp`, {});
    const flags: TcpFlags = { syn: !!pkt.flags?.syn, ack: !!pkt.flags?.ack, fin: !!pkt.flags?.fin, rst: !!pkt.flags?.rst };
    const tcp = pkt.protocol === 'tcp';
    const svc = this.table.lookup(pkt.protocol, daddr, pkt.dport, pkt.fwmark);
    const vkey = `${pkt.protocol}:${daddr}:${pkt.dport}`;
    const ckey = saddr * 65536 + pkt.sport;
    let cp = this.conns.get(vkey)?.get(ckey) ?? null;

    // conn_reuse_mode 1: a SYN for a finished (or, with expire_nodest_conn, quiesced) connection is scheduled anew.
    // Beyond IPVS, a SYN on any entry to a failed dest (templates invalid: down, or a writer-mode standby), as
    // expire_nodest_conn does for weight 0: the director never sees the server's RST or FIN, so a reused client port
    // would otherwise open a new connection on that dest.
    if (cp && tcp && flags.syn) {
      const nodestResched = this.expireNodest(cp, svc) && cp.dest.weight === 0;
      const reuse = !cp.control && (cp.state === 'TIME_WAIT' || cp.state === 'CLOSE');
      if (nodestResched || reuse || cp.dest.closeConns || cp.dest.failed === true) {
        if (cp.nControl === 0) this.fire(cp, nowMs);
        cp = null;
      }
    }
    if (cp && !cp.dest.available) {
      if (!this.expireNodest(cp, svc)) return { verdict: 'drop', reason: 'dest_unavailable', newConn: false, templateCreated: false };
      this.fire(cp, nowMs);
      cp = null;
    }
    // A dest that closes its connections (writer_demote = close): the entry goes at the client's next packet, as
    // with expire_nodest_conn; TCP's is answered with a RST (by the data plane), UDP's scheduled anew.
    if (cp && cp.dest.closeConns) {
      this.fire(cp, nowMs);
      if (tcp) return { verdict: 'drop', reason: 'dest_closed', newConn: false, templateCreated: false };
      cp = null;
    }
    let newConn = false, templateCreated = false;
    if (!cp) {
      if (!svc) return { verdict: 'pass', reason: 'no_service', newConn, templateCreated };
      if (tcp && (!flags.syn || flags.rst)) return { verdict: 'pass', reason: 'no_conn', newConn, templateCreated };
      const r = svc.spec.persistent > 0
        ? this.schedulePersistent(svc, pkt, saddr, daddr, nowMs)
        : this.scheduleOne(svc, pkt, saddr, daddr, nowMs);
      if (!r.conn && r.reason === 'table_full') return { verdict: 'drop', reason: r.reason, newConn, templateCreated: false };
      if (!r.conn) return { verdict: 'no_dest', reason: r.reason, newConn, templateCreated: false };
      cp = r.conn;
      newConn = true;
      templateCreated = r.templateCreated;
    }
    const dest = cp.dest;
    if (dest.available) {
      dest.inPkts++;
      dest.inBytes += pkt.len;
      const owner = this.table.services.get(dest.svcKey);
      if (owner) { owner.inPkts++; owner.inBytes += pkt.len; }
    }
    if (tcp) this.tcpTransition(cp, flags);
    else cp.timeoutMs = this.timeouts.UDP;
    cp.expiresAt = nowMs + cp.timeoutMs;
    this.arm(cp);
    return { verdict: 'forward', dest: { address: dest.address, port: cp.dport }, state: cp.state as ConnState, newConn, templateCreated };
  }

  /** expire_nodest_conn is a sysctl in IPVS; here it is per service: the connection's own service decides. */
  private expireNodest(cp: Conn, svc: Service | undefined): boolean {
    return (this.table.services.get(cp.dest.svcKey) ?? svc)?.spec.expireNodestConn ?? false;
  }

  private scheduleOne(svc: Service, pkt: PacketSummary, saddr: number, daddr: number, now: number): { conn: Conn | null; reason?: DecisionReason; templateCreated: boolean } {
    if (!svc.fwmark && pkt.dport !== svc.port) return { conn: null, reason: 'port_mismatch', templateCreated: false };
    const dest = svc.sched.schedule(svc.list, saddr, pkt.sport) as ModelDest | null;
    if (!dest) return { conn: null, reason: 'no_dest', templateCreated: false };
    const conn = this.newConn(pkt.protocol, pkt.protocol, saddr, pkt.sport, daddr, pkt.dport, dest.port || pkt.dport, dest, false, 0, now);
    if (!conn) return { conn: null, reason: 'table_full', templateCreated: false };
    dest.conns++;
    svc.conns++;
    return { conn, templateCreated: false };
  }

  /** ip_vs_sched_persist: reuse the client network's template or schedule and create one. */
  private schedulePersistent(svc: Service, pkt: PacketSummary, saddr: number, daddr: number, now: number): { conn: Conn | null; reason?: DecisionReason; templateCreated: boolean } {
    const snet = (saddr & svc.pmask) >>> 0;
    let proto: KeyProto = pkt.protocol, vaddr = daddr, vport = 0;
    if (pkt.dport === svc.port) {
      if (svc.port !== FTP_PORT) vport = pkt.dport;
    } else if (svc.fwmark) {
      proto = 'ip';
      vaddr = svc.fwmark;
    }
    const tkey = `${proto}:${vaddr}:${vport}`;
    let ct = this.templates.get(tkey)?.get(snet * 65536) ?? null;
    let templateCreated = false;
    if (ct && !this.templateValid(ct, svc)) {
      this.invalidate(ct);
      ct = null;
    }
    if (!ct) {
      const dest = svc.sched.schedule(svc.list, saddr, pkt.sport) as ModelDest | null;
      if (!dest) return { conn: null, reason: 'no_dest', templateCreated };
      const tport = pkt.dport === svc.port && svc.port !== FTP_PORT ? dest.port : 0;
      ct = this.newConn(proto, pkt.protocol, snet, 0, vaddr, vport, tport, dest, true, svc.fwmark, now);
      if (!ct) return { conn: null, reason: 'table_full', templateCreated };
      ct.timeoutMs = svc.spec.persistent * 1000;
      templateCreated = true;
    }
    const dest = ct.dest;
    const dport = pkt.dport === svc.port && dest.port ? dest.port : pkt.dport;
    const conn = this.newConn(pkt.protocol, pkt.protocol, saddr, pkt.sport, daddr, pkt.dport, dport, dest, false, 0, now);
    // The template stays (with its provisional 3 s) when its first connection finds no room, as in the data plane.
    if (!conn) return { conn: null, reason: 'table_full', templateCreated };
    conn.control = ct;
    ct.nControl++;
    ct.expiresAt = now + ct.timeoutMs;
    this.arm(ct);
    dest.conns++;
    svc.conns++;
    return { conn, templateCreated };
  }

  /** ip_vs_check_template: the dest must be in the service (and not quiesced, with expire_quiescent_template).
   *  Beyond IPVS, not down by its health check either (DestSpec.failed); checked when the client comes back. */
  private templateValid(ct: Conn, svc: Service): boolean {
    return ct.dest.available && !ct.dest.failed && !(svc.spec.expireQuiescentTemplate && ct.dest.weight === 0);
  }

  /** The invalidated template leaves the lookup table (ports 0xffff) and ages out without re-arming. */
  private invalidate(ct: Conn): void {
    const m = this.templates.get(`${ct.proto}:${ct.vaddr}:${ct.vport}`);
    if (m?.get(ct.caddr * 65536) === ct) m.delete(ct.caddr * 65536);
    ct.vport = INVALID_PORT;
    ct.dport = INVALID_PORT;
    ct.cport = 0;
  }

  /** null when the table is full: a TCP SYN first evicts the oldest embryonic connection (never a template, never
   *  one that reached ESTABLISHED). The entry starts with ip_vs_conn_new's provisional 3 s timer. */
  private newConn(proto: KeyProto, pktProto: Protocol, caddr: number, cport: number, vaddr: number, vport: number, dport: number, dest: ModelDest, template: boolean, fwmark: number, now: number): Conn | null {
    if (this.live >= this.capacity) {
      const oldest = pktProto === 'tcp' ? this.embryos.values().next().value : undefined;
      if (!oldest) return null;
      this.fire(oldest, now);
      this.evictions++;
    }
    const c: Conn = {
      id: this.nextId++, template, proto, pktProto, caddr, cport, vaddr, vport, dport, fwmark, dest,
      state: pktProto === 'udp' && !template ? 'UDP' : 'NONE', inactive: true, timeoutMs: 3000, expiresAt: now + 3000,
      control: null, nControl: 0, dead: false, timerSeq: 0, timerT: -1,
    };
    this.arm(c);
    if (pktProto === 'tcp' && !template) this.embryos.set(c.id, c);
    const maps = template ? this.templates : this.conns;
    const vkey = `${proto}:${vaddr}:${vport}`;
    let m = maps.get(vkey);
    if (!m) { m = new Map(); maps.set(vkey, m); }
    m.set(caddr * 65536 + cport, c);
    // ip_vs_bind_dest: templates count in persistconns, connections start inactive (IP_VS_CONN_F_INACTIVE).
    this.live++;
    if (template) dest.persistConns++;
    else dest.inactConns++;
    dest.refs++;
    checkOverloadAfterBind(dest);
    return c;
  }

  /** set_tcp_state: the input-only row, counters moved when the active/inactive boundary is crossed. */
  private tcpTransition(c: Conn, flags: TcpFlags): void {
    const from = c.state as TcpState;
    const to = nextTcpState(from, flags);
    if (to !== from) {
      const d = c.dest;
      const nowActive = this.active.has(to);
      if (!c.inactive && !nowActive) { d.activeConns--; d.inactConns++; c.inactive = true; }
      else if (c.inactive && nowActive) { d.activeConns++; d.inactConns--; c.inactive = false; }
      if (to === 'ESTABLISHED') this.embryos.delete(c.id);
      if (to === 'ESTABLISHED' && c.control && c.control.template) c.control.state = 'ASSURED';
    }
    c.state = to;
    c.timeoutMs = this.timeouts[to];
  }

  /** Timers only move later lazily: an entry is re-pushed when it surfaces early, or pushed anew when earlier. */
  private arm(c: Conn): void {
    if (c.timerT !== -1 && c.timerT <= c.expiresAt) return;
    c.timerSeq++;
    c.timerT = c.expiresAt;
    this.timers.push({ t: c.expiresAt, id: c.id, seq: c.timerSeq, item: c });
  }

  /** Fire every timer due by nowMs, in (expiry time, creation order). */
  expire(nowMs: number): void {
    if (nowMs > this.lastNow) this.lastNow = nowMs;
    for (;;) {
      const top = this.timers.peek();
      if (!top || top.t > nowMs) return;
      this.timers.pop();
      const c = top.item;
      if (c.dead || top.seq !== c.timerSeq) continue;
      c.timerT = -1;
      if (c.expiresAt > top.t) { this.arm(c); continue; }
      this.fire(c, top.t);
    }
  }

  /** ip_vs_conn_expire at time `at`: a template still controlling connections is re-armed with 60 s. */
  private fire(c: Conn, at: number): void {
    if (c.nControl > 0) {
      c.timeoutMs = TEMPLATE_RETRY_MS;
      c.expiresAt = at + TEMPLATE_RETRY_MS;
      c.timerT = -1;
      this.arm(c);
      return;
    }
    c.dead = true;
    this.live--;
    this.embryos.delete(c.id);
    const maps = c.template ? this.templates : this.conns;
    const m = maps.get(`${c.proto}:${c.vaddr}:${c.vport}`);
    const k = c.caddr * 65536 + c.cport;
    if (m?.get(k) === c) m.delete(k);
    if (c.control) { c.control.nControl--; c.control = null; }
    const d = c.dest;
    if (c.template) d.persistConns--;
    else if (c.inactive) d.inactConns--;
    else d.activeConns--;
    checkOverloadAfterUnbind(d);
    d.refs--;
    this.table.release(d);
  }

  /** Per-service counters in the shape of DataPlaneStats.services (dests in list order; trashed ones not shown). */
  stats(): ServiceCounters[] {
    return [...this.table.services.values()].map((s) => ({
      vip: s.spec.vip, port: s.port, protocol: s.protocol, conns: s.conns, inPkts: s.inPkts, inBytes: s.inBytes,
      dests: s.list.map((d) => ({
        address: d.address, port: d.port, weight: d.weight, activeConns: d.activeConns, inactConns: d.inactConns,
        persistConns: d.persistConns, conns: d.conns, inPkts: d.inPkts, inBytes: d.inBytes,
        ...(d.unavailableReason ? { unavailableReason: d.unavailableReason } : {}),
      })),
    }));
  }

  /** Removed dests still referenced by connections (the IPVS trash), with their counters. */
  trashedDests(): { service: string; address: string; port: number; activeConns: number; inactConns: number; persistConns: number }[] {
    return [...this.table.dests.values()].filter((d) => !d.available).map((d) => ({
      service: d.svcKey, address: d.address, port: d.port, activeConns: d.activeConns, inactConns: d.inactConns, persistConns: d.persistConns,
    }));
  }

  /** The table at time nowMs (due timers fire first): every connection and template, invalidated ones included,
   *  oldest first; expiresMs relative to nowMs. */
  connections(nowMs = this.lastNow, limit = Infinity): ConnEntry[] {
    this.expire(nowMs);
    const live = this.timers.entries().filter((e) => !e.item.dead && e.seq === e.item.timerSeq).map((e) => e.item);
    live.sort((a, b) => a.id - b.id);
    return live.slice(0, limit).map((c) => ({
      protocol: c.pktProto, caddr: u32ToIp(c.caddr), cport: c.cport, vaddr: u32ToIp(c.vaddr), vport: c.vport,
      daddr: c.dest.address, dport: c.dport, state: c.state, expiresMs: Math.max(0, c.expiresAt - nowMs), template: c.template,
      ...(c.proto === 'ip' ? { fwmark: c.fwmark } : {}),
    }));
  }

  /** Number of live entries (connections + templates, invalidated templates included). */
  get size(): number {
    return this.live;
  }
}
