// The stop sequence's mechanics: each step under its own deadline (a hung step is logged and skipped, the next one
// still runs), and a hard deadline after which the process exits whatever still hangs: systemd's TimeoutStopSec
// would SIGKILL later with nothing logged, and ExecStopPost (`directord --cleanup`) removes what is left.
import { fatalExit, type Logger } from '../log';
import { withDeadline } from '../util/deadline';

export interface StopStep {
  what: string;
  run(): unknown;
  timeoutMs: number;
}

/** Run the steps in order; false when one failed or timed out (each is logged). */
export async function runStopSteps(steps: StopStep[], log: Logger): Promise<boolean> {
  let ok = true;
  for (const s of steps) {
    try {
      const r = await withDeadline(Promise.resolve().then(() => s.run()), s.timeoutMs, `stopping ${s.what}`, 'E_STOP_TIMEOUT');
      if (r === false) ok = false; // a step that reports its own partial failure (Director.stop)
    } catch (e) {
      ok = false;
      log.error({ err: e, step: s.what }, `stopping ${s.what} failed: going on`);
    }
  }
  return ok;
}

/** Exit with `code` after `ms` unless cleared (the returned timer). */
export function armHardExit(ms: number, log: Logger, what: string, code = 1): NodeJS.Timeout {
  return setTimeout(() => fatalExit(log, { deadlineMs: ms }, `${what} did not finish in time: exiting now (ExecStopPost removes what is left)`, code), ms);
}
