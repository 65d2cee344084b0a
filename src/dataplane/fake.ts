// The one DataPlane without sockets or native code, for unit tests of the rest of the daemon: the scheduler's reference
// model (ConnTableModel) takes the decisions; tests feed it client→VIP packets with inject(), or set what they read.
import type { Logger } from '../log';
import { ConnTableModel, type Decision, type PacketSummary } from '../scheduler';
import type { ConnEntry, DataPlane, DataPlaneStats, DestCounters, ServiceSpec, Timeouts } from './types';

export interface FakeOptions {
  logger?: Logger;
  /** Test clock in ms (default Date.now). */
  clock?: () => number;
  /** Forwarding at creation (default on; the native backends start off, as a standby director). */
  forwarding?: boolean;
}

export type { PacketSummary as FakePacket } from '../scheduler';

const connId = (c: { protocol: string; caddr: string; cport: number; vaddr: string; vport: number; template: boolean }): string =>
  `${c.template ? 'T' : 'C'}|${c.protocol}|${c.caddr}:${c.cport}|${c.vaddr}:${c.vport}`;

export class FakeDataPlane implements DataPlane {
  readonly backend = 'fake';
  readonly model = new ConnTableModel({ requireMac: false });
  started = false;
  forwarding = true;
  services: ServiceSpec[] = [];
  timeouts?: Timeouts;
  readonly drops: Record<string, number> = {};
  rxFrames = 0;
  txFrames = 0;
  /** Tables pushed so far (a test checks that a no-op reload pushes none). */
  setServicesCalls = 0;
  /** Counters a test sets per "vip:port>address:port", laid over the model's in stats(). */
  readonly counters = new Map<string, Partial<DestCounters>>();
  /** The native backends' extra figures (loopWakeups, icmpRelayed…) a test wants stats() to report. */
  extraStats: Partial<Omit<DataPlaneStats, 'services'>> = {};
  /** Entries received from the peer (applySyncUpdates) or recorded, by connection. */
  readonly synced = new Map<string, ConnEntry>();
  private readonly clock: () => number;
  private readonly touched = new Set<string>();
  private recorded: ConnEntry[] = [];

  constructor(opts: FakeOptions = {}) {
    this.clock = opts.clock ?? (() => Date.now());
    this.forwarding = opts.forwarding ?? true;
  }

  async start(): Promise<void> {
    this.started = true;
  }

  async stop(): Promise<void> {
    this.started = false;
  }

  setServices(services: ServiceSpec[]): void {
    this.model.setServices(services);
    this.services = services.map((s) => ({ ...s, dests: s.dests.map((d) => ({ ...d })) }));
    this.setServicesCalls++;
  }

  setTimeouts(t: Timeouts): void {
    this.timeouts = { ...t };
    this.model.setTimeouts(t);
  }

  setForwarding(enabled: boolean): void {
    this.forwarding = enabled;
  }

  /** One client→VIP packet through the reference model, as the packet loop would handle it. */
  inject(p: PacketSummary): Decision {
    this.rxFrames++;
    if (!this.forwarding) {
      this.drops.not_active = (this.drops.not_active ?? 0) + 1;
      return { verdict: 'drop', newConn: false, templateCreated: false };
    }
    const d = this.model.process(p, this.clock());
    if (d.verdict === 'forward') {
      this.txFrames++;
      this.touched.add(connId({ protocol: p.protocol, caddr: p.saddr, cport: p.sport, vaddr: p.daddr, vport: p.dport, template: false }));
      if (d.templateCreated) this.touched.add('template');
    } else {
      const reason = d.reason ?? d.verdict;
      this.drops[reason] = (this.drops[reason] ?? 0) + 1;
    }
    return d;
  }

  stats(): DataPlaneStats {
    const services = this.model.stats().map((s) => {
      const dests = s.dests.map((d) => ({ ...d, ...this.counters.get(`${s.vip}:${s.port}>${d.address}:${d.port}`) }));
      if (!this.counters.size) return s;
      const sum = (k: 'conns' | 'inPkts' | 'inBytes'): number => dests.reduce((a, d) => a + d[k], 0);
      return { ...s, dests, conns: sum('conns'), inPkts: sum('inPkts'), inBytes: sum('inBytes') };
    });
    return { rxFrames: this.rxFrames, txFrames: this.txFrames, ...this.extraStats, services, drops: { ...this.drops, ...this.extraStats.drops } };
  }

  /** The model's entries, then synced entries it does not hold (the model has no insert; they are listed as-is). */
  connections(limit = Infinity): ConnEntry[] {
    this.model.expire(this.clock());
    const own = this.model.connections(this.clock());
    const ids = new Set(own.map(connId));
    return [...own, ...[...this.synced.values()].filter((e) => !ids.has(connId(e)))].slice(0, limit);
  }

  /** Entries of connections that saw packets (and templates created) since the last drain. */
  drainSyncUpdates(max = Infinity): ConnEntry[] {
    const out = this.recorded;
    this.recorded = [];
    if (this.touched.size) {
      const all = this.model.connections(this.clock());
      out.push(...all.filter((c) => this.touched.has(connId(c)) || (c.template && this.touched.has('template'))));
      this.touched.clear();
    }
    this.recorded = out.splice(max); // beyond max: queued for the next drain, in order
    return out;
  }

  /** A connection as the forwarding path would create or change it: listed, and queued for the sync sender. */
  record(e: ConnEntry): void {
    this.synced.set(connId(e), e);
    this.recorded.push(e);
  }

  applySyncUpdates(entries: ConnEntry[]): void {
    for (const e of entries) this.synced.set(connId(e), { ...e });
  }
}
