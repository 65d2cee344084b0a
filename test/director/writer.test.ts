// Writer mode's state machine on fake observations and a fake clock: first choice, failover at once to a caught-up
// standby, no switch to a lagging or stopped replica, hold-down, failback only when enabled, writable standbys.
import t from 'tap';
import { WriterState, type WriterCandidate, type WriterObservation } from '../../src/director/writer';

const S = 1000;
const HOLD = 30 * S;

function obs(at: number, gtid: string, over: Partial<WriterObservation> = {}): WriterObservation {
  return { at, readOnly: true, gtid, replica: { io: 'Yes', sql: 'Yes', lag: 0 }, ...over };
}

function pair(up1 = true, up2 = true): WriterCandidate[] {
  return [{ key: 'a', name: 'sql1', weight: 1, up: up1 }, { key: 'b', name: 'sql2', weight: 1, up: up2 }];
}

/** Both servers checked at `at`, a at position pa, b at pb (a writable, b read-only unless told). */
function both(w: WriterState, at: number, pa: string, pb: string, over: { a?: Partial<WriterObservation>; b?: Partial<WriterObservation> } = {}): void {
  w.observe('a', obs(at, pa, { readOnly: false, ...over.a }));
  w.observe('b', obs(at, pb, over.b));
}

t.test('first choice waits for every server, then takes the preferred among the most advanced', async (t) => {
  const w = new WriterState({ holddownMs: HOLD, failback: false });
  w.observe('a', obs(0, '0-1-10'));
  t.equal(w.evaluate(pair(), 0).writer, null, 'sql2 not checked yet');
  w.observe('b', obs(0, '0-1-10'));
  const d = w.evaluate(pair(), 0);
  t.same([d.writerName, d.switches], ['sql1', 0], 'equal positions: config order; a first choice is no switch');
  const w2 = new WriterState({ holddownMs: HOLD, failback: false });
  w2.observe('a', obs(0, '0-1-8'));
  w2.observe('b', obs(0, '0-1-10'));
  t.equal(w2.evaluate(pair(), 0).writerName, 'sql2', 'sql1 is behind: sql2 first');
  const w3 = new WriterState({ holddownMs: HOLD, failback: false });
  w3.observe('a', obs(0, '0-1-10'));
  w3.observe('b', obs(0, '0-1-10'));
  t.equal(w3.evaluate([{ key: 'a', name: 'sql1', weight: 1, up: true }, { key: 'b', name: 'sql2', weight: 5, up: true }], 0).writerName, 'sql2', 'weight before order');
  const w4 = new WriterState({ holddownMs: HOLD, failback: false });
  w4.observe('a', null);
  w4.observe('b', obs(0, '0-1-3'));
  t.equal(w4.evaluate(pair(false, true), 0).writerName, 'sql2', 'a failed first check counts as checked');
  const w7 = new WriterState({ holddownMs: HOLD, failback: false });
  w7.observe('a', obs(0, '0-1-7'));
  w7.observe('b', obs(0, '0-1-7'));
  t.equal(w7.evaluate(pair(false, true), 0).writer, null, 'sql1 passes its check but is not up yet (rise): wait');
  t.equal(w7.evaluate(pair(), 1).writerName, 'sql1', 'then the preferred one');
  t.equal(new WriterState({ holddownMs: HOLD, failback: false }).evaluate(pair(false, true), 0).writer, null);
  const w8 = new WriterState({ holddownMs: HOLD, failback: false });
  w8.observe('a', obs(0, '0-1-7'));
  w8.observe('b', obs(0, '0-1-7'));
  w8.evaluate(pair(false, true), 0);
  t.equal(w8.evaluate(pair(false, true), HOLD).writerName, 'sql2', 'sql1 never comes up: after the hold-down');
  const w5 = new WriterState({ holddownMs: HOLD, failback: false });
  w5.observe('a', obs(0, '0-1-7'));
  w5.observe('b', obs(1, '0-1-8'));
  t.equal(w5.evaluate(pair(), 1).writerName, 'sql1', 'sql2 was looked at later: sql1 is not known to be behind');
  const w6 = new WriterState({ holddownMs: HOLD, failback: false });
  w6.observe('b', obs(100, '0-1-8'));
  w6.observe('a', { ...obs(150, '0-1-7'), from: 90 });
  t.equal(w6.evaluate(pair(), 150).writerName, 'sql1', "sql1's probe started before sql2's result arrived: not known to be behind");
});

t.test('writer down: a caught-up standby that was eligible for the hold-down takes over at once', async (t) => {
  const w = new WriterState({ holddownMs: HOLD, failback: false });
  both(w, 0, '0-1-10', '0-1-10');
  w.evaluate(pair(), 0);
  both(w, 40 * S, '0-1-50', '0-1-50');
  const steady = w.evaluate(pair(), 40 * S);
  t.match(steady.servers[1], { role: 'standby', why: /^caught up: gtid 0-1-50 >= 0-1-50$/, writable: false });
  w.observe('a', null);
  w.observe('b', obs(41 * S, '0-1-50', { replica: { io: 'Connecting', sql: 'Yes', lag: null } }));
  const d = w.evaluate(pair(false, true), 41 * S);
  t.same([d.writerName, d.switched?.from, d.switched?.to, d.switches], ['sql2', 'a', 'b', 1]);
  t.match(d.reason, /sql1 is down: sql2 caught up: gtid 0-1-50 >= 0-1-50 \(its last known position\)/, 'IO thread Connecting is fine once the writer is gone');
  t.match(d.servers[0], { role: 'out' });
});

t.test('writer down: a lagging or stopped standby does not take over', async (t) => {
  const table: { why: string; b: WriterObservation; want: RegExp }[] = [
    { why: 'behind the last known position', b: obs(41 * S, '0-1-40'), want: /behind: gtid 0-1-40 < 0-1-50 in domain 0/ },
    { why: 'SQL thread stopped', b: obs(41 * S, '0-1-50', { replica: { io: 'Yes', sql: 'No', lag: null, lastError: 'Duplicate entry' } }), want: /SQL thread No: Duplicate entry/ },
    { why: 'not a replica', b: obs(41 * S, '0-1-50', { replica: null }), want: /not a replica/ },
  ];
  for (const row of table) {
    const w = new WriterState({ holddownMs: HOLD, failback: false });
    both(w, 0, '0-1-10', '0-1-10');
    w.evaluate(pair(), 0);
    both(w, 40 * S, '0-1-50', '0-1-50');
    w.evaluate(pair(), 40 * S);
    w.observe('b', row.b);
    const d = w.evaluate(pair(false, true), 41 * S);
    t.equal(d.writerName, 'sql1', `${row.why}: no switch`);
    t.match(d.servers[1].why, row.want, row.why);
    t.match(d.reason, /sql1 is down; no server is fit/);
  }
});

t.test('a server that was out: the switch waits until it has caught up, then for the hold-down', async (t) => {
  const w = new WriterState({ holddownMs: HOLD, failback: false });
  both(w, 0, '0-1-10', '0-1-10');
  w.evaluate(pair(), 0);
  // b goes down; a keeps writing up to 0-1-90.
  w.observe('a', obs(10 * S, '0-1-90', { readOnly: false }));
  w.observe('b', null);
  w.evaluate(pair(true, false), 10 * S);
  // b returns lagging, then a dies.
  w.observe('b', obs(20 * S, '0-1-60'));
  w.evaluate(pair(true, true), 20 * S);
  w.observe('a', null);
  let d = w.evaluate(pair(false, true), 21 * S);
  t.equal(d.writerName, 'sql1', 'b is behind a\'s last known position: nobody takes writes');
  w.observe('b', obs(22 * S, '0-1-90'));
  d = w.evaluate(pair(false, true), 22 * S);
  t.equal(d.writerName, 'sql1', 'caught up, but not yet for the hold-down');
  t.match(d.servers[1].why, /eligible for 0 s of 30/);
  d = w.evaluate(pair(false, true), 22 * S + HOLD);
  t.same([d.writerName, d.switched?.to], ['sql2', 'b'], 'after the hold-down');
});

t.test('no failback by default; with failback, only caught up, after the hold-down, and not faster than it', async (t) => {
  for (const failback of [false, true]) {
    const w = new WriterState({ holddownMs: HOLD, failback });
    both(w, 0, '0-1-10', '0-1-10');
    w.evaluate(pair(), 0);
    both(w, 40 * S, '0-1-10', '0-1-10');
    w.evaluate(pair(), 40 * S);
    w.observe('a', null);
    t.equal(w.evaluate(pair(false, true), 41 * S).writerName, 'sql2');
    // a returns behind b's writes.
    w.observe('a', obs(50 * S, '0-1-15'));
    w.observe('b', obs(50 * S, '0-1-30', { readOnly: false }));
    let d = w.evaluate(pair(), 50 * S);
    t.equal(d.writerName, 'sql2', 'behind: no failback');
    w.observe('a', obs(60 * S, '0-1-30'));
    w.observe('b', obs(60 * S, '0-1-30', { readOnly: false }));
    d = w.evaluate(pair(), 60 * S);
    t.equal(d.writerName, 'sql2', 'caught up, hold-down running');
    d = w.evaluate(pair(), 60 * S + HOLD);
    t.equal(d.writerName, failback ? 'sql1' : 'sql2', failback ? 'failback after the hold-down' : 'sticky without failback');
  }
  // Flap damping: a failback right after a forced switch waits for the hold-down since that switch.
  const w = new WriterState({ holddownMs: HOLD, failback: true });
  both(w, 0, '0-1-1', '0-1-1');
  w.evaluate(pair(), 0);
  both(w, 100 * S, '0-1-1', '0-1-1');
  w.evaluate(pair(), 100 * S);
  // b is hot; a flickers down at 100 s (b takes over) and is eligible again at once.
  w.observe('a', null);
  w.evaluate(pair(false, true), 100 * S);
  t.equal(w.writer, 'b');
  w.observe('a', obs(101 * S, '0-1-1'));
  w.observe('b', obs(101 * S, '0-1-1', { readOnly: false }));
  t.equal(w.evaluate(pair(), 101 * S).writer, 'b', 'a is back and caught up');
  t.equal(w.evaluate(pair(), 101 * S + HOLD - 1).writer, 'b', 'a eligible only since 101 s');
  t.equal(w.evaluate(pair(), 101 * S + HOLD).writer, 'a', 'both the eligibility and the switch hold-down passed');
});

t.test('a writable server that is not the writer is reported', async (t) => {
  const w = new WriterState({ holddownMs: HOLD, failback: false });
  both(w, 0, '0-1-10', '0-1-10', { b: { readOnly: false } });
  const d = w.evaluate(pair(), 0);
  t.same(d.servers.map((s) => [s.name, s.role, s.writable]), [['sql1', 'writer', false], ['sql2', 'standby', true]]);
});

t.test('binlog coordinates when there is no GTID', async (t) => {
  const w = new WriterState({ holddownMs: 0, failback: false });
  const rep = (file: string, pos: number) => ({ io: 'Yes', sql: 'Yes', lag: 0, exec: { file, pos } });
  w.observe('a', { at: 0, readOnly: false, binlog: { file: 'mysql-bin.000003', pos: 900 }, replica: rep('mysql-bin.000001', 10) });
  w.observe('b', { at: 0, readOnly: true, binlog: { file: 'mysql-bin.000001', pos: 10 }, replica: rep('mysql-bin.000003', 500) });
  w.evaluate(pair(), 0);
  t.equal(w.writer, 'a', 'positions from different logs are not comparable: the preferred one');
  const d = w.evaluate(pair(), 1);
  t.match(d.servers[1].why, /behind: binlog mysql-bin\.000003:500 vs mysql-bin\.000003:900/);
  w.observe('b', { at: 2, readOnly: true, replica: rep('mysql-bin.000004', 4) });
  t.match(w.evaluate(pair(), 2).servers[1].why, /caught up: binlog mysql-bin\.000004:4 vs mysql-bin\.000003:900/);
});

t.test('adopting the active director\'s decision', async (t) => {
  const w = new WriterState({ holddownMs: HOLD, failback: false });
  both(w, 0, '0-1-10', '0-1-10');
  w.evaluate(pair(), 0);
  w.adopt('b', 'sql1 is down: sql2 caught up', 5);
  const d = w.evaluate(pair(), 6);
  t.same([d.writerName, d.since], ['sql2', 5]);
  t.match(d.reason, /^adopted from the active director/);
});

t.test('IO thread: Connecting while the writer still looks up keeps a standby fit; stopped does not', async (t) => {
  for (const [io, fit] of [['Connecting', true], ['No', false]] as const) {
    const w = new WriterState({ holddownMs: HOLD, failback: false });
    both(w, 0, '0-1-10', '0-1-10');
    w.evaluate(pair(), 0);
    w.observe('b', obs(S, '0-1-10', { replica: { io, sql: 'Yes', lag: null } }));
    const d = w.evaluate(pair(), S);
    t.equal(d.servers[1].why.startsWith('caught up'), fit, `IO ${io}: ${d.servers[1].why}`);
  }
});

t.test('writer dead: the standby is compared with its last known position, after a check newer than it', async (t) => {
  const w = new WriterState({ holddownMs: HOLD, failback: false });
  both(w, 0, '0-1-10', '0-1-10');
  w.evaluate(pair(), 0);
  w.observe('b', obs(40 * S, '0-1-50'));
  w.observe('a', obs(40 * S, '0-1-50', { readOnly: false }));
  w.evaluate(pair(), 40 * S);
  w.observe('a', obs(41 * S, '0-1-60', { readOnly: false }));
  w.evaluate(pair(), 41 * S);
  w.observe('a', null);
  let d = w.evaluate(pair(false, true), 42 * S);
  t.equal(d.writerName, 'sql1', 'b was last seen before a\'s last check: no switch yet');
  t.match(d.servers[1].why, /waiting for a check newer/);
  w.observe('b', obs(43 * S, '0-1-59'));
  d = w.evaluate(pair(false, true), 43 * S);
  t.match([d.writerName, d.servers[1].why], ['sql1', /behind: gtid 0-1-59 < 0-1-60/], 'behind the last known 0-1-60');
  w.observe('b', obs(44 * S, '0-1-60'));
  t.equal(w.evaluate(pair(false, true), 44 * S).writerName, 'sql1', 'caught up, hold-down starts');
  d = w.evaluate(pair(false, true), 44 * S + HOLD);
  t.equal(d.writerName, 'sql2', 'caught up: after its hold-down (being behind reset it)');
  const w2 = new WriterState({ holddownMs: HOLD, failback: false });
  both(w2, 0, '0-1-10', '0-1-10');
  w2.evaluate(pair(), 0);
  w2.observe('b', obs(40 * S, '0-1-50'));
  w2.observe('a', obs(40 * S, '0-1-50', { readOnly: false }));
  w2.evaluate(pair(), 40 * S);
  w2.observe('a', obs(41 * S, '0-1-60', { readOnly: false }));
  w2.observe('a', null);
  t.equal(w2.evaluate(pair(false, true), 42 * S).writerName, 'sql1', 'pending');
  w2.observe('b', obs(43 * S, '0-1-60'));
  t.equal(w2.evaluate(pair(false, true), 43 * S).writerName, 'sql2', 'a pending check kept its eligibility: no new hold-down');
});

t.test('a standby a moment behind a busy writer keeps its hold-down (tolerance); a failback compares strictly', async (t) => {
  const w = new WriterState({ holddownMs: HOLD, failback: false, toleranceMs: S });
  both(w, 0, '0-1-10', '0-1-10');
  w.evaluate(pair(), 0);
  w.observe('a', obs(40 * S, '0-1-50', { readOnly: false }));
  w.observe('b', obs(40 * S, '0-1-50'));
  w.evaluate(pair(), 40 * S);
  w.observe('a', obs(41 * S, '0-1-60', { readOnly: false }));
  w.observe('b', obs(41 * S + 1, '0-1-55'));
  let d = w.evaluate(pair(), 41 * S + 1);
  t.match(d.servers[1].why, /^caught up: gtid 0-1-55 >= 0-1-50/, 'compared with the writer one interval earlier');
  w.observe('a', null);
  w.observe('b', obs(42 * S, '0-1-60'));
  d = w.evaluate(pair(false, true), 42 * S);
  t.equal(d.writerName, 'sql2', 'still settled: switched at once once it has the last known position');
  const w0 = new WriterState({ holddownMs: HOLD, failback: false });
  both(w0, 0, '0-1-10', '0-1-10');
  w0.evaluate(pair(), 0);
  w0.observe('a', obs(41 * S, '0-1-60', { readOnly: false }));
  w0.observe('b', obs(41 * S + 1, '0-1-55'));
  t.match(w0.evaluate(pair(), 41 * S + 1).servers[1].why, /^behind/, 'without tolerance the same moment is behind');
  // Failback: settled with tolerance, but the switch waits until it has what the writer had when it was looked at.
  const f = new WriterState({ holddownMs: HOLD, failback: true, toleranceMs: S });
  both(f, 0, '0-1-10', '0-1-10');
  f.evaluate(pair(), 0);
  f.observe('a', null);
  f.evaluate(pair(false, true), HOLD);
  t.equal(f.writer, 'b');
  f.observe('b', obs(100 * S, '0-1-70', { readOnly: false }));
  f.observe('a', obs(100 * S, '0-1-70'));
  f.evaluate(pair(), 100 * S);
  f.observe('b', obs(200 * S, '0-1-90', { readOnly: false }));
  f.observe('a', obs(200 * S + 1, '0-1-80'));
  t.equal(f.evaluate(pair(), 200 * S + 1).writer, 'b', 'settled, but strictly behind: no failback');
  f.observe('a', obs(201 * S, '0-1-90'));
  t.equal(f.evaluate(pair(), 201 * S).writer, 'a', 'failback once strictly caught up');
});

t.test('a standby fit from this director\'s first look needs no hold-down (a restarted director agrees with its peer)', async (t) => {
  const w = new WriterState({ holddownMs: HOLD, failback: false });
  both(w, 0, '0-1-10', '0-1-10');
  w.evaluate(pair(), 0);
  w.observe('a', null);
  w.observe('b', obs(S, '0-1-10'));
  t.equal(w.evaluate(pair(false, true), S).writerName, 'sql2', 'switched 1 s after start');
  // The one that was seen down must prove itself: it is not settled when sql2 dies right after it came back.
  w.observe('a', obs(2 * S, '0-1-10'));
  w.evaluate(pair(), 2 * S);
  w.observe('b', null);
  w.observe('a', obs(3 * S, '0-1-10'));
  t.equal(w.evaluate(pair(true, false), 3 * S).writerName, 'sql2', 'sql1 was out: hold-down');
  t.equal(w.evaluate(pair(true, false), 2 * S + HOLD).writerName, 'sql1', 'after it');
});

t.test('writer dead: the floor is its last known position even with a tolerance (safety over agreement)', async (t) => {
  const w = new WriterState({ holddownMs: HOLD, failback: false, toleranceMs: S });
  both(w, 0, '0-1-10', '0-1-10');
  w.evaluate(pair(), 0);
  w.observe('a', obs(10 * S, '0-1-50', { readOnly: false }));
  w.observe('a', obs(11 * S, '0-1-60', { readOnly: false }));
  w.observe('a', null);
  w.observe('b', obs(12 * S, '0-1-55'));
  const d = w.evaluate(pair(false, true), 12 * S);
  t.same([d.writerName, d.servers[1].why], ['sql1', 'behind: gtid 0-1-55 < 0-1-60 in domain 0 (its last known position)']);
});
