// config/directord.rules.yml: promtool accepts it, its unit tests (config/directord.rules.test.yml) pass, and every
// directord_* name it uses is one the registry exports, so an alert cannot silently watch a metric that is gone.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { exportedNames, metricsUsed } from './exported';
import { haveTool, skipUnless } from '../lab/needs';

const dir = join(__dirname, '..', '..', 'config');
const rules = join(dir, 'directord.rules.yml');
const promtool = haveTool('promtool', ['--version']);

t.test('promtool check rules', { skip: skipUnless(promtool, 'promtool is not installed (apt-get install prometheus)') }, async (t) => {
  const r = spawnSync('promtool', ['check', 'rules', rules], { encoding: 'utf8' });
  t.equal(r.status, 0, r.stdout + r.stderr);
  t.match(r.stdout, /SUCCESS: 9 rules found/);
});

t.test('promtool test rules', { skip: skipUnless(promtool, 'promtool is not installed (apt-get install prometheus)') }, async (t) => {
  const r = spawnSync('promtool', ['test', 'rules', 'directord.rules.test.yml'], { encoding: 'utf8', cwd: dir });
  t.equal(r.status, 0, r.stdout + r.stderr);
  t.match(r.stdout, /SUCCESS/);
});

t.test('the alerts the issue asks for, on exported metrics only', async (t) => {
  const text = readFileSync(rules, 'utf8');
  const alerts = [...text.matchAll(/- alert: (\w+)/g)].map((m) => m[1]);
  for (const a of ['DirectordNoHealthyRealServer', 'DirectordNoActiveDirector', 'DirectordTwoActiveDirectors', 'DirectordHeartbeatsLost', 'DirectordReloadFailed', 'DirectordServerFlapping', 'DirectordConnTableNearFull']) {
    t.ok(alerts.includes(a), a);
  }
  const exprs = [...text.matchAll(/^\s+expr: (.*)$/gm)].map((m) => m[1]);
  t.equal(exprs.length, alerts.length);
  const used = metricsUsed(exprs);
  t.ok(used.size >= 6, [...used].join(' '));
  const exported = await exportedNames(t.teardown.bind(t));
  for (const name of used) t.ok(exported.has(name), `${name} is exported`);
});
