// The MySQL probe against a silent server (accepts, never greets, like a hung mysqld): one pending login kept
// across probes, reset (never closed with FIN) when given up at the hard limit or on close.
import { inPrivateNetns } from '../lab/private-netns';
inPrivateNetns(); // before tap loads: this file runs in a network namespace of its own
import t from 'tap';
import { createServer, type Server, type Socket } from 'node:net';
import { MysqlProbe, pendingLoginLimitMs } from '../../src/health/mysql';
import type { ProbeSpec } from '../../src/health/spec';

interface Seen { accepted: number; ended: string[] }

async function silentServer(t: { teardown(fn: () => unknown): void }, onAccept?: (s: Socket) => void): Promise<{ port: number; seen: Seen }> {
  const seen: Seen = { accepted: 0, ended: [] };
  const sockets: Socket[] = [];
  const srv: Server = createServer((s) => {
    seen.accepted++;
    sockets.push(s);
    // How the client gave the connection up: 'fin' (what mysqld counts as a handshake error) or 'rst'.
    s.on('end', () => seen.ended.push('fin'));
    s.on('error', (e: NodeJS.ErrnoException) => seen.ended.push(e.code === 'ECONNRESET' ? 'rst' : String(e.code)));
    onAccept?.(s);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    srv.close();
  });
  return { port: (srv.address() as { port: number }).port, seen };
}

const spec = (port: number): ProbeSpec => ({
  kind: 'mysql', address: '127.0.0.1', port, timeoutMs: 200, useRegex: false,
  mysql: { user: 'monitor', password: 'pw', checkReadOnly: false, checkReplication: false, maxLagSeconds: 0 },
});
const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

t.test('pendingLoginLimitMs: at least a minute, six connect timeouts beyond', async (t) => {
  t.equal(pendingLoginLimitMs(1000), 60_000);
  t.equal(pendingLoginLimitMs(20_000), 120_000);
});

t.test('an unanswered login is kept across probes: no second connection beside it', async (t) => {
  const { port, seen } = await silentServer(t);
  const probe = new MysqlProbe(spec(port));
  for (let i = 0; i < 5; i++) {
    const r = await probe.run();
    t.match(r, { ok: false, reason: 'connect_timeout', detail: /kept open/ });
  }
  t.equal(probe.connectsTotal, 1);
  t.equal(seen.accepted, 1);
  t.same(seen.ended, [], 'the pending login is still open');
  await probe.close();
  await settle(100);
  t.same(seen.ended, ['rst'], 'close() resets the pending login');
});

t.test('past the hard limit the pending login is reset and a new one opened', async (t) => {
  const { port, seen } = await silentServer(t);
  const probe = new MysqlProbe(spec(port), 500);
  t.match(await probe.run(), { reason: 'connect_timeout' });
  await settle(600);
  t.match(await probe.run(), { reason: 'connect_timeout' });
  await settle(100);
  t.equal(probe.connectsTotal, 2, 'a second login once the first was older than the limit');
  t.equal(seen.accepted, 2);
  t.same(seen.ended, ['rst'], 'the given-up login was reset, not closed with FIN');
  await probe.close();
  await settle(100);
  t.same(seen.ended, ['rst', 'rst']);
});

t.test('a refused connect is reported at once and retried on the next probe', async (t) => {
  // A port nothing listens on: bind one, note it, close it.
  const tmp = createServer();
  await new Promise<void>((r) => tmp.listen(0, '127.0.0.1', r));
  const closedPort = (tmp.address() as { port: number }).port;
  await new Promise((r) => tmp.close(r));
  const refused = new MysqlProbe(spec(closedPort));
  t.match(await refused.run(), { reason: 'connect_refused' });
  t.match(await refused.run(), { reason: 'connect_refused' });
  t.equal(refused.connectsTotal, 2, 'a failed login is not kept');
  await refused.close();
});

t.test('a pending login the server resets is not waited on: its error is reported, the next probe reconnects', async (t) => {
  const { port, seen } = await silentServer(t, (s) => setTimeout(() => s.resetAndDestroy(), 300));
  const probe = new MysqlProbe(spec(port));
  t.match(await probe.run(), { reason: 'connect_timeout' }, 'no greeting within 200 ms');
  await settle(300);
  t.match(await probe.run(), { ok: false, reason: 'connection_lost' }, 'the reset login, reported at once');
  t.match(await probe.run(), { reason: 'connect_timeout' });
  t.equal(probe.connectsTotal, 2, 'a new login after the reset one');
  t.equal(seen.accepted, 2);
  await probe.close();
});
