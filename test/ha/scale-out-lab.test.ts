// Scale-out behind kernel ECMP: a router namespace with a multipath /32 route for the VIP via the directors (L4
// hash), real directord processes with scale_out = 1 and sync_peers, two then three real servers, and a client with
// many long-lived TCP connections through the VIP. (a) a third director joins, the server set changes, the route
// moves every flow off lb1: none breaks. (b) lb2 is killed with -9 and its flows moved: only unsynced ones may break.
// DD_SCALE_OUT_NOSYNC=1 runs the same steps without sync_peers, to see the assertions fail (they must).
import t from 'tap';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { Lab, labAvailable, waitFor } from '../lab/lab';
import { ensureLabBuilt, paths } from '../lab/build-lab';
import { DirectorProcess } from '../lab/director-process';

const VIP = '10.0.9.3';
const LB = { lb1: '10.0.0.11', lb2: '10.0.0.12', lb3: '10.0.0.13' } as const;
const RS = { rs1: '10.0.0.21', rs2: '10.0.0.22', rs3: '10.0.0.23' } as const;
const FLOWS = 120;
const flowsJs = join(paths.root, 'dist', 'test', 'ha', 'flows.js');
const noSync = process.env.DD_SCALE_OUT_NOSYNC === '1';

function lvsCf(keyFile: string, servers: Array<keyof typeof RS>): string {
  const srv = servers.map((s) => `  server ${s} {\n    address = ${RS[s]}\n    active = 1\n    weight = 1\n  }\n`).join('');
  return [
    'serial_no = 1', 'service = lvs', 'network = direct', 'scale_out = 1',
    ...(noSync ? [] : [`sync_peers = ${Object.values(LB).join(' ')}`]),
    `heartbeat_key_file = ${keyFile}`,
    'virtual web {', '  active = 1', `  address = ${VIP} eth0:1`, '  port = 80', '  protocol = tcp', '  scheduler = mh',
    '  send = "hi\\n"', '  expect = "*"', '  timeout = 1', '  reentry = 2', srv + '}', '',
  ].join('\n');
}

t.test('scale-out behind ECMP: flows moved between directors keep their real server', { skip: !labAvailable() && 'needs root and ip netns', timeout: 120000 }, async (t) => {
  ensureLabBuilt();
  const lab = await Lab.create([
    { name: 'router', address: '10.0.0.1/24' },
    { name: 'client', address: '192.168.50.2/24' },
    { name: 'lb1', address: `${LB.lb1}/24` },
    { name: 'lb2', address: `${LB.lb2}/24` },
    { name: 'lb3', address: `${LB.lb3}/24` },
    { name: 'rs1', address: `${RS.rs1}/24`, vipsOnLo: [VIP] },
    { name: 'rs2', address: `${RS.rs2}/24`, vipsOnLo: [VIP] },
    { name: 'rs3', address: `${RS.rs3}/24`, vipsOnLo: [VIP] },
  ], { tag: 'so' });
  const dir = mkdtempSync(join(tmpdir(), 'ddso-'));
  t.teardown(async () => {
    await lab.destroy();
    rmSync(dir, { recursive: true, force: true });
  });
  // One-armed router: the client subnet and the directors' LAN on the same port; no redirects (they would teach the
  // client a next hop for the VIP that is not the router's choice).
  await lab.sh('router', [
    'ip addr add 192.168.50.1/24 dev eth0', 'sysctl -qw net.ipv4.ip_forward=1', 'sysctl -qw net.ipv4.fib_multipath_hash_policy=1',
    'sysctl -qw net.ipv4.conf.all.send_redirects=0', 'sysctl -qw net.ipv4.conf.eth0.send_redirects=0',
    `ip route add ${VIP}/32 nexthop via ${LB.lb1} nexthop via ${LB.lb2}`,
  ].join(' && '));
  // Several client addresses: mh hashes the source address, so the flows spread over the real servers.
  const sources = Array.from({ length: 12 }, (_, i) => `192.168.50.${10 + i}`);
  await lab.sh('client', [...sources.map((a) => `ip addr add ${a}/24 dev eth0`), 'ip route add default via 192.168.50.1', 'sysctl -qw net.ipv4.conf.all.accept_redirects=0'].join(' && '));
  for (const rs of Object.keys(RS) as Array<keyof typeof RS>) {
    await lab.sh(rs, 'ip route add default via 10.0.0.1');
    lab.spawn(rs, [process.execPath, flowsJs, 'echo', rs, '80']);
  }
  const keyFile = join(dir, 'hb.key');
  writeFileSync(keyFile, 'scale-out-lab-key-0123456789abcdef\n', { mode: 0o600 });
  const config = join(dir, 'lvs.cf');
  writeFileSync(config, lvsCf(keyFile, ['rs1', 'rs2']));
  const d = Object.fromEntries((Object.keys(LB) as Array<keyof typeof LB>).map((n) => [n, new DirectorProcess(lab, n, { config, socket: join(dir, `${n}.sock`) })])) as Record<keyof typeof LB, DirectorProcess>;
  t.teardown(async () => {
    for (const p of Object.values(d)) await p.stop('SIGKILL').catch(() => undefined);
  });
  await Promise.all([d.lb1.start(), d.lb2.start()]);
  for (const n of ['lb1', 'lb2'] as const) {
    await waitFor(`${n} forwarding with rs1 and rs2 up`, async () => {
      const s = await d[n].status();
      return s.ha.forwarding && s.health.filter((h) => h.state === 'up').length === 2;
    }, 20000, 200).catch(async (e: Error) => {
      throw new Error(`${e.message}\n${JSON.stringify((await d[n].status().catch(() => undefined))?.ha)}\n${JSON.stringify((await d[n].status().catch(() => undefined))?.health)}\n${d[n].tail(30)}`);
    });
  }

  const client: ChildProcess = lab.spawn('client', [process.execPath, flowsJs, 'client', VIP, '80', String(FLOWS), ...sources], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  client.stdout!.on('data', (x) => (out += x));
  const check = async (waitMs = 6000): Promise<{ alive: number; broken: number; closed: number; changed: number; servers: Record<string, number> }> => {
    const before = out.split('\n').filter(Boolean).length;
    client.stdin!.write(`check ${waitMs}\n`);
    const line = await waitFor('client report', () => out.split('\n').filter(Boolean)[before], waitMs + 5000, 50);
    return JSON.parse(line) as { alive: number; broken: number; closed: number; changed: number; servers: Record<string, number> };
  };
  const first = await check();
  t.equal(first.alive, FLOWS, `all ${FLOWS} connections answer through the VIP (${JSON.stringify(first.servers)})`);
  const conns = async (n: keyof typeof LB): Promise<number> => {
    const s = await d[n].status();
    return s.services[0].dests.reduce((x, y) => x + y.activeConns, 0);
  };
  t.ok((await conns('lb1')) > 0 && (await conns('lb2')) > 0, 'ECMP spreads the flows over lb1 and lb2');
  t.ok(Object.keys(first.servers).length === 2, 'mh spreads the clients over rs1 and rs2');

  // (a) a director joins and fetches the table; the server set changes; every flow leaves lb1.
  await d.lb3.start();
  await waitFor('lb3 forwarding and synced from its peers', async () => {
    const s = await d.lb3.status();
    return s.ha.forwarding && (noSync || s.ha.scaleOut?.synced) && s.health.filter((h) => h.state === 'up').length === 2;
  }, 20000, 200);
  if (!noSync) t.ok((await conns('lb3')) >= FLOWS - 5, `lb3 holds the peers' connections after joining (${await conns('lb3')})`);
  writeFileSync(config, lvsCf(keyFile, ['rs1', 'rs2', 'rs3']));
  for (const n of ['lb1', 'lb2', 'lb3'] as const) {
    const r = await d[n].ctl(['reload']);
    t.equal(r.code, 0, `${n} reloads with rs3 added: ${r.stderr.trim()}`);
  }
  await lab.sh('router', `ip route replace ${VIP}/32 nexthop via ${LB.lb2} nexthop via ${LB.lb3}`);
  const a = await check();
  t.equal(a.broken, 0, `route moved off lb1 after the server set changed: ${a.broken} of ${FLOWS} connections broken`);
  t.equal(a.changed, 0, 'no connection changed its real server');

  // (b) kill -9 lb2 and move its flows to lb1 and lb3.
  await d.lb2.stop('SIGKILL');
  await lab.sh('router', `ip route replace ${VIP}/32 nexthop via ${LB.lb1} nexthop via ${LB.lb3}`);
  const b = await check();
  t.comment(`kill -9 of lb2: ${b.broken} of ${FLOWS} connections broken`);
  t.equal(b.broken, 0, 'flows of the killed director continue on the others');
  t.equal(b.changed, 0, 'and keep their real server');

  // (c) drain lb3: it reports draining while flows still arrive; the router then moves them (what the announcer's
  // withdrawal does with BGP), and lb3 reports drained once nothing reaches it. No connection breaks.
  const dr = await d.lb3.ctl(['--json', 'drain-director', '--deadline', '60']);
  t.equal(dr.code, 0, `drain-director: ${dr.stderr.trim()}`);
  t.equal((await d.lb3.status()).ha.scaleOut?.drain.phase, 'draining');
  await lab.sh('router', `ip route replace ${VIP}/32 via ${LB.lb1}`);
  const drained = await waitFor('lb3 drained', async () => {
    const s = (await d.lb3.status()).ha.scaleOut?.drain;
    return s?.phase === 'drained' ? s : undefined;
  }, 20000, 200);
  t.equal(drained.endedBy, 'idle', `drained by silence, not the deadline (${drained.packetsSinceStart} packets forwarded while draining)`);
  t.match((await d.lb3.ctl(['status'])).stdout, /Drain: drained \(idle\)/, 'directorctl status shows it');
  const c = await check();
  t.equal(c.broken, 0, 'no connection broken by the drain');
  client.kill('SIGKILL');
});
