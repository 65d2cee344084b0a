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

t.test('failed: a server down by its health check invalidates its templates; an operator weight 0 does not', async (t) => {
  const failedOf = (p: Pool) => p.specs()[0].dests.map((d) => `${d.address}:${d.weight}${d.failed ? ' failed' : ''}`);
  const p = new Pool({ healthWired: true, drainTimeoutMs: 1000 });
  p.applyConfig(seed(), 0);
  p.applyHealth(up('sql1', '10.0.0.4'), 'x');
  p.applyHealth(up('sql2', '10.0.0.5'), 'x');
  t.same(failedOf(p), ['10.0.0.5:1', '10.0.0.4:1']);
  t.ok(p.applyHealth(down('sql2', '10.0.0.5', true), 'x'), 'table rewritten');
  t.same(failedOf(p), ['10.0.0.5:0 failed', '10.0.0.4:1'], 'quiesced by health: failed');
  t.ok(p.applyHealth(up('sql2', '10.0.0.5'), 'x'));
  t.same(failedOf(p), ['10.0.0.5:1', '10.0.0.4:1'], 'back after reentry: no longer failed');

  const [e] = p.match('sql1');
  e.override = { kind: 'drain', weight: 0, since: 'x' };
  t.same(failedOf(p), ['10.0.0.5:1', '10.0.0.4:0'], 'directorctl drain: weight 0, not failed');
  e.override = { kind: 'weight', weight: 0, since: 'x' };
  t.same(failedOf(p), ['10.0.0.5:1', '10.0.0.4:0'], 'weight 0 override: not failed');
  e.override = undefined;
  p.applyHealth(down('sql1', '10.0.0.4', true), 'x');
  e.override = { kind: 'drain', weight: 0, since: 'x' };
  t.same(failedOf(p), ['10.0.0.5:1', '10.0.0.4:0 failed'], 'a drained server that also failed its check is failed');

  // A configured weight 0 that health keeps at 0 (same inTable and weight): the failure alone still rewrites the table.
  const z = new Pool({ healthWired: true, drainTimeoutMs: 1000 });
  z.applyConfig(config([virtual('mysql', '10.0.0.3', [server('sql1', '10.0.0.4', { weight: 0 })], { persistent: 60 })]), 0);
  z.applyHealth(up('sql1', '10.0.0.4', 0), 'x');
  t.same(failedOf(z), ['10.0.0.4:0'], 'configured weight 0 and up: not failed');
  t.ok(z.applyHealth(down('sql1', '10.0.0.4', true), 'x'), 'the failure alone rewrites the table');
  t.same(failedOf(z), ['10.0.0.4:0 failed']);

  // failed_server_keeps_templates = 1: IPVS's behaviour, the flag is never set.
  const k = new Pool({ healthWired: true, drainTimeoutMs: 1000 });
  k.applyConfig(config([virtual('mysql', '10.0.0.3', [server('sql1', '10.0.0.4'), server('sql2', '10.0.0.5')], { persistent: 60, failedServerKeepsTemplates: true })]), 0);
  k.applyHealth(up('sql1', '10.0.0.4'), 'x');
  k.applyHealth(down('sql2', '10.0.0.5', true), 'x');
  t.same(failedOf(k), ['10.0.0.5:0', '10.0.0.4:1'], 'failed_server_keeps_templates = 1: quiesced, templates kept');
  const changes = k.applyConfig(config([virtual('mysql', '10.0.0.3', [server('sql1', '10.0.0.4'), server('sql2', '10.0.0.5')], { persistent: 60 })]), 1);
  t.same(changes, ['virtual mysql (tcp:10.0.0.3:3306) changed'], 'a reload that changes the key is a service change');
  t.same(failedOf(k), ['10.0.0.5:0 failed', '10.0.0.4:1'], 'and applies to a server already down');

  // Removed from the configuration while failed: it drains at weight 0 and stays failed.
  const r = new Pool({ healthWired: true, drainTimeoutMs: 1000 });
  r.applyConfig(seed(), 0);
  r.applyHealth(up('sql1', '10.0.0.4'), 'x');
  r.applyHealth(down('sql2', '10.0.0.5', true), 'x');
  r.applyConfig(config([virtual('mysql', '10.0.0.3', [server('sql1', '10.0.0.4')], { persistent: 60, pmask: '255.255.240.0' })]), 1);
  t.same(failedOf(r), ['10.0.0.5:0 failed', '10.0.0.4:1'], 'draining and failed');
});

t.test('a first verdict of down, out of the table, rewrites nothing', async (t) => {
  const p = new Pool({ healthWired: true, drainTimeoutMs: 1000 });
  p.applyConfig(seed(), 0);
  t.notOk(p.applyHealth(down('sql1', '10.0.0.4', false), 'x'));
  t.same(order(p), []);
});
