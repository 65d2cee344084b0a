// The failures the seed's design must survive, one lab, a database workload through the VIP all along.
// Fast variant of the seed's lvs.cf (timeout 1, reentry 2, keepalive 0.2, deadtime 0.6) so the suite stays short;
// nothing else changed: a dead server's persistent clients move without expire_quiescent_template (see
// dead-server-persistence.test.ts for the seed's own timings).
import t, { type Test } from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { labAvailable, waitFor } from '../lab/lab';
import { SeedLab, SEED, seedVariant, FAST_TIMINGS, type Director } from '../lab/seed';
import { waitCaughtUp, type MariaDbServer } from '../lab/mariadb';
import type { Workload } from '../lab/workload';
import { ensureLabBuilt, paths } from '../lab/build-lab';

const TIMEOUT = FAST_TIMINGS.virtual.timeout;
const REENTRY = FAST_TIMINGS.virtual.reentry;
const DEADTIME = FAST_TIMINGS.global.deadtime;
/** Scheduling slack on a shared 2-core machine (other suites run concurrently), added to every configured bound. */
const SLACK_MS = 3000;
/** A dead real server: one failed check (interval = timeout, the check itself bounded by timeout), then re-routing. */
const SERVER_DETECTION_MS = 2 * TIMEOUT * 1000 + SLACK_MS;
/** A dead director: deadtime without heartbeats, then the GARP reaches the client. */
const DIRECTOR_DETECTION_MS = (DEADTIME + FAST_TIMINGS.global.keepalive) * 1000 + SLACK_MS;

export function fastConfig(extraVirtual: Record<string, string | number> = {}): string {
  return seedVariant(readFileSync(paths.seedConfig, 'utf8'), { ...FAST_TIMINGS.global }, { ...FAST_TIMINGS.virtual, ...extraVirtual });
}

t.test('failures under a database workload', { skip: !labAvailable() && 'needs root and ip netns' }, async (t) => {
  ensureLabBuilt();
  const seed = await SeedLab.create();
  let workload: Workload | undefined;
  t.teardown(async () => {
    await workload?.stop();
    await seed.destroy();
  });
  const config = fastConfig();
  await seed.startDirector('lb1', config);
  await seed.director('lb1').waitForwarding(true, 15000);
  await seed.startDirector('lb2', config);
  await waitFor('both servers in the table', async () => (await seed.director('lb1').status()).health.filter((h) => h.inTable).length === 2, 15000, 100);

  const w = await seed.startWorkload({ intervalMs: 20, timeoutMs: 1000 });
  workload = w;
  await waitFor('the workload to commit through the VIP', () => w.committed.length > 5, 20000, 100);

  const server = (name: 'sql1' | 'sql2'): MariaDbServer => (name === 'sql1' ? seed.sql1 : seed.sql2);
  const active = async (): Promise<Director> =>
    waitFor('exactly one forwarding director', async () => {
      const on: Director[] = [];
      for (const h of ['lb1', 'lb2'] as const) if (seed.directors.get(h)?.running && (await seed.director(h).status()).ha.forwarding) on.push(h);
      return on.length === 1 ? on[0] : undefined;
    }, 20000, 100);
  const recovered = async (t: Test, what: string, since: number, boundMs: number): Promise<void> => {
    // Only that it recovers: how fast is measured by bench/health-transitions.ts and bench/failover.ts, not bounded here.
    const ms = await waitFor(`a new connection to commit after ${what}`, () => w.recoveryMs(since), boundMs + 20000, 50);
    t.pass(`${what}: new connections commit again (after ${ms} ms; configured detection ${boundMs - SLACK_MS} ms)`);
  };

  await t.test('a real server stopped, then back after reentry', async (t) => {
    const victim = await seed.waitServedBy('any');
    const other = victim === 'sql1' ? 'sql2' : 'sql1';
    const lb = seed.director(await active());
    const mark = lb.records.length;
    const t0 = Date.now();
    await server(victim).stop();
    await lb.waitLog(`[inactive] ${victim}`, (r) => /^\[inactive\] shutting down/.test(String(r.msg)) && String(r.msg).includes(server(victim).address), 20000, mark);
    await recovered(t, `${victim}'s mysqld stopped`, t0, SERVER_DETECTION_MS);
    t.equal(w.lastOk()!.serverId, other === 'sql1' ? 1 : 2, `traffic moved to ${other}`);
    // The directors' checks are refused (RST, an immediate failure) until mysqld is up; lifting the rule is the
    // moment checks can first succeed, the reference for re-entry (start() itself already waits for mariadbd).
    const block = `nft add table inet ddreentry && nft add chain inet ddreentry in '{ type filter hook input priority 0; }' && nft add rule inet ddreentry in ip saddr '{ ${SEED.lb1}, ${SEED.lb2} }' tcp dport 3306 reject with tcp reset`;
    await seed.must(victim, ['sh', '-c', block]);
    await server(victim).start();
    const t1 = Date.now();
    await seed.must(victim, ['nft', 'delete', 'table', 'inet', 'ddreentry']);
    const up = await lb.waitLog(`[ active ] ${victim}`, (r) => /^\[ active \] making/.test(String(r.msg)) && String(r.msg).includes(server(victim).address), 30000, mark);
    // reentry / timeout = 2 good checks, `timeout` apart (sleep from the end of one to the start of the next).
    const back = Date.parse(String(up.time)) - t1;
    t.ok(back >= (REENTRY - TIMEOUT) * 1000, `re-entry waited for consecutive good checks: ${back} ms after checks could succeed`);
    await waitCaughtUp(server(victim), server(other));
  });

  await t.test('the active director killed: the backup takes the VIP', async (t) => {
    const was = await active();
    const t0 = Date.now();
    await seed.director(was).stop('SIGKILL');
    const now = await active();
    t.not(now, was, `${now} took over`);
    await recovered(t, `${was} killed`, t0, DIRECTOR_DETECTION_MS);
    t.equal(await seed.vipOwner(), now, `the client's ARP entry for the VIP points at ${now}`);
    await seed.startDirector(was, config);
    await new Promise((r) => setTimeout(r, DEADTIME * 3000));
    const after = await active();
    t.pass(`${was} restarted; ${after} forwards`);
    const t1 = Date.now();
    await recovered(t, `${was} rejoined`, t1, DIRECTOR_DETECTION_MS);
  });

  await t.test("the active director's link goes down, then up", async (t) => {
    const was = await active();
    const port = seed.lab.switchPort(was);
    const t0 = Date.now();
    await seed.must('sw', ['ip', 'link', 'set', port, 'down']);
    const now = await waitFor('the other director to forward', async () => ((await seed.director(was === 'lb1' ? 'lb2' : 'lb1').status()).ha.forwarding ? true : undefined), 20000, 100);
    t.ok(now, 'the backup forwards');
    await recovered(t, `${was}'s link down`, t0, DIRECTOR_DETECTION_MS);
    await seed.must('sw', ['ip', 'link', 'set', port, 'up']);
    const one = await active();
    t.pass(`link back: ${one} forwards alone`);
    await recovered(t, 'the link came back', Date.now(), DIRECTOR_DETECTION_MS);
  });

  await t.test('the directors partitioned from each other, then healed', async (t) => {
    const rule = (peer: string): string =>
      `nft add table inet ddpart && nft add chain inet ddpart in '{ type filter hook input priority 0; }' && nft add rule inet ddpart in ip saddr ${peer} udp dport 539 drop`;
    await seed.must('lb1', ['sh', '-c', rule(SEED.lb2)]);
    await seed.must('lb2', ['sh', '-c', rule(SEED.lb1)]);
    await waitFor('both directors to forward (split brain)', async () =>
      (await seed.director('lb1').status()).ha.forwarding && (await seed.director('lb2').status()).ha.forwarding, 20000, 100);
    t.pass('without heartbeats both directors forward');
    await recovered(t, 'the partition', Date.now(), DIRECTOR_DETECTION_MS);
    for (const h of ['lb1', 'lb2']) await seed.must(h, ['nft', 'delete', 'table', 'inet', 'ddpart']);
    const one = await active();
    t.equal(one, 'lb1', 'healed: the split brain is resolved in favour of the primary');
    await recovered(t, 'the heal', Date.now(), DIRECTOR_DETECTION_MS);
  });

  await t.test('a changed lvs.cf reloaded under traffic', async (t) => {
    const changed = fastConfig().replace(/(server sql2\.example\.com \{\n\s*address = 10\.0\.0\.5\n\s*active = 1\n\s*weight = )1/, '$13');
    t.not(changed, fastConfig(), 'the new config differs (sql2 weight 3)');
    const failuresBefore = w.failures.length;
    const committedBefore = w.committed.length;
    for (const h of ['lb1', 'lb2'] as const) {
      writeFileSync(seed.configPath(h), changed);
      const r = await seed.director(h).ctl(['reload']);
      t.equal(r.code, 0, `${h}: directorctl reload (${r.stderr.trim() || r.stdout.trim()})`);
    }
    const lb = seed.director(await active());
    const sql2 = (await lb.status()).health.find((h) => h.address === SEED.sql2);
    t.equal(sql2?.configuredWeight, 3, 'sql2 now has weight 3');
    t.equal(sql2?.state, 'up', 'sql2 kept its health state');
    await waitFor('more commits after the reload', () => w.committed.length > committedBefore + 20, 20000, 100);
    t.equal(w.failures.length, failuresBefore, 'no transaction failed across the reload');
  });

  await w.stop();
  await waitCaughtUp(seed.sql1, seed.sql2);
  await waitCaughtUp(seed.sql2, seed.sql1);
  const rows1 = (await seed.sql1.query('select seq from test.workload order by seq')).map((r) => Number(r[0]));
  const rows2 = (await seed.sql2.query('select seq from test.workload order by seq')).map((r) => Number(r[0]));
  const missing = w.committed.filter((n) => !rows1.includes(n) || !rows2.includes(n));
  t.same(missing, [], `no committed transaction lost (${w.committed.length} committed, ${w.failures.length} failed attempts)`);
  t.same(rows1, rows2, 'the rows on sql1 and sql2 end identical');
});
