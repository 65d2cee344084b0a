// whereNow: a new connection's dest from the live counters (wlc/lc exact, rr/wrr cursor caveat, sh/mh unchanged).
import t from 'tap';
import type { ServiceCounters } from '../../src/dataplane/types';
import { liveDecision, parseWhereClient, where, whereNow } from '../../src/scheduler';
import { service } from './helpers';

const SQL1 = { address: '10.0.0.4', port: 3306, weight: 1, name: 'sql1' };
const SQL2 = { address: '10.0.0.5', port: 3306, weight: 1, name: 'sql2' };
const counters = (rows: [string, number, number, string?][]): ServiceCounters[] => [{
  vip: '10.0.0.3', port: 3306, protocol: 'tcp', conns: 0, inPkts: 0, inBytes: 0,
  dests: rows.map(([address, activeConns, inactConns, unavailableReason]) => ({
    address, port: 3306, weight: 1, activeConns, inactConns, persistConns: 0, conns: 0, inPkts: 0, inBytes: 0, ...(unavailableReason ? { unavailableReason } : {}),
  })),
}];
const svc = (over = {}) => service({ vip: '10.0.0.3', dests: [SQL2, SQL1], ...over });

t.test('wlc/lc use the live counters', async (t) => {
  const busy = counters([['10.0.0.5', 3, 0], ['10.0.0.4', 0, 5]]);
  const a = whereNow([svc()], busy, '10.0.1.7')[0];
  t.equal(a.dest?.name, 'sql1', '3*256 on sql2 vs 5 on sql1');
  t.match(a.reason, /^wlc with live counters: .*→ sql1 \(10\.0\.0\.4:3306\) \[sql2 \(10\.0\.0\.5:3306\): 3\*256\+0 = 768 \/ w1; sql1 \(10\.0\.0\.4:3306\): 0\*256\+5 = 5 \/ w1\]$/);
  t.same(a.decision.dest, { address: '10.0.0.4', port: 3306 });
  const tie = whereNow([svc({ scheduler: 'lc' })], counters([['10.0.0.5', 1, 0], ['10.0.0.4', 0, 256]]), '10.0.1.7')[0];
  t.equal(tie.dest?.name, 'sql2', 'lc: 256 = 256, the first minimum stays');
  t.match(tie.reason, /^lc with live counters/);
  const p = whereNow([svc({ persistent: 60, pmask: '255.255.240.0' })], busy, '10.0.1.7')[0];
  t.match(p.reason, /^no live template covers this client, so a new one would be made: wlc/);
  t.equal(p.decision.templateCreated, true);
});

t.test('cursor schedulers, hash schedulers, missing counters, nobody usable', async (t) => {
  t.match(whereNow([svc({ scheduler: 'rr' })], counters([]), '10.0.1.7')[0].reason, /^rr: the next dest depends on the data plane's cursor/);
  const sh = svc({ scheduler: 'sh' });
  t.same(whereNow([sh], counters([['10.0.0.5', 9, 9]]), '10.0.1.7')[0], where([sh], '10.0.1.7'), 'sh does not depend on counters');
  t.same(whereNow([svc()], [], '10.0.1.7')[0], where([svc()], '10.0.1.7'), 'no counters for the service: the fresh answer');
  const none = whereNow([svc()], counters([['10.0.0.5', 0, 0, 'no MAC address'], ['10.0.0.4', 0, 0, 'no MAC address']]), '10.0.1.7')[0];
  t.same([none.dest, none.decision.verdict], [null, 'no_dest']);
  t.match(none.reason, /no real server: .*sql2 \(10\.0\.0\.5:3306\) w1, no MAC address/);
});

t.test('parseWhereClient: CLIENT_IP[:PORT] only', async (t) => {
  t.same(parseWhereClient('10.0.1.7'), { ip: '10.0.1.7', port: undefined });
  t.same(parseWhereClient('10.0.1.7:51000'), { ip: '10.0.1.7', port: 51000 });
  for (const bad of ['10.0.0.256', 'host:1', '10.0.1.7:65536', '10.0.1', '']) t.equal(parseWhereClient(bad), undefined, bad);
});

t.test('liveDecision: own connection, then a covering template not pointing at a failed dest', async (t) => {
  const conn = (caddr: string, cport: number, template: boolean, daddr = '10.0.0.4') =>
    ({ protocol: 'tcp' as const, caddr, cport, vaddr: '10.0.0.3', vport: 3306, daddr, dport: 3306, state: 'ESTABLISHED', expiresMs: 1000, template });
  const spec = (failed: boolean) => [{ vip: '10.0.0.3', port: 3306, protocol: 'tcp' as const, fwmark: 0, scheduler: 'wlc' as const, persistent: 60, pmask: '255.255.255.0',
    expireQuiescentTemplate: false, expireNodestConn: false, dests: [{ address: '10.0.0.4', port: 3306, weight: 1, failed }] }];
  const virtuals = [{ vip: '10.0.0.3', port: 3306, pmask: '255.255.255.0' }];
  const conns = [conn('10.0.1.7', 5000, false, '10.0.0.5'), conn('10.0.2.0', 0, true)];
  t.equal(liveDecision(conns, { ip: '10.0.1.7' }, virtuals, spec(false))?.daddr, '10.0.0.5', 'own connection, any port');
  t.equal(liveDecision(conns, { ip: '10.0.1.7', port: 5001 }, virtuals, spec(false)), undefined, 'another port, no template for 10.0.1.0');
  t.equal(liveDecision(conns, { ip: '10.0.2.9' }, virtuals, spec(false))?.template, true, 'the /24 template covers it');
  t.equal(liveDecision(conns, { ip: '10.0.2.9' }, [{ vip: '10.0.0.3', port: 3306 }], spec(false)), undefined, 'no pmask: /32');
  t.equal(liveDecision(conns, { ip: '10.0.2.9' }, virtuals, spec(true)), undefined, 'a template to a failed dest decides nothing');
});
