// Writer mode wired in the director: MySQL check results and verdicts in, the table, `directorctl status` (JSON and
// text) and /metrics out; the writer moves when it fails its check.
import t from 'tap';
import { Director } from '../../src/director';
import { silentLogger } from '../../src/log';
import { createMetricsRegistry } from '../../src/metrics';
import { renderStatusBlock } from '../../src/cli/status-format';
import type { CheckObservation, HealthSubsystem } from '../../src/director/subsystems';
import type { HealthChange } from '../../src/director/pool';
import { FakeDataPlane } from '../../src/dataplane/fake';
import { config, server, virtual } from './config-fixture';

t.test('observations decide the writer; status and metrics show it', async (t) => {
  const dp = new FakeDataPlane();
  const cfg = config([virtual('mysql', '10.64.0.100', [server('sql1', '10.64.0.4'), server('sql2', '10.64.0.5')], {
    check: 'mysql', writer: { enabled: true, holddown: 0, fencing: false, failback: false, demote: 'leave' },
  })]);
  let change: (c: HealthChange) => void = () => undefined;
  let check: (o: CheckObservation) => void = () => undefined;
  const health: HealthSubsystem = { configure: () => undefined, start: () => undefined, stop: () => undefined, onChange: (fn) => (change = fn), onCheck: (fn) => (check = fn) };
  const director = new Director({
    configFile: 'mem', logger: silentLogger, dataplane: dp, config: { load: () => cfg }, health,
    drainTimeoutMs: 1000, drainPollMs: 50, rateSampleMs: 1000, bannerTableSize: 4096,
  });
  await director.start();
  t.teardown(() => director.stop());
  const verdict = (name: string, address: string, up: boolean) => change({ virtual: 'mysql', server: name, address, port: 3306, up, weight: up ? 1 : 0, inTable: up, reason: up ? 'ok' : 'connect_refused' });
  const observe = (name: string, gtid: string | undefined, readOnly = true) => check({ virtual: 'mysql', server: name, durationSeconds: 0.01, ok: gtid !== undefined, ...(gtid !== undefined ? { mysql: { readOnly, gtid, replica: { io: 'Yes', sql: 'Yes', lag: 0 } } } : {}) });
  const weights = () => dp.services[0].dests.map((d) => `${d.address}=${d.weight}`).sort();

  verdict('sql1', '10.64.0.4', true);
  verdict('sql2', '10.64.0.5', true);
  t.same(weights(), ['10.64.0.4=0', '10.64.0.5=0'], 'no writer before both were checked');
  observe('sql1', '0-1-7', false);
  observe('sql2', '0-1-7', false);
  t.same(weights(), ['10.64.0.4=1', '10.64.0.5=0'], 'sql1 writes');
  let s = director.status({ connections: false, connectionLimit: 0 });
  t.match(s.writers, [{ virtual: 'mysql', writerName: 'sql1', switches: 0, servers: [{ name: 'sql1', role: 'writer' }, { name: 'sql2', role: 'standby', writable: true }] }]);
  t.match(renderStatusBlock(s, Date.now()), /^Writer \(mysql\): writer sql1 since \d\d:\d\d:\d\d; sql2 standby, replication running; not compared yet .*, lag 0, WRITABLE \(read_only = 0\) while not the writer; 0 switches; first choice/m);
  const registry = createMetricsRegistry(director, { processMetrics: false });
  let text = await registry.metrics();
  t.match(text, /^directord_writer\{virtual="mysql",server="sql1"\} 1$/m);
  t.match(text, /^directord_writer\{virtual="mysql",server="sql2"\} 0$/m);
  t.match(text, /^directord_writer_writable_standby\{virtual="mysql",server="sql2"\} 1$/m);
  t.match(text, /^directord_writer_switches_total\{virtual="mysql"\} 0$/m);

  observe('sql1', undefined);
  verdict('sql1', '10.64.0.4', false);
  t.same(weights(), ['10.64.0.5=0'], 'sql2 was last checked before sql1\'s last position: nobody writes yet');
  t.match(director.status({ connections: false, connectionLimit: 0 }).writers?.[0].servers[1].why, /waiting for a check newer than the writer's last known position/);
  await new Promise((r) => setTimeout(r, 30));
  observe('sql2', '0-1-7', false);
  t.same(weights(), ['10.64.0.5=1'], 'sql2 writes after its next check');
  s = director.status({ connections: false, connectionLimit: 0 });
  t.match(s.writers?.[0], { writerName: 'sql2', switches: 1, reason: /sql1 is down: sql2 caught up/ });
  text = await registry.metrics();
  t.match(text, /^directord_writer\{virtual="mysql",server="sql2"\} 1$/m);
  t.match(text, /^directord_writer_switches_total\{virtual="mysql"\} 1$/m);
});
