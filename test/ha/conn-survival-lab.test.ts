// The full daemon (native data plane + HaNode) on the seed topology: one MySQL session through the VIP, kept open,
// survives a SIGKILL of the active director and then of the other one (lb1 -> lb2 -> lb1), on the same real server,
// with no reset; the idle persistent client keeps its server. Every statement is sent only after the previous step
// finished, so "before the kill" and "after the failover" are ordered by construction, not by sleeps.
// Cases: AF_PACKET and AF_XDP, with and without heartbeat_key_file (all four; one seed lab, directors restarted), and
// a restarted standby whose checks pass only after the peer's table arrived.
import t, { type Test } from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { labAvailable, waitFor } from '../lab/lab';
import { SeedLab, SEED, SEED_USERS, seedVariant, FAST_TIMINGS, type Director } from '../lab/seed';
import { ensureLabBuilt, paths } from '../lab/build-lab';
import { cannotRun } from '../lab/needs';
import type { ConnEntry } from '../../src/dataplane/types';

const ADDR = { sql1: SEED.sql1, sql2: SEED.sql2 } as const;
const CASES = [
  { dataplane: 'afpacket', key: false },
  { dataplane: 'afpacket', key: true },
  { dataplane: 'afxdp', key: false },
  { dataplane: 'afxdp', key: true },
] as const;

/** An interactive `mariadb` client in the client namespace: one statement at a time, each answer awaited. */
class Session {
  private out = '';
  private err = '';
  private n = 0;
  readonly child: ChildProcess;

  constructor(seed: SeedLab) {
    this.child = seed.lab.spawn('client', ['mariadb', '--no-defaults', '-h', SEED.vip, '-u', SEED_USERS.nova.user, `-p${SEED_USERS.nova.password}`,
      '--batch', '--skip-column-names', '--unbuffered', '--connect-timeout=3'], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdout!.on('data', (d) => (this.out += d));
    this.child.stderr!.on('data', (d) => (this.err += d));
    this.child.stdin!.on('error', () => undefined);
  }

  get open(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  get stderr(): string {
    return this.err;
  }

  /** Send one SELECT (its columns) and return its row's columns once answered. */
  async query(columns: string, timeoutMs = 8000): Promise<string[]> {
    const mark = `q${++this.n}`;
    this.child.stdin!.write(`SELECT ${columns}, '${mark}';\n`);
    return waitFor(`the answer to ${columns}`, () => {
      if (!this.open) throw new Error(`the session ended (${this.child.exitCode ?? this.child.signalCode}): ${this.err.trim()}`);
      const line = this.out.split('\n').find((l) => l.endsWith(`\t${mark}`));
      return line ? line.split('\t').slice(0, -1) : undefined;
    }, timeoutMs, 20);
  }

  async close(): Promise<number | null> {
    const exited = new Promise<number | null>((r) => (this.open ? this.child.once('exit', (c) => r(c)) : r(this.child.exitCode)));
    this.child.stdin!.end('quit\n');
    return exited;
  }
}

t.test('a kept MySQL session survives failovers both ways (syncdaemon = 1)', { skip: !labAvailable() && 'needs root and ip netns' }, async (t) => {
  ensureLabBuilt();
  const seed = await SeedLab.create();
  t.teardown(() => seed.destroy());
  const keyFile = join(seed.dirs.root, 'hb.key');
  writeFileSync(keyFile, 'conn-survival-heartbeat-key-0123456789\n', { mode: 0o600 });
  const seedCf = readFileSync(paths.seedConfig, 'utf8');

  for (const c of CASES) {
    await t.test(`${c.dataplane}, ${c.key ? 'heartbeat key' : 'no heartbeat key'}: lb1 -> lb2 -> lb1`, async (t) => {
      // The seed's lvs.cf (persistent = 60, pmask /20, syncdaemon = 1) with the fast clocks.
      const config = seedVariant(seedCf, { ...FAST_TIMINGS.global, ...(c.key ? { heartbeat_key_file: keyFile } : {}) }, { ...FAST_TIMINGS.virtual });
      const args = ['--dataplane', c.dataplane];
      await seed.startDirector('lb1', config, { args });
      const s1 = await seed.director('lb1').waitForwarding(true, 15000);
      if (s1.dataplane !== c.dataplane) {
        t.pass(`${c.dataplane} data plane`, { skip: cannotRun(`${c.dataplane} did not start here (${s1.dataplane} instead)`, t) });
        await seed.director('lb1').stop('SIGTERM');
        return;
      }
      await seed.startDirector('lb2', config, { args });
      await waitFor('lb1 has both servers in its table', async () => (await seed.director('lb1').status()).health.filter((h) => h.inTable).length === 2, 20000, 100);
      await standbyWithServers(seed, 'lb2');
      for (const h of ['lb1', 'lb2'] as const) {
        const warned = seed.director(h).messages(/HEARTBEATS ARE NOT AUTHENTICATED/).length > 0;
        t.equal(warned, !c.key, `${h}: heartbeats ${c.key ? 'authenticated (no warning)' : 'unauthenticated (warned)'}`);
      }

      // The idle persistent client: one short connection creates the persistence template.
      const server = await seed.waitServedBy('any', 20000);
      const id = server === 'sql1' ? '1' : '2';
      const session = new Session(seed);
      t.teardown(() => void (session.open && session.child.kill('SIGKILL')));
      // The real server sees the client's own address and port (direct routing): that is the key in both tables.
      const [firstId, portText] = await session.query("@@server_id, (SELECT SUBSTRING_INDEX(HOST, ':', -1) FROM information_schema.PROCESSLIST WHERE ID = CONNECTION_ID())");
      const cport = Number(portText);
      t.ok(cport > 0, `the session is ${SEED.client}:${cport}`);
      t.equal(firstId, id, `the session is on ${server}, like the persistent client`);

      await failover(t, seed, session, { from: 'lb1', to: 'lb2', cport, server, id });
      // lb1 comes back as standby (no fail-back) and must get the session from lb2 before it can take it over.
      await seed.startDirector('lb1', config, { args });
      await standbyWithServers(seed, 'lb1');
      await failover(t, seed, session, { from: 'lb2', to: 'lb1', cport, server, id });

      t.equal(await session.close(), 0, 'the session ended normally');
      t.notMatch(session.stderr, /Lost connection|gone away|reset|ERROR/i, `no reset, no lost connection (stderr: ${session.stderr.trim() || 'none'})`);
      t.equal(await seed.servedBy(), server, 'the idle persistent client keeps its server through both failovers');
      t.equal(await seed.vipOwner(), 'lb1', "the client's neighbour entry for the VIP is lb1's again");
      await seed.director('lb1').stop('SIGTERM');
    });
  }

  await t.test('afpacket: lb1 restarts with its checks blocked until lb2\'s table arrived: it fetches it again', async (t) => {
    const config = seedVariant(seedCf, { ...FAST_TIMINGS.global }, { ...FAST_TIMINGS.virtual });
    const args = ['--dataplane', 'afpacket'];
    await seed.startDirector('lb1', config, { args });
    await seed.director('lb1').waitForwarding(true, 15000);
    await seed.startDirector('lb2', config, { args });
    await waitFor('lb1 has both servers in its table', async () => (await seed.director('lb1').status()).health.filter((h) => h.inTable).length === 2, 20000, 100);
    await standbyWithServers(seed, 'lb2');
    const server = await seed.waitServedBy('any', 20000);
    const id = server === 'sql1' ? '1' : '2';
    const session = new Session(seed);
    t.teardown(() => void (session.open && session.child.kill('SIGKILL')));
    const [, portText] = await session.query("@@server_id, (SELECT SUBSTRING_INDEX(HOST, ':', -1) FROM information_schema.PROCESSLIST WHERE ID = CONNECTION_ID())");
    const cport = Number(portText);
    await failover(t, seed, session, { from: 'lb1', to: 'lb2', cport, server, id });
    await restartWithChecksBlocked(t, seed, config, args);
    await failover(t, seed, session, { from: 'lb2', to: 'lb1', cport, server, id });
    t.equal(await session.close(), 0, 'the session ended normally');
    t.notMatch(session.stderr, /Lost connection|gone away|reset|ERROR/i, `no reset, no lost connection (stderr: ${session.stderr.trim() || 'none'})`);
    await seed.director('lb1').stop('SIGTERM');
  });
});

/**
 * A restarted standby's data plane drops a synced entry whose real server is not in its table yet (quiesce_server = 1:
 * a server enters only once its check passed). So lb1 asks for lb2's table only after its first checks reported; with
 * them blocked (they fail), the session's entries are dropped, and once the servers enter lb1 must fetch the table
 * again, or the next takeover resets the session. (Seen as flakes of the cases above and of sync-failback-lab when
 * the checks were slower than the first heartbeat.)
 */
async function restartWithChecksBlocked(t: Test, seed: SeedLab, config: string, args: string[]): Promise<void> {
  const block = 'nft add table ip ddblock; nft add chain ip ddblock out "{ type filter hook output priority 0; }"; nft add rule ip ddblock out tcp dport 3306 drop';
  await seed.lab.sh('lb1', block);
  let blocked = true;
  const unblock = async (): Promise<void> => void (blocked && ((blocked = false), await seed.lab.sh('lb1', 'nft delete table ip ddblock')));
  t.teardown(unblock);
  const lb1 = await seed.startDirector('lb1', config, { args });
  const synced = await lb1.waitLog('the table transfer from lb2', (r) => r.msg === 'connection table synced from the peer', 20000);
  const asked = lb1.records.find((r) => String(r.msg).startsWith('asking the peer for its whole connection table'));
  t.match(String(asked?.reason), /the first health checks reported/, 'lb1 asked for the table only once its first checks had reported');
  const early = await lb1.status();
  t.equal(early.health.filter((h) => h.inTable).length, 0, `no real server in lb1's table when lb2's table arrived (${synced.entries} entries)`);
  await unblock();
  await standbyWithServers(seed, 'lb1');
}

async function standbyWithServers(seed: SeedLab, h: Director): Promise<void> {
  await waitFor(`${h} standby, seeing its peer, both servers known`, async () => {
    const s = await seed.director(h).status();
    return s.ha.forwarding === false && s.ha.state === 'standby' && s.health.filter((x) => x.inTable).length === 2;
  }, 20000, 100);
}

async function connsOf(seed: SeedLab, h: Director): Promise<ConnEntry[]> {
  const r = await seed.director(h).ctl(['--json', 'status', '--connections']);
  const a = JSON.parse(r.stdout) as { result?: { connections?: ConnEntry[] } };
  return a.result?.connections ?? [];
}

/** The session's entry (ESTABLISHED, to its server) and the VIP's persistence template, if `h` holds both. */
async function sessionIn(seed: SeedLab, h: Director, cport: number): Promise<{ est: ConnEntry; tpl: ConnEntry } | undefined> {
  const c = await connsOf(seed, h);
  const est = c.find((e) => !e.template && e.caddr === SEED.client && e.cport === cport && e.vaddr === SEED.vip && e.state === 'ESTABLISHED');
  const tpl = c.find((e) => e.template && e.vaddr === SEED.vip);
  return est && tpl ? { est, tpl } : undefined;
}

async function failover(t: Test, seed: SeedLab, session: Session, p: { from: Director; to: Director; cport: number; server: 'sql1' | 'sql2'; id: string }): Promise<void> {
  const synced = await waitFor(`${p.to} to hold the synced session and template`, () => sessionIn(seed, p.to, p.cport), 10000, 100);
  t.equal(synced.est.daddr, ADDR[p.server], `${p.to} (standby) knows the session goes to ${p.server}`);
  t.equal(synced.tpl.daddr, ADDR[p.server], `${p.to} (standby) has the persistence template to ${p.server}`);
  // The state at the kill: the active director forwards and holds the session, and the session answers on the kept
  // connection right before the kill (nothing runs between that answer and the signal but this function).
  const active = await seed.director(p.from).status();
  t.ok(active.ha.forwarding, `${p.from} is the active director before the kill`);
  const held = await sessionIn(seed, p.from, p.cport);
  t.equal(held?.est.daddr, ADDR[p.server], `${p.from} (active) holds the session ESTABLISHED to ${p.server} before the kill`);
  const [before] = await session.query('@@server_id');
  t.equal(before, p.id, `the kept connection answers just before ${p.from} is killed`);
  t.ok(session.open, 'the session is open at the kill');
  const t0 = Date.now();
  await seed.director(p.from).stop('SIGKILL');
  await seed.director(p.to).waitForwarding(true, 10000);
  t.pass(`${p.to} forwards ${Date.now() - t0} ms after the kill of ${p.from}`);
  // Sent only now, after the new director forwards.
  const [after] = await session.query('@@server_id', 15000);
  t.equal(after, p.id, `the same connection is answered by ${p.server} through ${p.to}`);
  const still = await sessionIn(seed, p.to, p.cport);
  t.equal(still?.est.state, 'ESTABLISHED', `${p.to} forwards the session as ESTABLISHED`);
}
