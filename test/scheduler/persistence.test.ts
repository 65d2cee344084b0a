// Persistence (ip_vs_sched_persist): templates per client network with the seed's /20 pmask, re-arming, the 60 s
// expire_later rule, quiesced, failed and removed dests, fwmark and FTP template keys.
import t from 'tap';
import { ConnTableModel } from '../../src/scheduler';
import { ACK, FIN, S, SYN, service, tcp } from './helpers';

const SQL1 = { address: '10.0.0.4', port: 3306, weight: 1, name: 'sql1' };
const SQL2 = { address: '10.0.0.5', port: 3306, weight: 1, name: 'sql2' };
/** The seed's virtual: persistent 60, pmask /20, servers added sql1 then sql2 → list [sql2, sql1]. */
const seed = (over = {}) => service({ vip: '10.0.0.3', persistent: 60, pmask: '255.255.240.0', dests: [SQL2, SQL1], ...over });
const pkt = (saddr: string, sport: number, flags: Record<string, boolean>) => tcp(saddr, sport, flags, { daddr: '10.0.0.3' });
const templates = (m: ConnTableModel, now: number) => m.connections(now).filter((c) => c.template);

t.test('seed /20: clients inside the mask share one template, outside gets its own', async (t) => {
  const m = new ConnTableModel();
  m.setServices([seed()]);
  const table: [string, number, string, boolean][] = [
    ['10.0.1.7', 0, SQL2.address, true],      // first: wlc idle → list head sql2, template 10.0.0.0
    ['10.0.15.200', 1, SQL2.address, false],  // inside 10.0.0.0/20
    ['10.0.0.1', 2, SQL2.address, false],
    ['10.0.16.1', 3, SQL1.address, true],     // 10.0.16.0/20: scheduled; sql2 has 3*256 → sql1
    ['10.0.31.255', 4, SQL1.address, false],  // inside 10.0.16.0/20
    ['192.168.7.9', 5, SQL1.address, true],   // new network: loh(sql2) 768 * 1 > doh(sql1) 512 * 1 → sql1
  ];
  for (const [client, i, want, created] of table) {
    const d = m.process(pkt(client, 40000 + i, SYN), i * S);
    t.same([d.dest?.address, d.templateCreated, d.newConn], [want, created, true], client);
  }
  const st = m.stats()[0];
  t.same(st.dests.map((d) => [d.address, d.activeConns, d.inactConns, d.persistConns]), [
    [SQL2.address, 3, 0, 1],
    [SQL1.address, 3, 0, 2],
  ], 'templates count in persistConns only');
  t.same(templates(m, 5 * S).map((c) => [c.caddr, c.cport, c.vport, c.daddr, c.dport, c.state]), [
    ['10.0.0.0', 0, 3306, SQL2.address, 3306, 'NONE'],
    ['10.0.16.0', 0, 3306, SQL1.address, 3306, 'NONE'],
    ['192.168.0.0', 0, 3306, SQL1.address, 3306, 'NONE'],
  ]);
  t.equal(st.conns, 6, 'templates are not counted as scheduled connections');
  m.process(pkt('10.0.1.7', 40000, ACK), 6 * S);
  t.equal(templates(m, 6 * S)[0].state, 'ASSURED', 'a controlled connection reached ESTABLISHED');
});

t.test('template lifetime: re-armed by use, 60 s retries while it controls connections', async (t) => {
  const m = new ConnTableModel();
  m.setServices([seed()]);
  m.process(pkt('10.0.1.7', 1, SYN), 0);
  m.process(pkt('10.0.1.7', 1, ACK), 1 * S);            // ESTABLISHED until 901 s
  t.equal(templates(m, 1 * S)[0].expiresMs, 59 * S);
  m.process(pkt('10.0.2.8', 2, SYN), 30 * S);           // re-arms the template to 90 s; this conn SYN_RECV until 90 s
  t.equal(templates(m, 30 * S)[0].expiresMs, 60 * S);
  m.expire(90 * S);                                      // template (older) fires first: 2 controlled → 150 s
  t.equal(templates(m, 90 * S)[0].expiresMs, 60 * S);
  t.equal(m.size, 2, 'the SYN_RECV connection expired at 90 s, the template stayed');
  m.process(pkt('10.0.1.7', 1, FIN), 100 * S);          // FIN_WAIT until 220 s
  m.expire(219 * S);                                     // fired at 150 → 210, at 210 → 270
  t.equal(templates(m, 219 * S)[0].expiresMs, 51 * S);
  m.expire(269_999);
  t.equal(m.stats()[0].dests[0].persistConns, 1);
  m.expire(270 * S);
  t.equal(m.size, 0);
  t.equal(m.stats()[0].dests[0].persistConns, 0);

  const p = new ConnTableModel();
  p.setServices([seed({ persistent: 300 })]);
  p.process(pkt('10.0.1.7', 1, SYN), 0);
  p.process(pkt('10.0.1.7', 1, ACK), 1);
  p.expire(300 * S);
  t.equal(templates(p, 300 * S)[0].expiresMs, 60 * S, 'fired at 300 s with a live connection: 60 s');
  p.process(pkt('10.0.3.3', 2, SYN), 310 * S);
  t.equal(templates(p, 310 * S)[0].expiresMs, 60 * S, 'from then on each use re-arms with 60 s, not 300 s');
});

t.test('stickiness outlives the connections until the template expires', async (t) => {
  const m = new ConnTableModel();
  m.setServices([seed({ persistent: 600 })]);
  m.process(pkt('10.0.1.7', 1, SYN), 0);                // SYN_RECV until 60 s
  m.process(pkt('10.0.9.9', 1, SYN), 1);                // same network
  m.expire(100 * S);
  t.same(m.stats()[0].dests.map((d) => d.activeConns + d.inactConns), [0, 0]);
  t.equal(m.process(pkt('10.0.4.4', 1, SYN), 200 * S).dest?.address, SQL2.address, 'still sql2 (wlc alone would say the same: check the flag)');
  t.equal(m.process(pkt('10.0.4.4', 2, SYN), 201 * S).templateCreated, false);
  t.equal(m.process(pkt('10.0.4.4', 3, SYN), 202 * S).dest?.address, SQL2.address, 'sql2 now has 3*256 and sql1 0: persistence wins');
  m.expire(1000 * S);
  t.equal(m.process(pkt('10.0.4.4', 4, SYN), 1000 * S).templateCreated, true, 'after expiry a new template');
});

t.test('quiesced dest: clients stick unless expire_quiescent_template', async (t) => {
  for (const eqt of [false, true]) {
    const m = new ConnTableModel();
    m.setServices([seed({ expireQuiescentTemplate: eqt })]);
    m.process(pkt('10.0.1.7', 1, SYN), 0);
    m.process(pkt('10.0.1.7', 1, ACK), 1);
    m.setServices([seed({ expireQuiescentTemplate: eqt, dests: [{ ...SQL2, weight: 0 }, SQL1] })]);
    const d = m.process(pkt('10.0.5.5', 1, SYN), 2 * S);
    t.same([d.dest?.address, d.templateCreated], eqt ? [SQL1.address, true] : [SQL2.address, false], `expireQuiescentTemplate=${eqt}`);
    t.equal(m.process(pkt('10.0.1.7', 1, ACK), 3 * S).dest?.address, SQL2.address, 'the existing connection continues');
    if (eqt) {
      const ts = templates(m, 3 * S);
      t.same(ts.map((c) => [c.daddr, c.vport, c.dport, c.cport]), [[SQL2.address, 65535, 65535, 0], [SQL1.address, 3306, 3306, 0]], 'old template invalidated');
      m.expire(60 * S);
      t.equal(templates(m, 60 * S).length, 2, 'the invalidated template still controls a connection: re-armed 60 s');
    }
  }
});

t.test('failed dest (down by its health check): its templates are invalid at once, quiesced or not', async (t) => {
  const m = new ConnTableModel();
  m.setServices([seed()]);
  m.process(pkt('10.0.1.7', 1, SYN), 0);
  m.process(pkt('10.0.1.7', 1, ACK), 1);                // ESTABLISHED to sql2, template 10.0.0.0 → sql2
  m.setServices([seed({ dests: [{ ...SQL2, weight: 0, failed: true }, SQL1] })]);
  const d = m.process(pkt('10.0.5.5', 1, SYN), 2 * S);
  t.same([d.dest?.address, d.templateCreated], [SQL1.address, true], 'the next connection of the network is scheduled afresh');
  t.equal(m.process(pkt('10.0.1.7', 1, ACK), 3 * S).dest?.address, SQL2.address, 'the established connection is left alone');
  t.same(templates(m, 3 * S).map((c) => [c.daddr, c.vport, c.dport]), [[SQL2.address, 65535, 65535], [SQL1.address, 3306, 3306]], 'old template out of reach, new one to sql1');
  const again = m.process(pkt('10.0.5.5', 2, SYN), 4 * S);
  t.same([again.dest?.address, again.templateCreated], [SQL1.address, false], 'the new template holds');
  t.same(m.stats()[0].dests.map((x) => x.persistConns), [1, 1], 'the invalidated template ages out in sql2\'s persistConns');

  // Back after reentry (failed cleared, weight restored): templates made meanwhile stay; new networks may land on it.
  m.setServices([seed({ dests: [SQL2, SQL1] })]);
  t.equal(m.process(pkt('10.0.5.5', 3, SYN), 5 * S).dest?.address, SQL1.address, 'the client stays where it was moved');
  const fresh = m.process(pkt('10.0.16.1', 1, SYN), 6 * S);
  t.same([fresh.dest?.address, fresh.templateCreated], [SQL2.address, true], 'a new network is scheduled by wlc, onto the recovered sql2');

  // A network whose client did not come back during the failure is checked when it does: lazily, like IPVS.
  const l = new ConnTableModel();
  l.setServices([seed()]);
  l.process(pkt('10.0.1.7', 1, SYN), 0);
  l.setServices([seed({ dests: [{ ...SQL2, weight: 0, failed: true }, SQL1] })]);
  l.setServices([seed()]);
  t.same([l.process(pkt('10.0.1.7', 2, SYN), S).dest?.address, l.stats()[0].dests[0].persistConns], [SQL2.address, 1], 'recovered before the client came back: its template is valid again');

  // failed with a weight > 0 (not something the director sends) still invalidates: the flag alone decides.
  const w = new ConnTableModel();
  w.setServices([seed()]);
  w.process(pkt('10.0.1.7', 1, SYN), 0);
  w.setServices([seed({ dests: [{ ...SQL2, failed: true }, { ...SQL1, weight: 0 }] })]);
  t.same(w.process(pkt('10.0.1.7', 2, SYN), S).verdict, 'forward', 'rescheduled');
  t.same(templates(w, S).filter((c) => c.vport === 3306).map((c) => c.daddr), [SQL2.address], 'onto the only dest with weight > 0, anew');
});

t.test("an operator's weight 0 is not a failure: IPVS semantics with expire_quiescent_template", async (t) => {
  for (const eqt of [false, true]) {
    const m = new ConnTableModel();
    m.setServices([seed({ expireQuiescentTemplate: eqt })]);
    m.process(pkt('10.0.1.7', 1, SYN), 0);
    m.setServices([seed({ expireQuiescentTemplate: eqt, dests: [{ ...SQL2, weight: 0, failed: false }, SQL1] })]);
    t.equal(m.process(pkt('10.0.5.5', 1, SYN), S).dest?.address, eqt ? SQL1.address : SQL2.address, `drained, expire_quiescent_template=${eqt}`);
  }
});

t.test('removed dest: its template is invalid, the network is scheduled anew', async (t) => {
  const m = new ConnTableModel();
  m.setServices([seed()]);
  m.process(pkt('10.0.1.7', 1, SYN), 0);
  m.setServices([seed({ dests: [SQL1] })]);
  const d = m.process(pkt('10.0.1.8', 1, SYN), 1);
  t.same([d.dest?.address, d.templateCreated], [SQL1.address, true]);
  t.equal(m.process(pkt('10.0.1.7', 1, ACK), 2).verdict, 'drop', 'the old connection still points at the removed dest');
  m.setServices([seed({ dests: [{ ...SQL1, weight: 0 }] })]);
  const q = m.process(pkt('10.0.1.9', 1, SYN), 3);
  t.same([q.dest?.address, q.templateCreated], [SQL1.address, false], 'weight 0 alone does not invalidate');
  m.setServices([seed({ expireQuiescentTemplate: true, dests: [{ ...SQL1, weight: 0 }] })]);
  t.same(m.process(pkt('10.0.1.9', 2, SYN), 4).verdict, 'no_dest', 'invalid template and nobody to schedule');
});

t.test('fwmark and FTP template keys', async (t) => {
  const m = new ConnTableModel();
  m.setServices([service({ vip: '10.0.0.3', port: 0, fwmark: 7, persistent: 60, dests: [{ ...SQL2, port: 0 }, { ...SQL1, port: 0 }] })]);
  const a = m.process(pkt('10.0.1.7', 1, SYN), 0);
  const b = m.process(tcp('10.0.1.7', 2, SYN, { daddr: '10.0.0.3', dport: 443, fwmark: 7 }), 0);
  t.same([a.verdict, a.reason], ['pass', 'no_service'], 'without the mark the fwmark service is not found');
  t.same(b.dest, { address: SQL2.address, port: 443 });
  const c = m.process(tcp('10.0.1.7', 3, SYN, { daddr: '10.0.0.3', dport: 80, fwmark: 7 }), 0);
  t.same([c.dest, c.templateCreated], [{ address: SQL2.address, port: 80 }, false], 'one template for every port of the mark');
  t.same(templates(m, 0).map((x) => [x.caddr, x.vaddr, x.vport, x.dport, x.fwmark]), [['10.0.1.7', '0.0.0.7', 0, 0, 7]]);

  const f = new ConnTableModel();
  f.setServices([service({ port: 21, persistent: 60, dests: [{ ...SQL1, port: 21 }] })]);
  f.process(tcp('10.61.9.1', 1, SYN, { dport: 21 }), 0);
  t.same(templates(f, 0).map((x) => [x.vport, x.dport]), [[0, 0]], 'FTP control port: <proto, caddr, 0, vaddr, 0>');
  const nf = new ConnTableModel();
  nf.setServices([service({ fwmark: 9, scheduler: 'rr', dests: [{ ...SQL1, port: 0 }] })]);
  t.same(nf.process(tcp('10.61.9.1', 1, SYN, { dport: 8080, fwmark: 9 }), 0).dest, { address: SQL1.address, port: 8080 }, 'non-persistent fwmark: any port');
});
