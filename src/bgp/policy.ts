// When to announce a VIP: only while this director can forward it. Pure: a status snapshot (and the drain flag)
// in, the per-VIP decision with its reason out, so status, metrics and the BIRD file all say the same thing.
import type { StatusSnapshot } from '../control/types';
import { compareIp } from './bird-conf';

export interface VipDecision {
  vip: string;
  announce: boolean;
  reason: string;
}

export interface PolicyInput {
  snapshot: Pick<StatusSnapshot, 'services' | 'health' | 'ha'>;
  /** The director is being drained (or stopping): every VIP is withdrawn while forwarding continues. */
  draining: boolean;
}

/** Scale-out's `directorctl drain-director` (src/ha/drain.ts) withdraws too, read from the same snapshot. */
export function directorDraining({ snapshot, draining }: PolicyInput): boolean {
  const phase = snapshot.ha.scaleOut?.drain.phase;
  return draining || phase === 'draining' || phase === 'drained';
}

/**
 * One decision per VIP. A VIP with several services (ports) is announced while any of them has a usable server:
 * withdrawing it would also take away the services that still work.
 */
export function decideVips({ snapshot, draining }: PolicyInput): VipDecision[] {
  const byVip = new Map<string, { virtuals: string[] }>();
  for (const s of snapshot.services) {
    const e = byVip.get(s.vip) ?? { virtuals: [] };
    e.virtuals.push(s.virtual);
    byVip.set(s.vip, e);
  }
  const out: VipDecision[] = [];
  const phase = snapshot.ha.scaleOut?.drain.phase;
  const drained = directorDraining({ snapshot, draining });
  for (const [vip, { virtuals }] of byVip) {
    if (drained) {
      out.push({ vip, announce: false, reason: phase && phase !== 'serving' ? `director ${phase} (drain-director)` : 'director draining' });
      continue;
    }
    const join = snapshot.ha.scaleOut?.join;
    if (join?.phase === 'waiting') {
      // A flow the router sent here before the peers' tables arrived would stall (scale-out join, src/ha/scale-out.ts).
      out.push({ vip, announce: false, reason: `joining: fetching the peers' connection tables (${Math.round(join.waitedMs / 1000)} s of at most ${Math.round(join.maxWaitMs / 1000)} s)` });
      continue;
    }
    if (!snapshot.ha.forwarding) {
      out.push({ vip, announce: false, reason: `data plane not forwarding (${snapshot.ha.state})` });
      continue;
    }
    const usable = snapshot.health.filter((h) => virtuals.includes(h.virtual) && h.inTable && (h.state === 'up' || h.state === 'unchecked'));
    out.push(usable.length
      ? { vip, announce: true, reason: `${usable.length} healthy real server${usable.length === 1 ? '' : 's'}` }
      : { vip, announce: false, reason: 'no healthy real server' });
  }
  return out.sort((a, b) => compareIp(a.vip, b.vip));
}
