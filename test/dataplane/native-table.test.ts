// The native connection table against tables derived from the kernel's IPVS code: schedulers, the DR input-only
// TCP states, Active/InAct accounting, timeouts, persistence templates, quiesce, failed and removed dests, sync.
import t, { type Test } from 'tap';
import { NativeTable, type PacketSummary } from '../../src/dataplane/native';
import { decodeConnRecords } from '../../src/dataplane/native-layout';
import type { ServiceSpec } from '../../src/dataplane/types';
import { tcpFlagsOf } from '../../src/scheduler';

const VIP = '10.61.0.100';
const SYN = 0x02, ACK = 0x10, FIN = 0x01, RST = 0x04;
const dest = (i: number, weight = 1) => ({ address: `10.61.0.${10 + i}`, port: 80, weight, mac: `02:61:00:00:00:${(16 + i).toString(16)}` });
const svc = (over: Partial<ServiceSpec>): ServiceSpec => ({ vip: VIP, port: 80, protocol: 'tcp', fwmark: 0, scheduler: 'wlc', persistent: 0,
  pmask: '255.255.255.255', expireQuiescentTemplate: false, expireNodestConn: false, dests: [dest(1), dest(2)], ...over });
const pkt = (saddr: string, sport: number, flags: number, protocol: 'tcp' | 'udp' = 'tcp'): PacketSummary =>
  ({ saddr, sport, daddr: VIP, dport: 80, protocol, flags: tcpFlagsOf(flags), len: 60 });
const who = (d: { dest?: { address: string } }) => (d.dest ? d.dest.address.split('.')[3] : '-');

t.test('DR input-only TCP states and Active/InAct accounting', async (t) => {
  const tab = new NativeTable(1024);
  tab.setServices([svc({ dests: [dest(1)] })]);
  const steps: [number, string, number, number][] = [
    // flags, state after, active, inact (current kernels: SYN_RECV counts as active)
    [SYN, 'SYN_RECV', 1, 0],
    [ACK, 'ESTABLISHED', 1, 0],
    [ACK | 0x08, 'ESTABLISHED', 1, 0],
    [FIN | ACK, 'FIN_WAIT', 0, 1],
    [ACK, 'FIN_WAIT', 0, 1],
    [RST, 'CLOSE', 0, 1],
    [SYN, 'SYN_RECV', 1, 0], // conn_reuse_mode: CLOSE + SYN reschedules a new connection
  ];
  let now = 1000;
  for (const [flags, state, act, inact] of steps) {
    const d = tab.processPacket(pkt('10.61.1.1', 5000, flags), (now += 10));
    t.equal(d.state, state, `flags ${flags} -> ${state}`);
    const s = tab.destStats()[0];
    t.same([s.activeConns, s.inactConns], [act, inact], `counters after ${state}`);
  }
  t.equal(tab.destStats()[0].conns, 2, 'the SYN on a CLOSE entry was a new connection');
  const c = tab.connections(10, now)[0];
  t.equal(c.expiresMs, 60000, 'SYN_RECV timeout 60 s');
  t.equal(tab.processPacket(pkt('10.61.1.1', 5001, ACK), now).verdict, 'no_conn', 'only a SYN creates a TCP connection');
});

t.test('timeouts: ESTABLISHED 900 s, FIN_WAIT 120 s, UDP 300 s, overridable', async (t) => {
  const tab = new NativeTable(1024);
  tab.setServices([svc({ dests: [dest(1)] }), svc({ protocol: 'udp', dests: [dest(1)] })]);
  tab.processPacket(pkt('10.61.1.1', 1, SYN), 0);
  tab.processPacket(pkt('10.61.1.1', 1, ACK), 0);
  tab.processPacket(pkt('10.61.1.2', 1, 0, 'udp'), 0);
  let conns = tab.connections(10, 1000);
  t.same(conns.map((c) => [c.protocol, c.state, c.expiresMs]).sort(), [['tcp', 'ESTABLISHED', 899000], ['udp', 'UDP', 299000]]);
  t.equal(tab.destStats()[1].inactConns, 1, 'UDP always counts as InActConn');
  t.equal(tab.connections(10, 300000).length, 1, 'UDP expired at 300 s');
  t.equal(tab.destStats()[1].inactConns, 0);
  t.equal(tab.connections(10, 900001).length, 0, 'ESTABLISHED expired at 900 s');
  tab.setTimeouts({ tcp: 100, tcpfin: 5, udp: 7 });
  tab.processPacket(pkt('10.61.1.1', 2, SYN), 1e6);
  tab.processPacket(pkt('10.61.1.1', 2, ACK), 1e6);
  conns = tab.connections(10, 1e6);
  t.equal(conns[0].expiresMs, 100000, 'tcp_timeout override');
  tab.processPacket(pkt('10.61.1.1', 2, FIN), 1e6);
  t.equal(tab.connections(10, 1e6)[0].expiresMs, 5000, 'tcpfin_timeout override');
});

t.test('wlc: overhead active*256+inact per weight, ties to the list head, weight 0 never', async (t) => {
  const tab = new NativeTable(1024);
  tab.setServices([svc({ dests: [dest(1, 1), dest(2, 3), dest(3, 0)] })]);
  const got: string[] = [];
  for (let i = 0; i < 8; i++) got.push(who(tab.processPacket(pkt('10.61.1.1', 100 + i, SYN), 1000)));
  // d1 w1 and d2 w3 with SYN_RECV (active) conns: 0/1 vs 0/3 tie -> d1; then 256/1 > 0 -> d2; 256 vs 256/3 ...
  t.same(got, ['11', '12', '12', '12', '11', '12', '12', '12']);
  tab.setServices([svc({ dests: [dest(3, 0)] })]);
  t.equal(tab.processPacket(pkt('10.61.1.1', 999, SYN), 1000).verdict, 'no_dest', 'only weight-0 dests: no destination');
});

t.test('lc ignores weights except 0; rr cycles; wrr follows the gcd/cw walk', async (t) => {
  const run = (scheduler: ServiceSpec['scheduler'], weights: number[], n: number) => {
    const tab = new NativeTable(1024);
    tab.setServices([svc({ scheduler, dests: weights.map((w, i) => dest(i + 1, w)) })]);
    const out: string[] = [];
    for (let i = 0; i < n; i++) {
      const d = tab.processPacket(pkt('10.61.1.1', 100 + i, SYN), 1000);
      tab.processPacket(pkt('10.61.1.1', 100 + i, RST), 1000); // CLOSE: inactive, so lc sees inact counts
      out.push(who(d));
    }
    return out.join(' ');
  };
  t.equal(run('rr', [1, 1, 0, 1], 6), '11 12 14 11 12 14');
  // A new service is `ipvsadm -A` then one -a per dest (tail first): the adds leave cw at 1, so the first pass takes all.
  t.equal(run('wrr', [4, 3, 2], 9), '11 12 13 11 11 12 11 12 13');
  t.equal(run('wrr', [2, 4], 6), '11 12 12 11 12 12', 'gcd 2: cw 1, then mw = 3, cw steps by 2');
  const rebound = new NativeTable(1024);
  const spec = svc({ scheduler: 'wlc', dests: [dest(1, 4), dest(2, 3), dest(3, 2)] });
  rebound.setServices([spec]);
  rebound.setServices([{ ...spec, scheduler: 'wrr' }]);
  const picks = Array.from({ length: 9 }, (_, i) => who(rebound.processPacket(pkt('10.61.1.1', 100 + i, SYN), 1000)));
  t.equal(picks.join(' '), '11 11 12 11 12 13 11 12 13', 'a scheduler change rebinds on the whole list: cw starts at mw');
  t.equal(run('lc', [1, 5, 0], 4), '11 12 11 12');
});

t.test('sh: 256 buckets filled in list order by weight, source-hashed', async (t) => {
  const tab = new NativeTable(1024);
  tab.setServices([svc({ scheduler: 'sh', dests: [dest(1, 1), dest(2, 1)] })]);
  const a = who(tab.processPacket(pkt('10.61.1.1', 1, SYN), 0));
  for (let p = 2; p < 10; p++) t.equal(who(tab.processPacket(pkt('10.61.1.1', p, SYN), 0)), a, 'same client, same server');
  const seen = new Set<string>();
  for (let i = 1; i < 60; i++) seen.add(who(tab.processPacket(pkt(`10.61.2.${i}`, 1, SYN), 0)));
  t.same([...seen].sort(), ['11', '12'], 'clients spread over both');
});

t.test('mh: consistent per client, spread over dests, weight 0 unavailable', async (t) => {
  const tab = new NativeTable(1024);
  tab.setServices([svc({ scheduler: 'mh', dests: [dest(1), dest(2), dest(3)] })]);
  const first = new Map<string, string>();
  for (let i = 1; i < 100; i++) first.set(`10.61.3.${i}`, who(tab.processPacket(pkt(`10.61.3.${i}`, 1, SYN), 0)));
  t.equal(new Set(first.values()).size, 3);
  for (const [c, d] of first) t.equal(who(tab.processPacket(pkt(c, 2, SYN), 0)), d);
});

t.test('persistence with a /20 pmask: one template per client network', async (t) => {
  const tab = new NativeTable(1024);
  tab.setServices([svc({ persistent: 60, pmask: '255.255.240.0' })]);
  const a = tab.processPacket(pkt('10.61.1.1', 1, SYN), 0);
  t.equal(who(tab.processPacket(pkt('10.61.2.2', 1, SYN), 0)), who(a), 'inside the mask: same server');
  t.equal(who(tab.processPacket(pkt('10.61.15.254', 1, SYN), 0)), who(a), 'inside the mask: same server');
  const b = tab.processPacket(pkt('10.61.16.1', 1, SYN), 0);
  t.not(who(b), who(a), 'outside the mask: scheduled anew (wlc picks the idle server)');
  const st = tab.destStats();
  t.same(st.map((s) => s.persistConns), [1, 1], 'one template per dest, counted as persistConns');
  const tmpl = tab.connections(100, 1000).filter((c) => c.template);
  t.same(tmpl.map((c) => [c.caddr, c.cport, c.vport]).sort(), [['10.61.0.0', 0, 80], ['10.61.16.0', 0, 80]]);
  // The template outlives its 60 s while it controls a connection (re-armed for 60 s at a time).
  for (const [c, p] of [['10.61.1.1', 1], ['10.61.2.2', 1], ['10.61.15.254', 1], ['10.61.16.1', 1]] as const) tab.processPacket(pkt(c, p, ACK), 0);
  t.equal(tab.connections(100, 61000).filter((c) => c.template).length, 2, 'templates re-armed at expiry');
  t.equal(tab.connections(100, 61000).find((c) => c.template)!.expiresMs, 59000, 're-armed from when it was due (60 s), for 60 s');
  t.equal(tab.connections(100, 901000).filter((c) => !c.template).length, 0, 'connections expire at 900 s');
  t.equal(tab.connections(100, 961000).length, 0, 'then the templates, at their next 60 s expiry');
});

t.test('quiesce (weight 0): established flows continue, new ones go elsewhere; persistent clients stick unless expire_quiescent_template', async (t) => {
  for (const eqt of [false, true]) {
    const tab = new NativeTable(1024);
    tab.setServices([svc({ persistent: 300, pmask: '255.255.255.0', expireQuiescentTemplate: eqt })]);
    const first = who(tab.processPacket(pkt('10.61.1.1', 1, SYN), 0));
    tab.setServices([svc({ persistent: 300, pmask: '255.255.255.0', expireQuiescentTemplate: eqt, dests: [dest(1, first === '11' ? 0 : 1), dest(2, first === '12' ? 0 : 1)] })]);
    t.equal(who(tab.processPacket(pkt('10.61.1.1', 1, ACK), 10)), first, 'existing connection keeps its server');
    const again = who(tab.processPacket(pkt('10.61.1.1', 2, SYN), 20));
    if (eqt) t.not(again, first, 'expire_quiescent_template: the template is invalidated');
    else t.equal(again, first, 'default: a persistent client still reaches the quiesced server');
    t.not(who(tab.processPacket(pkt('10.61.9.9', 1, SYN), 30)), first, 'a new client never gets the quiesced server');
  }
});

t.test('failed dest (down by its health check): its templates are invalid, established flows continue', async (t) => {
  const tab = new NativeTable(1024);
  const p = { persistent: 300, pmask: '255.255.255.0' };
  tab.setServices([svc(p)]);
  const first = who(tab.processPacket(pkt('10.61.1.1', 1, SYN), 0));
  tab.processPacket(pkt('10.61.1.1', 1, ACK), 5);
  const failedDests = [dest(1, first === '11' ? 0 : 1), dest(2, first === '12' ? 0 : 1)].map((d) => (d.weight === 0 ? { ...d, failed: true } : d));
  tab.setServices([svc({ ...p, dests: failedDests })]);
  t.equal(who(tab.processPacket(pkt('10.61.1.1', 1, ACK), 10)), first, 'the established connection keeps its server');
  const moved = who(tab.processPacket(pkt('10.61.1.2', 2, SYN), 20));
  t.not(moved, first, 'the next connection of the client network is scheduled afresh');
  t.equal(who(tab.processPacket(pkt('10.61.1.3', 3, SYN), 30)), moved, 'and sticks to its new template');
  const tpl = tab.connections(100, 30).filter((c) => c.template);
  t.same(tpl.map((c) => [c.daddr.split('.')[3], c.vport]).sort(), [[first, 65535], [moved, 80]].sort(), 'the old template is out of reach');
  tab.setServices([svc(p)]);
  t.equal(who(tab.processPacket(pkt('10.61.1.4', 4, SYN), 40)), moved, 'back after reentry: the moved client stays where it is');

  // An operator's weight 0 (failed unset) keeps IPVS semantics.
  const op = new NativeTable(1024);
  op.setServices([svc(p)]);
  const f2 = who(op.processPacket(pkt('10.61.1.1', 1, SYN), 0));
  op.setServices([svc({ ...p, dests: [dest(1, f2 === '11' ? 0 : 1), dest(2, f2 === '12' ? 0 : 1)] })]);
  t.equal(who(op.processPacket(pkt('10.61.1.2', 2, SYN), 10)), f2, 'drained by the operator: the persistent client still reaches it');
});

t.test('a SYN on an entry to a failed dest is rescheduled, whatever its state (beyond IPVS)', async (t) => {
  // Writer mode's finding: a standby (weight 0, failed for templates) took writes from clients whose new connection
  // reused the port of a closed one to it, still controlled by the client's template. An operator's weight 0 keeps IPVS.
  for (const [failed, closed] of [[false, true], [true, true], [true, false]]) {
    const tab = new NativeTable(1024);
    const p = { scheduler: 'rr' as const, persistent: 300, pmask: '255.255.255.255' };
    tab.setServices([svc({ ...p, dests: [dest(1), dest(2)] })]);
    const first = who(tab.processPacket(pkt('10.61.1.1', 4000, SYN), 1000));
    tab.processPacket(pkt('10.61.1.1', 4000, ACK), 1001);
    if (closed) tab.processPacket(pkt('10.61.1.1', 4000, RST), 1002); // else ESTABLISHED: the server's RST passes elsewhere
    const out = (d: ReturnType<typeof dest>) => (d.address.endsWith(`.${first}`) ? { ...d, weight: 0, ...(failed ? { failed: true } : {}) } : d);
    tab.setServices([svc({ ...p, dests: [out(dest(1)), out(dest(2))] })]);
    const again = tab.processPacket(pkt('10.61.1.1', 4000, SYN), 1003);
    if (failed) t.not(who(again), first, `failed dest: ${closed ? 'CLOSE' : 'ESTABLISHED'} + SYN rescheduled to the other dest`);
    else t.equal(who(again), first, 'quiesced (operator weight 0): IPVS keeps the controlled entry');
  }
});

t.test("sync: a peer replaces a template whose dest the active changed", async (t) => {
  const p = { persistent: 300, pmask: '255.255.255.0' };
  const a = new NativeTable(1024), b = new NativeTable(1024);
  a.setServices([svc(p)]);
  b.setServices([svc(p)]);
  a.drainSync();
  const first = who(a.processPacket(pkt('10.61.1.1', 1, SYN), 0));
  b.applySync(a.drainSync(), 0);
  const onPeer = () => b.connections(100, 20).filter((c) => c.template && c.vport === 80).map((c) => c.daddr.split('.')[3]);
  t.same(onPeer(), [first], 'the peer holds the template');
  const down = [dest(1, first === '11' ? 0 : 1), dest(2, first === '12' ? 0 : 1)].map((d) => (d.weight === 0 ? { ...d, failed: true } : d));
  a.setServices([svc({ ...p, dests: down })]);
  b.setServices([svc({ ...p, dests: down })]);
  const moved = who(a.processPacket(pkt('10.61.1.2', 2, SYN), 10));
  t.not(moved, first, 'the active rescheduled the client network');
  b.applySync(a.drainSync(), 20);
  t.same(onPeer(), [moved], "the peer's template now points where the active's does");
  t.same(b.connections(100, 20).filter((c) => c.template && c.vport === 65535).map((c) => c.daddr.split('.')[3]), [first], 'its old one is out of reach, aging out');
  b.setServices([svc(p)]);
  b.setForwarding(true);
  t.equal(who(b.processPacket(pkt('10.61.1.3', 3, SYN), 30)), moved, 'after a takeover the client goes where the active sent it');
});

t.test('removed dest: its connections are dropped (dest_unavailable) and revive if it comes back', async (t) => {
  const tab = new NativeTable(1024);
  tab.setServices([svc({ dests: [dest(1)] })]);
  tab.processPacket(pkt('10.61.1.1', 1, SYN), 0);
  tab.setServices([svc({ dests: [dest(2)] })]);
  t.equal(tab.processPacket(pkt('10.61.1.1', 1, ACK), 10).verdict, 'dest_unavailable');
  tab.setServices([svc({ dests: [dest(2), dest(1)] })]);
  const d = tab.processPacket(pkt('10.61.1.1', 1, ACK), 20);
  t.same([d.verdict, who(d), d.state], ['forward', '11', 'ESTABLISHED'], 'the trash dest is reused with its connection');
  t.equal(tab.destStats().find((s) => s.address === '10.61.0.11')!.activeConns, 1, 'counters survived');
});

t.test('a dest without MAC is never chosen; its existing flows are counted as no_mac', async (t) => {
  const tab = new NativeTable(1024);
  tab.setServices([svc({ dests: [{ address: '10.61.0.11', port: 80, weight: 1 }] })]);
  t.equal(tab.processPacket(pkt('10.61.1.1', 1, SYN), 0).verdict, 'no_dest', 'skipped like an overloaded dest');
  tab.setServices([svc({ dests: [dest(1), dest(2)] })]);
  t.equal(who(tab.processPacket(pkt('10.61.1.1', 2, SYN), 0)), '11');
  tab.setServices([svc({ dests: [{ address: '10.61.0.11', port: 80, weight: 1 }, dest(2)] })]);
  const d = tab.processPacket(pkt('10.61.1.1', 2, ACK), 0);
  t.same([d.verdict, who(d)], ['no_mac', '11'], 'the connection keeps its dest but cannot be sent');
  t.equal(who(tab.processPacket(pkt('10.61.1.1', 3, SYN), 0)), '12', 'new connections avoid it');
});

t.test('table full: UDP and established TCP are refused, never evicted (embryonic eviction: conntable.test.ts)', async (t) => {
  const tab = new NativeTable(16);
  tab.setServices([svc({}), svc({ protocol: 'udp' })]);
  for (let i = 1; i <= 16; i++) {
    tab.processPacket(pkt('10.61.1.1', i, SYN), 0);
    tab.processPacket(pkt('10.61.1.1', i, ACK), 0);
  }
  t.equal(tab.processPacket(pkt('10.61.1.1', 100, SYN), 0).verdict, 'table_full', 'a SYN finds nothing to evict');
  t.equal(tab.processPacket(pkt('10.61.1.1', 101, 0, 'udp'), 0).verdict, 'table_full', 'UDP never evicts');
  t.equal(tab.counters().counters.evictions, 0);
  t.equal(tab.connections(100, 0).filter((c) => c.state === 'ESTABLISHED').length, 16, 'every established entry kept');
});

t.test('sync: drained records applied to a peer table give the same connections and counters', async (t) => {
  const a = new NativeTable(1024);
  const b = new NativeTable(1024);
  for (const x of [a, b]) x.setServices([svc({ persistent: 60, pmask: '255.255.240.0' })]);
  t.same(a.drainSync(), [], 'recording starts with the first drain');
  for (let i = 1; i <= 5; i++) {
    a.processPacket(pkt(`10.61.${i}.1`, i, SYN), 0);
    a.processPacket(pkt(`10.61.${i}.1`, i, ACK), 0);
  }
  const recs = a.drainSync();
  t.ok(recs.some((r) => r.template) && recs.some((r) => r.state === 'ESTABLISHED'));
  t.equal(b.applySync(recs, 0), recs.length);
  const key = (c: { caddr: string; cport: number; daddr: string; state: string; template: boolean }) => `${c.caddr}:${c.cport}>${c.daddr} ${c.state} ${c.template}`;
  t.same(b.connections(100, 0).map(key).sort(), a.connections(100, 0).map(key).sort());
  t.same(b.destStats().map((s) => [s.activeConns, s.inactConns, s.persistConns]), a.destStats().map((s) => [s.activeConns, s.inactConns, s.persistConns]));
  const d = b.processPacket(pkt('10.61.1.1', 1, ACK), 10);
  t.same([d.verdict, d.created], ['forward', false], 'the peer forwards synced flows without rescheduling');
});

t.test('a busy-poll budget outside 0..busyPollMaxUs is refused before the addon sees it', async (t) => {
  const tab = new NativeTable(1024);
  for (const bad of [-1, 1.5, 10001, Number.NaN]) {
    t.throws(() => tab.startLoop('eth0', '02:00:00:00:00:01', 'less 1', true, 'v2', bad), { code: 'E_DATAPLANE_OPTION' }, `loop, ${bad}`);
    t.throws(() => tab.startXdp({} as never, 'eth0', '02:00:00:00:00:01', '/nonexistent.o', false, bad), { code: 'E_DATAPLANE_OPTION' }, `xdp, ${bad}`);
  }
});

t.test('setServices is all-or-nothing: a refused table leaves the running one untouched', async (t) => {
  // 16 services x 256 dests fill all 4,096 dest slots. A connection on service 15 keeps one of its dests in the
  // trash when the service is removed, so a new service of 256 dests finds one slot too few, at its last dest.
  const rdest = (j: number, weight = 1) => ({ address: `10.62.1.${j}`, port: 80, weight, mac: `02:62:00:00:01:${j.toString(16).padStart(2, '0')}` });
  const full = (port: number, weight: number) => svc({ port, dests: Array.from({ length: 256 }, (_, j) => rdest(j, weight)) });
  const tab = new NativeTable(1024);
  const before = Array.from({ length: 16 }, (_, i) => full(1000 + i, 1));
  tab.setServices(before);
  t.equal(tab.processPacket({ ...pkt('10.61.1.1', 1, SYN), dport: 1015 }, 0).verdict, 'forward');
  const snapshot = () => tab.destStats().map((s) => `${s.serviceIndex}/${s.address}:${s.port}/${s.weight}/${s.activeConns}`).join(' ');
  const was = snapshot();
  const next = [...Array.from({ length: 15 }, (_, i) => full(1000 + i, 2)), full(2000, 1)];
  t.throws(() => tab.setServices(next), { code: 'E_DATAPLANE_LIMIT' }, 'refused: no free dest slot');
  t.equal(snapshot(), was, 'weights, services and counters exactly as before');
  t.equal(tab.processPacket({ ...pkt('10.61.1.1', 1, ACK), dport: 1015 }, 10).verdict, 'forward', 'the removed service still serves');
  // Without the referenced dest the same change fits and applies whole.
  tab.processPacket({ ...pkt('10.61.1.1', 1, RST), dport: 1015 }, 20);
  t.equal(tab.connections(10, 30 + 10_001).length, 0, 'the connection is gone');
  tab.setServices(next);
  t.same([...new Set(tab.destStats().map((s) => `${s.serviceIndex}/${s.weight}`))].length, 16, 'applied');
});

/** Table a (recording sync) with one ESTABLISHED connection at t = 0, and table b holding a's records of it. */
function establishedOnPeer(): { a: NativeTable; b: NativeTable } {
  const a = new NativeTable(1024), b = new NativeTable(1024);
  for (const x of [a, b]) x.setServices([svc({ dests: [dest(1)] })]);
  a.drainSync();
  a.processPacket(pkt('10.61.1.1', 1, SYN), 0);
  a.processPacket(pkt('10.61.1.1', 1, ACK), 0);
  b.applySync(a.drainSync(), 0);
  return { a, b };
}

t.test('sync: a long-lived connection synced to a peer lives there as long as ESTABLISHED does, not SYN_RECV', async (t) => {
  const { a, b } = establishedOnPeer();
  // Before: the ESTABLISHED record carried the timeout of the state it left (60 s), so the peer dropped the copy of a
  // quiet-there flow after a minute and a takeover of it later stalled (bench/scaleout.ts, 10,000 connections).
  const left = b.connections(10, 61_000).filter((c) => c.state === 'ESTABLISHED');
  t.equal(left.length, 1, 'the peer still holds the connection after a minute');
  t.equal(left[0]?.expiresMs, 839_000, "the peer armed ESTABLISHED's 900 s");
  t.same(who(b.processPacket(pkt('10.61.1.1', 1, ACK), 61_000)), '11', 'the peer forwards it without a SYN');
});

t.test('sync: a flow that stays ESTABLISHED is sent again every half timeout, so the peer copy never expires', async (t) => {
  const { a, b } = establishedOnPeer();
  let resent = 0;
  // A packet every 100 s for an hour (four ESTABLISHED timeouts), no state change.
  for (let now = 100_000; now <= 3_600_000; now += 100_000) {
    a.processPacket(pkt('10.61.1.1', 1, ACK), now);
    const recs = a.drainSync();
    resent += recs.length;
    b.applySync(recs, now);
    t.equal(b.connections(10, now).filter((c) => c.state === 'ESTABLISHED').length, 1, `the peer still holds it at ${now / 1000} s`);
  }
  t.ok(resent >= 7 && resent <= 9, `re-sent about every 450 s, not every packet: ${resent} records in an hour`);
});

t.test('sync: packets in the millisecond of a record send no more records (the mark is the packet clock, not the wheel)', async (t) => {
  const a = new NativeTable(1024);
  a.setServices([svc({ dests: [dest(1)] })]);
  a.drainSync();
  // The wheel stands a millisecond ahead of the clock after each packet: a mark taken from it read as "2^32 - 1 ms
  // ago" at the next packet of the same millisecond (with whole seconds, at ms 999 of a second).
  a.processPacket(pkt('10.61.1.1', 1, SYN), 999);
  a.processPacket(pkt('10.61.1.1', 1, ACK), 999);
  t.same(a.drainSync().map((r) => r.state), ['NONE', 'SYN_RECV', 'ESTABLISHED'], 'one record per state');
  for (let i = 0; i < 5; i++) a.processPacket(pkt('10.61.1.1', 1, ACK), 999);
  a.processPacket(pkt('10.61.1.1', 1, ACK), 1000);
  t.equal(a.drainSync().length, 0, 'no record for the packets after, in that millisecond or the next');
});

/** An ESTABLISHED connection never sent from this table: a record at its next packet (1 s), then at 451 s, to the ms. */
function dueNowThenEveryHalfTimeout(t: Test, tab: NativeTable): void {
  tab.processPacket(pkt('10.61.1.1', 1, ACK), 1000);
  t.same(tab.drainSync().map((r) => r.state), ['ESTABLISHED'], 'sent at its next packet');
  tab.processPacket(pkt('10.61.1.1', 1, ACK), 450_999);
  t.equal(tab.drainSync().length, 0, 'not again before half the timeout');
  tab.processPacket(pkt('10.61.1.1', 1, ACK), 451_000);
  t.equal(tab.drainSync().length, 1, 'again at half the timeout, to the millisecond');
}

t.test('sync: a connection made before sync started is sent at its next packet, then every half timeout', async (t) => {
  const a = new NativeTable(1024);
  a.setServices([svc({ dests: [dest(1)] })]);
  a.processPacket(pkt('10.61.1.1', 1, SYN), 0);
  a.processPacket(pkt('10.61.1.1', 1, ACK), 0);
  t.equal(a.drainSync().length, 0, 'nothing queued before the first drain');
  dueNowThenEveryHalfTimeout(t, a);
});

t.test('sync: a connection learnt from a peer is sent again at its first packet here, then every half timeout', async (t) => {
  const { b } = establishedOnPeer();
  b.drainSync();
  // The flow moved here: the other peers' copies are as old as the sender's last record, and the sender no longer
  // refreshes them. Before, that first record depended on the clock: due when the uptime passed half a timeout.
  dueNowThenEveryHalfTimeout(t, b);
});

t.test('sync: a drain takes at most max records, oldest first; the rest stays queued for the next', async (t) => {
  const [a, b] = [new NativeTable(1024), new NativeTable(1024)];
  for (const x of [a, b]) {
    x.setServices([svc({})]);
    x.drainSync();
    for (let i = 1; i <= 5; i++) x.processPacket(pkt(`10.61.7.${i}`, i, SYN), 0);
    for (let i = 1; i <= 5; i++) x.processPacket(pkt(`10.61.7.${i}`, i, ACK), 0);
  }
  const whole = b.drainSync();
  t.ok(whole.length > 5);
  const first = a.drainSyncRecords(3);
  t.equal(first.length, 3 * a.layout.conn.size, 'three records');
  t.same([...decodeConnRecords(a.layout, first), ...a.drainSync(4), ...a.drainSync()], whole, 'in slices, the same records in the same order');
  t.equal(a.drainSyncRecords(0).length, 0, 'max 0: nothing');
  t.throws(() => a.drainSyncRecords(-1), { code: 'E_DATAPLANE_SYNC' });
});
