// Two real MariaDB servers in lab namespaces replicate both ways, as the seed's §2 step 16 checks by hand.
import t from 'tap';
import { existsSync } from 'node:fs';
import { Lab, labAvailable } from './lab';
import { MariaDbServer, setupMultiMaster, waitCaughtUp, waitReplicating, tcpClient, renderMyCnf } from './mariadb';

t.test('my.cnf keeps the seed replication keys', async (t) => {
  const cnf = renderMyCnf('/x', { name: 'sql2', serverId: 2, autoIncrementOffset: 2, maxConnectErrors: 10 });
  for (const line of ['server_id = 2', 'auto_increment_offset = 2', 'auto_increment_increment = 10', 'log-bin = mysql-bin',
    'log-slave-updates', 'relay-log = sql2-relay-bin', 'sync_binlog = 1', 'slave_exec_mode = IDEMPOTENT',
    'max_connect_errors = 10', 'bind-address = 0.0.0.0']) {
    t.ok(cnf.split('\n').includes(line), line);
  }
  t.notMatch(cnf, /skip-name-resolve/, 'names are resolved, as the seed (grants by host name)');
});

t.test('multi-master replication of test.tester', { skip: !labAvailable() && 'needs root and ip netns' }, async (t) => {
  const lab = await Lab.create([
    { name: 'sql1', address: '10.0.0.4/20' },
    { name: 'sql2', address: '10.0.0.5/20' },
  ], { tag: 'maria' });
  const servers: MariaDbServer[] = [];
  t.teardown(async () => {
    for (const s of servers) await s.destroy();
    await lab.destroy();
  });
  const [sql1, sql2] = await Promise.all([
    MariaDbServer.create(lab, 'sql1', { name: 'sql1', serverId: 1, autoIncrementOffset: 1 }),
    MariaDbServer.create(lab, 'sql2', { name: 'sql2', serverId: 2, autoIncrementOffset: 2 }),
  ]);
  servers.push(sql1, sql2);
  t.not(sql1.dir.startsWith('/var/lib/mysql'), true, 'datadir is a temp dir');

  await setupMultiMaster(sql1, sql2);
  for (const s of [sql1, sql2]) {
    const st = await s.slaveStatus();
    t.equal(st.Slave_IO_Running, 'Yes', `${s.host} IO thread`);
    t.equal(st.Slave_SQL_Running, 'Yes', `${s.host} SQL thread`);
    t.equal(st.Master_Host, s === sql1 ? '10.0.0.5' : '10.0.0.4', `${s.host} replicates from its peer`);
  }

  await sql1.query('create table test.tester ( col1 int not null auto_increment, col2 int, primary key (col1) )');
  await sql1.query("use test; insert into tester (col2) values ('1'),('3'),('5')");
  await waitCaughtUp(sql2, sql1);
  await sql2.query("use test; insert into tester (col2) values ('2'),('4'),('6')");
  await waitCaughtUp(sql1, sql2);

  const expected = [['1', '1'], ['11', '3'], ['21', '5'], ['22', '2'], ['32', '4'], ['42', '6']];
  t.same(await sql1.query('select * from test.tester order by col1'), expected, 'sql1: offset 1 and 2, increment 10');
  t.same(await sql2.query('select * from test.tester order by col1'), expected, 'sql2 shows the same six rows');

  // A user created through replication is usable over TCP from the peer's namespace.
  await sql1.createUser('nova', 'nova_pw', { replicate: true });
  await waitCaughtUp(sql2, sql1);
  const r = await tcpClient(lab, 'sql1', { address: '10.0.0.5', user: 'nova', password: 'nova_pw' }, 'select @@server_id');
  t.equal(r.stdout.trim(), '2', `nova reaches sql2 over TCP (${r.stderr.trim()})`);

  // Stop/start and a broken SQL thread are visible in SHOW SLAVE STATUS.
  await sql2.stopSqlThread();
  t.equal((await sql2.slaveStatus()).Slave_SQL_Running, 'No', 'SQL thread stopped');
  await sql2.startSlave();
  await sql1.stop();
  t.equal(sql1.running, false, 'sql1 stopped');
  await sql1.start();
  const st1 = await waitReplicating(sql1);
  t.equal(st1.Slave_SQL_Running, 'Yes', 'sql1 resumes replicating from sql2 by itself after a restart');
  await sql1.query("use test; insert into tester (col2) values (7)");
  await waitCaughtUp(sql2, sql1);
  t.same(await sql2.query('select col1 from test.tester where col2 = 7'), [['51']], 'replication resumes after restart');

  const dir = sql1.dir;
  await sql1.destroy();
  t.notOk(existsSync(dir), 'temp dir removed');
});
