// The bgp_* keys: parsed, defaulted, validated with stable codes at the key's file:line, printed back only when set.
import t from 'tap';
import { parseConfig, validateConfig, formatEffectiveConfig } from '../../src/config';
import { DirectordErrors } from '../../src/errors';
import { bgpSettings, BGP_DEFAULTS } from '../../src/bgp/settings';
import { mk, parseOpts } from '../config/helpers';

const load = (global: string[]) => validateConfig(parseConfig(mk({ global }), 'lvs.cf', parseOpts), parseOpts);

t.test('a complete set resolves with defaults', async (t) => {
  const cfg = load(['bgp_local_as = 65001', 'bgp_peer = "10.0.0.254, 10.0.0.253"', 'bgp_peer_as = 4200000000', 'bgp_bfd = 1']);
  t.same(bgpSettings(cfg.global), {
    localAs: 65001, peers: ['10.0.0.254', '10.0.0.253'], peerAs: 4200000000, bfd: true, bfdInterval: BGP_DEFAULTS.bfdInterval,
    bfdMultiplier: 3, holdTime: 0, includeFile: BGP_DEFAULTS.includeFile, birdcSocket: '/run/bird/bird.ctl',
  });
  t.same(cfg.warnings, []);
  // Printed back, and the printed text loads to the same settings.
  const text = formatEffectiveConfig(cfg);
  t.match(text, /bgp_peer = "10\.0\.0\.254, 10\.0\.0\.253"/);
  t.same(bgpSettings(load(text.split('\n').filter((l) => l.startsWith('bgp_'))).global), bgpSettings(cfg.global));
});

t.test('without bgp_peer BGP is off and nothing is printed', async (t) => {
  const cfg = load([]);
  t.equal(bgpSettings(cfg.global), undefined);
  t.notMatch(formatEffectiveConfig(cfg), /bgp_/);
  const lone = load(['bgp_bfd = 1']);
  t.equal(bgpSettings(lone.global), undefined);
  t.match(lone.warnings?.map((w) => [w.code, w.location?.line]), [['W_CONFIG_NO_EFFECT', 3]]);
});

const bad: [string, string[], string, number][] = [
  ['peer without its AS number', ['bgp_peer = 10.0.0.254', 'bgp_local_as = 65001'], 'E_CONFIG_BGP_INCOMPLETE', 3],
  ['bad peer address', ['bgp_peer = 10.0.0.300', 'bgp_local_as = 1', 'bgp_peer_as = 2'], 'E_CONFIG_BAD_ADDRESS', 3],
  ['duplicate peer', ['bgp_peer = "10.0.0.1 10.0.0.1"', 'bgp_local_as = 1', 'bgp_peer_as = 2'], 'E_CONFIG_BAD_ADDRESS', 3],
  ['AS out of range', ['bgp_peer = 10.0.0.254', 'bgp_local_as = 4294967296', 'bgp_peer_as = 2'], 'E_CONFIG_BAD_ASN', 4],
  ['asdot refused', ['bgp_peer = 10.0.0.254', 'bgp_local_as = 1', 'bgp_peer_as = 1.10'], 'E_CONFIG_BAD_ASN', 5],
  ['BFD interval too short', ['bgp_peer = 10.0.0.254', 'bgp_local_as = 1', 'bgp_peer_as = 2', 'bgp_bfd = 1', 'bgp_bfd_interval = 0.001'], 'E_CONFIG_OUT_OF_RANGE', 7],
  ['BFD multiplier 0', ['bgp_peer = 10.0.0.254', 'bgp_local_as = 1', 'bgp_peer_as = 2', 'bgp_bfd = 1', 'bgp_bfd_multiplier = 0'], 'E_CONFIG_OUT_OF_RANGE', 7],
  ['hold time 2', ['bgp_peer = 10.0.0.254', 'bgp_local_as = 1', 'bgp_peer_as = 2', 'bgp_hold_time = 2'], 'E_CONFIG_OUT_OF_RANGE', 6],
  ['relative include path', ['bgp_peer = 10.0.0.254', 'bgp_local_as = 1', 'bgp_peer_as = 2', 'bgp_include_file = bird.inc'], 'E_CONFIG_BAD_PATH', 6],
  ['socket path with a quote', ['bgp_peer = 10.0.0.254', 'bgp_local_as = 1', 'bgp_peer_as = 2', `bgp_birdc_socket = '/run/b"x'`], 'E_CONFIG_BAD_PATH', 6],
];

for (const [name, global, code, line] of bad) {
  t.test(`refused: ${name}`, async (t) => {
    try {
      load(global);
      t.fail('accepted');
    } catch (e) {
      t.ok(e instanceof DirectordErrors);
      const errs = (e as DirectordErrors).errors;
      t.same(errs.map((x) => [x.code, x.location?.file, x.location?.line]), [[code, 'lvs.cf', line]], errs.map((x) => x.format()).join('\n'));
    }
  });
}

t.test('BFD timings without bgp_bfd warn', async (t) => {
  const cfg = load(['bgp_peer = 10.0.0.254', 'bgp_local_as = 1', 'bgp_peer_as = 2', 'bgp_bfd_interval = 0.05']);
  t.match(cfg.warnings?.map((w) => [w.code, w.location?.line]), [['W_CONFIG_NO_EFFECT', 6]]);
});

t.test('--check-config explains what BGP will do', async (t) => {
  const { runCheckConfig } = await import('../../src/config');
  const { mkdtempSync, writeFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const f = join(mkdtempSync(join(tmpdir(), 'ddbgpchk-')), 'lvs.cf');
  writeFileSync(f, mk({ global: ['bgp_local_as = 65001', 'bgp_peer = 10.0.0.254', 'bgp_peer_as = 65000', 'bgp_bfd = 1'] }));
  const r = runCheckConfig({ file: f, parse: parseOpts });
  t.equal(r.exitCode, 0, r.stderr);
  t.match(r.stderr, /bgp: announces 10\.0\.0\.3\/32 to 10\.0\.0\.254 \(AS 65000\) from AS 65001, next hop this director; BFD every 100 ms x 3 \(a dead director leaves the router's ECMP set in about 300 ms\)/);
  t.match(r.stderr, /include "\/var\/lib\/directord\/bird-directord\.conf";/);
  writeFileSync(f, mk({ global: ['bgp_local_as = 65001', 'bgp_peer = 10.0.0.254', 'bgp_peer_as = 65000'] }));
  t.match(runCheckConfig({ file: f, parse: parseOpts }).stderr, /no BFD: a dead director is noticed by the BGP hold time \(240 s\)/);
});
