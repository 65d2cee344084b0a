// docs/config.md documents every key the parser knows, so the key table and the documentation cannot drift.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GLOBAL_KEYS, SERVER_KEYS, VIRTUAL_KEYS } from '../../src/config';
import { SCHEDULER_NAMES } from '../../src/config/schema';

const doc = readFileSync(join(__dirname, '..', '..', 'docs', 'config.md'), 'utf8');

t.test('every key is documented', async (t) => {
  for (const def of [...GLOBAL_KEYS, ...VIRTUAL_KEYS, ...SERVER_KEYS]) t.ok(doc.includes(`\`${def.name}\``), `${def.scope} key ${def.name}`);
});

t.test('every error code the config subsystem raises is documented', async (t) => {
  const src = ['check', 'convert', 'lexer', 'parser', 'validate'].map((f) => readFileSync(join(__dirname, '..', '..', 'src', 'config', `${f}.ts`), 'utf8')).join('\n');
  const codes = new Set(src.match(/[EW]_CONFIG_[A-Z_]+/g));
  codes.delete('E_CONFIG_UNPRINTABLE'); // raised only for configs built in code, never for parsed ones
  t.ok(codes.size > 30);
  for (const code of codes) t.ok(doc.includes(code), code);
});

t.test('the scheduler row lists exactly SCHEDULER_NAMES', async (t) => {
  const row = doc.split('\n').find((l) => l.startsWith('| `scheduler` |')) ?? '';
  t.same(row.split(' | ')[1].match(/`(\w+)`/g)?.map((s) => s.slice(1, -1)), [...SCHEDULER_NAMES]);
});
