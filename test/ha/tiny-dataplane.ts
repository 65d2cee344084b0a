// A minimal in-memory DataPlane for HA tests (the shared fake may not exist yet): a connection table keyed by
// the 5-tuple, a sync-update queue, and the forwarding flag. No packets.
import type { ConnEntry, DataPlane, DataPlaneStats } from '../../src/dataplane/types';

function keyOf(e: ConnEntry): string {
  return `${e.protocol}|${e.caddr}|${e.cport}|${e.vaddr}|${e.vport}|${e.template}`;
}

export class TinyDataPlane implements DataPlane {
  readonly backend = 'tiny';
  forwarding = false;
  readonly table = new Map<string, ConnEntry>();
  private pending: ConnEntry[] = [];

  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  setServices(): void {}
  setTimeouts(): void {}
  setForwarding(enabled: boolean): void {
    this.forwarding = enabled;
  }
  stats(): DataPlaneStats {
    return { services: [], drops: {}, rxFrames: 0, txFrames: 0 };
  }
  connections(limit?: number): ConnEntry[] {
    return [...this.table.values()].slice(0, limit);
  }
  drainSyncUpdates(): ConnEntry[] {
    const out = this.pending;
    this.pending = [];
    return out;
  }
  applySyncUpdates(entries: ConnEntry[]): void {
    for (const e of entries) this.table.set(keyOf(e), { ...e });
  }
  /** What the forwarding path would do when it creates or changes a connection. */
  record(e: ConnEntry): void {
    this.table.set(keyOf(e), e);
    this.pending.push(e);
  }
}
