// HA metrics with stable series: the state as one 0/1 series per possible state, whether this node holds the VIPs,
// the age of the partner's last valid heartbeat, and rejected heartbeats for every reason from 0.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { StatusSnapshot } from '../control/types';
import type { HaStatusView } from '../director/subsystems';
import type { HeartbeatRejectReason } from '../ha/heartbeat-codec';

/** Every state directorctl status can show: HA nodes (active, standby, fault, stopped), standalone (active, inactive). */
export const HA_STATES = ['active', 'standby', 'fault', 'stopped', 'inactive'] as const;

export const HEARTBEAT_REJECT_REASONS = [
  'truncated', 'oversized', 'bad_magic', 'bad_version', 'bad_field', 'bad_mac', 'unauthenticated', 'replayed', 'boot_in_use',
  'unexpected_source', 'own_node_id', 'pulse_refused',
] as const satisfies readonly HeartbeatRejectReason[];
// A reason added to the codec but not here fails to compile, so its counter cannot start late.
const allReasons: [Exclude<HeartbeatRejectReason, (typeof HEARTBEAT_REJECT_REASONS)[number]>] extends [never] ? true : never = true;
void allReasons;

export function registerHaMetrics(registry: Registry, snapshot: () => StatusSnapshot, haStatus: () => HaStatusView | undefined): void {
  new Gauge({
    name: 'directord_ha_state', help: 'HA state of this node: 1 for the current state, 0 for the others (the same series always).',
    labelNames: ['state'], registers: [registry],
    collect() {
      this.reset();
      const now = snapshot().ha.state;
      for (const state of HA_STATES) this.set({ state }, state === now ? 1 : 0);
      if (!(HA_STATES as readonly string[]).includes(now)) this.set({ state: now }, 1);
    },
  });
  new Gauge({
    name: 'directord_ha_active', help: '1 when this director holds the VIPs and forwards, else 0.', registers: [registry],
    collect() {
      this.set(snapshot().ha.forwarding ? 1 : 0);
    },
  });
  new Gauge({
    name: 'directord_ha_info', help: 'This node\'s HA role from lvs.cf (primary, backup, or standalone without HA); always 1.',
    labelNames: ['role'], registers: [registry],
    collect() {
      this.reset();
      this.set({ role: snapshot().ha.role }, 1);
    },
  });
  // +Inf until the partner is first heard: "never" must compare as older than any threshold. Absent without HA.
  new Gauge({
    name: 'directord_ha_peer_heartbeat_age_seconds', help: 'Seconds since the last valid heartbeat from the partner director (+Inf before the first).',
    labelNames: ['peer'], registers: [registry],
    collect() {
      this.reset();
      const ha = haStatus();
      if (ha?.peer) this.set({ peer: ha.peer.address }, ha.lastHeartbeatAgeMs === undefined ? Infinity : ha.lastHeartbeatAgeMs / 1000);
    },
  });
  new Counter({
    name: 'directord_heartbeats_rejected_total', help: 'Heartbeats rejected, by reason (docs/ha.md).', labelNames: ['reason'], registers: [registry],
    collect() {
      this.reset();
      const got = haStatus()?.heartbeatsRejected ?? {};
      for (const reason of new Set([...HEARTBEAT_REJECT_REASONS, ...Object.keys(got)])) this.inc({ reason }, got[reason] ?? 0);
    },
  });
}
