// The per-server checker state machine, pure: nanny's run() loop (reentry counting, one-failure-out, slow start)
// plus directord's rise/fall extensions. No timers, no sockets: the runner feeds it results and a clock.

/** How one server's checker decides; derived from the virtual/server config by spec.ts. */
export interface CheckerPolicy {
  /** Consecutive successes needed to re-enter after a failure (nanny: reentry / timeout, integer division). */
  rise: number;
  /** Consecutive failures that take an active server out (nanny: 1). */
  fall: number;
  /** Down means weight 0 (entry kept) instead of removal, once the server has been added (nanny -q). */
  quiesce: boolean;
  /** Ramp the weight from max(1, weight >> 5) by doubling (nanny adjustWeight); false = full weight at once. */
  slowStart: boolean;
  /** Configured weight. */
  weight: number;
  /** Check interval in seconds: nanny adjusts the weight every ~20 s worth of checks. */
  intervalSec: number;
}

export interface CheckerState {
  /** Server is in service (nanny isActive). */
  active: boolean;
  /** Server was added to the table at least once (nanny isSrvUp): quiesce edits it instead of adding. */
  everAdded: boolean;
  /** nanny currCount: starts at `rise` so the first success at start adds at once. */
  successCount: number;
  consecutiveOk: number;
  consecutiveFail: number;
  /** Weight currently wanted in the table while active (slow start ramps it). */
  weight: number;
  /** Number of checks done. */
  checks: number;
}

export type Transition = 'up' | 'down' | 'reset' | null;

export interface StepResult {
  state: CheckerState;
  /** up: "[ active ] making … available"; down: "[inactive] shutting down …"; reset: a failing server's count reset (silent in nanny). */
  transition: Transition;
  /** True when the wanted weight changed this step (slow-start ramp, or on a transition). */
  weightChanged: boolean;
}

export function initialState(policy: CheckerPolicy): CheckerState {
  return { active: false, everAdded: false, successCount: policy.rise, consecutiveOk: 0, consecutiveFail: 0, weight: 0, checks: 0 };
}

/** nanny: the weight a server enters with, max(1, weight >> 5); the full weight without slow start. */
export function initialWeight(policy: CheckerPolicy): number {
  if (!policy.slowStart) return policy.weight;
  return Math.max(1, policy.weight >> 5);
}

/**
 * The weight the ramp ends at: the configured one, except that nanny never lowers a weight, so a configured 0
 * stays at the entry weight 1 (max(1, 0 >> 5)). Without slow start, the configured weight as is (0 included).
 */
export function targetWeight(policy: CheckerPolicy): number {
  return Math.max(policy.weight, initialWeight(policy));
}

/** nanny runs adjustWeight when interval > 20 or currCount % (20 / interval) == 0 (integer division). */
export function weightAdjustDue(policy: CheckerPolicy, successCount: number): boolean {
  if (policy.intervalSec > 20) return true;
  const every = Math.floor(20 / policy.intervalSec);
  return every <= 0 || successCount % every === 0;
}

/** One check result in, the next state out. */
export function step(prev: CheckerState, policy: CheckerPolicy, ok: boolean): StepResult {
  const s: CheckerState = { ...prev, checks: prev.checks + 1 };
  let transition: Transition = null;
  let weightChanged = false;
  if (ok) {
    s.successCount++;
    s.consecutiveOk++;
    s.consecutiveFail = 0;
  } else {
    s.consecutiveOk = 0;
    s.consecutiveFail++;
  }

  if (ok && !s.active && s.successCount >= policy.rise) {
    s.active = true;
    s.everAdded = true;
    s.weight = initialWeight(policy);
    transition = 'up';
    weightChanged = true;
  } else if (!ok && s.active && s.consecutiveFail >= policy.fall) {
    s.active = false;
    s.successCount = 0;
    transition = 'down';
    weightChanged = true;
  } else if (!ok && !s.active && s.successCount > 0) {
    s.successCount = 0;
    transition = 'reset';
  } else if (!ok && s.active) {
    // Below the fall threshold: still in service, but re-entry counting starts over should it fall.
  }

  const target = targetWeight(policy);
  // nanny's slow start: in the same iteration too, every ~20 s worth of checks, double towards the configured weight.
  if (s.active && s.weight < target && weightAdjustDue(policy, s.successCount)) {
    const next = Math.min(target, Math.max(1, s.weight * 2));
    if (next !== s.weight) {
      s.weight = next;
      weightChanged = true;
    }
  }
  // A weight lowered by a reload applies at once; raised ones ramp (or jump without slow start).
  if (s.active && (s.weight > target || (!policy.slowStart && s.weight !== target))) {
    s.weight = target;
    weightChanged = true;
  }
  return { state: s, transition, weightChanged };
}

/** What the director should apply for this server. */
export interface Desired {
  up: boolean;
  /** Effective weight: ramped while slow-starting, 0 when quiesced or out. */
  weight: number;
  /** false = no entry in the table (never added, or removed because quiesce is off). */
  inTable: boolean;
}

export function desired(s: CheckerState, policy: CheckerPolicy): Desired {
  if (s.active) return { up: true, weight: s.weight, inTable: true };
  if (policy.quiesce && s.everAdded) return { up: false, weight: 0, inTable: true };
  return { up: false, weight: 0, inTable: false };
}

/** After a reload changed the policy of a kept checker: apply lowered/unramped weights at once, keep up/down. */
export function reconcilePolicy(prev: CheckerState, policy: CheckerPolicy): CheckerState {
  const s = { ...prev };
  const target = targetWeight(policy);
  if (s.active && (s.weight > target || !policy.slowStart)) s.weight = target;
  return s;
}
