// Differential test: the native table and the scheduler's reference model (ConnTableModel) get the same policy
// changes, clock and packets; every decision, every counter and the connection list must be identical.
import t from 'tap';
import { NativeTable } from '../../src/dataplane/native';
import type { ServiceSpec } from '../../src/dataplane/types';
import { ConnTableModel, type Decision, type PacketSummary, type TcpFlags } from '../../src/scheduler';

const VIP = '10.61.0.100';
type Flags = Partial<TcpFlags>;

class Rng {
  constructor(private s: number) {}
  next(): number {
    this.s = (Math.imul(this.s ^ (this.s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    return this.s;
  }
  int(n: number): number {
    return this.next() % n;
  }
  pick<T>(a: readonly T[]): T {
    return a[this.int(a.length)];
  }
  chance(p: number): boolean {
    return this.next() / 2 ** 32 < p;
  }
}

/** Native verdict → the model's (verdict, reason) pair. */
function expected(d: Decision): string {
  if (d.verdict === 'forward') return 'forward';
  if (d.verdict === 'no_dest') return 'no_dest';
  if (d.verdict === 'drop') return d.reason ?? 'drop';
  return d.reason ?? d.verdict;
}

function nativeAsModel(v: string): string {
  return v === 'no_mac' ? 'forward' : v;
}

interface Pair {
  model: ConnTableModel;
  native: NativeTable;
  services: ServiceSpec[];
}

function setServices(p: Pair, services: ServiceSpec[]): void {
  p.services = services;
  p.model.setServices(services);
  p.native.setServices(services);
}

function counters(p: Pair): { model: unknown; native: unknown } {
  const model = p.model.stats().map((s) => s.dests.map((d) => [d.address, d.activeConns, d.inactConns, d.persistConns, d.conns, d.inPkts, d.inBytes]));
  const rows = p.native.destStats();
  const native = p.services.map((_, i) => rows.filter((r) => r.serviceIndex === i).map((d) => [d.address, d.activeConns, d.inactConns, d.persistConns, d.conns, d.inPkts, d.inBytes]));
  return { model, native };
}

function connKey(c: { protocol: string; caddr: string; cport: number; vaddr: string; vport: number; daddr: string; dport: number; state: string; expiresMs: number; template: boolean }): string {
  return `${c.template ? 'T' : 'C'} ${c.protocol} ${c.caddr}:${c.cport} ${c.vaddr}:${c.vport} ${c.daddr}:${c.dport} ${c.state} ${c.expiresMs}`;
}

function randomServices(r: Rng): ServiceSpec[] {
  const n = 1 + r.int(3);
  const out: ServiceSpec[] = [];
  const used = new Set<string>();
  for (let i = 0; i < n; i++) {
    const protocol = r.pick(['tcp', 'tcp', 'udp'] as const);
    const port = r.pick([80, 3306, 53, 0]);
    if (used.has(`${protocol}${port}`)) continue;
    used.add(`${protocol}${port}`);
    const nd = 1 + r.int(5);
    out.push({
      vip: VIP, port, protocol, fwmark: 0,
      scheduler: r.pick(['wlc', 'lc', 'rr', 'wrr', 'sh', 'mh', 'fo'] as const),
      persistent: port === 0 || r.chance(0.4) ? r.pick([30, 60, 300]) : 0,
      pmask: r.pick(['255.255.255.255', '255.255.255.0', '255.255.240.0', '255.255.0.0']),
      expireQuiescentTemplate: r.chance(0.3),
      expireNodestConn: r.chance(0.3),
      dests: Array.from({ length: nd }, (_, j) => ({
        address: `10.61.0.${11 + j}`, port, weight: r.pick([0, 1, 1, 2, 3, 5]),
        ...(r.chance(0.9) ? { mac: `02:61:00:00:00:${(0x11 + j).toString(16)}` } : {}),
        ...(r.chance(0.15) ? { failed: true } : {}),
      })),
    });
  }
  return out;
}

function mutate(r: Rng, services: ServiceSpec[]): ServiceSpec[] {
  const out = services.map((s) => ({ ...s, dests: s.dests.map((d) => ({ ...d })) }));
  const s = r.pick(out);
  switch (r.int(8)) {
    case 0: if (s.dests.length) r.pick(s.dests).weight = r.pick([0, 0, 1, 2, 4]); break; // quiesce / reweight
    case 1: if (s.dests.length > 1) s.dests.splice(r.int(s.dests.length), 1); break; // remove (to the trash)
    case 2: s.dests.unshift({ address: `10.61.0.${11 + r.int(7)}`, port: s.port, weight: 1 + r.int(3), mac: '02:61:00:00:00:99' }); break; // add at the head
    case 3: if (s.dests.length) { const d = r.pick(s.dests); if (d.mac) delete d.mac; else d.mac = '02:61:00:00:00:98'; } break;
    case 4: s.scheduler = r.pick(['wlc', 'lc', 'rr', 'wrr', 'sh', 'mh', 'fo'] as const); break;
    case 5: return r.chance(0.5) ? randomServices(r) : out.slice(1).concat(out.slice(0, 1)); // new table or reordered services
    case 6: if (s.dests.length) { // down by its health check (quiesced, failed) or back after reentry
      const d = r.pick(s.dests);
      if (d.failed) { delete d.failed; d.weight = 1 + r.int(3); } else { d.failed = true; d.weight = r.chance(0.8) ? 0 : 1; }
    } break;
    case 7: if (s.dests.length) { // writer mode, writer_demote = close: a demoted writer's connections end (or it is the writer again)
      const d = r.pick(s.dests);
      if (d.closeConns) { delete d.closeConns; delete d.failed; d.weight = 1 + r.int(3); } else { d.closeConns = true; d.failed = true; d.weight = 0; }
    } break;
  }
  // Adding a dest that is already listed would be a duplicate: keep the first occurrence.
  for (const x of out) x.dests = x.dests.filter((d, i, a) => a.findIndex((y) => y.address === d.address && y.port === d.port) === i);
  return out;
}

function randomPacket(r: Rng, services: ServiceSpec[]): PacketSummary {
  const s = services.length ? r.pick(services) : undefined;
  const protocol = s && r.chance(0.9) ? s.protocol : r.pick(['tcp', 'udp'] as const);
  const dport = s && s.port && r.chance(0.9) ? s.port : r.pick([80, 3306, 53, 8080]);
  const flagSets: Flags[] = [{ syn: true }, { syn: true }, { ack: true }, { ack: true }, { ack: true }, { fin: true, ack: true }, { rst: true }, {}, { syn: true, ack: true }, { syn: true, rst: true }];
  const flags = protocol === 'tcp' ? r.pick(flagSets) : {};
  const saddr = r.pick(['10.61.1.1', '10.61.1.2', '10.61.2.7', '10.61.15.3', '10.61.16.9', '10.62.0.5', '10.60.255.1', '10.61.1.200']);
  return { protocol, saddr, sport: 1000 + r.int(6), daddr: VIP, dport, flags, len: 40 + r.int(1400) };
}

/** size: the native table's entries, mirrored as the model's capacity (16: full most of the time, evicting). */
function runScenario(t: { fail: (...a: any[]) => unknown; pass: (...a: any[]) => unknown }, seed: number, steps: number, size = 4096): { evictions: number; tableFull: number } {
  const r = new Rng(seed);
  const p: Pair = { model: new ConnTableModel({ requireMac: true, capacity: size }), native: new NativeTable(size), services: [] };
  setServices(p, randomServices(r));
  let now = 1_000_000;
  let mismatches = 0, tableFull = 0;
  const trace = process.env.DD_DIFF_TRACE === String(seed);
  if (trace) console.error(JSON.stringify(p.services));
  const fail = (what: string, detail: unknown): void => {
    if (mismatches++ < 3) t.fail(`seed ${seed} ${what}`, { diagnostic: true, detail } as never);
  };
  for (let i = 0; i < steps && mismatches === 0; i++) {
    const roll = r.int(100);
    if (trace) console.error(i, 'roll', roll, now);
    if (roll < 3) { setServices(p, mutate(r, p.services)); if (trace) console.error(JSON.stringify(p.services)); }
    else if (roll < 4) {
      const to = { tcp: r.pick([900, 100, 30, 0]), tcpfin: r.pick([120, 10, 0]), udp: r.pick([300, 20, 0]) }; // 0 keeps the current value
      p.model.setTimeouts(to);
      p.native.setTimeouts(to);
    } else if (roll < 10) now += r.pick([1000, 5000, 30_000, 61_000, 121_000, 301_000, 901_000]);
    else {
      now += r.int(3) === 0 ? r.int(2000) : 0;
      const pkt = randomPacket(r, p.services);
      const m = p.model.process(pkt, now);
      const n = p.native.processPacket(pkt, now);
      if (trace) console.error(JSON.stringify({ pkt, m, n }));
      const want = expected(m);
      if (want === 'table_full') tableFull++;
      const got = nativeAsModel(n.verdict);
      const sameDest = m.verdict !== 'forward' || (n.dest?.address === m.dest?.address);
      const sameState = m.verdict !== 'forward' || n.state === m.state;
      const sameNew = m.verdict !== 'forward' || n.created === m.newConn;
      if (want !== got || !sameDest || !sameState || !sameNew) {
        fail(`step ${i}: decision differs`, { pkt, now, model: m, native: n });
      }
    }
    if (i % 25 === 0 || i === steps - 1) {
      const c = counters(p);
      if (JSON.stringify(c.model) !== JSON.stringify(c.native)) fail(`step ${i}: counters differ`, c);
      const ev = { model: p.model.evictions, native: p.native.counters().counters.evictions };
      if (ev.model !== ev.native) fail(`step ${i}: evictions differ`, ev);
      p.model.expire(now); // the model's connections() reports due entries until something runs its timers
      const mc = p.model.connections(now).map(connKey).sort();
      const nc = p.native.connections(1 << 20, now).map(connKey).sort();
      if (JSON.stringify(mc) !== JSON.stringify(nc)) fail(`step ${i}: connections differ`, { model: mc, native: nc });
    }
  }
  if (mismatches === 0) t.pass(`seed ${seed}: ${steps} steps identical`);
  return { evictions: p.model.evictions, tableFull };
}

t.test('random scenarios: native table === reference model', async (t) => {
  for (let seed = 1; seed <= 60; seed++) runScenario(t, seed, 600);
});

t.test('random scenarios in a full 16-entry table: the same evictions and refusals', async (t) => {
  let evictions = 0, tableFull = 0;
  for (let seed = 101; seed <= 140; seed++) {
    const r = runScenario(t, seed, 600, 16);
    evictions += r.evictions;
    tableFull += r.tableFull;
  }
  t.ok(evictions > 100 && tableFull > 10, `exercised: ${evictions} evictions, ${tableFull} refusals`);
});

t.test('hand-written sequence: persistence /20, quiesce, removal, timeouts, against hand-derived IPVS results', async (t) => {
  const p: Pair = { model: new ConnTableModel({ requireMac: true }), native: new NativeTable(1024), services: [] };
  const mac = (i: number) => `02:61:00:00:00:${(16 + i).toString(16)}`;
  const base: ServiceSpec = { vip: VIP, port: 3306, protocol: 'tcp', fwmark: 0, scheduler: 'wlc', persistent: 60, pmask: '255.255.240.0',
    expireQuiescentTemplate: false, expireNodestConn: false, dests: [1, 2, 3].map((i) => ({ address: `10.61.0.${10 + i}`, port: 3306, weight: 1, mac: mac(i) })) };
  setServices(p, [base]);
  // Expected values worked out by hand from the kernel's rules, not from either implementation: wlc overhead =
  // activeconns * 256 + inactconns, ties to the first dest in list order (ip_vs_wlc.c); a new TCP connection is
  // inactive until ESTABLISHED, a template counts in persistconns only (ip_vs_bind_dest); the persistence template
  // key is saddr & pmask (10.61.0.0/20 holds 10.61.1.1, 10.61.2.2, 10.61.3.3; 10.61.16.1 is in 10.61.16.0/20); the
  // DR (input-only) state table: SYN -> SYN_RECV, ES + ACK, FIN -> FIN_WAIT, ES + RST -> CLOSE (ip_vs_proto_tcp.c);
  // default timeouts ESTABLISHED 900 s, FIN_WAIT 120 s, SYN_RECV 60 s, CLOSE 10 s; a template whose timer runs out
  // while it still controls a connection is re-armed (ip_vs_conn_expire); a non-SYN with no connection is not
  // scheduled and goes to the local stack (pass / no_conn).
  const seq: Array<[number, string, number, Flags, [verdict: string, dest: string | undefined, state: string | undefined, created: boolean], string]> = [
    [0, '10.61.1.1', 1, { syn: true }, ['forward', '10.61.0.11', 'SYN_RECV', true], 'all idle: the first dest; template 10.61.0.0/20 -> .11'],
    [1, '10.61.1.1', 1, { ack: true }, ['forward', '10.61.0.11', 'ESTABLISHED', false], 'ACK establishes'],
    [2, '10.61.2.2', 1, { syn: true }, ['forward', '10.61.0.11', 'SYN_RECV', true], 'same /20: the template wins over wlc'],
    [3, '10.61.16.1', 1, { syn: true }, ['forward', '10.61.0.12', 'SYN_RECV', true], 'other /20: wlc, .11 has overhead 257, .12 is first of the idle'],
    [4, '10.61.16.1', 1, { ack: true }, ['forward', '10.61.0.12', 'ESTABLISHED', false], 'ACK establishes'],
    [5, '10.61.1.1', 1, { fin: true, ack: true }, ['forward', '10.61.0.11', 'FIN_WAIT', false], 'ES + FIN -> FIN_WAIT (120 s)'],
    [70_000, '10.61.1.1', 2, { syn: true }, ['forward', '10.61.0.11', 'SYN_RECV', true], 'template past 60 s but re-armed: its FIN_WAIT connection lives to 125 s'],
    [70_001, '10.61.3.3', 9, { ack: true }, ['pass', undefined, undefined, false], 'ACK with no connection: not scheduled'],
    [200_000, '10.61.16.1', 1, { rst: true }, ['forward', '10.61.0.12', 'CLOSE', false], 'ESTABLISHED (900 s) still there; RST -> CLOSE'],
  ];
  for (const [tm, saddr, sport, flags, want, why] of seq) {
    const pkt: PacketSummary = { protocol: 'tcp', saddr, sport, daddr: VIP, dport: 3306, flags, len: 60 };
    const m = p.model.process(pkt, 1e6 + tm);
    const n = p.native.processPacket(pkt, 1e6 + tm);
    const at = `${saddr}:${sport} ${JSON.stringify(flags)} @${tm}: ${why}`;
    t.same([m.verdict, m.dest?.address, m.verdict === 'forward' ? m.state : undefined, m.newConn], want, `model: ${at}`);
    const nv = nativeAsModel(n.verdict) === 'no_conn' ? 'pass' : nativeAsModel(n.verdict);
    t.same([nv, n.dest?.address, n.verdict === 'forward' ? n.state : undefined, n.created], want, `native: ${at}`);
  }
  // At 200 s: .11's three connections and its template have expired (SYN_RECV 60 s, FIN_WAIT 120 s); .12 keeps the
  // CLOSE connection (inactive) and its template. Columns: address, active, inactive, persist, conns, inPkts, inBytes.
  const at200 = [[['10.61.0.11', 0, 0, 0, 3, 5, 300], ['10.61.0.12', 0, 1, 1, 1, 3, 180], ['10.61.0.13', 0, 0, 0, 0, 0, 0]]];
  const c0 = counters(p);
  t.same(c0.model, at200, 'model counters at 200 s');
  t.same(c0.native, at200, 'native counters at 200 s');
  setServices(p, [{ ...base, dests: base.dests.map((d, i) => ({ ...d, weight: i === 0 ? 0 : 1 })) }]);
  setServices(p, [{ ...base, dests: base.dests.slice(1) }]);
  const c = counters(p);
  // .11 quiesced then removed with nothing left on it: gone (no trash entry to show).
  t.same(c.model, [at200[0].slice(1)], 'model counters after quiesce + removal');
  t.same(c.native, c.model, 'native counters after quiesce + removal');
  // At 300 s the CLOSE connection (to 210 s) and then its template (60 s after) are gone too.
  p.model.expire(1e6 + 300_000);
  t.same(p.model.connections(1e6 + 300_000).map(connKey), [], 'model: nothing left at 300 s');
  t.same(p.native.connections(100, 1e6 + 300_000).map(connKey), [], 'native: nothing left at 300 s');
});

t.test('wrr: one setServices diff leaves the state of the ipvsadm calls it stands for, in the model and the native table', async (t) => {
  const d = (i: number, weight: number) => ({ address: `10.61.0.${10 + i}`, port: 3306, weight, mac: `02:61:00:00:00:${(16 + i).toString(16)}` });
  const svc = (dests: ServiceSpec['dests']): ServiceSpec => ({ vip: VIP, port: 3306, protocol: 'tcp', fwmark: 0, scheduler: 'wrr', persistent: 0,
    pmask: '255.255.255.255', expireQuiescentTemplate: false, expireNodestConn: false, dests });
  let port = 1000;
  /** Pick order of n new connections (a SYN then an RST each, so nothing stays), model and native side by side. */
  const picks = (p: Pair, n: number): { model: string; native: string } => {
    const m: string[] = [], nat: string[] = [];
    for (let i = 0; i < n; i++) {
      const pkt: PacketSummary = { protocol: 'tcp', saddr: '10.61.1.1', sport: port++, daddr: VIP, dport: 3306, flags: { syn: true }, len: 60 };
      m.push(p.model.process(pkt, 1e6).dest?.address.split('.')[3] ?? '-');
      nat.push(p.native.processPacket(pkt, 1e6).dest?.address.split('.')[3] ?? '-');
      p.model.process({ ...pkt, flags: { rst: true } }, 1e6);
      p.native.processPacket({ ...pkt, flags: { rst: true } }, 1e6);
    }
    return { model: m.join(' '), native: nat.join(' ') };
  };
  const pair = (): Pair => ({ model: new ConnTableModel({ requireMac: true }), native: new NativeTable(1024), services: [] });
  // 11 = weight 9, 12 = weight 6, 13 = weight 4; each ipvsadm -a puts the new dest at the head.
  const w9 = d(1, 9), w6 = d(2, 6), w4 = d(3, 4);
  // Hand-derived from ip_vs_wrr.c: the adds leave cw at 1 (9: gcd 9, mw 1, cw 0 → 1; 6: gcd 3, (1/3)·3+1 = 1;
  // 4: gcd 1, kept), so the first pass takes every dest from the head, then cw wraps to mw 9 and steps down by 1.
  const want = '13 12 11 11 11 11 12 11 12 11 13 12 11';

  const seq = pair();
  for (const dests of [[], [w9], [w6, w9], [w4, w6, w9]]) setServices(seq, [svc(dests)]);
  t.same(picks(seq, 13), { model: want, native: want }, 'three ipvsadm -a calls');
  const diff = pair();
  setServices(diff, [svc([])]);
  setServices(diff, [svc([w4, w6, w9])]);
  t.same(picks(diff, 13), { model: want, native: want }, 'the same three adds in one diff');
  const fresh = pair();
  setServices(fresh, [svc([w4, w6, w9])]);
  t.same(picks(fresh, 13), { model: want, native: want }, 'a new service with its dests: ipvsadm -A, then the adds');

  // Delete, edit and add in one diff = ipvsadm -d, -e, -a in that order, from the same mid-walk state.
  const a = d(4, 2), b = d(5, 4), c = d(6, 6), n = d(7, 5);
  const mixedSeq = pair(), mixedDiff = pair();
  for (const p of [mixedSeq, mixedDiff]) { setServices(p, [svc([a, b, c])]); picks(p, 4); }
  for (const dests of [[a, c], [a, { ...c, weight: 3 }], [n, a, { ...c, weight: 3 }]]) setServices(mixedSeq, [svc(dests)]);
  setServices(mixedDiff, [svc([n, a, { ...c, weight: 3 }])]);
  const s1 = picks(mixedSeq, 12), s2 = picks(mixedDiff, 12);
  t.equal(s1.model, s1.native, 'sequential: model === native');
  t.same(s2, s1, 'delete + edit + add in one diff === the three calls');
});
