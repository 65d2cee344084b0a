// /metrics of the real daemon (AF_PACKET data plane, HA with an absent partner) in a namespace lab, scraped as soon as
// it is ready: every labelled counter already has all its series at 0, the HA state is one series per state, the
// partner's heartbeat age is +Inf (never heard), per-server check metrics carry the backend labels, process_* metrics
// are unprefixed, and promtool accepts the exposition.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Lab, labAvailable, waitFor } from '../lab/lab';
import { ensureBuilt, paths } from '../lab/build';
import { cannotRun, haveTool } from '../lab/needs';
import { HA_STATES, HEARTBEAT_REJECT_REASONS } from '../../src/metrics/ha';

const VIP = '10.64.7.100';
// backup 10.64.7.2 is not in the lab: the primary never hears it and takes over after deadtime.
const lvsCf =
  `serial_no = 1\nprimary = 10.64.7.1\nbackup = 10.64.7.2\nbackup_active = 1\nkeepalive = 1\ndeadtime = 2\nservice = lvs\nnetwork = direct\n` +
  `virtual db {\n  active = 1\n  address = ${VIP} eth0:1\n  vip_nmask = 255.255.240.0\n  port = 3306\n  timeout = 1\n  reentry = 1\n` +
  `  server rs1 {\n    address = 10.64.7.4\n    active = 1\n    weight = 1\n  }\n}\n`;
const RS1 = 'local_address="10.64.7.100",local_port="3306",remote_address="10.64.7.4",remote_port="3306",proto="TCP",local_mark=""';

t.test('the first scrape of a real daemon has every series', { skip: !labAvailable() && cannotRun('needs root and ip netns') }, async (t) => {
  ensureBuilt();
  const lab = await Lab.create([{ name: 'lb1', address: '10.64.7.1/20' }, { name: 'rs1', address: '10.64.7.4/20', vipsOnLo: [VIP] }], { tag: 'met' });
  t.teardown(() => lab.destroy());
  lab.spawn('rs1', ['node', '-e', "require('net').createServer((s) => { s.on('error', () => {}); s.end('OK\\n'); }).listen(3306)"]);
  const dir = mkdtempSync(join(tmpdir(), 'ddmet-'));
  const cf = join(dir, 'lvs.cf');
  const sock = join(dir, 'd.sock');
  writeFileSync(cf, lvsCf);
  const daemon = lab.spawn('lb1', ['node', paths.directord, '--config', cf, '--socket', sock, '--interface', 'eth0', '--metrics', '127.0.0.1:9539'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  daemon.stdout!.on('data', (d) => (log += d));
  daemon.stderr!.on('data', (d) => (log += d));
  const exited = new Promise<number | null>((r) => daemon.once('exit', (c) => r(c)));
  t.teardown(() => void (daemon.exitCode === null && daemon.kill('SIGKILL')));
  const ready = await lab.exec('lb1', ['node', paths.directorctl, '--socket', sock, 'wait-ready', '--timeout', '30000'], { timeoutMs: 40000 });
  if (ready.code !== 0) return t.fail(`wait-ready: ${ready.stderr} ${log.slice(-2000)}`);
  const scrape = async (): Promise<string> => {
    const r = await lab.exec('lb1', ['node', '-e', "fetch('http://127.0.0.1:9539/metrics').then((r) => r.text()).then((x) => process.stdout.write(x))"], { timeoutMs: 10000 });
    t.equal(r.code, 0, r.stderr);
    return r.stdout;
  };
  const value = (text: string, series: string): string | undefined => text.split('\n').find((l) => l.startsWith(series + ' '))?.slice(series.length + 1);

  const text = await scrape();
  for (const to of ['up', 'down']) t.ok(value(text, `directord_backend_transitions_total{${RS1},to="${to}"}`) !== undefined, `transitions to ${to} present`);
  t.equal(value(text, `directord_backend_transitions_total{${RS1},to="down"}`), '0', 'no down transition');
  for (const result of ['success', 'failure']) t.ok(value(text, `directord_backend_checks_total{${RS1},result="${result}"}`) !== undefined, `checks ${result} present`);
  t.equal(value(text, `directord_backend_check_consecutive_failures{${RS1}}`), '0');
  t.ok(value(text, `directord_backend_check_duration_seconds{${RS1}}`) !== undefined, 'last check duration present');
  for (const reason of HEARTBEAT_REJECT_REASONS) t.equal(value(text, `directord_heartbeats_rejected_total{reason="${reason}"}`), '0', `heartbeats rejected ${reason} at 0`);
  // The native data plane's drop reasons, all at 0 on a quiet lab (the verdict names come from the addon).
  for (const reason of ['no_service', 'no_dest', 'table_full', 'fragment', 'ring_full', 'sync_overflow']) t.ok(value(text, `directord_dataplane_drops_total{reason="${reason}"}`) !== undefined, `drops ${reason} present`);
  t.equal(value(text, 'directord_dataplane_drops_total{reason="table_full"}'), '0');
  const states = HA_STATES.map((s) => value(text, `directord_ha_state{state="${s}"}`));
  t.same(states.filter((v) => v === undefined), [], 'one series per HA state');
  t.equal(states.filter((v) => v === '1').length, 1, 'exactly one state is 1');
  t.equal(value(text, 'directord_ha_info{role="primary"}'), '1');
  t.equal(value(text, 'directord_ha_peer_heartbeat_age_seconds{peer="10.64.7.2"}'), '+Inf', 'the absent partner was never heard');
  for (const result of ['success', 'failure']) t.equal(value(text, `directord_reloads_total{result="${result}"}`), '0');
  t.equal(value(text, 'directord_failovers_total') !== undefined, true);
  // Present from the first scrape; not asserted at 0: a real daemon on a loaded host may already have stalled.
  for (const cause of ['busy', 'starved', 'blocked', 'unknown']) t.ok(value(text, `directord_event_loop_stalls_total{cause="${cause}"}`) !== undefined, `loop stalls (${cause}) present`);
  t.ok(value(text, 'directord_event_loop_stall_seconds_total') !== undefined, 'loop stall seconds present');
  t.match(text, /^process_cpu_seconds_total \d/m, 'process metrics without a prefix');
  t.notMatch(text, /^directord_process_/m);

  // After the partner's deadtime, the primary holds the VIPs and the gauges say so.
  await waitFor('active', async () => value(await scrape(), 'directord_ha_active') === '1', 20000, 250);
  const later = await scrape();
  t.equal(value(later, 'directord_ha_state{state="active"}'), '1');
  t.equal(value(later, 'directord_ha_state{state="standby"}'), '0');
  if (haveTool('promtool')) {
    const p = spawnSync('promtool', ['check', 'metrics'], { input: later, encoding: 'utf8' });
    t.equal(p.status, 0, p.stdout + p.stderr);
  } else t.pass('promtool check metrics', { skip: cannotRun('promtool not installed (Debian package prometheus)', t) });
  daemon.kill('SIGTERM');
  t.equal(await exited, 0, 'stopped cleanly');
});
