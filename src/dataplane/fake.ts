// A DataPlane without sockets, for unit tests of the rest of the daemon: the same connection table and schedulers
// (the native table's test entries), driven by packet summaries the test injects with inject().
import type { Logger } from '../log';
import { NativeTable, type NativeBinding, type NativeDecision, type PacketSummary } from './native';
import { buildStats } from './stats';
import type { ConnEntry, DataPlane, DataPlaneStats, ServiceSpec, Timeouts } from './types';

export interface FakeOptions {
  connTableSize: number;
  logger: Logger;
  /** Test clock in ms (default: the native monotonic clock). */
  clock?: () => number;
  binding?: NativeBinding;
}

export class FakeDataPlane implements DataPlane {
  readonly backend = 'fake';
  readonly table: NativeTable;
  started = false;
  forwarding = true;
  services: ServiceSpec[] = [];
  timeouts?: Timeouts;
  private readonly clock: () => number;

  constructor(opts: FakeOptions) {
    this.table = new NativeTable(opts.connTableSize, opts.binding);
    this.clock = opts.clock ?? (() => this.table.nowMs());
  }

  async start(): Promise<void> {
    this.started = true;
  }

  async stop(): Promise<void> {
    this.started = false;
  }

  /** Dests without a MAC get a made-up one: the fake has no neighbour table. */
  setServices(services: ServiceSpec[]): void {
    this.services = services.map((s) => ({ ...s, dests: s.dests.map((d) => ({ ...d })) }));
    this.table.setServices(this.services.map((s) => ({ ...s, dests: s.dests.map((d) => ({ ...d, mac: d.mac ?? '02:00:00:00:00:01' })) })));
  }

  setTimeouts(t: Timeouts): void {
    this.timeouts = { ...t };
    this.table.setTimeouts(t);
  }

  setForwarding(enabled: boolean): void {
    this.forwarding = enabled;
    this.table.setForwarding(enabled);
  }

  /** Feed one client→VIP packet through the table, as the packet loop would. */
  inject(p: PacketSummary): NativeDecision {
    if (!this.forwarding) return { verdict: 'not_active', state: 'NONE', created: false };
    return this.table.processPacket(p, this.clock());
  }

  stats(): DataPlaneStats {
    return buildStats(this.services, this.table, () => undefined);
  }

  connections(limit?: number): ConnEntry[] {
    return this.table.connections(limit, this.clock());
  }

  drainSyncUpdates(): ConnEntry[] {
    return this.table.drainSync();
  }

  applySyncUpdates(entries: ConnEntry[]): void {
    this.table.applySync(entries, this.clock());
  }
}
