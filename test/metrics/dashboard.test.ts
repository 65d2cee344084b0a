// config/grafana-dashboard.json only queries metrics that directord exports (names checked against the registry).
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Director } from '../../src/director';
import { silentLogger } from '../../src/log';
import { createMetricsRegistry } from '../../src/metrics';
import { FakeDataPlane } from '../../src/dataplane/fake';
import { config, server, virtual } from '../director/config-fixture';

t.test('every directord_* name in the dashboard is exported', async (t) => {
  const dash = JSON.parse(readFileSync(join(__dirname, '..', '..', 'config', 'grafana-dashboard.json'), 'utf8'));
  const exprs: string[] = [];
  const walk = (o: unknown): void => {
    if (Array.isArray(o)) o.forEach(walk);
    else if (o && typeof o === 'object') for (const [k, v] of Object.entries(o)) (k === 'expr' && typeof v === 'string' ? exprs.push(v) : walk(v));
  };
  walk(dash);
  t.ok(exprs.length >= 20, `${exprs.length} queries`);
  const used = new Set(exprs.flatMap((e) => e.match(/directord_[a-z_]+/g) ?? []));

  const cfg = config([virtual('mysql', '10.64.0.100', [server('sql1', '10.64.0.4')])]);
  const director = new Director({ configFile: 'mem', logger: silentLogger, dataplane: new FakeDataPlane(), config: { load: () => cfg }, drainTimeoutMs: 1000, drainPollMs: 50, rateSampleMs: 1000, bannerTableSize: 4096 });
  await director.start();
  t.teardown(() => director.stop());
  const text = await createMetricsRegistry(director, { processMetrics: false }).metrics();
  const exported = new Set([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].flatMap(([, n, type]) => (type === 'histogram' ? [`${n}_bucket`, `${n}_sum`, `${n}_count`] : [n])));
  for (const name of used) t.ok(exported.has(name), name);
  for (const area of ['Pool state', 'Traffic', 'Health checks', 'Failover and reloads']) t.ok(dash.panels.some((p: { title: string }) => p.title === area), area);
});
