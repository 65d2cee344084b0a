// packaging/man: the man pages are generated from docs/ (never hand-kept), render without groff warnings, and say
// what the docs say (every directorctl command, every lvs.cf key table row, the daemon's options).
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inline, markdownToRoff, section } from '../../packaging/man/markdown-roff';
import { pages, render } from '../../packaging/man/gen-man';
import { commandTable } from '../../src/control/commands';
import { haveTool, skipUnless } from '../lab/needs';

t.test('markdown subset → roff', async (t) => {
  t.equal(inline('`--json` and **bold**, *it*, [docs](x.md)'), '\\fB\\-\\-json\\fR and \\fBbold\\fR, \\fIit\\fR, docs');
  t.equal(inline('a\\b'), 'a\\eb', 'backslashes are escaped');
  t.equal(inline('→ ≤ 5 é'), '\\[u2192] \\[u2264] 5 \\[u00E9]', 'non-ASCII as groff Unicode escapes');
  const r = markdownToRoff('## Reload\n\ntext\n.starts with a dot\n\n```\ncode -x\n```\n\n- one\n  more\n- two\n\n| a | b |\n| --- | --- |\n| `x` | y \\| z |\n');
  t.match(r, '.SH "RELOAD"');
  t.match(r, '.PP\ntext\n\\&.starts with a dot');
  t.match(r, '.EX\ncode \\-x\n.EE');
  t.match(r, '.IP \\(bu 2\none\nmore\n.IP \\(bu 2\ntwo');
  t.match(r, '.TP\n\\fBx\\fR\ny | z', 'a table row is a tagged paragraph; an escaped | is text');
  t.throws(() => section('## A\n', 'B'), /no section '## B'/);
});

t.test('the pages say what the docs say', async (t) => {
  const [directord, directorctl, lvscf] = pages().map((p) => render(p, '9.9.9'));
  t.match(directord, /^\.TH "DIRECTORD" 8 "\d{4}-\d\d-\d\d" "directord 9\.9\.9"/m);
  for (const o of ['check\\-config', 'metrics', 'dataplane', 'strict']) t.match(directord, o, `directord(8) documents --${o}`);
  for (const s of ['"RELOAD"', '"METRICS"', '"LOGS"', '"TROUBLESHOOTING"', '"FILES"', '"SEE ALSO"']) t.match(directord, `.SH ${s}`);
  const cases = [...readFileSync(join(__dirname, '..', '..', 'docs', 'troubleshooting.md'), 'utf8').matchAll(/^## (.+)$/gm)].map((m) => m[1]);
  t.ok(cases.length >= 7, `${cases.length} troubleshooting cases`);
  for (const c of cases) t.match(directord, `.SS "${c.replace(/`/g, '')}"`, `directord(8) has "${c}"`);
  for (const c of commandTable.filter((c) => c.name !== 'ping')) t.match(directorctl, `\\fB${c.name.replace(/-/g, '\\-')}`, `directorctl(8) lists ${c.name}`);
  t.match(directorctl, '.SS "Exit statuses and reply codes"');
  const config = readFileSync(join(__dirname, '..', '..', 'docs', 'config.md'), 'utf8');
  const keys = [...config.matchAll(/^\| `([a-z_]+)` \|/gm)].map((m) => m[1]);
  t.ok(keys.length > 30, `${keys.length} keys in docs/config.md`);
  for (const k of keys) t.match(lvscf, `.TP\n\\fB${k}\\fR`, `lvs.cf(5) has ${k}`);
});

t.test('groff renders every page without a warning', { skip: skipUnless(haveTool('groff', ['-v']), 'groff is not installed') }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ddman-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  for (const p of pages()) {
    const f = join(dir, `${p.name}.${p.section}`);
    writeFileSync(f, render(p, '0.0.0'));
    const r = spawnSync('groff', ['-man', '-Tutf8', '-ww', '-z', f], { encoding: 'utf8' });
    t.equal(r.status, 0, p.name);
    t.equal(r.stderr, '', `${p.name}: no groff warnings`);
  }
});
