// A DataPlane without sockets or native code, for unit tests of the rest of the daemon: the scheduler's reference
// model (ConnTableModel) takes the decisions; tests feed it client→VIP packets with inject().
import type { Logger } from '../log';
import { ConnTableModel, type Decision, type PacketSummary } from '../scheduler';
import type { ConnEntry, DataPlane, DataPlaneStats, ServiceSpec, Timeouts } from './types';

export interface FakeOptions {
  logger?: Logger;
  /** Test clock in ms (default Date.now). */
  clock?: () => number;
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
  private readonly clock: () => number;
  private readonly touched = new Set<string>();
  private readonly synced = new Map<string, ConnEntry>();

  constructor(opts: FakeOptions = {}) {
    this.clock = opts.clock ?? (() => Date.now());
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
    return { services: this.model.stats(), drops: { ...this.drops }, rxFrames: this.rxFrames, txFrames: this.txFrames };
  }

  /** The model's entries, then synced entries it does not hold (the model has no insert; they are listed as-is). */
  connections(limit = Infinity): ConnEntry[] {
    this.model.expire(this.clock());
    const own = this.model.connections(this.clock());
    const ids = new Set(own.map(connId));
    return [...own, ...[...this.synced.values()].filter((e) => !ids.has(connId(e)))].slice(0, limit);
  }

  /** Entries of connections that saw packets (and templates created) since the last drain. */
  drainSyncUpdates(): ConnEntry[] {
    if (this.touched.size === 0) return [];
    const all = this.model.connections(this.clock());
    const out = all.filter((c) => this.touched.has(connId(c)) || (c.template && this.touched.has('template')));
    this.touched.clear();
    return out;
  }

  applySyncUpdates(entries: ConnEntry[]): void {
    for (const e of entries) this.synced.set(connId(e), { ...e });
  }
}
