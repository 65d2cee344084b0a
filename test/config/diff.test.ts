// Reload diffs: identity of virtuals and servers, check-vs-policy changes, global HA/timeout flags.
import t from 'tap';
import { diffConfigs, parseConfig, validateConfig } from '../../src/config';
import { mk, parseOpts } from './helpers';

const load = (text: string) => validateConfig(parseConfig(text, 'lvs.cf', parseOpts), parseOpts);

t.test('identical configs give an empty diff', async (t) => {
  const d = diffConfigs(load(mk()), load(mk()));
  t.ok(d.empty);
  t.equal(d.unchanged.length, 1);
  t.same([d.added, d.removed, d.changed], [[], [], []]);
});

t.test('comments, blank lines and key order do not matter', async (t) => {
  const a = load(mk({ virtual: ['timeout = 5', 'reentry = 10'] }));
  const b = load(mk({ virtual: ['# reordered', 'reentry = 10', '', 'timeout = 5'] }));
  t.ok(diffConfigs(a, b).empty);
});

t.test('virtual identity is proto:VIP:port; a port change is remove + add', async (t) => {
  const d = diffConfigs(load(mk()), load(mk({ virtual: ['port = 8080'] })));
  t.same(d.removed.map((v) => v.port), [80]);
  t.same(d.added.map((v) => v.port), [8080]);
});

t.test('fwmark services are identified by their mark', async (t) => {
  const d = diffConfigs(load(mk({ virtual: ['fwmark = 7'] })), load(mk({ virtual: ['fwmark = 7', 'port = 443'] })));
  t.same(d.changed.map((c) => [c.key, c.fields]), [['fwm:7', ['port']]]);
});

t.test('scheduler change keeps servers unchanged', async (t) => {
  const d = diffConfigs(load(mk()), load(mk({ virtual: ['scheduler = rr'] })));
  t.equal(d.changed.length, 1);
  t.same(d.changed[0].fields, ['scheduler']);
  t.same(d.changed[0].servers.unchanged.map((s) => s.address), ['10.0.0.4']);
  t.same(d.changed[0].servers.changed, []);
});

t.test('probe settings change → checkChanged; policy settings → policyChanged only', async (t) => {
  const probe = diffConfigs(load(mk()), load(mk({ virtual: ['send = "PING\\n"', 'expect = "PONG"'] })));
  t.same(probe.changed[0].servers.changed.map((c) => [c.key, c.checkChanged, c.policyChanged]), [['10.0.0.4:80', true, false]]);
  const policy = diffConfigs(load(mk()), load(mk({ virtual: ['quiesce_server = 1'] })));
  t.same(policy.changed[0].servers.changed.map((c) => [c.checkChanged, c.policyChanged]), [[false, true]]);
  const weight = diffConfigs(load(mk()), load(mk({ server: ['weight = 5'] })));
  t.same(weight.changed[0].servers.changed.map((c) => [c.fields, c.checkChanged, c.policyChanged]), [[['weight'], false, true]]);
  const timeout = diffConfigs(load(mk()), load(mk({ virtual: ['timeout = 3'] })));
  t.same(timeout.changed[0].fields, ['interval', 'rise', 'timeout'], 'derived interval and rise follow timeout');
  t.equal(timeout.changed[0].servers.changed[0].checkChanged, true, 'timeout is the connect/read timeout too');
});

t.test('servers by (address, port): added, removed, deactivated', async (t) => {
  const two = mk({ virtual: ['server t {', '  address = 10.0.0.5', '  active = 1', '}'] });
  const d = diffConfigs(load(mk()), load(two));
  t.same(d.changed[0].servers.added.map((s) => s.name), ['t']);
  const back = diffConfigs(load(two), load(mk()));
  t.same(back.changed[0].servers.removed.map((s) => s.name), ['t']);
  const inactive = diffConfigs(load(two), load(two.replace('  active = 1\n}', '  active = 0\n}').replace(/(10\.0\.0\.5\n\s+active = )1/, '$10')));
  t.same(inactive.changed[0].servers.removed.map((s) => s.name), ['t'], 'an inactive server counts as absent');
  const renamed = diffConfigs(load(mk()), load(mk().replace('server s {', 'server renamed {')));
  t.same(renamed.changed[0].servers.changed.map((c) => [c.fields, c.checkChanged]), [[['name'], false]], 'rename keeps the checker');
});

t.test('a virtual set inactive is removed', async (t) => {
  const base = mk({ tail: ['virtual w {', '  active = 1', '  address = 10.0.0.8 eth0:2', '  server s {', '    address = 10.0.0.4', '    active = 1', '  }', '}'] });
  const off = base.replace('virtual w {\n  active = 1', 'virtual w {\n  active = 0');
  const d = diffConfigs(load(base), load(off));
  t.same(d.removed.map((v) => v.name), ['w']);
  t.equal(d.unchanged.length, 1);
});

t.test('global changes: HA-relevant and timeouts flagged', async (t) => {
  const ha = diffConfigs(load(mk()), load(mk({ global: ['keepalive = 1', 'deadtime = 3'] })));
  t.same(ha.global, { fields: ['deadtime', 'keepalive'], haChanged: true, timeoutsChanged: false });
  t.notOk(ha.empty);
  const to = diffConfigs(load(mk()), load(mk({ global: ['tcp_timeout = 60'] })));
  t.same(to.global, { fields: ['tcpTimeout'], haChanged: false, timeoutsChanged: true });
  const serial = diffConfigs(load(mk()), load(mk({ global: ['serial_no = 5'] })));
  t.same(serial.global, { fields: ['serialNo'], haChanged: false, timeoutsChanged: false });
});
