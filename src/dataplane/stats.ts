// Turns the native table's counters into the DataPlaneStats shape (per service, per dest, drops by reason).
import type { NativeTable } from './native';
import type { NeighbourState } from './neighbours';
import type { DataPlaneStats, DestCounters, ServiceSpec } from './types';

export function buildStats(services: ServiceSpec[], table: NativeTable, neighbour: (addr: string) => NeighbourState | undefined): DataPlaneStats {
  const rows = table.destStats();
  const { counters, verdicts } = table.counters();
  const out: DataPlaneStats = {
    services: services.map((s) => ({ vip: s.vip, port: s.port, protocol: s.protocol, conns: 0, inPkts: 0, inBytes: 0, dests: [] })),
    drops: {},
    rxFrames: counters.rxFrames,
    txFrames: counters.txFrames,
    loopWakeups: counters.loopWakeups,
    evictions: counters.evictions,
    loopMaxUs: counters.loopMaxUs,
    icmpRelayed: counters.icmpRelayed,
    icmpUnreachSent: counters.icmpUnreachSent,
    icmpUnreachLimited: counters.icmpUnreachLimited,
    resetsSent: counters.resetsSent,
    fragments: counters.fragments,
    lockTaken: counters.lockTaken,
    lockContended: counters.lockContended,
    lockWaitNs: counters.lockWaitNs,
    lockHoldNs: counters.lockHoldNs,
    threadFrames: table.loopThreads(),
  };
  for (const r of rows) {
    const svc = out.services[r.serviceIndex];
    const spec = services[r.serviceIndex];
    if (!svc || !spec) continue;
    const d = spec.dests.find((x) => x.address === r.address && x.port === r.port);
    const n = d?.mac ? undefined : neighbour(r.address);
    const row: DestCounters = {
      address: r.address,
      port: r.port,
      weight: r.weight,
      activeConns: r.activeConns,
      inactConns: r.inactConns,
      persistConns: r.persistConns,
      conns: r.conns,
      inPkts: r.inPkts,
      inBytes: r.inBytes,
      ...(n && !n.mac ? { unavailableReason: `no MAC address (${n.reason ?? 'resolving'})` } : {}),
    };
    svc.dests.push(row);
    svc.conns += r.conns;
    svc.inPkts += r.inPkts;
    svc.inBytes += r.inBytes;
  }
  // Every reason, 0 included: directord_dataplane_drops_total has all its series from the first scrape (rate() works).
  for (const [k, v] of Object.entries(verdicts)) if (k !== 'forward') out.drops[k] = v;
  out.drops.ring_full = counters.ringDrops;
  out.drops.sync_overflow = counters.syncOverflow;
  return out;
}
