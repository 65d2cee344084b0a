// scale_out and sync_peers: the keys parse, print and refuse what contradicts scale-out mode, with file:line and a
// stable code naming the key.
import t from 'tap';
import { parseConfig, validateConfig } from '../../src/config';
import { formatEffectiveConfig } from '../../src/config/print';
import { DirectordErrors, type DirectordError } from '../../src/errors';
import { EXAMPLE_KEY_FILE, parseOpts } from './helpers';

const base = (global: string[]): string =>
  ['network = direct', ...global, 'virtual v {', '  active = 1', '  address = 10.0.9.3 eth0:1', '  scheduler = mh', '  server a {', '    address = 10.0.0.21', '    active = 1', '  }', '}', ''].join('\n');

function errorsOf(text: string): DirectordError[] {
  try {
    validateConfig(parseConfig(text, 'lvs.cf', parseOpts), parseOpts);
    return [];
  } catch (e) {
    if (e instanceof DirectordErrors) return e.errors;
    return [e as DirectordError];
  }
}

t.test('a scale-out file: no primary needed, peers parsed and printed', async (t) => {
  const cfg = validateConfig(parseConfig(base(['scale_out = 1', 'sync_peers = 10.0.0.11 10.0.0.12  10.0.0.13', `heartbeat_key_file = ${EXAMPLE_KEY_FILE}`]), 'lvs.cf', parseOpts), parseOpts);
  t.equal(cfg.global.scaleOut, true);
  t.same(cfg.global.syncPeers, ['10.0.0.11', '10.0.0.12', '10.0.0.13']);
  t.match(formatEffectiveConfig(cfg), /^sync_peers = 10\.0\.0\.11 10\.0\.0\.12 10\.0\.0\.13$/m);
  t.match(formatEffectiveConfig(cfg), /^scale_out = 1$/m);
  t.match(formatEffectiveConfig(cfg), /^# scale_out = 1: this director forwards whenever it runs/m, '--check-config explains the mode');
  t.match(formatEffectiveConfig(cfg), /shared with 10\.0\.0\.11, 10\.0\.0\.12, 10\.0\.0\.13/);
});

t.test('what contradicts scale-out mode is refused, naming the key and its line', async (t) => {
  const cases: Array<[string[], string, number, RegExp]> = [
    [['scale_out = 1', 'backup_active = 1'], 'E_CONFIG_SCALE_OUT_CONFLICT', 3, /backup_active/],
    [['scale_out = 1', 'backup = 10.0.0.2'], 'E_CONFIG_SCALE_OUT_CONFLICT', 3, /backup cannot/],
    [['scale_out = 1', 'syncdaemon = 1'], 'E_CONFIG_SCALE_OUT_CONFLICT', 3, /syncdaemon/],
    [['sync_peers = 10.0.0.11', `heartbeat_key_file = ${EXAMPLE_KEY_FILE}`, 'primary = 10.0.0.1'], 'E_CONFIG_SCALE_OUT_CONFLICT', 2, /set scale_out = 1/],
    [['scale_out = 1', 'sync_peers = 10.0.0.11 10.0.0.12'], 'E_CONFIG_SCALE_OUT_KEY', 3, /heartbeat_key_file/],
    [['scale_out = 1', `heartbeat_key_file = ${EXAMPLE_KEY_FILE}`, 'sync_peers = 10.0.0.11 10.0.0.11'], 'E_CONFIG_BAD_ADDRESS', 4, /listed twice/],
    [['scale_out = 1', `heartbeat_key_file = ${EXAMPLE_KEY_FILE}`, 'sync_peers = 10.0.0.11 224.0.0.81'], 'E_CONFIG_BAD_ADDRESS', 4, /224\.0\.0\.81/],
    [['scale_out = 1', 'sync_peers = 10.0.0.11 lb2'], 'E_CONFIG_BAD_ADDRESS', 3, /'lb2'/],
    [['scale_out = 1', 'sync_peers ='], 'E_CONFIG_MISSING_VALUE', 3, /sync_peers/],
    [['network = direct'], 'E_CONFIG_MISSING_KEY', 1, /primary/],
  ];
  for (const [global, code, line, msg] of cases) {
    const errs = errorsOf(base(global));
    const e = errs.find((x) => x.code === code);
    t.ok(e, `${global.join('; ')} → ${code} (got ${errs.map((x) => x.code).join(', ')})`);
    t.equal(e?.location?.line, line, `at line ${line}`);
    t.match(e?.message, msg);
  }
});

t.test('keys that do nothing in scale-out mode warn; no sync_peers warns', async (t) => {
  const cfg = validateConfig(parseConfig(base(['scale_out = 1', 'garp_count = 3', 'keepalive = 1']), 'lvs.cf', parseOpts), parseOpts);
  const w = (cfg.warnings ?? []).map((x) => `${x.code}:${x.location?.line}`);
  t.ok(w.includes('W_CONFIG_NO_EFFECT:3'), 'garp_count');
  t.ok(w.includes('W_CONFIG_NO_EFFECT:4'), 'keepalive');
  t.ok(w.includes('W_CONFIG_SCALE_OUT_NO_SYNC:2'), 'no sync_peers');
});
