// Event-loop stall detection: a timer that measures how late it fires. A late tick means the JavaScript thread was
// blocked or starved of CPU for that long, and every heartbeat, dead-peer deadline and sync datagram waited with it.
import { readFileSync } from 'node:fs';
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

/** The loop thread's scheduler times (ms): on a CPU, and runnable but waiting for one (Linux schedstat). */
export interface ThreadTimes {
  cpuMs: number;
  waitMs: number;
}

/**
 * Why the loop could not run: `busy` (this thread ran: our own work, e.g. a big synchronous loop), `starved` (it was
 * runnable but waited for a CPU: other load on the host), `blocked` (neither: a blocking call, e.g. a log write to a
 * stdout nobody reads, or page faults), or `unknown` (no schedstat).
 */
export type StallCause = 'busy' | 'starved' | 'blocked' | 'unknown';

export interface Stall {
  /** How much later than its interval the sampling tick came (≈ how long the loop could not run). */
  ms: number;
  /** When the stall ended (the clock given to sample()). */
  endedAtMs: number;
  cause: StallCause;
  /** Over the gap: the loop thread's time on a CPU and waiting for one (ms), when known. */
  cpuMs?: number;
  waitMs?: number;
}

/** /proc/thread-self/schedstat: "<ns on cpu> <ns waiting on a runqueue> <timeslices>"; undefined where absent. */
export function parseSchedstat(text: string): ThreadTimes | undefined {
  const m = /^(\d+) (\d+) /.exec(text);
  return m ? { cpuMs: Number(m[1]) / 1e6, waitMs: Number(m[2]) / 1e6 } : undefined;
}

export function readThreadTimes(): ThreadTimes | undefined {
  try {
    return parseSchedstat(readFileSync('/proc/thread-self/schedstat', 'latin1'));
  } catch {
    return undefined;
  }
}

/** Pure: the larger share of the gap names the cause (half of it or more on a CPU, or waiting for one). */
export function stallCause(gapMs: number, d?: ThreadTimes): StallCause {
  if (!d) return 'unknown';
  if (d.cpuMs >= gapMs / 2) return 'busy';
  if (d.waitMs >= gapMs / 2) return 'starved';
  return d.cpuMs + d.waitMs >= gapMs / 2 ? (d.cpuMs >= d.waitMs ? 'busy' : 'starved') : 'blocked';
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
  private prevTimes?: ThreadTimes;
  /** Stalls by cause, for the log and the counters. */
  readonly byCause: Record<StallCause, number> = { busy: 0, starved: 0, blocked: 0, unknown: 0 };

  constructor(
    public boundMs: number,
    readonly intervalMs = STALL_SAMPLE_MS,
  ) {}

  /** The stall that ended at nowMs, if the gap since the previous tick exceeded the interval by more than the bound. */
  sample(nowMs: number, times?: ThreadTimes): Stall | undefined {
    const prev = this.prevMs;
    const prevTimes = this.prevTimes;
    this.prevMs = nowMs;
    this.prevTimes = times;
    if (prev === undefined) return undefined;
    const late = nowMs - prev - this.intervalMs;
    if (late <= this.boundMs) return undefined;
    const ms = Math.round(late);
    this.stalls++;
    this.stalledMs += ms;
    this.longestMs = Math.max(this.longestMs, ms);
    const d = times && prevTimes ? { cpuMs: times.cpuMs - prevTimes.cpuMs, waitMs: times.waitMs - prevTimes.waitMs } : undefined;
    const cause = stallCause(nowMs - prev, d);
    this.byCause[cause]++;
    return { ms, endedAtMs: nowMs, cause, ...(d ? { cpuMs: Math.round(d.cpuMs), waitMs: Math.round(d.waitMs) } : {}) };
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
    this.tracker.sample(performance.now(), readThreadTimes());
    this.timer = setInterval(() => {
      const s = this.tracker.sample(performance.now(), readThreadTimes());
      if (!s) return;
      const { ms: stallMs, cause, cpuMs, waitMs } = s;
      this.log.warn({ stallMs, cause, cpuMs, waitMs, boundMs: this.tracker.boundMs, stalls: this.tracker.stalls }, 'event loop stalled: timers, heartbeats and sync were delayed');
      this.onStall(s);
    }, this.tracker.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
