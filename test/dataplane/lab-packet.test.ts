// Packet-level correctness end to end, for both backends: a client behind a router whose link to it has MTU 1280,
// real servers sending 1500-byte segments with path MTU discovery on. The router's "fragmentation needed" goes to
// the VIP, i.e. the director, which must relay it to the real server of the flow, or large transfers stall (the
// control case shows the stall when the ICMP never reaches the director). Also: a service with no real server
// answers with ICMP port unreachable (connection refused), and UDP datagrams larger than the MTU get through.
import t from 'tap';
import { labAvailable } from '../lab/lab';
import { DataPlaneLab, VIP, dests, service } from './dplab';

const skip = !labAvailable() && 'needs root and ip netns';
const FAR = '192.168.77.2';

// Downloads N bytes ("down N") from VIP:port; prints {"bytes": received, "end": how it ended}.
const DOWN_JS = `
const net = require('net'); const [vip, port, n, ms] = process.argv.slice(1); let bytes = 0;
const done = (end) => { console.log(JSON.stringify({ bytes, end })); process.exit(0); };
const s = net.connect({ host: vip, port: Number(port) }, () => s.write('down ' + n + '\\n'));
s.on('data', (d) => (bytes += d.length)); s.on('end', () => done('end')); s.on('error', (e) => done('error:' + e.code));
setTimeout(() => done('timeout'), Number(ms));
`;

// Sends COUNT datagrams of SIZE bytes, each from its own socket; prints the replies (or "timeout") as JSON.
const BIG_UDP_JS = `
const dgram = require('dgram'); const [vip, port, size, count] = process.argv.slice(1);
function one() { return new Promise((res) => { const u = dgram.createSocket('udp4'); const t = setTimeout(() => { u.close(); res('timeout'); }, 3000);
  u.on('message', (m) => { clearTimeout(t); u.close(); res(String(m)); });
  const b = Buffer.alloc(Number(size), 120); b.write('size'); u.send(b, Number(port), vip); }); }
(async () => { const out = []; for (let i = 0; i < Number(count); i++) out.push(await one()); console.log(JSON.stringify(out)); })();
`;

async function run(d: DataPlaneLab, host: string, js: string, args: string[]): Promise<unknown> {
  const r = await d.lab.exec(host, [process.execPath, '-e', js, ...args], { timeoutMs: 120000 });
  if (r.code !== 0) throw new Error(`${host}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

interface Stats { drops: Record<string, number>; icmpRelayed?: number; icmpUnreachSent?: number; fragments?: number }

for (const backend of ['afpacket', 'afxdp'] as const) t.test(`packet-level correctness on a lab (${backend})`, { skip }, async (t) => {
  const d = await DataPlaneLab.create(2, {
    extraHosts: [{ name: 'rtr', address: '10.61.0.1/20', mac: '02:61:00:00:00:01' }, { name: 'far', address: `${FAR}/24`, mac: '02:61:00:00:02:02' }],
  });
  t.teardown(() => d.destroy());
  // far's link leaves the switch and becomes the router's eth1, with MTU 1280 on the router's side: the router cannot
  // forward a 1500-byte packet to far and says so with ICMP fragmentation needed (far itself keeps 1500, so its
  // MSS invites 1500-byte segments).
  const port = d.lab.switchPort('far');
  d.sh('sw', `ip link set ${port} nomaster && ip link set ${port} netns ${d.lab.ns('rtr')}`);
  d.sh('rtr', `ip link set ${port} name eth1 && ip addr add 192.168.77.1/24 dev eth1 && ip link set eth1 mtu 1280 up && sysctl -qw net.ipv4.ip_forward=1`);
  d.sh('far', 'ip route add default via 192.168.77.1');
  for (const h of ['rs1', 'rs2', 'dir']) d.sh(h, 'ip route add 192.168.77.0/24 via 10.61.0.1');
  d.startServers(80, 2);
  d.startServers(54, 2);
  await d.startHarness(true, '', backend);
  t.equal(d.backend, backend, `the ${backend} path is running${d.backend !== backend ? `: ${d.stderr.slice(-600)}` : ''}`);
  await d.call('setServices', [
    service({ port: 80, dests: dests(2) }),
    service({ port: 82, dests: [] }),
    service({ port: 54, protocol: 'udp', scheduler: 'rr', dests: dests(2, 54) }),
  ]);
  await d.waitForMacs();
  const N = 4_000_000;

  await t.test('path MTU: fragmentation needed reaches the real server, a 4 MB transfer completes', async (t) => {
    if (backend === 'afpacket') {
      // Control: the router's ICMP is dropped on the switch before the director sees it, as the director's kernel
      // used to eat it. The servers never learn the path MTU: the transfer stalls.
      d.sh('sw', `nft -f - <<'E'
table bridge ddctl {
  chain ctl {
    type filter hook forward priority 0; policy accept;
    ip protocol icmp drop
  }
}
E`);
      const ctl = (await run(d, 'far', DOWN_JS, [VIP, '80', String(N), '6000'])) as { bytes: number; end: string };
      t.ok(ctl.bytes < N && ctl.end === 'timeout', `control, ICMP kept from the director: stalls at ${ctl.bytes} of ${N} bytes (${ctl.end})`);
      d.sh('sw', 'nft delete table bridge ddctl');
      // The control's connection taught nobody anything: no server holds a path MTU for far.
      for (const h of ['rs1', 'rs2']) t.notMatch(d.sh(h, `ip route get ${FAR} from ${VIP}`), /mtu 1280/, `${h} has no path MTU for far yet`);
    }
    const before = (await d.call<Stats>('stats')).icmpRelayed ?? 0;
    const r = (await run(d, 'far', DOWN_JS, [VIP, '80', String(N), '60000'])) as { bytes: number; end: string };
    t.same(r, { bytes: N, end: 'end' }, 'the whole transfer arrives');
    const st = await d.call<Stats>('stats');
    t.ok((st.icmpRelayed ?? 0) > before, `the director relayed fragmentation needed (${(st.icmpRelayed ?? 0) - before})`);
    const pmtu = ['rs1', 'rs2'].map((h) => d.sh(h, `ip route get ${FAR} from ${VIP}`)).join('');
    t.match(pmtu, /mtu 1280/, 'the serving real server learnt the path MTU');
  });

  await t.test('no destination: ICMP port unreachable, the client sees connection refused', async (t) => {
    const far = (await run(d, 'far', DOWN_JS, [VIP, '82', '10', '5000'])) as { end: string };
    t.equal(far.end, 'error:ECONNREFUSED', 'through the router: refused, not a timeout');
    t.same(await d.clients(82, 'tcp', ['10.61.1.1'], 'name', 5000), ['error:ECONNREFUSED'], 'on the LAN: refused');
    const st = await d.call<Stats>('stats');
    t.ok((st.icmpUnreachSent ?? 0) >= 2, `port unreachables sent: ${st.icmpUnreachSent}`);
    t.ok((st.drops.no_dest ?? 0) >= 2, `counted as no_dest: ${st.drops.no_dest}`);
  });

  await t.test('other ICMP to the VIP stays the kernel\'s: the director answers ping', async (t) => {
    const r = await d.lab.exec('cli', ['ping', '-c', '1', '-W', '3', VIP], { timeoutMs: 10000 });
    t.equal(r.code, 0, `ping ${VIP} answered${r.code ? `: ${r.stdout}${r.stderr}` : ''}`);
  });

  await t.test('fragments: UDP datagrams of 4000 bytes through the VIP reach one server whole', async (t) => {
    const before = (await d.call<Stats>('stats')).fragments ?? 0;
    const got = (await run(d, 'cli', BIG_UDP_JS, [VIP, '54', '4000', '6'])) as string[];
    t.ok(got.every((r) => /^rs[12] 4000$/.test(r)), `every datagram reassembled by its server: ${got.join(', ')}`);
    t.equal(new Set(got).size, 2, 'spread over both servers (rr), each datagram whole on one');
    const st = await d.call<Stats>('stats');
    t.equal((st.fragments ?? 0) - before, 12, 'two later fragments per datagram followed the first');
  });
});
