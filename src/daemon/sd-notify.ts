// systemd readiness (Type=notify) and watchdog from the daemon's own PID, so the unit can say NotifyAccess=main: each
// message is one datagram on $NOTIFY_SOCKET, sent by the native addon (Node has no UNIX datagram sockets). Without
// $NOTIFY_SOCKET this does nothing. The watchdog is pinged from the event loop: a loop that blocks (or a process that
// hangs) misses the pings and systemd kills and restarts directord, and ExecStopPost cleans up after it.
import { constants } from 'node:os';
import type { Logger } from '../log';
import { loadNative } from '../dataplane/native';

export interface SdNotifier {
  /** READY=1, RELOADING=1, STOPPING=1, STATUS=…; resolves once sent (or failed, logged). Messages keep their order. */
  notify(vars: Record<string, string>): Promise<void>;
  readonly enabled: boolean;
}

/** One datagram to the notify socket: 0 or an errno (the addon's sdNotify). */
export type NotifySend = (socket: string, message: string) => number;

const EAGAIN = constants.errno.EAGAIN;
const errnoName = (n: number): string => Object.entries(constants.errno).find(([, v]) => v === n)?.[0] ?? `errno ${n}`;

/** sd_notify's message: KEY=value lines; RELOADING=1 carries MONOTONIC_USEC= as systemd >= 253 wants. */
export function formatNotify(vars: Record<string, string>, monotonicUsec: () => bigint = () => process.hrtime.bigint() / 1000n): string {
  const all = vars.RELOADING === '1' && vars.MONOTONIC_USEC === undefined ? { RELOADING: '1', MONOTONIC_USEC: String(monotonicUsec()), ...vars } : vars;
  return Object.entries(all).map(([k, v]) => `${k}=${v.replace(/\n/g, ' ')}`).join('\n');
}

export function createSdNotifier(log: Logger, env: NodeJS.ProcessEnv = process.env, send?: NotifySend, retry = { attempts: 5, delayMs: 20 }): SdNotifier {
  const socket = env.NOTIFY_SOCKET;
  let chain: Promise<void> = Promise.resolve();
  let sender = send;
  const sendOnce = async (message: string, vars: Record<string, string>): Promise<void> => {
    try {
      sender ??= loadNative().sdNotify;
    } catch (e) {
      log.warn({ err: (e as Error).message, vars }, 'sd_notify failed: the native addon is not loaded');
      return;
    }
    for (let attempt = 1; ; attempt++) {
      // A full queue on systemd's side: wait a little rather than block the loop or lose READY=1.
      const err = sender(socket!, message);
      if (err === 0) return;
      if (err !== EAGAIN || attempt >= retry.attempts) {
        log.warn({ err: errnoName(err), socket, vars }, 'sd_notify failed (systemd does not get this message)');
        return;
      }
      await new Promise((r) => setTimeout(r, retry.delayMs));
    }
  };
  return {
    enabled: !!socket,
    notify(vars) {
      if (!socket) return Promise.resolve();
      const message = formatNotify(vars);
      chain = chain.then(() => sendOnce(message, vars));
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
