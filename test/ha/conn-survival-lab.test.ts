// The full daemon (native AF_PACKET data plane + HaNode) on the seed topology: a long-lived MySQL session and an
// idle persistent client through the VIP survive a SIGKILL of the active director, on the same real server, no reset.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { labAvailable, waitFor } from '../lab/lab';
import { SeedLab, SEED, seedVariant, FAST_TIMINGS } from '../lab/seed';
import { ensureLabBuilt, paths } from '../lab/build-lab';
import type { ConnEntry } from '../../src/dataplane/types';

const ADDR = { sql1: SEED.sql1, sql2: SEED.sql2 } as const;

t.test('established connections survive a director failover (syncdaemon = 1)', { skip: !labAvailable() && 'needs root and ip netns' }, async (t) => {
  ensureLabBuilt();
  const seed = await SeedLab.create();
  t.teardown(() => seed.destroy());
  // The seed's lvs.cf (persistent = 60, pmask /20, syncdaemon = 1) with the fast clocks.
  const config = seedVariant(readFileSync(paths.seedConfig, 'utf8'), { ...FAST_TIMINGS.global }, { ...FAST_TIMINGS.virtual });
  await seed.startDirector('lb1', config);
  await seed.director('lb1').waitForwarding(true, 15000);
  await seed.startDirector('lb2', config);
  await waitFor('lb1 has both servers in its table', async () => (await seed.director('lb1').status()).health.filter((h) => h.inTable).length === 2, 20000, 100);
  await waitFor('lb2 standby, seeing lb1', async () => {
    const s = await seed.director('lb2').status();
    return s.ha.forwarding === false && s.ha.state === 'standby' && s.health.filter((h) => h.inTable).length === 2;
  }, 20000, 100);

  // The idle persistent client: one short connection creates the persistence template.
  const server = await seed.waitServedBy('any', 20000);
  t.pass(`the client is persistent on ${server}`);

  // The long-lived session: three statements, the later ones sent only after the failover.
  const session = seed.clientSql('SELECT @@server_id;\nSELECT SLEEP(4);\nSELECT @@server_id;\nSELECT SLEEP(1);\nSELECT @@server_id;\n', { connectTimeout: 3 });
  const connsOf = async (h: 'lb1' | 'lb2'): Promise<ConnEntry[]> => {
    const r = await seed.director(h).ctl(['--json', 'status', '--connections']);
    const a = JSON.parse(r.stdout) as { result?: { connections?: ConnEntry[] } };
    return a.result?.connections ?? [];
  };
  const synced = await waitFor('lb2 to hold the synced session and template', async () => {
    const c = await connsOf('lb2');
    const est = c.find((e) => !e.template && e.caddr === SEED.client && e.vaddr === SEED.vip && e.state === 'ESTABLISHED');
    const tpl = c.find((e) => e.template && e.vaddr === SEED.vip);
    return est && tpl ? { est, tpl } : undefined;
  }, 10000, 100);
  t.equal(synced.est.daddr, ADDR[server], 'the backup knows the session goes to the same real server');
  t.equal(synced.tpl.daddr, ADDR[server], 'and the persistence template');

  const t0 = Date.now();
  await seed.director('lb1').stop('SIGKILL');
  await seed.director('lb2').waitForwarding(true, 10000);
  t.pass(`lb2 forwards ${Date.now() - t0} ms after the kill`);

  const r = await session;
  const ids = r.stdout.split('\n').filter((l) => /^\d+$/.test(l.trim()) && l.trim() !== '0');
  t.equal(r.code, 0, `the session ended normally (stderr: ${r.stderr.trim() || 'none'})`);
  t.notMatch(r.stderr, /Lost connection|gone away|reset/i, 'no reset, no lost connection');
  t.same(ids, [server === 'sql1' ? '1' : '2', server === 'sql1' ? '1' : '2', server === 'sql1' ? '1' : '2'], 'every statement answered by the same server, before and after the failover');
  t.equal(await seed.servedBy(), server, 'the idle persistent client keeps its server through the new director');
  t.equal(await seed.vipOwner(), 'lb2');
});
