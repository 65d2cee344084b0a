// Packet-level correctness as fixture tables, frame in -> frame out (or drop reason), through dd_forward_frame, the
// step every packet loop runs: ICMP errors about VIP flows relayed to the flow's real server, ICMP port unreachable
// for a service without an available server (rate-limited), fragments following their first fragment.
import t, { type Test } from 'tap';
import { NativeTable } from '../../src/dataplane/native';
import type { ServiceSpec } from '../../src/dataplane/types';
import { frame, icmpError, inetChecksum, type FrameSpec } from './frames';

const OUR = '02:61:00:00:00:02';
const RS1 = '02:61:00:00:00:11';
const RS2 = '02:61:00:00:00:12';
const mac = (b: Buffer, at = 0): string => [...b.subarray(at, at + 6)].map((x) => x.toString(16).padStart(2, '0')).join(':');

function svc(o: Partial<ServiceSpec> & Pick<ServiceSpec, 'port' | 'dests'>): ServiceSpec {
  return { vip: '10.61.0.100', protocol: 'tcp', fwmark: 0, scheduler: 'rr', persistent: 0, pmask: '255.255.255.255', expireQuiescentTemplate: false, expireNodestConn: false, ...o };
}

function table(): NativeTable {
  const tab = new NativeTable(1024);
  const two = [{ address: '10.61.0.11', port: 0, weight: 1, mac: RS1 }, { address: '10.61.0.12', port: 0, weight: 1, mac: RS2 }];
  tab.setServices([
    svc({ port: 80, dests: two }),
    svc({ port: 81, persistent: 60, pmask: '255.255.255.0', dests: two }),
    svc({ port: 53, protocol: 'udp', dests: [{ address: '10.61.0.11', port: 0, weight: 0, mac: RS1 }] }), // quiesced: no dest
    svc({ port: 82, dests: [] }),
    svc({ port: 54, protocol: 'udp', dests: two }),
  ]);
  return tab;
}

/** The IP packet of a frame (what an ICMP error quotes). */
const ipOf = (f: Buffer): Buffer => f.subarray(14);
/** The real server's reply as the router saw it: VIP:vport -> client:cport (only the quoted part matters). */
const reply = (o: FrameSpec): Buffer => ipOf(frame({ src: '10.61.0.100', flags: 0x10, ...o }));

/** A forwarded frame is the input with only the MACs changed: to `dstMac`, from us. */
function forwardedAs(t: Test, got: ReturnType<NativeTable['forwardFrame']>, input: Buffer, dstMac: string, what: string): void {
  t.equal(got.action, 'forward', `${what}: forwarded (${got.verdict})`);
  if (!got.frame) return;
  t.equal(mac(got.frame), dstMac, `${what}: to the real server's MAC`);
  t.equal(mac(got.frame, 6), OUR, `${what}: from ours`);
  t.same(got.frame.subarray(12), input.subarray(12), `${what}: nothing else changed`);
}

t.test('ICMP errors about a VIP flow go, unchanged but for the MACs, to the flow\'s real server', async (t) => {
  const tab = table();
  const syn = frame({ src: '10.61.1.1', sport: 40000, dport: 80 });
  const first = tab.forwardFrame(syn, 1000, OUR);
  t.equal(first.action, 'forward');
  const owner = mac(first.frame!);
  const other = owner === RS1 ? RS2 : RS1;
  // A second connection lands on the other server (rr): the relay must pick by flow, not by service.
  t.equal(mac(tab.forwardFrame(frame({ src: '10.61.1.1', sport: 40001, dport: 80 }), 1000, OUR).frame!), other);
  const about = reply({ sport: 80, dst: '10.61.1.1', dport: 40000 });
  const cases: [string, Buffer, string, string][] = [
    ['fragmentation needed (3/4)', icmpError({ type: 3, code: 4, quoted: about }), 'forward', owner],
    ['host unreachable (3/1)', icmpError({ type: 3, code: 1, quoted: about }), 'forward', owner],
    ['port unreachable (3/3)', icmpError({ type: 3, code: 3, quoted: about }), 'forward', owner],
    ['time exceeded (11/0)', icmpError({ type: 11, code: 0, quoted: about }), 'forward', owner],
    ['quoting the whole reply', icmpError({ type: 3, code: 4, quoted: reply({ sport: 80, dst: '10.61.1.1', dport: 40000, payload: 600 }), quoteBytes: 576 }), 'forward', owner],
    ['about the second connection', icmpError({ type: 3, code: 4, quoted: reply({ sport: 80, dst: '10.61.1.1', dport: 40001 }) }), 'forward', other],
    ['about a flow with no connection', icmpError({ type: 3, code: 4, quoted: reply({ sport: 80, dst: '10.61.1.1', dport: 40002 }) }), 'icmp_no_conn', ''],
    ['about the client\'s own packet (wrong way round)', icmpError({ type: 3, code: 4, quoted: ipOf(syn) }), 'icmp_no_conn', ''],
    ['about a port with no service', icmpError({ type: 3, code: 4, quoted: reply({ sport: 99, dst: '10.61.1.1', dport: 40000 }) }), 'icmp_no_conn', ''],
    ['echo request to the VIP: the kernel\'s', frame({ proto: 1, sport: 0x0800 }), 'no_service', ''],
    ['redirect: not relayed', icmpError({ type: 5, code: 1, quoted: about }), 'no_service', ''],
    ['quote cut inside the ports', icmpError({ type: 3, code: 4, quoted: about, quoteBytes: 23 }), 'truncated', ''],
    ['quote of a later fragment (no ports)', icmpError({ type: 3, code: 4, quoted: reply({ sport: 80, dst: '10.61.1.1', dport: 40000, fragOff: 0x0020 }) }), 'fragment', ''],
  ];
  for (const [what, input, want, to] of cases) {
    const got = tab.forwardFrame(input, 1001, OUR);
    if (want === 'forward') forwardedAs(t, got, input, to, what);
    else t.match(got, { action: 'drop', verdict: want }, `${what}: dropped as ${want}`);
  }
  const { counters, verdicts } = tab.counters();
  t.equal(counters.icmpRelayed, 6, 'relayed ICMP errors are counted');
  t.equal(verdicts.icmp_no_conn, 3, 'unmatched ones by reason');
  t.equal(counters.conns, 2, 'relaying creates no connection');
});

t.test('an ICMP error about a persistent client with no connection follows its template', async (t) => {
  const tab = table();
  const first = tab.forwardFrame(frame({ src: '10.61.1.1', sport: 40000, dport: 81 }), 1000, OUR);
  const owner = mac(first.frame!);
  // Another source port, even another client of the same /24: the template says which server.
  for (const [client, port] of [['10.61.1.1', 45555], ['10.61.1.77', 1234]] as const) {
    const input = icmpError({ type: 3, code: 4, quoted: reply({ sport: 81, dst: client, dport: port }) });
    forwardedAs(t, tab.forwardFrame(input, 1001, OUR), input, owner, `${client}:${port}`);
  }
  const outside = icmpError({ type: 3, code: 4, quoted: reply({ sport: 81, dst: '10.61.2.1', dport: 1234 }) });
  t.match(tab.forwardFrame(outside, 1001, OUR), { action: 'drop', verdict: 'icmp_no_conn' }, 'a client of another /24: no template');
  // Once the template and the connection expired, nothing is left to relay to.
  const later = icmpError({ type: 3, code: 4, quoted: reply({ sport: 81, dst: '10.61.1.1', dport: 45555 }) });
  t.match(tab.forwardFrame(later, 1000 + 16 * 60_000, OUR), { action: 'drop', verdict: 'icmp_no_conn' }, 'after expiry: icmp_no_conn');
});

t.test('no available real server: an ICMP port unreachable back to the sender, rate-limited', async (t) => {
  const tab = table();
  const cases: [string, Buffer][] = [
    ['UDP to a service whose only server is quiesced', frame({ proto: 17, dport: 53, payload: 30, srcMac: '02:61:00:00:00:01' })],
    ['TCP SYN to a service with no servers', frame({ dport: 82, ipOptions: 2 })],
  ];
  for (const [what, input] of cases) {
    const got = tab.forwardFrame(input, 1000, OUR);
    t.match(got, { action: 'reply', verdict: 'no_dest' }, `${what}: answered, counted as no_dest`);
    const r = got.frame!;
    const ihl = (input[14] & 15) * 4;
    t.equal(r.length, 14 + 20 + 8 + ihl + 8, `${what}: IP header + 8 bytes quoted`);
    t.equal(mac(r), mac(input, 6), 'back to the frame\'s sender (the router, or the client on the LAN)');
    t.equal(mac(r, 6), OUR, 'from us');
    t.equal(r.readUInt16BE(12), 0x0800);
    t.equal(r[14], 0x45, 'IPv4, no options');
    t.equal(r.readUInt16BE(16), r.length - 14, 'total length');
    t.equal(r[23], 1, 'ICMP');
    t.same(r.subarray(26, 30), input.subarray(30, 34), 'from the VIP');
    t.same(r.subarray(30, 34), input.subarray(26, 30), 'to the client');
    t.equal(inetChecksum(r.subarray(14, 34)), 0, 'IP checksum valid');
    t.equal(r[34], 3, 'destination unreachable');
    t.equal(r[35], 3, 'port unreachable');
    t.equal(inetChecksum(r.subarray(34)), 0, 'ICMP checksum valid');
    t.same(r.subarray(42), input.subarray(14, 14 + ihl + 8), 'quotes the offending header and 8 bytes');
  }
  t.match(tab.forwardFrame(frame({ proto: 17, dport: 53, src: '224.0.0.5' }), 1000, OUR), { action: 'drop', verdict: 'no_dest' }, 'never to a multicast source');
  t.match(tab.forwardFrame(frame({ proto: 17, dport: 53, src: '0.0.0.0' }), 1000, OUR), { action: 'drop', verdict: 'no_dest' }, 'nor to 0.0.0.0');
  // The bucket holds 50: a burst in one millisecond gets 50 answers in all, the rest is only counted.
  const actions = Array.from({ length: 60 }, (_, i) => tab.forwardFrame(frame({ proto: 17, dport: 53, sport: 1000 + i }), 1000, OUR).action);
  t.equal(actions.filter((a) => a === 'reply').length, 48, 'the burst: 50 answers in all (2 went above)');
  t.ok(actions.slice(48).every((a) => a === 'drop'), 'then silence');
  const c = tab.counters();
  t.equal(c.counters.icmpUnreachSent, 50);
  t.equal(c.counters.icmpUnreachLimited, 12);
  t.equal(c.verdicts.no_dest, 64, 'every one counted as no_dest');
  // 1000 a second: 5 ms buys 5 answers.
  const after = Array.from({ length: 8 }, (_, i) => tab.forwardFrame(frame({ proto: 17, dport: 53, sport: 2000 + i }), 1005, OUR).action);
  t.equal(after.filter((a) => a === 'reply').length, 5, '5 ms later: 5 more');
  t.equal(tab.forwardFrame(frame({ flags: 0x10, dport: 82 }), 1005, OUR).verdict, 'no_conn', 'a non-SYN with no connection stays silent (no_conn)');
});

t.test('fragments follow their first fragment\'s real server', async (t) => {
  const tab = table();
  const f = (o: FrameSpec): Buffer => frame({ proto: 17, dport: 54, src: '10.61.1.1', sport: 5000, ...o });
  const first = f({ fragOff: 0x2000, id: 0x1234, payload: 1472 });
  const got = tab.forwardFrame(first, 1000, OUR);
  forwardedAs(t, got, first, mac(got.frame ?? Buffer.alloc(6)), 'first fragment (ports present): scheduled');
  const owner = mac(got.frame!);
  // A later fragment's bytes at the "port" offset are payload: here they would name another port.
  const later = (o: FrameSpec): Buffer => f({ fragOff: 0x00b9, id: 0x1234, payload: 100, sport: 0xdead, dport: 0xbeef, ...o });
  const cases: [string, Buffer, number, string][] = [
    ['middle fragment (MF, offset 185)', later({ fragOff: 0x20b9 }), 1001, 'forward'],
    ['last fragment', later({}), 1002, 'forward'],
    ['another datagram (id)', later({ id: 0x1235 }), 1002, 'fragment'],
    ['another source', later({ src: '10.61.1.2' }), 1002, 'fragment'],
    ['another protocol (TCP)', later({ proto: 6 }), 1002, 'fragment'],
    ['after the 2 s timeout', later({}), 3001, 'fragment'],
  ];
  for (const [what, input, now, want] of cases) {
    const r = tab.forwardFrame(input, now, OUR);
    if (want === 'forward') forwardedAs(t, r, input, owner, what);
    else t.match(r, { action: 'drop', verdict: want }, `${what}: ${want}`);
  }
  t.equal(tab.counters().counters.fragments, 2, 'later fragments forwarded are counted');
  // The same client's next datagram goes to the same server by its connection: its fragments follow.
  const again = tab.forwardFrame(f({ fragOff: 0x2000, id: 0x2000, payload: 1472 }), 4000, OUR);
  t.equal(mac(again.frame!), owner, 'the flow\'s next datagram: same server');
  forwardedAs(t, tab.forwardFrame(later({ id: 0x2000 }), 4001, OUR), later({ id: 0x2000 }), owner, 'and its last fragment');
});
