// The status projection (pure): the pool, the data plane's counters and the rates → the services table (ipvsadm -Ln)
// and each server's health row, as directorctl status and /metrics read them.
import type { ServerHealthView, ServiceView } from '../control/types';
import type { DataPlaneStats } from '../dataplane/types';
import type { Pool } from './pool';
import type { RateEstimator } from './rates';

export function tableViews(pool: Pool, stats: DataPlaneStats, rates: RateEstimator): { services: ServiceView[]; health: ServerHealthView[] } {
  const services: ServiceView[] = [];
  const health: ServerHealthView[] = [];
  const specs = pool.specs();
  for (const [i, svc] of [...pool.services.values()].entries()) {
    const spec = specs[i];
    const v = svc.config;
    const sc = stats.services.find((s) => s.vip === v.address && s.port === v.port && s.protocol === v.protocol);
    const r = rates.service(v.address, v.port, v.protocol);
    services.push({
      virtual: v.name, protocol: v.protocol, vip: v.address, port: v.port, fwmark: v.fwmark, scheduler: v.scheduler,
      persistent: v.persistent, pmask: spec.pmask, conns: sc?.conns ?? 0, inPkts: sc?.inPkts ?? 0, inBytes: sc?.inBytes ?? 0, ...r,
      dests: spec.dests.map((d) => {
        const dc = sc?.dests.find((x) => x.address === d.address && x.port === d.port);
        const e = svc.entries.get(`${d.address}:${d.port}`);
        return {
          server: e?.server ?? d.address, address: d.address, port: d.port, forward: 'Route' as const, weight: d.weight,
          activeConns: dc?.activeConns ?? 0, inactConns: dc?.inactConns ?? 0, conns: dc?.conns ?? 0, inPkts: dc?.inPkts ?? 0, inBytes: dc?.inBytes ?? 0,
          ...rates.dest(v.address, v.port, v.protocol, d.address, d.port),
        };
      }),
    });
    for (const e of svc.entries.values()) {
      const unavailable = sc?.dests.find((x) => x.address === e.address && x.port === e.port)?.unavailableReason;
      health.push({
        virtual: e.virtual, server: e.server, address: e.address, port: e.port, state: e.state, inTable: e.inTable,
        configuredWeight: e.configuredWeight, healthWeight: e.healthWeight, effectiveWeight: e.inTable ? pool.effectiveWeight(e) : 0,
        override: e.override, lastCheck: e.lastCheck, reason: e.reason, ...(unavailable ? { unavailable } : {}),
      });
    }
  }
  return { services, health };
}
