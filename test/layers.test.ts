// The import arrows point down only: the table vocabulary imports nothing of ours but config types, and the pure
// scheduler never imports the data plane (it is the reference the data plane is checked against).
import t from 'tap';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const src = join(__dirname, '..', 'src');
const importsOf = (dir: string): Array<[string, string]> =>
  readdirSync(join(src, dir)).filter((f) => f.endsWith('.ts')).flatMap((f) =>
    [...readFileSync(join(src, dir, f), 'utf8').matchAll(/^(?:import|export)[^'"]*from '([^']+)'/gm)].map((m): [string, string] => [`${dir}/${f}`, m[1]]));

t.test('src/table imports only config types', async (t) => {
  for (const [file, from] of importsOf('table')) t.match(from, /^\.\.\/config\/schema$|^\.\//, `${file} imports ${from}`);
});

t.test('src/scheduler imports neither the data plane nor the daemon', async (t) => {
  const ups = importsOf('scheduler').filter(([, from]) => /^\.\.\/(dataplane|director|ha|health|control|cli|metrics)\b/.test(from));
  t.same(ups, []);
});
