// packaging/completion/directorctl: bash completes commands, each command's options (the ones src/cli knows) and
// server names from lvs.cf.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { commandTable } from '../../src/control/commands';
import { offlineCommands } from '../../src/cli/offline';
import { haveTool, skipUnless } from '../lab/needs';

const repo = join(__dirname, '..', '..');

function complete(words: string[], env: Record<string, string> = {}): string[] {
  const script = `source packaging/completion/directorctl
COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; COMPREPLY=(); _directorctl; printf '%s\\n' "\${COMPREPLY[@]}"`;
  const r = spawnSync('bash', ['--norc', '-c', script], { cwd: repo, encoding: 'utf8', env: { PATH: process.env.PATH, ...env } });
  if (r.status !== 0) throw new Error(r.stderr);
  return r.stdout.split('\n').filter(Boolean).sort();
}

t.test('directorctl completion', { skip: skipUnless(haveTool('bash'), 'bash is not installed') }, async (t) => {
  const all = complete(['directorctl', '']);
  for (const c of [...commandTable.filter((c) => c.name !== 'ping').map((c) => c.name), ...offlineCommands.map((c) => c.name), 'wait-ready', 'logs']) t.ok(all.includes(c), `offers ${c}`);
  t.same(complete(['directorctl', 'st']), ['status']);
  t.same(complete(['directorctl', '--json', 'dr']), ['drain', 'drain-director'], 'after a global option');
  t.same(complete(['directorctl', '--socket', '/x', 'w']), ['wait-ready', 'weight', 'where'], 'an option value is not the command');
  t.same(complete(['directorctl', 'status', '--s']), ['--stats']);
  t.same(complete(['directorctl', 'check-config', '--s']), ['--show-secrets', '--strict']);
  t.same(complete(['directorctl', '--ve']), ['--version']);
  t.same(complete(['directorctl', 'drain', 'sq'], { DIRECTORD_CONFIG: 'test/fixtures/seed/lvs.cf' }), ['sql1.example.com', 'sql2.example.com'], 'server names from lvs.cf');
});
