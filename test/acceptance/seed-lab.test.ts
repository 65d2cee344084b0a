// The seed's hosts without directord: addresses, the ARP-problem fix, names, replication granted by host name.
import t from 'tap';
import { existsSync } from 'node:fs';
import { labAvailable } from '../lab/lab';
import { SeedLab, SEED, SEED_USERS } from '../lab/seed';
import { Workload, WORKLOAD_TABLE_SQL } from '../lab/workload';
import { waitCaughtUp } from '../lab/mariadb';

t.test('the seed lab before any director runs', { skip: !labAvailable() && 'needs root and ip netns' }, async (t) => {
  const seed = await SeedLab.create();
  t.teardown(() => seed.destroy());
  const { lab } = seed;

  for (const h of ['sql1', 'sql2'] as const) {
    t.match(await seed.must(h, ['ip', '-4', 'addr', 'show', 'dev', 'lo']), `${SEED.vip}/32`, `${h}: VIP on lo (the seed's lo:3)`);
    t.equal((await seed.must(h, ['sysctl', '-n', 'net.ipv4.conf.all.arp_ignore'])).trim(), '1', `${h}: arp_ignore = 1`);
    t.equal((await seed.must(h, ['sysctl', '-n', 'net.ipv4.conf.all.arp_announce'])).trim(), '2', `${h}: arp_announce = 2`);
  }
  t.equal((await seed.must('sql1', ['getent', 'hosts', '10.0.0.5'])).split(/\s+/)[1], 'sql2.example.com', 'seed names resolve by address');
  t.match(await seed.must('lb1', ['ip', '-4', 'addr', 'show', 'dev', 'eth0']), `${SEED.lb1}/20`, 'lb1 address');

  // The replication users are granted to host NAMES as in the seed: the IO threads prove name resolution works.
  for (const s of [seed.sql1, seed.sql2]) {
    const st = await s.slaveStatus();
    t.equal(st.Slave_IO_Running, 'Yes', `${s.host} connects to its master as replication@<name>`);
  }
  // Nobody answers the VIP before a director holds it: the real servers stay quiet on ARP.
  const r = await seed.clientSql('select 1', { connectTimeout: 1 });
  t.not(r.code, 0, 'VIP unreachable without a director');
  const direct = await seed.clientSql('select @@server_id', { address: SEED.sql2 });
  t.equal(direct.stdout.trim(), '2', `nova reaches sql2 directly (${direct.stderr.trim()})`);

  // The workload client (a mysql2 child in the client namespace) writes numbered rows; both servers end identical.
  await seed.sql1.query(WORKLOAD_TABLE_SQL);
  const w = new Workload(lab, 'client', { host: SEED.sql1, ...SEED_USERS.nova, intervalMs: 20 });
  w.start();
  await new Promise((r) => setTimeout(r, 1500));
  await w.stop();
  t.ok(w.committed.length >= 5, `workload committed ${w.committed.length} rows (${w.diagnostics()})`);
  t.same(w.failures, [], 'no failed transaction against a healthy server');
  await waitCaughtUp(seed.sql2, seed.sql1);
  const rows1 = await seed.sql1.query('select seq from test.workload order by seq');
  t.same(rows1.map((r) => Number(r[0])), w.committed, 'every committed row is on sql1');
  t.same(await seed.sql2.query('select seq from test.workload order by seq'), rows1, 'sql2 has the same rows');

  const dirs = [seed.dirs.root, seed.sql1.dir];
  await seed.destroy();
  for (const d of dirs) t.notOk(existsSync(d), `${d} removed`);
  t.notOk(existsSync(`/etc/netns/${lab.ns('sql1')}`), '/etc/netns entry removed');
});
