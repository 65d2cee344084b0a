// Writer mode on the seed's multi-master pair, with real MariaDB and two clients that UPDATE the same counter rows
// through the VIP (a new connection per transaction, each recording the server_id it wrote through). Cases: the
// writer's mysqld killed; the old writer returning while lagging (restarted with replication stopped), then the
// writer killed while it lags. Every time: Last_SQL_Errno 0 on both, no committed update lost, both servers equal at
// the end, and never two servers taking writes through the VIP.
import t from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { labAvailable, waitFor } from '../lab/lab';
import { SeedLab } from '../lab/seed';
import { ensureLabBuilt } from '../lab/build-lab';
import type { WriterStatusView } from '../../src/control/types';
import type { DirectorProcess } from '../lab/director-process';
import { CounterClients, SQL1, SQL2, writerConfig, writerView } from '../lab/writer-lab';

const HOLDDOWN = 3;

let lastView = '';

async function writer(lb: DirectorProcess): Promise<WriterStatusView> {
  const w = await writerView(lb);
  lastView = JSON.stringify(w);
  return w;
}

t.test('writer mode: one writer at a time, failover to a caught-up standby, never to a lagging one', { skip: !labAvailable() && 'needs root and ip netns' }, async (t) => {
  ensureLabBuilt();
  const seed = await SeedLab.create();
  const load = new CounterClients(seed);
  t.teardown(async () => {
    if (t.passing() === false) t.comment(`last writer view: ${lastView}`);
    if (t.passing() === false) for (const r of lb1.records.filter((r) => /writer|real server state|tables/.test(String(r.msg)))) t.comment(JSON.stringify(r));
    await load.stopClients().finally(() => seed.destroy());
  });
  const lb1 = await seed.startDirector('lb1', writerConfig(HOLDDOWN));
  await lb1.waitForwarding(true, 15000);
  // One director here; two (the active one decides, the standby follows): writer-ha.test.ts.
  const lb = lb1;
  await load.createTable();
  const first = await waitFor('sql1 writer, sql2 a caught-up standby', async () => {
    const w = await writer(lb1);
    return w.writerName === SQL1 && w.servers.find((s) => s.name === SQL2)?.why.startsWith('caught up') ? w : undefined;
  }, 30000, 200);
  t.match(first.servers[1], { name: SQL2, role: 'standby', writable: true }, 'sql2 standby, reported writable: the seed runs both masters with read_only = 0');
  t.ok(lb1.records.some((r) => r.msg === 'writer mode: a server that is not the writer has read_only = 0 (a second writable master)' && r.server === SQL2), 'and logged');

  load.start(2);
  const committed = (): number => load.committed();
  const okAfter = (since: number, serverId: number) => load.okAfter(since, serverId);
  await waitFor('both clients commit through the VIP', () => load.clients.every((c) => c.committed.length > 10), 20000, 100);
  t.same([...new Set(load.oks().map((e) => e.serverId))], [1], 'every write went to sql1');

  await t.test("the writer's mysqld killed", async (t) => {
    const mark = lb1.records.length;
    const t0 = Date.now();
    await seed.sql1.kill();
    const sw = await lb1.waitLog('writer switch', (r) => r.msg === 'writer switch', 20000, mark);
    t.match(sw, { from: SQL1, to: SQL2 }, `switch logged: ${String(sw.reason)}`);
    const ms = await waitFor('a commit on sql2', () => { const e = okAfter(t0, 2)[0]; return e ? e.at - t0 : undefined; }, 20000, 50);
    t.pass(`new connections commit on sql2 ${ms} ms after the kill (switch logged after ${Date.parse(String(sw.time)) - t0} ms)`);
    await seed.sql1.start();
    const back = await waitFor('sql1 back as a caught-up standby', async () => {
      const w = await writer(lb1);
      return w.servers.find((s) => s.name === SQL1)?.why.startsWith('caught up') ? w : undefined;
    }, 30000, 200);
    t.equal(back.writerName, SQL2, 'no failback: sql2 stays the writer');
    t.equal(back.switches, 1, 'one switch');
  });

  await t.test('the old writer returning while lagging: never a writer until it has caught up', async (t) => {
    // sql1 goes out again and comes back with its replication stopped: it falls behind sql2's writes. A clean
    // shutdown: the seed's file/position replication is not crash-safe on the replica side (a SIGKILLed replica that
    // was applying sql2's updates can apply its last one twice on restart; docs/writer.md, limits).
    await seed.sql1.stop();
    const cnf = join(seed.sql1.dir, 'my.cnf');
    const original = readFileSync(cnf, 'utf8');
    writeFileSync(cnf, original.replace('[mysqld]', '[mysqld]\nskip-slave-start'));
    await seed.sql1.start();
    writeFileSync(cnf, original);
    const committedBefore = committed();
    await waitFor('more commits on sql2 while sql1 lags', () => committed() > committedBefore + 150, 30000, 100);
    const lagging = await waitFor('sql1 seen as not fit', async () => {
      const w = await writer(lb);
      const s1 = w.servers.find((s) => s.name === SQL1);
      return s1?.role === 'standby' && /SQL thread No/.test(s1.why) ? w : undefined;
    }, 20000, 200);
    t.match(lagging.servers[0].why, /replication SQL thread No/, `sql1: ${lagging.servers[0].why}`);

    // The writer dies while the only other server lags: nobody may take writes.
    const t0 = Date.now();
    await seed.sql2.kill();
    await new Promise((r) => setTimeout(r, (HOLDDOWN + 3) * 1000));
    let w = await writer(lb);
    t.equal(w.writerName, SQL2, `no switch to the lagging sql1 (${w.reason})`);
    t.same(okAfter(t0, 1), [], 'no write reached sql1');
    // Its replication restarted, but its master is gone: it cannot have caught up.
    await seed.sql1.query('START SLAVE');
    await new Promise((r) => setTimeout(r, (HOLDDOWN + 2) * 1000));
    w = await writer(lb);
    t.equal(w.writerName, SQL2, `still no switch: ${w.servers[0].why}`);
    t.match(w.servers[0].why, /behind: gtid/, 'sql1 is behind the writer\'s last known position');
    t.same(okAfter(t0, 1), [], 'still no write reached sql1');

    // The writer returns; sql1 catches up from it and becomes a standby again.
    const t1 = Date.now();
    await seed.sql2.start();
    await waitFor('commits on sql2 again', () => okAfter(t1, 2).length > 5, 30000, 100);
    await waitFor('sql1 caught up', async () => ((await writer(lb)).servers[0].why.startsWith('caught up') ? true : undefined), 30000, 200);
    t.same(okAfter(t0, 1), [], 'sql1 never took a write');
  });

  // Never two writers: in commit order the server changes once (sql1 → sql2), sql1's last commit ending before
  // sql2's first one started; replication clean, counters equal, nothing lost.
  await load.prove(t, [1, 2]);
});
