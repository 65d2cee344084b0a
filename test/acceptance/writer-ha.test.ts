// Writer mode with both directors (real directord processes, real MariaDB multi-master): lb1 fails the writer over
// to sql2; sql1 returns caught up; lb2 starts while the servers are quiet (its own first look would choose sql1, the
// preferred one) and follows lb1's synced decision; lb1 is SIGKILLed; lb2 takes over and keeps sql2 as the writer.
import t from 'tap';
import { labAvailable, waitFor } from '../lab/lab';
import { SeedLab } from '../lab/seed';
import { ensureLabBuilt } from '../lab/build-lab';
import { CounterClients, SQL1, SQL2, writerConfig, writerView } from '../lab/writer-lab';

const HOLDDOWN = 3;

t.test('writer mode, two directors: the new active director keeps the synced writer', { skip: !labAvailable() && 'needs root and ip netns' }, async (t) => {
  ensureLabBuilt();
  const seed = await SeedLab.create();
  const load = new CounterClients(seed);
  t.teardown(async () => {
    try {
      if (t.passing() === false) {
        for (const h of ['lb1', 'lb2'] as const) {
          const d = seed.directors.get(h);
          if (d) t.comment(`${h}: ${d.records.filter((r) => /activ|split|writer|forwarding|partner/i.test(String(r.msg))).map((r) => `${String(r.time)} ${String(r.msg)}${r.writer ? ` ${String(r.writer)}` : ''}`).join('\n')}`);
        }
      }
      await load.stopClients();
    } finally {
      await seed.destroy();
    }
  });
  const cfg = writerConfig(HOLDDOWN);
  const lb1 = await seed.startDirector('lb1', cfg);
  await lb1.waitForwarding(true, 15000);
  await load.createTable();
  await waitFor('lb1: sql1 writer, sql2 caught up', async () => {
    const w = await writerView(lb1);
    return w.writerName === SQL1 && w.servers.find((s) => s.name === SQL2)?.why.startsWith('caught up') ? true : undefined;
  }, 30000, 200);
  load.start(2);
  await load.waitCommits(20);

  // The writer fails over on lb1.
  const mark = lb1.records.length;
  await seed.sql1.kill();
  await lb1.waitLog('writer switch', (r) => r.msg === 'writer switch' && r.to === SQL2, 20000, mark);
  await load.waitCommits(40);
  // The clients stop before sql1 returns: the old writer returning under load is writer-mode.test.ts's case (and
  // where a short window of writes to both servers was seen twice in this test; docs/writer.md, open finding).
  await load.stopClients();
  await seed.sql1.start();
  await waitFor('sql1 back, caught up, on lb1', async () => ((await writerView(lb1)).servers.find((s) => s.name === SQL1)?.why.startsWith('caught up') ? true : undefined), 30000, 200);

  // lb2 starts while nothing writes: both servers equal, so by itself it would choose sql1, the preferred server.
  const lb2 = await seed.startDirector('lb2', cfg);
  // Both servers checked by lb2 (and, with the sync, lb1's decision received: it comes every second).
  const followed = await waitFor('lb2 has checked both servers', async () => {
    const w = await writerView(lb2);
    return w.servers.every((s) => s.role !== 'out' && !/no MySQL observation/.test(s.why)) ? w : undefined;
  }, 30000, 200);
  await new Promise((r) => setTimeout(r, 1500));
  t.match(await writerView(lb2), { writerName: SQL2, decidedBy: '10.0.0.1', following: true, switches: 1 }, `lb2 follows (first look: ${followed.reason})`);
  t.match(await lb2.ctl(['status']), { stdout: /Writer \(openstack_mysql_3306\): writer sql2\.example\.com since \S+ \(decided by 10\.0\.0\.1, synced \d+\.\d s ago\)/ });

  // The active director dies; the standby takes over with the writer it was following.
  const tStart = Date.now();
  load.start(2);
  await load.waitCommits(20);
  t.same(load.okAfter(tStart, 1), [], 'lb2 standing by: writes go to sql2 only');
  const t0 = Date.now();
  await lb1.stop('SIGKILL');
  await lb2.waitForwarding(true, 15000);
  t.comment(`lb2 forwarding ${Date.now() - t0} ms after lb1 was killed`);
  await load.waitCommits(40);
  await new Promise((r) => setTimeout(r, (HOLDDOWN + 1) * 1000));
  const after = await writerView(lb2);
  t.match(after, { writerName: SQL2, following: false, decidedBy: '10.0.0.1', switches: 1 }, `lb2 kept sql2 (${after.reason})`);
  t.same(load.okAfter(t0, 1), [], 'no write reached sql1 after the takeover');
  t.ok(load.okAfter(t0, 2).length > 20, 'writes go on to sql2');
  await load.prove(t, [1, 2]);
});
