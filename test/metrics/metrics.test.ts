// /metrics: names and labels (node_exporter ipvs style), values read from live state at scrape time, promtool check.
import { inPrivateNetns } from '../lab/private-netns';
inPrivateNetns(); // before tap loads: this file runs in a network namespace of its own
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { Director } from '../../src/director';
import { silentLogger } from '../../src/log';
import { DirectordError } from '../../src/errors';
import { createMetricsRegistry, startMetricsServer, parseListenAddress } from '../../src/metrics';
import { FakeDataPlane } from '../../src/dataplane/fake';
import { config, server, virtual } from '../director/config-fixture';
import { haveTool, skipUnless } from '../lab/needs';

async function scrape(port: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  t.equal(res.status, 200);
  t.match(res.headers.get('content-type') ?? '', /text\/plain/);
  return res.text();
}

t.test('scrape reflects live state; promtool accepts the exposition', async (t) => {
  const dp = new FakeDataPlane();
  dp.extraStats = { loopWakeups: 7, evictions: 2, icmpRelayed: 3, icmpUnreachSent: 4, icmpUnreachLimited: 5, fragments: 6, lockContended: 8, lockWaitNs: 2_500_000_000, drops: { no_dest: 1 } };
  const cfg = config([virtual('mysql', '10.64.0.100', [server('sql1', '10.64.0.4'), server('sql2', '10.64.0.5', { weight: 4 })])]);
  const director = new Director({
    configFile: 'mem', logger: silentLogger, dataplane: dp, config: { load: () => cfg },
    drainTimeoutMs: 1000, drainPollMs: 50, rateSampleMs: 1000, bannerTableSize: 4096,
  });
  await director.start();
  t.teardown(() => director.stop());
  const m = await startMetricsServer(createMetricsRegistry(director), '127.0.0.1:0');
  t.teardown(() => m.close());

  dp.counters.set('10.64.0.100:3306>10.64.0.4:3306', { activeConns: 3, inactConns: 7, conns: 10, inPkts: 100, inBytes: 6400 });
  let text = await scrape(m.port);
  const labels = 'local_address="10.64.0.100",local_port="3306",remote_address="10.64.0.4",remote_port="3306",proto="TCP",local_mark=""';
  t.match(text, `directord_backend_connections_active{${labels}} 3`);
  t.match(text, `directord_backend_connections_inactive{${labels}} 7`);
  t.match(text, `directord_backend_weight{${labels}} 1`);
  t.match(text, /directord_backend_weight\{[^}]*remote_address="10.64.0.5"[^}]*\} 4/);
  t.match(text, `directord_backend_up{${labels}} 1`);
  t.match(text, `directord_backend_state{${labels},state="unchecked"} 1`);
  t.match(text, /^directord_connections_total 10$/m);
  t.match(text, /^directord_incoming_packets_total 100$/m);
  t.match(text, /^directord_incoming_bytes_total 6400$/m);
  t.match(text, /^directord_dataplane_loop_wakeups_total 7$/m);
  t.match(text, /^directord_conn_evictions_total 2$/m);
  t.match(text, /^directord_icmp_relayed_total 3$/m);
  t.match(text, /^directord_icmp_unreachable_sent_total 4$/m);
  t.match(text, /^directord_icmp_unreachable_limited_total 5$/m);
  t.match(text, /^directord_fragments_forwarded_total 6$/m);
  t.match(text, /^directord_dataplane_lock_contended_total 8$/m);
  t.match(text, /^directord_dataplane_lock_wait_seconds_total 2.5$/m);
  t.match(text, /^directord_ha_state\{state="active"\} 1$/m);
  t.match(text, /^directord_ha_state\{state="standby"\} 0$/m);
  t.match(text, /^directord_ha_active 1$/m);
  t.match(text, /^directord_ha_info\{role="standalone"\} 1$/m);
  t.notMatch(text, /directord_ha_peer_heartbeat_age_seconds\{/, 'no partner, no heartbeat age');
  t.match(text, /^directord_reloads_total\{result="failure"\} 0$/m);
  for (const name of ['directord_check_duration_seconds_bucket', 'directord_heartbeats_received_total', 'directord_failovers_total', 'directord_config_last_reload_success_timestamp_seconds', 'process_cpu_seconds_total', 'process_start_time_seconds', 'nodejs_eventloop_lag_seconds']) {
    t.match(text, new RegExp(`^${name}`, 'm'), name);
  }

  // Live: an override and a failed reload show at the next scrape, no counter to keep in step.
  director.drain('sql1');
  dp.counters.set('10.64.0.100:3306>10.64.0.4:3306', { activeConns: 0, inactConns: 2, conns: 12, inPkts: 130, inBytes: 9000 });
  text = await scrape(m.port);
  t.match(text, `directord_backend_weight{${labels}} 0`);
  t.match(text, `directord_backend_connections_active{${labels}} 0`);
  t.match(text, /^directord_connections_total 12$/m);

  await t.test('promtool check metrics', { skip: skipUnless(haveTool('promtool'), 'promtool not installed (Debian package prometheus)', t) }, async (t) => {
    const out = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    t.equal(out.status, 0, `promtool check metrics: ${out.stdout}${out.stderr}`);
  });
});

t.test('reload failures are counted and the timestamp kept', async (t) => {
  const dp = new FakeDataPlane();
  const good = config([virtual('mysql', '10.64.0.100', [server('sql1', '10.64.0.4')])]);
  let fail = false;
  const director = new Director({
    configFile: 'mem', logger: silentLogger, dataplane: dp,
    config: {
      load: () => {
        if (fail) throw new DirectordError('E_CONFIG_SYNTAX', 'lvs.cf:3:1 broken');
        return good;
      },
    },
    drainTimeoutMs: 1000, drainPollMs: 50, rateSampleMs: 1000, bannerTableSize: 4096,
  });
  await director.start();
  t.teardown(() => director.stop());
  const registry = createMetricsRegistry(director, { processMetrics: false });
  const before = (await registry.metrics()).match(/directord_config_last_reload_success_timestamp_seconds (\S+)/)![1];
  fail = true;
  t.equal((await director.reload()).result, 'failure');
  const text = await registry.metrics();
  t.match(text, /^directord_reloads_total\{result="failure"\} 1$/m);
  t.match(text, /^directord_reload_failures_total 1$/m);
  t.match(text, /^directord_config_last_reload_successful 0$/m);
  t.equal(text.match(/directord_config_last_reload_success_timestamp_seconds (\S+)/)![1], before);
  fail = false;
  t.equal((await director.reload()).result, 'success');
  t.match(await registry.metrics(), /^directord_config_last_reload_successful 1$/m);
});

t.test('directord_build_info: version and Node.js as labels, value 1', async (t) => {
  const src = { status: () => ({ services: [], health: [] }), counters: {}, haStatus: () => undefined, dataplaneStats: () => ({}) } as unknown as Parameters<typeof createMetricsRegistry>[0];
  const version = (require('../../package.json') as { version: string }).version;
  const text = await createMetricsRegistry(src, { processMetrics: false }).getSingleMetricAsString('directord_build_info');
  t.match(text, new RegExp(`^directord_build_info\\{version="${version.replace(/\./g, '\\.')}",nodejs="${process.versions.node.replace(/\./g, '\\.')}"\\} 1$`, 'm'));
});

t.test('parseListenAddress', async (t) => {
  t.same(parseListenAddress('127.0.0.1:9539'), { host: '127.0.0.1', port: 9539 });
  t.same(parseListenAddress('[::1]:9539'), { host: '::1', port: 9539 });
  for (const bad of ['9539', 'host:', ':x', 'a:99999']) t.throws(() => parseListenAddress(bad), { code: 'E_METRICS_ADDRESS' }, bad);
});
