// active_cmd / inactive_cmd as pulse runs them: split on single spaces, exec without a shell, not waited for;
// without the daemon's capabilities (src/util/child.ts).
import { spawnUnprivileged } from '../util/child';
import type { Logger } from '../log';

/** pulse splits on single spaces (so two spaces make an empty argument); we drop empty arguments instead. */
export function splitCommand(cmd: string): string[] {
  return cmd.split(' ').filter((a) => a.length > 0);
}

export function runDetached(cmd: string | undefined, what: string, log: Logger): void {
  if (!cmd) return;
  const argv = splitCommand(cmd);
  if (argv.length === 0) return;
  try {
    const child = spawnUnprivileged(argv, { stdio: 'ignore', detached: true }, log);
    child.on('error', (e) => log.error({ err: e, cmd, what }, `${what} could not be started`));
    child.on('exit', (code, signal) => log.info({ cmd, what, code, signal }, `${what} exited`));
    child.unref();
    log.info({ cmd, what, pid: child.pid }, `running ${what}`);
  } catch (e) {
    log.error({ err: e, cmd, what }, `${what} could not be started`);
  }
}
