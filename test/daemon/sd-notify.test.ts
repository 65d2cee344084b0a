// sd_notify through systemd-notify(1): the messages arrive on $NOTIFY_SOCKET in order (a Python stand-in for
// systemd receives them and, like systemd, closes the barrier fd so systemd-notify can return).
import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSdNotifier, startWatchdog } from '../../src/daemon/sd-notify';
import { createRootLogger, silentLogger } from '../../src/log';
import { NOTIFY_RECEIVER as RECEIVER } from '../lab/notify-receiver';
import { skipUnless } from '../lab/needs';


const usable = spawnSync('systemd-notify', ['--version'], { stdio: 'ignore' }).status === 0 && spawnSync('python3', ['--version'], { stdio: 'ignore' }).status === 0;

t.test('without NOTIFY_SOCKET nothing is sent', async (t) => {
  const n = createSdNotifier(silentLogger, {});
  t.equal(n.enabled, false);
  await n.notify({ READY: '1' });
});

t.test('READY, RELOADING, STOPPING arrive in order', { skip: skipUnless(usable, 'needs systemd-notify and python3') }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ddsd-'));
  const script = join(dir, 'recv.py');
  writeFileSync(script, RECEIVER);
  const sock = join(dir, 'notify.sock');
  const recv = spawn('python3', [script, sock], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => void recv.kill('SIGKILL'));
  let out = '';
  recv.stdout!.on('data', (d) => (out += d));
  await new Promise<void>((r) => recv.stdout!.once('data', () => r()));
  const n = createSdNotifier(silentLogger, { ...process.env, NOTIFY_SOCKET: sock });
  t.equal(n.enabled, true);
  await Promise.all([n.notify({ READY: '1', STATUS: 'active, 2 servers up' }), n.notify({ RELOADING: '1' }), n.notify({ READY: '1', STATUS: 'reloaded' })]);
  await n.notify({ STOPPING: '1' });
  await new Promise((r) => setTimeout(r, 100));
  const lines = out.split('\n').filter((l) => l && l !== 'listening' && l !== 'BARRIER=1');
  t.same(lines, ['READY=1|STATUS=active, 2 servers up', 'RELOADING=1', 'READY=1|STATUS=reloaded', 'STOPPING=1']);
});

t.test('a failing systemd-notify is logged, not thrown', async (t) => {
  const records: { msg: string; level: string }[] = [];
  const log = createRootLogger({ level: 'info', destination: { write: (l: string) => void records.push(JSON.parse(l)) } });
  const n = createSdNotifier(log, { NOTIFY_SOCKET: '/nonexistent/notify' }, '/nonexistent/systemd-notify');
  await n.notify({ READY: '1' });
  t.match(records, [{ level: 'warn', msg: /sd_notify failed/ }]);
});

t.test('the watchdog: off without WATCHDOG_USEC or for another WATCHDOG_PID', async (t) => {
  const on = createSdNotifier(silentLogger, { NOTIFY_SOCKET: '/nonexistent/notify' }, '/bin/true');
  t.equal(startWatchdog(createSdNotifier(silentLogger, {}), { WATCHDOG_USEC: '20000000' }), undefined, 'no NOTIFY_SOCKET');
  t.equal(startWatchdog(on, {}), undefined, 'no WATCHDOG_USEC');
  t.equal(startWatchdog(on, { WATCHDOG_USEC: '20000000', WATCHDOG_PID: '1' }, 4242), undefined, 'meant for another process');
  const w = startWatchdog(on, { WATCHDOG_USEC: '20000000', WATCHDOG_PID: '4242' }, 4242);
  t.equal(w?.intervalMs, 10000, 'half of WatchdogSec');
  w?.stop();
});

t.test('the watchdog pings WATCHDOG=1 every half WatchdogSec', { skip: !usable && 'needs systemd-notify and python3' }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ddsd-'));
  const script = join(dir, 'recv.py');
  writeFileSync(script, RECEIVER);
  const sock = join(dir, 'notify.sock');
  const recv = spawn('python3', [script, sock], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => void recv.kill('SIGKILL'));
  let out = '';
  recv.stdout!.on('data', (d) => (out += d));
  await new Promise<void>((r) => recv.stdout!.once('data', () => r()));
  const env = { ...process.env, NOTIFY_SOCKET: sock, WATCHDOG_USEC: '600000' };
  const w = startWatchdog(createSdNotifier(silentLogger, env), env);
  t.equal(w?.intervalMs, 300);
  await new Promise((r) => setTimeout(r, 1000));
  w?.stop();
  const pings = out.split('\n').filter((l) => l === 'WATCHDOG=1').length;
  t.ok(pings >= 2 && pings <= 5, `${pings} pings in 1 s at 300 ms (the first at once; none doubled)`);
});
