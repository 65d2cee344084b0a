// The frame parser's verdicts as a fixture table, every truncation, then random frames through a table (the memory
// safety fuzz under ASan is frame-fuzz.test.ts).
import t from 'tap';
import { loadNative, NativeTable } from '../../src/dataplane/native';
import { frame, type FrameSpec } from './frames';

const native = loadNative();
const verdicts = native.layout().verdicts;
const parse = (b: Buffer): string => verdicts[native.parseFrame(b)];

const table: [string, Buffer, string][] = [
  ['plain TCP SYN', frame(), 'forward'],
  ['UDP', frame({ proto: 17, dport: 53 }), 'forward'],
  ['IP options are accepted (as IPVS does)', frame({ ipOptions: 3 }), 'forward'],
  ['empty', Buffer.alloc(0), 'truncated'],
  ['13 bytes', frame().subarray(0, 13), 'truncated'],
  ['IP header cut', frame().subarray(0, 30), 'truncated'],
  ['TCP header cut', frame().subarray(0, 14 + 20 + 10), 'truncated'],
  ['total length beyond the frame', (() => { const b = frame(); b.writeUInt16BE(200, 16); return b; })(), 'truncated'],
  ['ARP', frame({ ethertype: 0x0806 }), 'not_ipv4'],
  ['IPv6 ethertype', frame({ ethertype: 0x86dd }), 'not_ipv4'],
  ['802.1Q tagged', frame({ vlan: true }), 'vlan'],
  ['IHL 4', frame({ ihl: 4 }), 'bad_ihl'],
  ['IP version 6 in an IPv4 ethertype', frame({ version: 6 }), 'bad_ihl'],
  ['IHL beyond the total length', frame({ ihl: 15 }), 'bad_ihl'],
  ['TCP data offset 4', (() => { const b = frame(); b[14 + 20 + 12] = 4 << 4; return b; })(), 'bad_ihl'],
  ['first fragment (MF): ports present', frame({ fragOff: 0x2000 }), 'forward'],
  ['later fragment: matched by IP id', frame({ fragOff: 0x0010 }), 'forward'],
  ['later fragment of neither TCP nor UDP', frame({ fragOff: 0x0010, proto: 47 }), 'no_service'],
  ['ICMP that is not an error (type 0x9c here)', frame({ proto: 1 }), 'no_service'],
  ['GRE', frame({ proto: 47 }), 'no_service'],
];

for (const [name, buf, want] of table) t.equal(parse(buf), want, name);

t.test('frames through a table: non-TCP to a TCP service and fragments are counted by reason', async (t) => {
  const tab = new NativeTable(1024);
  tab.setServices([{ vip: '10.61.0.100', port: 80, protocol: 'tcp', fwmark: 0, scheduler: 'wlc', persistent: 0, pmask: '255.255.255.255',
    expireQuiescentTemplate: false, expireNodestConn: false, dests: [{ address: '10.61.0.11', port: 80, weight: 1, mac: '02:61:00:00:00:11' }] }]);
  const cases: [FrameSpec, string][] = [
    [{}, 'forward'],
    [{ proto: 17 }, 'no_service'],
    [{ fragOff: 0x0010 }, 'fragment'], // a later fragment whose first one was never seen
    [{ dport: 81 }, 'no_service'],
    [{ sport: 1, flags: 0x10 }, 'no_conn'],
    [{ sport: 2, flags: 0x06 }, 'no_conn'], // SYN+RST never schedules
  ];
  for (const [spec, want] of cases) t.equal(tab.processFrame(frame(spec), 1000).verdict, want, JSON.stringify(spec));
  const v = tab.counters().verdicts;
  t.equal(v.no_service, 2);
  t.equal(v.fragment, 1);
  t.equal(v.no_conn, 2);
});

// Each input is copied into its own exactly-sized allocation (Buffer.alloc is never pooled, unlike Buffer.from or
// subarray). Reads past the end are caught in C under ASan by frame-fuzz.test.ts; here the verdicts are checked.
const exact = (b: Buffer): Buffer => {
  const c = Buffer.alloc(b.length);
  b.copy(c);
  return c;
};

t.test('every truncation of a frame is truncated (tagged frames of another VLAN once the tag is there, non-IPv4 once the ethertype is)', async (t) => {
  const bases: [string, Buffer, string][] = [
    ['TCP SYN', frame(), 'forward'], ['UDP', frame({ proto: 17, dport: 53 }), 'forward'], ['IP options', frame({ ipOptions: 5 }), 'forward'],
    ['TCP with data', frame({ flags: 0x10, payload: 40 }), 'forward'], ['ICMP', frame({ proto: 1 }), 'no_service'],
    ['802.1Q', frame({ vlan: true }), 'vlan'], ['ARP', frame({ ethertype: 0x0806 }), 'not_ipv4'],
  ];
  for (const [name, b, whole] of bases) {
    t.equal(parse(exact(b)), whole, `${name}, whole`);
    const wrong: string[] = [];
    for (let len = 0; len < b.length; len++) {
      const want = len >= (whole === 'vlan' ? 18 : 14) && (whole === 'vlan' || whole === 'not_ipv4') ? whole : 'truncated';
      const got = parse(exact(b.subarray(0, len)));
      if (got !== want) wrong.push(`${len}: ${got} (want ${want})`);
    }
    t.same(wrong, [], `${name} cut at each of ${b.length} lengths`);
  }
});

t.test('fuzz: random and mutated frames through a table, each verdict counted once by reason', async (t) => {
  let seed = 12345;
  const rnd = (n: number): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n);
  const tab = new NativeTable(1024);
  tab.setServices([{ vip: '10.61.0.100', port: 80, protocol: 'tcp', fwmark: 0, scheduler: 'rr', persistent: 30, pmask: '255.255.240.0',
    expireQuiescentTemplate: false, expireNodestConn: false, dests: [{ address: '10.61.0.11', port: 80, weight: 1, mac: '02:61:00:00:00:11' }] }]);
  const seen: Record<string, number> = {};
  const bases = [frame(), frame({ proto: 17 }), frame({ ipOptions: 2 }), frame({ vlan: true }), frame({ flags: 0x10 })];
  for (let i = 0; i < 20000; i++) {
    let b: Buffer;
    if (i % 4 === 0) b = Buffer.from(Array.from({ length: rnd(80) }, () => rnd(256)));
    else {
      b = Buffer.from(bases[rnd(bases.length)]);
      for (let k = rnd(4) + 1; k > 0; k--) if (b.length) b[rnd(b.length)] = rnd(256);
      if (rnd(3) === 0) b = b.subarray(0, rnd(b.length + 1));
    }
    const v = tab.processFrame(exact(b), 1000 + i).verdict;
    seen[v] = (seen[v] ?? 0) + 1;
  }
  for (const v of ['forward', 'truncated', 'not_ipv4', 'vlan', 'bad_ihl', 'fragment', 'no_service', 'no_conn']) t.ok(seen[v] > 0, `some frames were ${v}`);
  const c = tab.counters().verdicts;
  for (const [k, n] of Object.entries(seen)) if (k !== 'forward') t.equal(c[k], n, `counter ${k} matches the verdicts`);
  t.equal(c.forward ?? 0, 0, 'forwarded frames are not counted as drops');
});
