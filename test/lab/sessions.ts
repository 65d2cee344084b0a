// Many long-lived MySQL sessions through the VIP from one process (a child in the client namespace): some idle,
// some querying every intervalMs (every writeEvery-th query an INSERT whose commit the client records). Reports
// broken sessions (errors, resets), the longest wait for an answer, and what it saw committed, as JSON lines.
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { Lab } from './lab';
import { paths, ensureLabBuilt } from './build-lab';
import { onJsonLines } from './json-lines';

const CHILD_FLAG = 'DIRECTORD_SESSIONS_CHILD';

export interface SessionsTarget {
  host: string;
  port?: number;
  user: string;
  password: string;
  /** Sessions to open, and how many of them query (the rest stay idle until check()). */
  count: number;
  active: number;
  intervalMs?: number;
  /** Every n-th query of an active session is an INSERT into `table` (created by the parent). */
  writeEvery?: number;
  table?: string;
  /** A query unanswered this long counts the session as broken (set above the longest expected stall). */
  queryTimeoutMs?: number;
  connectConcurrency?: number;
  /** Count the queries that waited longer than this (the stall goal). */
  stallGoalMs?: number;
}

export const SESSIONS_TABLE_SQL = 'CREATE TABLE IF NOT EXISTS test.sessions (conn INT NOT NULL, n INT NOT NULL, PRIMARY KEY (conn, n))';

export interface SessionsReport {
  opened: number;
  broken: number;
  errors: Array<{ conn: number; code: string; at: number }>;
  /** Longest time a query of an active session waited for its answer, and when that wait ended (ms epoch). */
  maxStallMs: number;
  maxStallEndedAt: number;
  queries: number;
  /** Queries that waited longer than stallGoalMs, and the sessions they belong to. */
  overGoal: number;
  sessionsOverGoal: number;
  /** Acknowledged commits: conn → n values. */
  committed: Record<number, number[]>;
  /** Idle sessions answered the final check. */
  idleAlive: number;
}

type ChildEvent = { kind: 'opened'; opened: number; failed: number } | { kind: 'checked'; alive: number } | ({ kind: 'report' } & SessionsReport) | { kind: 'err'; conn: number; code: string; at: number };

/** Parent side. */
export class Sessions {
  private child?: ChildProcess;
  private stderr = '';
  private readonly events: ChildEvent[] = [];
  readonly errors: Array<{ conn: number; code: string; at: number }> = [];

  constructor(private readonly lab: Lab, private readonly host: string, private readonly target: SessionsTarget) {}

  /** Start and wait until every session is open (throws if some could not be opened). */
  async open(timeoutMs = 120000): Promise<void> {
    ensureLabBuilt();
    const script = join(paths.root, 'dist', 'test', 'lab', 'sessions.js');
    this.child = this.lab.spawn(this.host, ['node', script, JSON.stringify(this.target)], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, [CHILD_FLAG]: '1' } });
    onJsonLines<ChildEvent>(this.child.stdout!, (e) => (e.kind === 'err' ? this.errors.push(e) : this.events.push(e)), (l) => (this.stderr += `\n${l}`));
    this.child.stderr!.on('data', (d) => (this.stderr = (this.stderr + String(d)).slice(-4000)));
    const o = (await this.wait('opened', timeoutMs)) as Extract<ChildEvent, { kind: 'opened' }>;
    if (o.failed > 0) throw new Error(`${o.failed} of ${this.target.count} sessions could not be opened: ${this.errors.slice(0, 3).map((e) => e.code).join(', ')}`);
  }

  /** Every idle session runs one query; returns how many answered. */
  async checkIdle(timeoutMs = 60000): Promise<number> {
    this.child!.stdin!.write('check\n');
    return ((await this.wait('checked', timeoutMs)) as Extract<ChildEvent, { kind: 'checked' }>).alive;
  }

  /** Stop querying, close every session, return the report. */
  async finish(timeoutMs = 60000): Promise<SessionsReport> {
    this.child!.stdin!.write('stop\n');
    const r = (await this.wait('report', timeoutMs)) as SessionsReport & { kind: 'report' };
    return r;
  }

  kill(): void {
    if (this.child && this.child.exitCode === null) this.child.kill('SIGKILL');
  }

  diagnostics(): string {
    return this.stderr.trim();
  }

  private wait(kind: ChildEvent['kind'], timeoutMs: number): Promise<ChildEvent> {
    const t0 = Date.now();
    return new Promise((resolve, reject) => {
      const poll = (): void => {
        const i = this.events.findIndex((e) => e.kind === kind);
        if (i >= 0) return resolve(this.events.splice(i, 1)[0]);
        if (this.child?.exitCode !== null && this.child?.exitCode !== undefined) return reject(new Error(`sessions child exited ${this.child.exitCode}: ${this.diagnostics()}`));
        if (Date.now() - t0 > timeoutMs) return reject(new Error(`sessions: no '${kind}' after ${timeoutMs} ms: ${this.diagnostics()}`));
        setTimeout(poll, 50);
      };
      poll();
    });
  }
}

/** Child side. */
async function runChild(o: SessionsTarget): Promise<void> {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const mysql = require('mysql2') as typeof import('mysql2');
  type Conn = ReturnType<typeof mysql.createConnection>;
  const out = (e: ChildEvent): void => void process.stdout.write(JSON.stringify(e) + '\n');
  const conns: Array<{ c: Conn; broken: boolean; id: number }> = [];
  const errors: SessionsReport['errors'] = [];
  const committed: Record<number, number[]> = {};
  let maxStallMs = 0;
  let maxStallEndedAt = 0;
  let queries = 0;
  let overGoal = 0;
  const sessionsOverGoal = new Set<number>();
  let stopping = false;
  const breakConn = (s: (typeof conns)[number], code: string): void => {
    if (s.broken || stopping) return;
    s.broken = true;
    const e = { conn: s.id, code, at: Date.now() };
    errors.push(e);
    out({ kind: 'err', ...e });
  };
  const query = (s: (typeof conns)[number], sql: string, values?: unknown[]): Promise<boolean> =>
    new Promise((resolve) => {
      const t0 = Date.now();
      s.c.query({ sql, values, timeout: o.queryTimeoutMs ?? 30000 }, (err) => {
        const now = Date.now();
        queries++;
        if (now - t0 > maxStallMs) [maxStallMs, maxStallEndedAt] = [now - t0, now];
        if (o.stallGoalMs !== undefined && now - t0 > o.stallGoalMs) {
          overGoal++;
          sessionsOverGoal.add(s.id);
        }
        if (err) breakConn(s, err.code ?? String(err));
        resolve(!err);
      });
    });

  // Open with bounded concurrency.
  let failed = 0;
  let next = 0;
  const opener = async (): Promise<void> => {
    while (next < o.count) {
      const id = next++;
      const c = mysql.createConnection({ host: o.host, port: o.port ?? 3306, user: o.user, password: o.password, connectTimeout: 20000 });
      const s = { c, broken: false, id };
      const ok = await new Promise<boolean>((r) => c.connect((e) => r(!e)));
      if (!ok) {
        failed++;
        continue;
      }
      c.on('error', (e: { code?: string }) => breakConn(s, e.code ?? 'error'));
      c.on('end', () => breakConn(s, 'closed by peer'));
      conns.push(s);
    }
  };
  await Promise.all(Array.from({ length: o.connectConcurrency ?? 25 }, opener));
  out({ kind: 'opened', opened: conns.length, failed });

  const active = conns.slice(0, o.active);
  const idle = conns.slice(o.active);
  const loops = active.map(async (s) => {
    let n = 0;
    // Spread the sessions over the interval.
    await new Promise((r) => setTimeout(r, Math.random() * (o.intervalMs ?? 100)));
    while (!stopping && !s.broken) {
      const t0 = Date.now();
      n++;
      if (o.writeEvery && n % o.writeEvery === 0) {
        if (await query(s, `INSERT INTO ${o.table ?? 'test.sessions'} (conn, n) VALUES (?, ?)`, [s.id, n])) (committed[s.id] ??= []).push(n);
      } else await query(s, 'SELECT 1');
      await new Promise((r) => setTimeout(r, Math.max(0, (o.intervalMs ?? 100) - (Date.now() - t0))));
    }
  });

  const rl = require('node:readline').createInterface({ input: process.stdin }) as import('node:readline').Interface;
  rl.on('line', async (line) => {
    if (line === 'check') {
      const ok = await Promise.all(idle.map((s) => (s.broken ? false : query(s, 'SELECT 1'))));
      out({ kind: 'checked', alive: ok.filter(Boolean).length });
    } else if (line === 'stop') {
      stopping = true;
      await Promise.all(loops);
      const idleAlive = idle.filter((s) => !s.broken).length;
      const broken = conns.filter((s) => s.broken).length;
      out({ kind: 'report', opened: conns.length, broken, errors, maxStallMs, maxStallEndedAt, queries, overGoal, sessionsOverGoal: sessionsOverGoal.size, committed, idleAlive });
      for (const s of conns) s.c.destroy();
      process.exit(0);
    }
  });
}

if (require.main === module && process.env[CHILD_FLAG] === '1') {
  runChild(JSON.parse(process.argv[2]) as SessionsTarget).catch((e) => {
    process.stderr.write(String(e?.stack ?? e) + '\n');
    process.exit(1);
  });
}
