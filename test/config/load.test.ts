// The seed's lvs.cf loads unchanged with every effective value as expected; every example in config/ loads;
// printing the effective configuration and parsing it again gives the same configuration.
import t, { type Test } from 'tap';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { configToJSON, formatEffectiveConfig, loadConfig, parseConfig, validateConfig, type LvsConfig } from '../../src/config';
import { mk, parseOpts } from './helpers';

const root = join(__dirname, '..', '..');
const seedFile = join(root, 'test/fixtures/seed/lvs.cf');
const exampleDir = join(root, 'config');

t.test('the seed file is the verbatim seed (whitespace-only lines included)', async (t) => {
  const text = readFileSync(seedFile, 'utf8');
  t.match(text, /\n \n/, 'has a line holding one blank');
  t.ok(text.includes('send = "\\n"'));
});

t.test('seed lvs.cf: every effective value', async (t) => {
  const cfg = loadConfig(seedFile, parseOpts);
  t.same(cfg.global, {
    serialNo: 2013042401, service: 'lvs', primary: '10.0.0.1', primaryPrivate: '10.0.0.1', backup: '10.0.0.2', backupPrivate: '10.0.0.2',
    backupActive: true, rshCommand: 'ssh', heartbeat: true, heartbeatPort: 539, keepalive: 6, deadtime: 18, debugLevel: 'NONE',
    monitorLinks: true, syncdaemon: true, syncdIface: 'eth0', syncdId: 0, hardShutdown: false, network: 'direct',
    tcpTimeout: 0, tcpfinTimeout: 0, udpTimeout: 0, ipvsadm: '/sbin/ipvsadm', sync: false,
    failback: false, failbackHolddown: 30, garpCount: 5, garpInterval: 1, garpRefresh: 0, syncPort: 8848,
  });
  t.equal(cfg.virtuals.length, 1);
  const v = cfg.virtuals[0];
  const { servers, source, ...rest } = v;
  t.same(rest, {
    name: 'openstack_mysql_3306', active: true, address: '10.0.0.3', device: 'eth0:6', vipNetmask: '255.255.240.0', port: 3306,
    protocol: 'tcp', fwmark: 0, scheduler: 'wlc', persistent: 60, pmask: '255.255.240.0', send: '\n', expect: 'OK', useRegex: false,
    sendProgram: '/usr/local/bin/check_tcp_port.sh %h 3306', loadMonitor: 'none', timeout: 5, reentry: 10, quiesceServer: true,
    clientMonitor: '/usr/sbin/nanny', check: 'tcp', interval: 5, rise: 2, fall: 1, jitter: 0, slowStart: true,
    sendProgramNeedsExpect: false, expireQuiescentTemplate: false, expireNodestConn: false, failedServerKeepsTemplates: false,
  });
  t.same(source, { file: seedFile, line: 18 });
  t.same(servers.map(({ source: s, ...x }) => ({ ...x, line: s.line })), [
    { name: 'sql1.example.com', address: '10.0.0.4', port: 3306, active: true, weight: 1, line: 35 },
    { name: 'sql2.example.com', address: '10.0.0.5', port: 3306, active: true, weight: 1, line: 40 },
  ]);
  t.same(cfg.failoverServices, []);
  t.same((cfg.warnings ?? []).map((w) => [w.code, w.location?.line]), [
    ['W_CONFIG_DUPLICATE_KEY', 4],
    ['W_CONFIG_NO_EFFECT', 27],
  ]);
});

/** Parse → print → parse gives the same data, and printing is a fixpoint. */
function roundTrip(t: Test, cfg: LvsConfig, label: string): void {
  const text = formatEffectiveConfig(cfg);
  const again = validateConfig(parseConfig(text, cfg.file, parseOpts), parseOpts);
  t.same(configToJSON(again), configToJSON(cfg), `${label}: reparsed effective config is identical`);
  t.equal(formatEffectiveConfig(again), text, `${label}: printing is a fixpoint`);
}

t.test('round trip of the seed', async (t) => {
  roundTrip(t, loadConfig(seedFile, parseOpts), 'seed');
});

const examples = readdirSync(exampleDir).filter((f) => f.endsWith('.cf')).sort();

t.test('there are one-feature examples', async (t) => {
  t.ok(examples.length >= 10, examples.join(' '));
});

for (const f of examples) {
  t.test(`example config/${f} loads without warnings and round-trips`, async (t) => {
    const cfg = loadConfig(join(exampleDir, f), parseOpts);
    t.same((cfg.warnings ?? []).map((w) => w.format()), []);
    t.ok(cfg.virtuals.some((v) => v.active));
    roundTrip(t, cfg, f);
  });
}

t.test('what the examples demonstrate', async (t) => {
  const load = (f: string) => loadConfig(join(exampleDir, f), parseOpts);
  const send = load('send-expect.cf').virtuals[0];
  t.equal(send.port, 80, 'port = http via the services table');
  t.equal(send.send, 'GET /health HTTP/1.0\r\nHost: example\r\n\r\n');
  t.equal(send.rise, 2, 'reentry 15 / timeout 6');
  t.equal(load('regex.cf').virtuals[0].expect, '^HTTP/1\\.[01] (200|301)');
  const timeouts = load('timeouts.cf').global;
  t.same([timeouts.tcpTimeout, timeouts.tcpfinTimeout, timeouts.udpTimeout], [3600, 120, 300], 'octal and hex integers');
  const ha = load('ha-pair.cf').global;
  t.same([ha.keepalive, ha.deadtime, ha.failback, ha.failbackHolddown], [0.5, 2.5, true, 60]);
  const mysql = load('mysql-check.cf').virtuals[0];
  t.same(mysql.mysql, { user: 'monitor', credentialsFile: '/etc/directord/mysql-monitor.cnf', checkReadOnly: true, checkReplication: true, maxLagSeconds: 30, connectTimeoutMs: 2000 });
  t.equal(mysql.servers[1].mysqlUser, 'monitor2');
  t.same(load('schedulers.cf').virtuals.map((v) => v.scheduler), ['wrr', 'sh', 'mh']);
  t.equal(load('fwmark.cf').virtuals[0].fwmark, 10);
  t.equal(load('persistence.cf').virtuals[0].pmask, '255.255.255.0');
});

t.test('printed values that need quoting survive the round trip', async (t) => {
  const text = [
    'primary = 10.0.0.1', 'network = direct', 'active_cmd = "/usr/local/bin/became active"', "inactive_cmd = 'say \"bye\"'",
    'virtual "two words" {', '  active = 1', '  address = 10.0.0.3 eth0:1', '  send = say\\"hi\\\'', '  expect = \'a "b\'',
    '  send_program = \'/bin/x "%h"\'', '  server s { ', '    address = 10.0.0.4', '    active = 1', '  }', '}', '',
  ].join('\n');
  const cfg = validateConfig(parseConfig(text, 'q.cf', parseOpts), parseOpts);
  const v = cfg.virtuals[0];
  t.equal(cfg.global.activeCmd, '/usr/local/bin/became active');
  t.equal(cfg.global.inactiveCmd, 'say "bye"');
  t.equal(v.name, 'two words');
  t.equal(v.send, 'say"hi\'');
  t.equal(v.expect, '\'a "b\'', 'single-quoted expect keeps its quotes');
  t.equal(v.sendProgram, '\'/bin/x "%h"\'', 'single quotes are kept (lvsd strips double quotes only)');
  roundTrip(t, cfg, 'quoting');
});

t.test('round trip of a config with incomplete inactive blocks', async (t) => {
  const text = ['primary = 10.0.0.1', 'network = direct', 'rsh_command = ""', 'virtual "" {', '  active = 1', '  address = 10.0.0.3 eth0:1',
    '  server s {', '    active = 0', '  }', '}', 'virtual off {', '}', ''].join('\n');
  roundTrip(t, validateConfig(parseConfig(text, 'i.cf', parseOpts), parseOpts), 'incomplete inactive');
});

t.test('failed_server_keeps_templates: off by default, 1 restores IPVS, printed and re-read', async (t) => {
  t.equal(validateConfig(parseConfig(mk(), 'x.cf', parseOpts)).virtuals[0].failedServerKeepsTemplates, false);
  const on = validateConfig(parseConfig(mk({ virtual: ['failed_server_keeps_templates = 1'] }), 'x.cf', parseOpts));
  t.equal(on.virtuals[0].failedServerKeepsTemplates, true);
  t.match(formatEffectiveConfig(on), /failed_server_keeps_templates = 1/);
  t.throws(() => parseConfig(mk({ virtual: ['failed_server_keeps_templates = 2'] }), 'x.cf', parseOpts), { code: 'E_CONFIG_BAD_BOOLEAN' }, 'a boolean: 0 or 1');
});
