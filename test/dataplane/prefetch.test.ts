// The packet loops' prefetch pass (native/src/prefetch.h) changes no decision: the same random traffic, frame by
// frame through dd_forward_frame on one table and in batches through the loops' batch path (prefetch pass, hash
// reused) on a twin table with the same hash key, gives the same frames out, counters, dest stats and entries.
import t from 'tap';
import { NativeTable } from '../../src/dataplane/native';
import type { ServiceSpec } from '../../src/dataplane/types';
import { frame, icmpError } from './frames';

const OUR = '02:61:00:00:00:02';
const two = [{ address: '10.61.0.11', port: 0, weight: 1, mac: '02:61:00:00:00:11' }, { address: '10.61.0.12', port: 0, weight: 2, mac: '02:61:00:00:00:12' }];
const svc = (o: Partial<ServiceSpec> & Pick<ServiceSpec, 'port'>): ServiceSpec => ({ vip: '10.61.0.100', protocol: 'tcp', fwmark: 0,
  scheduler: 'wlc', persistent: 0, pmask: '255.255.255.255', expireQuiescentTemplate: false, expireNodestConn: false, dests: two, ...o });

/** Small enough that chains are long and the table fills (SYNs then evict). */
function twin(): NativeTable {
  const tab = new NativeTable(64);
  tab.setHashKey(0x0123456789abcdefn, 0x0fedcba987654321n);
  tab.setServices([svc({ port: 80 }), svc({ port: 81, persistent: 60, pmask: '255.255.255.0' }), svc({ port: 54, protocol: 'udp' }),
    svc({ port: 53, protocol: 'udp', dests: [{ ...two[0], weight: 0 }] })]);
  return tab;
}

/** Deterministic traffic: flows of a few clients (TCP with every flag mix, UDP), and frames the pass must skip or
 * read like the parser does: ICMP errors, fragments, IP options, truncated, tagged, not IPv4, no service. */
function traffic(seed: number, n: number): Buffer[] {
  let x = seed;
  const rnd = (m: number) => ((x = (Math.imul(x, 1664525) + 1013904223) >>> 0) >>> 8) % m;
  const flags = [0x02, 0x10, 0x18, 0x11, 0x04, 0x00, 0x12, 0x01];
  const out: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    const src = `10.61.${1 + rnd(3)}.${1 + rnd(20)}`, sport = 40000 + rnd(6);
    const k = rnd(20);
    if (k < 9) out.push(frame({ src, sport, dport: 80, flags: flags[rnd(flags.length)] }));
    else if (k < 11) out.push(frame({ src, sport, dport: 81, flags: flags[rnd(flags.length)] }));
    else if (k < 13) out.push(frame({ src, sport, dport: [53, 54][rnd(2)], proto: 17, payload: rnd(40) }));
    else if (k === 13) out.push(frame({ src, sport, dport: 80, flags: 0x10, ipOptions: 1 + rnd(3) }));
    else if (k === 14) out.push(frame({ src, sport, dport: 80, flags: 0x02, fragOff: rnd(2) ? 0x2000 : 0x2000 | (1 + rnd(100)), id: rnd(4), payload: 16 }));
    else if (k === 15) out.push(icmpError({ type: 3, code: 4, quoted: frame({ src: '10.61.0.100', sport: 80, dst: src, dport: sport, flags: 0x10 }).subarray(14) }));
    else if (k === 16) out.push(frame({ src, sport, dport: 80, flags: 0x10 }).subarray(0, 14 + 20 + 4 + rnd(16)));
    else if (k === 17) out.push(frame({ src, sport, dport: 80, flags: 0x02, vlan: true }));
    else if (k === 18) out.push(frame({ src, sport, dport: 80, ethertype: 0x86dd }));
    else out.push(frame({ src, sport, dport: 82 + rnd(2), flags: 0x02 }));
  }
  return out;
}

t.test('batches through the prefetch pass decide exactly as frames one by one', async (t) => {
  const one = twin(), batched = twin();
  const frames = traffic(7, 6000);
  let now = 1_000_000, at = 0, x = 99, diffs = 0, forwarded = 0;
  while (at < frames.length) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    const size = 1 + ((x >>> 8) % 48);
    // Now and then a jump past the timeouts (SYN_RECV 60 s, UDP 300 s), so batches also meet due entries.
    now += (x >>> 20) % 97 === 0 ? 130_000 : (x >>> 12) % 5;
    const batch = frames.slice(at, at + size);
    const got = batched.forwardBatch(batch, now, OUR);
    batch.forEach((f, i) => {
      const want = one.forwardFrame(f, now, OUR);
      if (want.action === 'forward') forwarded++;
      if (want.action !== got[i].action || !(want.frame ?? Buffer.alloc(0)).equals(got[i].frame ?? Buffer.alloc(0))) {
        if (diffs++ < 5) t.fail(`frame ${at + i} at ${now}: ${want.action}/${want.verdict} one by one, ${got[i].action} batched`);
      }
    });
    at += size;
  }
  t.equal(diffs, 0, 'every frame: same action, same frame out');
  t.ok(forwarded > 1000, `the traffic forwards (${forwarded} frames), not only drops`);
  const a = one.counters(), b = batched.counters();
  const ours = (c: Record<string, number>) => Object.fromEntries(Object.entries(c).filter(([k]) => !/lock|loop/.test(k)));
  t.same(ours(b.counters), ours(a.counters), 'same counters (the lock and loop ones count batches, not frames)');
  t.same(b.verdicts, a.verdicts, 'same verdicts');
  t.ok(a.counters.evictions > 0, `the table filled and evicted (${a.counters.evictions})`);
  t.same(batched.destStats(), one.destStats(), 'same dest stats');
  t.same(batched.connections(64, now), one.connections(64, now), 'same entries, in the same slots');
});
