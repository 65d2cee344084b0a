// The one list of check failure reasons: no duplicates, metric-friendly names, and none the probes no longer report
// (the types already make every reported reason a listed one).
import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CHECK_FAILURE_REASONS } from '../../src/health/reasons';

t.test('each reason once, snake_case', async (t) => {
  t.equal(new Set(CHECK_FAILURE_REASONS).size, CHECK_FAILURE_REASONS.length);
  for (const r of CHECK_FAILURE_REASONS) t.match(r, /^[a-z]+(_[a-z]+)*$/, r);
  t.notOk((CHECK_FAILURE_REASONS as readonly string[]).includes('ok'), 'ok is not a failure');
});

t.test('every listed reason is reported by some probe source', async (t) => {
  const dir = join(__dirname, '..', '..', 'src', 'health');
  const sources = readdirSync(dir).filter((f) => f.endsWith('.ts') && f !== 'reasons.ts').map((f) => readFileSync(join(dir, f), 'utf8')).join('\n');
  for (const r of CHECK_FAILURE_REASONS) t.ok(sources.includes(`'${r}'`), `${r} is returned somewhere in src/health`);
});
