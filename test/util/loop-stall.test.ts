// Event-loop stall detection: the bound per keepalive, the tracker's judgement of tick gaps (fake clock), and the
// monitor on the real loop: a synchronous block is logged with its length and counted.
import t from 'tap';
import { Writable } from 'node:stream';
import pino from 'pino';
import { LoopStallMonitor, StallTracker, stallBoundMs, STALL_CAP_MS, STALL_FLOOR_MS, STALL_SAMPLE_MS } from '../../src/util/loop-stall';

t.test('bound: half the keepalive, floored and capped', async (t) => {
  t.equal(stallBoundMs(0.2), STALL_FLOOR_MS, 'keepalive 0.2 s: 100 ms (the floor)');
  t.equal(stallBoundMs(0.1), STALL_FLOOR_MS);
  t.equal(stallBoundMs(0.5), 250);
  t.equal(stallBoundMs(2), STALL_CAP_MS, 'the default 2 s: capped at 1 s');
  t.equal(stallBoundMs(6), STALL_CAP_MS);
});

t.test('tracker: a gap over interval + bound is one stall of the excess', async (t) => {
  const tr = new StallTracker(100, 50);
  t.equal(tr.sample(1000), undefined, 'the first tick has nothing to compare with');
  t.equal(tr.sample(1050), undefined, 'on time');
  t.equal(tr.sample(1200), undefined, '100 ms late: not over the bound');
  t.same(tr.sample(1551), { ms: 301, endedAtMs: 1551 }, '301 ms late');
  t.same(tr.sample(1601), undefined);
  t.same(tr.sample(2251), { ms: 600, endedAtMs: 2251 });
  t.equal(tr.stalls, 2);
  t.equal(tr.stalledMs, 901);
  t.equal(tr.longestMs, 600);
  tr.reset();
  t.equal(tr.sample(9000), undefined, 'after reset the pause is not a stall');
  tr.boundMs = 1000;
  t.equal(tr.sample(9700), undefined, 'a raised bound');
});

t.test('monitor: a synchronous block of the real loop is logged with its length and counted', async (t) => {
  const records: Array<Record<string, unknown>> = [];
  const dest = new Writable({ write(chunk, _e, cb) { records.push(JSON.parse(String(chunk))); cb(); } });
  const log = pino({ level: 'warn' }, dest);
  const seen: number[] = [];
  const m = new LoopStallMonitor(log, STALL_FLOOR_MS, (s) => seen.push(s.ms));
  m.start();
  t.teardown(() => m.stop());
  await new Promise((r) => setTimeout(r, 3 * STALL_SAMPLE_MS));
  const until = performance.now() + 400;
  while (performance.now() < until) { /* the loop is blocked here */ }
  await new Promise((r) => setTimeout(r, 3 * STALL_SAMPLE_MS));
  m.stop();
  t.ok(seen.some((ms) => ms >= 400 - STALL_SAMPLE_MS), `a stall of about 400 ms seen (${seen.join(', ')})`);
  const w = records.find((r) => r.msg === 'event loop stalled: timers, heartbeats and sync were delayed');
  t.ok(w, 'logged as a warning');
  t.ok(Number(w?.stallMs) >= 400 - STALL_SAMPLE_MS, 'with its length');
  t.equal(m.tracker.stalls, seen.length);
});
