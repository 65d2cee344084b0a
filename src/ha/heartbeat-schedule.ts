// The HA node's two clocks: our heartbeat every keepalive (saying so when this process could not send it: two sends
// more than 2 × keepalive apart mean the peer saw us silent that long), and the one dead-peer deadline.
import type { Logger } from '../log';
import { lateSendGap } from './heartbeat-timing';

export class HeartbeatSchedule {
  private timer?: NodeJS.Timeout;
  private deadline?: NodeJS.Timeout;
  private lastSentMs?: number;

  constructor(private readonly log: Logger, private readonly clock: () => number) {}

  /** (Re)starts the interval; `send` is called every keepalive (at least every 10 ms). */
  restart(keepaliveMs: number, send: () => void): void {
    this.stop();
    this.timer = setInterval(send, Math.max(10, keepaliveMs));
  }

  /** Stops the sends (both clocks with `all`). */
  stop(all = false): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (all) this.clearDeadline();
  }

  /**
   * One dead-peer deadline at a time, judged after the loop's next I/O poll (setImmediate): after a stall or SIGSTOP
   * the timer fires before the heartbeats already queued in the socket are read, and the peer would be declared dead
   * while it is not. `judge` gets how late it ran (our own stall at that moment).
   */
  armDeadline(delayMs: number, judge: (lateMs: number) => void): void {
    this.clearDeadline();
    const due = this.clock() + delayMs;
    this.deadline = setTimeout(() => setImmediate(() => judge(this.clock() - due)), delayMs);
  }

  clearDeadline(): void {
    if (this.deadline) clearTimeout(this.deadline);
    this.deadline = undefined;
  }

  /** Called at every send; `quiet`: we told the peer we stopped, so a gap is expected. */
  noteSend(keepaliveMs: number, quiet: boolean): void {
    const t = this.clock();
    const gap = lateSendGap(this.lastSentMs, t, keepaliveMs);
    if (gap !== undefined && !quiet) this.log.warn({ gapMs: gap, keepaliveMs }, 'heartbeat sent late: this process could not run its timer (see "event loop stalled")');
    this.lastSentMs = t;
  }
}
