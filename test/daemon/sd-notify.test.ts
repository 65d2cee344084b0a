// sd_notify from the main PID through the native addon: the messages arrive on $NOTIFY_SOCKET in order and the
// kernel names this process as the sender (what NotifyAccess=main requires); a Python stand-in for systemd receives.
import t from 'tap';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSdNotifier, formatNotify, startWatchdog, type NotifySend } from '../../src/daemon/sd-notify';
import { createRootLogger, silentLogger } from '../../src/log';
import { NOTIFY_RECEIVER as RECEIVER, parseNotified } from '../lab/notify-receiver';
import { haveTool, skipUnless } from '../lab/needs';

const python = haveTool('python3');

async function receiver(t: { teardown(fn: () => void): void }, socketName?: string): Promise<{ sock: string; out: () => string }> {
  const dir = mkdtempSync(join(tmpdir(), 'ddsd-'));
  const script = join(dir, 'recv.py');
  writeFileSync(script, RECEIVER);
  const sock = socketName ?? join(dir, 'notify.sock');
  const recv = spawn('python3', [script, sock], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => void recv.kill('SIGKILL'));
  let out = '';
  recv.stdout!.on('data', (d) => (out += d));
  await new Promise<void>((r) => recv.stdout!.once('data', () => r()));
  return { sock, out: () => out };
}

const settle = (ms = 100): Promise<unknown> => new Promise((r) => setTimeout(r, ms));

t.test('without NOTIFY_SOCKET nothing is sent', async (t) => {
  let sent = 0;
  const n = createSdNotifier(silentLogger, {}, () => (sent++, 0));
  t.equal(n.enabled, false);
  await n.notify({ READY: '1' });
  t.equal(sent, 0);
});

t.test('the message: KEY=value lines, newlines in values flattened, MONOTONIC_USEC with RELOADING=1', async (t) => {
  t.equal(formatNotify({ READY: '1', STATUS: 'a\nb' }), 'READY=1\nSTATUS=a b');
  t.equal(formatNotify({ RELOADING: '1', STATUS: 'reloading' }, () => 42n), 'RELOADING=1\nMONOTONIC_USEC=42\nSTATUS=reloading');
  t.equal(formatNotify({ RELOADING: '1', MONOTONIC_USEC: '7' }, () => 42n), 'RELOADING=1\nMONOTONIC_USEC=7');
  const usec = Number(formatNotify({ RELOADING: '1' }).split('MONOTONIC_USEC=')[1]);
  const uptimeUsec = Number((await import('node:fs')).readFileSync('/proc/uptime', 'utf8').split(' ')[0]) * 1e6;
  t.ok(Math.abs(usec - uptimeUsec) < 5e6, 'CLOCK_MONOTONIC in µs (within 5 s of /proc/uptime)');
});

t.test('READY, RELOADING, STOPPING arrive in order, sent by this PID', { skip: skipUnless(python, 'needs python3') }, async (t) => {
  const r = await receiver(t);
  const n = createSdNotifier(silentLogger, { NOTIFY_SOCKET: r.sock });
  t.equal(n.enabled, true);
  await Promise.all([n.notify({ READY: '1', STATUS: 'active, 2 servers up' }), n.notify({ RELOADING: '1', MONOTONIC_USEC: '1' }), n.notify({ READY: '1', STATUS: 'reloaded' })]);
  await n.notify({ STOPPING: '1' });
  await settle();
  const got = parseNotified(r.out());
  t.same(got.map((m) => m.message), ['READY=1|STATUS=active, 2 servers up', 'RELOADING=1|MONOTONIC_USEC=1', 'READY=1|STATUS=reloaded', 'STOPPING=1']);
  t.same(new Set(got.map((m) => m.pid)), new Set([process.pid]), 'every message from the main PID, no helper process');
});

t.test('an abstract socket name (@…) works as in sd_notify(3)', { skip: skipUnless(python, 'needs python3') }, async (t) => {
  const name = `@ddsd-test-${process.pid}`;
  const r = await receiver(t, name);
  const n = createSdNotifier(silentLogger, { NOTIFY_SOCKET: name });
  await n.notify({ READY: '1' });
  await settle();
  t.same(parseNotified(r.out()), [{ pid: process.pid, message: 'READY=1' }]);
});

t.test('a failing send is logged with the errno, not thrown; EAGAIN is retried', async (t) => {
  const records: { msg: string; level: string; err?: string }[] = [];
  const log = createRootLogger({ level: 'info', destination: { write: (l: string) => void records.push(JSON.parse(l)) } });
  await createSdNotifier(log, { NOTIFY_SOCKET: '/nonexistent/notify' }).notify({ READY: '1' });
  t.match(records, [{ level: 'warn', msg: /sd_notify failed/, err: 'ENOENT' }], 'the real addon, a socket that is not there');

  const calls: string[] = [];
  let busy = 2;
  const flaky: NotifySend = (_s, m) => (calls.push(m), busy-- > 0 ? 11 : 0);
  records.length = 0;
  await createSdNotifier(log, { NOTIFY_SOCKET: '/run/x' }, flaky, { attempts: 5, delayMs: 1 }).notify({ READY: '1' });
  t.equal(calls.length, 3, 'two EAGAINs, then sent');
  t.same(records, [], 'nothing logged');
  calls.length = 0;
  await createSdNotifier(log, { NOTIFY_SOCKET: '/run/x' }, (_s, m) => (calls.push(m), 11), { attempts: 3, delayMs: 1 }).notify({ READY: '1' });
  t.equal(calls.length, 3, 'gives up after the attempts');
  t.match(records, [{ level: 'warn', err: 'EAGAIN' }]);
});

t.test('the watchdog: off without WATCHDOG_USEC or for another WATCHDOG_PID', async (t) => {
  const on = createSdNotifier(silentLogger, { NOTIFY_SOCKET: '/nonexistent/notify' }, () => 0);
  t.equal(startWatchdog(createSdNotifier(silentLogger, {}), { WATCHDOG_USEC: '20000000' }), undefined, 'no NOTIFY_SOCKET');
  t.equal(startWatchdog(on, {}), undefined, 'no WATCHDOG_USEC');
  t.equal(startWatchdog(on, { WATCHDOG_USEC: '20000000', WATCHDOG_PID: '1' }, 4242), undefined, 'meant for another process');
  const w = startWatchdog(on, { WATCHDOG_USEC: '20000000', WATCHDOG_PID: '4242' }, 4242);
  t.equal(w?.intervalMs, 10000, 'half of WatchdogSec');
  w?.stop();
});

t.test('the watchdog pings WATCHDOG=1 every half WatchdogSec', { skip: skipUnless(python, 'needs python3') }, async (t) => {
  const r = await receiver(t);
  const env = { NOTIFY_SOCKET: r.sock, WATCHDOG_USEC: '600000' };
  const w = startWatchdog(createSdNotifier(silentLogger, env), env);
  t.equal(w?.intervalMs, 300);
  await settle(1000);
  w?.stop();
  const pings = parseNotified(r.out()).filter((m) => m.message === 'WATCHDOG=1' && m.pid === process.pid).length;
  t.ok(pings >= 2 && pings <= 5, `${pings} pings in 1 s at 300 ms (the first at once; none doubled)`);
});

