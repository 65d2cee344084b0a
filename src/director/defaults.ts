// Operations defaults (control socket limits, drain, rates) next to src/defaults.ts's daemon defaults, as one object.
// Kept here because src/defaults.ts belongs to the foundation; the lead may fold these keys into it.
import { defaultOptions } from '../defaults';

export const operationsDefaults = Object.freeze({
  ...defaultOptions,
  /** A second, world-connectable socket that answers read-only commands (status, where) only. */
  readOnlySocket: true,
  readOnlySocketMode: 0o666,
  controlMaxLineBytes: 64 * 1024,
  controlRequestTimeoutMs: 30_000,
  controlIdleTimeoutMs: 60_000,
  controlMaxConnections: 64,
  controlMaxPendingPerConnection: 16,
  /** A server removed by a reload keeps weight 0 until its connections are gone, at most this long. */
  drainTimeoutMs: 300_000,
  drainPollMs: 1_000,
  /** Rate estimator period (the kernel's is 2 s). */
  rateSampleMs: 2_000,
  cliTimeoutMs: 35_000,
});
