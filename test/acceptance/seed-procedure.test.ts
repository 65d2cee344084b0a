// The seed's §3 procedure with its lvs.cf unchanged: directord on lb1 and lb2, the ipvsadm table, the nanny log
// lines, `mysql -h 10.0.0.3` from the client and test.tester rows identical on both servers.
import t from 'tap';
import { labAvailable } from '../lab/lab';
import { SeedLab, SEED, seedIpvsadmTable } from '../lab/seed';
import { waitCaughtUp } from '../lab/mariadb';
import { ensureLabBuilt } from '../lab/build-lab';
import { waitFor } from '../lab/lab';

t.test('the seed procedure, step by step, with the seed lvs.cf', { skip: !labAvailable() && 'needs root and ip netns' }, async (t) => {
  ensureLabBuilt();
  const seed = await SeedLab.create();
  t.teardown(() => seed.destroy());

  // §3 step 4: pulse on lb1 first, then lb2. The standalone primary activates after deadtime (18 s).
  const lb1 = await seed.startDirector('lb1');
  await lb1.waitForwarding(true, 45000);
  const lb2 = await seed.startDirector('lb2');
  const st2 = await waitFor('lb2 to see lb1 as its active peer', async () => {
    const s = await lb2.status();
    return s.ha.lastHeartbeatAgeMs !== undefined ? s : undefined;
  }, 30000, 200);
  t.equal(st2.ha.forwarding, false, 'lb2 stands by');
  t.equal(await seed.vipOwner(), 'lb1', 'the client resolves the VIP to lb1');

  // §3 step 5: the table, as `ipvsadm -Ln` prints it, once both real servers passed their first check.
  await waitFor('both servers in the table', async () => (await lb1.status()).health.filter((h) => h.inTable).length === 2, 30000, 200);
  const table = (await lb1.ctl(['status'])).stdout;
  t.equal(table.slice(0, seedIpvsadmTable().length), seedIpvsadmTable(), 'directorctl status starts with the seed ipvsadm -Ln output');
  for (const rip of [SEED.sql1, SEED.sql2]) {
    t.ok(lb1.messages(new RegExp(`^\\[ active \\] making ${rip.replace(/\./g, '\\.')}:3306 available$`)).length === 1, `log: [ active ] making ${rip}:3306 available`);
  }

  // §3 step 6: from the client, not the director.
  const who = await seed.clientSql('select @@server_id');
  t.equal(who.code, 0, `mysql -u nova -h 10.0.0.3 (${who.stderr.trim()})`);
  t.match(who.stdout.trim(), /^[12]$/, 'answered by sql1 or sql2');
  const counted = await waitFor('the connection counted in the table', async () => {
    const s = await lb1.status();
    const d = s.services[0].dests;
    return d[0].activeConns + d[0].inactConns + d[1].activeConns + d[1].inactConns > 0 ? d : undefined;
  }, 10000, 200);
  t.ok(counted, 'ActiveConn/InActConn count the client connection');

  // §2 step 16: rows inserted on each server, the same on both.
  await seed.sql1.query('create table test.tester ( col1 int not null auto_increment, col2 int, primary key (col1) )');
  await seed.sql1.query("use test; insert into tester (col2) values ('1'),('3'),('5')");
  await waitCaughtUp(seed.sql2, seed.sql1);
  await seed.sql2.query("use test; insert into tester (col2) values ('2'),('4'),('6')");
  await waitCaughtUp(seed.sql1, seed.sql2);
  const viaVip = await seed.clientSql('select col2 from test.tester order by col1');
  t.same(viaVip.stdout.trim().split('\n'), ['1', '3', '5', '2', '4', '6'], 'the client reads the six rows through the VIP');
  t.same(await seed.sql1.query('select * from test.tester order by col1'), await seed.sql2.query('select * from test.tester order by col1'), 'identical on both');
});
