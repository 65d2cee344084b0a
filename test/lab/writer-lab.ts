// Writer-mode lab helpers on the seed lab: the writer-mode lvs.cf, counter clients through the VIP, a Last_SQL_Errno
// sampler, and the end-of-test proof (replication clean, servers equal, no lost update, one writer at a time).
import { readFileSync } from 'node:fs';
import type { Test } from 'tap';
import { SEED, SEED_USERS, seedVariant, FAST_TIMINGS, type SeedLab } from './seed';
import { waitCaughtUp, type MariaDbServer } from './mariadb';
import { COUNTERS_TABLE_SQL, Workload, type WorkloadEvent } from './workload';
import { paths } from './build-lab';
import { waitFor } from './lab';
import type { WriterStatusView } from '../../src/control/types';
import type { DirectorProcess } from './director-process';

export const SQL1 = 'sql1.example.com';
export const SQL2 = 'sql2.example.com';
export const ROWS = 10;
export type Ok = Extract<WorkloadEvent, { kind: 'ok' }>;

/** The seed's lvs.cf, fast timings, `check = mysql` with the monitor user, writer mode on (plus `extra` keys). */
export function writerConfig(holddown: number, extra: Record<string, string | number> = {}): string {
  const text = seedVariant(readFileSync(paths.seedConfig, 'utf8'), { ...FAST_TIMINGS.global }, {
    ...FAST_TIMINGS.virtual,
    check: 'mysql', mysql_user: SEED_USERS.monitor.user, mysql_password: SEED_USERS.monitor.password,
    writer_mode: 1, writer_holddown: holddown, ...extra,
  });
  return text.split('\n').filter((l) => !/^\s*(send_program|send|expect) = /.test(l)).join('\n');
}

export async function writerView(lb: DirectorProcess): Promise<WriterStatusView> {
  const s = await lb.status();
  const w = s.writers?.[0];
  if (!w) throw new Error(`no writer view in status: ${JSON.stringify(s.health)}`);
  return w;
}

/** The counter rows and `n` clients UPDATEing them through the VIP, a new connection per transaction. */
export class CounterClients {
  readonly clients: Workload[] = [];
  private sampling = true;
  readonly sqlErrnos = new Set<string>();
  private sampler?: Promise<void>;

  constructor(private readonly seed: SeedLab) {}

  async createTable(): Promise<void> {
    await this.seed.sql1.query(`${COUNTERS_TABLE_SQL}; INSERT INTO test.counters (id) VALUES ${Array.from({ length: ROWS }, (_, i) => `(${i})`).join(',')}`);
    await waitCaughtUp(this.seed.sql2, this.seed.sql1);
    // Replication errors, sampled all along: Last_SQL_Errno must stay 0 on both.
    this.sampler = (async () => {
      while (this.sampling) {
        for (const s of [this.seed.sql1, this.seed.sql2]) {
          if (!s.running) continue;
          const st = await s.slaveStatus().catch(() => undefined);
          if (st && st.Last_SQL_Errno && st.Last_SQL_Errno !== '0') this.sqlErrnos.add(`${s.host}: ${st.Last_SQL_Errno} ${st.Last_SQL_Error}`);
        }
        await new Promise((r) => setTimeout(r, 300));
      }
    })();
  }

  start(n: number): void {
    for (let i = 0; i < n; i++) {
      const w = new Workload(this.seed.lab, 'client', { host: SEED.vip, ...SEED_USERS.nova, intervalMs: 20, connectTimeoutMs: 1000, queryTimeoutMs: 1000, counterRows: ROWS });
      this.clients.push(w);
      w.start();
    }
  }

  async stopClients(): Promise<void> {
    for (const c of this.clients) await c.stop();
  }

  committed(): number {
    return this.clients.reduce((n, c) => n + c.committed.length, 0);
  }

  oks(): Ok[] {
    return this.clients.flatMap((c) => c.events.filter((e): e is Ok => e.kind === 'ok'));
  }

  /** Commits whose transaction began at or after `since` on server_id `serverId`. */
  okAfter(since: number, serverId: number): Ok[] {
    return this.oks().filter((e) => e.at - e.ms >= since && e.serverId === serverId);
  }

  async waitCommits(n: number, timeoutMs = 20000): Promise<void> {
    const before = this.committed();
    await waitFor(`${n} more commits through the VIP`, () => this.committed() >= before + n, timeoutMs, 100);
  }

  /**
   * Stop everything, then prove: Last_SQL_Errno stayed 0, both replication threads run, both servers hold the same
   * counters, none lost a committed update, and in commit order the writes went to `servers` (server_ids) in that
   * order, each run's last commit ending before the next run's first began.
   */
  async prove(t: Test, servers: number[]): Promise<void> {
    await this.stopClients();
    this.sampling = false;
    await this.sampler;
    await waitCaughtUp(this.seed.sql1, this.seed.sql2);
    await waitCaughtUp(this.seed.sql2, this.seed.sql1);
    const all = this.oks().sort((a, b) => a.at - b.at);
    const runs: { serverId: number; first: Ok; last: Ok; n: number }[] = [];
    for (const e of all) {
      const r = runs[runs.length - 1];
      if (r && r.serverId === e.serverId) { r.last = e; r.n++; } else runs.push({ serverId: e.serverId, first: e, last: e, n: 1 });
    }
    t.comment(`writes through the VIP over time: ${runs.map((r) => `server_id ${r.serverId} × ${r.n} (${new Date(r.first.at - r.first.ms).toISOString().slice(11, 23)}…${new Date(r.last.at).toISOString().slice(11, 23)})`).join(' → ')}`);
    t.same(runs.map((r) => r.serverId), servers, `writes went to server_id ${servers.join(' → ')}`);
    for (let i = 1; i < runs.length; i++) t.ok(runs[i - 1].last.at <= runs[i].first.at - runs[i].first.ms, `run ${i}'s last write ended before run ${i + 1}'s first began`);
    t.same([...this.sqlErrnos], [], 'Last_SQL_Errno stayed 0 on both servers');
    for (const s of [this.seed.sql1, this.seed.sql2] as MariaDbServer[]) {
      const st = await s.slaveStatus();
      t.same([st.Last_SQL_Errno, st.Slave_SQL_Running, st.Slave_IO_Running], ['0', 'Yes', 'Yes'], `${s.host}: replication clean and running`);
    }
    const rows = async (s: MariaDbServer): Promise<number[]> => (await s.query('SELECT n FROM test.counters ORDER BY id')).map((r) => Number(r[0]));
    const [n1, n2] = [await rows(this.seed.sql1), await rows(this.seed.sql2)];
    t.same(n1, n2, 'both servers hold the same counters');
    const ok = Array<number>(ROWS).fill(0), unknown = Array<number>(ROWS).fill(0);
    for (const c of this.clients) {
      for (const e of c.events) {
        if (e.kind === 'ok') ok[e.seq % ROWS]++;
        else if (e.committed === 'unknown') unknown[e.seq % ROWS]++;
      }
    }
    t.same(n1.map((n, i) => n >= ok[i] && n <= ok[i] + unknown[i]), Array(ROWS).fill(true), `no committed update lost (${ok.reduce((a, b) => a + b)} committed, counters ${n1.join(' ')})`);
  }
}
