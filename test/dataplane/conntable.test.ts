// The native connection table under floods: the timer wheel (on-time expiry, re-arming, bounded work per
// millisecond), eviction of embryonic entries when the table is full, and the per-table keyed hash.
import t from 'tap';
import { NativeTable, type PacketSummary } from '../../src/dataplane/native';
import type { ServiceSpec } from '../../src/dataplane/types';
import { tcpFlagsOf } from '../../src/scheduler';

const VIP = '10.61.0.100';
const SYN = 0x02, ACK = 0x10;
const dest = (i: number) => ({ address: `10.61.0.${10 + i}`, port: 80, weight: 1, mac: `02:61:00:00:00:${(16 + i).toString(16)}` });
const svc = (over: Partial<ServiceSpec> = {}): ServiceSpec => ({ vip: VIP, port: 80, protocol: 'tcp', fwmark: 0, scheduler: 'rr', persistent: 0,
  pmask: '255.255.255.255', expireQuiescentTemplate: false, expireNodestConn: false, dests: [dest(1), dest(2)], ...over });
/** Flow i: a distinct client address:port. */
const flow = (i: number, flags: number, protocol: 'tcp' | 'udp' = 'tcp'): PacketSummary =>
  ({ saddr: `11.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, sport: 1024 + (i & 1023), daddr: VIP, dport: 80, protocol, flags: tcpFlagsOf(flags), len: 60 });
const live = (tab: NativeTable): number => tab.destStats().reduce((n, d) => n + d.activeConns + d.inactConns + d.persistConns, 0);
const T0 = 10_000_000;

t.test('wheel: 100k entries expire on their millisecond; re-armed ones do not', async (t) => {
  const N = 100_000;
  const tab = new NativeTable(1 << 18);
  tab.setServices([svc()]);
  // 100 SYNs per millisecond over one second: flow i is created at T0 + i % 1000 (SYN_RECV, 60 s).
  for (let i = 0; i < N; i++) tab.processPacket(flow(i, SYN), T0 + (i % 1000));
  // 30 s later every even flow sees its SYN again (SYN_RECV stays, the timer restarts: due at T0 + 90 s + i % 1000).
  for (let i = 0; i < N; i += 2) tab.processPacket(flow(i, SYN), T0 + 30_000 + (i % 1000));
  const probe = flow(N + 1, ACK); // a packet of no connection: runs the packet path's expiry only
  let bad = 0, miscount = 0;
  for (let k = 0; k < 1000; k++) {
    tab.processPacket(probe, T0 + 60_000 + k);
    // Odd flows of millisecond k are due now: gone, and exactly those (counted every millisecond).
    if (k % 2 === 1 && tab.processPacket(flow(k, ACK), T0 + 60_000 + k).verdict !== 'no_conn') bad++;
    const oddLeft = (Math.floor((999 - k) / 2) + (k % 2 === 0 ? 1 : 0)) * 100;
    if (live(tab) !== N / 2 + oddLeft && miscount++ < 3) t.fail(`live entries at T0 + 60 s + ${k} ms: ${live(tab)}, want ${N / 2 + oddLeft}`);
  }
  t.equal(miscount, 0, 'live entries exact at every millisecond');
  t.equal(bad, 0, 'every odd flow expired exactly on its millisecond, none early');
  t.equal(live(tab), N / 2, 'the re-armed half is alive after all the others expired');
  t.equal(tab.connections(N, T0 + 89_999).length, N / 2, 'and stays until its own timer');
  t.equal(tab.connections(N, T0 + 91_000).length, 0, 'then it expires as well');
});

t.test('wheel: expiry work per millisecond is bounded; the rest is carried over and never used', async (t) => {
  const N = 100_000;
  const tab = new NativeTable(1 << 18);
  tab.setServices([svc()]);
  for (let i = 0; i < N; i++) tab.processPacket(flow(i, SYN), T0); // all due at T0 + 60 000
  const probe = flow(N + 1, ACK);
  tab.processPacket(probe, T0 + 60_000);
  const left = live(tab);
  t.ok(left >= N - 2048 && left < N, `one packet expired at most 2048 entries (${N - left})`);
  // A packet of a due entry not yet expired is treated as having no connection: the entry expires on the spot.
  t.equal(tab.processPacket(flow(N - 1, ACK), T0 + 60_000).verdict, 'no_conn');
  let ms = 1;
  while (live(tab) > 0 && ms < 1000) tab.processPacket(probe, T0 + 60_000 + ms++);
  t.equal(live(tab), 0, 'all expired over the next milliseconds');
  t.ok(ms <= Math.ceil(N / 2048) + 1, `within ${ms} ms`);
});

t.test('wheel: timers far beyond the wheel (a 2 h template, 15 min connections) fire on time', async (t) => {
  const tab = new NativeTable(1024);
  tab.setServices([svc({ persistent: 7200 })]);
  tab.processPacket(flow(1, SYN), T0);
  tab.processPacket(flow(1, ACK), T0); // ESTABLISHED: 900 s
  const at = (ms: number) => tab.connections(10, T0 + ms).map((c) => `${c.template ? 'T' : 'C'}${c.expiresMs}`).sort();
  t.same(at(899_999), ['C1', 'T6300001']);
  t.same(at(900_000), ['T6300000']);
  t.same(at(7_199_999), ['T1']);
  t.same(at(7_200_000), []);
});

t.test('full table: a new SYN evicts the oldest embryonic entry, never an established one or a template', async (t) => {
  const tab = new NativeTable(16);
  tab.setServices([svc()]);
  for (let i = 0; i < 10; i++) { tab.processPacket(flow(i, SYN), T0); tab.processPacket(flow(i, ACK), T0); }
  for (let i = 10; i < 16; i++) tab.processPacket(flow(i, SYN), T0 + i);
  const d = tab.processPacket(flow(100, SYN), T0 + 20);
  t.same([d.verdict, d.created], ['forward', true], 'the new connection is admitted');
  t.equal(tab.counters().counters.evictions, 1);
  t.equal(tab.processPacket(flow(10, ACK), T0 + 21).verdict, 'no_conn', 'the oldest embryonic entry (flow 10) went');
  t.equal(tab.processPacket(flow(11, ACK), T0 + 21).state, 'ESTABLISHED', 'flow 11 completes its handshake: no longer evictable');
  for (let i = 101; i < 106; i++) t.equal(tab.processPacket(flow(i, SYN), T0 + 30).verdict, 'forward');
  t.equal(tab.counters().counters.evictions, 6, 'flows 12..15 and 100 evicted, oldest first');
  t.equal(tab.connections(100, T0 + 30).filter((c) => c.state === 'ESTABLISHED').length, 11, 'all 11 established entries kept');
  const s = tab.destStats();
  t.same([s.reduce((n, x) => n + x.activeConns, 0), s.reduce((n, x) => n + x.inactConns, 0)], [16, 0], 'ActiveConn counts the 16 entries');

  // Persistence: templates are never evicted; a template made for a flood SYN may take an embryonic slot.
  const p = new NativeTable(16);
  p.setServices([svc({ persistent: 300 })]);
  p.processPacket(flow(0, SYN), T0); p.processPacket(flow(0, ACK), T0); // template + established connection
  for (let i = 1; i < 8; i++) p.processPacket(flow(i, SYN), T0 + i); // 7 templates + 7 embryonic: 16 entries
  t.equal(p.processPacket(flow(8, SYN), T0 + 10).verdict, 'forward', 'new client: template + connection, 2 evictions');
  t.equal(p.counters().counters.evictions, 2);
  const conns = p.connections(100, T0 + 10);
  t.equal(conns.filter((c) => c.template).length, 9, 'every template kept');
  t.ok(conns.some((c) => !c.template && c.state === 'ESTABLISHED'), 'the established connection kept');
});

t.test('keyed hash: every table has its own key; collisions found for one key do not carry to another', async (t) => {
  const a = new NativeTable(4096), b = new NativeTable(4096);
  const keys = Array.from({ length: 1000 }, (_, i) => flow(i, SYN));
  const same = keys.filter((k) => a.hashOf(k) === b.hashOf(k)).length;
  t.ok(same < 5, `two tables hash alike only by chance (${same} of 1000)`);
  // An attacker who learned table a's key: flows all landing in bucket 0 of 4096.
  a.setHashKey(0x0123456789abcdefn, 0xfedcba9876543210n);
  const hit: PacketSummary[] = [];
  for (let i = 0; hit.length < 64 && i < 4_000_000; i++) {
    const k = flow(i, SYN);
    if ((a.hashOf(k) & 4095) === 0) hit.push(k);
  }
  t.equal(hit.length, 64, '64 colliding flows found against the fixed key');
  const buckets = new Map<number, number>();
  for (const k of hit) buckets.set(b.hashOf(k) & 4095, (buckets.get(b.hashOf(k) & 4095) ?? 0) + 1);
  t.ok(Math.max(...buckets.values()) <= 4, `spread over ${buckets.size} buckets under another key`);
  a.setServices([svc()]);
  t.equal(hit.filter((k) => a.processPacket(k, T0).created).length, 64, 'all 64 admitted as distinct connections');
  t.equal(a.processPacket({ ...hit[63], flags: tcpFlagsOf(ACK) }, T0).state, 'ESTABLISHED', 'lookups on the long chain still exact');
  t.throws(() => a.setHashKey(1n, 2n), /empty table/, 'the key of a table holding entries stays');
});
