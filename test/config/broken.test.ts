// Fixture table of broken configurations: each must fail with a stable code at the expected line (and column).
import t from 'tap';
import { DirectordError, DirectordErrors } from '../../src/errors';
import { parseConfig, validateConfig } from '../../src/config';
import { mk, parseOpts } from './helpers';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// What apply would refuse is refused here: key files HA cannot use, tables bigger than the data plane holds.
const keyDir = mkdtempSync(join(tmpdir(), 'ddkeys-'));
const shortKey = join(keyDir, 'short.key');
writeFileSync(shortKey, 'abcde\n', { mode: 0o600 });
const lineOf = (text: string, marker: string) => text.split('\n').indexOf(marker) + 1;
const tailVirtual = (name: string, address: string, servers: number, first = 0) => [
  `virtual ${name} {`, '  active = 1', `  address = ${address} eth0:1`,
  ...Array.from({ length: servers }, (_, i) => [`  server s${first + i} {`, `    address = 10.1.${(first + i) >> 8}.${((first + i) & 255) + 0}`, '    active = 1', '  }']).flat(),
  '}',
];
const manyVirtuals = mk({ tail: Array.from({ length: 256 }, (_, i) => tailVirtual(`w${i}`, `10.2.${(i + 1) >> 8}.${(i + 1) & 255}`, 1)).flat() });
const manyServers = mk({ tail: tailVirtual('w', '10.0.0.9', 257) });
const sorryOver = mk({ tail: [...tailVirtual('w', '10.0.0.9', 256).slice(0, -1), '  sorry_server = 10.0.0.8', '}'] });
const manyInAll = mk({ tail: Array.from({ length: 16 }, (_, i) => tailVirtual(`w${i}`, `10.2.0.${i + 1}`, 256, i * 256)).flat() });

interface Case {
  name: string;
  text: string;
  code: string;
  line: number;
  column?: number;
  /** A fragment the message must contain (actionable wording). */
  says?: string;
}

const cases: Case[] = [
  { name: 'VLAN id 4095 on the VIP device', text: mk().replace('eth0:1', 'eth0.4095:1'), code: 'E_CONFIG_BAD_VLAN', line: 5, says: '1..4094' },
  { name: 'VLAN id 0 on the VIP device', text: mk().replace('eth0:1', 'eth0.0:1'), code: 'E_CONFIG_BAD_VLAN', line: 5 },
  { name: 'VLAN id with five digits', text: mk().replace('eth0:1', 'eth0.00100'), code: 'E_CONFIG_BAD_VLAN', line: 5 },
  { name: 'misspelt key gets a suggestion', text: mk({ virtual: ['schedular = wlc'] }), code: 'E_CONFIG_UNKNOWN_KEY', line: 6, column: 3, says: "did you mean 'scheduler'" },
  { name: 'unknown global key', text: mk({ global: ['frobnicate = 1'] }), code: 'E_CONFIG_UNKNOWN_KEY', line: 3, column: 1 },
  { name: 'keys are case-sensitive', text: mk({ virtual: ['Timeout = 5'] }), code: 'E_CONFIG_UNKNOWN_KEY', line: 6, column: 3, says: "did you mean 'timeout'" },
  { name: 'key=value glued', text: mk({ global: ['keepalive=2'] }), code: 'E_CONFIG_EXPECTED_EQUALS', line: 3, column: 10, says: 'keepalive = 2' },
  { name: 'no equals sign', text: mk({ global: ['keepalive 2'] }), code: 'E_CONFIG_EXPECTED_EQUALS', line: 3, column: 11 },
  { name: 'equals glued to value', text: mk({ global: ['keepalive =2'] }), code: 'E_CONFIG_EXPECTED_EQUALS', line: 3, column: 11 },
  { name: 'key alone', text: mk({ virtual: ['timeout'] }), code: 'E_CONFIG_EXPECTED_EQUALS', line: 6, column: 11 },
  { name: 'missing value', text: mk({ global: ['keepalive ='] }), code: 'E_CONFIG_MISSING_VALUE', line: 3, column: 13 },
  { name: 'extra value', text: mk({ global: ['keepalive = 2 3'] }), code: 'E_CONFIG_UNEXPECTED_ARGS', line: 3, column: 15 },
  { name: 'comment after a value', text: mk({ global: ['keepalive = 2 # two seconds'] }), code: 'E_CONFIG_UNEXPECTED_ARGS', line: 3, column: 15, says: "'#' starts a comment only" },
  { name: 'unquoted value with blanks', text: mk({ virtual: ['send_program = /bin/check %h'] }), code: 'E_CONFIG_UNEXPECTED_ARGS', line: 6, column: 29, says: 'quote a value' },
  { name: 'virtual address without device', text: mk({ virtual: ['address = 10.0.0.3'] }), code: 'E_CONFIG_MISSING_VALUE', line: 6, column: 13 },
  { name: 'unterminated quote', text: mk({ virtual: ['send = "GET / HTTP/1.0'] }), code: 'E_CONFIG_QUOTE_MISMATCH', line: 6, column: 10 },
  { name: 'text after closing quote', text: mk({ virtual: ['expect = "OK"x'] }), code: 'E_CONFIG_QUOTE_MISMATCH', line: 6, column: 12 },
  { name: 'single quote unterminated', text: mk({ virtual: ["expect = 'OK"] }), code: 'E_CONFIG_QUOTE_MISMATCH', line: 6, column: 12 },
  { name: 'word for an integer', text: mk({ virtual: ['timeout = ten'] }), code: 'E_CONFIG_BAD_INTEGER', line: 6, column: 13 },
  { name: 'octal with 8', text: mk({ virtual: ['timeout = 08'] }), code: 'E_CONFIG_BAD_INTEGER', line: 6, column: 13, says: 'octal' },
  { name: 'bare 0x', text: mk({ virtual: ['persistent = 0x'] }), code: 'E_CONFIG_BAD_INTEGER', line: 6, column: 16 },
  { name: 'integer overflow', text: mk({ virtual: ['persistent = 99999999999'] }), code: 'E_CONFIG_BAD_INTEGER', line: 6, column: 16 },
  { name: 'decimal garbage', text: mk({ global: ['keepalive = 1.5.2'] }), code: 'E_CONFIG_BAD_NUMBER', line: 3, column: 13 },
  { name: 'boolean yes', text: mk({ server: ['active = yes'] }), code: 'E_CONFIG_BAD_BOOLEAN', line: 9, column: 14, says: '0 or 1' },
  { name: 'boolean 2', text: mk({ server: ['active = 2'] }), code: 'E_CONFIG_BAD_BOOLEAN', line: 9, column: 14 },
  { name: 'octet above 255', text: mk({ server: ['address = 10.0.0.256'] }), code: 'E_CONFIG_BAD_ADDRESS', line: 9, column: 15 },
  { name: 'unknown host name', text: mk({ server: ['address = no-such-host'] }), code: 'E_CONFIG_BAD_ADDRESS', line: 9, column: 15, says: '/etc/hosts' },
  { name: 'sorry_server must be an IP', text: mk({ virtual: ['sorry_server = sql1.example.com'] }), code: 'E_CONFIG_BAD_ADDRESS', line: 6, column: 18 },
  { name: 'five-part netmask', text: mk({ virtual: ['vip_nmask = 255.255.255.0.0'] }), code: 'E_CONFIG_BAD_NETMASK', line: 6, column: 15 },
  { name: 'non-contiguous netmask', text: mk({ virtual: ['vip_nmask = 255.0.255.0'] }), code: 'E_CONFIG_BAD_NETMASK', line: 6, column: 15, says: 'contiguous' },
  { name: 'non-contiguous pmask', text: mk({ virtual: ['persistent = 60', 'pmask = 255.255.0.255'] }), code: 'E_CONFIG_BAD_NETMASK', line: 7, column: 11 },
  { name: 'unknown service name', text: mk({ virtual: ['port = htp'] }), code: 'E_CONFIG_BAD_PORT', line: 6, column: 10 },
  { name: 'virtual port above 65535', text: mk({ virtual: ['port = 70000'] }), code: 'E_CONFIG_BAD_PORT', line: 6, column: 10 },
  { name: 'server port 0', text: mk({ server: ['port = 0'] }), code: 'E_CONFIG_BAD_PORT', line: 9, column: 12 },
  { name: 'heartbeat port 0', text: mk({ global: ['heartbeat_port = 0'] }), code: 'E_CONFIG_BAD_PORT', line: 3, column: 18 },
  { name: 'sync port equals heartbeat port', text: mk({ global: ['sync_port = 539'] }), code: 'E_CONFIG_BAD_PORT', line: 3, column: 13 },
  { name: 'Piranha-only scheduler', text: mk({ virtual: ['scheduler = lblc'] }), code: 'E_CONFIG_BAD_SCHEDULER', line: 6, column: 15, says: 'not supported by directord' },
  { name: 'misspelt scheduler', text: mk({ virtual: ['scheduler = wlcc'] }), code: 'E_CONFIG_BAD_SCHEDULER', line: 6, column: 15, says: "did you mean 'wlc'" },
  { name: 'unknown protocol', text: mk({ virtual: ['protocol = sctp'] }), code: 'E_CONFIG_BAD_VALUE', line: 6, column: 14 },
  { name: 'unknown load monitor', text: mk({ virtual: ['load_monitor = ping'] }), code: 'E_CONFIG_BAD_VALUE', line: 6, column: 18 },
  { name: 'network = nat', text: mk({ network: 'network = nat' }), code: 'E_CONFIG_UNSUPPORTED', line: 2, column: 11, says: 'set network = direct' },
  { name: 'network unset means nat', text: mk({ network: null }), code: 'E_CONFIG_UNSUPPORTED', line: 1, column: 1, says: "Piranha's default is nat" },
  { name: 'network = tunnel', text: mk({ network: 'network = tunnel' }), code: 'E_CONFIG_UNSUPPORTED', line: 2, column: 11 },
  { name: 'service = fos', text: mk({ global: ['service = fos'] }), code: 'E_CONFIG_UNSUPPORTED', line: 3, column: 11 },
  { name: 'failover block', text: mk({ global: ['failover f {', '  address = 10.0.0.9 eth0:2', '}'] }), code: 'E_CONFIG_UNSUPPORTED', line: 3, column: 1, says: 'FOS' },
  { name: 'weight above 65535', text: mk({ server: ['weight = 70000'] }), code: 'E_CONFIG_WEIGHT_RANGE', line: 9, column: 14 },
  { name: 'negative weight', text: mk({ server: ['weight = -1'] }), code: 'E_CONFIG_WEIGHT_RANGE', line: 9, column: 14 },
  { name: 'timeout 0 (nanny divides by it)', text: mk({ virtual: ['timeout = 0'] }), code: 'E_CONFIG_OUT_OF_RANGE', line: 6, column: 13 },
  { name: 'negative reentry', text: mk({ virtual: ['reentry = -5'] }), code: 'E_CONFIG_OUT_OF_RANGE', line: 6, column: 13 },
  { name: 'jitter above 1', text: mk({ virtual: ['jitter = 2'] }), code: 'E_CONFIG_OUT_OF_RANGE', line: 6, column: 12 },
  { name: 'UDP without expect', text: mk({ virtual: ['protocol = udp'] }), code: 'E_CONFIG_UDP_NEEDS_EXPECT', line: 6, column: 14 },
  { name: 'deadtime not above keepalive', text: mk({ global: ['deadtime = 1'] }), code: 'E_CONFIG_BAD_TIMING', line: 3, column: 12 },
  { name: 'unknown escape (nanny would loop)', text: mk({ virtual: ['send = "a\\d"'] }), code: 'E_CONFIG_BAD_ESCAPE', line: 6, column: 12, says: "'\\d'" },
  { name: 'bad regex', text: mk({ virtual: ['use_regex = 1', 'expect = "("'] }), code: 'E_CONFIG_BAD_REGEX', line: 7, column: 12 },
  { name: 'mysql check without a user', text: mk({ virtual: ['check = mysql'] }), code: 'E_CONFIG_MISSING_KEY', line: 6, column: 11 },
  { name: 'no primary', text: mk().replace('primary = 10.0.0.1', '# no primary'), code: 'E_CONFIG_MISSING_KEY', line: 1, column: 1, says: "'primary' is required" },
  { name: 'primary equals backup', text: mk({ global: ['backup = 10.0.0.1'] }), code: 'E_CONFIG_BAD_ADDRESS', line: 3, column: 10 },
  { name: 'server without address', text: mk().replace('    address = 10.0.0.4\n', ''), code: 'E_CONFIG_MISSING_KEY', line: 6, column: 1 },
  { name: 'real server is the VIP', text: mk({ server: ['address = 10.0.0.3'] }), code: 'E_CONFIG_BAD_ADDRESS', line: 9, column: 15 },
  { name: 'server key in a virtual block', text: mk({ virtual: ['weight = 5'] }), code: 'E_CONFIG_MISPLACED_KEY', line: 6, column: 3, says: 'server key' },
  { name: 'virtual key at top level', text: mk({ global: ['scheduler = rr'] }), code: 'E_CONFIG_MISPLACED_KEY', line: 3, column: 1 },
  { name: 'missing closing brace', text: mk().replace(/}\n$/, ''), code: 'E_CONFIG_UNEXPECTED_EOF', line: 3, column: 1, says: "virtual 'v'" },
  { name: 'stray closing brace', text: mk({ tail: ['}'] }), code: 'E_CONFIG_UNEXPECTED_BRACE', line: 11, column: 1 },
  { name: 'closing brace with text', text: mk().replace(/}\n$/, '} # end\n'), code: 'E_CONFIG_UNEXPECTED_ARGS', line: 10, column: 3 },
  { name: 'virtual header without brace', text: mk({ tail: ['virtual w', '}'] }), code: 'E_CONFIG_EXPECTED_BRACE', line: 11, column: 11 },
  { name: 'virtual header without name', text: mk({ tail: ['virtual {', '}'] }), code: 'E_CONFIG_MISSING_VALUE', line: 11, column: 9 },
  { name: 'server outside a virtual', text: mk({ global: ['server s {', '}'] }), code: 'E_CONFIG_MISPLACED_BLOCK', line: 3, column: 1 },
  { name: 'server inside a server', text: mk({ server: ['server t {'] }), code: 'E_CONFIG_UNCLOSED_BLOCK', line: 9, column: 5, says: "a '}' is missing" },
  { name: 'duplicate virtual name', text: mk({ tail: ['virtual v {', '  address = 10.0.0.8 eth0:2', '}'] }), code: 'E_CONFIG_DUPLICATE_VIRTUAL', line: 11, column: 1 },
  {
    name: 'duplicate active virtual identity',
    text: mk({ tail: ['virtual w {', '  active = 1', '  address = 10.0.0.3 eth0:1', '  server s {', '    address = 10.0.0.5', '    active = 1', '  }', '}'] }),
    code: 'E_CONFIG_DUPLICATE_VIRTUAL', line: 13, column: 13, says: 'tcp:10.0.0.3:80',
  },
  { name: 'duplicate server destination', text: mk({ virtual: ['server t {', '  address = 10.0.0.4', '  active = 1', '}'] }), code: 'E_CONFIG_DUPLICATE_SERVER', line: 11, column: 15, says: "already server 't'" },
  { name: 'no active virtual', text: mk().replace('  active = 1\n  address', '  active = 0\n  address'), code: 'E_CONFIG_NO_ACTIVE_VIRTUAL', line: 3, column: 1 },
  { name: 'empty file', text: '', code: 'E_CONFIG_EMPTY', line: 1, column: 1 },
  { name: 'only comments and blanks', text: '# nothing\n   \n\t\n  # still nothing\n', code: 'E_CONFIG_EMPTY', line: 1, column: 1 },
  { name: 'CRLF line numbers', text: mk({ global: ['bogus = 1'] }).replace(/\n/g, '\r\n'), code: 'E_CONFIG_UNKNOWN_KEY', line: 3, column: 1 },
  { name: 'dirs without list brackets', text: mk({ virtual: ['dirs = a b'] }), code: 'E_CONFIG_BAD_VALUE', line: 6, column: 10 },
  { name: 'syncd_id above 255', text: mk({ global: ['syncd_id = 300'] }), code: 'E_CONFIG_OUT_OF_RANGE', line: 3, column: 12 },
  { name: 'rise below 0', text: mk({ virtual: ['rise = -1'] }), code: 'E_CONFIG_OUT_OF_RANGE', line: 6, column: 10 },
  { name: 'missing heartbeat key file', text: mk({ global: [`heartbeat_key_file = ${join(keyDir, 'absent.key')}`] }), code: 'E_CONFIG_KEY_FILE', line: 3, column: 22, says: 'ENOENT' },
  { name: '5-byte heartbeat key', text: mk({ global: [`heartbeat_key_file = ${shortKey}`] }), code: 'E_CONFIG_KEY_TOO_SHORT', line: 3, column: 22, says: 'has 5 bytes, at least 16' },
  { name: '257 active virtuals', text: manyVirtuals, code: 'E_CONFIG_TOO_MANY_VIRTUALS', line: lineOf(manyVirtuals, 'virtual w255 {'), column: 1, says: 'at most 256 active virtual services' },
  { name: '257 servers in a virtual', text: manyServers, code: 'E_CONFIG_TOO_MANY_SERVERS', line: lineOf(manyServers, '  server s256 {'), column: 1, says: 'at most 256 per virtual service' },
  { name: '256 servers and a sorry_server', text: sorryOver, code: 'E_CONFIG_TOO_MANY_SERVERS', line: lineOf(sorryOver, '  sorry_server = 10.0.0.8'), column: 18, says: 'sorry_server makes 257' },
  { name: '4,097 servers in all', text: manyInAll, code: 'E_CONFIG_TOO_MANY_SERVERS', line: lineOf(manyInAll, '  server s4095 {'), column: 1, says: 'at most 4096 in all' },
];

function firstError(text: string): DirectordError {
  try {
    validateConfig(parseConfig(text, 'lvs.cf', parseOpts), parseOpts);
  } catch (e) {
    if (e instanceof DirectordErrors) return e.errors[0];
    throw e;
  }
  throw new Error('configuration was accepted');
}

t.ok(cases.length >= 40, `at least 40 broken fixtures (${cases.length})`);

for (const c of cases) {
  t.test(c.name, async (t) => {
    const e = firstError(c.text);
    t.equal(e.code, c.code, e.format());
    t.equal(e.location?.file, 'lvs.cf');
    t.equal(e.location?.line, c.line, 'line');
    if (c.column !== undefined) t.equal(e.location?.column, c.column, 'column');
    if (c.says) t.match(e.message, c.says);
    t.match(e.format(), new RegExp(`^lvs\\.cf:${c.line}:\\d+ ${c.code} `));
  });
}

t.test('the issue example formats exactly', async (t) => {
  const text = mk({ virtual: ['schedular = wlc'] });
  const e = firstError(text);
  t.equal(e.format(), "lvs.cf:6:3 E_CONFIG_UNKNOWN_KEY unknown key 'schedular' in a virtual block (did you mean 'scheduler'?)");
});

t.test('several mistakes in one file are all reported, in file order', async (t) => {
  const text = mk({ global: ['keepalive = two'], virtual: ['schedular = rr'], server: ['weight = x'] });
  let err: unknown;
  try {
    parseConfig(text, 'lvs.cf', parseOpts);
  } catch (e) {
    err = e;
  }
  t.type(err, DirectordErrors);
  const list = (err as DirectordErrors).errors;
  t.same(list.map((e) => [e.code, e.location?.line]), [
    ['E_CONFIG_BAD_NUMBER', 3],
    ['E_CONFIG_UNKNOWN_KEY', 7],
    ['E_CONFIG_BAD_INTEGER', 11],
  ]);
  t.equal((err as DirectordErrors).format().split('\n').length, 3);
});

t.test('a header missing its brace, with the brace on the next line, gives one error', async (t) => {
  const text = mk({ tail: ['virtual w', '{', '  address = 10.0.0.8 eth0:2', '}'] });
  try {
    parseConfig(text, 'lvs.cf', parseOpts);
    t.fail('accepted');
  } catch (e) {
    t.same((e as DirectordErrors).errors.map((x) => x.code), ['E_CONFIG_EXPECTED_BRACE']);
  }
});
