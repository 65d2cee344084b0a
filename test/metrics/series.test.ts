// Stable series: every labelled counter (check failure reasons too) has all its label sets at 0 from the first scrape,
// the HA state is one 0/1 series per state, the partner's heartbeat age is a gauge, check metrics are per real server
// with the backend gauges' labels (local_mark included; fwmark services as node_exporter reports them).
import t from 'tap';
import { Director } from '../../src/director';
import type { HaStatusView, HealthSubsystem, CheckObservation } from '../../src/director/subsystems';
import type { HealthChange } from '../../src/director/pool';
import { silentLogger } from '../../src/log';
import { createMetricsRegistry } from '../../src/metrics';
import { HA_STATES, HEARTBEAT_REJECT_REASONS } from '../../src/metrics/ha';
import { CHECK_FAILURE_REASONS } from '../../src/health/reasons';
import { FakeDataPlane } from '../../src/dataplane/fake';
import { config, server, virtual } from '../director/config-fixture';

function harness() {
  let check: (o: CheckObservation) => void = () => undefined;
  let change: (c: HealthChange) => void = () => undefined;
  const health: HealthSubsystem = { configure: () => undefined, start: () => undefined, stop: () => undefined, onChange: (fn) => (change = fn), onCheck: (fn) => (check = fn) };
  const ha: HaStatusView = { role: 'primary', state: 'standby', heartbeatsReceived: 0, heartbeatsRejected: {}, failovers: 0, active: false, peer: { address: '10.64.0.2', state: 'unknown' } };
  const cfg = config(
    [
      virtual('mysql', '10.64.0.100', [server('sql1', '10.64.0.4'), server('sql2', '10.64.0.5')]),
      virtual('marked', '10.64.0.101', [server('web1', '10.64.0.6', { port: 80 })], { fwmark: 7, port: 0 }),
    ],
    { primary: '10.64.0.1', backup: '10.64.0.2' },
  );
  const director = new Director({
    configFile: 'mem', logger: silentLogger, dataplane: new FakeDataPlane(), config: { load: () => cfg }, health,
    ha: () => ({ start: () => undefined, stop: () => undefined, reconfigure: () => undefined, status: () => ha, takeover: () => ({}), release: () => ({}) }),
    drainTimeoutMs: 1000, drainPollMs: 50, rateSampleMs: 1000, bannerTableSize: 4096,
  });
  return { director, ha, check: (o: CheckObservation) => check(o), change: (c: HealthChange) => change(c) };
}

const SQL1 = 'local_address="10.64.0.100",local_port="3306",remote_address="10.64.0.4",remote_port="3306",proto="TCP",local_mark=""';
const SQL2 = 'local_address="10.64.0.100",local_port="3306",remote_address="10.64.0.5",remote_port="3306",proto="TCP",local_mark=""';
const WEB1 = 'local_address="",local_port="0",remote_address="10.64.0.6",remote_port="80",proto="FWM",local_mark="7"';
const line = (text: string, series: string): string | undefined => text.split('\n').find((l) => l.startsWith(series + ' '));

t.test('at start: every label set present, counters at 0', async (t) => {
  const h = harness();
  await h.director.start();
  t.teardown(() => h.director.stop());
  const text = await createMetricsRegistry(h.director, { processMetrics: false }).metrics();
  for (const l of [SQL1, SQL2, WEB1]) {
    for (const to of ['up', 'down']) t.equal(line(text, `directord_backend_transitions_total{${l},to="${to}"}`), `directord_backend_transitions_total{${l},to="${to}"} 0`);
    for (const result of ['success', 'failure']) t.equal(line(text, `directord_backend_checks_total{${l},result="${result}"}`)?.split(' ')[1], '0');
    t.equal(line(text, `directord_backend_check_consecutive_failures{${l}}`)?.split(' ')[1], '0');
    t.equal(line(text, `directord_backend_check_duration_seconds{${l}}`)?.split(' ')[1], '0');
    t.ok(line(text, `directord_backend_up{${l}}`), "the backend gauges carry the same labels");
    t.notOk(line(text, `directord_backend_check_success{${l}}`), 'no last result before the first check');
  }
  for (const reason of HEARTBEAT_REJECT_REASONS) t.equal(line(text, `directord_heartbeats_rejected_total{reason="${reason}"}`)?.split(' ')[1], '0', reason);
  for (const reason of CHECK_FAILURE_REASONS) t.equal(line(text, `directord_check_failures_total{reason="${reason}"}`)?.split(' ')[1], '0', `check failure ${reason}`);
  for (const state of HA_STATES) t.equal(line(text, `directord_ha_state{state="${state}"}`)?.split(' ')[1], state === 'standby' ? '1' : '0', state);
  t.equal(line(text, 'directord_ha_active'), 'directord_ha_active 0');
  for (const cause of ['busy', 'starved', 'blocked', 'unknown']) t.equal(line(text, `directord_event_loop_stalls_total{cause="${cause}"}`)?.split(' ')[1], '0', `loop stalls (${cause}) from the first scrape`);
  t.equal(line(text, 'directord_event_loop_stall_seconds_total'), 'directord_event_loop_stall_seconds_total 0');
  t.equal(line(text, 'directord_ha_info{role="primary"}'), 'directord_ha_info{role="primary"} 1');
  t.equal(line(text, 'directord_ha_peer_heartbeat_age_seconds{peer="10.64.0.2"}'), 'directord_ha_peer_heartbeat_age_seconds{peer="10.64.0.2"} +Inf', 'never heard: +Inf');
  for (const result of ['success', 'failure']) t.match(text, new RegExp(`^directord_reloads_total\\{result="${result}"\\} 0$`, 'm'));
});

t.test('checks, transitions and heartbeats move the per-server and HA series', async (t) => {
  const h = harness();
  await h.director.start();
  t.teardown(() => h.director.stop());
  const registry = createMetricsRegistry(h.director, { processMetrics: false });
  h.check({ virtual: 'mysql', server: 'sql1', durationSeconds: 0.25, ok: false, reason: 'connect_timeout' });
  h.check({ virtual: 'mysql', server: 'sql1', durationSeconds: 0.5, ok: false, reason: 'connect_timeout' });
  h.check({ virtual: 'mysql', server: 'sql2', durationSeconds: 0.01, ok: false, reason: 'connect_failed' });
  h.check({ virtual: 'mysql', server: 'sql2', durationSeconds: 0.02, ok: true });
  h.change({ virtual: 'mysql', server: 'sql1', address: '10.64.0.4', port: 3306, up: false, weight: 0, inTable: false, reason: 'connect_timeout' });
  Object.assign(h.ha, { state: 'active', active: true, lastHeartbeatAgeMs: 1500, heartbeatsRejected: { bad_mac: 2 } });
  const text = await registry.metrics();
  t.equal(line(text, `directord_backend_checks_total{${SQL1},result="failure"}`)?.split(' ')[1], '2');
  t.equal(line(text, `directord_backend_check_consecutive_failures{${SQL1}}`)?.split(' ')[1], '2');
  t.equal(line(text, `directord_backend_check_duration_seconds{${SQL1}}`)?.split(' ')[1], '0.5');
  t.equal(line(text, `directord_backend_check_success{${SQL1}}`)?.split(' ')[1], '0');
  t.equal(line(text, `directord_backend_check_consecutive_failures{${SQL2}}`)?.split(' ')[1], '0', 'reset by a success');
  t.equal(line(text, `directord_backend_check_success{${SQL2}}`)?.split(' ')[1], '1');
  t.equal(line(text, `directord_backend_checks_total{${SQL2},result="success"}`)?.split(' ')[1], '1');
  t.equal(line(text, `directord_backend_transitions_total{${SQL1},to="down"}`)?.split(' ')[1], '1');
  t.equal(line(text, `directord_backend_transitions_total{${SQL1},to="up"}`)?.split(' ')[1], '0');
  t.equal(line(text, 'directord_ha_state{state="active"}')?.split(' ')[1], '1');
  t.equal(line(text, 'directord_ha_state{state="standby"}')?.split(' ')[1], '0');
  t.equal(line(text, 'directord_ha_peer_heartbeat_age_seconds{peer="10.64.0.2"}')?.split(' ')[1], '1.5');
  t.equal(line(text, 'directord_heartbeats_rejected_total{reason="bad_mac"}')?.split(' ')[1], '2');
  t.equal(line(text, 'directord_heartbeats_rejected_total{reason="replayed"}')?.split(' ')[1], '0');
  t.equal(line(text, 'directord_check_failures_total{reason="connect_timeout"}')?.split(' ')[1], '2');
  t.equal(line(text, 'directord_check_failures_total{reason="connect_failed"}')?.split(' ')[1], '1');
  t.equal(line(text, 'directord_check_failures_total{reason="auth_failed"}')?.split(' ')[1], '0', 'the others stay at 0');
});
