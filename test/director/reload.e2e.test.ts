// End to end: a SIGHUP with a file that validates offline but cannot be applied on this host (its new heartbeat
// port is taken) leaves the real directord running and serving with the old configuration; the next good reload
// works. Runs the compiled daemon in a namespace lab (10.65.0.0/20).
import t from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Lab, labAvailable, waitFor } from '../lab/lab';
import { ensureBuilt, paths } from '../lab/build';
import type { StatusSnapshot } from '../../src/control/types';

const VIP = '10.65.0.100';
const echoServer = "require('net').createServer((s) => { s.on('error', () => {}); s.end('OK\\n'); }).listen(3306)";

function lvsCf(heartbeatPort: number, servers: string[]): string {
  const addr: Record<string, string> = { rs1: '10.65.0.4', rs2: '10.65.0.5' };
  return `serial_no = 1
primary = 10.65.0.1
backup = 10.65.0.2
backup_active = 1
keepalive = 1
deadtime = 2
service = lvs
heartbeat_port = ${heartbeatPort}
network = direct
virtual db {
  active = 1
  address = ${VIP} eth0:1
  vip_nmask = 255.255.240.0
  port = 3306
  timeout = 1
  reentry = 1
${servers.map((s) => `  server ${s} {\n    address = ${addr[s]}\n    active = 1\n    weight = 1\n  }\n`).join('')}}
`;
}

// Under CI a lab test that cannot run fails (Lab.create throws) instead of skipping.
const skip = !labAvailable() && process.env.CI !== 'true' && 'needs root and ip netns';

t.test('a SIGHUP that cannot be applied keeps the daemon running and serving; the next reload works', { skip }, async (t) => {
  ensureBuilt();
  const lab = await Lab.create(
    [
      { name: 'lb1', address: '10.65.0.1/20' },
      { name: 'rs1', address: '10.65.0.4/20', vipsOnLo: [VIP] },
      { name: 'rs2', address: '10.65.0.5/20', vipsOnLo: [VIP] },
      { name: 'client', address: '10.65.1.10/20' },
    ],
    { tag: 'reload' },
  );
  t.teardown(() => lab.destroy());
  for (const rs of ['rs1', 'rs2']) lab.spawn(rs, ['node', '-e', echoServer]);
  const dir = mkdtempSync(join(tmpdir(), 'ddreload-'));
  const cf = join(dir, 'lvs.cf');
  const sock = join(dir, 'directord.sock');
  writeFileSync(cf, lvsCf(1539, ['rs1']));
  const daemon = lab.spawn('lb1', ['node', paths.directord, '--config', cf, '--socket', sock, '--interface', 'eth0', '--metrics', '127.0.0.1:9541'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  daemon.stdout!.on('data', (d) => (log += d));
  daemon.stderr!.on('data', (d) => (log += d));
  const records = (): Record<string, unknown>[] => log.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
  const status = async (): Promise<StatusSnapshot | undefined> => {
    const r = await lab.exec('lb1', ['node', paths.directorctl, '--socket', sock, '--json', 'status'], { timeoutMs: 20000 });
    return r.code === 0 ? (JSON.parse(r.stdout).result as StatusSnapshot) : undefined;
  };
  const alive = (): void => {
    if (daemon.exitCode !== null || daemon.signalCode !== null) throw new Error(`directord exited (${daemon.exitCode ?? daemon.signalCode}): ${log.slice(-3000)}`);
  };
  const until = <T>(what: string, fn: () => Promise<T | undefined | false>, ms = 30000) =>
    waitFor(what, async () => {
      alive();
      return fn();
    }, ms, 200);
  const dests = (s: StatusSnapshot) => s.services[0].dests.map((d) => d.address).sort();
  const through = async (): Promise<string> => {
    const r = await lab.exec('client', ['node', '-e', `const s = require('net').connect(3306, '${VIP}'); s.setTimeout(3000, () => process.exit(2)); s.on('data', (d) => { process.stdout.write(d); s.destroy(); })`], { timeoutMs: 10000 });
    return r.stdout;
  };

  await until('forwarding with rs1 up', async () => {
    const s = await status();
    return s && s.ha.forwarding && s.health[0]?.state === 'up' ? s : undefined;
  }, 40000);
  t.equal(await through(), 'OK\n', 'serving through the VIP');
  t.match(await lab.sh('lb1', 'cat /proc/net/udp'), /0100410A:0603 /, 'heartbeats on 10.65.0.1:1539');

  // Another process holds UDP 10.65.0.1:1540 (no SO_REUSEADDR): the new file is valid, but its port cannot be bound.
  const squatter = lab.spawn('lb1', ['node', '-e', "require('dgram').createSocket('udp4').bind(1540, '10.65.0.1', () => console.log('bound'))"]);
  let sq = '';
  squatter.stdout!.on('data', (d) => (sq += d));
  await waitFor('port 1540 taken', () => sq.includes('bound'), 10000, 50);
  writeFileSync(cf, lvsCf(1540, ['rs1', 'rs2']));
  const offline = await lab.exec('lb1', ['node', paths.directord, '--check-config', cf], { timeoutMs: 20000 });
  t.equal(offline.code, 0, `the file validates offline: ${offline.stderr}`);

  process.kill(daemon.pid!, 'SIGHUP');
  const failed = await until('the reload refused', async () => {
    const s = await status();
    return s && s.reload.failures === 1 ? s : undefined;
  });
  t.equal(failed.reload.lastResult, 'failure');
  t.equal(failed.reload.lastError?.code, 'E_CONFIG_PORT_UNAVAILABLE');
  t.match(failed.reload.lastError?.message, /lvs\.cf:8:18 E_CONFIG_PORT_UNAVAILABLE heartbeat_port 1540 cannot be bound on 10\.65\.0\.1: EADDRINUSE/);
  t.match(records().find((r) => r.msg === 'reload failed: running configuration kept'), { code: 'E_CONFIG_PORT_UNAVAILABLE' }, 'logged with its code');
  const metrics = await lab.exec('lb1', ['node', '-e', "fetch('http://127.0.0.1:9541/metrics').then((r) => r.text()).then((x) => process.stdout.write(x))"], { timeoutMs: 10000 });
  t.match(metrics.stdout, /^directord_reloads_total\{result="failure"\} 1$/m, 'counted as a failure in /metrics');
  t.match(metrics.stdout, /^directord_config_last_reload_successful 0$/m);
  await new Promise((r) => setTimeout(r, 1500)); // an unhandled rejection would have ended the daemon by now
  alive();
  t.pass('still running');
  const after = (await status())!;
  t.same(dests(after), ['10.65.0.4'], 'old table: rs2 not added');
  t.same(after.health.map((h) => h.server), ['rs1'], 'old pool');
  t.equal(after.ha.forwarding, true, 'still active');
  t.equal(await through(), 'OK\n', 'still serving through the VIP');
  t.match(await lab.sh('lb1', 'cat /proc/net/udp'), /0100410A:0603 /, 'heartbeats still on 1539');
  t.match(await lab.sh('lb1', 'ip -4 addr show dev eth0'), `inet ${VIP}/20`, 'VIP still held');

  // The next reload reads the file again: fixed (a free port), it applies.
  writeFileSync(cf, lvsCf(1541, ['rs1', 'rs2']));
  process.kill(daemon.pid!, 'SIGHUP');
  const ok = await until('the good reload applied, rs2 up', async () => {
    const s = await status();
    return s && s.reload.lastResult === 'success' && s.health.find((h) => h.server === 'rs2')?.state === 'up' ? s : undefined;
  });
  t.same(ok.reload.failures, 1);
  t.same(dests(ok), ['10.65.0.4', '10.65.0.5'], 'rs2 in the table');
  t.match(await lab.sh('lb1', 'cat /proc/net/udp'), /0100410A:0605 /, 'heartbeats moved to 1541');
  t.equal(await through(), 'OK\n');

  const exited = new Promise<number | null>((r) => daemon.once('exit', (c) => r(c)));
  process.kill(daemon.pid!, 'SIGTERM');
  t.equal(await exited, 0, log.slice(-1000));
});
