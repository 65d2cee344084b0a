// Skips that CI cannot miss: under CI=true a test that cannot run here (no lab, a missing tool) is a tap failure;
// elsewhere it is a skip tap counts, which scripts/test.sh lists by name in its closing lines.
import { spawnSync } from 'node:child_process';

export const underCI = process.env.CI === 'true';

interface Failable {
  fail(message: string): unknown;
}

const failed = new Set<string>();

/**
 * Says that something cannot run here and returns the reason (for a `skip` option). Under CI=true this is a failure:
 * recorded on `t` when given (inside a running test), else on the file's root test, once per reason.
 * tap is required lazily so that bench/ scripts importing the lab helpers do not start a TAP stream.
 */
export function cannotRun(reason: string, t?: Failable): string {
  if (underCI && (t || !failed.has(reason))) {
    failed.add(reason);
    const target: Failable = t ?? (require('tap') as typeof import('tap')).t;
    target.fail(`CI=true and this cannot run: ${reason}`);
  }
  return reason;
}

/** A test's `skip` option: false when `ok`, otherwise the reason (and under CI=true a failure, see cannotRun). */
export function skipUnless(ok: boolean, reason: string, t?: Failable): false | string {
  return ok ? false : cannotRun(reason, t);
}

/** True when `cmd --version` (or `cmd ...args`) runs and exits 0. */
export function haveTool(cmd: string, args: string[] = ['--version']): boolean {
  return spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;
}
