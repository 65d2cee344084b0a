// Unit tests that open real sockets on 127.0.0.x run in a network namespace of their own: the file re-runs itself
// under `unshare --net`, an anonymous namespace the kernel deletes with the process (nothing to clean up after a crash).
import { spawnSync, type StdioOptions } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import { constants } from 'node:os';
import { cannotRun, underCI } from './needs';

/** Set in the re-run's environment to the outer namespace (`net:[inode]`), so the re-run knows it is the inner one. */
export const PRIVATE_NETNS_ENV = 'DIRECTORD_PRIVATE_NETNS';

const netnsOf = (pid: number | 'self' = 'self'): string => readlinkSync(`/proc/${pid}/ns/net`);

/** Why this process cannot make a private namespace with `lo` up (root, util-linux unshare, ip), or ''. */
function unavailableReason(): string {
  if (process.getuid?.() !== 0) return 'not root';
  const r = spawnSync('unshare', ['--net', '--', 'ip', 'link', 'set', 'lo', 'up'], { encoding: 'utf8', timeout: 30_000 });
  if (r.error) return `unshare --net: ${(r.error as NodeJS.ErrnoException).code === 'ENOENT' ? 'unshare not found on PATH' : r.error.message}`;
  return r.status === 0 ? '' : `unshare --net ip link set lo up: ${r.stderr.trim() || `exit ${r.status ?? r.signal}`}`;
}

/** The file cannot run here: a counted skip of the whole file, and under CI=true a failure (see needs.ts). */
function skipFile(reason: string): never {
  const why = cannotRun(`a private network namespace: ${reason}`);
  if (underCI) process.exit(1); // cannotRun has recorded the failure on tap's root test
  (require('tap') as typeof import('tap')).t.plan(0, why);
  process.exit(0);
}

/** Ends this process the way the re-run ended: the same signal (default action) or the same exit code. */
function exitLike(status: number | null, signal: NodeJS.Signals | null): never {
  if (signal) {
    process.removeAllListeners(signal); // back to the default action, so the signal ends us
    process.kill(process.pid, signal);
    process.exit(128 + (constants.signals[signal] ?? 0)); // only if the signal could not end us (ignored)
  }
  process.exit(status ?? 1);
}

/**
 * Call at the top of a test file that binds, listens or connects on an IP address, BEFORE `import t from 'tap'`:
 *
 *     import { inPrivateNetns } from '../lab/private-netns';
 *     inPrivateNetns();
 *     import t from 'tap';
 *
 * Outside: re-runs this same file (same node, node flags, argv, environment plus PRIVATE_NETNS_ENV) under
 * `unshare --net`, with stdin/stdout/stderr and tap's IPC channel handed over as they are (the runner reads the
 * inner run's TAP stream and talks to it about timeouts), then exits as the inner run did: this outer process never
 * runs the tests. That is why tap must not be loaded yet: its root test would print a second, empty plan on exit.
 * Inside: brings `lo` up (a fresh namespace has it down) and returns.
 * Not root, or no unshare/ip: the file is one skip; under CI=true a failure.
 */
export function inPrivateNetns(): void {
  const outer = process.env[PRIVATE_NETNS_ENV];
  if (outer !== undefined) {
    if (outer === netnsOf()) throw new Error(`${PRIVATE_NETNS_ENV}=${outer} is set but this process is still in that network namespace: refusing to bind in it`);
    const r = spawnSync('ip', ['link', 'set', 'lo', 'up'], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`ip link set lo up in the private network namespace: ${r.error?.message ?? r.stderr.trim()}`);
    return;
  }
  if ((globalThis as Record<symbol, unknown>)[Symbol.for('TAP private constructor')]) {
    throw new Error('inPrivateNetns() must be called before tap is imported (see test/lab/private-netns.ts)');
  }
  const why = unavailableReason();
  if (why) skipFile(why);
  const stdio: StdioOptions = ['inherit', 'inherit', 'inherit'];
  const env: NodeJS.ProcessEnv = { ...process.env, [PRIVATE_NETNS_ENV]: netnsOf() };
  // Node takes NODE_CHANNEL_FD out of process.env once it has opened the channel: give the same fd back to the re-run.
  const ipc = (process.channel as { fd?: number } | undefined)?.fd;
  if (ipc !== undefined && ipc >= 3) {
    while (stdio.length < ipc) stdio.push('ignore');
    stdio.push(ipc);
    env.NODE_CHANNEL_FD = String(ipc);
  }
  const r = spawnSync('unshare', ['--net', '--', process.execPath, ...process.execArgv, ...process.argv.slice(1)], { stdio, env });
  if (r.error) throw r.error;
  exitLike(r.status, r.signal);
}
