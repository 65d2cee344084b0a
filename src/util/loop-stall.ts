// Event-loop stall detection: a timer that measures how late it fires. A late tick means the JavaScript thread was
// blocked or starved of CPU for that long, and every heartbeat, dead-peer deadline and sync datagram waited with it.
import { performance } from 'node:perf_hooks';
import type { Logger } from '../log';

/** How often the loop is sampled: a stall is measured to within this. */
export const STALL_SAMPLE_MS = 50;
/** Below this a late tick is scheduling noise on a busy host, not worth a warning. */
export const STALL_FLOOR_MS = 100;
/** A second-long stall is worth a warning whatever the keepalive (health checks and sync wait too). */
export const STALL_CAP_MS = 1000;

/** The warning bound for a keepalive (seconds): half of it (a heartbeat that late eats into deadtime), floored and capped. */
export function stallBoundMs(keepaliveS: number): number {
  return Math.min(STALL_CAP_MS, Math.max(STALL_FLOOR_MS, Math.round(keepaliveS * 500)));
}

export interface Stall {
  /** How much later than its interval the sampling tick came (≈ how long the loop could not run). */
  ms: number;
  /** When the stall ended (the clock given to sample()). */
  endedAtMs: number;
}

/**
 * Pure: fed the time of every sampling tick, says which gaps were stalls longer than the bound, and counts them.
 * The timer part is LoopStallMonitor.
 */
export class StallTracker {
  stalls = 0;
  /** Sum of the stalls counted (ms). */
  stalledMs = 0;
  longestMs = 0;
  private prevMs?: number;

  constructor(
    public boundMs: number,
    readonly intervalMs = STALL_SAMPLE_MS,
  ) {}

  /** The stall that ended at nowMs, if the gap since the previous tick exceeded the interval by more than the bound. */
  sample(nowMs: number): Stall | undefined {
    const prev = this.prevMs;
    this.prevMs = nowMs;
    if (prev === undefined) return undefined;
    const late = nowMs - prev - this.intervalMs;
    if (late <= this.boundMs) return undefined;
    const ms = Math.round(late);
    this.stalls++;
    this.stalledMs += ms;
    this.longestMs = Math.max(this.longestMs, ms);
    return { ms, endedAtMs: nowMs };
  }

  /** Forget the previous tick (the monitor was stopped: the pause is not a stall). */
  reset(): void {
    this.prevMs = undefined;
  }
}

/** Samples the loop every STALL_SAMPLE_MS (unref'd: never keeps the process alive) and logs each stall. */
export class LoopStallMonitor {
  readonly tracker: StallTracker;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly log: Logger,
    boundMs: number,
    private readonly onStall: (s: Stall) => void = () => undefined,
  ) {
    this.tracker = new StallTracker(boundMs);
  }

  setBound(ms: number): void {
    this.tracker.boundMs = ms;
  }

  start(): void {
    if (this.timer) return;
    this.tracker.reset();
    this.tracker.sample(performance.now());
    this.timer = setInterval(() => {
      const s = this.tracker.sample(performance.now());
      if (!s) return;
      this.log.warn({ stallMs: s.ms, boundMs: this.tracker.boundMs, stalls: this.tracker.stalls }, 'event loop stalled: timers, heartbeats and sync were delayed');
      this.onStall(s);
    }, this.tracker.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
