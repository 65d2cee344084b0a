// `where`: the seed's answer (sql2, added last; /20 template), list order from the config, per-scheduler reasons.
import t from 'tap';
import path from 'node:path';
import { loadConfig, type LvsConfig, type VirtualServiceConfig } from '../../src/config';
import { servicesFromConfig, where, whereAll } from '../../src/scheduler';
import { service } from './helpers';
import { mhSlot, shBucket } from './ipvs-fixture';

const SEED = path.join(__dirname, '..', 'fixtures', 'seed', 'lvs.cf');

t.test('seed lvs.cf: every client of a /20 goes to sql2, the server added last', async (t) => {
  const specs = servicesFromConfig(loadConfig(SEED));
  t.same(specs.map((s) => [s.vip, s.port, s.scheduler, s.persistent, s.pmask]), [['10.0.0.3', 3306, 'wlc', 60, '255.255.240.0']]);
  t.same(specs[0].dests.map((d) => [d.name, d.address, d.weight]), [['sql2.example.com', '10.0.0.5', 1], ['sql1.example.com', '10.0.0.4', 1]],
    'IPVS list order is the reverse of the config order');
  // Clients spread over 64 different /20s (and both ends of one): the answer is the same for each.
  const clients = ['10.0.1.7', '10.0.0.0', '10.0.15.255', '192.168.1.1', ...Array.from({ length: 60 }, (_, i) => `${11 + i * 3}.${(i * 37) % 256}.${(i * 91) % 256}.${(i * 53) % 256}`)];
  const wrong = clients.filter((client) => {
    const a = where(specs, client);
    return a.dest?.name !== 'sql2.example.com' || !/^persistent: template for \d+\.\d+\.\d+\.0\/20 → 10\.0\.0\.5:3306/.test(a.reason) ||
      !/wlc: every server has overhead 0.*sql2\.example\.com \(10\.0\.0\.5:3306\), IPVS list position 1 of 2, the server added last/.test(a.reason);
  });
  t.same(wrong, [], `all ${clients.length} clients go to sql2, with the persistence and wlc reasons`);
  t.match(where(specs, '10.0.31.1').reason, /template for 10\.0\.16\.0\/20/);
  t.equal(where(specs, '10.0.1.7', 5000, { vip: '10.0.0.3', port: 3306 }).decision.verdict, 'forward');
  t.throws(() => where(specs, '10.0.1.7', undefined, { vip: '10.0.0.9' }), { code: 'E_SCHED_NO_SERVICE' });
  t.throws(() => where(specs, '10.0.1.7', undefined, { port: 80 }), { code: 'E_SCHED_NO_SERVICE' });
  t.throws(() => where(specs, 'nope'), { code: 'E_SCHED_BAD_ADDRESS' });
  t.throws(() => where(specs, '10.0.1.7', 70000), { code: 'E_SCHED_BAD_PORT' });
});

function cfg(virtuals: Partial<VirtualServiceConfig>[]): LvsConfig {
  return { file: 'x', global: {} as LvsConfig['global'], virtuals: virtuals as VirtualServiceConfig[] };
}
const server = (name: string, address: string, weight: number, active = true) => ({ name, address, port: 80, weight, active, source: { file: 'x', line: 1 } });

t.test('servicesFromConfig: only active virtuals and servers, pmask only with persistence', async (t) => {
  const specs = servicesFromConfig(cfg([
    { name: 'web', active: true, address: '10.61.0.1', port: 80, protocol: 'tcp', fwmark: 0, scheduler: 'rr', persistent: 0, pmask: '255.255.0.0',
      expireQuiescentTemplate: false, expireNodestConn: true, servers: [server('w1', '10.61.1.1', 1), server('w2', '10.61.1.2', 2, false), server('w3', '10.61.1.3', 3)] },
    { name: 'off', active: false, address: '10.61.0.2', servers: [] },
  ]));
  t.equal(specs.length, 1);
  t.same(specs[0].dests.map((d) => d.name), ['w3', 'w1']);
  t.same([specs[0].pmask, specs[0].expireNodestConn, specs[0].name], ['255.255.255.255', true, 'web']);
});

t.test('per-scheduler explanations', async (t) => {
  const dests = [{ address: '10.61.1.3', port: 80, weight: 3, name: 'w3' }, { address: '10.61.1.1', port: 80, weight: 1, name: 'w1' }];
  const one = (over: Parameters<typeof service>[0]) => where([service({ vip: '10.61.0.1', port: 80, ...over })], '10.61.9.9');
  t.match(one({ scheduler: 'lc', dests }).reason, /^lc: every server has overhead 0.* w3 \(10\.61\.1\.3:80\)/);
  t.match(one({ scheduler: 'rr', dests }).reason, /^rr: the cursor starts at the list head.* w3/);
  // Added w3 (weight 3) then w1 (weight 1): the second add leaves cw at 1 (gcd 1, 1 <= mw 3), so the head, w1, wins.
  t.match(one({ scheduler: 'wrr', dests: [...dests].reverse() }).reason, /^wrr: after the servers were added one by one .*, the current weight is 1, .* w1 \(10\.61\.1\.1:80\), IPVS list position 1 of 2, the server added last/);
  t.match(one({ scheduler: 'wrr', dests: [{ ...dests[1], weight: 0 }, dests[0]] }).reason, /the current weight is 1, .* w3 \(10\.61\.1\.3:80\), IPVS list position 2 of 2$/, 'a weight-0 head is passed over');
  const sh = one({ scheduler: 'sh', dests });
  const bucket = shBucket('10.61.9.9');
  t.match(sh.reason, new RegExp(`^sh: hash_32\\(10\\.61\\.9\\.9, 8\\) = bucket ${bucket} of 256`));
  t.equal(sh.dest?.name, bucket % 4 < 3 ? 'w3' : 'w1', 'buckets: w3 w3 w3 w1 repeating');
  const shp = where([service({ vip: '10.61.0.1', port: 80, scheduler: 'sh', schedFlags: { port: true }, dests })], '10.61.9.9', 1234);
  t.match(shp.reason, /\+ port 1234/);
  const mh = one({ scheduler: 'mh', dests });
  const slot = mhSlot('10.61.9.9');
  t.match(mh.reason, new RegExp(`^mh: hsiphash\\(10\\.61\\.9\\.9\\) mod 4093 = slot ${slot}, which belongs to w[13]`));
  const mhp = where([service({ vip: '10.61.0.1', port: 80, scheduler: 'mh', schedFlags: { port: true }, dests })], '10.61.9.9', 99);
  t.match(mhp.reason, /\+ port 99/);
  t.match(one({ scheduler: 'fo', dests: [...dests].reverse() }).reason, /^fo: every new connection goes to the highest weight \(3\), ties to the first in list order: w3 \(10\.61\.1\.3:80\), IPVS list position 2 of 2$/);
  const none = one({ dests: [{ ...dests[0], weight: 0 }] });
  t.same([none.dest, none.decision.verdict], [null, 'no_dest']);
  t.match(none.reason, /every real server has weight 0/);
  t.match(one({ dests: [] }).reason, /no active real servers/);
  const nameless = one({ dests: [{ address: '10.61.1.5', port: 80, weight: 1 }] });
  t.match(nameless.reason, /first one in list order with weight > 0 wins: 10\.61\.1\.5:80, IPVS list position 1 of 1$/);
  const odd = where([service({ vip: '10.61.0.1', port: 80, persistent: 30, pmask: '255.0.255.0', dests })], '10.61.9.9');
  t.match(odd.reason, /template for 10\.0\.9\.0 mask 255\.0\.255\.0/);
  const all = whereAll([service({ vip: '10.61.0.1', port: 80, dests }), service({ vip: '10.61.0.2', port: 0, persistent: 10, dests: [{ ...dests[0], port: 0 }] })], '10.61.9.9', undefined, { port: 443 });
  t.same(all.map((a) => [a.service.vip, a.decision.dest?.port]), [['10.61.0.2', 443]], 'port-0 service matches any port');
});

t.test('no dest with sh: the bucket of a weight-0 server', async (t) => {
  // Buckets alternate a (weight 1), z (weight 0): 10.61.9.9 lands on z iff its bucket is odd.
  const dests = [{ address: '10.61.1.1', port: 80, weight: 1, name: 'a' }, { address: '10.61.1.2', port: 80, weight: 0, name: 'z' }];
  const clients = ['10.61.9.1', '10.61.9.2', '10.61.9.3', '10.61.9.4', '10.61.9.5', '10.61.9.6'];
  let seenNone = 0;
  for (const c of clients) {
    const a = where([service({ vip: '10.61.0.1', port: 80, scheduler: 'sh', dests })], c);
    const odd = shBucket(c) % 2 === 1;
    t.equal(a.dest?.name ?? null, odd ? null : 'a', c);
    if (odd) { seenNone++; t.match(a.reason, /sh: the client's bucket \d+ belongs to a server with weight 0, and sh-fallback is off/); }
  }
  t.ok(seenNone > 0, 'the client list covers a weight-0 bucket');
  t.match(where([service({ vip: '10.61.0.1', port: 80, scheduler: 'mh', dests: [{ ...dests[0], weight: 0 }, dests[1]] })], '10.61.9.1').reason, /every real server has weight 0/);
  const port0 = where([service({ vip: '10.61.0.1', port: 0, dests: [{ ...dests[0], port: 0 }] })], '10.61.9.1', undefined, { port: 443 });
  t.match(port0.reason, /port-0 virtual service without persistence/);
});
