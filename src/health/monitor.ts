// HealthMonitor: one checker per active real server, each on its own timer (nanny's per-server loop), feeding
// the pure state machine and emitting the desired table state. It never touches the data plane: the director
// listens to 'change' and applies it. Clock, timers and probes are injectable for unit tests.
import { EventEmitter } from 'node:events';
import type { LvsConfig } from '../config/schema';
import type { Logger } from '../log';
import { silentLogger } from '../log';
import type { CheckReason } from './reasons';
import type { Probe, ProbeResult } from './probe';
import { defaultProbeFactory, type ProbeFactory } from './probe-factory';
import { checkerSpecs, probeKey, type CheckerSpec } from './spec';
import { desired, initialState, reconcilePolicy, step, type CheckerState, type Desired } from './state';

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  /** 0..1, for jitter. */
  random(): number;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
  random: () => Math.random(),
};

/** What the director applies for one server. */
export interface HealthChange {
  virtual: string;
  server: string;
  address: string;
  port: number;
  up: boolean;
  /** Effective weight: slow-start ramp included, 0 when quiesced, drained or out. */
  weight: number;
  /** false = the entry must not be in the table (never added, or removed because quiesce_server is off). */
  inTable: boolean;
  reason: string;
  detail?: string;
  durationMs: number;
}

/** Emitted after every probe, for metrics (durations, failures by reason). */
export interface CheckEvent {
  virtual: string;
  server: string;
  kind: string;
  ok: boolean;
  reason: CheckReason;
  durationMs: number;
  /** The MySQL check in writer mode: what writer mode decides on. */
  observation?: ProbeResult['observation'];
}

export type AdminMode = 'up' | 'down' | 'drain' | null;

export interface ServerHealth {
  virtual: string;
  server: string;
  address: string;
  port: number;
  state: 'up' | 'down' | 'quiesced' | 'unknown';
  weight: number;
  inTable: boolean;
  lastCheckAt: number | null;
  lastResult: { ok: boolean; reason: string; detail?: string; durationMs: number } | null;
  reason: string;
  consecutiveOk: number;
  consecutiveFail: number;
  /** Operator override (directorctl): up/down as nanny's SIGUSR2/SIGUSR1, drain = weight 0 kept in the table. */
  admin: AdminMode;
  checksTotal: number;
  failuresByReason: Record<string, number>;
  transitionsTotal: number;
  /** Monitor connection (re)opens of a MySQL check. */
  connectsTotal?: number;
}

interface Checker {
  spec: CheckerSpec;
  key: string;
  probe: Probe;
  state: CheckerState;
  running: boolean;
  timer: unknown;
  published: Desired;
  reason: string;
  last: ProbeResult | null;
  lastAt: number | null;
  admin: AdminMode;
  checksTotal: number;
  failuresByReason: Record<string, number>;
  transitionsTotal: number;
}

export interface HealthMonitorOptions {
  logger?: Logger;
  clock?: Clock;
  probeFactory?: ProbeFactory;
}

const id = (virtual: string, server: string): string => `${virtual}\u0000${server}`;

export class HealthMonitor extends EventEmitter {
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly makeProbe: ProbeFactory;
  private readonly checkers = new Map<string, Checker>();
  private started = false;

  constructor(opts: HealthMonitorOptions = {}) {
    super();
    this.log = opts.logger ?? silentLogger;
    this.clock = opts.clock ?? systemClock;
    this.makeProbe = opts.probeFactory ?? defaultProbeFactory;
  }

  /** Apply a (re)loaded config. Unchanged checkers keep state and timers; changed probes keep the up/down state. */
  configure(cfg: LvsConfig): void {
    const specs = checkerSpecs(cfg.virtuals);
    const seen = new Set<string>();
    for (const spec of specs) {
      const k = id(spec.virtual, spec.server);
      seen.add(k);
      const old = this.checkers.get(k);
      const key = probeKey(spec);
      if (old && old.key === key) {
        old.spec = spec;
        old.state = reconcilePolicy(old.state, spec.policy);
        this.publish(old, old.reason, old.last?.durationMs ?? 0);
        continue;
      }
      const sameServer = old && old.spec.probe.address === spec.probe.address && old.spec.probe.port === spec.probe.port;
      if (old) this.stopChecker(old);
      const c: Checker = {
        spec,
        key,
        probe: this.makeProbe(spec.probe),
        state: sameServer ? reconcilePolicy(old.state, spec.policy) : initialState(spec.policy),
        running: false,
        timer: undefined,
        published: sameServer ? old.published : { up: false, weight: 0, inTable: false },
        reason: sameServer ? old.reason : 'not_checked',
        last: sameServer ? old.last : null,
        lastAt: sameServer ? old.lastAt : null,
        admin: sameServer ? old.admin : null,
        checksTotal: sameServer ? old.checksTotal : 0,
        failuresByReason: sameServer ? old.failuresByReason : {},
        transitionsTotal: sameServer ? old.transitionsTotal : 0,
      };
      this.checkers.set(k, c);
      if (!old) this.log.info({ virtual: spec.virtual, server: spec.server, check: spec.probe.kind }, `starting LVS client monitor for ${spec.vip}:${spec.vport} -> ${spec.probe.address}:${spec.probe.port}`);
      if (this.started) this.startChecker(c, true);
    }
    for (const [k, c] of this.checkers) {
      if (seen.has(k)) continue;
      this.stopChecker(c);
      this.checkers.delete(k);
      if (c.published.inTable) this.emitChange(c, { up: false, weight: 0, inTable: false }, 'removed_from_config', 0);
    }
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    for (const c of this.checkers.values()) this.startChecker(c, true);
  }

  /** Stop all checks: timers cleared, running programs killed, MySQL monitor connections closed with COM_QUIT. */
  async stop(): Promise<void> {
    this.started = false;
    await Promise.all([...this.checkers.values()].map((c) => this.stopChecker(c)));
  }

  /** Operator override for directorctl: 'up'/'down' force the check verdict, 'drain' sets weight 0, null clears. */
  setAdmin(virtual: string, server: string, mode: AdminMode): boolean {
    const c = this.checkers.get(id(virtual, server));
    if (!c) return false;
    c.admin = mode;
    // nanny's SIGHUP: back to normal with the re-entry count satisfied; a forced 'up' enters at once too.
    if ((mode === null || mode === 'up') && !c.state.active) c.state = { ...c.state, successCount: c.spec.policy.rise };
    if (mode === 'up' || mode === 'down') this.advance(c, mode === 'up', `admin_${mode}`, { durationMs: 0 });
    else this.publish(c, mode === 'drain' ? 'admin_drain' : c.reason, 0);
    return true;
  }

  status(): ServerHealth[] {
    return [...this.checkers.values()].map((c) => {
      const d = this.effective(c);
      const state: ServerHealth['state'] = c.lastAt === null && !c.state.active ? 'unknown' : d.up && d.weight > 0 ? 'up' : d.inTable ? 'quiesced' : 'down';
      const connectsTotal = (c.probe as { connectsTotal?: number }).connectsTotal;
      return {
        virtual: c.spec.virtual,
        server: c.spec.server,
        address: c.spec.probe.address,
        port: c.spec.probe.port,
        state,
        weight: d.weight,
        inTable: d.inTable,
        lastCheckAt: c.lastAt,
        lastResult: c.last ? { ok: c.last.ok, reason: c.last.reason, detail: c.last.detail, durationMs: c.last.durationMs } : null,
        reason: c.reason,
        consecutiveOk: c.state.consecutiveOk,
        consecutiveFail: c.state.consecutiveFail,
        admin: c.admin,
        checksTotal: c.checksTotal,
        failuresByReason: { ...c.failuresByReason },
        transitionsTotal: c.transitionsTotal,
        ...(connectsTotal !== undefined ? { connectsTotal } : {}),
      };
    });
  }

  private startChecker(c: Checker, first: boolean): void {
    if (c.running) return;
    c.running = true;
    // nanny checks at once; jitter spreads the first checks of many servers over part of the interval.
    const delay = first && c.spec.jitter > 0 ? Math.floor(this.clock.random() * c.spec.jitter * c.spec.intervalMs) : 0;
    c.timer = this.clock.setTimeout(() => void this.tick(c), delay);
  }

  private async stopChecker(c: Checker): Promise<void> {
    c.running = false;
    this.clock.clearTimeout(c.timer);
    await c.probe.close();
  }

  private async tick(c: Checker): Promise<void> {
    if (!c.running) return;
    c.timer = undefined;
    const result = await c.probe.run();
    if (!c.running || c.timer !== undefined) return;
    await this.apply(c, result);
    if (!c.running || c.timer !== undefined) return;
    // nanny sleeps `timeout` from the END of the check; jitter moves each sleep by up to ±jitter/2 of it.
    const base = c.spec.intervalMs;
    const sleep = c.spec.jitter > 0 ? base * (1 + c.spec.jitter * (this.clock.random() - 0.5)) : base;
    c.timer = this.clock.setTimeout(() => void this.tick(c), Math.max(0, Math.round(sleep)));
  }

  private peers(c: Checker): Checker[] {
    return [...this.checkers.values()].filter((o) => o !== c && o.spec.virtual === c.spec.virtual && o.running);
  }

  /**
   * Is another server of this virtual healthy right now? Candidates are in service with a clean last probe (not
   * kept in by this very rule); they are probed again now, because the peer whose death broke our replication
   * may not have been checked since it died. Without that, the survivor would be taken out first.
   */
  private async hasHealthyPeer(c: Checker): Promise<boolean> {
    const candidates = this.peers(c).filter((o) => o.state.active && o.last?.ok);
    if (candidates.length === 0) return false;
    const fresh = await Promise.all(candidates.map((o) => o.probe.run()));
    return fresh.some((r) => r.ok);
  }

  private async apply(c: Checker, result: ProbeResult): Promise<void> {
    c.last = result;
    c.lastAt = this.clock.now();
    c.checksTotal++;
    if (!result.ok) c.failuresByReason[result.reason] = (c.failuresByReason[result.reason] ?? 0) + 1;
    this.emit('check', { virtual: c.spec.virtual, server: c.spec.server, kind: c.spec.probe.kind, ok: result.ok, reason: result.reason, durationMs: result.durationMs, ...(result.observation ? { observation: result.observation } : {}) } satisfies CheckEvent);
    let ok = result.ok;
    let reason: string = result.ok ? 'ok' : result.reason;
    if (!ok && result.replicationOnly && !(await this.hasHealthyPeer(c))) {
      ok = true;
      reason = `kept_last_healthy:${result.reason}`;
    }
    if (!c.running) return;
    if (c.admin === 'up') [ok, reason] = [true, 'admin_up'];
    if (c.admin === 'down') [ok, reason] = [false, 'admin_down'];
    this.advance(c, ok, reason, result);
  }

  /** One verdict through the state machine, with nanny's log lines on transitions. */
  private advance(c: Checker, ok: boolean, reason: string, result: Pick<ProbeResult, 'detail' | 'durationMs'>): void {
    const prevActive = c.state.active;
    const r = step(c.state, c.spec.policy, ok);
    c.state = r.state;
    c.reason = reason;
    const fields = { virtual: c.spec.virtual, server: c.spec.server, check: c.spec.probe.kind, reason, detail: result.detail, durationMs: Math.round(result.durationMs) };
    const rip = `${c.spec.probe.address}:${c.spec.probe.port}`;
    if (r.transition === 'up') {
      c.transitionsTotal++;
      this.log.info({ ...fields, weight: c.state.weight }, `[ active ] making ${rip} available`);
    } else if (r.transition === 'down') {
      c.transitionsTotal++;
      this.log.info(fields, `[inactive] shutting down ${rip} due to connection failure`);
    } else if (!ok) {
      this.log.debug(fields, prevActive ? `check of ${rip} failed (below fall)` : `No service active & available for ${rip}`);
    }
    this.publish(c, reason, result.durationMs);
  }

  private effective(c: Checker): Desired {
    const d = desired(c.state, c.spec.policy);
    if (c.admin === 'drain' && d.inTable) return { ...d, weight: 0 };
    return d;
  }

  private publish(c: Checker, reason: string, durationMs: number): void {
    const d = this.effective(c);
    const p = c.published;
    if (d.up === p.up && d.weight === p.weight && d.inTable === p.inTable) return;
    if (d.up && p.up) this.log.debug({ virtual: c.spec.virtual, server: c.spec.server, weight: d.weight }, `adjusting weight of ${c.spec.probe.address}:${c.spec.probe.port} to ${d.weight}`);
    this.emitChange(c, d, reason, durationMs);
  }

  private emitChange(c: Checker, d: Desired, reason: string, durationMs: number): void {
    c.published = d;
    const ev: HealthChange = { virtual: c.spec.virtual, server: c.spec.server, address: c.spec.probe.address, port: c.spec.probe.port, up: d.up, weight: d.weight, inTable: d.inTable, reason, detail: c.last?.detail, durationMs: Math.round(durationMs) };
    this.emit('change', ev);
  }
}
