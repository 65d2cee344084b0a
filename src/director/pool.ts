// The director's view of every real server: in the IPVS table or not, its weight from health and from runtime
// overrides, drains after removal, and the kernel's list order. Pure: no timers, no I/O (fixture-tested).
import type { LvsConfig, VirtualServiceConfig } from '../config/schema';
import type { ServiceSpec } from '../table/types';
import type { HealthChange as HealthMonitorChange } from '../health';
import type { HealthState, OverrideKind } from '../control/types';

/** What the pool needs of a health verdict (the health subsystem's change event carries more). */
export type HealthChange = Pick<HealthMonitorChange, 'virtual' | 'server' | 'address' | 'port' | 'up' | 'weight' | 'inTable'> & { reason?: string };

export interface PoolEntry {
  virtual: string;
  server: string;
  address: string;
  port: number;
  configuredWeight: number;
  healthWeight: number;
  inTable: boolean;
  state: HealthState;
  lastCheck?: string;
  reason?: string;
  override?: { kind: OverrideKind; weight: number; since: string };
  /** Removed from the config: weight 0 until its connections are gone or the deadline passes. */
  drainDeadline?: number;
  /** Position in the IPVS list: a higher sequence is newer and sits nearer the head. */
  seq: number;
  /** Down by its last health verdict (kept in the table at weight 0 only by quiesce_server). */
  failed?: boolean;
  /** Writer mode: not the writer, so weight 0 and its persistence templates invalid (as a failed server's). */
  standby?: boolean;
}

export interface PoolService {
  key: string;
  config: VirtualServiceConfig;
  /** Removed from the config but kept (weight 0 everywhere) while its servers drain. */
  removed: boolean;
  entries: Map<string, PoolEntry>;
  /** Writer mode: the one entry (destKey) that takes new connections; undefined = none yet. */
  writer?: string;
}

export function serviceKey(v: Pick<VirtualServiceConfig, 'protocol' | 'address' | 'port' | 'fwmark'>): string {
  return v.fwmark ? `fwm:${v.fwmark}` : `${v.protocol}:${v.address}:${v.port}`;
}

export function destKey(address: string, port: number): string {
  return `${address}:${port}`;
}

export interface PoolOptions {
  /** Whether a health monitor decides membership; without one, active servers are listed as 'unchecked'. */
  healthWired: boolean;
  drainTimeoutMs: number;
}

export class Pool {
  readonly services = new Map<string, PoolService>();
  private seq = 0;
  constructor(private readonly opts: PoolOptions) {}

  /** A deep copy: a reload merges its configuration into a copy, so a refused reload leaves this pool untouched. */
  clone(): Pool {
    const p = new Pool(this.opts);
    p.seq = this.seq;
    for (const [key, svc] of this.services) {
      const entries = new Map([...svc.entries].map(([dk, e]) => [dk, { ...e, override: e.override && { ...e.override } }]));
      p.services.set(key, { ...svc, entries });
    }
    return p;
  }

  /**
   * Merge a (new) configuration by identity: (proto, VIP, port)/fwmark for virtuals, (address, port) for servers.
   * Unchanged entries keep their health state, overrides and list position; removed ones start draining.
   * Returns a human-readable list of what changed.
   */
  applyConfig(cfg: LvsConfig, now: number): string[] {
    const changes: string[] = [];
    const seen = new Set<string>();
    for (const v of cfg.virtuals) {
      if (!v.active) continue;
      const key = serviceKey(v);
      seen.add(key);
      let svc = this.services.get(key);
      if (!svc) {
        svc = { key, config: v, removed: false, entries: new Map() };
        this.services.set(key, svc);
        changes.push(`virtual ${v.name} (${key}) added`);
      } else {
        if (svc.removed) changes.push(`virtual ${v.name} (${key}) re-added`);
        else if (serviceShape(svc.config) !== serviceShape(v)) changes.push(`virtual ${v.name} (${key}) changed`);
        svc.config = v;
        svc.removed = false;
      }
      const seenDests = new Set<string>();
      for (const s of v.servers) {
        if (!s.active) continue;
        const dk = destKey(s.address, s.port);
        seenDests.add(dk);
        const e = svc.entries.get(dk);
        if (!e) {
          const fresh: PoolEntry = {
            virtual: v.name, server: s.name, address: s.address, port: s.port, configuredWeight: s.weight,
            healthWeight: this.opts.healthWired ? 0 : s.weight,
            inTable: !this.opts.healthWired,
            state: this.opts.healthWired ? 'down' : 'unchecked',
            reason: this.opts.healthWired ? 'not checked yet' : 'no health monitor wired: listed as configured',
            seq: this.opts.healthWired ? 0 : ++this.seq,
          };
          svc.entries.set(dk, fresh);
          changes.push(`server ${v.name}/${s.name} (${dk}) added`);
        } else {
          if (e.drainDeadline !== undefined) {
            e.drainDeadline = undefined;
            changes.push(`server ${v.name}/${s.name} (${dk}) re-added while draining`);
          } else if (e.configuredWeight !== s.weight || e.server !== s.name) {
            changes.push(`server ${v.name}/${s.name} (${dk}) changed`);
          }
          e.virtual = v.name;
          e.server = s.name;
          if (!this.opts.healthWired && e.healthWeight === e.configuredWeight) e.healthWeight = s.weight;
          e.configuredWeight = s.weight;
        }
      }
      for (const [dk, e] of svc.entries) {
        if (!seenDests.has(dk) && e.drainDeadline === undefined) this.startDrain(svc, dk, e, now, changes);
      }
      markStandbys(svc);
    }
    for (const [key, svc] of this.services) {
      if (seen.has(key) || svc.removed) continue;
      svc.removed = true;
      changes.push(`virtual ${svc.config.name} (${key}) removed: draining`);
      for (const [dk, e] of svc.entries) if (e.drainDeadline === undefined) this.startDrain(svc, dk, e, now, changes);
    }
    return changes;
  }

  private startDrain(svc: PoolService, dk: string, e: PoolEntry, now: number, changes: string[]): void {
    if (!e.inTable) {
      svc.entries.delete(dk);
      changes.push(`server ${e.virtual}/${e.server} (${dk}) removed (was not in the table)`);
      return;
    }
    e.drainDeadline = now + this.opts.drainTimeoutMs;
    e.state = 'draining';
    e.reason = 'removed from the configuration: draining';
    changes.push(`server ${e.virtual}/${e.server} (${dk}) removed: draining`);
  }

  /** Writer mode: the one server of a virtual that takes new connections (null: none). True when it changed. */
  setWriter(key: string, writer: string | null): boolean {
    const svc = this.services.get(key);
    if (!svc || (svc.writer ?? null) === writer) return false;
    svc.writer = writer ?? undefined;
    markStandbys(svc);
    return true;
  }

  /** A health verdict; returns true when the data-plane table must be rewritten. */
  applyHealth(c: HealthChange, at: string): boolean {
    const e = this.find(c.virtual, c.address, c.port);
    if (!e || e.drainDeadline !== undefined) return false;
    const before = `${e.inTable}/${e.healthWeight}/${e.inTable && e.failed === true}`; // failed only matters in the table
    if (c.inTable && !e.inTable) e.seq = ++this.seq; // IPVS adds new dests at the head of the list
    e.inTable = c.inTable;
    e.healthWeight = c.weight;
    e.failed = !c.up;
    e.state = c.up ? 'up' : c.inTable ? 'quiesced' : 'down';
    e.reason = c.reason;
    e.lastCheck = at;
    return before !== `${e.inTable}/${e.healthWeight}/${e.inTable && e.failed}`;
  }

  /** Whether every server has had a first check (or no monitor decides): before, the table lacks servers still unchecked. */
  checksSettled(): boolean {
    if (!this.opts.healthWired) return true;
    for (const svc of this.services.values()) for (const e of svc.entries.values()) if (e.lastCheck === undefined && e.drainDeadline === undefined) return false;
    return true;
  }

  /** A finished check: remember when and why, even when the verdict did not change. */
  noteCheck(virtual: string, server: string, at: string, ok: boolean, reason: string | undefined): void {
    for (const svc of this.services.values()) {
      if (svc.config.name !== virtual) continue;
      for (const e of svc.entries.values()) {
        if (e.server !== server || e.drainDeadline !== undefined) continue;
        e.lastCheck = at;
        if (!ok || e.state === 'up') e.reason = reason;
      }
    }
  }

  private find(virtual: string, address: string, port: number): PoolEntry | undefined {
    for (const svc of this.services.values()) {
      if (svc.config.name !== virtual) continue;
      return svc.entries.get(destKey(address, port));
    }
    return undefined;
  }

  /** Entries matching an operator's SERVER word: name, ADDRESS, ADDRESS:PORT, or VIRTUAL/SERVER. */
  match(word: string): PoolEntry[] {
    const slash = word.indexOf('/');
    const virtual = slash >= 0 ? word.slice(0, slash) : undefined;
    const who = slash >= 0 ? word.slice(slash + 1) : word;
    const out: PoolEntry[] = [];
    for (const svc of this.services.values()) {
      for (const e of svc.entries.values()) {
        if (e.drainDeadline !== undefined) continue;
        if (virtual !== undefined && e.virtual !== virtual) continue;
        if (e.server === who || e.address === who || destKey(e.address, e.port) === who) out.push(e);
      }
    }
    return out;
  }

  /** Every configured server, for "unknown server" errors. */
  known(): string[] {
    const out: string[] = [];
    for (const svc of this.services.values()) {
      for (const e of svc.entries.values()) if (e.drainDeadline === undefined) out.push(`${e.virtual}/${e.server} (${destKey(e.address, e.port)})`);
    }
    return out;
  }

  effectiveWeight(e: PoolEntry): number {
    if (e.drainDeadline !== undefined) return 0;
    if (e.standby || e.override?.kind === 'drain') return 0;
    if (e.override?.kind === 'weight' && (e.state === 'up' || e.state === 'unchecked')) return e.override.weight;
    return e.healthWeight;
  }

  /** Drained entries whose connections are gone (or whose deadline passed) leave the table. */
  expireDrains(liveConns: (address: string, port: number, svc: PoolService) => number, now: number): string[] {
    const removed: string[] = [];
    for (const [key, svc] of this.services) {
      for (const [dk, e] of svc.entries) {
        if (e.drainDeadline === undefined) continue;
        const conns = liveConns(e.address, e.port, svc);
        if (conns === 0 || now >= e.drainDeadline) {
          svc.entries.delete(dk);
          removed.push(`${e.virtual}/${e.server} (${dk}) drained${conns === 0 ? '' : ` at the deadline with ${conns} connections left`}`);
        }
      }
      if (svc.removed && svc.entries.size === 0) this.services.delete(key);
    }
    return removed;
  }

  /**
   * A server down by its health check but kept in the table (quiesce_server) must not keep its persistent clients:
   * IPVS would send them to the dead server for as long as they retry. An operator's weight 0 is not a failure, and
   * failed_server_keeps_templates = 1 restores IPVS's behaviour.
   */
  private failedForTemplates(svc: PoolService, e: PoolEntry): boolean {
    return e.standby === true || (e.failed === true && !svc.config.failedServerKeepsTemplates);
  }

  /** The data plane's policy table: present dests in kernel list order (newest first). */
  specs(): ServiceSpec[] {
    const out: ServiceSpec[] = [];
    for (const svc of this.services.values()) {
      const v = svc.config;
      // writer_demote = close: a server that is not the writer stays listed (weight 0) even while down by its check,
      // so the data plane answers its connections' packets with a RST instead of dropping them as a removed dest's.
      const closing = (e: PoolEntry): boolean => e.standby === true && v.writer?.demote === 'close' && e.drainDeadline === undefined;
      const dests = [...svc.entries.values()]
        .filter((e) => e.inTable || closing(e))
        .sort((a, b) => b.seq - a.seq)
        .map((e) => ({
          address: e.address, port: e.port, weight: this.effectiveWeight(e), ...(this.failedForTemplates(svc, e) ? { failed: true } : {}),
          // Only a demoted writer has connections to close: a standby never takes new ones.
          ...(closing(e) ? { closeConns: true } : {}),
        }));
      // lvsd's sorry_server (never in writer mode: there is no second place for writes): added (weight 1) while no real server can take new connections, removed when one can.
      if (v.sorryServer && !v.writer?.enabled && !dests.some((d) => d.weight > 0)) dests.push({ address: v.sorryServer, port: v.port, weight: 1 });
      out.push({
        vip: v.address, port: v.port, protocol: v.protocol, fwmark: v.fwmark, scheduler: v.scheduler,
        persistent: v.persistent, pmask: v.persistent > 0 && v.pmask ? v.pmask : '255.255.255.255',
        expireQuiescentTemplate: v.expireQuiescentTemplate, expireNodestConn: v.expireNodestConn, dests,
      });
    }
    return out;
  }
}

/** Writer mode: every entry but the writer is a standby; without writer mode none is. */
function markStandbys(svc: PoolService): void {
  const on = svc.config.writer?.enabled === true;
  if (!on) svc.writer = undefined;
  for (const [dk, e] of svc.entries) e.standby = on && dk !== svc.writer;
}

function serviceShape(v: VirtualServiceConfig): string {
  return JSON.stringify([v.scheduler, v.persistent, v.pmask, v.expireQuiescentTemplate, v.expireNodestConn, v.failedServerKeepsTemplates, v.name, v.writer ?? null]);
}
