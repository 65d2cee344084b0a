// The suite runs test files two at a time (tap `jobs`), except those listed in package.json's tap `serial`, which
// run alone: every file that creates namespaces or runs directord in one (timing-sensitive HA labs must not share
// the CPU with another file). This keeps the list complete: a new lab file that is not listed fails here.
import t from 'tap';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

const root = join(__dirname, '..');
const testFiles = (dir: string): string[] => readdirSync(dir).flatMap((f) => {
  const p = join(dir, f);
  return statSync(p).isDirectory() ? testFiles(p) : f.endsWith('.test.ts') ? [p] : [];
});

/** The file and every module of test/ it imports, directly or through another one. */
function closure(file: string, acc = new Set<string>()): Set<string> {
  if (acc.has(file)) return acc;
  acc.add(file);
  for (const m of readFileSync(file, 'utf8').matchAll(/from '(\.[^']+)'|require\('(\.[^']+)'\)/g)) {
    const base = join(dirname(file), m[1] ?? m[2]);
    const hit = [`${base}.ts`, base, join(base, 'index.ts')].find((c) => c.startsWith(join(root, 'test')) && existsSync(c) && statSync(c).isFile());
    if (hit) closure(hit, acc);
  }
  return acc;
}

const serial: string[] = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).tap.serial ?? [];
const files = testFiles(join(root, 'test')).map((f) => relative(root, f)).sort();

t.test('every test file that uses a namespace (ip netns, unshare) runs alone', async (t) => {
  const labs = files.filter((f) => f !== relative(root, __filename) && [...closure(join(root, f))].some((m) => /netns|unshare/.test(readFileSync(m, 'utf8'))));
  t.ok(labs.length > 40, `found the lab files (${labs.length})`);
  t.same(labs.filter((f) => !serial.includes(f)), [], 'listed in package.json tap.serial');
});

t.test('tap.serial names existing test files only', async (t) => {
  t.same(serial.filter((f) => !files.includes(f)), []);
});
