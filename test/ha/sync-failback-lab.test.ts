// The full daemon on the seed topology with MariaDB: a restarted director fetches the whole connection table before
// it takes the VIP back (failback = 1, failback_holddown = 0) or by `directorctl takeover` (refused with
// E_HA_NOT_SYNCED until then, unless --force); 60 MySQL sessions opened through lb1 survive both moves, no commit is
// lost; the standby keeps running its health checks.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { labAvailable, waitFor } from '../lab/lab';
import { SeedLab, SEED, SEED_USERS, seedVariant, FAST_TIMINGS, type Director } from '../lab/seed';
import { ensureLabBuilt, paths } from '../lab/build-lab';
import { Sessions, SESSIONS_TABLE_SQL } from '../lab/sessions';
import { waitCaughtUp } from '../lab/mariadb';

const N = 60;

t.test('a returning director takes the VIP only with the peer\'s table: sessions survive failback and takeover', { skip: !labAvailable() && 'needs root and ip netns' }, async (t) => {
  ensureLabBuilt();
  const seed = await SeedLab.create();
  let sessions: Sessions | undefined;
  t.teardown(async () => {
    sessions?.kill();
    await seed.destroy();
  });
  const config = seedVariant(readFileSync(paths.seedConfig, 'utf8'), { ...FAST_TIMINGS.global, failback: 1, failback_holddown: 0 }, { ...FAST_TIMINGS.virtual });
  const ready = async (h: Director, forwarding: boolean): Promise<void> => {
    await waitFor(`${h} ${forwarding ? 'active' : 'standby'} with both servers checked`, async () => {
      const s = await seed.director(h).status();
      return s.ha.forwarding === forwarding && s.health.filter((x) => x.inTable).length === 2;
    }, 20000, 100);
  };
  await seed.startDirector('lb1', config);
  await seed.director('lb1').waitForwarding(true, 15000);
  await seed.startDirector('lb2', config);
  await ready('lb1', true);
  await ready('lb2', false);

  // The standby's health checks run (its view is warm when it takes over): lastCheck keeps moving.
  const checks = async (): Promise<number[]> => (await seed.director('lb2').status()).health.map((h) => Date.parse(h.lastCheck ?? '0'));
  const c1 = await checks();
  await new Promise((r) => setTimeout(r, 2500));
  const c2 = await checks();
  t.ok(c2.every((at) => Date.now() - at < 2500), `the standby checked every server within the last 2.5 s (timeout = 1): ${c2.map((at) => Date.now() - at).join(', ')} ms ago`);
  t.ok(c2.every((at, i) => at > c1[i]), 'and keeps checking');

  await seed.sql1.exec(SESSIONS_TABLE_SQL);
  await waitCaughtUp(seed.sql2, seed.sql1);
  sessions = new Sessions(seed.lab, 'client', {
    host: SEED.vip, user: SEED_USERS.nova.user, password: SEED_USERS.nova.password, count: N, active: N / 2, intervalMs: 100, writeEvery: 5, queryTimeoutMs: 15000,
  });
  await sessions.open();
  t.pass(`${N} sessions open through lb1`);
  await waitFor('lb2 holds the synced sessions', async () => (await seed.director('lb2').status()).ha.sync?.synced === true, 10000, 100);

  // 1. lb1 dies; lb2 serves from its synced table. lb1 comes back with an empty table and failback = 1.
  await seed.director('lb1').stop('SIGKILL');
  await seed.director('lb2').waitForwarding(true, 10000);
  await new Promise((r) => setTimeout(r, 1000));
  await seed.startDirector('lb1', config);
  await seed.director('lb1').waitForwarding(true, 20000);
  const l1 = seed.director('lb1');
  const synced = l1.records.findIndex((r) => r.msg === 'connection table synced from the peer');
  const failback = l1.records.findIndex((r) => String(r.msg).startsWith('failback'));
  t.ok(synced >= 0 && failback > synced, `lb1 synced its table (record ${synced}) before it failed back (record ${failback})`);
  t.ok(Number(l1.records[synced]?.entries) >= N, `the transfer carried the sessions (${String(l1.records[synced]?.entries)} entries)`);
  await seed.director('lb2').waitForwarding(false, 10000);
  t.equal(await sessions.checkIdle(), N / 2, 'every idle session answers through lb1 after the failback');
  t.same(sessions.errors, [], 'no session broken by the failback');

  // 2. lb2 restarts; while it cannot have the table yet, `directorctl takeover` refuses.
  await seed.director('lb2').stop('SIGKILL');
  await seed.must('lb2', ['sh', '-c', "nft add table inet ddt && nft add chain inet ddt in '{ type filter hook input priority 0; }' && nft add rule inet ddt in udp dport 8848 drop"]);
  await seed.startDirector('lb2', config);
  await waitFor('lb2 hears lb1', async () => (await seed.director('lb2').status()).ha.peer?.state === 'active', 10000, 100);
  const refused = await seed.director('lb2').ctl(['--json', 'takeover']);
  const answer = JSON.parse(refused.stdout) as { ok: boolean; error?: { code: string; message: string } };
  t.equal(answer.error?.code, 'E_HA_NOT_SYNCED', `takeover refused: ${answer.error?.message}`);
  t.not(refused.code, 0, 'directorctl exits non-zero');
  t.equal((await seed.director('lb2').status()).ha.forwarding, false);
  await seed.must('lb2', ['nft', 'delete', 'table', 'inet', 'ddt']);
  await waitFor('lb2 synced after the retry', async () => (await seed.director('lb2').status()).ha.sync?.synced === true, 10000, 100);
  t.ok(seed.director('lb2').messages(/^connection table synced from the peer$/).length >= 1, 'by a completed transfer (not a give-up)');
  const ok = await seed.director('lb2').ctl(['--json', 'takeover']);
  t.equal(ok.code, 0, `takeover accepted once synced: ${ok.stdout.trim()}`);
  await seed.director('lb2').waitForwarding(true, 10000);
  await seed.director('lb1').waitForwarding(false, 10000);
  await new Promise((r) => setTimeout(r, 1500));

  t.equal(await sessions.checkIdle(), N / 2, 'every idle session answers through the new director');
  const report = await sessions.finish();
  t.equal(report.broken, 0, `no session broken (${JSON.stringify(report.errors.slice(0, 3))})`);
  t.ok(report.maxStallMs < 5000, `longest wait for an answer ${report.maxStallMs} ms`);
  const acked = Object.entries(report.committed).flatMap(([c, ns]) => ns.map((n) => `${c}:${n}`));
  await waitCaughtUp(seed.sql2, seed.sql1);
  await waitCaughtUp(seed.sql1, seed.sql2);
  for (const s of [seed.sql1, seed.sql2]) {
    const rows = new Set((await s.query('SELECT conn, n FROM test.sessions')).map(([c, n]) => `${c}:${n}`));
    t.equal(acked.filter((k) => !rows.has(k)).length, 0, `all ${acked.length} acknowledged commits are on ${s === seed.sql1 ? 'sql1' : 'sql2'}`);
  }
});
