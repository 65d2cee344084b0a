// 802.1Q as a fixture table, frame in -> frame out (or drop reason), through dd_forward_frame, the step every packet
// loop runs: the tag inline (AF_XDP, or a tap before the untag) or in the receive path's metadata (AF_PACKET's
// tp_vlan_tci), on the configured VLAN, another VLAN, untagged, QinQ.
import t from 'tap';
import { NativeTable } from '../../src/dataplane/native';
import { frame, type FrameSpec } from './frames';

const OUR = '02:61:00:00:00:02';
const RS1 = '02:61:00:00:00:11';
const mac = (b: Buffer, at = 0): string => [...b.subarray(at, at + 6)].map((x) => x.toString(16).padStart(2, '0')).join(':');
const q = (tci: number) => ({ tpid: 0x8100, tci });

function table(vlan: number): NativeTable {
  const tab = new NativeTable(1024);
  tab.setVlan(vlan);
  tab.setServices([
    { vip: '10.61.0.100', port: 80, protocol: 'tcp', fwmark: 0, scheduler: 'rr', persistent: 0, pmask: '255.255.255.255', expireQuiescentTemplate: false, expireNodestConn: false, dests: [{ address: '10.61.0.11', port: 0, weight: 1, mac: RS1 }] },
    { vip: '10.61.0.100', port: 53, protocol: 'udp', fwmark: 0, scheduler: 'rr', persistent: 0, pmask: '255.255.255.255', expireQuiescentTemplate: false, expireNodestConn: false, dests: [] },
  ]);
  return tab;
}

type Tag = { tci: number } | 'other' | undefined;
interface Row {
  name: string;
  vlan: number; // configured
  input: FrameSpec; // the frame as the loop reads it
  meta?: Tag; // the tag in the ring header
  // expected: the frame's tag inline on the way out (TCI), 'none' for an untagged frame out, or a drop reason
  out: { tci: number } | 'none' | { drop: string };
}

const rows: Row[] = [
  { name: 'untagged on untagged', vlan: 0, input: {}, out: 'none' },
  { name: 'tag inline, our VLAN', vlan: 100, input: { tags: [q(100)] }, out: { tci: 100 } },
  { name: 'tag in metadata, our VLAN: put back inline', vlan: 100, input: {}, meta: { tci: 100 }, out: { tci: 100 } },
  { name: 'priority bits kept (PCP 5, inline)', vlan: 100, input: { tags: [q((5 << 13) | 100)] }, out: { tci: (5 << 13) | 100 } },
  { name: 'priority bits kept (PCP 5, metadata)', vlan: 100, input: {}, meta: { tci: (5 << 13) | 100 }, out: { tci: (5 << 13) | 100 } },
  { name: 'another VLAN, inline', vlan: 100, input: { tags: [q(200)] }, out: { drop: 'vlan' } },
  { name: 'another VLAN, metadata', vlan: 100, input: {}, meta: { tci: 200 }, out: { drop: 'vlan' } },
  { name: 'untagged on a VLAN', vlan: 100, input: {}, out: { drop: 'vlan' } },
  { name: 'tagged on untagged, metadata (was forwarded untagged: leaked VLAN 200 onto the native one)', vlan: 0, input: {}, meta: { tci: 200 }, out: { drop: 'vlan' } },
  { name: 'tagged on untagged, inline', vlan: 0, input: { tags: [q(200)] }, out: { drop: 'vlan' } },
  { name: 'priority tag (VLAN 0) is untagged, inline', vlan: 0, input: { tags: [q(3 << 13)] }, out: { tci: 3 << 13 } },
  { name: 'QinQ 802.1ad outer + our inner, inline: refused', vlan: 100, input: { tags: [{ tpid: 0x88a8, tci: 7 }, q(100)] }, out: { drop: 'vlan' } },
  { name: 'QinQ outer in metadata (tpid 0x88a8): refused', vlan: 100, input: { tags: [q(100)] }, meta: 'other', out: { drop: 'vlan' } },
  { name: 'two 802.1Q tags (outer in metadata): refused', vlan: 100, input: { tags: [q(100)] }, meta: { tci: 100 }, out: { drop: 'vlan' } },
  { name: 'two 802.1Q tags inline: refused', vlan: 100, input: { tags: [q(100), q(100)] }, out: { drop: 'vlan' } },
  { name: '802.1ad alone: refused', vlan: 100, input: { tags: [{ tpid: 0x88a8, tci: 100 }] }, out: { drop: 'vlan' } },
  { name: 'our VLAN, not IPv4 (ARP)', vlan: 100, input: { tags: [q(100)], ethertype: 0x0806 }, out: { drop: 'not_ipv4' } },
  { name: 'our VLAN, no service', vlan: 100, input: { tags: [q(100)], dport: 81 }, out: { drop: 'no_service' } },
  { name: 'our VLAN, IP options, inline', vlan: 100, input: { tags: [q(100)], ipOptions: 3 }, out: { tci: 100 } },
];

for (const r of rows) {
  t.test(r.name, async (t) => {
    const tab = table(r.vlan);
    const input = frame(r.input);
    const got = tab.forwardFrame(input, 1000, OUR, r.meta);
    if (typeof r.out === 'object' && 'drop' in r.out) {
      t.same([got.action, got.verdict], ['drop', r.out.drop]);
      return;
    }
    t.equal(got.action, 'forward', `forwarded (${got.verdict})`);
    const out = got.frame!;
    t.equal(mac(out), RS1, 'to the real server');
    t.equal(mac(out, 6), OUR, 'from us');
    const inner = input.subarray(12 + 4 * (r.input.tags?.length ?? 0));
    if (r.out === 'none') {
      t.same(out.subarray(12), inner, 'untagged, nothing else changed');
    } else {
      const o = r.out as { tci: number };
      t.same([out.readUInt16BE(12), out.readUInt16BE(14)], [0x8100, o.tci], 'the tag, TCI unchanged');
      t.same(out.subarray(16), inner, 'nothing else changed');
    }
  });
}

t.test('a port unreachable for no destination goes back on the VLAN, tag inline', async (t) => {
  for (const meta of [undefined, { tci: 100 }] as Tag[]) {
    const tab = table(100);
    const input = frame({ proto: 17, dport: 53, ...(meta ? {} : { tags: [q(100)] }) });
    const got = tab.forwardFrame(input, 1000, OUR, meta);
    t.equal(got.action, 'reply', `replied (${meta ? 'metadata' : 'inline'})`);
    const out = got.frame!;
    t.same([out.readUInt16BE(12), out.readUInt16BE(14), out.readUInt16BE(16)], [0x8100, 100, 0x0800], 'tagged with our VLAN');
    t.equal(mac(out), '02:61:00:00:01:01', 'to the sender');
    const ip = out.subarray(18);
    t.same([ip[9], ip[20], ip[21]], [1, 3, 3], 'ICMP port unreachable');
    t.equal(ip.readUInt16BE(2), ip.length, 'IP total length without the tag');
    t.same(ip.subarray(28, 28 + 28), input.subarray(input.length - 28), 'quotes the datagram (its IP header + 8)');
  }
});

t.test('setVlan checks its range (E_DATAPLANE_VLAN)', async (t) => {
  const tab = new NativeTable(1024);
  for (const bad of [-1, 4095, 1.5, NaN]) t.throws(() => tab.setVlan(bad), { code: 'E_DATAPLANE_VLAN' }, String(bad));
  t.doesNotThrow(() => tab.setVlan(4094));
  t.throws(() => tab.forwardFrame(frame(), 1000, OUR, { tci: 0x10000 }), { code: 'E_DATAPLANE_VLAN' });
});
