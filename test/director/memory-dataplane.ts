// A recording DataPlane for director/control unit tests: keeps the last policy table and lets a test set counters.
import type { ConnEntry, DataPlane, DataPlaneStats, DestCounters, ServiceSpec, Timeouts } from '../../src/dataplane/types';

export class MemoryDataPlane implements DataPlane {
  readonly backend = 'memory';
  services: ServiceSpec[] = [];
  timeouts?: Timeouts;
  forwarding = false;
  started = false;
  conns: ConnEntry[] = [];
  /** Counters per "vip:port>address:port". */
  counters = new Map<string, Partial<DestCounters>>();
  setServicesCalls = 0;

  async start(): Promise<void> {
    this.started = true;
  }
  async stop(): Promise<void> {
    this.started = false;
  }
  setServices(s: ServiceSpec[]): void {
    this.services = structuredClone(s);
    this.setServicesCalls++;
  }
  setTimeouts(t: Timeouts): void {
    this.timeouts = t;
  }
  setForwarding(on: boolean): void {
    this.forwarding = on;
  }
  stats(): DataPlaneStats {
    return {
      rxFrames: 0, txFrames: 0, loopWakeups: 7, evictions: 2, icmpRelayed: 3, icmpUnreachSent: 4, icmpUnreachLimited: 5, fragments: 6, lockContended: 8, lockWaitNs: 2_500_000_000, drops: { no_dest: 1 },
      services: this.services.map((s) => {
        const dests = s.dests.map((d) => {
          const c = this.counters.get(`${s.vip}:${s.port}>${d.address}:${d.port}`) ?? {};
          return { address: d.address, port: d.port, weight: d.weight, activeConns: 0, inactConns: 0, persistConns: 0, conns: 0, inPkts: 0, inBytes: 0, ...c };
        });
        return {
          vip: s.vip, port: s.port, protocol: s.protocol, dests,
          conns: dests.reduce((a, d) => a + d.conns, 0), inPkts: dests.reduce((a, d) => a + d.inPkts, 0), inBytes: dests.reduce((a, d) => a + d.inBytes, 0),
        };
      }),
    };
  }
  connections(limit = 1000): ConnEntry[] {
    return this.conns.slice(0, limit);
  }
  drainSyncUpdates(): ConnEntry[] {
    return [];
  }
  applySyncUpdates(): void {}
}
