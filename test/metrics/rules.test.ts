// config/directord.rules.yml: promtool accepts it, its unit tests (config/directord.rules.test.yml) pass, and every
// directord_* name it uses is one the registry exports, so an alert cannot silently watch a metric that is gone.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Director } from '../../src/director';
import { silentLogger } from '../../src/log';
import { createMetricsRegistry } from '../../src/metrics';
import { FakeDataPlane } from '../../src/dataplane/fake';
import { config, server, virtual } from '../director/config-fixture';
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
  const used = new Set(exprs.flatMap((e) => e.match(/directord_[a-z_]+/g) ?? []));
  const cfg = config([virtual('mysql', '10.64.0.100', [server('sql1', '10.64.0.4')])]);
  const director = new Director({ configFile: 'mem', logger: silentLogger, dataplane: new FakeDataPlane(), config: { load: () => cfg }, drainTimeoutMs: 1000, drainPollMs: 50, rateSampleMs: 1000, bannerTableSize: 4096 });
  await director.start();
  t.teardown(() => director.stop());
  const exported = new Set([...(await createMetricsRegistry(director, { processMetrics: false }).metrics()).matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]));
  for (const name of used) t.ok(exported.has(name), `${name} is exported`);
});
