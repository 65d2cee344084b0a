// The real daemon under a stand-in for systemd's notify socket, in a namespace lab: READY=1, WATCHDOG=1, RELOADING=1
// and STOPPING=1 all arrive and the kernel names the daemon's own PID as their sender (what NotifyAccess=main checks).
import t from 'tap';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Lab, labAvailable, waitFor } from '../lab/lab';
import { ensureBuilt, paths } from '../lab/build';
import { cannotRun, haveTool, skipUnless } from '../lab/needs';
import { NOTIFY_RECEIVER, parseNotified } from '../lab/notify-receiver';

const VIP = '10.64.6.100';
const lvsCf =
  `serial_no = 1\nprimary = 10.64.6.1\nservice = lvs\nnetwork = direct\n` +
  `virtual db {\n  active = 1\n  address = ${VIP} eth0:1\n  vip_nmask = 255.255.240.0\n  port = 3306\n  timeout = 1\n  reentry = 1\n` +
  `  server rs1 {\n    address = 10.64.6.4\n    active = 1\n    weight = 1\n  }\n}\n`;

const skip = !labAvailable() ? cannotRun('needs root and ip netns') : skipUnless(haveTool('python3'), 'needs python3');

t.test('sd_notify from the main PID: READY, WATCHDOG, RELOADING, STOPPING', { skip }, async (t) => {
  ensureBuilt();
  const lab = await Lab.create([{ name: 'lb1', address: '10.64.6.1/20' }], { tag: 'sdn' });
  t.teardown(() => lab.destroy());
  const dir = mkdtempSync(join(tmpdir(), 'ddsdn-'));
  const cf = join(dir, 'lvs.cf');
  writeFileSync(cf, lvsCf);
  const recvScript = join(dir, 'recv.py');
  writeFileSync(recvScript, NOTIFY_RECEIVER);
  // A pathname socket: reachable from the lab's network namespace (the mount namespace still sees /tmp).
  const notifySock = join(dir, 'notify.sock');
  const recv = spawn('python3', [recvScript, notifySock], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => void recv.kill('SIGKILL'));
  let out = '';
  recv.stdout!.on('data', (d) => (out += d));
  await waitFor('notify receiver', () => out.includes('listening'), 30000, 20);

  // ip netns exec execs the command: the child's PID is the daemon's main PID, as systemd would see it.
  const daemon = lab.spawn('lb1', ['node', paths.directord, '--config', cf, '--socket', join(dir, 'd.sock'), '--dataplane', 'fake', '--interface', 'eth0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NOTIFY_SOCKET: notifySock, WATCHDOG_USEC: '600000' },
  });
  let log = '';
  daemon.stdout!.on('data', (d) => (log += d));
  daemon.stderr!.on('data', (d) => (log += d));
  const exited = new Promise<number | null>((r) => daemon.once('exit', (c) => r(c)));
  t.teardown(() => void (daemon.exitCode === null && daemon.kill('SIGKILL')));
  const msgs = () => parseNotified(out);
  const seen = (re: RegExp) => msgs().some((m) => re.test(m.message));

  try {
    await waitFor('READY=1', () => seen(/^READY=1\|STATUS=\S+ \S+, forwarding /), 30000, 50);
  } catch (e) {
    return t.fail(`${e}: ${log.slice(-2000)}`);
  }
  await waitFor('two WATCHDOG=1', () => msgs().filter((m) => m.message === 'WATCHDOG=1').length >= 2, 5000, 50);
  daemon.kill('SIGHUP');
  await waitFor('RELOADING=1 then READY=1', () => seen(/^RELOADING=1\|MONOTONIC_USEC=\d+\|STATUS=reloading$/) && msgs().filter((m) => m.message.startsWith('READY=1')).length >= 2, 10000, 50);
  daemon.kill('SIGTERM');
  t.equal(await exited, 0, 'stopped cleanly');
  await waitFor('STOPPING=1', () => seen(/^STOPPING=1\|STATUS=stopping/), 5000, 50);

  const kinds = ['READY=1', 'WATCHDOG=1', 'RELOADING=1', 'STOPPING=1'];
  for (const k of kinds) t.ok(msgs().some((m) => m.message.startsWith(k)), `${k} arrived`);
  const pids = new Set(msgs().map((m) => m.pid));
  t.same([...pids], [daemon.pid], `every message from the main PID ${daemon.pid} (got ${[...pids].join(', ')})`);
  t.notOk(/sd_notify failed/.test(log), 'no send failed');
});
