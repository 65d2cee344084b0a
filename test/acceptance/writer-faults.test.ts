// Writer mode's fault cases on one seed lab (real MariaDB multi-master, one director, fencing and failback on):
// a drain fenced with read_only; failback after the hold-down; the writer SIGSTOPped (its check times out: switch;
// no failback until it has caught up after SIGCONT); replication cut on the standby (no switch to it) and restored
// (switch after the hold-down). Two clients UPDATE counters through the VIP all along; the usual proof at the end.
import t from 'tap';
import { labAvailable, waitFor } from '../lab/lab';
import { SeedLab, SEED_USERS } from '../lab/seed';
import { ensureLabBuilt } from '../lab/build-lab';
import type { MariaDbServer } from '../lab/mariadb';
import type { LogRecord } from '../lab/director-process';
import { CounterClients, SQL1, SQL2, writerConfig, writerView } from '../lab/writer-lab';

const HOLDDOWN = 3;

t.test('writer mode faults: fencing, failback, SIGSTOP, replication cut', { skip: !labAvailable() && 'needs root and ip netns' }, async (t) => {
  ensureLabBuilt();
  const seed = await SeedLab.create();
  const load = new CounterClients(seed);
  t.teardown(async () => {
    seed.sql1?.resume();
    await load.stopClients().finally(() => seed.destroy());
  });
  // Fencing needs the check's user to set read_only (MariaDB 10.11: READ_ONLY ADMIN).
  await seed.sql1.query(`GRANT SUPER, READ_ONLY ADMIN ON *.* TO '${SEED_USERS.monitor.user}'@'%'`);
  const lb = await seed.startDirector('lb1', writerConfig(HOLDDOWN, { writer_fencing: 1, writer_failback: 1 }));
  await lb.waitForwarding(true, 15000);
  await load.createTable();
  await waitFor('sql1 writer, sql2 caught up', async () => {
    const w = await writerView(lb);
    return w.writerName === SQL1 && w.servers.find((s) => s.name === SQL2)?.why.startsWith('caught up') ? true : undefined;
  }, 30000, 200);
  load.start(2);
  await load.waitCommits(20);
  const readOnly = async (s: MariaDbServer): Promise<string> => String((await s.query('SELECT @@global.read_only'))[0][0]);
  const switchTo = (to: string, since: number, ms = 20000): Promise<LogRecord> => lb.waitLog(`writer switch to ${to}`, (r) => r.msg === 'writer switch' && r.to === to, ms, since);
  const fencing = (since: number): string[] => lb.records.slice(since).filter((r) => String(r.msg).startsWith('writer fencing')).map((r) => `${String(r.server)}=${String(r.readOnly)}${r.msg === 'writer fencing: read_only set' ? '' : ' failed'}`);
  /** The two fencing steps of the switch logged after `since` (the switch is logged before them). */
  const fenced = (since: number): Promise<string[]> => waitFor('both fencing steps', () => (fencing(since).length >= 2 ? fencing(since) : undefined), 10000, 50);

  await t.test('a drained writer is fenced: read_only = 1 on it, read_only = 0 on the new writer before traffic moves', async (t) => {
    const mark = lb.records.length;
    const t0 = Date.now();
    await lb.ctl(['drain', SQL1]);
    await switchTo(SQL2, mark);
    await waitFor('commits on sql2', () => load.okAfter(t0, 2).length > 5, 20000, 50);
    t.same(await fenced(mark), [`${SQL1}=true`, `${SQL2}=false`], 'demoted first, then the new writer');
    const set = lb.records.slice(mark).find((r) => r.msg === 'writer fencing: read_only set' && r.server === SQL2)!;
    const first = load.okAfter(t0, 2).sort((a, b) => a.at - a.ms - (b.at - b.ms))[0];
    t.ok(Date.parse(String(set.time)) <= first.at - first.ms, 'sql2 was writable before its first transaction through the VIP began');
    t.same([await readOnly(seed.sql1), await readOnly(seed.sql2)], ['1', '0'], 'read_only: sql1 1, sql2 0');
  });

  await t.test('failback to the preferred server only after the hold-down, fenced the other way', async (t) => {
    const mark = lb.records.length;
    const t0 = Date.now();
    await lb.ctl(['enable', SQL1]);
    const back = await switchTo(SQL1, mark);
    t.ok(Date.parse(String(back.time)) - t0 >= HOLDDOWN * 1000, `failback ${Date.parse(String(back.time)) - t0} ms after the drain ended (hold-down ${HOLDDOWN} s): ${String(back.reason)}`);
    t.same(await fenced(mark), [`${SQL2}=true`, `${SQL1}=false`]);
    t.same([await readOnly(seed.sql1), await readOnly(seed.sql2)], ['0', '1']);
    await load.waitCommits(5);
  });

  await t.test('the writer SIGSTOPped: its check times out, switch; no failback until it has caught up after SIGCONT', async (t) => {
    const mark = lb.records.length;
    const t0 = Date.now();
    seed.sql1.pause();
    const sw = await switchTo(SQL2, mark);
    t.pass(`switch ${Date.parse(String(sw.time)) - t0} ms after SIGSTOP: ${String(sw.reason)}`);
    await waitFor('commits on sql2', () => load.okAfter(t0, 2).length > 20, 20000, 50);
    t.match(await fenced(mark), [`${SQL1}=true failed`, `${SQL2}=false`], 'the hung writer could not be fenced (connect timeout); the switch went on');
    const t1 = Date.now();
    seed.sql1.resume();
    const back = await switchTo(SQL1, mark, 30000);
    t.ok(Date.parse(String(back.time)) - t1 >= HOLDDOWN * 1000, `failback ${Date.parse(String(back.time)) - t1} ms after SIGCONT: ${String(back.reason)}`);
    t.match(String(back.reason), /caught up/);
    t.same(load.okAfter(t0, 1).filter((e) => e.at < Date.parse(String(back.time))), [], 'no write reached sql1 before the failback');
    await load.waitCommits(5);
  });

  await t.test('replication cut on the standby: no switch to it; restored: switch after the hold-down', async (t) => {
    await seed.sql2.query('STOP SLAVE');
    await load.waitCommits(10); // sql2 falls behind
    const mark = lb.records.length;
    const t0 = Date.now();
    await lb.ctl(['drain', SQL1]);
    await new Promise((r) => setTimeout(r, (HOLDDOWN + 1) * 1000));
    let w = await writerView(lb);
    t.equal(w.writerName, SQL1, `no switch to sql2: ${w.reason}`);
    t.match(w.servers.find((s) => s.name === SQL2)?.why, /SQL thread No|behind/, `sql2: ${w.servers.find((s) => s.name === SQL2)?.why}`);
    t.same(load.okAfter(t0, 2), [], 'no write reached sql2');
    const t1 = Date.now();
    await seed.sql2.query('START SLAVE');
    const sw = await switchTo(SQL2, mark, 30000);
    t.ok(Date.parse(String(sw.time)) - t1 >= HOLDDOWN * 1000, `switch ${Date.parse(String(sw.time)) - t1} ms after START SLAVE: ${String(sw.reason)}`);
    await waitFor('commits on sql2', () => load.okAfter(t1, 2).length > 10, 20000, 50);
    w = await writerView(lb);
    t.equal(w.writerName, SQL2);
    await lb.ctl(['enable', SQL1]);
  });

  await load.prove(t, [1, 2, 1, 2, 1, 2]);
});
