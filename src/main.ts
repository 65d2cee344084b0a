#!/usr/bin/env node
// directord: the daemon entry. Parses argv, loads lvs.cf, claims the control socket (refusing when another
// directord answers on it), wires the subsystems through src/director.ts, and handles SIGHUP/SIGTERM/SIGINT.
import { createRootLogger, levelFromDebugLevel, subsystemLogger, type Logger } from './log';
import { DirectordError, isDirectordError } from './errors';
import { ControlServer } from './control/server';
import { ControlErrorCode } from './control/protocol';
import type { ControlTarget } from './control/commands';
import { Director } from './director';
import { defaultOptions } from './defaults';
import { DAEMON_USAGE, parseDaemonArgs, type DaemonArgs } from './director/daemon-args';
import { buildDataPlane, buildHa, buildHealth, buildWhere, haWanted } from './director/wiring';
import { configSubsystem, runCheckConfigCommand } from './director/config-source';
import { createMetricsRegistry, startMetricsServer } from './metrics';
import { createSdNotifier } from './director/sd-notify';

/** Answers E_CTL_UNAVAILABLE until the director is up, so the socket can be claimed first. */
function gate(): { target: ControlTarget; open(d: Director): void } {
  let director: Director | undefined;
  const need = (): Director => {
    if (!director) throw new DirectordError(ControlErrorCode.Unavailable, 'directord is still starting');
    return director;
  };
  return {
    open: (d) => void (director = d),
    target: {
      status: (o) => need().status(o),
      drain: (s) => need().drain(s),
      enable: (s) => need().enable(s),
      setWeight: (s, w) => need().setWeight(s, w),
      reload: () => need().reload(),
      takeover: (o) => need().takeover(o),
      release: () => need().release(),
      where: (c) => need().where(c),
    },
  };
}

async function runDaemon(args: DaemonArgs): Promise<number> {
  const root = createRootLogger({ level: args.logLevel ?? 'info' });
  const log = subsystemLogger(root, 'main');
  const config = configSubsystem();
  let cfg;
  try {
    cfg = config.load(args.configFile);
  } catch (e) {
    log.fatal({ code: isDirectordError(e) ? e.code : 'E_INTERNAL', error: isDirectordError(e) ? e.format() : String(e), file: args.configFile }, 'cannot start: configuration invalid');
    return 1;
  }
  if (!args.logLevel) root.level = levelFromDebugLevel(cfg.global.debugLevel);
  // Until the handlers below are installed, a SIGHUP must not kill the daemon (Node's default) nor reload half a daemon.
  const early = (): void => log.warn('SIGHUP while starting: ignored (reload again once started)');
  process.on('SIGHUP', early);
  process.on('uncaughtException', (e) => {
    log.fatal({ err: e }, 'uncaught exception: exiting (systemd restarts directord; the peer takes over meanwhile)');
    process.exit(1);
  });
  process.on('unhandledRejection', (e) => {
    log.fatal({ err: e }, 'unhandled promise rejection: exiting');
    process.exit(1);
  });

  const g = gate();
  const control = new ControlServer({
    socketPath: args.socket, readOnlySocketPath: args.readOnlySocket ?? null,
    mode: defaultOptions.controlSocketMode, readOnlyMode: defaultOptions.readOnlySocketMode, group: defaultOptions.controlGroup,
    target: g.target, logger: subsystemLogger(root, 'control'), maxLineBytes: defaultOptions.controlMaxLineBytes,
    requestTimeoutMs: defaultOptions.controlRequestTimeoutMs, idleTimeoutMs: defaultOptions.controlIdleTimeoutMs,
    maxConnections: defaultOptions.controlMaxConnections, maxPendingPerConnection: defaultOptions.controlMaxPendingPerConnection,
  });
  try {
    await control.start();
  } catch (e) {
    log.fatal({ code: isDirectordError(e) ? e.code : 'E_INTERNAL', error: String((e as Error).message) }, 'cannot start: control socket');
    return 1;
  }

  let director: Director | undefined;
  let metrics: Awaited<ReturnType<typeof startMetricsServer>> | undefined;
  try {
    const dataplane = buildDataPlane(args.dataplane, cfg, args.interface, defaultOptions.connTableSize, root, args.busyPollUs);
    director = new Director({
      configFile: args.configFile, logger: subsystemLogger(root, 'main'), dataplane, config,
      health: buildHealth(root), ha: haWanted(cfg) ? buildHa(root, dataplane) : undefined, where: buildWhere(),
      drainTimeoutMs: defaultOptions.drainTimeoutMs, drainPollMs: defaultOptions.drainPollMs,
      rateSampleMs: defaultOptions.rateSampleMs, bannerTableSize: defaultOptions.ipvsBannerTableSize,
    });
    await director.start(cfg);
    if (args.metrics) {
      const registry = createMetricsRegistry(director);
      metrics = await startMetricsServer(registry, args.metrics);
      log.info({ listen: args.metrics, port: metrics.port }, 'metrics listening on /metrics');
    }
  } catch (e) {
    log.fatal({ code: isDirectordError(e) ? e.code : 'E_INTERNAL', error: isDirectordError(e) ? e.format() : String(e) }, 'cannot start');
    await control.stop();
    await metrics?.close();
    await director?.stop(); // undo what did start (checks, data plane, a VIP)
    return 1;
  }
  const d = director as Director;
  g.open(d);
  log.info({ config: args.configFile, socket: args.socket, dataplane: args.dataplane, pid: process.pid }, 'directord ready');
  const sd = createSdNotifier(log);
  const summary = (): string => {
    const s = d.status({ connections: false, connectionLimit: 0 });
    const up = s.health.filter((h) => h.state === 'up').length;
    return `${s.ha.role} ${s.ha.state}, forwarding ${s.ha.forwarding ? 'on' : 'off'}, ${s.services.length} virtual(s), ${up}/${s.health.length} real servers up`;
  };
  void sd.notify({ READY: '1', STATUS: summary() });

  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = async (signal: string): Promise<void> => {
      if (stopping) return;
      stopping = true;
      log.info({ signal }, 'stopping');
      await sd.notify({ STOPPING: '1', STATUS: 'stopping: handing over the VIPs' });
      await control.stop();
      await metrics?.close();
      await d.stop();
      log.info('stopped');
      resolve(0);
    };
    process.on('SIGTERM', () => void stop('SIGTERM'));
    process.on('SIGINT', () => void stop('SIGINT'));
    process.off('SIGHUP', early);
    process.on('SIGHUP', () => {
      log.info({ signal: 'SIGHUP' }, 'reloading');
      void sd.notify({ RELOADING: '1', STATUS: 'reloading' });
      void d.reload().then((r) =>
        sd.notify({ READY: '1', STATUS: r.result === 'success' ? summary() : `last reload FAILED (${r.error?.code}), running configuration kept; ${summary()}` }),
      );
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
  if (args.checkConfig) return runCheckConfigCommand(args.configFile, args.json);
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
  // Logs are written synchronously by pino to stdout; exit explicitly so no stray timer keeps the process alive.
  process.exit(code);
})();

export type { Logger };
