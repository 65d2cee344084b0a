// The contract between the runner and a check kind: one probe object per server, run once per interval.
// A probe never throws: every failure is a result with a stable reason.
import type { MysqlObservation } from './mysql-positions';
import type { CheckReason } from './reasons';

export interface ProbeResult {
  ok: boolean;
  /** Stable, metrics-friendly reason: ok, or one of CHECK_FAILURE_REASONS (reasons.ts). */
  reason: CheckReason;
  /** Human detail for logs ("lag 42s > 10s", "exit 3"). */
  detail?: string;
  durationMs: number;
  /**
   * The failure is about replication state only (the server answers queries). The runner keeps such a server in
   * when no other server of the virtual is healthy: never take the last one out because of replication alone.
   */
  replicationOnly?: boolean;
  /** The MySQL check in writer mode: read_only and replication positions, for the writer decision. */
  observation?: MysqlObservation;
}

export interface Probe {
  run(): Promise<ProbeResult>;
  /** Release what the probe keeps between runs (a monitor connection); kills a running check program. */
  close(): Promise<void>;
}
