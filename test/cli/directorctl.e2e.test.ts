// End to end: the compiled directord in a namespace lab (10.64.0.0/20), every directorctl command (human and --json),
// a reload that keeps unchanged servers' state, a broken reload that keeps the old config, /metrics through promtool,
// and a second daemon refused on the same socket.
import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Lab, labAvailable, waitFor } from '../lab/lab';
import { ensureBuilt, paths } from '../lab/build';
import type { StatusSnapshot } from '../../src/control/types';
import { NOTIFY_RECEIVER } from '../lab/notify-receiver';
import { cannotRun, haveTool, skipUnless } from '../lab/needs';

const backend = process.env.DIRECTORD_E2E_DATAPLANE ?? 'afpacket';
// DIRECTORD_E2E_PACKET_THREADS=N: the daemon runs with --packet-threads N (default: its own default).
const threads = process.env.DIRECTORD_E2E_PACKET_THREADS ? ['--packet-threads', process.env.DIRECTORD_E2E_PACKET_THREADS] : [];
// The fake data plane forwards nothing: the checks on live connections become counted skips (a failure under CI=true).
const noFrames = skipUnless(backend !== 'fake', 'DIRECTORD_E2E_DATAPLANE=fake forwards no frames');
const VIP = '10.64.0.100';

function lvsCf(servers: { name: string; address: string; weight: number }[], extra = ''): string {
  return `serial_no = 1
primary = 10.64.0.1
service = lvs
backup_active = 0
network = direct
virtual mysql {
  active = 1
  address = ${VIP} eth0:1
  vip_nmask = 255.255.240.0
  port = 3306
  persistent = 60
  pmask = 255.255.240.0
  scheduler = wlc
  protocol = tcp
  timeout = 1
  reentry = 1
  quiesce_server = 1
${extra}${servers.map((s) => `  server ${s.name} {\n    address = ${s.address}\n    active = 1\n    weight = ${s.weight}\n  }\n`).join('')}}
`;
}


const echoServer = "require('net').createServer((s) => { s.on('error', () => {}); s.write('OK\\n'); }).listen(3306)";

t.test('directord + directorctl in a namespace lab', { skip: !labAvailable() && 'needs root and ip netns' }, async (t) => {
  ensureBuilt();
  const lab = await Lab.create(
    [
      { name: 'lb1', address: '10.64.0.1/20' },
      { name: 'rs1', address: '10.64.0.4/20', vipsOnLo: [VIP] },
      { name: 'rs2', address: '10.64.0.5/20', vipsOnLo: [VIP] },
      { name: 'client', address: '10.64.1.10/20' },
    ],
    { tag: 'ops' },
  );
  t.teardown(() => lab.destroy());
  for (const rs of ['rs1', 'rs2']) lab.spawn(rs, ['node', '-e', echoServer]);

  const dir = mkdtempSync(join(tmpdir(), 'ddops-'));
  const cf = join(dir, 'lvs.cf');
  const sock = join(dir, 'directord.sock');
  writeFileSync(cf, lvsCf([{ name: 'rs1', address: '10.64.0.4', weight: 1 }, { name: 'rs2', address: '10.64.0.5', weight: 1 }]));

  // A stand-in for systemd's notify socket (pathname UNIX sockets work across network namespaces).
  const notifySock = join(dir, 'notify.sock');
  const recvScript = join(dir, 'recv.py');
  writeFileSync(recvScript, NOTIFY_RECEIVER);
  const canNotify = haveTool('python3');
  const noNotify = skipUnless(canNotify, 'the sd_notify checks need python3', t);
  let notified = '';
  if (canNotify) {
    const recv = spawn('python3', [recvScript, notifySock], { stdio: ['ignore', 'pipe', 'ignore'] });
    t.teardown(() => void recv.kill('SIGKILL'));
    recv.stdout!.on('data', (d) => (notified += d));
    await waitFor('notify receiver', () => notified.includes('listening'), 30000, 20);
  }

  const daemon = lab.spawn('lb1', ['node', paths.directord, '--config', cf, '--socket', sock, '--dataplane', backend, '--metrics', '127.0.0.1:9539', '--interface', 'eth0', '--read-only-socket', ...threads], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: canNotify ? { ...process.env, NOTIFY_SOCKET: notifySock } : process.env,
  });
  let log = '';
  daemon.stdout!.on('data', (d) => (log += d));
  daemon.stderr!.on('data', (d) => (log += d));
  const records = (): Record<string, unknown>[] => log.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));

  const ctl = (...args: string[]) => lab.exec('lb1', ['node', paths.directorctl, '--socket', sock, ...args], { timeoutMs: 20000 });
  const json = async (...args: string[]) => {
    const r = await ctl('--json', ...args);
    return { code: r.code, body: JSON.parse(r.stdout || '{}') as { ok: boolean; result?: any; error?: { code: string; message: string; details?: any } }, stderr: r.stderr };
  };
  const status = async (): Promise<StatusSnapshot> => (await json('status')).body.result as StatusSnapshot;

  const ready = await ctl('wait-ready', '--timeout', '30000');
  t.equal(ready.code, 0, `wait-ready: ${ready.stderr}${log.slice(-2000)}`);
  if (ready.code !== 0) return;

  if (canNotify) {
    await waitFor('READY=1 on NOTIFY_SOCKET', () => /READY=1\|STATUS=primary (active|standby), forwarding (on|off), 1 virtual\(s\), \d\/2 real servers up/.test(notified), 10000, 50);
    t.pass('sd_notify READY=1 with a status line');
  } else t.pass('sd_notify READY=1 with a status line', { skip: noNotify });
  await waitFor('both real servers up', async () => (await status()).health.every((h) => h.state === 'up'), 20000, 200);
  await waitFor('forwarding', async () => (await status()).ha.forwarding, 20000, 200);

  // A client connection through the VIP, kept open across the reload below.
  const client = lab.spawn('client', ['node', '-e', `const s = require('net').connect(3306, '${VIP}'); s.on('data', (d) => process.stdout.write(d)); setInterval(() => s.write('x'), 300);`]);
  let clientOut = '';
  client.stdout!.on('data', (d) => (clientOut += d));
  if (!noFrames) await waitFor('client connected through the VIP', () => clientOut.includes('OK'), 10000, 100);

  await t.test('status: ipvsadm -Ln table, then role and health', async (t) => {
    const r = await ctl('status');
    t.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split('\n');
    t.same(lines.slice(0, 4), [
      'IP Virtual Server version 1.2.1 (size=4096)',
      'Prot LocalAddress:Port Scheduler Flags',
      '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn',
      `TCP  ${VIP}:3306 wlc persistent 60 mask 255.255.240.0`,
    ]);
    t.match(lines[4], /^  -> 10\.64\.0\.4:3306 {15}Route   1      \d +\d + $/);
    t.match(lines[5], /^  -> 10\.64\.0\.5:3306 {15}Route   1      \d +\d + $/);
    t.equal(lines[4].length, 5 + 28 + 1 + 7 + 1 + 6 + 1 + 10 + 1 + 10, 'column widths incl. trailing spaces');
    t.match(r.stdout, /Node: primary, active, forwarding on/);
    t.match(r.stdout, /mysql\/rs1 +10\.64\.0\.4:3306 +up +1\/1/);
    const j = await json('status');
    t.equal(j.code, 0);
    t.equal(j.body.ok, true);
    t.equal(j.body.result.services[0].vip, VIP);
    for (const flag of ['--stats', '--rate', '--connections']) {
      const h = await ctl('status', flag);
      t.equal(h.code, 0, `${flag}: ${h.stderr}`);
      t.match(h.stdout, flag === '--connections' ? /^IPVS connection entries\npro expire state +source +virtual +destination\n/ : /^IP Virtual Server version 1\.2\.1 \(size=4096\)\nProt LocalAddress:Port +(Conns|CPS)/);
      t.equal((await json('status', flag)).code, 0);
    }
    if (!noFrames) {
      const c = await ctl('status', '--connections');
      t.match(c.stdout, new RegExp(`TCP \\d\\d:\\d\\d  ESTABLISHED 10\\.64\\.1\\.10:\\d+ +${VIP}:3306 +10\\.64\\.0\\.[45]:3306`));
    } else t.pass('the client connection in status --connections', { skip: noFrames });
  });

  await t.test('status -t VIP:PORT: one service, as ipvsadm -L -t', async (t) => {
    const all = await ctl('status');
    const one = await ctl('status', '-t', `${VIP}:3306`);
    t.equal(one.code, 0, one.stderr);
    t.equal(one.stdout, all.stdout.split('\n').slice(0, 6).join('\n') + '\n', 'the table of that service only, no status block');
    const st = await ctl('status', '-t', `${VIP}:3306`, '--stats');
    t.match(st.stdout, new RegExp(`^IP Virtual Server version 1\\.2\\.1 \\(size=4096\\)\nProt LocalAddress:Port +Conns`));
    const j = await json('status', '-t', `${VIP}:3306`);
    t.equal(j.body.result.services.length, 1);
    const none = await json('status', '-u', `${VIP}:3306`);
    t.equal(none.code, 1, 'no such service: exit 1');
    t.equal(none.body.error?.code, 'E_CLI_NO_SUCH_SERVICE');
    t.same(none.body.error?.details?.known, [`-t ${VIP}:3306`]);
  });

  await t.test('drain / weight / enable are runtime overrides, shown as such', async (t) => {
    let r = await ctl('drain', 'rs1');
    t.equal(r.code, 0, r.stderr);
    t.match(r.stdout, 'mysql/rs1: drained (weight 0, runtime override)');
    t.match((await ctl('status')).stdout, /  -> 10\.64\.0\.4:3306 +Route +0 /);
    t.match((await ctl('status')).stdout, /mysql\/rs1 .*0\/1 \(override: drain\)/);
    r = await ctl('weight', '10.64.0.4:3306', '7');
    t.equal(r.code, 0, r.stderr);
    t.match((await ctl('status')).stdout, /  -> 10\.64\.0\.4:3306 +Route +7 /);
    const j = await json('enable', 'mysql/rs1');
    t.equal(j.code, 0);
    t.same(j.body.result, { servers: ['mysql/rs1'], override: null });
    t.match((await ctl('status')).stdout, /  -> 10\.64\.0\.4:3306 +Route +1 /);
    for (const cmd of [['drain', 'rs1'], ['weight', 'rs1', '2']]) t.equal((await json(...cmd)).code, 0);
    t.equal((await ctl('enable', 'rs1')).code, 0);

    const u = await ctl('drain', 'nosuch');
    t.equal(u.code, 1);
    t.match(u.stderr, /E_CTL_UNKNOWN_SERVER unknown server 'nosuch'; known: mysql\/rs1 \(10\.64\.0\.4:3306\), mysql\/rs2 \(10\.64\.0\.5:3306\)/);
    const uj = await json('drain', 'nosuch');
    t.equal(uj.code, 1);
    t.equal(uj.body.error!.code, 'E_CTL_UNKNOWN_SERVER');
    t.same(uj.body.error!.details.known.length, 2);
    const bad = await ctl('weight', 'rs1', 'heavy');
    t.equal(bad.code, 2, 'usage error');
    t.match(bad.stderr, /E_CTL_BAD_ARGS/);
  });

  await t.test('where, takeover, release', async (t) => {
    const w = await json('where', '10.64.1.10');
    t.equal(w.code, 0, JSON.stringify(w.body));
    t.match(w.body.result, { client: '10.64.1.10', source: 'daemon' });
    t.match(w.body.result.answers[0].destination.address, /^10\.64\.0\.[45]$/);
    if (!noFrames) t.match(w.body.result.answers[0].reason, /existing ESTABLISHED connection|persistence template/, 'the live table answers first');
    else t.pass('the live table answers first', { skip: noFrames });
    const fresh = await ctl('where', '10.64.3.3:4000');
    t.equal(fresh.code, 0, fresh.stderr);
    t.match(fresh.stdout, /^10\.64\.3\.3:4000 → mysql 10\.64\.0\.100:3306 → 10\.64\.0\.[45]:3306 \(rs[12]\)\n  because: /);
    const offline = await ctl('where', '--config', cf, '10.64.3.3');
    t.equal(offline.code, 0, offline.stderr);
    t.match(offline.stdout, /→ 10\.64\.0\.5:3306 \(rs2\)/, 'from the config alone: the server added last heads the list');
    const off = (await json('where', '--config', cf, '10.64.3.3')).body.result;
    t.match(off, { client: '10.64.3.3', source: 'config', answers: [{ destination: { server: 'rs2' }, decidedBy: 'scheduler', virtual: 'mysql', protocol: 'tcp' }] });
    const live = (await json('where', '10.64.3.3')).body.result;
    t.same(Object.keys(off).sort(), Object.keys(live).sort(), 'the same envelope live and offline');
    t.same(Object.keys(off.answers[0]).sort(), Object.keys(live.answers[0]).sort());
    t.equal((await ctl('where', '--config', cf, 'not-an-ip')).code, 2, 'a bad client: exit 2 offline too');
    const cc = await ctl('check-config', cf);
    t.equal(cc.code, 0, cc.stderr);
    t.match(cc.stdout, /virtual mysql/);
    t.equal((await json('check-config', cf)).body.ok, true);
    const s = await status();
    t.ok(s.subsystems.scheduler && s.subsystems.health && s.subsystems.ha, 'all subsystems wired');
    t.equal((await ctl('where', 'not-an-ip')).code, 2);
    const tk = await json('takeover');
    t.equal(tk.code, 0, JSON.stringify(tk.body));
    t.equal((await ctl('takeover')).code, 0);
    const rl = await json('release');
    t.equal(rl.code, 0, JSON.stringify(rl.body));
    await waitFor('released', async () => !(await status()).ha.forwarding, 10000, 100);
    t.equal((await ctl('takeover')).code, 0);
    await waitFor('active again', async () => (await status()).ha.forwarding, 10000, 100);
    t.pass('release stops forwarding, takeover resumes it');
  });

  await t.test('reload applies only the difference; a broken config is refused and the old one kept', async (t) => {
    const before = await status();
    const rs1Before = before.health.find((h) => h.server === 'rs1')!;
    const activeBefore = before.services[0].dests.find((d) => d.address === '10.64.0.4')!.activeConns + before.services[0].dests.find((d) => d.address === '10.64.0.5')!.activeConns;
    // rs2's weight changes, rs3 (nothing listening) is added; rs1 is untouched.
    writeFileSync(cf, lvsCf([{ name: 'rs1', address: '10.64.0.4', weight: 1 }, { name: 'rs2', address: '10.64.0.5', weight: 2 }, { name: 'rs3', address: '10.64.0.6', weight: 1 }]));
    const r = await ctl('reload');
    t.equal(r.code, 0, r.stderr);
    t.match(r.stdout, /server mysql\/rs3 \(10\.64\.0\.6:3306\) added/);
    t.notMatch(r.stdout, /rs1/, 'rs1 is not among the changes');
    const after = await status();
    const rs1After = after.health.find((h) => h.server === 'rs1')!;
    t.equal(rs1After.state, 'up', 'rs1 stays up (no re-check from scratch)');
    t.equal(rs1After.inTable, rs1Before.inTable);
    t.ok(after.health.find((h) => h.server === 'rs3'), 'rs3 known');
    const activeAfter = after.services[0].dests.reduce((a, d) => a + d.activeConns, 0);
    t.equal(activeAfter, activeBefore, 'established connections kept across the reload');
    if (!noFrames) t.ok(activeBefore >= 1, 'the client connection was counted');
    else t.pass('the client connection was counted', { skip: noFrames });

    writeFileSync(cf, 'serial_no = 1\nvirtual {\n');
    const bad = await ctl('reload');
    t.equal(bad.code, 1, 'reload exit status is non-zero');
    t.match(bad.stderr, /E_CTL_RELOAD_FAILED reload failed, running configuration kept: .*E_CONFIG/);
    const kept = await status();
    t.equal(kept.health.length, 3, 'the running configuration (with rs3) is kept');
    t.equal(kept.reload.lastResult, 'failure');
    t.match((await ctl('status')).stdout, /Last reload FAILED/);
    const bj = await json('reload');
    t.equal(bj.code, 1);
    t.equal(bj.body.error!.code, 'E_CTL_RELOAD_FAILED');
    // SIGHUP behaves the same (logged, metric).
    process.kill(daemon.pid!, 'SIGHUP');
    await waitFor('SIGHUP reload failure logged', () => records().filter((x) => x.msg === 'reload failed: running configuration kept').length >= 3, 5000, 50);
    t.ok(daemon.exitCode === null, 'daemon still running');
    if (canNotify) {
      await waitFor('RELOADING then READY with the failure', () => /RELOADING=1\|MONOTONIC_USEC=\d+\|STATUS=reloading\npid=\d+ READY=1\|STATUS=last reload FAILED \(E_CONFIG/.test(notified), 5000, 50);
      t.pass('SIGHUP: RELOADING=1, then READY=1 saying the reload failed');
    } else t.pass('SIGHUP: RELOADING=1, then READY=1 saying the reload failed', { skip: noNotify });
  });

  await t.test('a server removed by a reload drains with its connection instead of being cut', { skip: noFrames }, async (t) => {
    const conns = (await json('status', '--connections')).body.result.connections as { caddr: string; daddr: string; template: boolean; state: string }[];
    const mine = conns.find((c) => c.caddr === '10.64.1.10' && !c.template);
    t.ok(mine, 'the client connection is in the table');
    if (!mine) return;
    const servers = [{ name: 'rs1', address: '10.64.0.4', weight: 1 }, { name: 'rs2', address: '10.64.0.5', weight: 2 }, { name: 'rs3', address: '10.64.0.6', weight: 1 }];
    const gone = servers.find((x) => x.address === mine.daddr)!;
    writeFileSync(cf, lvsCf(servers.filter((x) => x !== gone)));
    const r = await ctl('reload');
    t.equal(r.code, 0, r.stderr);
    t.match(r.stdout, `server mysql/${gone.name} (${gone.address}:3306) removed: draining`);
    const s = await status();
    const d = s.services[0].dests.find((x) => x.address === gone.address);
    t.ok(d, 'still in the table');
    t.equal(d?.weight, 0, 'weight 0: no new connections');
    t.ok((d?.activeConns ?? 0) + (d?.inactConns ?? 0) >= 1, 'its connection is still counted');
    t.equal(s.health.find((h) => h.address === gone.address)?.state, 'draining');
    t.match((await ctl('status')).stdout, new RegExp(`  -> ${gone.address.replace(/\./g, '\\.')}:3306 +Route +0 +`));
    await new Promise((r) => setTimeout(r, 1000)); // the client keeps sending through the director meanwhile
    t.equal(client.exitCode, null, 'client connection not reset');
    const later = await json('status');
    t.equal(later.code, 0, `${JSON.stringify(later.body).slice(0, 300)} ${later.stderr} ${log.slice(-1500)}`);
    t.ok((later.body.result?.services[0].dests.find((x: { address: string }) => x.address === gone.address)?.inPkts ?? 0) > (d?.inPkts ?? 0), 'its packets are still forwarded');
    t.equal((await ctl('drain', gone.name)).code, 1, 'a draining server is no longer addressable');
  });

  await t.test('/metrics through promtool', async (t) => {
    const r = await lab.exec('lb1', ['node', '-e', "fetch('http://127.0.0.1:9539/metrics').then((r) => r.text()).then((x) => process.stdout.write(x))"], { timeoutMs: 10000 });
    t.equal(r.code, 0, r.stderr);
    t.match(r.stdout, /directord_backend_connections_active\{local_address="10\.64\.0\.100",local_port="3306",remote_address="10\.64\.0\.4",remote_port="3306",proto="TCP",local_mark=""\} \d+/);
    t.match(r.stdout, /^directord_reloads_total\{result="failure"\} 3$/m);
    t.match(r.stdout, new RegExp(`^directord_reloads_total\\{result="success"\\} ${backend === 'fake' ? 1 : 2}$`, 'm'));
    t.match(r.stdout, /^directord_ha_state\{state="active"\} 1$/m);
    t.match(r.stdout, /^directord_ha_active 1$/m);
    t.match(r.stdout, /^directord_check_duration_seconds_count [1-9]/m);
    if (haveTool('promtool')) {
      const p = spawnSync('promtool', ['check', 'metrics'], { input: r.stdout, encoding: 'utf8' });
      t.equal(p.status, 0, p.stdout + p.stderr);
    } else t.pass('promtool check metrics', { skip: cannotRun('promtool not installed (Debian package prometheus)', t) });
  });

  await t.test('an unprivileged user: read-only commands via the read-only socket, mutating ones refused', async (t) => {
    chmodSync(dir, 0o755); // mkdtemp makes it 0700; the runtime directory is 0755 in production
    const asNobody = (...args: string[]) => lab.exec('lb1', ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', 'node', paths.directorctl, '--socket', sock, ...args], { timeoutMs: 20000 });
    const st = await asNobody('status');
    t.equal(st.code, 0, `status as nobody: ${st.stderr}`);
    t.match(st.stdout, /^IP Virtual Server version 1\.2\.1/);
    const dr = await asNobody('drain', 'rs1');
    t.equal(dr.code, 4, 'permission denied exit status');
    t.match(dr.stderr, /E_CTL_PERMISSION permission denied on .*directord\.sock: run as root or as a member of group 'directord'/);
    const dj = await asNobody('--json', 'reload');
    t.equal(dj.code, 4);
    t.equal(JSON.parse(dj.stdout).error.code, 'E_CTL_PERMISSION');
    t.equal((await ctl('status')).code, 0, 'daemon unaffected');
    t.notMatch((await ctl('status')).stdout, /override: drain/, 'nothing was drained');
  });

  await t.test('a second directord on the same socket is refused; the first keeps answering', async (t) => {
    writeFileSync(cf, lvsCf([{ name: 'rs1', address: '10.64.0.4', weight: 1 }]));
    const second = await lab.exec('lb1', ['node', paths.directord, '--config', cf, '--socket', sock, '--dataplane', 'fake', '--no-read-only-socket'], { timeoutMs: 20000 });
    t.equal(second.code, 1);
    t.match(second.stdout, /E_CTL_ALREADY_RUNNING/);
    t.equal((await ctl('status')).code, 0, 'first daemon still answers');
  });

  await t.test('SIGTERM stops cleanly and removes the socket; directorctl then says not running', async (t) => {
    t.match(await lab.sh('lb1', 'ip -4 addr show dev eth0'), `inet ${VIP}/20`, 'the active director holds the VIP');
    const exited = new Promise<number | null>((r) => daemon.once('exit', (c) => r(c)));
    process.kill(daemon.pid!, 'SIGTERM');
    t.equal(await exited, 0);
    t.notMatch(await lab.sh('lb1', 'ip -4 addr show dev eth0'), VIP, 'the VIP was given up');
    t.notOk(existsSync(sock), 'socket removed');
    const r = await ctl('status');
    t.equal(r.code, 3);
    t.match(r.stderr, /E_CTL_NOT_RUNNING directord is not running/);
    t.ok(records().some((x) => x.msg === 'stopped'));
    if (canNotify) t.match(notified, /STOPPING=1\|STATUS=stopping/);
  });
});
