// The fast variant of the seed's lvs.cf used by the failure scenarios: only the named values change.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { seedVariant, seedIpvsadmTable, FAST_TIMINGS } from '../lab/seed';
import { paths } from '../lab/build-lab';

const seed = readFileSync(paths.seedConfig, 'utf8');

t.test('seedVariant replaces values in place and adds new keys to the right section', async (t) => {
  const v = seedVariant(seed, { ...FAST_TIMINGS.global, failback: 0 }, { ...FAST_TIMINGS.virtual, expire_quiescent_template: 1 });
  const changed = new Map([['keepalive = 6', 'keepalive = 0.2'], ['deadtime = 18', 'deadtime = 0.6'], ['  timeout = 5', '  timeout = 1'], ['  reentry = 10', '  reentry = 2']]);
  const a = seed.split('\n');
  const b = v.split('\n').filter((l) => l !== 'failback = 0' && l !== '  expire_quiescent_template = 1');
  t.equal(b.length, a.length, 'only the two new keys were added');
  a.forEach((line, i) => t.equal(b[i], changed.get(line) ?? line, `line ${i + 1}`));
  t.ok(v.indexOf('failback = 0') < v.indexOf('virtual '), 'a new global key stays in the global section');
  t.ok(v.indexOf('expire_quiescent_template = 1') > v.indexOf('virtual '), 'a new virtual key goes into the virtual block');
});

t.test('the seed table renders in ipvsadm 1.26 columns', async (t) => {
  const lines = seedIpvsadmTable([{ active: 3, inact: 12 }, { active: 0, inact: 0 }]).split('\n');
  t.equal(lines[3], 'TCP  10.0.0.3:3306 wlc persistent 60 mask 255.255.240.0');
  t.equal(lines[4], '  -> 10.0.0.4:3306                Route   1      3          12        ', 'dest line, trailing spaces kept');
});
