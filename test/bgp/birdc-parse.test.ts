// birdc's answers, as BIRD 2.0.12 printed them in a namespace lab (test/bgp/fixtures), and odd input.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseBfdSessions, parseProtocols, parseRoutes } from '../../src/bgp/birdc-parse';

const fx = (f: string) => readFileSync(join(__dirname, 'fixtures', f), 'utf8');

t.test('show protocols all: the BGP session of a director', async (t) => {
  const ps = parseProtocols(fx('director-protocols.txt'));
  t.same(ps.map((p) => [p.name, p.proto, p.state]), [['device1', 'Device', 'up'], ['directord_vips', 'Static', 'up'], ['directord_bfd', 'BFD', 'up'], ['directord_p1', 'BGP', 'up']]);
  const bgp = ps[3];
  t.equal(bgp.bgpState, 'Established');
  t.equal(bgp.neighbor, '10.0.0.1');
  t.equal(bgp.neighborAs, 65000);
  t.equal(bgp.localAs, 65001);
  t.same(bgp.routes, { imported: 0, exported: 1, preferred: 0 });
  t.equal(ps[1].bgpState, undefined);
});

t.test('show protocols all: a session the director closed', async (t) => {
  const [p] = parseProtocols(fx('router-peer-down.txt'));
  t.equal(p.state, 'start');
  t.equal(p.bgpState, 'Active');
  t.match(p.info, /Administrative shutdown/);
});

t.test('show route all: prefix, origin protocol, next hops', async (t) => {
  t.same(parseRoutes(fx('router-route-all.txt')), [{ prefix: '10.2.0.100/32', from: 'd1', via: ['10.0.0.11'], primary: true }]);
});

t.test('show route: ECMP continuation rows repeat the prefix; blackhole has no next hop', async (t) => {
  const text = [
    'Table master4:',
    '10.2.0.100/32        unicast [d1 00:13:39.319] * (100) [AS65001i]',
    '\tvia 10.0.0.11 on eth0',
    '                     unicast [d2 00:13:40.001] (100) [AS65001i]',
    '\tvia 10.0.0.12 on eth0',
    '10.2.0.7/32          blackhole [directord_vips 00:13:27.951] * (200)',
  ].join('\n');
  t.same(parseRoutes(text), [
    { prefix: '10.2.0.100/32', from: 'd1', via: ['10.0.0.11'], primary: true },
    { prefix: '10.2.0.100/32', from: 'd2', via: ['10.0.0.12'], primary: false },
    { prefix: '10.2.0.7/32', from: 'directord_vips', via: [], primary: true },
  ]);
});

t.test('show bfd sessions', async (t) => {
  t.same(parseBfdSessions(fx('bfd-sessions.txt')), [{ address: '10.0.0.11', iface: 'va', state: 'Up', since: '00:13:34.067', intervalSeconds: 0.1, timeoutSeconds: 0.3 }]);
});

t.test('odd input never throws and yields nothing', async (t) => {
  for (const s of [fx('unreachable.txt'), '', '\0\0\n  BGP state: x', 'Name Proto Table State Since Info\n  Routes: 1 imported']) {
    t.same(parseProtocols(s), []);
    t.same(parseRoutes(s), []);
    t.same(parseBfdSessions(s), []);
  }
});
