// The systemd unit's promise, checked without systemd: directord runs as an unprivileged user holding only
// CAP_NET_RAW, CAP_NET_ADMIN and CAP_NET_BIND_SERVICE (setpriv sets them as the unit's AmbientCapabilities do),
// and the programs it runs for the operator (send_program, active_cmd) get none of them. Its own SIGTERM leaves no
// VIP, no nft table and no XDP program, also with --dataplane afxdp (given CAP_BPF, CAP_PERFMON and CAP_IPC_LOCK as well).
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Lab, labAvailable, waitFor } from '../lab/lab';
import { ensureBuilt, paths } from '../lab/build';
import type { StatusSnapshot } from '../../src/control/types';
import { skipUnless } from '../lab/needs';
import { capabilitySet } from '../../src/util/child';

const VIP = '10.64.2.100';
const BASE_CAPS = '+net_raw,+net_admin,+net_bind_service';
const setprivOk = spawnSync('setpriv', ['--version'], { stdio: 'ignore' }).status === 0;

const cases = [
  { name: 'directord as nobody with three capabilities', backend: 'afpacket', caps: BASE_CAPS },
  // CAP_PERFMON: without it the verifier refuses the XDP program (EPERM); CAP_IPC_LOCK: without it the UMEM is over
  // RLIMIT_MEMLOCK (ENOBUFS). Both found by this test, each missing one making AF_XDP fall back.
  { name: 'directord as nobody with the unit\'s six capabilities runs AF_XDP', backend: 'afxdp', caps: `${BASE_CAPS},+bpf,+perfmon,+ipc_lock` },
];
for (const { name, backend, caps: CAPS } of cases) t.test(name, { skip: (!labAvailable() && 'needs root and ip netns') || skipUnless(setprivOk, 'needs setpriv') }, async (t) => {
  ensureBuilt();
  const lab = await Lab.create([{ name: 'lb1', address: '10.64.2.1/20' }, { name: 'rs1', address: '10.64.2.4/20', vipsOnLo: [VIP] }], { tag: 'caps' });
  t.teardown(() => lab.destroy());
  lab.spawn('rs1', ['node', '-e', "require('net').createServer((s) => { s.on('error', () => {}); s.end('OK\\n'); }).listen(3306)"]);
  const dir = mkdtempSync(join(tmpdir(), 'ddcaps-'));
  chmodSync(dir, 0o755);
  const run = join(dir, 'run');
  mkdirSync(run);
  chownSync(run, 65534, 65534);
  const cf = join(dir, 'lvs.cf');
  // Both programs record their own /proc/self/status where nobody may write; the check answers OK.
  const probe = join(dir, 'probe.sh');
  writeFileSync(probe, `#!/bin/sh\ncat /proc/self/status > ${run}/probe.status\necho OK\n`);
  const activeCmd = join(dir, 'active.sh');
  writeFileSync(activeCmd, `#!/bin/sh\ncat /proc/self/status > ${run}/active.status\n`);
  chmodSync(probe, 0o755);
  chmodSync(activeCmd, 0o755);
  writeFileSync(cf, `serial_no = 1\nprimary = 10.64.2.1\nbackup = 10.64.2.2\nbackup_active = 1\nkeepalive = 1\ndeadtime = 2\nservice = lvs\nheartbeat_port = 539\nnetwork = direct\nactive_cmd = ${activeCmd}\nvirtual db {\n  active = 1\n  address = ${VIP} eth0:1\n  vip_nmask = 255.255.240.0\n  port = 3306\n  send_program = "${probe} %h"\n  expect = "OK"\n  timeout = 1\n  reentry = 1\n  server rs1 {\n    address = 10.64.2.4\n    active = 1\n    weight = 1\n  }\n}\n`);
  const sock = join(run, 'directord.sock');
  const daemon = lab.spawn('lb1', [
    'setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', `--inh-caps=-all,${CAPS}`, `--ambient-caps=-all,${CAPS}`, `--bounding-set=-all,${CAPS}`,
    // tap's process hooks (NODE_OPTIONS) would write coverage files where nobody may not.
    'env', '-u', 'NODE_OPTIONS', 'node', paths.directord, '--config', cf, '--socket', sock, '--interface', 'eth0', '--dataplane', backend,
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  daemon.stdout!.on('data', (d) => (log += d));
  daemon.stderr!.on('data', (d) => (log += d));
  const status = async (): Promise<StatusSnapshot | undefined> => {
    const r = await lab.exec('lb1', ['node', paths.directorctl, '--socket', sock, '--json', 'status'], { timeoutMs: 20000 });
    return r.code === 0 ? (JSON.parse(r.stdout).result as StatusSnapshot) : undefined;
  };
  const s = await waitFor('up, forwarding, rs1 healthy', async () => {
    if (daemon.exitCode !== null) throw new Error(`directord exited ${daemon.exitCode}: ${log.slice(-2000)}`);
    const st = await status();
    return st && st.ha.forwarding && st.health[0]?.state === 'up' ? st : undefined;
  }, 40000, 250).catch((e: Error) => {
    t.fail(`${e.message}\n${log.slice(-2000)}`);
    return undefined;
  });
  if (!s) return;
  t.equal(s.dataplane, backend, `the ${backend} data plane runs without root${s.dataplane !== backend ? `: ${log.split('\n').filter((l) => l.includes('requested')).join('\n')}` : ''}`);
  t.match(await lab.sh('lb1', 'ip -4 addr show dev eth0'), `inet ${VIP}/20`, 'VIP added over rtnetlink with CAP_NET_ADMIN');
  t.match(await lab.sh('lb1', `cat /proc/${daemon.pid}/status`), /Uid:\s+65534/, 'really not root');
  t.match(await lab.sh('lb1', 'cat /proc/net/udp'), /:021B /, 'heartbeat socket bound to UDP 539 (CAP_NET_BIND_SERVICE)');
  // net_bind_service, net_admin, net_raw = bits 10, 12, 13; ipc_lock 14, perfmon 38, bpf 39.
  const amb = backend === 'afxdp' ? '000000c000007400' : '0000000000003400';
  t.match(await lab.sh('lb1', `grep CapAmb /proc/${daemon.pid}/status`), new RegExp(`CapAmb:\\s+${amb}`), `the daemon holds exactly its ambient capabilities (${CAPS})`);
  await waitFor('active_cmd ran', () => existsSync(join(run, 'active.status')), 10000, 100);
  for (const who of ['probe', 'active']) {
    const st = readFileSync(join(run, `${who}.status`), 'utf8');
    t.equal(capabilitySet('CapEff', st), 0n, `${who}: CapEff 0`);
    t.equal(capabilitySet('CapAmb', st), 0n, `${who}: CapAmb 0`);
    t.equal(capabilitySet('CapPrm', st), 0n, `${who}: CapPrm 0`);
  }
  t.same(await directordTables(lab), ['table netdev directord'], 'ingress table present while running (CAP_NET_ADMIN)');
  if (backend === 'afxdp') t.match(await lab.sh('lb1', 'ip link show dev eth0'), /\bxdp/, 'XDP program attached while running');
  const exited = new Promise<number | null>((r) => daemon.once('exit', (c) => r(c)));
  process.kill(daemon.pid!, 'SIGTERM');
  t.equal(await exited, 0, log.slice(-1000));
  t.notMatch(await lab.sh('lb1', 'ip -4 addr show dev eth0'), VIP, 'VIP given up');
  t.same(await directordTables(lab), [], 'no directord nft table after its own SIGTERM (nft list tables)');
  t.notMatch(await lab.sh('lb1', 'ip link show dev eth0'), /\bxdp/, 'no XDP program on eth0 after its own SIGTERM');
});

/** The nft tables named directord in the namespace, any family. */
async function directordTables(lab: Lab): Promise<string[]> {
  return (await lab.sh('lb1', 'nft list tables')).split('\n').filter((l) => /\sdirectord$/.test(l.trim()));
}
