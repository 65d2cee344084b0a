// The monitor with a manual clock and scripted probes: nanny's timing, quiesce, reload without flapping,
// the last-healthy-server rule for MySQL replication verdicts, operator overrides, nanny's log words.
import t from 'tap';
import { HealthMonitor, type HealthChange } from '../../src/health';
import { ManualClock, ScriptedProbes, logSink } from './fixtures/fakes';
import { config, virtual, server } from './fixtures/config';

function setup(v = virtual()) {
  const clock = new ManualClock();
  const probes = new ScriptedProbes();
  const { logger, records } = logSink();
  const mon = new HealthMonitor({ clock, probeFactory: probes.factory, logger });
  const changes: HealthChange[] = [];
  mon.on('change', (c: HealthChange) => changes.push(c));
  mon.configure(config([v]));
  return { clock, probes, mon, changes, records };
}

const pick = (c: HealthChange) => ({ server: c.server, up: c.up, weight: c.weight, inTable: c.inTable });

t.test('seed timing: in at the first success, out after one failure (quiesced), back after reentry/timeout checks', async (t) => {
  const { clock, probes, mon, changes, records } = setup();
  mon.start();
  await clock.advance(0);
  t.same(changes.map(pick), [
    { server: 'sql1.example.com', up: true, weight: 1, inTable: true },
    { server: 'sql2.example.com', up: true, weight: 1, inTable: true },
  ]);
  t.ok(records.find((r) => r.msg === '[ active ] making 10.0.0.5:3306 available' && r.server === 'sql2.example.com' && r.check === 'program'));
  t.ok(records.find((r) => r.msg === 'starting LVS client monitor for 10.0.0.3:3306 -> 10.0.0.4:3306'));
  changes.length = 0;

  probes.set('10.0.0.4', false);
  await clock.advance(4999);
  t.same(changes, [], 'nothing before the interval');
  await clock.advance(1);
  t.same(changes.map(pick), [{ server: 'sql1.example.com', up: false, weight: 0, inTable: true }], 'quiesced after one failure');
  t.equal(changes[0].reason, 'connect_refused');
  const down = records.find((r) => r.msg === '[inactive] shutting down 10.0.0.4:3306 due to connection failure');
  t.ok(down, 'nanny words');
  t.equal(down!.reason, 'connect_refused');
  t.equal(down!.virtual, 'openstack_mysql_3306');
  t.equal(typeof down!.durationMs, 'number');
  t.same(mon.status().find((s) => s.server === 'sql1.example.com')!.state, 'quiesced');

  changes.length = 0;
  probes.set('10.0.0.4', true);
  await clock.advance(5000);
  t.same(changes, [], 'one success is not enough (reentry 10 / timeout 5 = 2)');
  await clock.advance(5000);
  t.same(changes.map(pick), [{ server: 'sql1.example.com', up: true, weight: 1, inTable: true }], 'back after 2 successes');
  const st = mon.status().find((s) => s.server === 'sql1.example.com')!;
  t.match(st, { state: 'up', weight: 1, inTable: true, consecutiveOk: 2, consecutiveFail: 0, checksTotal: 4, transitionsTotal: 3, lastCheckAt: 15000 });
  t.same(st.failuresByReason, { connect_refused: 1 });
  await mon.stop();
  t.equal(probes.closed, 2, 'probes closed on stop');
});

t.test('a server failing at start is never logged [inactive] and never emitted', async (t) => {
  const { clock, probes, mon, changes, records } = setup(virtual({ quiesceServer: false }));
  probes.set('10.0.0.4', false);
  mon.start();
  await clock.advance(20000);
  t.same(changes.map((c) => c.server), ['sql2.example.com']);
  t.notOk(records.find((r) => r.msg.startsWith('[inactive]')));
  t.equal(mon.status().find((s) => s.server === 'sql1.example.com')!.state, 'down');
  await mon.stop();
});

t.test('status before the first check is unknown; inactive servers and virtuals get no checker', async (t) => {
  const v = virtual({ servers: [server('a', '10.0.0.4'), server('b', '10.0.0.5', { active: false })] });
  const { mon, probes } = setup(v);
  t.same(mon.status().map((s) => [s.server, s.state]), [['a', 'unknown']]);
  mon.configure(config([{ ...v, active: false }]));
  t.same(mon.status(), []);
  t.equal(probes.created.length, 1);
});

t.test('reload: unchanged checkers keep state and probe; weight changes apply; removed servers leave the table', async (t) => {
  const v = virtual({ slowStart: false });
  const { clock, probes, mon, changes } = setup(v);
  mon.start();
  await clock.advance(0);
  changes.length = 0;
  mon.configure(config([virtual({ slowStart: false })]));
  await clock.advance(0);
  t.same(changes, [], 'identical config: no flap');
  t.equal(probes.created.length, 2, 'probes kept');
  t.same(clock.pending(), [5000, 5000], 'timers kept');

  mon.configure(config([virtual({ slowStart: false, servers: [server('sql1.example.com', '10.0.0.4', { weight: 5 }), server('sql2.example.com', '10.0.0.5')] })]));
  t.same(changes.map(pick), [{ server: 'sql1.example.com', up: true, weight: 5, inTable: true }], 'new weight at once');
  t.equal(probes.created.length, 2, 'a weight change does not replace the probe');

  changes.length = 0;
  mon.configure(config([virtual({ slowStart: false, expect: 'YES', servers: [server('sql1.example.com', '10.0.0.4', { weight: 5 })] })]));
  t.same(changes.map((c) => [c.server, c.inTable, c.reason]), [['sql2.example.com', false, 'removed_from_config']]);
  t.equal(probes.created.length, 3, 'changed expect: new probe');
  t.equal(mon.status()[0].state, 'up', 'changed probe keeps the up state of the same server');
  await mon.stop();
});

t.test('multi-master: replication-only failures never take the last healthy server out', async (t) => {
  const v = virtual({ check: 'mysql', sendProgram: undefined, mysql: { user: 'monitor', password: 'x', checkReadOnly: false, checkReplication: true, maxLagSeconds: 10 } });
  const { clock, probes, mon, changes } = setup(v);
  mon.start();
  await clock.advance(0);
  t.same(probes.created.map((s) => s.kind), ['mysql', 'mysql']);
  changes.length = 0;

  // sql1's SQL thread stops while sql2 is healthy: sql1 goes out with its reason.
  probes.set('10.0.0.4', { ok: false, reason: 'replication_sql_stopped', detail: 'Slave_SQL_Running = No', replicationOnly: true });
  await clock.advance(5000);
  t.same(changes.map((c) => [c.server, c.up, c.reason, c.detail]), [['sql1.example.com', false, 'replication_sql_stopped', 'Slave_SQL_Running = No']]);
  changes.length = 0;

  // Then sql2's mysqld dies: sql1 is the last one; its replication state alone does not keep it out... it comes back.
  probes.set('10.0.0.5', false);
  probes.set('10.0.0.4', { ok: false, reason: 'replication_io_connecting', replicationOnly: true });
  await clock.advance(5000);
  await clock.advance(5000);
  await clock.advance(5000);
  const s1 = mon.status().find((s) => s.server === 'sql1.example.com')!;
  const s2 = mon.status().find((s) => s.server === 'sql2.example.com')!;
  t.equal(s2.state, 'quiesced');
  t.equal(s1.state, 'up', 'survivor back in');
  t.equal(s1.reason, 'kept_last_healthy:replication_io_connecting');
  t.equal(s1.lastResult!.reason, 'replication_io_connecting', 'the raw verdict stays visible');

  // Both replication-failing at once (e.g. both SQL threads stopped): neither is taken out.
  changes.length = 0;
  probes.set('10.0.0.5', { ok: false, reason: 'replication_sql_stopped', replicationOnly: true });
  probes.set('10.0.0.4', { ok: false, reason: 'replication_sql_stopped', replicationOnly: true });
  await clock.advance(15000);
  t.equal(mon.status().filter((s) => s.state === 'up').length >= 1, true, 'at least one server stays in');
  t.notOk(changes.find((c) => c.server === 'sql1.example.com' && !c.up), 'sql1 never taken out');
  await mon.stop();
});

t.test('operator overrides: drain keeps the entry at weight 0; down/up force the verdict', async (t) => {
  const { clock, probes, mon, changes } = setup(virtual({ quiesceServer: false }));
  mon.start();
  await clock.advance(0);
  changes.length = 0;
  t.ok(mon.setAdmin('openstack_mysql_3306', 'sql1.example.com', 'drain'));
  t.same(changes.map(pick), [{ server: 'sql1.example.com', up: true, weight: 0, inTable: true }]);
  t.equal(mon.status()[0].state, 'quiesced');
  t.equal(mon.status()[0].admin, 'drain');
  await clock.advance(5000);
  t.equal(changes.length, 1, 'checks do not undo a drain');
  mon.setAdmin('openstack_mysql_3306', 'sql1.example.com', null);
  t.same(changes.slice(-1).map(pick), [{ server: 'sql1.example.com', up: true, weight: 1, inTable: true }]);

  changes.length = 0;
  mon.setAdmin('openstack_mysql_3306', 'sql2.example.com', 'down');
  t.same(changes.map(pick), [{ server: 'sql2.example.com', up: false, weight: 0, inTable: false }], 'forced down at once');
  await clock.advance(10000);
  t.equal(changes.length, 1, 'stays down although the checks succeed');
  probes.set('10.0.0.5', false);
  mon.setAdmin('openstack_mysql_3306', 'sql2.example.com', 'up');
  t.same(changes.slice(-1).map(pick), [{ server: 'sql2.example.com', up: true, weight: 1, inTable: true }], 'forced up although failing');
  t.notOk(mon.setAdmin('x', 'y', 'up'), 'unknown server');
  await mon.stop();
});

t.test('jitter and a separate interval move the schedule', async (t) => {
  const { clock, mon } = setup(virtual({ interval: 2, jitter: 0.2 }));
  mon.start();
  t.same(clock.pending(), [200, 200], 'first check delayed by random * jitter * interval');
  await clock.advance(200);
  t.same(clock.pending(), [2200, 2200], 'then every interval ± jitter/2 (random 0.5 → exactly the interval)');
  await mon.stop();
});

t.test('slow start ramps the weight in change events', async (t) => {
  const { clock, mon, changes } = setup(virtual({ timeout: 10, reentry: 180, servers: [server('big', '10.0.0.4', { weight: 20 })] }));
  mon.start();
  await clock.advance(0);
  await clock.advance(10000 * 6);
  t.same(changes.map((c) => c.weight), [1, 2, 4, 8], 'max(1, 20 >> 5) then doubling every 2nd check');
  await mon.stop();
});

t.test('check events carry duration and reason for metrics', async (t) => {
  const { clock, probes, mon } = setup();
  const checks: Array<{ ok: boolean; reason: string; durationMs: number }> = [];
  mon.on('check', (c) => checks.push(c));
  probes.set('10.0.0.5', { ok: false, reason: 'program_timeout' });
  mon.start();
  await clock.advance(0);
  t.same(checks.map((c) => [c.ok, c.reason, c.durationMs]), [[true, 'ok', 3], [false, 'program_timeout', 3]]);
  await mon.stop();
});

t.test('multi-master: the peer dies and the survivor is checked first in that round: survivor stays in', async (t) => {
  const v = virtual({ check: 'mysql', sendProgram: undefined, mysql: { user: 'monitor', password: 'x', checkReadOnly: false, checkReplication: true, maxLagSeconds: 10 } });
  const { clock, probes, mon, changes } = setup(v);
  mon.start();
  await clock.advance(0);
  changes.length = 0;
  probes.set('10.0.0.5', false);
  probes.set('10.0.0.4', { ok: false, reason: 'replication_io_connecting', replicationOnly: true });
  await clock.advance(5000);
  t.same(changes.map((c) => [c.server, c.up]), [['sql2.example.com', false]], 'only the dead peer goes out');
  t.equal(mon.status()[0].reason, 'kept_last_healthy:replication_io_connecting');
  t.ok((probes.runs.get('10.0.0.5') ?? 0) >= 3, 'the peer was re-probed before judging the survivor');
  await mon.stop();
});
