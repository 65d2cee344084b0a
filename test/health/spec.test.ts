// Config → checker spec: which probe a virtual gets (nanny's rules) and the policy numbers derived from it.
import t from 'tap';
import { checkerSpec, checkerSpecs, probeKey, DEFAULT_HTTP_SEND } from '../../src/health/spec';
import { isDirectordError } from '../../src/errors';
import { virtual, server } from './fixtures/config';

const s1 = server('a', '10.0.0.4');

t.test('probe kind and fields', async (t) => {
  const rows: Array<[string, Parameters<typeof virtual>[0], Record<string, unknown>]> = [
    ['seed: send_program wins, send ignored, no regex', {}, { kind: 'program', program: '/usr/local/bin/check_tcp_port.sh %h 3306', expect: 'OK', send: undefined, useRegex: false, timeoutMs: 5000 }],
    ['plain TCP connect', { sendProgram: undefined, send: undefined, expect: undefined }, { kind: 'tcp', send: undefined, expect: undefined }],
    ['port 80 without send/expect/program: GET / HTTP/1.0, expect HTTP', { port: 80, sendProgram: undefined, send: undefined, expect: undefined }, { kind: 'tcp', send: DEFAULT_HTTP_SEND, expect: 'HTTP' }],
    ['port 80 with an expect keeps it', { port: 80, sendProgram: undefined, send: undefined, expect: 'OK' }, { kind: 'tcp', send: undefined, expect: 'OK' }],
    ['UDP', { protocol: 'udp', sendProgram: undefined, send: 'PING', expect: 'PONG' }, { kind: 'udp', send: 'PING', expect: 'PONG' }],
    ['regex kept for socket probes', { sendProgram: undefined, useRegex: true, expect: '^OK' }, { kind: 'tcp', useRegex: true }],
    ['icmp', { check: 'icmp' }, { kind: 'icmp' }],
    ['fractional timeout', { timeout: 0.5 }, { timeoutMs: 500 }],
    ['send_program without expect: exit status decides', { expect: undefined }, { kind: 'program', expect: undefined, programNeedsExpect: undefined }],
    ['send_program_needs_expect = 1: nanny\'s rule', { expect: undefined, sendProgramNeedsExpect: true }, { kind: 'program', programNeedsExpect: true }],
  ];
  for (const [name, over, want] of rows) t.match(checkerSpec(virtual(over), s1).probe, want, name);
});

t.test('policy: nanny defaults and extensions', async (t) => {
  const rows: Array<[string, Parameters<typeof virtual>[0], Record<string, unknown>, number]> = [
    ['seed: reentry 10 / timeout 5', {}, { rise: 2, fall: 1, quiesce: true, slowStart: true, weight: 1, intervalSec: 5 }, 5000],
    ['nanny defaults 180 / 10', { timeout: 10, reentry: 180 }, { rise: 18 }, 10000],
    ['reentry 0 means 180', { timeout: 10, reentry: 0 }, { rise: 18 }, 10000],
    ['reentry < timeout: 0', { timeout: 10, reentry: 5 }, { rise: 0 }, 10000],
    ['rise/fall/interval extensions', { rise: 3, fall: 2, interval: 2 }, { rise: 3, fall: 2, intervalSec: 2 }, 2000],
  ];
  for (const [name, over, want, intervalMs] of rows) {
    const s = checkerSpec(virtual(over), s1);
    t.match(s.policy, want, name);
    t.equal(s.intervalMs, intervalMs, `${name}: interval`);
  }
});

t.test('mysql options: virtual defaults, per-server user/password override', async (t) => {
  const v = virtual({ check: 'mysql', mysql: { user: 'monitor', password: 'p', checkReadOnly: true, checkReplication: true, maxLagSeconds: 10 } });
  t.match(checkerSpec(v, s1).probe, { kind: 'mysql', mysql: { user: 'monitor', password: 'p', maxLagSeconds: 10, checkReadOnly: true } });
  t.match(checkerSpec(v, server('b', '10.0.0.5', { mysqlUser: 'other', mysqlPassword: 'q' })).probe.mysql, { user: 'other', password: 'q' });
  try {
    checkerSpec(virtual({ check: 'mysql', mysql: undefined }), s1);
    t.fail('should throw');
  } catch (e) {
    t.ok(isDirectordError(e));
    t.equal((e as { code: string }).code, 'E_HEALTH_MYSQL_NO_USER');
  }
  try {
    checkerSpec(virtual({ timeout: 0 }), s1);
    t.fail('should throw');
  } catch (e) {
    t.equal((e as { code: string }).code, 'E_HEALTH_BAD_TIMEOUT');
  }
});

t.test('only active virtuals and servers get checkers; probe key ignores policy', async (t) => {
  const specs = checkerSpecs([virtual({ servers: [s1, server('off', '10.0.0.9', { active: false })] }), virtual({ name: 'off', active: false })]);
  t.same(specs.map((s) => s.server), ['a']);
  t.equal(probeKey(checkerSpec(virtual({ reentry: 100 }), s1)), probeKey(checkerSpec(virtual(), s1)));
  t.not(probeKey(checkerSpec(virtual({ expect: 'YES' }), s1)), probeKey(checkerSpec(virtual(), s1)));
});
