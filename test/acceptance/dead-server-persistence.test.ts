// A persistent client must leave a real server whose mysqld stopped, with the seed's lvs.cf byte for byte
// (persistent = 60, pmask /20, quiesce_server = 1, timeout = 5): IPVS keeps it on the dead, quiesced server.
import t from 'tap';
import { labAvailable, waitFor } from '../lab/lab';
import { SeedLab, SEED } from '../lab/seed';
import type { Workload, WorkloadEvent } from '../lab/workload';
import { ensureLabBuilt } from '../lab/build-lab';
import type { ConnEntry } from '../../src/dataplane/types';
import type { DirectorProcess } from '../lab/director-process';

/** The seed's timeout; nanny checks every `timeout` seconds, so a failure is seen within one interval + one check. */
const TIMEOUT_S = 5;
const INTERVAL_S = TIMEOUT_S;
/** Scheduling slack on a shared 2-core machine, as in failures.test.ts. */
const SLACK_MS = 3000;
const BOUND_MS = (TIMEOUT_S + INTERVAL_S) * 1000 + SLACK_MS;
/** The client's network under the seed's pmask 255.255.240.0: the key of its persistence template. */
const CLIENT_NET = '10.0.0.0';

const startedAt = (e: WorkloadEvent): number => e.at - e.ms;

async function liveTemplate(d: DirectorProcess): Promise<ConnEntry | undefined> {
  const r = await d.ctl(['--json', 'status', '--connections']);
  const conns = (JSON.parse(r.stdout) as { result?: { connections?: ConnEntry[] } }).result?.connections ?? [];
  // An invalidated template stays listed with vport 65535 until it ages out; only the one in reach counts.
  return conns.find((c) => c.template && c.caddr === CLIENT_NET && c.vaddr === SEED.vip && c.vport === 3306);
}

t.test("a dead server's persistent client moves to the other server (seed lvs.cf unchanged)", { skip: !labAvailable() && !process.env.CI && 'needs root and ip netns' }, async (t) => {
  ensureLabBuilt();
  const seed = await SeedLab.create();
  let workload: Workload | undefined;
  t.teardown(async () => {
    await workload?.stop();
    await seed.destroy();
  });
  const lb1 = await seed.startDirector('lb1');
  await lb1.waitForwarding(true, 45000);
  const lb2 = await seed.startDirector('lb2');
  await waitFor('both servers up on lb1', async () => (await lb1.status()).health.filter((h) => h.inTable && h.state === 'up').length === 2, 30000, 200);

  // One new TCP connection every 200 ms, each asking `select @@server_id` (then writing a numbered row).
  const w = await seed.startWorkload({ intervalMs: 200, timeoutMs: 2000 });
  workload = w;
  await waitFor('five commits through the VIP', () => w.committed.length >= 5, 30000, 100);
  const ids = new Set(w.events.filter((e) => e.kind === 'ok').map((e) => (e as Extract<WorkloadEvent, { kind: 'ok' }>).serverId));
  t.equal(ids.size, 1, `persistence pins the client to one server (server_id ${[...ids].join(', ')})`);
  const victimId = [...ids][0];
  const victim = victimId === 1 ? seed.sql1 : seed.sql2;
  const otherId = victimId === 1 ? 2 : 1;
  const other = victimId === 1 ? seed.sql2 : seed.sql1;
  const before = await waitFor('lb2 to hold the synced template', async () => (await liveTemplate(lb2))?.daddr === victim.address || undefined, 10000, 100);
  t.ok(before, `lb2 (standby) holds the client network's template to ${victim.address}`);

  const mark = lb1.records.length;
  const t0 = Date.now();
  await victim.stop();
  const down = await lb1.waitLog(`[inactive] ${victim.address}`, (r) => /^\[inactive\] shutting down/.test(String(r.msg)) && String(r.msg).includes(victim.address), 30000, mark);
  const downAt = Date.parse(String(down.time));
  t.ok(downAt - t0 <= BOUND_MS, `directord marked ${victim.address} down ${downAt - t0} ms after mysqld stopped`);

  const moved = await waitFor('a query answered by the other server', () =>
    w.events.find((e) => e.kind === 'ok' && startedAt(e) >= t0 && e.serverId === otherId), BOUND_MS + 15000, 50).catch(() => undefined);
  t.ok(moved, `the client is served by ${other.address} again`);
  if (moved) t.ok(moved.at - t0 <= BOUND_MS, `served by ${other.address} ${moved.at - t0} ms after the failure (bound: timeout + one interval + ${SLACK_MS} ms slack = ${BOUND_MS} ms)`);

  // Four more seconds of reconnects: every connection made after the mark-down must reach the other server.
  await new Promise((r) => setTimeout(r, 4000));
  const after = w.events.filter((e) => startedAt(e) >= downAt);
  t.ok(after.length >= 5, `${after.length} connections attempted after the mark-down (not a vacuous check)`);
  const wrong = after.filter((e) => e.kind === 'err' || e.serverId !== otherId);
  t.same(wrong, [], 'no connection after the mark-down failed or was answered by the dead server');

  const onLb1 = await liveTemplate(lb1);
  t.equal(onLb1?.daddr, other.address, `lb1's template for ${CLIENT_NET}/20 points at ${other.address}`);
  const onLb2 = await waitFor('lb2 to hold the new template', async () => {
    const tp = await liveTemplate(lb2);
    return tp?.daddr === other.address ? tp : undefined;
  }, 5000, 100).catch(() => liveTemplate(lb2));
  t.equal(onLb2?.daddr, other.address, `the peer (lb2) replaced the synced template: ${CLIENT_NET}/20 -> ${other.address}`);
  const st = (await lb1.status()).health.find((h) => h.address === victim.address);
  t.equal(st?.state, 'quiesced', 'the dead server stays in the table at weight 0 (quiesce_server = 1)');

  await w.stop();
  workload = undefined;
  const rows = (await other.query('select seq from test.workload order by seq')).map((r) => Number(r[0]));
  t.same(w.committed.filter((n) => startedAt(w.events.find((e) => e.seq === n)!) >= t0 && !rows.includes(n)), [], 'every commit after the failure is on the other server');
});
