// 802.1Q end to end on real frames, both backends: the director serves VLAN 100 on its eth0 (lvs.cf eth0.100:1).
// The client injects tagged TCP SYNs to the VIP with a raw socket (this kernel has no 8021q, so no VLAN device can
// exist: a full TCP session over a VLAN is not possible here, docs/dataplane.md). The real servers' captures must
// show each VLAN-100 SYN with the director's MAC rewrite and the tag 100 kept; VLAN 200, QinQ and untagged SYNs
// must not arrive (VLAN 200 counted `vlan`).
import t from 'tap';
import { labAvailable } from '../lab/lab';
import { DataPlaneLab, DIR_MAC, PY_RAW_SOCKET, VIP, dests, rsMac, service } from './dplab';

const skip = !labAvailable() && 'needs root and ip netns';
const N = 5;

// Sends N TCP SYNs to VIP:80 for each spec "SPORT0:TAGS" (TAGS: "-" none, or TPID/TCI pairs "8100/100,..."),
// sports SPORT0..SPORT0+N-1, from the client's eth0 with an AF_PACKET raw socket (tags inline on the wire).
const SEND_PY = `
import socket, struct, sys
dst_mac, src_mac, src, vip, n = bytes.fromhex(sys.argv[1].replace(':', '')), bytes.fromhex(sys.argv[2].replace(':', '')), socket.inet_aton(sys.argv[3]), socket.inet_aton(sys.argv[4]), int(sys.argv[5])
${PY_RAW_SOCKET}
for spec in sys.argv[6:]:
    sport0, tags = spec.split(':')
    l2 = b''.join(struct.pack('!HH', int(p, 16), int(c)) for p, c in (x.split('/') for x in tags.split(','))) if tags != '-' else b''
    for i in range(n):
        sport = int(sport0) + i
        tcp = struct.pack('!HHIIBBHHH', sport, 80, 1000 + i, 0, 0x50, 0x02, 65535, 0, 0)
        tcp = tcp[:16] + struct.pack('!H', csum(src + vip + struct.pack('!BBH', 0, 6, 20) + tcp)) + tcp[18:]
        ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 40, sport, 0x4000, 64, 6, 0, src, vip)
        ip = ip[:10] + struct.pack('!H', csum(ip)) + ip[12:]
        s.send(dst_mac + src_mac + l2 + b'\\x08\\x00' + ip + tcp)
`;

interface Seen { host: string; dst: string; src: string; tags: number[]; sport: number; vip: string }

/** The TCP-to-VIP:80 frames of a capture: MACs, the tags as captured (libpcap puts a stripped tag back inline). */
function parse(host: string, frames: string[]): Seen[] {
  const out: Seen[] = [];
  for (const hex of frames) {
    const b = Buffer.from(hex, 'hex');
    const tags: number[] = [];
    let o = 12;
    while (o + 4 <= b.length && [0x8100, 0x88a8].includes(b.readUInt16BE(o))) {
      tags.push(b.readUInt16BE(o + 2));
      o += 4;
    }
    if (b.length < o + 2 + 24 || b.readUInt16BE(o) !== 0x0800) continue;
    const ip = b.subarray(o + 2);
    if (ip[9] !== 6 || ip.readUInt16BE(22) !== 80) continue;
    const mac = (at: number) => [...b.subarray(at, at + 6)].map((x) => x.toString(16).padStart(2, '0')).join(':');
    out.push({ host, dst: mac(0), src: mac(6), tags, sport: ip.readUInt16BE(20), vip: [...ip.subarray(16, 20)].join('.') });
  }
  return out;
}

const range = (a: number) => Array.from({ length: N }, (_, i) => a + i);

for (const backend of ['afpacket', 'afxdp'] as const) t.test(`802.1Q VLAN 100 on the director's eth0 (${backend})`, { skip }, async (t) => {
  const d = await DataPlaneLab.create(2);
  t.teardown(() => d.destroy());
  // AF_XDP: the switch's port to the director puts tags back inline (no tx-vlan offload), as a NIC without rx-vlan
  // offload delivers them, so the XDP program sees them; with the offload (AF_PACKET run) they reach the director's
  // veth in metadata only, which the AF_PACKET path reads from the ring header.
  // The 802.1ad outer tag of a QinQ frame too: an outer tag taken out before XDP would leave it the inner tag to
  // match (docs/dataplane.md: rx-vlan-stag-hw-parse off with AF_XDP on a VLAN).
  if (backend === 'afxdp') d.sh('sw', `ethtool -K ${d.lab.switchPort('dir')} txvlan off tx-vlan-stag-hw-insert off`);
  await d.startHarness(true, '', backend, '', '', 0, 1 << 16, 100);
  t.equal(d.backend, backend, `the ${backend} path is running${d.backend !== backend ? `: ${d.stderr.slice(-600)}` : ''}`);
  await d.call('setServices', [service({ port: 80, scheduler: 'rr', dests: dests(2) })]);
  await d.waitForMacs();
  const xdpRedirects = () => Number(/xdp_redirect:\s*(\d+)/.exec(d.sh('dir', 'ethtool -S eth0'))?.[1] ?? 0);
  const redirectsBefore = backend === 'afxdp' ? xdpRedirects() : 0;

  const dircap = process.env.DD_VLAN_DEBUG ? d.lab.exec('dir', ['timeout', '4', 'tcpdump', '-c', '100', '-nei', 'eth0', 'tcp'], { timeoutMs: 10000 }).then((r) => r.stdout + r.stderr) : '';
  const opened = ['rs1', 'rs2'].map((h) => d.capture(h, `ether src ${DIR_MAC}`, 4000));
  await Promise.all(opened.map((c) => c.ready));
  const caps = opened.map((c, i) => c.then((f) => parse(`rs${i + 1}`, f)));
  const send = await d.lab.exec('cli', ['python3', '-c', SEND_PY, DIR_MAC, '02:61:00:00:01:01', '10.61.1.1', VIP, String(N),
    ...(process.env.DD_VLAN_SPECS ? process.env.DD_VLAN_SPECS.split(' ') : ['41000:8100/100', '41100:8100/41060', '42000:8100/200', '43000:-', '44000:88a8/7,8100/100'])], { timeoutMs: 10000 });
  t.equal(send.code, 0, `frames sent ${send.stderr}`);
  const seen = (await Promise.all(caps)).flat();

  const ours = seen.filter((s) => s.sport >= 41000 && s.sport < 41200);
  t.same(ours.map((s) => s.sport).sort((a, b) => a - b), [...range(41000), ...range(41100)], 'every VLAN-100 SYN reached one real server, once');
  for (const s of ours) {
    const want = s.sport >= 41100 ? 41060 : 100; // 41060 = PCP 5, VLAN 100: the priority bits are kept too
    t.same(s.tags, [want], `${s.sport}: tagged ${want & 0xfff} (TCI ${want}) on the way out`);
    t.equal(s.src, DIR_MAC, `${s.sport}: from the director`);
    t.equal(s.dst, s.host === 'rs1' ? rsMac(1) : rsMac(2), `${s.sport}: to the MAC of the server that got it`);
    t.equal(s.vip, VIP, `${s.sport}: still to the VIP`);
  }
  t.ok(ours.some((s) => s.host === 'rs1') && ours.some((s) => s.host === 'rs2'), 'round robin over both servers');
  t.same(seen.filter((s) => s.sport >= 42000).map((s) => `${s.sport} ${s.tags}`), [], 'no VLAN-200, untagged or QinQ SYN forwarded');

  const st = await d.call<{ drops: Record<string, number> }>('stats');
  if (process.env.DD_VLAN_DEBUG) t.comment(JSON.stringify({ st: { ...st, services: undefined }, dircap: await dircap, seen: seen.map((s) => `${s.host} ${s.sport} ${s.tags}`) }));
  // QinQ and untagged frames are refused before the loop: the capture filter wants one tag, then IPv4.
  t.equal(st.drops.vlan, N, 'VLAN 200 counted `vlan`');
  if (backend === 'afxdp') t.ok(xdpRedirects() - redirectsBefore >= 2 * N, `the XDP program sent the VLAN-100 SYNs to the socket (${xdpRedirects() - redirectsBefore} redirects)`);
  if (backend === 'afxdp') t.ok(xdpRedirects() - redirectsBefore < 3 * N, 'and no other SYNs');
});
