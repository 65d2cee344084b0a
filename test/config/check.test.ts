// `directord --check-config`: exit codes, effective-config output (text and JSON), errors, warnings, secrets.
import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig, runCheckConfig, validateConfig } from '../../src/config';
import { mk, parseOpts } from './helpers';

const seedFile = join(__dirname, '..', 'fixtures', 'seed', 'lvs.cf');

t.test('valid file: exit 0, effective config on stdout, summary and warnings on stderr', async (t) => {
  const r = runCheckConfig({ file: seedFile, parse: parseOpts });
  t.equal(r.exitCode, 0);
  t.match(r.stdout, /^network = direct$/m);
  t.match(r.stdout, /^ {2}rise = 2$/m, 'derived values are explicit');
  t.match(r.stdout, /^ {4}port = 3306$/m, 'server port explicit');
  t.match(r.stderr, /W_CONFIG_DUPLICATE_KEY/);
  t.match(r.stderr, /W_HA_UNAUTHENTICATED heartbeat_key_file is not set/, 'the seed pair runs without a key: say what that risks');
  t.match(r.stderr, /configuration is valid \(1 active virtual service, 2 active real servers, 3 warnings\)/);
  const again = validateConfig(parseConfig(r.stdout, 'printed.cf', parseOpts), parseOpts);
  t.equal(again.virtuals[0].servers.length, 2, 'stdout parses back');
});

t.test('valid file with --json', async (t) => {
  const r = runCheckConfig({ file: seedFile, json: true, parse: parseOpts });
  t.equal(r.exitCode, 0);
  const body = JSON.parse(r.stdout);
  t.equal(body.ok, true);
  t.equal(body.config.global.network, 'direct');
  t.equal(body.config.virtuals[0].servers[1].address, '10.0.0.5');
  t.equal(body.config.virtuals[0].source, undefined, 'no source references in the effective config');
  t.same(body.warnings.map((w: { code: string }) => w.code), ['W_CONFIG_DUPLICATE_KEY', 'W_CONFIG_NO_EFFECT', 'W_HA_UNAUTHENTICATED']);
});

t.test('W_HA_UNAUTHENTICATED: only for a pair without heartbeat_key_file', async (t) => {
  const dir = t.testdir({ 'key': 'k'.repeat(32) });
  const seed = require('node:fs').readFileSync(seedFile, 'utf8') as string;
  const keyed = join(dir, 'keyed.cf');
  writeFileSync(keyed, seed.replace(/^network = direct$/m, `network = direct\nheartbeat_key_file = ${join(dir, 'key')}`));
  const r = runCheckConfig({ file: keyed, json: true, parse: parseOpts });
  t.equal(r.exitCode, 0);
  t.notOk(JSON.parse(r.stdout).warnings.some((w: { code: string }) => w.code === 'W_HA_UNAUTHENTICATED'), 'no warning with a key');
  const lone = join(dir, 'lone.cf');
  writeFileSync(lone, seed.replace(/^backup_active = 1$/m, 'backup_active = 0'));
  t.notOk(JSON.parse(runCheckConfig({ file: lone, json: true, parse: parseOpts }).stdout).warnings.some((w: { code: string }) => w.code === 'W_HA_UNAUTHENTICATED'), 'no heartbeats, nothing to forge');
});

t.test('invalid file: exit 1 and every error, text and JSON', async (t) => {
  const dir = t.testdir({ 'bad.cf': mk({ network: 'network = nat', virtual: ['schedular = rr'] }) });
  const file = join(dir, 'bad.cf');
  const r = runCheckConfig({ file, parse: parseOpts });
  t.equal(r.exitCode, 1);
  t.equal(r.stdout, '');
  t.match(r.stderr, `${file}:6:3 E_CONFIG_UNKNOWN_KEY unknown key 'schedular'`);
  t.match(r.stderr, /configuration is invalid \(1 error\)/);
  writeFileSync(file, mk({ network: 'network = nat' }));
  const j = runCheckConfig({ file, json: true, parse: parseOpts });
  t.equal(j.exitCode, 1);
  const body = JSON.parse(j.stdout);
  t.equal(body.ok, false);
  t.same(body.errors.map((e: { code: string; location: { line: number } }) => [e.code, e.location.line]), [['E_CONFIG_UNSUPPORTED', 2]]);
});

t.test('missing file', async (t) => {
  const r = runCheckConfig({ file: '/nonexistent/lvs.cf' });
  t.equal(r.exitCode, 1);
  t.match(r.stderr, /E_CONFIG_READ cannot read configuration file \/nonexistent\/lvs.cf: ENOENT/);
});

t.test('mysql passwords are masked unless asked for', async (t) => {
  const dir = t.testdir({ 'm.cf': mk({ virtual: ['check = mysql', 'mysql_user = mon', 'mysql_password = s3cret'] }) });
  const file = join(dir, 'm.cf');
  const masked = runCheckConfig({ file, parse: parseOpts });
  t.equal(masked.exitCode, 0);
  t.notMatch(masked.stdout, /s3cret/);
  t.match(masked.stdout, /mysql_password = \*{8}/);
  t.notMatch(runCheckConfig({ file, json: true, parse: parseOpts }).stdout, /s3cret/);
  t.match(runCheckConfig({ file, showSecrets: true, parse: parseOpts }).stdout, /mysql_password = s3cret/);
});

t.test('Piranha behaviours surfaced as warnings', async (t) => {
  const cfg = validateConfig(parseConfig(mk({
    global: ['backup_active = 1'],
    virtual: ['server t {', '  address = 10.0.0.6', '  active = 1', '}', 'port = 8080', "expect = 'x'", 'persistent = 0', 'pmask = 255.255.255.0', 'load_monitor = uptime'],
  }), 'lvs.cf', parseOpts));
  const codes = (cfg.warnings ?? []).map((w) => w.code);
  t.ok(codes.includes('W_CONFIG_BACKUP_UNDEFINED'));
  t.equal(cfg.global.backupActive, false, 'cleared as pulse does');
  t.ok(codes.includes('W_CONFIG_PORT_AFTER_SERVER'));
  t.same(cfg.virtuals[0].servers.map((s) => [s.name, s.port]), [['t', 80], ['s', 8080]], 'a server keeps the port in force when its block was read');
  t.equal(cfg.virtuals[0].port, 8080);
  t.ok(codes.includes('W_CONFIG_SINGLE_QUOTES_KEPT'));
  t.equal(cfg.virtuals[0].expect, "'x'");
  t.ok(codes.includes('W_CONFIG_NOT_IMPLEMENTED'));
  t.ok(codes.includes('W_CONFIG_NO_EFFECT'));
});

t.test('Piranha normalisations', async (t) => {
  const cfg = validateConfig(parseConfig(mk({ virtual: ['reentry = 0', 'persistent = 30', 'pmask = 255.255.255.255', 'timeout = 7'] }), 'lvs.cf', parseOpts));
  const v = cfg.virtuals[0];
  t.equal(v.reentry, 180, 'reentry 0 means 180');
  t.equal(v.pmask, undefined, 'pmask /32 dropped as Piranha does');
  t.equal(v.rise, 25, '180 / 7, integer division');
  t.equal(v.interval, 7);
  const dup = validateConfig(parseConfig(mk({ virtual: ['timeout = 3', 'timeout = 4'] }), 'lvs.cf', parseOpts));
  t.equal(dup.virtuals[0].timeout, 4, 'last duplicate wins');
  t.same(dup.warnings?.map((w) => [w.code, w.location?.line]), [['W_CONFIG_DUPLICATE_KEY', 7]]);
  const named = validateConfig(parseConfig(mk({ global: ['primary = director-a', 'backup = director-b'] }), 'lvs.cf', parseOpts));
  t.same([named.global.primary, named.global.backup], ['10.0.0.1', '10.0.0.2'], 'host names resolved through the injected resolver');
});

t.test('inactive blocks need not be complete (Piranha ignores them)', async (t) => {
  const cfg = validateConfig(parseConfig(mk({
    virtual: ['server spare {', '  active = 0', '}'],
    tail: ['virtual draft {', '  protocol = udp', '  server x {', '  }', '}'],
  }), 'lvs.cf', parseOpts));
  t.same(cfg.virtuals.map((v) => [v.name, v.active, v.address]), [['v', true, '10.0.0.3'], ['draft', false, '']]);
  t.same(cfg.virtuals[0].servers.map((s) => [s.name, s.address]), [['spare', ''], ['s', '10.0.0.4']]);
});

t.test('what apply would refuse, --check-config refuses: a short key file, too many servers', async (t) => {
  const servers = Array.from({ length: 257 }, (_, i) => [`  server s${i} {`, `    address = 10.1.${i >> 8}.${i & 255}`, '    active = 1', '  }']).flat();
  const dir = t.testdir({
    'short.key': 'abcde\n',
    'big.cf': mk({ tail: ['virtual w {', '  active = 1', '  address = 10.0.0.9 eth0:1', ...servers, '}'] }),
  });
  const keyed = join(dir, 'keyed.cf');
  writeFileSync(keyed, mk({ global: [`heartbeat_key_file = ${join(dir, 'short.key')}`] }));
  const r = runCheckConfig({ file: keyed, parse: parseOpts });
  t.equal(r.exitCode, 1);
  t.match(r.stderr, `${keyed}:3:22 E_CONFIG_KEY_TOO_SHORT heartbeat_key_file: heartbeat key in ${join(dir, 'short.key')} has 5 bytes, at least 16 required`);
  const big = runCheckConfig({ file: join(dir, 'big.cf'), json: true, parse: parseOpts });
  t.equal(big.exitCode, 1);
  t.same(JSON.parse(big.stdout).errors.map((e: { code: string }) => e.code), ['E_CONFIG_TOO_MANY_SERVERS']);
});

t.test('W_CONFIG_PIRANHA_DIFFERS: weight 0 under slow start, send_program without expect', async (t) => {
  const warn = (x: Parameters<typeof mk>[0]) => (validateConfig(parseConfig(mk(x), 'w.cf', parseOpts)).warnings ?? [])
    .filter((w) => w.code === 'W_CONFIG_PIRANHA_DIFFERS').map((w) => [w.location?.line, w.message]);
  t.match(warn({ server: ['weight = 0'] }), [[9, /weight = 0 is served at weight 1 .* slow_start = 0 keeps 0/]]);
  t.same(warn({ virtual: ['slow_start = 0'], server: ['weight = 0'] }), [], 'slow_start = 0: 0 is 0');
  t.match(warn({ virtual: ['send_program = "/bin/check %h"'] }), [[6, /exit status decides .*send_program_needs_expect = 1 restores that/]]);
  t.match(warn({ virtual: ['send_program = "/bin/check %h"', 'send_program_needs_expect = 1'] }), [[6, /never passes .* never used/]]);
  t.same(warn({ virtual: ['send_program = "/bin/check %h"', 'expect = "OK"'] }), [], 'with expect: as nanny');
});

t.test('-q: nothing on success; --strict: warnings fail the check', async (t) => {
  // The seed's file has three warnings (a repeated key, send next to send_program, no heartbeat key) and no error.
  const q = runCheckConfig({ file: seedFile, quiet: true });
  t.same(q, { exitCode: 0, stdout: '', stderr: '' }, 'quiet on success');
  const s = runCheckConfig({ file: seedFile, strict: true });
  t.equal(s.exitCode, 1, 'warnings fail a strict check');
  t.equal(s.stdout, '');
  t.match(s.stderr, /W_CONFIG_DUPLICATE_KEY/);
  t.match(s.stderr, /configuration refused by --strict \(3 warnings\)/);
  const sq = runCheckConfig({ file: seedFile, strict: true, quiet: true });
  t.equal(sq.exitCode, 1, 'quiet does not hide a strict failure');
  t.match(sq.stderr, /refused by --strict/);
  const j = JSON.parse(runCheckConfig({ file: seedFile, strict: true, json: true }).stdout);
  t.equal(j.ok, false);
  t.equal(j.strict, true);
  t.equal(j.warnings.length, 3);
  const clean = t.testdir({ 'ok.cf': mk({}) });
  t.equal(runCheckConfig({ file: join(clean, 'ok.cf'), strict: true, quiet: true }).exitCode, 0, 'a file without warnings passes a strict check');
  const bad = t.testdir({ 'bad.cf': mk({ virtual: ['schedular = rr'] }) });
  const b = runCheckConfig({ file: join(bad, 'bad.cf'), quiet: true });
  t.equal(b.exitCode, 1);
  t.match(b.stderr, /E_CONFIG_UNKNOWN_KEY/, 'errors are printed even with -q');
});

t.test('scheduler = fo (weighted failover) is accepted and printed back', async (t) => {
  const cfg = validateConfig(parseConfig(mk({ virtual: ['scheduler = fo'] }), 'lvs.cf', parseOpts), parseOpts);
  t.equal(cfg.virtuals[0].scheduler, 'fo');
});

t.test('writer mode: keys, validation, and what --check-config says about it', async (t) => {
  const mysql = ['check = mysql', 'mysql_user = monitor'];
  const cfg = validateConfig(parseConfig(mk({ virtual: [...mysql, 'writer_mode = 1', 'writer_holddown = 12.5'] }), 'lvs.cf', parseOpts), parseOpts);
  t.same(cfg.virtuals[0].writer, { enabled: true, holddown: 12.5, fencing: false, failback: false, demote: 'leave' });
  const bad = (extra: string[]): string[] => {
    try {
      validateConfig(parseConfig(mk({ virtual: extra }), 'lvs.cf', parseOpts), parseOpts);
      return [];
    } catch (e) {
      return ((e as { errors?: { code: string }[] }).errors ?? [e as { code: string }]).map((x) => x.code);
    }
  };
  t.same(bad(['writer_mode = 1']), ['E_CONFIG_WRITER_NEEDS_MYSQL']);
  t.same(bad([...mysql, 'writer_mode = 1', 'writer_failback = 1']), ['E_CONFIG_WRITER_FAILBACK_UNFENCED']);
  t.same(bad([...mysql, 'writer_mode = 1', 'writer_holddown = -1']), ['E_CONFIG_OUT_OF_RANGE']);
  t.same(bad([...mysql, 'writer_mode = 1', 'writer_failback = 1', 'writer_fencing = 1']), []);
  const file = join(t.testdir(), 'lvs.cf');
  writeFileSync(file, mk({ virtual: [...mysql, 'writer_mode = 1'] }));
  const r = runCheckConfig({ file, parse: parseOpts });
  t.equal(r.exitCode, 0);
  t.match(r.stderr, /writer mode: exactly one of .* takes new connections/);
  t.match(r.stderr, /no failback: the writer stays where it is until it fails; no fencing/);
  t.notMatch(r.stderr, /two directors/, 'no backup: nothing about two directors');
  for (const [sync, said] of [['1', /two directors: the active one decides and sends its decision to the other over connection sync \(sync_port 8848\)/], ['0', /two directors without connection sync \(syncdaemon = 0\): each decides alone/]] as const) {
    writeFileSync(file, mk({ global: ['backup = 10.0.0.2', 'backup_active = 1', `syncdaemon = ${sync}`], virtual: [...mysql, 'writer_mode = 1'] }));
    t.match(runCheckConfig({ file, parse: parseOpts }).stderr, said, `syncdaemon = ${sync}`);
  }
  t.match(r.stdout, /^ {2}writer_mode = 1$/m, 'printed in the effective configuration');
  const off = runCheckConfig({ file: seedFile, parse: parseOpts });
  t.notMatch(off.stdout + off.stderr, /writer_|writer mode/, 'nothing about writer mode for the seed');
  t.match(r.stderr, /its established connections are left alone \(writer_demote = leave/, 'leave by default');
  writeFileSync(file, mk({ virtual: [...mysql, 'writer_mode = 1', 'writer_demote = close'] }));
  const c = runCheckConfig({ file, parse: parseOpts });
  t.match(c.stderr, /its established connections are closed \(writer_demote = close: each ends at its client's next packet, answered with a TCP RST from the VIP\)/);
  t.match(c.stdout, /^ {2}writer_demote = close$/m, 'printed in the effective configuration');
  t.same(validateConfig(parseConfig(mk({ virtual: [...mysql, 'writer_mode = 1', 'writer_demote = close'] }), 'lvs.cf', parseOpts), parseOpts).virtuals[0].writer?.demote, 'close');
  t.same(bad([...mysql, 'writer_mode = 1', 'writer_demote = kill']).length, 1, 'writer_demote is leave or close');
  writeFileSync(file, mk({ virtual: ['writer_demote = close'] }));
  t.match(runCheckConfig({ file, parse: parseOpts }).stderr, /W_CONFIG_NO_EFFECT .*writer_demote has no effect without writer_mode = 1/);
  writeFileSync(file, mk({ virtual: ['writer_holddown = 5'] }));
  t.match(runCheckConfig({ file, parse: parseOpts }).stderr, /W_CONFIG_NO_EFFECT .*writer_holddown has no effect without writer_mode = 1/);
});
