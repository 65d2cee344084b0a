#!/usr/bin/env node
// directord: the daemon entry. Parses argv, loads lvs.cf, claims the control socket (refusing when another
// directord answers on it), wires the subsystems through src/director.ts, and handles SIGHUP/SIGTERM/SIGINT.
// Stop and crash paths are bounded: the VIP goes first, every step has a deadline, the process always exits.
import { createRootLogger, fatalExit, levelFromDebugLevel, subsystemLogger, type Logger } from './log';
import { DirectordError, isDirectordError } from './errors';
import { ControlServer } from './control/server';
import { ControlErrorCode } from './control/protocol';
import type { ControlTarget } from './control/commands';
// director/index, not './director': a dist/ built before src/director.ts moved still holds a stale director.js.
import { Director } from './director/index';
import { defaultOptions } from './defaults';
import { DAEMON_USAGE, parseDaemonArgs, type DaemonArgs } from './daemon/daemon-args';
import { buildDataPlane, buildHa, buildHealth, buildWhere, haWanted } from './daemon/wiring';
import { configSubsystem, runCheckConfigCommand } from './daemon/config-source';
import { createMetricsRegistry, startMetricsServer } from './metrics';
import { createSdNotifier, startWatchdog } from './daemon/sd-notify';
import { cleanupHost } from './director/cleanup';
import { armHardExit, runStopSteps } from './director/shutdown';
import { vipStateFileFor } from './control/socket-path';
import { withDeadline } from './util/deadline';
import { childCapabilityWarning } from './util/child';
import { versionLine } from './util/version';
import { buildBgp, withBgpStatus, type BgpSpeaker } from './bgp';

/** Answers E_CTL_UNAVAILABLE until the director is up (so the socket can be claimed first) and once it stops.
 * Every method is forwarded by name, so a new control command needs nothing here. */
function gate(): { target: ControlTarget; open(d: Director, bgp?: BgpSpeaker): void; close(): void } {
  let director: Director | undefined;
  let status: ControlTarget['status'] | undefined;
  let closed = false;
  const need = (): Director => {
    if (closed) throw new DirectordError(ControlErrorCode.Unavailable, 'directord is stopping');
    if (!director) throw new DirectordError(ControlErrorCode.Unavailable, 'directord is still starting');
    return director;
  };
  const target = new Proxy({}, {
    // 'then' stays undefined, so the target is never mistaken for a promise.
    get: (_, name) => name === 'then' ? undefined : (...args: unknown[]) => {
      const d = need() as unknown as Record<string | symbol, (...a: unknown[]) => unknown>;
      // status carries the BGP view (withBgpStatus), the rest is the Director's own.
      if (name === 'status') return status!(...(args as Parameters<ControlTarget['status']>));
      return d[name].apply(d, args);
    },
  }) as ControlTarget;
  const open = (d: Director, bgp?: BgpSpeaker): void => {
    director = d;
    status = withBgpStatus(d, bgp);
  };
  return { open, close: () => void (closed = true), target };
}

/** The host cleanup with its log line; never throws (at start it must not keep the daemon from reporting why it stops). */
async function cleanUp(args: DaemonArgs, log: Logger, opts: { cfg?: Parameters<typeof cleanupHost>[0]['cfg']; socketHeld: boolean; runInactiveCmd: boolean }): Promise<boolean> {
  try {
    const r = await withDeadline(
      cleanupHost({
        configFile: args.configFile, socket: args.socket, stateFile: vipStateFileFor(args.socket), config: configSubsystem(), log, iface: args.interface, ...opts,
      }),
      defaultOptions.stopHardDeadlineMs, 'cleanup', 'E_CLEANUP_TIMEOUT',
    );
    log.info({ vips: r.vips, nft: r.nft, xdp: r.xdp, bgp: r.bgp, inactiveCmd: r.inactiveCmd, configError: r.configError }, r.ok ? 'cleanup done' : 'cleanup incomplete');
    return r.ok;
  } catch (e) {
    log.error({ code: isDirectordError(e) ? e.code : 'E_INTERNAL', error: String((e as Error)?.message ?? e) }, 'cleanup not done');
    return false;
  }
}

/** `directord --cleanup`: ExecStopPost. inactive_cmd runs unless systemd says the daemon stopped cleanly (it ran it). */
async function runCleanupCommand(args: DaemonArgs): Promise<number> {
  const log = subsystemLogger(createRootLogger({ level: args.logLevel ?? 'info' }), 'main');
  const ok = await cleanUp(args, log, { socketHeld: false, runInactiveCmd: process.env.SERVICE_RESULT !== 'success' });
  return ok ? 0 : 1;
}

async function runDaemon(args: DaemonArgs): Promise<number> {
  const root = createRootLogger({ level: args.logLevel ?? 'info' });
  const log = subsystemLogger(root, 'main');
  // A fatal error releases the VIP first (the stop sequence, under a short deadline), then exits; a second one
  // while that runs exits at once. The log sink never throws or loops, so this always ends.
  let stopNow: ((why: string, code: number) => Promise<void>) | undefined;
  let dying = false;
  const fatal = (what: string, e: unknown): void => {
    if (dying) fatalExit(log, { err: e }, `${what} while stopping after a fatal error: exiting now`);
    dying = true;
    log.fatal({ err: e }, `${what}: exiting (systemd restarts directord; the peer takes over meanwhile)`);
    if (!stopNow) process.exit(1);
    armHardExit(defaultOptions.fatalStopDeadlineMs, log, 'stop after a fatal error');
    void stopNow(what, 1).finally(() => process.exit(1));
  };
  process.on('uncaughtException', (e) => fatal('uncaught exception', e));
  process.on('unhandledRejection', (e) => fatal('unhandled promise rejection', e));
  const config = configSubsystem();
  let cfg;
  try {
    cfg = config.load(args.configFile);
  } catch (e) {
    log.fatal({ code: isDirectordError(e) ? e.code : 'E_INTERNAL', error: isDirectordError(e) ? e.format() : String(e), file: args.configFile }, 'cannot start: configuration invalid');
    // What a killed predecessor left must not outlive it because the file it left is broken (unless one still runs).
    await cleanUp(args, log, { socketHeld: false, runInactiveCmd: false });
    return 1;
  }
  if (!args.logLevel) root.level = levelFromDebugLevel(cfg.global.debugLevel);
  // Until the handlers below are installed, a SIGHUP must not kill the daemon (Node's default) nor reload half a daemon.
  const early = (): void => log.warn('SIGHUP while starting: ignored (reload again once started)');
  process.on('SIGHUP', early);

  const g = gate();
  const control = new ControlServer({
    socketPath: args.socket, readOnlySocketPath: args.readOnlySocket ?? null,
    mode: defaultOptions.controlSocketMode, readOnlyMode: defaultOptions.readOnlySocketMode, group: defaultOptions.controlGroup,
    target: g.target, logger: subsystemLogger(root, 'control'), maxLineBytes: defaultOptions.controlMaxLineBytes,
    requestTimeoutMs: defaultOptions.controlRequestTimeoutMs, idleTimeoutMs: defaultOptions.controlIdleTimeoutMs,
    maxConnections: defaultOptions.controlMaxConnections, maxPendingPerConnection: defaultOptions.controlMaxPendingPerConnection,
    outputSoftLimitBytes: defaultOptions.controlOutputSoftLimitBytes, outputHardLimitBytes: defaultOptions.controlOutputHardLimitBytes,
  });
  try {
    await control.start();
  } catch (e) {
    log.fatal({ code: isDirectordError(e) ? e.code : 'E_INTERNAL', error: String((e as Error).message) }, 'cannot start: control socket');
    return 1;
  }
  // The socket is ours, so no other directord runs here: remove what a killed one left before starting afresh.
  await cleanUp(args, log, { cfg, socketHeld: true, runInactiveCmd: false });

  const step = defaultOptions.stopStepTimeoutMs;
  let director: Director | undefined;
  let metrics: Awaited<ReturnType<typeof startMetricsServer>> | undefined;
  let bgp: BgpSpeaker | undefined;
  // VIP first (the director stops HA before anything else), then the listeners; each under its deadline.
  const stopAll = (): Promise<boolean> =>
    runStopSteps([
      // The routes go before anything else: the router moves the flows while this director still forwards them.
      { what: 'bgp (withdraw the VIPs)', run: () => bgp?.stop(), timeoutMs: step },
      { what: 'director (VIPs, checks, data plane)', run: () => director?.stop(), timeoutMs: 4 * step },
      { what: 'metrics listener', run: () => metrics?.close(), timeoutMs: step },
      { what: 'control socket', run: () => control.stop(), timeoutMs: step },
    ], log);
  stopNow = async () => {
    g.close();
    await stopAll();
  };
  // SIGTERM while starting: remembered, and the stop runs as soon as the start is complete (or failed).
  let termWhileStarting: string | undefined;
  const earlyTerm = (sig: string) => (): void => {
    termWhileStarting = sig;
    log.info({ signal: sig }, 'stop requested while starting: stopping once started');
  };
  const earlyHandlers = { SIGTERM: earlyTerm('SIGTERM'), SIGINT: earlyTerm('SIGINT') };
  process.on('SIGTERM', earlyHandlers.SIGTERM);
  process.on('SIGINT', earlyHandlers.SIGINT);
  try {
    const dataplane = buildDataPlane(args.dataplane, cfg, args.interface, defaultOptions.connTableSize, root, args.busyPollUs, args.packetThreads);
    director = new Director({
      configFile: args.configFile, logger: subsystemLogger(root, 'main'), dataplane, config,
      health: buildHealth(root), ha: haWanted(cfg) ? buildHa(root, dataplane, vipStateFileFor(args.socket)) : undefined, where: buildWhere(),
      drainTimeoutMs: defaultOptions.drainTimeoutMs, drainPollMs: defaultOptions.drainPollMs,
      rateSampleMs: defaultOptions.rateSampleMs, bannerTableSize: defaultOptions.ipvsBannerTableSize, stopStepTimeoutMs: step,
    });
    await director.start(cfg);
    bgp = buildBgp(root, director, args.configFile);
    await bgp?.start();
    if (args.metrics) {
      const d = director;
      const registry = createMetricsRegistry(bgp ? { counters: d.counters, status: withBgpStatus(d, bgp), haStatus: () => d.haStatus(), dataplaneStats: () => d.dataplaneStats(), onCheckObserved: (fn) => d.onCheckObserved(fn) } : d);
      metrics = await startMetricsServer(registry, args.metrics);
      log.info({ listen: args.metrics, port: metrics.port }, 'metrics listening on /metrics');
    }
  } catch (e) {
    log.fatal({ code: isDirectordError(e) ? e.code : 'E_INTERNAL', error: isDirectordError(e) ? e.format() : String(e) }, 'cannot start');
    g.close();
    const hard = armHardExit(defaultOptions.stopHardDeadlineMs, log, 'undoing a failed start');
    await stopAll(); // undo what did start (checks, data plane, a VIP)
    clearTimeout(hard);
    return 1;
  }
  const d = director as Director;
  g.open(d, bgp);
  log.info({ config: args.configFile, socket: args.socket, dataplane: args.dataplane, pid: process.pid }, 'directord ready');
  const sd = createSdNotifier(log);
  const summary = (): string => {
    const s = d.status({ connections: false, connectionLimit: 0 });
    const up = s.health.filter((h) => h.state === 'up').length;
    return `${s.ha.role} ${s.ha.state}, forwarding ${s.ha.forwarding ? 'on' : 'off'}, ${s.services.length} virtual(s), ${up}/${s.health.length} real servers up`;
  };
  void sd.notify({ READY: '1', STATUS: summary() });
  const capsWarning = childCapabilityWarning();
  if (capsWarning) log.warn(capsWarning);
  const watchdog = startWatchdog(sd);
  if (watchdog) log.info({ intervalMs: watchdog.intervalMs }, 'systemd watchdog: pinging');

  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = async (why: string, code: number): Promise<void> => {
      if (stopping) return;
      stopping = true;
      log.info({ signal: why }, 'stopping');
      const hard = armHardExit(defaultOptions.stopHardDeadlineMs, log, 'stop');
      g.close();
      watchdog?.stop();
      void sd.notify({ STOPPING: '1', STATUS: 'stopping: releasing the VIPs' }); // not awaited: the VIP goes first
      const ok = await stopAll();
      clearTimeout(hard);
      log.info(ok ? 'stopped' : 'stopped, but a step failed or timed out (ExecStopPost removes what is left)');
      resolve(ok ? code : code || 1);
    };
    stopNow = stop;
    process.off('SIGTERM', earlyHandlers.SIGTERM);
    process.off('SIGINT', earlyHandlers.SIGINT);
    process.on('SIGTERM', () => void stop('SIGTERM', 0));
    process.on('SIGINT', () => void stop('SIGINT', 0));
    if (termWhileStarting) void stop(termWhileStarting, 0);
    process.off('SIGHUP', early);
    process.on('SIGHUP', () => {
      log.info({ signal: 'SIGHUP' }, 'reloading');
      void sd.notify({ RELOADING: '1', STATUS: 'reloading' });
      // A failed reload is an answer (logged with its code and counted by the director), never the daemon's end.
      void d.reload()
        .then((r) => sd.notify({ READY: '1', STATUS: r.result === 'success' ? summary() : `last reload FAILED (${r.error?.code}), running configuration kept; ${summary()}` }))
        .catch((e: unknown) => log.error({ code: isDirectordError(e) ? e.code : 'E_INTERNAL', err: e, signal: 'SIGHUP' }, 'reload: could not report the result; still running'));
    });
  });
}

async function main(argv: string[]): Promise<number> {
  let args: DaemonArgs;
  try {
    args = parseDaemonArgs(argv);
  } catch (e) {
    process.stderr.write(`directord: ${(e as Error).message}\n`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(DAEMON_USAGE);
    return 0;
  }
  if (args.version) {
    process.stdout.write(versionLine('directord'));
    return 0;
  }
  if (args.checkConfig) return runCheckConfigCommand(args.configFile, args.json, { quiet: args.quiet, strict: args.strict });
  if (args.cleanup) return runCleanupCommand(args);
  return runDaemon(args);
}

void (async () => {
  let code: number;
  try {
    code = await main(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`directord: internal error: ${(e as Error)?.stack ?? String(e)}\n`);
    code = 1;
  }
  // Logs are written synchronously (src/log.ts StdoutSink); exit explicitly so no stray timer keeps the process alive.
  process.exit(code);
})();

export type { Logger };
