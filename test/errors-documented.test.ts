// docs/errors.md is the one table of codes: every code raised in src/ and native/src/ is listed there, nothing listed is
// stale. Read from the tree at test time, so a code another branch adds later is caught too.
import t from 'tap';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = join(__dirname, '..');

function files(dir: string, ext: RegExp): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p, ext) : ext.test(n) ? [p] : [];
  });
}

/** Codes as they are raised: a quoted literal `E_…`/`W_…` (TS strings, C string literals, process warnings). */
function raisedCodes(text: string): string[] {
  return [...text.matchAll(/['"`]([EW]_[A-Z0-9_]*[A-Z0-9])['"`]/g)].map((m) => m[1]);
}

/** Codes listed in the doc's tables: a row that starts with a code in backquotes. */
function documentedCodes(doc: string): string[] {
  return [...doc.matchAll(/^\| `([EW]_[A-Z0-9_]+)` \|/gm)].map((m) => m[1]);
}

const raised = new Map<string, string>(); // code → first file raising it
for (const f of [...files(join(root, 'src'), /\.ts$/), ...files(join(root, 'native', 'src'), /\.[ch]$/)]) {
  for (const code of raisedCodes(readFileSync(f, 'utf8'))) if (!raised.has(code)) raised.set(code, relative(root, f));
}
const listed = documentedCodes(readFileSync(join(root, 'docs', 'errors.md'), 'utf8'));

t.test('the scanners find what they should', async (t) => {
  t.same(raisedCodes(`throw new DirectordError('E_A_B', 'x'); napi_throw_error(env, "E_C", "y"); { code: 'W_D_E' } // E_NOT_QUOTED`), ['E_A_B', 'E_C', 'W_D_E']);
  t.same(documentedCodes('| `E_A` | a |\n| `W_B_C` | b |\ntext `E_D` | no\n'), ['E_A', 'W_B_C']);
  t.ok(raised.size > 100, `found ${raised.size} raised codes`);
});

t.test('every raised code is in docs/errors.md', async (t) => {
  const doc = new Set(listed);
  for (const [code, file] of raised) t.ok(doc.has(code), `${code} (raised in ${file}) is listed in docs/errors.md`);
});

t.test('every listed code is still raised, and listed once', async (t) => {
  for (const code of listed) t.ok(raised.has(code), `${code} in docs/errors.md is raised somewhere in src/ or native/src/`);
  t.same(listed.filter((c, i) => listed.indexOf(c) !== i), [], 'no code listed twice');
});
