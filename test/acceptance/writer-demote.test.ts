// writer_demote on the seed lab (real MariaDB multi-master, one real directord): client sessions hold connections to
// the writer; the writer is drained (demoted, alive). With leave (the default) the sessions go on talking to the
// old writer; with close each one errors at its next query, promptly (the data plane's RST), and new sessions go to
// the new writer; also when the writer hangs (SIGSTOP: down by its check, which takes it out of the table).
import t from 'tap';
import { writeFileSync } from 'node:fs';
import { labAvailable, waitFor } from '../lab/lab';
import { SEED, SEED_USERS, SeedLab } from '../lab/seed';
import { ensureLabBuilt } from '../lab/build-lab';
import { Sessions } from '../lab/sessions';
import { SQL1, SQL2, writerConfig, writerView } from '../lab/writer-lab';
import type { DirectorProcess } from '../lab/director-process';

const HOLDDOWN = 1;
const SESSIONS = 3;

t.test('writer_demote: leave keeps a demoted writer\'s sessions, close ends them at their next query', { skip: !labAvailable() && 'needs root and ip netns' }, async (t) => {
  ensureLabBuilt();
  const seed = await SeedLab.create();
  const open: Sessions[] = [];
  t.teardown(async () => {
    seed.sql1?.resume();
    for (const s of open) s.kill();
    await seed.destroy();
  });
  const sessions = async (): Promise<Sessions> => {
    const s = new Sessions(seed.lab, 'client', { host: SEED.vip, ...SEED_USERS.nova, count: SESSIONS, active: 0, queryTimeoutMs: 5000 });
    open.push(s);
    await s.open(20000);
    return s;
  };
  const writer = (lb: DirectorProcess, name: string, standby: string): Promise<true> => waitFor(`${name} writer, ${standby} caught up`, async () => {
    const w = await writerView(lb);
    return w.writerName === name && w.servers.find((s) => s.name === standby)?.why.startsWith('caught up') ? true : undefined;
  }, 30000, 100);
  const named = (name: string): Promise<true> => waitFor(`${name} writer`, async () => ((await writerView(lb)).writerName === name ? true : undefined), 20000, 50);
  const lb = await seed.startDirector('lb1', writerConfig(HOLDDOWN));
  await lb.waitForwarding(true, 15000);
  await writer(lb, SQL1, SQL2);

  await t.test('leave (the default): a drained writer\'s sessions keep working', async (t) => {
    const a = await sessions();
    await lb.ctl(['drain', SQL1]);
    await named(SQL2);
    t.equal(await a.checkIdle(10000), SESSIONS, 'every session still answers (from the old writer)');
    t.same(a.errors, []);
    a.kill();
  });

  await t.test('close: a drained writer\'s sessions error at their next query, within a second', async (t) => {
    // sql2 writes now; with close, sql1 (demoted before) closes what it still had. New sessions land on sql2.
    // quiesce_server = 0: a server down by its check leaves the table (the SIGSTOP case below).
    writeFileSync(seed.configPath('lb1'), writerConfig(HOLDDOWN, { writer_demote: 'close', quiesce_server: 0 }));
    t.equal((await lb.ctl(['reload'])).code, 0, 'reloaded with writer_demote = close');
    await lb.ctl(['enable', SQL1]);
    await writer(lb, SQL2, SQL1);
    const b = await sessions();
    await new Promise((r) => setTimeout(r, HOLDDOWN * 1000));
    await lb.ctl(['drain', SQL2]);
    await named(SQL1);
    const t0 = Date.now();
    const alive = await b.checkIdle(10000);
    const ms = Date.now() - t0;
    t.equal(alive, 0, 'no session of the demoted writer answers');
    t.ok(ms < 1000, `every session failed within ${ms} ms of its query (no retransmission timeout)`);
    t.same([...new Set(b.errors.map((e) => e.code))], ['ECONNRESET'], 'reset by the director');
    const c = await sessions();
    t.equal(await c.checkIdle(10000), SESSIONS, 'new sessions go to the new writer and work');
  });

  await t.test('close: a SIGSTOPped writer (down by its check, out of the table) still has its sessions reset', async (t) => {
    const c = await sessions();
    await lb.ctl(['enable', SQL2]);
    await writer(lb, SQL1, SQL2);
    await new Promise((r) => setTimeout(r, HOLDDOWN * 1000));
    seed.sql1.pause();
    await named(SQL2);
    const t0 = Date.now();
    const alive = await c.checkIdle(10000);
    const ms = Date.now() - t0;
    seed.sql1.resume();
    t.equal(alive, 0, 'no session of the hung writer answers');
    t.ok(ms < 1000, `every session failed within ${ms} ms of its query (a removed dest's connection would only be dropped)`);
    t.same([...new Set(c.errors.map((e) => e.code))], ['ECONNRESET'], 'reset by the director');
  });
});
