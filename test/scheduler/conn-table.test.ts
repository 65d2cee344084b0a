// ConnTableModel: connection creation, DR state transitions with Active/InAct accounting, timeouts and expiry,
// connection reuse, removed and quiesced dests, counters through setServices.
import t from 'tap';
import { ConnTableModel } from '../../src/scheduler';
import { ACK, FIN, RST, S, SYN, service, tcp } from './helpers';

const A = { address: '10.61.2.1', port: 3306, weight: 1 };
const B = { address: '10.61.2.2', port: 3306, weight: 1 };
const counters = (m: ConnTableModel, i = 0) => m.stats()[0].dests[i];

t.test('a SYN creates the connection: NONE (inactive) → SYN_RECV (active now, inactive on old kernels)', async (t) => {
  for (const [mode, act, inact] of [['current', 1, 0], ['legacy', 0, 1]] as const) {
    const m = new ConnTableModel({ activeStates: mode });
    m.setServices([service({ dests: [A] })]);
    const d = m.process(tcp('10.61.9.1', 1000, SYN), 0);
    t.same(d, { verdict: 'forward', dest: { address: A.address, port: 3306 }, state: 'SYN_RECV', newConn: true, templateCreated: false }, mode);
    t.same([counters(m).activeConns, counters(m).inactConns, counters(m).conns], [act, inact, 1], mode);
  }
});

t.test('only a SYN without RST creates a TCP connection', async (t) => {
  const m = new ConnTableModel();
  m.setServices([service({ dests: [A] })]);
  for (const f of [ACK, FIN, RST, { syn: true, rst: true }, {}]) {
    t.same(m.process(tcp('10.61.9.1', 1000, f), 0), { verdict: 'pass', reason: 'no_conn', newConn: false, templateCreated: false }, JSON.stringify(f));
  }
  t.equal(m.size, 0);
  t.same(m.process(tcp('10.61.9.1', 1000, SYN, { daddr: '10.61.0.99' }), 0).reason, 'no_service');
  t.same(m.process(tcp('10.61.9.1', 1000, SYN, { protocol: 'udp' }), 0).reason, 'no_service', 'tcp service only');
});

t.test('accounting follows the transitions across the active boundary', async (t) => {
  // flow: SYN → SYN_RECV, ACK → ESTABLISHED, FIN → FIN_WAIT, ACK stays, RST → CLOSE; then SYN reuse.
  const flow: [Record<string, boolean>, string, [number, number], [number, number]][] = [
    [SYN, 'SYN_RECV', [1, 0], [0, 1]],
    [ACK, 'ESTABLISHED', [1, 0], [1, 0]],
    [ACK, 'ESTABLISHED', [1, 0], [1, 0]],
    [FIN, 'FIN_WAIT', [0, 1], [0, 1]],
    [ACK, 'FIN_WAIT', [0, 1], [0, 1]],
    [RST, 'CLOSE', [0, 1], [0, 1]],
  ];
  for (const mode of ['current', 'legacy'] as const) {
    const m = new ConnTableModel({ activeStates: mode });
    m.setServices([service({ dests: [A] })]);
    flow.forEach(([f, state, cur, leg], i) => {
      const d = m.process(tcp('10.61.9.1', 1000, f), i * S);
      t.equal(d.state, state, `${mode} step ${i}`);
      const c = counters(m);
      t.same([c.activeConns, c.inactConns], mode === 'current' ? cur : leg, `${mode} step ${i} counters`);
    });
    t.equal(counters(m).inPkts, flow.length);
    t.equal(counters(m).inBytes, flow.length * 60);
    t.equal(m.stats()[0].inPkts, flow.length, 'service totals');
  }
  const m = new ConnTableModel();
  m.setServices([service({ dests: [A] })]);
  m.process(tcp('10.61.9.1', 1000, SYN), 0);
  t.equal(m.process(tcp('10.61.9.1', 1000, SYN), S).state, 'SYN_RECV', 'SYN retransmit: same connection');
  t.equal(m.process(tcp('10.61.9.1', 1000, SYN), S).newConn, false);
  m.process(tcp('10.61.9.1', 1000, { psh: true } as never), 2 * S);
  t.equal(m.connections()[0].state, 'CLOSE', 'a segment with none of the four flags → CLOSE');
  t.same([counters(m).activeConns, counters(m).inactConns], [0, 1]);
});

t.test('timeouts: re-armed per packet, expiry by time, overrides', async (t) => {
  const m = new ConnTableModel({ timeouts: { tcp: 100, tcpfin: 30 } });
  m.setServices([service({ dests: [A] })]);
  m.process(tcp('10.61.9.1', 1000, SYN), 0);
  t.equal(m.connections(0)[0].expiresMs, 60_000, 'SYN_RECV 60 s');
  m.expire(59_999);
  t.equal(m.size, 1);
  m.process(tcp('10.61.9.1', 1000, ACK), 59_999);
  t.equal(m.connections(59_999)[0].expiresMs, 100_000, 'ESTABLISHED uses tcp override');
  m.expire(159_998);
  t.equal(m.size, 1);
  m.process(tcp('10.61.9.1', 1000, FIN), 159_998);
  t.equal(m.connections(159_998)[0].expiresMs, 30_000, 'FIN_WAIT uses tcpfin override');
  m.expire(189_998);
  t.equal(m.size, 0, 'gone at exactly its expiry time');
  t.same([counters(m).activeConns, counters(m).inactConns], [0, 0]);
  const late = m.process(tcp('10.61.9.1', 1000, ACK), 200_000);
  t.equal(late.reason, 'no_conn', 'a packet after expiry finds nothing (lazy expiry on process)');

  const d = new ConnTableModel();
  d.setServices([service({ dests: [A] })]);
  d.process(tcp('10.61.9.1', 1000, SYN), 0);
  d.process(tcp('10.61.9.1', 1000, ACK), 1);
  t.equal(d.connections(1)[0].expiresMs, 900_000, 'default ESTABLISHED 900 s');
  d.setTimeouts({ tcp: 10 });
  d.process(tcp('10.61.9.1', 1000, ACK), 2);
  t.equal(d.connections(2)[0].expiresMs, 10_000, 'setTimeouts applies from the next packet');
  t.equal(d.connections(2, 0).length, 0, 'limit');
});

t.test('setTimeouts: 0 keeps the current value (ipvsadm --set 0 0 0), not the default', async (t) => {
  const m = new ConnTableModel();
  m.setServices([service({ dests: [A] })]);
  m.setTimeouts({ tcp: 100, tcpfin: 30, udp: 20 });
  m.setTimeouts({ tcp: 0, tcpfin: 40, udp: 0 });
  m.process(tcp('10.61.9.1', 1000, SYN), 0);
  m.process(tcp('10.61.9.1', 1000, ACK), 1);
  t.equal(m.connections(1)[0].expiresMs, 100_000, 'ESTABLISHED keeps the 100 s set before');
  m.process(tcp('10.61.9.1', 1000, FIN), 2);
  t.equal(m.connections(2)[0].expiresMs, 40_000, 'FIN_WAIT takes the new 40 s');
  m.setTimeouts({});
  m.process(tcp('10.61.9.2', 1000, SYN), 3);
  m.process(tcp('10.61.9.2', 1000, ACK), 4);
  t.equal(m.connections(4).find((c) => c.caddr === '10.61.9.2')!.expiresMs, 100_000, 'absent values keep theirs too');
});

t.test('UDP: any packet creates, always InActConn, 300 s re-armed per packet', async (t) => {
  const m = new ConnTableModel();
  m.setServices([service({ protocol: 'udp', port: 53, dests: [{ ...A, port: 53 }] })]);
  const pkt = { protocol: 'udp' as const, saddr: '10.61.9.1', sport: 5353, daddr: '10.61.0.100', dport: 53, len: 80 };
  const first = m.process(pkt, 0);
  t.same([first.verdict, first.state, first.newConn], ['forward', 'UDP', true]);
  t.same([counters(m).activeConns, counters(m).inactConns], [0, 1]);
  m.process(pkt, 200 * S);
  t.equal(m.connections(200 * S)[0].expiresMs, 300_000);
  m.expire(499 * S);
  t.equal(m.size, 1);
  m.expire(500 * S);
  t.equal(m.size, 0);
  t.equal(counters(m).inactConns, 0);
});

t.test('wlc through the model: list order, ties to the head', async (t) => {
  const m = new ConnTableModel();
  m.setServices([service({ dests: [B, A] })]);
  const picks = [1, 2, 3, 4].map((p) => m.process(tcp('10.61.9.1', p, SYN), 0).dest?.address);
  // B first (head), A (B has 256), B (tie 256/256 → head), A
  t.same(picks, [B.address, A.address, B.address, A.address]);
});

t.test('connection reuse: a SYN on TIME_WAIT/CLOSE is scheduled anew; on ESTABLISHED it is not', async (t) => {
  const m = new ConnTableModel();
  m.setServices([service({ scheduler: 'rr', dests: [A, B] })]);
  t.equal(m.process(tcp('10.61.9.1', 1, SYN), 0).dest?.address, A.address);
  m.process(tcp('10.61.9.1', 1, RST), 1);
  t.equal(m.connections(1)[0].state, 'SYN_RECV', 'SYN_RECV ignores a RST (input-only table)');
  m.process(tcp('10.61.9.1', 1, ACK), 1);
  m.process(tcp('10.61.9.1', 1, RST), 1);
  const again = m.process(tcp('10.61.9.1', 1, SYN), 2);
  t.same([again.newConn, again.dest?.address, again.state], [true, B.address, 'SYN_RECV'], 'CLOSE + SYN → rescheduled (rr moves on)');
  t.equal(m.size, 1, 'the old entry expired at once');
  m.process(tcp('10.61.9.1', 1, ACK), 3);
  const est = m.process(tcp('10.61.9.1', 1, SYN), 4);
  t.same([est.newConn, est.state], [false, 'ESTABLISHED'], 'ESTABLISHED + SYN stays');
  m.process(tcp('10.61.9.1', 1, FIN), 5);
  t.equal(m.process(tcp('10.61.9.1', 1, SYN), 6).newConn, false, 'FIN_WAIT + SYN is not reused (conn_reuse_mode 1)');
  t.equal(m.connections(6)[0].state, 'SYN_RECV');
  m.process(tcp('10.61.9.1', 1, FIN), 7);
  t.equal(m.connections(7)[0].state, 'TIME_WAIT', 'SYN_RECV + FIN → TIME_WAIT');
  t.equal(m.process(tcp('10.61.9.1', 1, SYN), 8).newConn, true, 'TIME_WAIT + SYN reused');
});

t.test('a SYN on an entry to a failed dest is rescheduled, whatever its state (beyond IPVS)', async (t) => {
  // The writer-mode finding: a standby (weight 0, failed for templates) took writes from clients whose new
  // connection reused the port of a closed one to it, which its template still controlled.
  for (const [failed, closed] of [[false, true], [true, true], [true, false]]) {
    const m = new ConnTableModel();
    m.setServices([service({ scheduler: 'rr', persistent: 300, dests: [A, B] })]);
    t.equal(m.process(tcp('10.61.9.1', 1, SYN), 0).dest?.address, A.address);
    m.process(tcp('10.61.9.1', 1, ACK), 1);
    // The server's RST when it died never passes the director: the entry may still be ESTABLISHED.
    if (closed) m.process(tcp('10.61.9.1', 1, RST), 2);
    m.setServices([service({ scheduler: 'rr', persistent: 300, dests: [{ ...A, weight: 0, ...(failed ? { failed: true } : {}) }, B] })]);
    const again = m.process(tcp('10.61.9.1', 1, SYN), 3);
    if (failed) t.same([again.newConn, again.dest?.address], [true, B.address], `failed dest: ${closed ? 'CLOSE' : 'ESTABLISHED'} + SYN rescheduled, and the template replaced`);
    else t.same([again.newConn, again.dest?.address], [false, A.address], 'quiesced (operator weight 0) dest: IPVS keeps the controlled entry');
  }
});

t.test('removed dest: packets dropped, counters kept in the trash and restored on re-add', async (t) => {
  const m = new ConnTableModel();
  const svc = service({ dests: [A, B] });
  m.setServices([svc]);
  m.process(tcp('10.61.9.1', 1, SYN), 0);
  m.process(tcp('10.61.9.1', 1, ACK), 1);
  m.setServices([service({ dests: [B] })]);
  t.same(m.process(tcp('10.61.9.1', 1, ACK), 2), { verdict: 'drop', reason: 'dest_unavailable', newConn: false, templateCreated: false });
  t.same(m.trashedDests(), [{ service: m.trashedDests()[0].service, address: A.address, port: 3306, activeConns: 1, inactConns: 0, persistConns: 0 }]);
  t.equal(m.stats()[0].dests.length, 1, 'stats show only listed dests');
  t.equal(m.process(tcp('10.61.9.2', 1, SYN), 3).dest?.address, B.address, 'new connections avoid it');
  m.setServices([svc]);
  t.same([counters(m).address, counters(m).activeConns, counters(m).inPkts], [A.address, 1, 2], 'trash entry reused');
  t.same(m.process(tcp('10.61.9.1', 1, ACK), 4).verdict, 'forward');
  m.setServices([]);
  t.equal(m.process(tcp('10.61.9.1', 1, ACK), 5).reason, 'dest_unavailable', 'service deleted: its connections drop');
  m.expire(10_000 * S);
  t.same(m.trashedDests(), [], 'trash emptied when the last connection expired');
});

t.test('expire_nodest_conn: the connection expires on its next packet; a SYN is rescheduled', async (t) => {
  const m = new ConnTableModel();
  m.setServices([service({ expireNodestConn: true, dests: [A, B] })]);
  m.process(tcp('10.61.9.1', 1, SYN), 0);
  m.process(tcp('10.61.9.2', 2, SYN), 0);
  m.setServices([service({ expireNodestConn: true, dests: [B] })]);
  t.same(m.process(tcp('10.61.9.1', 1, ACK), 1).reason, 'no_conn', 'expired, then an ACK without connection passes');
  t.same(m.trashedDests(), [], 'the trashed dest lost its last reference');
  const syn = m.process(tcp('10.61.9.2', 2, SYN), 2);
  t.same([syn.newConn, syn.dest?.address], [false, B.address], 'the other client kept B');
  m.setServices([service({ expireNodestConn: true, dests: [A, { ...B, weight: 0 }] })]);
  const resched = m.process(tcp('10.61.9.2', 2, SYN), 3);
  t.same([resched.newConn, resched.dest?.address], [true, A.address], 'SYN to a weight-0 dest is rescheduled');

  const q = new ConnTableModel();
  q.setServices([service({ dests: [A, B] })]);
  q.process(tcp('10.61.9.1', 1, SYN), 0);
  q.setServices([service({ dests: [{ ...A, weight: 0 }, B] })]);
  t.same(q.process(tcp('10.61.9.1', 1, ACK), 1).dest?.address, A.address, 'weight 0 never affects existing connections');
  t.same(q.process(tcp('10.61.9.3', 1, SYN), 1).dest?.address, B.address, 'but gets no new ones');
});

t.test('setServices keeps counters of dests matched by address:port; bad specs change nothing', async (t) => {
  const m = new ConnTableModel();
  m.setServices([service({ dests: [A, B] })]);
  m.process(tcp('10.61.9.1', 1, SYN), 0);
  m.setServices([service({ dests: [{ ...B, weight: 5 }, { ...A, weight: 3 }] })]);
  t.same(m.stats()[0].dests.map((d) => [d.address, d.weight, d.activeConns]), [[B.address, 5, 0], [A.address, 3, 1]]);
  const bad = [
    service({ dests: [A, A] }),
    service({ dests: [{ ...A, weight: 70000 }] }),
    service({ dests: [{ ...A, port: 70000 }] }),
    service({ scheduler: 'dh' as never, dests: [A] }),
    service({ vip: '10.61.0', dests: [A] }),
  ];
  for (const s of bad) {
    t.throws(() => m.setServices([s]), /./, s.scheduler);
    t.equal(m.stats()[0].dests.length, 2, 'unchanged');
  }
  t.throws(() => m.setServices([service({ dests: [A, A] })]), { code: 'E_SCHED_BAD_SPEC' });
  t.throws(() => m.setServices([service({ vip: 'x', dests: [] })]), { code: 'E_SCHED_BAD_ADDRESS' });
  t.throws(() => m.process(tcp('10.61.9.1', 70000, SYN), 0), { code: 'E_SCHED_BAD_PACKET' });
  t.throws(() => m.process(tcp('300.1.1.1', 1, SYN), 0), { code: 'E_SCHED_BAD_ADDRESS' });
  t.throws(() => m.process(tcp('10.61.9.1', 1, SYN, { protocol: 'icmp' as never }), 0), { code: 'E_SCHED_BAD_PACKET' });
  m.setServices([service({ scheduler: 'rr', dests: [A, B] })]);
  t.equal(m.process(tcp('10.61.9.7', 1, SYN), 1).dest?.address, A.address, 'scheduler change: fresh rr cursor');
});

t.test('thresholds: overloaded at the upper, cleared below 3/4 of it (or under the lower)', async (t) => {
  const m = new ConnTableModel();
  m.setServices([service({ scheduler: 'rr', dests: [{ ...A, upperThreshold: 2 }, B] })]);
  const to = (p: number, now: number) => m.process(tcp('10.61.9.1', p, SYN), now).dest?.address;
  t.same([to(1, 0), to(2, 0), to(3, 0)], [A.address, B.address, A.address]);
  t.same([to(4, 0), to(5, 0)], [B.address, B.address], 'A has 2 = upper threshold: skipped');
  m.process(tcp('10.61.9.1', 1, ACK), 1);
  m.process(tcp('10.61.9.1', 1, RST), 1);
  t.same(to(6, 2), B.address, 'CLOSE still counts (total 2)');
  m.expire(11 * S + 1);
  t.same(to(7, 11 * S + 1), A.address, '1*4 < 2*3: cleared');
  const l = new ConnTableModel();
  l.setServices([service({ dests: [{ ...A, upperThreshold: 2, lowerThreshold: 1 }] })]);
  l.process(tcp('10.61.9.1', 1, SYN), 0);
  l.process(tcp('10.61.9.1', 2, SYN), 0);
  t.equal(l.process(tcp('10.61.9.1', 3, SYN), 0).verdict, 'no_dest', 'overloaded, no other dest');
  l.process(tcp('10.61.9.1', 1, ACK), 1);
  l.process(tcp('10.61.9.1', 1, RST), 1);
  l.expire(11 * S + 1);
  t.equal(l.process(tcp('10.61.9.1', 3, SYN), 11 * S + 1).verdict, 'no_dest', 'total 1 is not < lower 1');
  l.setServices([service({ dests: [{ ...A, upperThreshold: 3, lowerThreshold: 1 }] })]);
  t.equal(l.process(tcp('10.61.9.1', 3, SYN), 11 * S + 2).verdict, 'forward', 'raising the threshold clears the flag');
});

t.test('requireMac: a dest without a MAC is never chosen and says why', async (t) => {
  const m = new ConnTableModel({ requireMac: true });
  m.setServices([service({ dests: [A, { ...B, mac: '02:00:00:00:00:02' }] })]);
  t.equal(m.process(tcp('10.61.9.1', 1, SYN), 0).dest?.address, B.address);
  t.equal(counters(m).unavailableReason, 'no MAC address');
});

t.test('no dest and port-0 services', async (t) => {
  const m = new ConnTableModel();
  m.setServices([service({ dests: [{ ...A, weight: 0 }] })]);
  t.same(m.process(tcp('10.61.9.1', 1, SYN), 0), { verdict: 'no_dest', reason: 'no_dest', newConn: false, templateCreated: false });
  m.setServices([service({ port: 0, dests: [{ ...A, port: 0 }] })]);
  t.equal(m.process(tcp('10.61.9.1', 1, SYN, { dport: 80 }), 0).reason, 'port_mismatch', 'a non-persistent port-0 service schedules nothing');
  m.setServices([service({ port: 0, persistent: 10, dests: [{ ...A, port: 0 }] })]);
  const p = m.process(tcp('10.61.9.1', 1, SYN, { dport: 80 }), 0);
  t.same([p.verdict, p.dest], ['forward', { address: A.address, port: 80 }], 'persistent port-0: dport kept');
  t.same(m.connections(0).find((c) => c.template)?.vport, 0);
});

t.test('size, trash listing and service order follow setServices', async (t) => {
  const m = new ConnTableModel();
  const s1 = service({ vip: '10.61.0.100', dests: [A] });
  const s2 = service({ vip: '10.61.0.101', dests: [B] });
  m.setServices([s2, s1]);
  t.same(m.stats().map((s) => s.vip), ['10.61.0.101', '10.61.0.100'], 'services in spec order');
  m.process(tcp('10.61.9.1', 1, SYN), 0);
  m.process(tcp('10.61.9.1', 1, SYN, { daddr: '10.61.0.101' }), 0);
  t.equal(m.size, 2);
  m.setServices([s1]);
  t.same(m.trashedDests().map((d) => d.address), [B.address]);
  t.equal(m.process(tcp('10.61.9.1', 1, ACK, { daddr: '10.61.0.101' }), 1).reason, 'dest_unavailable');
  m.setServices([s1, s2]);
  t.same(m.stats()[1].dests[0].activeConns, 1, 're-created service gets its trashed dest back');
  t.equal(m.stats()[1].conns, 0, 'but service totals start again (a new service)');
  t.equal(m.process(tcp('10.61.9.1', 1, ACK, { daddr: '10.61.0.101' }), 2).verdict, 'forward');
  m.expire(1_000_000);
  t.equal(m.size, 0);
});
