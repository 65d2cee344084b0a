// Fuzz: random bytes and mutations of the seed and the examples. Whatever the input, loading either succeeds
// (and then the effective config prints and parses back identically) or throws located DirectordErrors.
import t from 'tap';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { DirectordError, DirectordErrors } from '../../src/errors';
import { GLOBAL_KEYS, SERVER_KEYS, VIRTUAL_KEYS, configToJSON, formatEffectiveConfig, parseConfig, validateConfig, type KeyDef } from '../../src/config';
import { parseOpts } from './helpers';
import { mulberry32 } from '../ha/fuzz-seed';


const root = join(__dirname, '..', '..');
const corpus = [
  readFileSync(join(root, 'test/fixtures/seed/lvs.cf'), 'utf8'),
  ...readdirSync(join(root, 'config')).filter((f) => f.endsWith('.cf')).map((f) => readFileSync(join(root, 'config', f), 'utf8')),
];
const PIECES = ['{', '}', '=', '"', "'", '#', '\\', '\\n', '\r', '\n', ' ', '\t', '0x', '08', '-1', '65536', 'virtual x {', 'server y {',
  'port', 'weight', 'active = 1', 'address', '255.255.0.255', '10.0.0.', 'udp', 'nat', 'failover', '\u0000', '\u00e9', '99999999999',
  "send = '", 'expect = ', "send_program = '", '\\"', "\\'", '\\t'];

/** Values that exercise every converter: numbers in all bases, addresses, masks, names, quoting, escapes. */
const VALUES = ['0', '1', '2', '0x10', '010', '08', '-3', '0.5', '1.25', '65535', '65536', 'http', 'mysql', 'nosuch', '10.0.0.9', '10.9',
  '10.0.0.1', '255.255.255.0', '255.255.255.255', '255.0.255.0', 'sql1.example.com', 'wlc', 'rr', 'mh', 'dh', 'tcp', 'udp', 'icmp', 'direct',
  'none', 'uptime', '"a b"', '"\\n"', '"x\\\\y"', "'q r'", '\'"z"\'', 'a\\"b', '""', 'eth0:1', '[ a b ]', '"OK"', '/bin/true'];

const BY_KIND: Record<string, readonly string[]> = {
  int: ['0', '1', '3', '0x10', '010', '60'], decimal: ['0.5', '1', '2.25', '0x3', '7'], bool: ['0', '1', '0x1'], flag: ['0', '1', '7'],
  port: ['80', 'http', 'mysql', '0x50', '3306'], host: ['10.0.0.9', '10.9', 'sql1.example.com', '0x0a000005'], ip: ['10.0.0.99'],
  netmask: ['255.255.255.0', '255.255.240.0', '255.255.255.255', '0.0.0.0'], string: ['x', '"a b"', "'c d'", '""', '/bin/true'],
  'lvsd-string': ['"/bin/check %h %p"', "'/bin/x \"%h\"'", 'plain', '""'],
  'nanny-string': ['"GET / HTTP/1.0\\r\\n\\r\\n"', '"OK"', "'OK'", 'a\\"b', '"\\\\"', '"\\t"', "'x \"y\"'"],
};

function grammarText(rnd: () => number): string {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)];
  const line = (defs: readonly KeyDef[], indent: string) => {
    const d = pick(defs);
    const n = d.kind === 'host-device' ? 2 : d.kind === 'list' ? 0 : 1;
    const pool = rnd() < 0.8 ? (BY_KIND[d.kind] ?? d.values ?? VALUES) : VALUES;
    const vals = d.kind === 'list' ? ['[ a b ]'] : d.kind === 'host-device' ? [pick(BY_KIND.host), pick(['eth0:1', '"eth 1"', 'lo'])] : Array.from({ length: n }, () => pick(pool));
    return `${indent}${d.name} = ${vals.join(' ')}`;
  };
  const out = ['primary = 10.0.0.1', 'network = direct'];
  for (let i = Math.floor(rnd() * 4); i > 0; i--) out.push(line(GLOBAL_KEYS, ''));
  for (let v = 1 + Math.floor(rnd() * 3); v > 0; v--) {
    out.push(`virtual v${v} {`, '  active = 1', `  address = 10.0.0.${v} eth0:${v}`);
    for (let i = Math.floor(rnd() * 5); i > 0; i--) out.push(line(VIRTUAL_KEYS, '  '));
    for (let s = Math.floor(rnd() * 3); s > 0; s--) {
      out.push(`  server s${s} {`, `    address = 10.0.1.${s}`, '    active = 1');
      for (let i = Math.floor(rnd() * 3); i > 0; i--) out.push(line(SERVER_KEYS, '    '));
      out.push('  }');
    }
    out.push('}');
  }
  return `${out.join('\n')}\n`;
}

function randomText(rnd: () => number): string {
  const n = Math.floor(rnd() * 300);
  let s = '';
  for (let i = 0; i < n; i++) {
    const r = rnd();
    if (r < 0.5) s += PIECES[Math.floor(rnd() * PIECES.length)];
    else if (r < 0.9) s += String.fromCharCode(32 + Math.floor(rnd() * 95));
    else s += String.fromCharCode(Math.floor(rnd() * 256));
  }
  return s;
}

function mutate(rnd: () => number, text: string): string {
  let s = text;
  const ops = 1 + Math.floor(rnd() * 4);
  for (let k = 0; k < ops; k++) {
    const at = Math.floor(rnd() * (s.length + 1));
    const op = Math.floor(rnd() * 6);
    if (op === 0) s = s.slice(0, at) + s.slice(at + 1 + Math.floor(rnd() * 20));
    else if (op === 1) s = s.slice(0, at) + PIECES[Math.floor(rnd() * PIECES.length)] + s.slice(at);
    else if (op === 2) s = s.slice(0, at) + String.fromCharCode(Math.floor(rnd() * 128)) + s.slice(at + 1);
    else {
      const lines = s.split('\n');
      const i = Math.floor(rnd() * lines.length);
      const j = Math.floor(rnd() * lines.length);
      if (op === 3) lines.splice(i, 0, lines[j]);
      else if (op === 4) lines.splice(i, 1);
      else [lines[i], lines[j]] = [lines[j], lines[i]];
      s = lines.join('\n');
    }
  }
  return s;
}

interface Outcome {
  valid: number;
  rejected: number;
  problems: string[];
}

function check(text: string, out: Outcome): void {
  const maxLine = text.split(/\r\n|\r|\n/).length;
  try {
    const cfg = validateConfig(parseConfig(text, 'fuzz.cf', parseOpts), parseOpts);
    out.valid++;
    const printed = formatEffectiveConfig(cfg);
    const again = validateConfig(parseConfig(printed, 'fuzz.cf', parseOpts), parseOpts);
    if (!isDeepStrictEqual(configToJSON(again), configToJSON(cfg))) out.problems.push(`round trip differs for ${JSON.stringify(text)}`);
  } catch (e) {
    if (!(e instanceof DirectordError)) {
      out.problems.push(`non-DirectordError ${String(e)} for ${JSON.stringify(text)}`);
      return;
    }
    out.rejected++;
    const list = e instanceof DirectordErrors ? e.errors : [e];
    for (const x of list) {
      const loc = x.location;
      const located = loc && loc.line >= 1 && loc.line <= maxLine && loc.column >= 1;
      if (!/^E_CONFIG_[A-Z_]+$/.test(x.code) || !located || /[\u0000-\u001f\u007f]/.test(x.format())) out.problems.push(`${x.format()} (lines ${maxLine}) for ${JSON.stringify(text)}`);
    }
  }
}

t.test('random input never escapes as anything but located DirectordErrors', async (t) => {
  const rnd = mulberry32(0xd1ec7042);
  const out: Outcome = { valid: 0, rejected: 0, problems: [] };
  for (let i = 0; i < 1500; i++) check(randomText(rnd), out);
  t.same(out.problems.slice(0, 5), []);
  t.equal(out.valid + out.rejected, 1500);
});

t.test('mutations of the seed and examples: rejected with located errors, or valid and round-tripping', async (t) => {
  const rnd = mulberry32(0x5eed);
  const out: Outcome = { valid: 0, rejected: 0, problems: [] };
  for (let i = 0; i < 2500; i++) check(mutate(rnd, corpus[i % corpus.length]), out);
  t.same(out.problems.slice(0, 5), []);
  t.ok(out.valid > 50, `some mutants stay valid and round-trip (${out.valid})`);
  t.ok(out.rejected > 500, `most mutants are rejected (${out.rejected})`);
});

t.test('grammar-generated configs with random values: valid ones round-trip exactly', async (t) => {
  const rnd = mulberry32(0xc0ff1e);
  const out: Outcome = { valid: 0, rejected: 0, problems: [] };
  for (let i = 0; i < 1500; i++) check(grammarText(rnd), out);
  t.same(out.problems.slice(0, 5), []);
  t.ok(out.valid > 100, `valid (${out.valid})`);
  t.ok(out.rejected > 100, `rejected (${out.rejected})`);
});
