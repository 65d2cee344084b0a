// systemd readiness (Type=notify) without a native module: Node cannot send on a UNIX datagram socket, so the
// message goes through systemd-notify(1), which waits until systemd has read it (its barrier, systemd >= 246).
// Because the sender is a child process, the unit needs NotifyAccess=all. Without $NOTIFY_SOCKET this does nothing.
// The watchdog (WatchdogSec=) is pinged from the event loop: a loop that blocks (or a process that hangs) misses the
// pings and systemd kills and restarts directord, and ExecStopPost cleans up after it.
import { execFile } from 'node:child_process';
import type { Logger } from '../log';

export interface SdNotifier {
  /** READY=1, RELOADING=1, STOPPING=1, STATUS=…; resolves when systemd has the message (or it failed, logged). */
  notify(vars: Record<string, string>): Promise<void>;
  readonly enabled: boolean;
}

export function createSdNotifier(log: Logger, env: NodeJS.ProcessEnv = process.env, binary = 'systemd-notify'): SdNotifier {
  const socket = env.NOTIFY_SOCKET;
  let chain: Promise<void> = Promise.resolve();
  return {
    enabled: !!socket,
    notify(vars) {
      if (!socket) return Promise.resolve();
      const args = Object.entries(vars).map(([k, v]) => `${k}=${v.replace(/\n/g, ' ')}`);
      chain = chain.then(
        () =>
          new Promise<void>((resolve) => {
            execFile(binary, args, { env: { ...env, NOTIFY_SOCKET: socket }, timeout: 10_000 }, (err, _out, stderr) => {
              if (err) log.warn({ err: err.message, stderr: String(stderr).trim(), vars }, 'sd_notify failed (is NotifyAccess=all set?)');
              resolve();
            });
          }),
      );
      return chain;
    },
  };
}

export interface Watchdog {
  readonly intervalMs: number;
  stop(): void;
}

/**
 * WATCHDOG=1 every half WatchdogSec (sd_watchdog_enabled's rule: $WATCHDOG_USEC, and $WATCHDOG_PID when set must be
 * this process). A ping still in flight is not doubled. Undefined when the watchdog is off.
 */
export function startWatchdog(sd: SdNotifier, env: NodeJS.ProcessEnv = process.env, pid = process.pid): Watchdog | undefined {
  const usec = Number(env.WATCHDOG_USEC);
  if (!sd.enabled || !Number.isFinite(usec) || usec <= 0) return undefined;
  if (env.WATCHDOG_PID && Number(env.WATCHDOG_PID) !== pid) return undefined;
  const intervalMs = Math.max(100, Math.floor(usec / 2000));
  let inFlight = false;
  const ping = (): void => {
    if (inFlight) return;
    inFlight = true;
    void sd.notify({ WATCHDOG: '1' }).finally(() => (inFlight = false));
  };
  const timer = setInterval(ping, intervalMs);
  timer.unref();
  ping();
  return { intervalMs, stop: () => clearInterval(timer) };
}
