// Failures the seed's TCP check cannot see (a hung mysqld still completes TCP handshakes; a replica whose SQL thread
// stopped still accepts logins), caught by directord's `check = mysql`. Variant of the seed's lvs.cf: send_program,
// send and expect replaced by the MySQL check with the seed lab's monitor user; fast clocks as in failures.test.ts.
import t, { type Test } from 'tap';
import { readFileSync } from 'node:fs';
import { labAvailable, waitFor } from '../lab/lab';
import { SeedLab, SEED_USERS, seedVariant, FAST_TIMINGS } from '../lab/seed';
import { waitCaughtUp, waitReplicating, type MariaDbServer } from '../lab/mariadb';
import type { Workload } from '../lab/workload';
import { ensureLabBuilt, paths } from '../lab/build-lab';

const SLACK_MS = 3000;
const DETECTION_MS = 2 * FAST_TIMINGS.virtual.timeout * 1000 + SLACK_MS;

function mysqlCheckConfig(): string {
  const fast = seedVariant(readFileSync(paths.seedConfig, 'utf8'), { ...FAST_TIMINGS.global }, {
    ...FAST_TIMINGS.virtual,
    check: 'mysql', mysql_user: SEED_USERS.monitor.user, mysql_password: SEED_USERS.monitor.password,
  });
  return fast.split('\n').filter((l) => !/^\s*(send_program|send|expect) = /.test(l)).join('\n');
}

t.test('the MySQL check takes out a hung server and a broken replica', { skip: !labAvailable() && 'needs root and ip netns' }, async (t) => {
  ensureLabBuilt();
  const seed = await SeedLab.create();
  let workload: Workload | undefined;
  t.teardown(async () => {
    await workload?.stop();
    await seed.destroy();
  });
  const lb1 = await seed.startDirector('lb1', mysqlCheckConfig());
  await lb1.waitForwarding(true, 15000);
  await waitFor('both servers up by the MySQL check', async () => (await lb1.status()).health.filter((h) => h.inTable && h.state === 'up').length === 2, 20000, 100);

  const w = await seed.startWorkload({ intervalMs: 20, timeoutMs: 1000 });
  workload = w;
  await waitFor('the workload to commit through the VIP', () => w.committed.length > 5, 20000, 100);
  const server = (name: 'sql1' | 'sql2'): MariaDbServer => (name === 'sql1' ? seed.sql1 : seed.sql2);

  const outAndBack = async (t: Test, what: string, breakIt: (s: MariaDbServer) => Promise<void> | void, repair: (s: MariaDbServer) => Promise<void> | void, reason: RegExp): Promise<void> => {
    const victim = await seed.waitServedBy('any');
    const s = server(victim);
    const mark = lb1.records.length;
    const t0 = Date.now();
    await breakIt(s);
    const down = await lb1.waitLog(`[inactive] ${victim}`, (r) => /^\[inactive\] shutting down/.test(String(r.msg)) && String(r.msg).includes(s.address), 20000, mark);
    const view = (await lb1.status()).health.find((h) => h.address === s.address);
    t.match(`${view?.reason ?? ''} ${JSON.stringify(down)}`, reason, `${what}: taken out with its reason (${view?.reason})`);
    const ms = await waitFor(`a commit after ${what}`, () => w.recoveryMs(t0), DETECTION_MS + 20000, 50);
    t.ok(ms <= DETECTION_MS, `${what}: new connections commit after ${ms} ms (bound ${DETECTION_MS} ms)`);
    t.not(w.lastOk()!.serverId, s.options.serverId, 'traffic moved to the other server');
    await repair(s);
    await lb1.waitLog(`[ active ] ${victim}`, (r) => /^\[ active \] making/.test(String(r.msg)) && String(r.msg).includes(s.address), 30000, mark);
    t.pass(`${victim} back after repair`);
  };

  await t.test('a hung mysqld (SIGSTOP)', (t) =>
    outAndBack(t, 'mysqld hung', (s) => s.pause(), (s) => s.resume(), /timeout|timed out|ETIMEDOUT|hung/i));

  await t.test("a replica whose SQL thread stopped", (t) =>
    outAndBack(t, 'replication broken', (s) => s.stopSqlThread(), async (s) => {
      await s.startSlave();
      await waitReplicating(s);
    }, /replication_sql_stopped/));

  await w.stop();
  await waitCaughtUp(seed.sql1, seed.sql2);
  await waitCaughtUp(seed.sql2, seed.sql1);
  const rows1 = (await seed.sql1.query('select seq from test.workload order by seq')).map((r) => Number(r[0]));
  const rows2 = (await seed.sql2.query('select seq from test.workload order by seq')).map((r) => Number(r[0]));
  t.same(w.committed.filter((n) => !rows1.includes(n) || !rows2.includes(n)), [], `no committed transaction lost (${w.committed.length} committed)`);
  t.same(rows1, rows2, 'the rows on sql1 and sql2 end identical');
});
