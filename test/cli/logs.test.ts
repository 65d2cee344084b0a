// directorctl logs: directord's JSON lines made readable without pino-pretty; journalctl options passed on.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { closeSync, fstatSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatLogLine, journalctlArgs } from '../../src/cli/logs';
import { ensureBuilt, paths } from '../lab/build';
import { skipUnless } from '../lab/needs';

t.test('one line', async (t) => {
  t.equal(
    formatLogLine('{"level":"warn","time":"2026-11-29T22:00:00.000Z","pid":7,"subsystem":"health","server":"sql1","reason":"connect ECONNREFUSED","weight":1,"msg":"[inactive] shutting down"}'),
    '2026-11-29T22:00:00.000Z WARN  [health] [inactive] shutting down server=sql1 reason="connect ECONNREFUSED" weight=1',
  );
  t.equal(formatLogLine('<2>{"level":"fatal","time":"T","msg":"cannot start","code":"E_X"}'), 'T FATAL cannot start code=E_X', 'a priority prefix is dropped');
  t.equal(formatLogLine('not json at all'), 'not json at all');
  t.equal(formatLogLine('[1,2]'), '[1,2]');
});

t.test('journalctl arguments', async (t) => {
  t.same(journalctlArgs([]), ['-u', 'directord', '-o', 'cat', '--no-pager']);
  t.same(journalctlArgs(['-f', '-n', '50', '--since=-1h', '-p', 'err']).slice(5), ['-f', '-n', '50', '--since=-1h', '-p', 'err']);
  t.throws(() => journalctlArgs(['--unit', 'x']), { code: 'E_CLI_USAGE' }, 'only the listed options: the unit is fixed');
  t.throws(() => journalctlArgs(['-n']), { code: 'E_CLI_USAGE', message: /-n needs a value/ });
});

// The real daemon's log (a failed start, in a network namespace of its own, as test/log.test.ts), through `logs -`.
const canRun = process.getuid?.() === 0 && spawnSync('unshare', ['-n', 'true']).status === 0;
t.test('directorctl logs - on a real directord log', { skip: skipUnless(canRun, 'needs root and unshare -n') }, async (t) => {
  ensureBuilt();
  const dir = mkdtempSync(join(tmpdir(), 'ddlogs-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'out.log');
  const fd = openSync(file, 'w');
  const st = fstatSync(fd);
  spawnSync('unshare', ['-n', process.execPath, paths.directord, '--config', join(dir, 'missing.cf'), '--socket', join(dir, 'd.sock')], {
    stdio: ['ignore', fd, 'ignore'], env: { ...process.env, JOURNAL_STREAM: `${st.dev}:${st.ino}` }, timeout: 60_000,
  });
  closeSync(fd);
  const r = spawnSync(process.execPath, [paths.directorctl, 'logs', '-'], { input: readFileSync(file), encoding: 'utf8', env: { PATH: process.env.PATH }, timeout: 60_000 });
  t.equal(r.status, 0, r.stderr);
  t.match(r.stdout, /^\S+Z FATAL \[main\] cannot start: configuration invalid code=E_CONFIG_READ /m);
  t.notMatch(r.stdout, /^[<{]/m, 'no raw JSON or priority prefix left');
});
