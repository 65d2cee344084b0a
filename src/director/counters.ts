// Counts the director owns (reloads, health transitions, check results); metrics read them at scrape time.
import type { ReloadView } from '../control/types';
import type { HealthChange } from './pool';
import type { CheckObservation } from './subsystems';
import type { StallCause } from '../util/loop-stall';

export const CHECK_DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** One real server's checks (keyed virtual + server name): what the per-server check metrics read. */
export interface ServerCheckCounts {
  success: number;
  failure: number;
  /** Failed checks in a row (raw results, before rise/fall); 0 after a success. */
  consecutiveFailures: number;
  lastDurationSeconds: number;
  lastOk?: boolean;
}

export const serverCheckKey = (virtual: string, server: string): string => `${virtual}\u0000${server}`;

export class DirectorCounters {
  reloads = { success: 0, failure: 0 };
  lastReloadAt?: string;
  lastSuccessAt?: string;
  lastSuccessEpochSeconds = 0;
  lastResult: ReloadView['lastResult'] = 'none';
  lastError?: { code: string; message: string };
  transitions = new Map<string, number>();
  checkFailures = new Map<string, number>();
  serverChecks = new Map<string, ServerCheckCounts>();
  /** Cumulative histogram state: per-bucket counts (non-cumulative), sum and count. */
  checkDuration = { buckets: CHECK_DURATION_BUCKETS.map(() => 0), sum: 0, count: 0 };
  /** Event-loop stalls over the bound (util/loop-stall.ts): how many by cause, and their summed length. */
  loopStalls = { byCause: { busy: 0, starved: 0, blocked: 0, unknown: 0 } as Record<StallCause, number>, ms: 0 };

  markConfigLoaded(): void {
    this.lastSuccessEpochSeconds = Date.now() / 1000;
  }

  reloadSucceeded(): void {
    this.reloads.success++;
    this.lastResult = 'success';
    this.lastReloadAt = this.lastSuccessAt = new Date().toISOString();
    this.lastSuccessEpochSeconds = Date.now() / 1000;
    this.lastError = undefined;
  }

  reloadFailed(error: { code: string; message: string }): void {
    this.reloads.failure++;
    this.lastResult = 'failure';
    this.lastReloadAt = new Date().toISOString();
    this.lastError = error;
  }

  reloadView(): ReloadView {
    return {
      count: this.reloads.success + this.reloads.failure, failures: this.reloads.failure, lastResult: this.lastResult,
      lastAt: this.lastReloadAt, lastSuccessAt: this.lastSuccessAt, lastError: this.lastError,
    };
  }

  transition(c: HealthChange): void {
    const k = `${c.virtual}\u0000${c.address}:${c.port}\u0000${c.up ? 'up' : 'down'}`;
    this.transitions.set(k, (this.transitions.get(k) ?? 0) + 1);
  }

  observeCheck(o: CheckObservation): void {
    const i = CHECK_DURATION_BUCKETS.findIndex((b) => o.durationSeconds <= b);
    if (i >= 0) this.checkDuration.buckets[i]++;
    this.checkDuration.sum += o.durationSeconds;
    this.checkDuration.count++;
    const k = serverCheckKey(o.virtual, o.server);
    const c = this.serverChecks.get(k) ?? { success: 0, failure: 0, consecutiveFailures: 0, lastDurationSeconds: 0 };
    if (o.ok) c.success++;
    else c.failure++;
    c.consecutiveFailures = o.ok ? 0 : c.consecutiveFailures + 1;
    c.lastDurationSeconds = o.durationSeconds;
    c.lastOk = o.ok;
    this.serverChecks.set(k, c);
    if (!o.ok) {
      const reason = o.reason ?? 'unknown';
      this.checkFailures.set(reason, (this.checkFailures.get(reason) ?? 0) + 1);
    }
  }
}
