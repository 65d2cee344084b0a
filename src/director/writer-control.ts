// Writer mode in the running director: one WriterState per writer-mode virtual, fed by the MySQL check, applied to
// the pool; optional read_only fencing before traffic moves; the view for status and metrics. Decisions are logged.
// With HA, the active director decides and a standby follows the decisions it receives on the sync channel.
import type { Logger } from '../log';
import type { WriterDecisionRecord, WriterRecord } from '../ha/writer-record';
import type { WriterSync } from '../ha/sync-io';
import type { MysqlObservation } from '../health/mysql-positions';
import type { Pool, PoolService } from './pool';
import { WriterState, type WriterCandidate, type WriterDecision } from './writer';

/** SET GLOBAL read_only on one server; rejects when it could not. */
export type Fence = (svc: PoolService, address: string, port: number, readOnly: boolean) => Promise<void>;

export interface WriterView extends WriterDecision {
  virtual: string;
  /** ISO time of `since`. */
  sinceIso: string | null;
  /** Who made the standing decision: 'self', or the peer director's node id (synced, or adopted at a takeover). */
  decidedBy: string;
  /** This director follows the active one's synced decision (it is not active). */
  following: boolean;
  /** Milliseconds since the peer's decision last arrived, when one did. */
  syncedAgoMs?: number;
}

/** A peer's decision as last received. */
interface PeerDecision {
  rec: WriterDecisionRecord;
  by: string;
  at: number;
}

export class WriterControl {
  private readonly states = new Map<string, WriterState>();
  /** A fenced switch in progress per service: no other decision for it until it is done. */
  private readonly busy = new Set<string>();
  private readonly last = new Map<string, WriterDecision>();
  private readonly warnedWritable = new Map<string, string>();
  /** Active (or standalone): this director decides. Not active: it follows the peer's synced decisions. */
  private leading = true;
  private readonly peer = new Map<string, PeerDecision>();
  /** Who made each service's standing decision, when not this director (kept after a takeover until we switch). */
  private readonly origin = new Map<string, string>();
  private readonly warnedUnknown = new Set<string>();

  constructor(private readonly log: Logger, private readonly fence?: Fence, private readonly now: () => number = Date.now) {}

  private state(svc: PoolService): WriterState | undefined {
    const w = svc.config.writer;
    if (!w?.enabled) {
      this.states.delete(svc.key);
      return undefined;
    }
    let s = this.states.get(svc.key);
    // One check interval of tolerance for a standby behind a busy, live writer (see WriterPolicy.toleranceMs).
    const policy = { holddownMs: w.holddown * 1000, failback: w.failback, toleranceMs: (svc.config.interval ?? svc.config.timeout) * 1000 };
    if (!s) {
      s = new WriterState(policy);
      // A pool that already names a writer (a reload) keeps it.
      if (svc.writer) s.adopt(svc.writer, 'kept across the reload', this.now());
      this.states.set(svc.key, s);
    }
    s.policy = policy;
    return s;
  }

  /** One finished MySQL check (`obs` undefined: the probe failed) that took `durationMs`. */
  observe(pool: Pool, virtual: string, server: string, obs: MysqlObservation | undefined, durationMs = 0): void {
    for (const svc of pool.services.values()) {
      if (svc.config.name !== virtual) continue;
      const st = this.state(svc);
      if (!st) continue;
      const at = this.now();
      for (const [dk, e] of svc.entries) if (e.server === server) st.observe(dk, obs ? { ...obs, at, from: at - durationMs } : null);
    }
  }

  /** Decide for every writer-mode virtual; `apply` pushes the tables when a writer changed. */
  evaluate(pool: () => Pool, apply: () => void): void {
    for (const svc of pool().services.values()) {
      const st = this.state(svc);
      if (!st || this.busy.has(svc.key)) continue;
      const candidates: WriterCandidate[] = svc.config.servers
        .filter((s) => s.active && svc.entries.has(`${s.address}:${s.port}`))
        .map((s) => {
          const e = svc.entries.get(`${s.address}:${s.port}`)!;
          // An operator's drain moves the writer away like a failure would.
          return { key: `${s.address}:${s.port}`, name: s.name, weight: s.weight, up: e.state === 'up' && e.override?.kind !== 'drain' && e.drainDeadline === undefined };
        });
      const following = !this.leading && this.peer.has(svc.key);
      const d = st.evaluate(candidates, this.now(), { hold: following });
      this.last.set(svc.key, d);
      this.reportWritable(svc, d);
      if (d.switched) this.origin.delete(svc.key);
      if (!d.switched && (svc.writer ?? null) === d.writer) continue;
      const sw = d.switched;
      if (following) this.log.info({ virtual: svc.config.name, writer: d.writerName, by: this.origin.get(svc.key), reason: d.reason }, 'writer adopted from the active director');
      else if (sw) this.log.warn({ virtual: svc.config.name, from: this.nameOf(svc, sw.from), to: d.writerName, reason: sw.reason, switches: d.switches }, 'writer switch');
      else this.log.info({ virtual: svc.config.name, writer: d.writerName, reason: d.reason }, 'writer');
      if (sw && this.fence && svc.config.writer?.fencing) {
        this.busy.add(svc.key);
        void this.fenced(svc, sw.from, d.writer!).finally(() => {
          this.busy.delete(svc.key);
          if (pool().setWriter(svc.key, d.writer)) apply();
        });
        continue;
      }
      if (pool().setWriter(svc.key, d.writer)) apply();
    }
  }

  /** HA: active (decides, sends) or not (follows what the active sends). Takes effect at the next evaluate(). */
  setLeading(on: boolean): void {
    if (on === this.leading) return;
    this.leading = on;
    if (on && this.peer.size) this.log.info({ kept: [...this.origin.entries()].map(([k, by]) => ({ service: k, by })) }, 'writer mode: this director decides now, from the writer the active director had chosen');
  }

  /** The sync channel's hook (src/ha/sync-io.ts WriterSync). */
  syncHook(pool: () => Pool, apply: () => void): WriterSync {
    return { decisions: () => this.decisions(pool()), adopt: (rec) => this.adoptPeer(pool, rec, apply) };
  }

  /** The decisions to send to the peer (active only; a service that has not chosen yet sends nothing). */
  decisions(pool: Pool): WriterDecisionRecord[] {
    if (!this.leading) return [];
    const now = this.now();
    const out: WriterDecisionRecord[] = [];
    for (const svc of pool.services.values()) {
      const st = this.states.get(svc.key);
      if (!st?.decided || !svc.config.writer?.enabled) continue;
      out.push({
        service: svc.key, writer: st.writer, sinceAgeMs: st.writer !== null && st.since !== null ? now - st.since : null,
        lastSwitchAgeMs: Number.isFinite(st.lastSwitchAt) ? now - st.lastSwitchAt : null, switches: st.switches, reason: st.reason,
      });
    }
    return out;
  }

  /** The active director's decisions arrived (we are not active): adopt them, then apply as evaluate() does. */
  adoptPeer(pool: () => Pool, rec: WriterRecord, apply: () => void): void {
    const now = this.now();
    for (const d of rec.decisions) {
      const svc = pool().services.get(d.service);
      const st = svc && this.state(svc);
      if (!svc || !st || (d.writer !== null && !svc.entries.has(d.writer))) {
        // Different configurations on the two directors: this one keeps deciding for that virtual on its own.
        const k = `${d.service}/${d.writer}`;
        if (!this.warnedUnknown.has(k)) this.log.warn({ service: d.service, writer: d.writer, by: rec.by }, 'writer decision from the peer names a virtual or server this director does not run in writer mode: ignored');
        this.warnedUnknown.add(k);
        continue;
      }
      this.peer.set(svc.key, { rec: d, by: rec.by, at: now });
      if (this.leading) continue;
      this.origin.set(svc.key, rec.by);
      st.adopt(d.writer, d.reason, d.sinceAgeMs === null ? null : now - d.sinceAgeMs, { switchAt: d.lastSwitchAgeMs === null ? null : now - d.lastSwitchAgeMs, switches: d.switches });
    }
    if (!this.leading) this.evaluate(pool, apply);
  }

  /** read_only = 1 on the demoted writer (if it answers), then read_only = 0 on the new one, before traffic moves. */
  private async fenced(svc: PoolService, from: string | null, to: string): Promise<void> {
    const at = (k: string): [string, number] => [k.slice(0, k.lastIndexOf(':')), Number(k.slice(k.lastIndexOf(':') + 1))];
    const steps: [string | null, boolean][] = [[from, true], [to, false]];
    for (const [k, ro] of steps) {
      if (!k) continue;
      try {
        await this.fence!(svc, ...at(k), ro);
        this.log.info({ virtual: svc.config.name, server: this.nameOf(svc, k), readOnly: ro }, 'writer fencing: read_only set');
      } catch (e) {
        this.log.error({ virtual: svc.config.name, server: this.nameOf(svc, k), readOnly: ro, err: e instanceof Error ? e.message : String(e) }, 'writer fencing: could not set read_only');
      }
    }
  }

  private reportWritable(svc: PoolService, d: WriterDecision): void {
    for (const s of d.servers) {
      const k = `${svc.key}/${s.key}`;
      if (s.writable && !this.warnedWritable.has(k)) {
        this.warnedWritable.set(k, s.name);
        this.log.warn({ virtual: svc.config.name, server: s.name, writer: d.writerName }, 'writer mode: a server that is not the writer has read_only = 0 (a second writable master)');
      } else if (!s.writable) this.warnedWritable.delete(k);
    }
  }

  private nameOf(svc: PoolService, key: string | null): string | null {
    return key ? svc.entries.get(key)?.server ?? key : null;
  }

  views(pool: Pool): WriterView[] {
    const out: WriterView[] = [];
    for (const svc of pool.services.values()) {
      const d = this.last.get(svc.key);
      if (!d || !svc.config.writer?.enabled) continue;
      const p = this.peer.get(svc.key);
      out.push({
        ...d, virtual: svc.config.name, sinceIso: d.since === null ? null : new Date(d.since).toISOString(),
        decidedBy: this.origin.get(svc.key) ?? 'self', following: !this.leading && p !== undefined,
        ...(p ? { syncedAgoMs: this.now() - p.at } : {}),
      });
    }
    return out;
  }
}
