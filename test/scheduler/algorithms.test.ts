// The seven schedulers on hand-derived tables (from ip_vs_{wlc,lc,rr,wrr,sh,mh,fo}.c): ties, weight 0, overload,
// cursor moves on deletion, wrr reset on change, sh bucket layout, mh population and disruption.
import t from 'tap';
import {
  MH_TAB_SIZE, MaglevHash, RoundRobin, SourceHash, WeightedRoundRobin, createScheduler, foPick, gcd, ipToU32, lcPick, newSchedDest, wlcPick,
  type SchedDest, wrrCallSequence, wrrDestChanged,
} from '../../src/scheduler';
import { dests, nameOf } from './helpers';
import { IPVS_HASH, mhSlot } from './ipvs-fixture';

t.test('wlc: min overhead/weight, ties to the earlier entry, weight 0 and overloaded never chosen', async (t) => {
  const table: { why: string; rows: Parameters<typeof dests>[0]; want: string | null }[] = [
    { why: 'all idle: first entry', rows: [{ name: 'a', weight: 1 }, { name: 'b', weight: 1 }], want: 'a' },
    { why: 'idle, heavier later entry: 0*3 > 0*1 is false', rows: [{ name: 'a', weight: 1 }, { name: 'b', weight: 3 }], want: 'a' },
    { why: 'one inactive conn on a: 1*3 > 0*1', rows: [{ name: 'a', weight: 1, inact: 1 }, { name: 'b', weight: 3 }], want: 'b' },
    { why: 'exact tie 256*2 = 512*1 stays on a', rows: [{ name: 'a', weight: 1, active: 1 }, { name: 'b', weight: 2, active: 2 }], want: 'a' },
    { why: '256*3 > 512*1', rows: [{ name: 'a', weight: 1, active: 1 }, { name: 'b', weight: 3, active: 2 }], want: 'b' },
    { why: 'active weighs 256 inactive: 256 > 255', rows: [{ name: 'a', weight: 1, active: 1 }, { name: 'b', weight: 1, inact: 255 }], want: 'b' },
    { why: '256 vs 256 inactive: tie', rows: [{ name: 'a', weight: 1, active: 1 }, { name: 'b', weight: 1, inact: 256 }], want: 'a' },
    { why: 'weight-0 head skipped as first candidate', rows: [{ name: 'a', weight: 0 }, { name: 'b', weight: 1, active: 5 }], want: 'b' },
    { why: 'weight-0 later entry with 0 overhead never replaces', rows: [{ name: 'a', weight: 1, active: 9 }, { name: 'b', weight: 0 }], want: 'a' },
    { why: 'all weight 0', rows: [{ name: 'a', weight: 0 }, { name: 'b', weight: 0 }], want: null },
    { why: 'empty list', rows: [], want: null },
    { why: 'overloaded head skipped', rows: [{ name: 'a', weight: 1, overloaded: true }, { name: 'b', weight: 1, active: 3 }], want: 'b' },
    { why: 'overloaded later entry skipped', rows: [{ name: 'a', weight: 1, active: 3 }, { name: 'b', weight: 1, overloaded: true }], want: 'a' },
    {
      why: 'three-way: a loh 3 w2; b 3*1 > 1*2 → b; c 1*1 > 2*1 no',
      rows: [{ name: 'a', weight: 2, inact: 3 }, { name: 'b', weight: 1, inact: 1 }, { name: 'c', weight: 1, inact: 2 }], want: 'b',
    },
  ];
  for (const row of table) t.equal(nameOf(wlcPick(dests(row.rows))), row.want, row.why);
});

t.test('lc: weights ignored except 0, strict < keeps the first minimum', async (t) => {
  const table: { why: string; rows: Parameters<typeof dests>[0]; want: string | null }[] = [
    { why: 'equal overhead, different weights', rows: [{ name: 'a', weight: 1, inact: 1 }, { name: 'b', weight: 100, inact: 1 }], want: 'a' },
    { why: 'lower overhead wins whatever the weight', rows: [{ name: 'a', weight: 5, inact: 2 }, { name: 'b', weight: 1, inact: 1 }], want: 'b' },
    { why: 'weight 0 skipped even when idle', rows: [{ name: 'a', weight: 0 }, { name: 'b', weight: 1, active: 2 }], want: 'b' },
    { why: 'overloaded skipped', rows: [{ name: 'a', weight: 1, overloaded: true }, { name: 'b', weight: 1, active: 2 }], want: 'b' },
    { why: 'nobody', rows: [{ name: 'a', weight: 0 }], want: null },
  ];
  for (const row of table) t.equal(nameOf(lcPick(dests(row.rows))), row.want, row.why);
});

t.test('fo: the highest weight among non-overloaded dests, ties to the earlier entry, weight 0 never', async (t) => {
  // Expected values worked out by hand from ip_vs_fo_schedule's loop (`weight > hw`, hw starting at 0).
  const table: { why: string; rows: Parameters<typeof dests>[0]; want: string | null }[] = [
    { why: 'equal weights: the list head', rows: [{ name: 'a', weight: 1 }, { name: 'b', weight: 1 }], want: 'a' },
    { why: 'a heavier later entry wins', rows: [{ name: 'a', weight: 1 }, { name: 'b', weight: 2 }], want: 'b' },
    { why: 'a heavier head wins', rows: [{ name: 'a', weight: 5 }, { name: 'b', weight: 2 }], want: 'a' },
    { why: 'tie between b and c after a lighter head: b', rows: [{ name: 'a', weight: 1 }, { name: 'b', weight: 3 }, { name: 'c', weight: 3 }], want: 'b' },
    { why: 'connections do not matter', rows: [{ name: 'a', weight: 2, active: 900 }, { name: 'b', weight: 1 }], want: 'a' },
    { why: 'the heaviest is overloaded: the next heaviest', rows: [{ name: 'a', weight: 9, overloaded: true }, { name: 'b', weight: 1 }, { name: 'c', weight: 4 }], want: 'c' },
    { why: 'a quiesced (weight 0) heaviest is skipped', rows: [{ name: 'a', weight: 0 }, { name: 'b', weight: 1 }], want: 'b' },
    { why: 'all weight 0: nobody', rows: [{ name: 'a', weight: 0 }, { name: 'b', weight: 0 }], want: null },
    { why: 'only overloaded: nobody', rows: [{ name: 'a', weight: 3, overloaded: true }], want: null },
    { why: 'empty list', rows: [], want: null },
    { why: 'large weights', rows: [{ name: 'a', weight: 65534 }, { name: 'b', weight: 65535 }, { name: 'c', weight: 65535 }], want: 'b' },
  ];
  for (const row of table) t.equal(nameOf(foPick(dests(row.rows))), row.want, row.why);
  const list = dests([{ name: 'a', weight: 1 }, { name: 'b', weight: 2 }]);
  const fo = createScheduler('fo', list);
  t.same(Array.from({ length: 4 }, () => nameOf(fo.schedule(list, 0, 0))), ['b', 'b', 'b', 'b'], 'stateless: always the same one');
});

function run(s: { schedule(l: readonly SchedDest[], a: number, p: number): SchedDest | null }, list: SchedDest[], n: number): (string | null)[] {
  return Array.from({ length: n }, () => nameOf(s.schedule(list, 0, 0)));
}

t.test('rr: cursor walk skips weight 0; deleting the cursor entry moves it back', async (t) => {
  const [a, b, c] = dests([{ name: 'a', weight: 1 }, { name: 'b', weight: 0 }, { name: 'c', weight: 2 }]);
  const rr = new RoundRobin();
  t.same(run(rr, [a, b, c], 4), ['a', 'c', 'a', 'c']);

  const [p, q, r] = dests([{ name: 'p', weight: 1 }, { name: 'q', weight: 1 }, { name: 'r', weight: 1 }]);
  const rr2 = new RoundRobin();
  t.same(run(rr2, [p, q, r], 2), ['p', 'q'], 'cursor on q');
  rr2.destsChanged([p, q, r], [p, r]);
  t.equal(rr2.cursor, p, 'deleted cursor entry → previous entry');
  t.same(run(rr2, [p, r], 3), ['r', 'p', 'r']);
  rr2.destsChanged([p, r], [r]);
  t.equal(rr2.cursor, r, 'cursor on r survives deleting p');
  rr2.destsChanged([r], [q]);
  t.equal(rr2.cursor, null, 'deleting the first entry → list head');
  t.same(run(rr2, [q], 1), ['q']);

  const [x, y] = dests([{ name: 'x', weight: 1 }, { name: 'y', weight: 1 }]);
  const [n] = dests([{ name: 'n', weight: 1 }]);
  const rr3 = new RoundRobin();
  t.same(run(rr3, [x, y], 1), ['x']);
  rr3.destsChanged([x, y], [n, x, y]);
  t.same(run(rr3, [n, x, y], 3), ['y', 'n', 'x'], 'a new dest at the head is reached after the wrap');
  t.same(run(new RoundRobin(), dests([{ name: 'z', weight: 0 }]), 1), [null], 'no weight > 0');
  const rr4 = new RoundRobin();
  t.same(run(rr4, [x, y], 1), ['x']);
  x.overloaded = true;
  y.weight = 0;
  t.same(run(rr4, [x, y], 1), [null], 'nothing usable: cursor stays');
  t.equal(rr4.cursor, x);
});

t.test('wrr: gcd/max-weight walk, reset to the head on any change', async (t) => {
  const [a, b, c] = dests([{ name: 'a', weight: 4 }, { name: 'b', weight: 3 }, { name: 'c', weight: 2 }]);
  const w = new WeightedRoundRobin([a, b, c]);
  // cw 4: a | cw 3: a b | cw 2: a b c | cw 1: a b c | wrap to 4
  t.same(run(w, [a, b, c], 10), ['a', 'a', 'b', 'a', 'b', 'c', 'a', 'b', 'c', 'a']);

  const w2 = new WeightedRoundRobin([a, b, c]);
  t.same(run(w2, [a, b, c], 3), ['a', 'a', 'b'], 'cursor on b, cw 3');
  c.weight = 4;
  w2.destsChanged([a, b, c], [a, b, c]);
  t.equal(w2.cl, -1, 'cursor back at the head');
  t.equal(w2.cw, 3, 'cw 3 <= new mw 4 and gcd 1: kept');
  // Without the reset the next pick would be c (after b); with it the walk restarts at a.
  t.same(run(w2, [a, b, c], 12), ['a', 'b', 'c', 'a', 'b', 'c', 'a', 'b', 'c', 'a', 'c', 'a']);

  const [g2, g4] = dests([{ name: 'g2', weight: 2 }, { name: 'g4', weight: 4 }]);
  const wg = new WeightedRoundRobin([g2, g4]);
  t.same([wg.di, wg.mw, wg.cw], [2, 3, 3], 'di = gcd 2, mw = 4 - (2 - 1)');
  t.same(run(wg, [g2, g4], 6), ['g4', 'g2', 'g4', 'g4', 'g2', 'g4'], '2:1 for weights 4:2');

  const wc = new WeightedRoundRobin([g2, g4]);
  t.same(run(wc, [g2, g4], 1), ['g4']);
  g4.weight = 6;
  wc.destsChanged([g2, g4], [g2, g4]);
  t.same([wc.di, wc.mw, wc.cw], [2, 5, 3], 'gcd 2: cw realigned to (3/2)*2+1');
  g4.weight = 1;
  wc.destsChanged([g2, g4], [g2, g4]);
  t.same([wc.di, wc.mw, wc.cw], [1, 2, 2], 'cw 3 > new mw 2: clamped');

  const [z, one] = dests([{ name: 'z', weight: 0 }, { name: 'one', weight: 1 }]);
  t.same(run(new WeightedRoundRobin([z, one]), [z, one], 3), ['one', 'one', 'one'], 'weight 0 never chosen');
  t.same(run(new WeightedRoundRobin([z]), [z], 1), [null], 'all weight 0: mw 0');
  const [z1, z2] = dests([{ name: 'z1', weight: 0 }, { name: 'z2', weight: 0 }]);
  const wz = new WeightedRoundRobin([z1, z2]);
  t.equal(wz.cw, 0, 'created with no weights: cw 0');
  z2.weight = 1;
  wz.destsChanged([z1, z2], [z1, z2]);
  t.same([wz.di, wz.mw, wz.cw], [1, 1, 1], 'cw 0 is set to mw (not left at 0, which would admit weight 0)');
  t.same(run(wz, [z1, z2], 3), ['z2', 'z2', 'z2'], 'the weight-0 entry is never chosen');
  const [o1, o2] = dests([{ name: 'o1', weight: 1, overloaded: true }, { name: 'o2', weight: 1, overloaded: true }]);
  const wo = new WeightedRoundRobin([o1, o2]);
  t.same(run(wo, [o1, o2], 1), [null], 'all overloaded from the head');
  t.equal(wo.cl, -1);
  const [m1, m2, m3] = dests([{ name: 'm1', weight: 1 }, { name: 'm2', weight: 1 }, { name: 'm3', weight: 2 }]);
  const wm = new WeightedRoundRobin([m1, m2, m3]);
  t.same(run(wm, [m1, m2, m3], 2), ['m3', 'm1'], 'cw 2: m3, then cw 1: m1');
  m1.overloaded = m2.overloaded = m3.overloaded = true;
  t.same(run(wm, [m1, m2, m3], 1), [null], 'overloaded after a restart: stops at the last cursor');
  t.equal(wm.cl, 0, 'stopped on the old cursor entry (err_over)');
  t.equal(gcd(12, 18), 6);
});

t.test('sh: weight-consecutive buckets in list order, weight 0 takes one bucket but is not chosen', async (t) => {
  const [a, b, c] = dests([{ name: 'a', weight: 2 }, { name: 'b', weight: 0 }, { name: 'c', weight: 1 }]);
  const sh = new SourceHash([a, b, c]);
  const layout = ['a', 'a', 'b', 'c'];
  for (let i = 0; i < 256; i++) t.equal(nameOf(sh.buckets[i]), layout[i % 4], `bucket ${i}`);
  // hash_32(addr, 8) by hand: 0.0.0.1 → 97 (a), 0.0.0.2 → 195 (c), 0.0.0.6 → 74 (b, weight 0).
  t.equal(nameOf(sh.schedule([a, b, c], 1, 0)), 'a');
  t.equal(nameOf(sh.schedule([a, b, c], 2, 0)), 'c');
  t.equal(sh.schedule([a, b, c], 6, 0), null, 'weight-0 bucket: no dest');
  t.equal(nameOf(sh.schedule([a, b, c], 6, 9)), null, 'client port ignored without sh-port');
  const fb = new SourceHash([a, b, c], { fallback: true });
  // ip_vs_sh_get_fallback re-hashes with offset roffset = ihash: (74 + 74) % 256 = 148 → bucket 148 = a.
  t.equal(nameOf(fb.schedule([a, b, c], 6, 0)), 'a');
  const sp = new SourceHash([a, b, c], { port: true });
  t.equal(sp.schedule([a, b, c], 4, 2), null, 'sh-port: hash_32(2 + 4) = 74');
  t.equal(nameOf(sp.schedule([a, b, c], 4, 0)), 'c', 'hash_32(4) = 135 → c');
  b.weight = 1;
  sh.destsChanged([a, b, c], [a, b, c]);
  t.equal(nameOf(sh.schedule([a, b, c], 6, 0)), 'b', 'reassigned after the weight change');
  const empty = new SourceHash([]);
  t.equal(empty.schedule([], 1, 0), null);
  a.weight = 0; b.weight = 0; c.weight = 0;
  t.equal(fb.schedule([a, b, c], 6, 0), null, 'fallback finds nobody');
});

t.test('mh: Maglev population, weights, quiesce keeps slots, minimal disruption', async (t) => {
  const [a, b] = dests([{ name: 'a', weight: 1 }, { name: 'b', weight: 1 }]);
  const mh = new MaglevHash([a, b]);
  const count = (m: MaglevHash, d: SchedDest) => m.table.filter((x) => x === d).length;
  t.equal(count(mh, a) + count(mh, b), MH_TAB_SIZE, 'every slot filled');
  t.same([count(mh, a), count(mh, b)], [2047, 2046], 'equal turns alternate: the head takes the odd slot');

  const [h, l] = dests([{ name: 'h', weight: 2 }, { name: 'l', weight: 1 }]);
  const mw = new MaglevHash([h, l]);
  t.same([count(mw, h), count(mw, l)], [2729, 1364], 'turns 2:1 per round, 4093 = 3*1364 + 1');

  const client = ipToU32('192.0.2.7');
  const slot = mhSlot('192.0.2.7');
  t.equal(mh.schedule([a, b], client, 0), mh.table[slot], 'lookup = table[hsiphash(client) % 4093] (slot from ipvs-hash.json)');

  const owner = mh.table[slot] as SchedDest;
  const other = owner === a ? b : a;
  const before = [...mh.table];
  owner.weight = 0; // quiesced: last_weight stays, so the table does not change
  mh.destsChanged([a, b], [a, b]);
  t.same(mh.table, before, 'quiesce keeps the slots (last_weight)');
  t.equal(mh.schedule([a, b], client, 0), null, 'but the quiesced owner is unavailable');
  const fb = new MaglevHash([a, b], { fallback: true });
  t.equal(fb.schedule([a, b], client, 0), other, 'mh-fallback finds the other dest');
  owner.weight = 1;

  const three = dests([{ name: 'x', weight: 1 }, { name: 'y', weight: 1 }, { name: 'z', weight: 1 }]);
  const m3 = new MaglevHash(three);
  const old = [...m3.table];
  m3.destsChanged(three, [three[0], three[2]]);
  t.notOk(m3.table.includes(three[1]), 'the removed dest has no slot left');
  const moved = old.filter((d, i) => d !== three[1] && m3.table[i] !== d).length;
  t.ok(moved < MH_TAB_SIZE * 0.1, `few survivor slots move (${moved})`);

  const [big, small] = dests([{ name: 'big', weight: 64 }, { name: 'small', weight: 1 }]);
  const ms = new MaglevHash([big, small]);
  t.same([ms.gcd, ms.rshift], [1, 1], 'fls(64) = 7 > 6 bits: shift 1');
  t.ok(count(ms, small) > 0, 'turns (1 >> 1) || 1 still gives small a turn');
  t.equal(new MaglevHash(dests([{ name: 'w', weight: 63 }, { name: 'v', weight: 1 }])).rshift, 0);

  const [zero, one] = dests([{ name: 'zero', weight: 0 }, { name: 'one', weight: 1 }]);
  const mz = new MaglevHash([zero, one]);
  t.equal(count(mz, zero), 0, 'added with weight 0: no slots');
  const none = new MaglevHash(dests([{ name: 'n', weight: 0 }]));
  t.ok(none.table.every((x) => x === null), 'all weight 0: empty table');
  t.equal(none.schedule([], client, 0), null);
  const mp = new MaglevHash([a, b], { port: true });
  t.equal(mp.schedule([a, b], client, 5), mp.table[mhSlot('192.0.2.7', 5)], 'mh-port hashes addr + port');
  a.weight = 0; b.weight = 0;
  t.equal(fb.schedule([a, b], client, 0), null, 'fallback with nobody available');
});

t.test('mh: lookup tables and lookups equal ip_vs_mh.c as rendered independently (ipvs-hash.json)', async (t) => {
  const letters = (m: MaglevHash, list: SchedDest[]) => m.table.map((d) => (d ? 'abcdefghijklmnopqrstuvwxyz'[list.indexOf(d)] : '.')).join('');
  for (const f of IPVS_HASH.maglev) {
    const list = f.dests.map((d) => {
      const x = newSchedDest(d.address, ipToU32(d.address), d.port);
      x.weight = x.lastWeight = d.weight;
      return x;
    });
    const m = new MaglevHash(list);
    const got = letters(m, list);
    const wrong = [...got].findIndex((c, i) => c !== f.table[i]);
    t.equal(wrong, -1, `weights ${f.dests.map((d) => d.weight).join('/')}: the whole table${wrong < 0 ? '' : `, first difference at slot ${wrong}`}`);
    for (const s of IPVS_HASH.mhSlot.filter((x) => x.port === 0)) {
      const d = m.schedule(list, ipToU32(s.client), 0);
      t.equal(d ? 'abcdefghijklmnopqrstuvwxyz'[list.indexOf(d)] : '.', f.table[s.slot], `${s.client} gets slot ${s.slot}'s owner`);
    }
  }
  // Removing the middle of three keeps the table of the two that remain (as built from scratch).
  const [three, two] = [IPVS_HASH.maglev[3], IPVS_HASH.maglev[4]];
  const list = three.dests.map((d) => Object.assign(newSchedDest(d.address, ipToU32(d.address), d.port), { weight: d.weight, lastWeight: d.weight }));
  const m = new MaglevHash(list);
  m.destsChanged(list, [list[0], list[2]]);
  t.equal(letters(m, [list[0], list[2]]), two.table, 'after removing b: the table of a and c');
});

t.test('createScheduler gives each name its algorithm', async (t) => {
  const list = dests([{ name: 'a', weight: 1 }, { name: 'b', weight: 2 }]);
  for (const n of ['wlc', 'lc', 'rr', 'wrr', 'sh', 'mh', 'fo'] as const) {
    const s = createScheduler(n, list);
    t.equal(s.name, n);
    t.ok(s.schedule(list, 1, 0), `${n} picks someone`);
    s.destsChanged(list, list);
  }
});

t.test('wrr: a diff replays as its ipvsadm calls (deletions, edits, additions from the tail)', async (t) => {
  const [a, b, c, n] = dests([{ name: 'a', weight: 2 }, { name: 'b', weight: 4 }, { name: 'c', weight: 6 }, { name: 'n', weight: 5 }]);
  c.weight = 3; // edited by the diff; it was 6
  t.same(wrrCallSequence([a, b, c], [2, 4, 6], [n, a, c]), [[2, 6], [2, 3], [2, 3, 5]], '-d b, -e c 3, -a n');
  t.same(wrrCallSequence([], [], [a, b, c]), [[3], [3, 4], [3, 4, 2]], 'a new service: adds from the tail, each at the head');
  t.same(wrrDestChanged(0, [9]), { di: 9, mw: 1, cw: 1 }, 'first add: cw 0 is set to mw');
  t.same(wrrDestChanged(1, [6, 9]), { di: 3, mw: 7, cw: 1 }, 'realigned: (1/3)·3 + 1');
  t.same(wrrDestChanged(5, [4, 6, 9]), { di: 1, mw: 9, cw: 5 }, 'gcd 1: kept');
  const w = new WeightedRoundRobin([]);
  w.destsChanged([], [a, c, b], []);
  t.same([w.cl, w.di, w.mw, w.cw], [-1, 1, 4, 1], 'the adds leave cw at 1');
});
