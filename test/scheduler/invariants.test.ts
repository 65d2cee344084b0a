// Random sequences (seeded) through ConnTableModel, checking after every step that the counters agree with a
// recount of connections(): Active/InAct by state, PersistConns by templates, no entry past its expiry.
import t, { type Test } from 'tap';
import { ACTIVE_STATES_CURRENT, ACTIVE_STATES_LEGACY, ConnTableModel, type ModelServiceSpec } from '../../src/scheduler';
import { service, tcp } from './helpers';

class Rng {
  constructor(private s: number) {}
  next(): number { this.s = (Math.imul(this.s, 1103515245) + 12345) >>> 0; return this.s / 2 ** 32; }
  int(n: number): number { return Math.floor(this.next() * n); }
  pick<T>(a: readonly T[]): T { return a[this.int(a.length)]; }
}

const POOL = ['10.61.3.1', '10.61.3.2', '10.61.3.3', '10.61.3.4'];
const CLIENTS = ['10.61.8.1', '10.61.8.2', '10.61.9.200', '10.61.24.7', '192.0.2.1'];
const FLAGS = [{ syn: true }, { syn: true }, { ack: true }, { ack: true }, { fin: true, ack: true }, { rst: true }, {}, { syn: true, rst: true }];

function randomSpec(r: Rng): ModelServiceSpec {
  const dests = POOL.filter(() => r.next() < 0.7).map((address) => ({ address, port: 3306, weight: r.pick([0, 1, 1, 2, 5]) }));
  return service({
    scheduler: r.pick(['wlc', 'lc', 'rr', 'wrr', 'sh', 'mh', 'fo'] as const), persistent: r.pick([0, 0, 30, 300]), pmask: r.pick(['255.255.240.0', '255.255.255.255']),
    expireQuiescentTemplate: r.next() < 0.5, expireNodestConn: r.next() < 0.5, dests,
  });
}

function check(t: Test, m: ConnTableModel, now: number, legacy: boolean, where: string): boolean {
  const conns = m.connections(now);
  const active = legacy ? ACTIVE_STATES_LEGACY : ACTIVE_STATES_CURRENT;
  const want = new Map<string, [number, number, number]>();
  for (const c of conns) {
    if (c.expiresMs <= 0) { t.fail(`${where}: entry past its expiry`, { c }); return false; }
    const row = want.get(c.daddr) ?? [0, 0, 0];
    if (c.template) row[2]++;
    else if (active.has(c.state as never)) row[0]++;
    else row[1]++;
    want.set(c.daddr, row);
  }
  const have = new Map<string, [number, number, number]>();
  for (const d of m.stats().flatMap((s) => s.dests)) have.set(d.address, [d.activeConns, d.inactConns, d.persistConns]);
  for (const d of m.trashedDests()) have.set(d.address, [d.activeConns, d.inactConns, d.persistConns]);
  for (const addr of new Set([...want.keys(), ...have.keys()])) {
    const w = want.get(addr) ?? [0, 0, 0], h = have.get(addr) ?? [0, 0, 0];
    if (w.join() !== h.join()) { t.fail(`${where}: counters of ${addr} ${h} ≠ recount ${w}`); return false; }
  }
  if (m.size !== conns.length) { t.fail(`${where}: size ${m.size} ≠ ${conns.length}`); return false; }
  return true;
}

t.test('counters always equal a recount of the table', async (t) => {
  for (let seed = 1; seed <= 40; seed++) {
    const r = new Rng(seed);
    const legacy = seed % 2 === 0;
    const m = new ConnTableModel({ activeStates: legacy ? 'legacy' : 'current', timeouts: { tcp: r.pick([0, 100]), tcpfin: 0, udp: 0 } });
    m.setServices([randomSpec(r)]);
    let now = 0, ok = true;
    for (let step = 0; step < 400 && ok; step++) {
      const roll = r.int(100);
      if (roll < 4) m.setServices([randomSpec(r)]);
      else if (roll < 12) now += r.pick([500, 10_000, 61_000, 130_000, 400_000]);
      else m.process(tcp(r.pick(CLIENTS), 1000 + r.int(4), r.pick(FLAGS)), now);
      ok = check(t, m, now, legacy, `seed ${seed} step ${step}`);
    }
    if (ok) t.pass(`seed ${seed}`);
  }
});
