// Lab: the timing logs say who went silent. The active director frozen (SIGSTOP) 1.2 s: the standby's "partner dead"
// carries the silence (>= deadtime), its own timer's lateness and an empty rejectedSince (nothing arrived to refuse),
// and the resumed director logs "heartbeat sent late" with the gap its peer saw (issue 12: which process stalled).
import t from 'tap';
import { labAvailable, waitFor } from '../lab/lab';
import { HaLab } from './ha-lab';

const skip = !labAvailable() && 'needs root and ip netns';
const FROZEN_MS = 1200;

t.test('a frozen active: the standby says how long it was silent, the active says it sent late', { skip }, async (t) => {
  const t0 = Date.now();
  const h = await HaLab.create();
  t.teardown(() => h.destroy());
  t.comment(`lab up after ${Date.now() - t0} ms`);
  h.start('lb1');
  await h.waitState('lb1', 'active');
  h.start('lb2');
  await waitFor('lb2 standby seeing lb1', () => h.status('lb2')?.peer.alive && h.status('lb2')?.state === 'standby', 5000, 20);
  t.comment(`both up after ${Date.now() - t0} ms`);
  h.kill('lb1', 'SIGSTOP');
  await new Promise((r) => setTimeout(r, FROZEN_MS));
  h.kill('lb1', 'SIGCONT');
  const dead = await waitFor('lb2 "partner dead"', () => h.records('lb2').find((r) => r.msg === 'partner dead'), 5000, 20);
  t.ok(Number(dead.silentMs) >= Number(dead.deadtimeMs), `silent ${String(dead.silentMs)} ms >= deadtime ${String(dead.deadtimeMs)} ms`);
  t.equal(typeof dead.timerLateMs, 'number', `our own timer's lateness is given (${String(dead.timerLateMs)} ms)`);
  t.same(dead.rejectedSince, {}, 'nothing was refused meanwhile: the heartbeats did not arrive');
  t.equal(dead.rejectedSinceTotal, 0);
  const late = await waitFor('lb1 "heartbeat sent late"', () => h.records('lb1').find((r) => String(r.msg).startsWith('heartbeat sent late')), 5000, 20);
  t.ok(Number(late.gapMs) >= FROZEN_MS - 200, `the gap covers the freeze (${String(late.gapMs)} ms)`);
});
