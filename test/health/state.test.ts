// nanny's run() loop as a table: a sequence of check results → transitions and weights after each check.
import t from 'tap';
import { initialState, step, desired, initialWeight, reconcilePolicy, type CheckerPolicy, type Transition } from '../../src/health/state';

const seed: CheckerPolicy = { rise: Math.floor(10 / 5), fall: 1, quiesce: true, slowStart: true, weight: 1, intervalSec: 5 };

function run(policy: CheckerPolicy, results: string): { transitions: Transition[]; weights: number[]; inTable: boolean[] } {
  let s = initialState(policy);
  const transitions: Transition[] = [];
  const weights: number[] = [];
  const inTable: boolean[] = [];
  for (const ch of results) {
    const r = step(s, policy, ch === 'S');
    s = r.state;
    transitions.push(r.transition);
    const d = desired(s, policy);
    weights.push(d.weight);
    inTable.push(d.inTable);
  }
  return { transitions, weights, inTable };
}

const cases: Array<{ name: string; policy: CheckerPolicy; results: string; transitions: Transition[]; weights?: number[]; inTable?: boolean[] }> = [
  {
    name: 'seed: first success adds at once, one failure removes, reentry/timeout = 2 successes re-add',
    policy: seed,
    results: 'SFSS',
    transitions: ['up', 'down', null, 'up'],
    weights: [1, 0, 0, 1],
    inTable: [true, true, true, true],
  },
  {
    name: 'failing at start: never [inactive], count reset silently, then needs rise successes',
    policy: seed,
    results: 'FFSS',
    transitions: ['reset', null, null, 'up'],
    inTable: [false, false, false, true],
  },
  {
    name: 'a failure during re-entry restarts the count',
    policy: seed,
    results: 'SFSFSS',
    transitions: ['up', 'down', null, 'reset', null, 'up'],
  },
  {
    name: 'reentry < timeout: countThresh 0, the first success re-adds',
    policy: { ...seed, rise: Math.floor(3 / 5) },
    results: 'SFS',
    transitions: ['up', 'down', 'up'],
  },
  {
    name: 'nanny defaults (timeout 10, reentry 180): 18 successes to come back',
    policy: { ...seed, rise: 18, intervalSec: 10, quiesce: false },
    results: 'SF' + 'S'.repeat(18),
    transitions: ['up', 'down', ...Array(17).fill(null), 'up'],
    inTable: [true, false, ...Array(17).fill(false), true],
  },
  {
    name: 'fall = 3 (extension): two failures keep the server in',
    policy: { ...seed, fall: 3 },
    results: 'SFFFS',
    transitions: ['up', null, null, 'down', null],
  },
  {
    name: 'no quiesce: down removes the entry',
    policy: { ...seed, quiesce: false },
    results: 'SF',
    transitions: ['up', 'down'],
    inTable: [true, false],
  },
  {
    name: 'slow start, weight 100, timeout 10: 3 and doubling every 2nd check (~20 s)',
    policy: { ...seed, weight: 100, intervalSec: 10, rise: 18 },
    results: 'S'.repeat(12),
    transitions: ['up', ...Array(11).fill(null)],
    weights: [3, 6, 6, 12, 12, 24, 24, 48, 48, 96, 96, 100],
  },
  {
    name: 'slow start, weight 64, timeout 5: every 4th check',
    policy: { ...seed, weight: 64 },
    results: 'S'.repeat(18),
    transitions: ['up', ...Array(17).fill(null)],
    weights: [2, 4, 4, 4, 4, 8, 8, 8, 8, 16, 16, 16, 16, 32, 32, 32, 32, 64],
  },
  {
    name: 'slow start, interval > 20: every check, including the activating one',
    policy: { ...seed, weight: 100, intervalSec: 30, rise: 6 },
    results: 'SSSSSS',
    transitions: ['up', null, null, null, null, null],
    weights: [6, 12, 24, 48, 96, 100],
  },
  {
    name: 'configured weight 0: enters at max(1, 0 >> 5) = 1 and nanny never lowers it',
    policy: { ...seed, weight: 0, intervalSec: 5 },
    results: 'SSSSSSSSFSS',
    transitions: ['up', null, null, null, null, null, null, null, 'down', null, 'up'],
    weights: [1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1],
  },
  {
    name: 'configured weight 0 without slow start: 0 as configured (IPVS weight 0)',
    policy: { ...seed, weight: 0, slowStart: false },
    results: 'SS',
    transitions: ['up', null],
    weights: [0, 0],
  },
  {
    name: 'slow_start off: full weight at once',
    policy: { ...seed, weight: 100, slowStart: false },
    results: 'SFSS',
    transitions: ['up', 'down', null, 'up'],
    weights: [100, 0, 0, 100],
  },
];

for (const c of cases) {
  t.test(c.name, async (t) => {
    const r = run(c.policy, c.results);
    t.same(r.transitions, c.transitions, 'transitions');
    if (c.weights) t.same(r.weights, c.weights, 'weights');
    if (c.inTable) t.same(r.inTable, c.inTable, 'in table');
  });
}

t.test('initial weight is max(1, weight >> 5)', async (t) => {
  for (const [w, want] of [[1, 1], [31, 1], [32, 1], [64, 2], [100, 3], [65535, 2047]] as const) {
    t.equal(initialWeight({ ...seed, weight: w }), want, `weight ${w}`);
  }
});

t.test('reload lowering the weight applies at once, state kept', async (t) => {
  const p = { ...seed, weight: 100, slowStart: false };
  const s = step(initialState(p), p, true).state;
  const lowered = reconcilePolicy(s, { ...p, weight: 10 });
  t.equal(lowered.weight, 10);
  t.equal(lowered.active, true);
  const ramping = step(initialState({ ...p, slowStart: true }), { ...p, slowStart: true }, true).state;
  t.equal(reconcilePolicy(ramping, { ...p, slowStart: true }).weight, 3, 'a ramp in progress is not cut short');
  const full = step(initialState({ ...p, slowStart: true, weight: 1 }), { ...p, slowStart: true, weight: 1 }, true).state;
  t.equal(reconcilePolicy(full, { ...p, slowStart: true, weight: 0 }).weight, 1, 'a reload to weight 0 gives nanny\'s entry weight 1');
  t.equal(reconcilePolicy(full, { ...p, slowStart: false, weight: 0 }).weight, 0, 'without slow start, 0');
  const wasOne = step(full, { ...p, slowStart: true, weight: 0 }, true);
  t.same([wasOne.state.weight, wasOne.weightChanged], [1, false], 'the next check keeps 1 (no flap to 0)');
});
