// Event-loop stall detection: the bound per keepalive, the tracker's judgement of tick gaps (fake clock), and the
// monitor on the real loop: a synchronous block is logged with its length and counted.
import t from 'tap';
import { Writable } from 'node:stream';
import pino from 'pino';
import { LoopStallMonitor, StallTracker, parseSchedstat, readThreadTimes, stallBoundMs, stallCause, STALL_CAP_MS, STALL_FLOOR_MS, STALL_SAMPLE_MS } from '../../src/util/loop-stall';

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
  t.same(tr.sample(1551), { ms: 301, endedAtMs: 1551, cause: 'unknown' }, '301 ms late, no scheduler times');
  t.same(tr.sample(1601, { cpuMs: 10, waitMs: 5 }), undefined);
  t.same(tr.sample(2251, { cpuMs: 30, waitMs: 605 }), { ms: 600, endedAtMs: 2251, cause: 'starved', cpuMs: 20, waitMs: 600 }, 'the times over the gap');
  t.equal(tr.stalls, 2);
  t.equal(tr.stalledMs, 901);
  t.equal(tr.longestMs, 600);
  t.same(tr.byCause, { busy: 0, starved: 1, blocked: 0, unknown: 1 });
  tr.reset();
  t.equal(tr.sample(9000), undefined, 'after reset the pause is not a stall');
  tr.boundMs = 1000;
  t.equal(tr.sample(9700), undefined, 'a raised bound');
});

t.test('cause: the larger share of the gap on a CPU, waiting for one, or neither', async (t) => {
  t.equal(stallCause(600), 'unknown');
  t.equal(stallCause(600, { cpuMs: 590, waitMs: 5 }), 'busy', 'our own work');
  t.equal(stallCause(600, { cpuMs: 20, waitMs: 570 }), 'starved', 'runnable, no CPU');
  t.equal(stallCause(600, { cpuMs: 5, waitMs: 10 }), 'blocked', 'asleep in a blocking call');
  t.equal(stallCause(600, { cpuMs: 200, waitMs: 150 }), 'busy', 'mixed: the larger share');
  t.equal(stallCause(600, { cpuMs: 100, waitMs: 250 }), 'starved');
  t.same(parseSchedstat('6484202820 91755402723 15586\n'), { cpuMs: 6484.20282, waitMs: 91755.402723 });
  t.equal(parseSchedstat(''), undefined);
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
  // 400 ms of this thread's CPU time (not wall time: on a loaded host the loop may also wait for a CPU meanwhile).
  // The thread's own clock where Linux gives it: process.cpuUsage() also counts tap's and V8's other threads, so
  // 400 ms of it passed in 390 ms of this thread under load, and the stall came out below 400 - one sample.
  const threadCpu = (): number => readThreadTimes()?.cpuMs ?? (process.cpuUsage().user + process.cpuUsage().system) / 1000;
  const cpu0 = threadCpu();
  while (threadCpu() - cpu0 < 400) { /* the loop is blocked here */ }
  await new Promise((r) => setTimeout(r, 3 * STALL_SAMPLE_MS));
  m.stop();
  t.ok(seen.some((ms) => ms >= 400 - STALL_SAMPLE_MS), `a stall of about 400 ms seen (${seen.join(', ')})`);
  const w = records.find((r) => r.msg === 'event loop stalled: timers, heartbeats and sync were delayed');
  t.ok(w, 'logged as a warning');
  t.ok(Number(w?.stallMs) >= 400 - STALL_SAMPLE_MS, 'with its length');
  if (readThreadTimes()) {
    t.ok(Number(w?.cpuMs) >= 350, `the thread's CPU time over the stall is measured (${String(w?.cpuMs)} ms)`);
    // On an idle host this is "busy"; on a loaded one the loop also waited for a CPU, and the larger share names it.
    t.equal(w?.cause, Number(w?.cpuMs) >= Number(w?.waitMs) ? 'busy' : 'starved', `cpu ${String(w?.cpuMs)} ms, waiting ${String(w?.waitMs)} ms`);
  }
  t.equal(m.tracker.stalls, seen.length);
});
