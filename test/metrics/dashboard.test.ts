// config/grafana-dashboard.json only queries metrics that directord exports with at least one series (names checked
// against a live registry, process metrics included), and it has panels for every area.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { exportedNames, metricsUsed } from './exported';

t.test('every metric in the dashboard is exported', async (t) => {
  const dash = JSON.parse(readFileSync(join(__dirname, '..', '..', 'config', 'grafana-dashboard.json'), 'utf8'));
  const exprs: string[] = [];
  const walk = (o: unknown): void => {
    if (Array.isArray(o)) o.forEach(walk);
    else if (o && typeof o === 'object') for (const [k, v] of Object.entries(o)) (k === 'expr' || k === 'query' || k === 'definition') && typeof v === 'string' ? exprs.push(v) : walk(v);
  };
  walk(dash);
  t.ok(exprs.length >= 30, `${exprs.length} queries`);
  const used = metricsUsed(exprs);
  const exported = await exportedNames(t.teardown.bind(t));
  for (const name of used) t.ok(exported.has(name), `${name} is exported`);
  const want = ['directord_ha_state', 'directord_ha_active', 'directord_ha_peer_heartbeat_age_seconds', 'directord_backend_check_consecutive_failures', 'directord_backend_check_duration_seconds', 'directord_backend_checks_total', 'directord_backend_check_success', 'process_cpu_seconds_total'];
  for (const name of want) t.ok(used.has(name), `a panel shows ${name}`);
  for (const area of ['Pool state', 'Traffic', 'Health checks', 'Failover and reloads', 'Checks per real server', 'HA pair', 'Process']) t.ok(dash.panels.some((p: { title: string }) => p.title === area), area);
});
