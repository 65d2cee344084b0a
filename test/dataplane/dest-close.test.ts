// A dest that closes its connections (DestSpec.closeConns, writer_demote = close): at the client's next segment the
// entry is deleted and the client gets a TCP RST from VIP:port (RFC 793 seq/ack, checksums), in the native table, in
// the packet loops' step (dd_forward_frame) and in the reference model alike.
import t from 'tap';
import { NativeTable, type PacketSummary } from '../../src/dataplane/native';
import type { ServiceSpec } from '../../src/dataplane/types';
import { ConnTableModel, tcpFlagsOf } from '../../src/scheduler';
import { frame, inetChecksum } from './frames';

const VIP = '10.61.0.100';
const OUR = '02:61:00:00:00:02';
const SYN = 0x02, ACK = 0x10, FIN = 0x01, RST = 0x04, PSH = 0x08;
const d1 = { address: '10.61.0.11', port: 3306, weight: 1, mac: '02:61:00:00:00:11' };
const d2 = { address: '10.61.0.12', port: 3306, weight: 0, mac: '02:61:00:00:00:12' };
const svc = (over: Partial<ServiceSpec> = {}): ServiceSpec => ({ vip: VIP, port: 3306, protocol: 'tcp', fwmark: 0, scheduler: 'wlc', persistent: 0,
  pmask: '255.255.255.255', expireQuiescentTemplate: false, expireNodestConn: false, dests: [d1, d2], ...over });
/** The writer switch as the pool writes it: the old writer at weight 0, failed, and (close) closing its connections. */
const demoted = (close: boolean, over: Partial<ServiceSpec> = {}): ServiceSpec =>
  svc({ dests: [{ ...d1, weight: 0, failed: true, ...(close ? { closeConns: true } : {}) }, { ...d2, weight: 1 }], ...over });
const pkt = (sport: number, flags: number, protocol: 'tcp' | 'udp' = 'tcp'): PacketSummary =>
  ({ saddr: '10.61.1.1', sport, daddr: VIP, dport: 3306, protocol, flags: tcpFlagsOf(flags), len: 60 });
const last = (d: { dest?: { address: string } }): string => (d.dest ? d.dest.address.split('.')[3] : '-');

/** A client segment with sequence and acknowledgment numbers and `payload` bytes of data. */
function seg(o: { sport: number; flags: number; seq: number; ack: number; payload?: number; vlan?: boolean; src?: string }): Buffer {
  const f = frame({ src: o.src ?? '10.61.1.1', sport: o.sport, dport: 3306, flags: o.flags, payload: o.payload ?? 0, vlan: o.vlan });
  const l4 = (o.vlan ? 18 : 14) + 20;
  f.writeUInt32BE(o.seq >>> 0, l4 + 4);
  f.writeUInt32BE(o.ack >>> 0, l4 + 8);
  return f;
}

t.test('native table: the next segment of a connection to a closing dest deletes it (dest_closed); leave keeps it', async (t) => {
  for (const close of [true, false]) {
    const tab = new NativeTable(1024);
    tab.setServices([svc()]);
    tab.processPacket(pkt(1, SYN), 0);
    tab.processPacket(pkt(1, ACK), 1);
    tab.setServices([demoted(close)]);
    t.equal(tab.connections(10, 2).length, 1, `close=${close}: the switch itself changes no entry`);
    const d = tab.processPacket(pkt(1, ACK | PSH), 10);
    if (close) {
      t.same([d.verdict, last(d)], ['dest_closed', '11'], 'the segment is not forwarded; the decision names the closing dest');
      t.same(tab.connections(10, 10), [], 'its entry is gone');
      t.same(tab.destStats().map((s) => [s.address, s.activeConns, s.inactConns]), [['10.61.0.11', 0, 0], ['10.61.0.12', 0, 0]], 'counters released');
      t.equal(tab.counters().verdicts.dest_closed, 1, 'counted as dest_closed');
      t.equal(tab.processPacket(pkt(1, ACK), 11).verdict, 'no_conn', 'a later segment finds no entry');
      t.same([tab.processPacket(pkt(1, SYN), 12).verdict, last(tab.processPacket(pkt(1, ACK), 13))], ['forward', '12'], 'the client reconnects to the new writer');
    } else {
      t.same([d.verdict, last(d), d.state], ['forward', '11', 'ESTABLISHED'], 'leave: it goes on to the old writer');
    }
  }
});

t.test('native table: SYN on a closing entry is scheduled anew, UDP is rescheduled, a quiesced dest is left alone', async (t) => {
  const tab = new NativeTable(1024);
  tab.setServices([svc(), svc({ protocol: 'udp' })]);
  tab.processPacket(pkt(1, SYN), 0);
  tab.processPacket(pkt(2, 0, 'udp'), 0);
  tab.processPacket(pkt(3, SYN), 0);
  tab.setServices([demoted(true), demoted(true, { protocol: 'udp' })]);
  const s = tab.processPacket(pkt(1, SYN), 10);
  t.same([s.verdict, last(s), s.created], ['forward', '12', true], 'a SYN reusing the port goes to the new writer');
  const u = tab.processPacket(pkt(2, 0, 'udp'), 10);
  t.same([u.verdict, last(u), u.created], ['forward', '12', true], 'UDP has no reset: scheduled anew');
  t.equal(tab.processPacket(pkt(3, RST), 10).verdict, 'dest_closed', "the client's own RST deletes the entry too");
  t.same(tab.connections(10, 10).map((c) => [c.protocol, c.cport, c.daddr]).sort(), [['tcp', 1, '10.61.0.12'], ['udp', 2, '10.61.0.12']]);
  // An operator's weight 0 without the flag (quiesce) keeps connections, as IPVS does.
  const q = new NativeTable(1024);
  q.setServices([svc()]);
  q.processPacket(pkt(1, SYN), 0);
  q.setServices([svc({ dests: [{ ...d1, weight: 0 }, { ...d2, weight: 1 }] })]);
  t.equal(q.processPacket(pkt(1, ACK), 1).verdict, 'forward');
});

t.test('the packet loops answer with a well-formed RST from VIP:port (seq = the segment\'s ack)', async (t) => {
  const tab = new NativeTable(1024);
  tab.setServices([svc()]);
  t.equal(tab.forwardFrame(seg({ sport: 40000, flags: SYN, seq: 1000, ack: 0 }), 0, OUR).action, 'forward');
  t.equal(tab.forwardFrame(seg({ sport: 40000, flags: ACK, seq: 1001, ack: 0xfffffff0 }), 1, OUR).action, 'forward');
  t.equal(tab.forwardFrame(seg({ sport: 40001, flags: SYN, seq: 5, ack: 0 }), 1, OUR).action, 'forward');
  tab.setServices([demoted(true)]);
  const input = seg({ sport: 40000, flags: ACK | PSH, seq: 1001, ack: 0xfffffff0, payload: 33 });
  const r = tab.forwardFrame(input, 10, OUR);
  t.same([r.action, r.verdict], ['reply', 'dest_closed']);
  const f = r.frame!;
  t.equal(f.length, 14 + 20 + 20, 'Ethernet + IP + TCP, no payload');
  t.same([...f.subarray(0, 6)], [...input.subarray(6, 12)], "to the frame's sender (the router)");
  t.same([...f.subarray(6, 12)], [2, 0x61, 0, 0, 0, 2], 'from our MAC');
  t.equal(f.readUInt16BE(12), 0x0800);
  const ip = f.subarray(14, 34), tcp = f.subarray(34, 54);
  t.same([ip[0], ip.readUInt16BE(2), ip[8], ip[9]], [0x45, 40, 64, 6], 'IPv4, 40 bytes, TTL 64, TCP');
  t.equal(inetChecksum(ip), 0, 'IP header checksum valid');
  t.same([[...ip.subarray(12, 16)].join('.'), [...ip.subarray(16, 20)].join('.')], [VIP, '10.61.1.1'], 'from the VIP to the client');
  t.same([tcp.readUInt16BE(0), tcp.readUInt16BE(2)], [3306, 40000], 'from the VIP port to the client port');
  t.equal(tcp.readUInt32BE(4), 0xfffffff0, "seq = the segment's ack number");
  t.same([tcp[12] >> 4, tcp[13]], [5, RST], 'RST only (the segment had an ACK)');
  const pseudo = Buffer.concat([ip.subarray(12, 20), Buffer.from([0, 6, 0, 20]), tcp]);
  t.equal(inetChecksum(pseudo), 0, 'TCP checksum valid (with the pseudo header)');
  t.same(tab.connections(10, 10).map((c) => c.cport), [40001], 'the entry is gone');
  t.equal(tab.counters().counters.resetsSent, 1, 'counted in resetsSent');

  // Without ACK (RFC 793): seq 0, RST|ACK acking the segment: its data, FIN and SYN count.
  const fin = tab.forwardFrame(seg({ sport: 40001, flags: FIN, seq: 7, ack: 0, payload: 10 }), 11, OUR).frame!;
  t.same([fin.subarray(34).readUInt32BE(4), fin.subarray(34).readUInt32BE(8), fin[34 + 13]], [0, 7 + 10 + 1, RST | ACK]);
  t.equal(inetChecksum(Buffer.concat([fin.subarray(26, 34), Buffer.from([0, 6, 0, 20]), fin.subarray(34)])), 0, 'TCP checksum valid');
  t.equal(tab.counters().counters.resetsSent, 2);
});

t.test('no RST for a RST, and on a VLAN the RST goes back tagged', async (t) => {
  const tab = new NativeTable(1024);
  tab.setServices([svc()]);
  tab.forwardFrame(seg({ sport: 40000, flags: SYN, seq: 1, ack: 0 }), 0, OUR);
  tab.setServices([demoted(true)]);
  const r = tab.forwardFrame(seg({ sport: 40000, flags: RST | ACK, seq: 2, ack: 9 }), 1, OUR);
  t.same([r.action, r.verdict, tab.connections(10, 1).length, tab.counters().counters.resetsSent], ['drop', 'dest_closed', 0, 0]);

  const v = new NativeTable(1024);
  v.setVlan(5);
  v.setServices([svc()]);
  t.equal(v.forwardFrame(seg({ sport: 40000, flags: SYN, seq: 1, ack: 0, vlan: true }), 0, OUR).action, 'forward');
  v.setServices([demoted(true)]);
  const f = v.forwardFrame(seg({ sport: 40000, flags: ACK, seq: 2, ack: 77, vlan: true }), 1, OUR).frame!;
  t.same([f.length, f.readUInt16BE(12), f.readUInt16BE(14) & 0xfff, f.readUInt16BE(16)], [58, 0x8100, 5, 0x0800], 'tagged with our VLAN');
  t.equal(f.subarray(38).readUInt32BE(4), 77);
  t.equal(inetChecksum(Buffer.concat([f.subarray(30, 38), Buffer.from([0, 6, 0, 20]), f.subarray(38)])), 0, 'TCP checksum valid');
});

t.test('the reference model decides the same (differential)', async (t) => {
  const tab = new NativeTable(1024);
  const m = new ConnTableModel({ requireMac: true });
  const both = (s: ServiceSpec[]): void => { tab.setServices(s); m.setServices(s); };
  both([svc(), svc({ protocol: 'udp' })]);
  const seq: [number, number, 'tcp' | 'udp'][] = [[1, SYN, 'tcp'], [1, ACK, 'tcp'], [2, SYN, 'tcp'], [3, 0, 'udp'], [4, SYN, 'tcp']];
  for (const [p, f, proto] of seq) { tab.processPacket(pkt(p, f, proto), 0); m.process(pkt(p, f, proto), 0); }
  both([demoted(true), demoted(true, { protocol: 'udp' })]);
  const after: [number, number, 'tcp' | 'udp'][] = [[1, ACK, 'tcp'], [1, ACK, 'tcp'], [2, SYN, 'tcp'], [3, 0, 'udp'], [4, RST, 'tcp'], [5, SYN, 'tcp']];
  for (const [p, f, proto] of after) {
    const n = tab.processPacket(pkt(p, f, proto), 10), d = m.process(pkt(p, f, proto), 10);
    const nv = n.verdict === 'no_conn' ? 'pass' : n.verdict;
    const mv = d.verdict === 'drop' ? d.reason : d.verdict;
    t.same([nv, n.verdict === 'forward' ? last(n) : '-'], [mv, d.verdict === 'forward' ? last(d) : '-'], `${proto} ${p} flags ${f}`);
  }
  const key = (c: { protocol: string; cport: number; daddr: string; state: string }) => `${c.protocol}/${c.cport}/${c.daddr}/${c.state}`;
  t.same(tab.connections(100, 10).map(key).sort(), m.connections(10).map(key).sort(), 'same entries');
  t.same(tab.destStats().map((s) => [s.activeConns, s.inactConns]), m.stats().flatMap((v) => v.dests).map((s) => [s.activeConns, s.inactConns]), 'same counters');
});
