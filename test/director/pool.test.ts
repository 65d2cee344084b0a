// Pool: IPVS list order, health membership, overrides, reload by identity, drains.
import t from 'tap';
import { Pool } from '../../src/director/pool';
import { config, server, virtual } from './config-fixture';

const seed = () => config([virtual('mysql', '10.0.0.3', [server('sql1', '10.0.0.4'), server('sql2', '10.0.0.5')], { persistent: 60, pmask: '255.255.240.0' })]);
const order = (p: Pool) => p.specs()[0].dests.map((d) => `${d.address}:${d.weight}`);
const up = (server: string, address: string, weight = 1) => ({ virtual: 'mysql', server, address, port: 3306, up: true, weight, inTable: true, reason: 'ok' });
const down = (server: string, address: string, quiesce: boolean) => ({ virtual: 'mysql', server, address, port: 3306, up: false, weight: 0, inTable: quiesce, reason: 'connect_refused' });

t.test('without health: active servers listed as configured, newest at the head', async (t) => {
  const p = new Pool({ healthWired: false, drainTimeoutMs: 1000 });
  p.applyConfig(seed(), 0);
  t.same(order(p), ['10.0.0.5:1', '10.0.0.4:1']);
  t.equal(p.specs()[0].pmask, '255.255.240.0');
});

t.test('with health: absent until up; added at the head in the order they come up; quiesced stays with weight 0', async (t) => {
  const p = new Pool({ healthWired: true, drainTimeoutMs: 1000 });
  p.applyConfig(seed(), 0);
  t.same(order(p), []);
  t.ok(p.applyHealth(up('sql2', '10.0.0.5'), 'x'));
  t.ok(p.applyHealth(up('sql1', '10.0.0.4'), 'x'));
  t.same(order(p), ['10.0.0.4:1', '10.0.0.5:1']);
  t.ok(p.applyHealth(down('sql2', '10.0.0.5', true), 'x'));
  t.same(order(p), ['10.0.0.4:1', '10.0.0.5:0'], 'quiesced keeps its place with weight 0');
  t.ok(p.applyHealth(down('sql1', '10.0.0.4', false), 'x'));
  t.same(order(p), ['10.0.0.5:0'], 'down without quiesce leaves the table');
  t.ok(p.applyHealth(up('sql1', '10.0.0.4'), 'x'));
  t.same(order(p), ['10.0.0.4:1', '10.0.0.5:0'], 're-added at the head');
  t.notOk(p.applyHealth(up('sql1', '10.0.0.4'), 'x'), 'same verdict: no table rewrite');
});

t.test('overrides: drain, weight (only while healthy), enable; unknown server lists the known ones', async (t) => {
  const p = new Pool({ healthWired: true, drainTimeoutMs: 1000 });
  p.applyConfig(seed(), 0);
  p.applyHealth(up('sql1', '10.0.0.4', 4), 'x');
  const [e] = p.match('sql1');
  e.override = { kind: 'drain', weight: 0, since: 'x' };
  t.same(order(p), ['10.0.0.4:0']);
  e.override = { kind: 'weight', weight: 9, since: 'x' };
  t.same(order(p), ['10.0.0.4:9']);
  p.applyHealth(down('sql1', '10.0.0.4', true), 'x');
  t.same(order(p), ['10.0.0.4:0'], 'a weight override never revives a quiesced server');
  t.same(p.match('10.0.0.4:3306').length, 1);
  t.same(p.match('mysql/sql1').length, 1);
  t.same(p.match('other/sql1').length, 0);
  t.same(p.known(), ['mysql/sql1 (10.0.0.4:3306)', 'mysql/sql2 (10.0.0.5:3306)']);
});

t.test('reload by identity: unchanged keep state and order; removed drain until no connections or deadline', async (t) => {
  const p = new Pool({ healthWired: true, drainTimeoutMs: 1000 });
  p.applyConfig(seed(), 0);
  p.applyHealth(up('sql1', '10.0.0.4'), 'x');
  p.applyHealth(up('sql2', '10.0.0.5'), 'x');
  const next = config([virtual('mysql', '10.0.0.3', [server('sql1', '10.0.0.4', { weight: 3 }), server('sql3', '10.0.0.6')], { persistent: 60, pmask: '255.255.240.0' })]);
  const changes = p.applyConfig(next, 100);
  t.same(changes, ['server mysql/sql1 (10.0.0.4:3306) changed', 'server mysql/sql3 (10.0.0.6:3306) added', 'server mysql/sql2 (10.0.0.5:3306) removed: draining']);
  t.same(order(p), ['10.0.0.5:0', '10.0.0.4:1'], 'sql1 keeps health weight until health says otherwise; sql2 drains at weight 0; sql3 waits for a check');
  t.same(p.match('sql2'), [], 'a draining server is no longer addressable');
  p.match('sql1')[0].override = { kind: 'weight', weight: 5, since: 'x' };
  p.applyConfig(next, 200);
  t.same(p.match('sql1')[0].override, { kind: 'weight', weight: 5, since: 'x' }, 'runtime overrides survive a reload');
  p.match('sql1')[0].override = undefined;
  t.same(p.expireDrains(() => 2, 500), [], 'still has connections before the deadline');
  t.same(p.expireDrains(() => 0, 600), ['mysql/sql2 (10.0.0.5:3306) drained']);
  t.same(order(p), ['10.0.0.4:1']);
  t.equal(p.specs()[0].dests.length, 1);
});

t.test('removed virtual drains its servers, then disappears; deadline cuts', async (t) => {
  const p = new Pool({ healthWired: false, drainTimeoutMs: 1000 });
  p.applyConfig(seed(), 0);
  t.same(p.applyConfig(config([]), 0), [
    'virtual mysql (tcp:10.0.0.3:3306) removed: draining',
    'server mysql/sql1 (10.0.0.4:3306) removed: draining',
    'server mysql/sql2 (10.0.0.5:3306) removed: draining',
  ]);
  t.same(order(p), ['10.0.0.5:0', '10.0.0.4:0']);
  t.same(p.expireDrains(() => 5, 1000).length, 2, 'deadline reached');
  t.same(p.specs(), []);
});

t.test('sorry_server: in the table (weight 1) only while no real server takes new connections', async (t) => {
  const p = new Pool({ healthWired: true, drainTimeoutMs: 1000 });
  p.applyConfig(config([virtual('mysql', '10.0.0.3', [server('sql1', '10.0.0.4'), server('sql2', '10.0.0.5')], { sorryServer: '10.0.0.9' })]), 0);
  t.same(order(p), ['10.0.0.9:1'], 'nothing up yet: the sorry server serves');
  p.applyHealth(up('sql1', '10.0.0.4'), 'x');
  t.same(order(p), ['10.0.0.4:1'], 'a real server is up: sorry server removed');
  p.applyHealth(down('sql1', '10.0.0.4', true), 'x');
  t.same(order(p), ['10.0.0.4:0', '10.0.0.9:1'], 'quiesced servers take no new connections: sorry server back');
});
