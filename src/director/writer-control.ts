// Writer mode in the running director: one WriterState per writer-mode virtual, fed by the MySQL check, applied to
// the pool; optional read_only fencing before traffic moves; the view for status and metrics. Decisions are logged.
import type { Logger } from '../log';
import type { MysqlObservation } from '../health/mysql-positions';
import type { Pool, PoolService } from './pool';
import { WriterState, type WriterCandidate, type WriterDecision } from './writer';

/** SET GLOBAL read_only on one server; rejects when it could not. */
export type Fence = (svc: PoolService, address: string, port: number, readOnly: boolean) => Promise<void>;

export interface WriterView extends WriterDecision {
  virtual: string;
  /** ISO time of `since`. */
  sinceIso: string | null;
}

export class WriterControl {
  private readonly states = new Map<string, WriterState>();
  /** A fenced switch in progress per service: no other decision for it until it is done. */
  private readonly busy = new Set<string>();
  private readonly last = new Map<string, WriterDecision>();
  private readonly warnedWritable = new Map<string, string>();

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
      const d = st.evaluate(candidates, this.now());
      this.last.set(svc.key, d);
      this.reportWritable(svc, d);
      if (!d.switched && (svc.writer ?? null) === d.writer) continue;
      const sw = d.switched;
      if (sw) this.log.warn({ virtual: svc.config.name, from: this.nameOf(svc, sw.from), to: d.writerName, reason: sw.reason, switches: d.switches }, 'writer switch');
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
      out.push({ ...d, virtual: svc.config.name, sinceIso: d.since === null ? null : new Date(d.since).toISOString() });
    }
    return out;
  }
}
