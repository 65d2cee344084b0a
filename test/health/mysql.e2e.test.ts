// The MySQL check against two real MariaDB servers in multi-master replication (the seed's topology), in a lab:
// 2,000 probes leave the director unblocked under max_connect_errors = 10 while a bare connect+RST loop gets it
// blocked (ERROR 1129), an auth failure is not a connect error, neither a hung nor a restarted mysqld blocks it; a
// stopped SQL thread takes its server out with the reason; a dead peer keeps the survivor in.
import t from 'tap';
import { mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { Lab, labAvailable, waitFor } from '../lab/lab';
import { MariaDbServer, setupMultiMaster, waitReplicating } from '../lab/mariadb';
import { RemoteMonitor, type Line } from './fixtures/remote';
import { join } from 'node:path';
import { config, virtual, server } from './fixtures/config';

const checkScript = join(__dirname, '..', '..', 'config', 'check_tcp_port.sh');

const mysqlOpts = { user: 'monitor', password: 'mon_pw', checkReadOnly: true, checkReplication: true, maxLagSeconds: 10 };

t.test('MySQL check against MariaDB multi-master', { skip: !labAvailable() && 'needs root and ip netns' }, async (t) => {
  const lab = await Lab.create([
    { name: 'dir', address: '10.62.2.1/20' },
    { name: 'sql1', address: '10.62.2.4/20' },
    { name: 'sql2', address: '10.62.2.5/20' },
  ], { tag: 'hmysql' });
  const dbs: MariaDbServer[] = [];
  t.teardown(async () => {
    for (const s of dbs) await s.destroy();
    await lab.destroy();
    for (const h of ['sql1', 'sql2']) rmSync(`/etc/netns/${lab.ns(h)}`, { recursive: true, force: true });
  });
  // mysqld resolves client addresses (the seed grants by host name). Only a definite answer enters the host
  // cache, where connection errors are counted: give the servers' namespaces an /etc/hosts (ip netns exec
  // bind-mounts /etc/netns/<ns>/hosts), as a deployment with working DNS has. Without it nothing is ever blocked.
  for (const h of ['sql1', 'sql2']) {
    mkdirSync(`/etc/netns/${lab.ns(h)}`, { recursive: true });
    writeFileSync(`/etc/netns/${lab.ns(h)}/hosts`, '127.0.0.1 localhost\n10.62.2.1 lb1.example.com\n10.62.2.4 sql1.example.com\n10.62.2.5 sql2.example.com\n');
  }
  const [sql1, sql2] = await Promise.all([
    // performance_schema for its host_cache table: the per-host connect-error counts max_connect_errors acts on.
    MariaDbServer.create(lab, 'sql1', { name: 'sql1', serverId: 1, autoIncrementOffset: 1, maxConnectErrors: 10, extra: { performance_schema: 'ON' } }),
    MariaDbServer.create(lab, 'sql2', { name: 'sql2', serverId: 2, autoIncrementOffset: 2, maxConnectErrors: 10, extra: { performance_schema: 'ON' } }),
  ]);
  dbs.push(sql1, sql2);
  await setupMultiMaster(sql1, sql2);
  for (const s of [sql1, sql2]) await s.createUser('monitor', 'mon_pw', { privileges: 'SLAVE MONITOR' });
  const dir = await RemoteMonitor.start(lab, 'dir');
  t.teardown(() => dir.exit());
  const spec = { kind: 'mysql', address: '10.62.2.4', port: 3306, timeoutMs: 5000, useRegex: false, mysql: mysqlOpts };
  /** The server's host-cache row for the director (10.62.2.1), numbers as numbers; {} when it has none. */
  const hostCache = async (s: MariaDbServer): Promise<Record<string, number>> => {
    const cols = ['SUM_CONNECT_ERRORS', 'COUNT_HANDSHAKE_ERRORS', 'COUNT_AUTHENTICATION_ERRORS', 'COUNT_HOST_BLOCKED_ERRORS'];
    const rows = await s.query(`SELECT ${cols.join(', ')} FROM performance_schema.host_cache WHERE IP = '10.62.2.1'`);
    return rows.length ? Object.fromEntries(cols.map((c, i) => [c, Number(rows[0][i])])) : {};
  };
  const abortedConnects = async (s: MariaDbServer): Promise<number> => Number((await s.query("SHOW GLOBAL STATUS LIKE 'Aborted_connects'"))[0][1]);

  await t.test('2,000 probes on one monitor connection leave the director unblocked; a connect+RST loop blocks it', async (t) => {
    const aborted0 = Number((await sql1.query("SHOW GLOBAL STATUS LIKE 'Aborted_connects'"))[0][1]);
    const r = await dir.call({ op: 'probe', spec, count: 2000 }, 120000);
    t.same(r.reasons, { ok: 2000 }, 'all 2,000 probes healthy');
    t.same(r.connects, [1], 'one monitor connection, kept open between probes');
    const aborted1 = Number((await sql1.query("SHOW GLOBAL STATUS LIKE 'Aborted_connects'"))[0][1]);
    t.equal(aborted1 - aborted0, 0, 'no aborted connects');
    t.same((await dir.call({ op: 'probe', spec, count: 1 })).reasons, { ok: 1 }, 'a NEW connection from the director still gets in');

    await dir.call({ op: 'rawloop', address: '10.62.2.4', port: 3306, count: 15, rst: true }, 60000);
    const blocked = await dir.call({ op: 'probe', spec, count: 1 });
    t.same(blocked.reasons, { host_blocked: 1 }, 'the bare TCP probe loop got the director blocked (ERROR 1129)');
    await sql1.query('FLUSH HOSTS');
    t.same((await dir.call({ op: 'probe', spec, count: 1 })).reasons, { ok: 1 }, 'FLUSH HOSTS lifts it');
  });

  await t.test('wrong password: auth_failed', async (t) => {
    await sql1.query('FLUSH HOSTS');
    const bad = await dir.call({ op: 'probe', spec: { ...spec, mysql: { ...mysqlOpts, password: 'nope' } }, count: 1 });
    t.same(bad.reasons, { auth_failed: 1 });
    t.match(await hostCache(sql1), { COUNT_AUTHENTICATION_ERRORS: 1, SUM_CONNECT_ERRORS: 0 }, 'counted as an authentication error, not a connect error');
    await sql1.query('FLUSH HOSTS');
  });

  await t.test('monitor: SQL thread stopped → out with its reason; peer stopped → survivor stays in', async (t) => {
    const servers = [server('sql1.example.com', '10.62.2.4'), server('sql2.example.com', '10.62.2.5')];
    const v = virtual({ address: '10.62.2.3', check: 'mysql', sendProgram: undefined, mysql: mysqlOpts, timeout: 1, reentry: 2, servers });
    await dir.call({ op: 'configure', config: config([v]) });
    await dir.call({ op: 'start' });
    for (const s of ['sql1.example.com', 'sql2.example.com']) await dir.waitChange(`${s} up`, (c) => c.server === s && c.up);

    await sql1.stopSqlThread();
    const out = await dir.waitChange('sql1 out', (c) => c.server === 'sql1.example.com' && !c.up);
    t.match(out, { reason: 'replication_sql_stopped', weight: 0, inTable: true });
    t.ok(dir.logs().find((r) => r.msg === '[inactive] shutting down 10.62.2.4:3306 due to connection failure' && r.reason === 'replication_sql_stopped' && r.check === 'mysql'));
    const n = dir.changes().length;
    await sql1.startSlave();
    await waitReplicating(sql1);
    await dir.waitChange('sql1 back', (c) => c.server === 'sql1.example.com' && c.up, 20000, n);

    const mark = dir.changes().length;
    await sql2.stop();
    const gone = await dir.waitChange('sql2 out', (c) => c.server === 'sql2.example.com' && !c.up, 20000, mark);
    t.match(gone.reason, /^(connect_refused|connection_lost|query_failed)$/);
    await waitFor('survivor sees its replication broken', async () => {
      const st = (await dir.status()).find((s: Line) => s.server === 'sql1.example.com');
      return st && /^kept_last_healthy:replication_io_/.test(st.reason) ? st : undefined;
    }, 30000, 200);
    await new Promise((r) => setTimeout(r, 3000));
    t.notOk(dir.changes().slice(mark).find((c) => c.server === 'sql1.example.com'), 'the survivor was never taken out');
    const st = (await dir.status()).find((s: Line) => s.server === 'sql1.example.com')!;
    t.match(st, { state: 'up', inTable: true, weight: 1 });
    t.match(st.lastResult.reason, /^replication_io_(connecting|stopped)$/, 'raw verdict visible in status');
    await dir.call({ op: 'stop' });
    t.same(st.connectsTotal, 1, 'one monitor connection for the whole run');
  });

  await t.test("the seed's check (check_tcp_port.sh %h 3306, expect OK): mysqld stopped → out after one failed check, restarted → back after reentry", async (t) => {
    await sql2.start();
    const servers = [server('sql1.example.com', '10.62.2.4'), server('sql2.example.com', '10.62.2.5')];
    const seed = virtual({ name: 'seed_3306', address: '10.62.2.3', sendProgram: `${checkScript} %h 3306`, timeout: 1, reentry: 2, servers });
    const from = dir.lines.length;
    await dir.call({ op: 'configure', config: config([seed]) });
    await dir.call({ op: 'start' });
    const since = (pred: (l: Line) => boolean) => waitFor('event', () => dir.lines.slice(from).find(pred), 20000, 20);
    for (const s of ['sql1.example.com', 'sql2.example.com']) await since((l) => l.type === 'change' && l.virtual === 'seed_3306' && l.server === s && l.up);
    const mark = dir.lines.length;
    await sql1.stop();
    const down = await waitFor('sql1 out', () => dir.lines.slice(mark).find((l) => l.type === 'change' && l.virtual === 'seed_3306' && l.server === 'sql1.example.com' && !l.up), 20000, 20);
    const checks = (a: number, b: number) => dir.lines.slice(a, b).filter((l) => l.type === 'check' && l.virtual === 'seed_3306' && l.server === 'sql1.example.com');
    t.equal(checks(mark, dir.lines.indexOf(down)).filter((c) => !c.ok).length, 1, 'one failed check took it out');
    t.match(down, { weight: 0, inTable: true, reason: 'program_output_mismatch' });
    const mark2 = dir.lines.length;
    await sql1.start();
    const up = await waitFor('sql1 back', () => dir.lines.slice(mark2).find((l) => l.type === 'change' && l.virtual === 'seed_3306' && l.server === 'sql1.example.com' && l.up), 30000, 20);
    const after = checks(mark2, dir.lines.indexOf(up) + 1).map((c) => c.ok);
    t.equal(after.slice(after.lastIndexOf(false) + 1).length, 2, 'back after reentry / timeout = 2 good checks');
    await dir.call({ op: 'stop' });
  });
  // One server behind a MySQL check (liveness only), the monitor running, the host cache cleared: each case below
  // starts from there and ends with the monitor stopped.
  const blocking = virtual({ name: 'blocking', address: '10.62.2.3', check: 'mysql', sendProgram: undefined, timeout: 1, reentry: 2,
    mysql: { ...mysqlOpts, checkReplication: false, checkReadOnly: false }, servers: [server('sql1.example.com', '10.62.2.4')] });
  const connects = async (): Promise<number> => (await dir.status()).find((s: Line) => s.virtual === 'blocking')!.connectsTotal as number;
  const monitorUp = async (t: { teardown(fn: () => unknown): void }): Promise<void> => {
    await sql1.query('FLUSH HOSTS');
    const from = dir.changes().length;
    await dir.call({ op: 'configure', config: config([blocking]) });
    await dir.call({ op: 'start' });
    t.teardown(() => dir.call({ op: 'stop' }));
    // A checker kept across stop/start (same config) may already be up: then there is no new change to wait for.
    await waitFor('sql1 up', async () => {
      const st = (await dir.status()).find((s: Line) => s.virtual === 'blocking');
      return st?.state === 'up' && st.inTable ? true : dir.changes().slice(from).find((c) => c.virtual === 'blocking' && c.up);
    }, 20000, 200);
  };

  await t.test('max_connect_errors = 10: a mysqld hung through more than 10 failed checks and 12 abandoned logins does not block the director', async (t) => {
    await monitorUp(t);
    const aborted0 = await abortedConnects(sql1);
    const peerErrors = async (): Promise<number> => Number((await sql1.query("SHOW GLOBAL STATUS LIKE 'Connection_errors_peer_address'"))[0][1]);
    const peer0 = await peerErrors();
    const c0 = await connects();
    // Hung: the kernel still completes TCP handshakes, mysqld answers nothing, every login times out. When it
    // resumes, mysqld reads each connection left in its backlog; one closed before its login is a connect error.
    const mark = dir.changes().length;
    const from = dir.lines.length;
    sql1.pause();
    let resumed = false;
    t.teardown(() => { if (!resumed) sql1.resume(); });
    await dir.waitChange('sql1 out while hung', (c) => c.virtual === 'blocking' && !c.up, 20000, mark);
    const failed = () => dir.lines.slice(from).filter((l) => l.type === 'check' && l.virtual === 'blocking' && !l.ok);
    await waitFor('more failed checks than max_connect_errors while hung', async () => (failed().length > 12 ? true : undefined), 90000, 500);
    const reasons = failed().map((l) => l.reason as string);
    t.same(reasons.slice(reasons.indexOf('connect_timeout')).filter((r) => r !== 'connect_timeout'), [], `after the monitor connection's query timeout, each check failed as connect_timeout (${reasons.join(' ')})`);
    t.ok((await connects()) - c0 <= 1, `the monitor kept its one pending login instead of reconnecting (${(await connects()) - c0} new)`);
    // Logins given up while mysqld is hung (a one-shot probe closed at its timeout: the path of a stop, a reload
    // and of the pending-login hard limit): more of them than max_connect_errors.
    for (let i = 0; i < 12; i++) t.same((await dir.call({ op: 'probe', spec: { ...spec, timeoutMs: 300 }, count: 1 })).reasons, { connect_timeout: 1 });
    sql1.resume();
    resumed = true;
    const mark2 = dir.changes().length;
    const back = await dir.waitChange('sql1 back after the hang', (c) => c.virtual === 'blocking' && c.up, 30000, mark2).catch(() => undefined);
    const hc = await hostCache(sql1);
    const st = (await dir.status()).find((s: Line) => s.virtual === 'blocking');
    const seen = `host_cache ${JSON.stringify(hc)}, Aborted_connects +${(await abortedConnects(sql1)) - aborted0}, Connection_errors_peer_address +${(await peerErrors()) - peer0}, ${(await connects()) - c0} monitor connections`;
    t.ok(back, `sql1 back after the hang (status: ${st?.reason} ${st?.lastResult?.detail ?? ''}; ${seen})`);
    t.equal(hc.COUNT_HOST_BLOCKED_ERRORS ?? 0, 0, `never refused with ERROR 1129 (${seen})`);
    t.equal(hc.SUM_CONNECT_ERRORS ?? 0, 0, 'no connect error held against the director');
    t.equal(hc.COUNT_HANDSHAKE_ERRORS ?? 0, 0, 'no handshake error ever counted: the abandoned logins were reset in the accept queue');
    t.ok((await peerErrors()) - peer0 >= 12, 'mysqld took them without a peer address (Connection_errors_peer_address)');
    t.equal((await connects()) - c0, 1, 'the pending login became the monitor connection once mysqld answered');
    t.same((await dir.call({ op: 'probe', spec, count: 1 })).reasons, { ok: 1 }, 'a NEW connection from the director gets in');
    await sql1.query('FLUSH HOSTS'); // whatever happened above, the next case starts unblocked
  });

  await t.test('max_connect_errors = 10: a restarted mysqld (monitor connection lost, reconnects refused, then a login) does not block the director', async (t) => {
    await monitorUp(t);
    const c1 = await connects();
    const mark = dir.changes().length;
    await sql1.stop();
    await dir.waitChange('sql1 out while stopped', (c) => c.virtual === 'blocking' && !c.up, 20000, mark);
    await new Promise((r) => setTimeout(r, 3000));
    await sql1.start();
    await dir.waitChange('sql1 back after the restart', (c) => c.virtual === 'blocking' && c.up, 30000, mark);
    t.ok((await connects()) - c1 >= 2, 'the monitor reconnected after losing its connection');
    t.match(await hostCache(sql1), { SUM_CONNECT_ERRORS: 0, COUNT_HOST_BLOCKED_ERRORS: 0 }, 'the restarted server holds no connect error against the director');
    t.equal(await abortedConnects(sql1), 0, 'and no aborted connect (a restarted server counts from 0)');
  });
});
