// A database workload through the VIP: numbered rows, one new connection per transaction, every outcome reported.
// Run as a child inside the client namespace (node dist/test/lab/workload.js '<json>'); the parent reads JSON lines.
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { Lab } from './lab';
import { paths, ensureLabBuilt } from './build-lab';
import { onJsonLines } from './json-lines';

const CHILD_FLAG = 'DIRECTORD_WORKLOAD_CHILD';

export interface WorkloadTarget {
  host: string;
  port?: number;
  user: string;
  password: string;
  /** Pause between transactions. */
  intervalMs?: number;
  connectTimeoutMs?: number;
  /** Per-statement timeout; a hung server costs the single-threaded loop this much per attempt. */
  queryTimeoutMs?: number;
  /** Table (created by the parent) that receives (seq, server_id). */
  table?: string;
  /** Counter mode: each transaction is `UPDATE test.counters SET n = n + 1 WHERE id = seq % counterRows` instead of
   * an INSERT, so concurrent clients write the same rows (COUNTERS_TABLE_SQL, rows 0..counterRows-1 made by the parent). */
  counterRows?: number;
}

/** One line of the child's report. */
export type WorkloadEvent =
  | { kind: 'ok'; seq: number; at: number; serverId: number; ms: number }
  | { kind: 'err'; seq: number; at: number; code: string; committed: 'no' | 'unknown'; ms: number };

export const COUNTERS_TABLE_SQL = 'CREATE TABLE IF NOT EXISTS test.counters (id INT PRIMARY KEY, n INT NOT NULL DEFAULT 0)';

export const WORKLOAD_TABLE_SQL = 'CREATE TABLE IF NOT EXISTS test.workload (seq INT PRIMARY KEY, server_id INT, at TIMESTAMP(3) DEFAULT CURRENT_TIMESTAMP(3))';

/** Parent side: start the child in a lab host and collect what it says. */
export class Workload {
  readonly events: WorkloadEvent[] = [];
  private child: ChildProcess | undefined;
  private stderr = '';

  constructor(private readonly lab: Lab, private readonly host: string, private readonly target: WorkloadTarget) {}

  start(): void {
    ensureLabBuilt();
    const script = join(paths.root, 'dist', 'test', 'lab', 'workload.js');
    this.child = this.lab.spawn(this.host, ['node', script, JSON.stringify(this.target)], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, [CHILD_FLAG]: '1' },
    });
    onJsonLines<WorkloadEvent>(this.child.stdout!, (e) => this.events.push(e), (l) => (this.stderr += `\n${l}`));
    this.child.stderr!.on('data', (d) => (this.stderr = (this.stderr + String(d)).slice(-2000)));
  }

  /** Ask the child to finish its current transaction and exit (stdin closes). */
  async stop(): Promise<void> {
    const c = this.child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise<void>((r) => c.once('exit', () => r()));
    c.stdin!.end();
    const t = setTimeout(() => c.kill('SIGKILL'), 15000);
    await exited;
    clearTimeout(t);
  }

  get committed(): number[] {
    return this.events.filter((e) => e.kind === 'ok').map((e) => e.seq);
  }

  get failures(): Extract<WorkloadEvent, { kind: 'err' }>[] {
    return this.events.filter((e): e is Extract<WorkloadEvent, { kind: 'err' }> => e.kind === 'err');
  }

  /** Time from `since` (ms epoch) to the first commit that started after it, or undefined. */
  recoveryMs(since: number): number | undefined {
    const ok = this.events.find((e) => e.kind === 'ok' && e.at - e.ms >= since);
    return ok ? ok.at - since : undefined;
  }

  lastOk(): Extract<WorkloadEvent, { kind: 'ok' }> | undefined {
    return [...this.events].reverse().find((e): e is Extract<WorkloadEvent, { kind: 'ok' }> => e.kind === 'ok');
  }

  diagnostics(): string {
    return this.stderr.trim();
  }
}

/** Child side: loop until stdin closes. */
async function runChild(target: WorkloadTarget): Promise<void> {
  // Loaded here so the parent side does not need the driver.
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const mysql = require('mysql2/promise') as typeof import('mysql2/promise');
  let stopping = false;
  process.stdin.on('end', () => (stopping = true));
  process.stdin.on('close', () => (stopping = true));
  process.stdin.resume();
  const table = target.table ?? 'test.workload';
  let seq = 0;
  while (!stopping) {
    seq++;
    const started = Date.now();
    let sent = false;
    try {
      const conn = await mysql.createConnection({
        host: target.host, port: target.port ?? 3306, user: target.user, password: target.password,
        connectTimeout: target.connectTimeoutMs ?? 2000,
      });
      try {
        const [rows] = await conn.query({ sql: 'SELECT @@server_id AS id', timeout: target.queryTimeoutMs ?? 5000 });
        const serverId = Number((rows as Array<{ id: number }>)[0].id);
        sent = true;
        if (target.counterRows) await conn.query({ sql: 'UPDATE test.counters SET n = n + 1 WHERE id = ?', timeout: target.queryTimeoutMs ?? 5000 }, [seq % target.counterRows]);
        else await conn.query({ sql: `INSERT INTO ${table} (seq, server_id) VALUES (?, ?)`, timeout: target.queryTimeoutMs ?? 5000 }, [seq, serverId]);
        process.stdout.write(JSON.stringify({ kind: 'ok', seq, at: Date.now(), serverId, ms: Date.now() - started }) + '\n');
      } finally {
        conn.destroy();
      }
    } catch (e) {
      const code = (e as { code?: string }).code ?? String(e);
      process.stdout.write(JSON.stringify({ kind: 'err', seq, at: Date.now(), code, committed: sent ? 'unknown' : 'no', ms: Date.now() - started }) + '\n');
    }
    await new Promise((r) => setTimeout(r, target.intervalMs ?? 50));
  }
}

// Only when started by Workload.start (tap also loads every file under test/).
if (require.main === module && process.env[CHILD_FLAG] === '1') {
  runChild(JSON.parse(process.argv[2]) as WorkloadTarget).then(
    () => process.exit(0),
    (e) => {
      process.stderr.write(String(e) + '\n');
      process.exit(1);
    },
  );
}
