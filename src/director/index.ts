// The wiring: configuration → pool → data-plane tables; health verdicts and runtime overrides → table updates;
// HA hooks → forwarding; live state → one snapshot for directorctl and /metrics. Reload = load → validate → diff →
// check everything apply needs → apply as a transaction (undone in reverse when a step throws).
import type { Logger } from '../log';
import type { LvsConfig } from '../config/schema';
import type { DataPlane } from '../dataplane/types';
import { timeoutsFrom } from './timeouts';
import { DirectordError, isDirectordError } from '../errors';
import { ControlErrorCode } from '../control/protocol';
import type { ReloadAnswer, StatusSnapshot, WhereAnswer, WhereResult } from '../control/types';
import { parseWhereClient } from '../control/where';
import { Pool, serviceKey, type HealthChange, type PoolEntry } from './pool';
import { RateEstimator } from './rates';
import { DirectorCounters } from './counters';
import { validateServices } from '../dataplane/validate';
import { runStopSteps, type StopStep } from './shutdown';
import type { CheckObservation, ConfigSubsystem, HaFactory, HaSubsystem, HealthSubsystem, WhereFunction } from './subsystems';
import { WriterControl } from './writer-control';
import { tableViews } from './status-view';
import { liveDecision } from '../scheduler';
import { LoopStallMonitor, stallBoundMs } from '../util/loop-stall';

export interface DirectorOptions {
  configFile: string;
  logger: Logger;
  dataplane: DataPlane;
  config: ConfigSubsystem;
  health?: HealthSubsystem;
  ha?: HaFactory;
  where?: WhereFunction;
  drainTimeoutMs: number;
  drainPollMs: number;
  rateSampleMs: number;
  bannerTableSize: number;
  /** Deadline of each stop step (default 5 s). */
  stopStepTimeoutMs?: number;
}

export { timeoutsFrom } from './timeouts';

/** Also the control socket's target: each command of control/commands.ts calls one public method here. */
export class Director {
  readonly counters = new DirectorCounters();
  private cfg!: LvsConfig;
  private pool: Pool;
  /** While a reload's last steps run: the pool it would roll back to, kept current with verdicts and overrides. */
  private shadow?: Pool;
  private readonly rates = new RateEstimator();
  private ha?: HaSubsystem;
  private forwarding = false;
  /** Whether every server had its first check at the last check observation (HaSubsystem.tableChanged on the change). */
  private checksWereSettled = false;
  private reloading: Promise<ReloadAnswer> = Promise.resolve({ result: 'success', changes: [] });
  private timers: NodeJS.Timeout[] = [];
  private readonly startedAt = new Date().toISOString();
  private readonly log: Logger;
  private readonly checkObservers: ((o: CheckObservation) => void)[] = [];
  readonly writers: WriterControl;
  /** Stalls of this process's event loop (heartbeats and deadlines wait behind them): logged and counted. */
  private readonly stalls: LoopStallMonitor;

  constructor(private readonly opts: DirectorOptions) {
    this.log = opts.logger;
    this.stalls = new LoopStallMonitor(this.log, stallBoundMs(2), (s) => {
      this.counters.loopStalls.byCause[s.cause]++;
      this.counters.loopStalls.ms += s.ms;
    });
    const ro = opts.health?.setReadOnly;
    this.writers = new WriterControl(this.log, ro && ((svc, address, port, readOnly) => ro(svc.config.name, address, port, readOnly)));
    this.pool = new Pool({ healthWired: opts.health !== undefined, drainTimeoutMs: opts.drainTimeoutMs });
  }

  get config(): LvsConfig {
    return this.cfg;
  }

  /** Load the configuration (unless main already did; throws on a bad one) and bring every subsystem up. */
  async start(preloaded?: LvsConfig): Promise<void> {
    this.cfg = preloaded ?? this.opts.config.load(this.opts.configFile);
    const changes = this.pool.applyConfig(this.cfg, Date.now());
    this.log.info({ changes }, 'configuration loaded');
    const dp = this.opts.dataplane;
    dp.setTimeouts(timeoutsFrom(this.cfg));
    dp.setServices(this.pool.specs());
    await dp.start();
    if (this.opts.health) {
      this.opts.health.onChange((c) => this.onHealthChange(c));
      this.opts.health.onCheck?.((o) => {
        this.counters.observeCheck(o);
        for (const p of [this.pool, this.shadow]) p?.noteCheck(o.virtual, o.server, new Date().toISOString(), o.ok, o.reason);
        this.writers.observe(this.pool, o.virtual, o.server, o.mysql, o.durationSeconds * 1000);
        this.decideWriters();
        const settled = this.pool.checksSettled();
        if (settled && !this.checksWereSettled) this.ha?.tableChanged?.(this.pool.specs()); // a table fetch waited for this
        this.checksWereSettled = settled;
        for (const fn of this.checkObservers) fn(o);
      });
      this.opts.health.configure(this.cfg);
      await this.opts.health.start();
    }
    if (this.opts.ha) {
      // Writer mode: only the active director decides; until then this one follows what the active one sends.
      this.writers.setLeading(false);
      this.ha = this.opts.ha(this.cfg, {
        onActivate: () => {
          this.writers.setLeading(true); // before traffic: the writer is the one last adopted, and decided here now
          this.setForwarding(true, 'ha: active');
        },
        onDeactivate: () => (this.setForwarding(false, 'ha: standby'), this.writers.setLeading(false)),
        writers: this.writers.syncHook(() => this.pool, () => this.pushTables()),
        checksSettled: () => this.pool.checksSettled(),
      });
      await this.ha.start();
    } else {
      this.setForwarding(true, 'standalone (no HA wired)');
    }
    this.counters.markConfigLoaded();
    this.stalls.setBound(stallBoundMs(this.cfg.global.keepalive));
    this.stalls.start();
    this.timers.push(setInterval(() => this.pollDrains(), this.opts.drainPollMs));
    this.timers.push(setInterval(() => this.rates.sample(dp.stats(), Date.now()), this.opts.rateSampleMs));
    for (const t of this.timers) t.unref();
  }

  /**
   * Stop cleanly: HA first (gives up the VIP and tells the peer), then checks, then the data plane; each step under
   * its own deadline, so one that hangs does not keep the others from running. False when a step failed.
   */
  async stop(): Promise<boolean> {
    this.stalls.stop();
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    const ms = this.opts.stopStepTimeoutMs ?? 5000;
    const steps: StopStep[] = [];
    if (this.ha) steps.push({ what: 'ha (VIPs)', run: () => this.ha!.stop(), timeoutMs: ms });
    steps.push({ what: 'forwarding', run: () => this.setForwarding(false, 'stopping'), timeoutMs: ms });
    if (this.opts.health) steps.push({ what: 'health checks', run: () => this.opts.health!.stop(), timeoutMs: ms });
    steps.push({ what: 'data plane', run: () => this.opts.dataplane.stop(), timeoutMs: ms });
    return runStopSteps(steps, this.log);
  }

  private setForwarding(on: boolean, why: string): void {
    if (this.forwarding === on) return;
    try {
      this.opts.dataplane.setForwarding(on);
    } catch (e) {
      // A data plane that cannot forward must not hold the VIP: report it as pulse's CHILDFAIL so the peer takes over.
      this.log.error({ err: e, forwarding: on, why }, 'data plane failed to change forwarding');
      if (on) this.ha?.reportFailure?.('dataplane', e instanceof Error ? e.message : String(e));
      return;
    }
    this.forwarding = on;
    this.log.info({ forwarding: on, why }, on ? 'forwarding on' : 'forwarding off');
  }

  private pushTables(): void {
    const specs = this.pool.specs();
    this.opts.dataplane.setServices(specs);
    this.ha?.tableChanged?.(specs);
  }

  /** Writer mode: decide on the current pool; a changed writer rewrites the tables. */
  private decideWriters(): void {
    this.writers.evaluate(() => this.pool, () => this.pushTables());
  }

  private onHealthChange(c: HealthChange): void {
    this.counters.transition(c);
    const at = new Date().toISOString();
    this.shadow?.applyHealth(c, at);
    if (this.pool.applyHealth(c, at)) this.pushTables();
    this.log.info({ virtual: c.virtual, server: c.server, up: c.up, weight: c.weight, inTable: c.inTable, reason: c.reason }, 'real server state');
    this.decideWriters();
  }

  private pollDrains(): void {
    const stats = this.opts.dataplane.stats();
    const removed = this.pool.expireDrains((address, port, svc) => {
      const s = stats.services.find((x) => serviceKey({ protocol: x.protocol, address: x.vip, port: x.port, fwmark: 0 }) === svc.key || (x.vip === svc.config.address && x.port === svc.config.port));
      const d = s?.dests.find((x) => x.address === address && x.port === port);
      return d ? d.activeConns + d.inactConns : 0;
    }, Date.now());
    if (removed.length) {
      this.log.info({ removed }, 'drained servers removed');
      this.pushTables();
    }
  }

  /** SIGHUP and `directorctl reload`: serialised, so two reloads never interleave. Never rejects: a failure is
   * an answer (logged, counted), and the next reload runs whatever happened to this one. */
  reload(): Promise<ReloadAnswer> {
    const run = this.reloading.then(
      () => this.reloadNow(),
      () => this.reloadNow(),
    );
    this.reloading = run;
    return run;
  }

  private async reloadNow(): Promise<ReloadAnswer> {
    try {
      return await this.reloadTransaction();
    } catch (e) {
      const error = isDirectordError(e) ? { code: e.code, message: e.format() } : { code: 'E_INTERNAL', message: String(e) };
      this.counters.reloadFailed(error);
      this.log.error({ code: error.code, error: error.message, file: this.opts.configFile }, 'reload failed: running configuration kept');
      return { result: 'failure', changes: [], error };
    }
  }

  /** Throws before anything changed, or after undoing what did: either way the old state keeps running. */
  private async reloadTransaction(): Promise<ReloadAnswer> {
    const prev = this.cfg;
    const next = this.opts.config.load(this.opts.configFile);
    const diff = this.opts.config.diff?.(prev, next);
    const haChanged = this.ha !== undefined && (!diff || diff.haChanged);
    // What only this host can tell (a changed port taken or privileged), before anything changes.
    if (haChanged) await this.ha!.preflight?.(prev, next);
    // From here to the first await nothing else runs: the new pool is merged into a copy and its table checked
    // with the data plane's own validator, so a table the data plane would refuse never gets half applied.
    const prevPool = this.pool;
    const candidate = prevPool.clone();
    const changes = candidate.applyConfig(next, Date.now());
    try {
      validateServices(candidate.specs());
    } catch (e) {
      throw isDirectordError(e) ? new DirectordError(e.code, `the data plane would refuse the new table: ${e.message}`, { cause: e, details: e.details }) : e;
    }
    const undo: { step: string; fn: () => unknown }[] = [];
    const step = (name: string, doIt: () => unknown, undoIt: () => unknown): unknown => {
      undo.push({ step: name, fn: undoIt }); // registered first: a step that throws midway is undone too
      return doIt();
    };
    const dp = this.opts.dataplane;
    try {
      // Synchronous up to HA's await: no verdict can land between the table and the pool switch.
      if (!diff || diff.timeoutsChanged) step('timeouts', () => dp.setTimeouts(timeoutsFrom(next)), () => dp.setTimeouts(timeoutsFrom(prev)));
      if (!diff || !diff.empty) step('tables', () => dp.setServices(candidate.specs()), () => dp.setServices(prevPool.specs()));
      step('pool', () => {
        this.pool = candidate;
        this.cfg = next;
        this.shadow = prevPool;
      }, () => {
        this.pool = prevPool;
        this.cfg = prev;
      });
      // The health monitor diffs by itself: unchanged checkers keep their state.
      if (this.opts.health) step('health', () => this.opts.health!.configure(next), () => this.opts.health!.configure(prev));
      if (haChanged) await step('ha', () => this.ha!.reconfigure(next), () => this.ha!.reconfigure(prev));
    } catch (e) {
      await this.rollback(undo, e);
      throw e;
    } finally {
      this.shadow = undefined;
    }
    this.decideWriters();
    this.counters.reloadSucceeded();
    this.stalls.setBound(stallBoundMs(next.global.keepalive));
    this.log.info({ changes, configDiff: diff?.lines }, diff?.empty ? 'reload: configuration unchanged' : 'reload applied');
    return { result: 'success', changes };
  }

  private async rollback(undo: { step: string; fn: () => unknown }[], cause: unknown): Promise<void> {
    const failed = undo[undo.length - 1]?.step;
    for (const u of undo.reverse()) {
      try {
        await u.fn();
      } catch (e) {
        this.log.error({ err: e, step: u.step }, 'reload rollback: this step could not be undone');
      }
    }
    this.log.warn({ step: failed, code: isDirectordError(cause) ? cause.code : 'E_INTERNAL' }, 'reload rolled back: the previous configuration is in force again');
  }

  private resolve(word: string): PoolEntry[] {
    const found = this.pool.match(word);
    if (found.length === 0) {
      const known = this.pool.known();
      throw new DirectordError(ControlErrorCode.UnknownServer, `unknown server '${word}'; known: ${known.join(', ') || 'none'}`, { details: { server: word, known } });
    }
    return found;
  }

  private override(word: string, o: PoolEntry['override'] | undefined, what: string): unknown {
    const entries = this.resolve(word);
    for (const e of [...entries, ...(this.shadow?.match(word) ?? [])]) e.override = o && { ...o };
    this.pushTables();
    this.decideWriters();
    const servers = entries.map((e) => `${e.virtual}/${e.server}`);
    this.log.info({ servers, override: o ?? null }, what);
    return { servers, override: o ?? null };
  }

  drain(word: string): unknown {
    return this.override(word, { kind: 'drain', weight: 0, since: new Date().toISOString() }, 'runtime override: drain');
  }

  enable(word: string): unknown {
    return this.override(word, undefined, 'runtime override cleared');
  }

  setWeight(word: string, weight: number): unknown {
    return this.override(word, { kind: 'weight', weight, since: new Date().toISOString() }, 'runtime override: weight');
  }

  async takeover(opts: { force?: boolean } = {}): Promise<unknown> {
    if (!this.ha) throw new DirectordError(ControlErrorCode.Unavailable, 'no HA node is wired in this daemon: it is standalone and already forwarding');
    return (await this.ha.takeover(opts)) ?? { ok: true };
  }

  async release(): Promise<unknown> {
    if (!this.ha) throw new DirectordError(ControlErrorCode.Unavailable, 'no HA node is wired in this daemon: there is no peer to release to');
    return (await this.ha.release()) ?? { ok: true };
  }

  drainDirector(opts: { deadlineS?: number }): unknown {
    if (!this.ha?.drainDirector) throw new DirectordError(ControlErrorCode.Unavailable, 'drain-director needs scale_out = 1 (with a primary/backup pair, use release)');
    return this.ha.drainDirector(opts);
  }

  undrainDirector(): unknown {
    if (!this.ha?.undrainDirector) throw new DirectordError(ControlErrorCode.Unavailable, 'undrain-director needs scale_out = 1');
    return this.ha.undrainDirector();
  }

  where(client: string): WhereResult {
    const c = parseWhereClient(client);
    const { ip, port: cport } = c;
    const result = (answers: WhereAnswer[]): WhereResult => ({ client: ip, ...(cport === undefined ? {} : { clientPort: cport }), source: 'daemon', answers });
    // An existing connection or persistence template decides before any scheduler does.
    const virtuals = this.cfg.virtuals.map((v) => ({ vip: v.address, port: v.port, pmask: v.pmask }));
    const hit = liveDecision(this.opts.dataplane.connections(100_000), c, virtuals, this.pool.specs());
    if (hit) {
      const name = this.pool.match(`${hit.daddr}:${hit.dport}`)[0]?.server;
      return result([{
        virtual: this.virtualName(hit.vaddr, hit.vport), vip: hit.vaddr, port: hit.vport, protocol: hit.protocol,
        destination: { address: hit.daddr, port: hit.dport, server: name }, decidedBy: hit.template ? 'template' : 'connection',
        reason: hit.template ? `persistence template ${hit.caddr}:0 → ${hit.daddr}:${hit.dport} (${Math.floor(hit.expiresMs / 1000)} s left)` : `existing ${hit.state} connection`,
      }]);
    }
    if (!this.opts.where) {
      throw new DirectordError(ControlErrorCode.Unavailable, 'no existing connection for this client, and the scheduler simulator is not wired in this daemon');
    }
    const named = this.pool.specs().map((s) => ({
      ...s,
      name: this.virtualName(s.vip, s.port),
      dests: s.dests.map((d) => ({ ...d, name: this.pool.match(`${d.address}:${d.port}`)[0]?.server })),
    }));
    const answers = this.opts.where({ services: named, live: this.opts.dataplane.stats().services, client: ip, clientPort: cport });
    if (!answers.length) throw new DirectordError(ControlErrorCode.Unavailable, 'no virtual service is configured');
    return result(answers.map((a) => ({
      virtual: this.virtualName(a.vip, a.port), vip: a.vip, port: a.port, protocol: a.protocol, decidedBy: 'scheduler' as const, reason: a.reason,
      destination: a.destination ? { ...a.destination, server: this.pool.match(`${a.destination.address}:${a.destination.port}`)[0]?.server } : null,
    })));
  }

  private virtualName(vip: string, port: number): string {
    return this.cfg.virtuals.find((v) => v.address === vip && v.port === port)?.name ?? `${vip}:${port}`;
  }

  status(opts: { connections: boolean; connectionLimit: number }): StatusSnapshot {
    const { services, health } = tableViews(this.pool, this.opts.dataplane.stats(), this.rates);
    const ha = this.ha?.status();
    return {
      configFile: this.opts.configFile, startedAt: this.startedAt, dataplane: this.opts.dataplane.backend,
      subsystems: { config: true, dataplane: true, health: this.opts.health !== undefined, ha: this.ha !== undefined, scheduler: this.opts.where !== undefined },
      services, health,
      ha: ha
        ? { enabled: true, role: ha.role, state: ha.state, peer: ha.peer, lastHeartbeatAgeMs: ha.lastHeartbeatAgeMs, forwarding: this.forwarding, ...(ha.sync ? { sync: ha.sync } : {}), ...(ha.scaleOut ? { scaleOut: ha.scaleOut } : {}) }
        : { enabled: false, role: 'standalone', state: this.forwarding ? 'active' : 'inactive', forwarding: this.forwarding },
      reload: this.counters.reloadView(),
      writers: this.writers.views(this.pool),
      connections: opts.connections ? this.opts.dataplane.connections(opts.connectionLimit) : undefined,
    };
  }

  onCheckObserved(fn: (o: CheckObservation) => void): void {
    this.checkObservers.push(fn);
  }

  haStatus(): ReturnType<HaSubsystem['status']> | undefined {
    return this.ha?.status();
  }

  dataplaneStats(): ReturnType<DataPlane['stats']> {
    return this.opts.dataplane.stats();
  }
}
