// Adapters from each subsystem's index.ts to the director's small interfaces (src/director/subsystems.ts).
// This file is the only place that knows how the other subsystems are constructed.
import type { Logger } from '../log';
import { subsystemLogger } from '../log';
import type { LvsConfig } from '../config/schema';
import { deviceVlan } from '../config/values';
import { createDataPlane, type DataPlane } from '../dataplane';
import { HealthMonitor, checkerSpec, setReadOnly, type CheckEvent, type HealthChange } from '../health';
import { HaNode } from '../ha';
import { whereNow } from '../scheduler';
import type { HaFactory, HealthSubsystem, WhereFunction } from '../director/subsystems';
import type { Backend } from './daemon-args';
import { probeHaPorts } from './port-probe';
import { buildScaleOut, refuseModeChange } from './scale-out-wiring';

export function buildDataPlane(backend: Backend, cfg: LvsConfig, iface: string | undefined, connTableSize: number, root: Logger, busyPollUs = 0, packetThreads?: number): DataPlane {
  const first = cfg.virtuals.find((v) => v.active);
  // eth0.100:1 -> VLAN 100 on eth0 (validateConfig has refused a bad VLAN id); --interface names the device as is.
  const dv = first ? deviceVlan(first.device) : undefined;
  const on = dv && 'parent' in dv ? dv : { parent: 'eth0', vlan: 0 };
  const device = iface ?? on.parent;
  return createDataPlane({ backend, interface: device, vlan: on.vlan, connTableSize, busyPollUs, packetThreads, logger: subsystemLogger(root, 'dataplane') });
}

export function buildHealth(root: Logger): HealthSubsystem {
  const monitor = new HealthMonitor({ logger: subsystemLogger(root, 'health') });
  let current: LvsConfig | undefined;
  return {
    configure: (cfg) => {
      monitor.configure(cfg);
      current = cfg;
    },
    setReadOnly: async (virtual, address, port, readOnly) => {
      const v = current?.virtuals.find((x) => x.active && x.name === virtual);
      const s = v?.servers.find((x) => x.active && x.address === address && x.port === port);
      if (!v || !s) throw new Error(`no active server ${address}:${port} in virtual ${virtual}`);
      await setReadOnly(checkerSpec(v, s).probe, readOnly);
    },
    start: () => monitor.start(),
    stop: () => monitor.stop(),
    onChange: (fn) => monitor.on('change', (c: HealthChange) => fn(c)),
    onCheck: (fn) =>
      monitor.on('check', (e: CheckEvent) => fn({ virtual: e.virtual, server: e.server, durationSeconds: e.durationMs / 1000, ok: e.ok, reason: e.reason, ...(e.observation ? { mysql: e.observation } : {}) })),
  };
}

/** pulse's role, when lvs.cf names a primary; without one the director is standalone (no HA node). */
export function buildHa(root: Logger, dataplane: DataPlane, vipStateFile?: string): HaFactory | undefined {
  return (cfg, hooks) => {
    if (cfg.global.scaleOut) return buildScaleOut(root, dataplane)(cfg, hooks);
    const node = new HaNode({
      config: cfg, logger: subsystemLogger(root, 'ha'), dataplane, vipStateFile, writers: hooks.writers,
      hooks: { onActivate: async () => void (await hooks.onActivate()), onDeactivate: async () => void (await hooks.onDeactivate()), checksSettled: hooks.checksSettled },
    });
    return {
      start: () => node.start(),
      stop: () => node.stop(),
      reconfigure: (c) => node.reconfigure(c),
      preflight: async (before, after) => {
        refuseModeChange(before, after);
        await probeHaPorts(before, after);
      },
      reportFailure: (kind, detail) => node.reportFailure(kind, detail),
      tableChanged: (services) => node.tableChanged(services),
      takeover: (opts) => {
        node.takeover(opts);
        return { requested: 'takeover', state: node.status().state };
      },
      release: () => {
        node.release();
        return { requested: 'release', state: node.status().state };
      },
      status: () => {
        const s = node.status();
        return {
          role: s.role, state: s.stopped ? 'stopped' : s.state, active: s.state === 'active',
          peer: s.peer.address
            ? { address: s.peer.address, state: (s.peer.alive ? String(s.peer.state) : `${String(s.peer.state)} (no heartbeats)`) + (s.peer.protocol === 'pulse' ? ' (pulse heartbeats, unauthenticated)' : '') }
            : undefined,
          lastHeartbeatAgeMs: s.peer.lastHeartbeatAgeMs ?? undefined,
          heartbeatsReceived: s.heartbeatsReceived,
          heartbeatsRejected: Object.fromEntries(Object.entries(s.heartbeatsRejected).map(([k, v]) => [k, v ?? 0])),
          failovers: s.failovers,
          ...(s.sync ? { sync: { synced: s.sync.synced, phase: s.sync.transfer.phase, entriesReceived: s.sync.transfer.entriesReceived, total: s.sync.transfer.total } } : {}),
        };
      },
    };
  };
}

export function haWanted(cfg: LvsConfig): boolean {
  return cfg.global.primary !== undefined || !!cfg.global.scaleOut;
}

/** The scheduler's simulator over the live policy table and live counters (a new connection from this client). */
export function buildWhere(): WhereFunction {
  return (q) =>
    whereNow(q.services, q.live, q.client, q.clientPort).map((a) => ({
      vip: a.service.vip, port: a.service.port, protocol: a.service.protocol,
      destination: a.dest ? { address: a.dest.address, port: a.dest.port } : undefined,
      reason: `no connection or persistence template for this client in the table; a new connection would be scheduled now: ${a.reason}`,
    }));
}
