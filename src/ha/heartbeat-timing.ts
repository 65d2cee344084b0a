// Pure judges of heartbeat timing for the logs: a heartbeat sent late (our loop could not send it on time), and
// what a standby knew when it declared the partner dead (silence, its own lateness, what it rejected meanwhile).

/** Gap (ms) between two heartbeats we sent, when it is over 2 × keepalive: the peer saw us silent that long. */
export function lateSendGap(prevMs: number | undefined, nowMs: number, keepaliveMs: number): number | undefined {
  if (prevMs === undefined) return undefined;
  const gap = nowMs - prevMs;
  return gap > 2 * keepaliveMs ? Math.round(gap) : undefined;
}

export interface DeadPeerFacts {
  nowMs: number;
  /** When the last heartbeat that counted arrived (undefined: never). */
  lastAcceptedMs?: number;
  deadtimeMs: number;
  /** How late the dead-peer timer ran (our own loop's stall at that moment), when the timer decided. */
  timerLateMs?: number;
  /** Datagrams on heartbeat_port that did not count since then, by reason. */
  rejectedSince: Partial<Record<string, number>>;
}

/**
 * The "partner dead" log's fields. silentMs near deadtime with timerLateMs ~0 and nothing rejected: the partner's
 * heartbeats did not arrive (it stalled, or they were lost); a large timerLateMs: our own loop stalled; rejections:
 * they arrived and were refused (key, replay guard).
 */
export function deadPeerFields(f: DeadPeerFacts): Record<string, unknown> {
  const rejected = Object.fromEntries(Object.entries(f.rejectedSince).filter(([, n]) => (n ?? 0) > 0));
  return {
    silentMs: f.lastAcceptedMs === undefined ? null : Math.round(f.nowMs - f.lastAcceptedMs),
    deadtimeMs: f.deadtimeMs,
    ...(f.timerLateMs === undefined ? {} : { timerLateMs: Math.max(0, Math.round(f.timerLateMs)) }),
    rejectedSince: rejected,
    rejectedSinceTotal: Object.values(rejected).reduce((a: number, n) => a + (n ?? 0), 0),
  };
}
