// directorctl without a daemon: usage, exit statuses and error wording (the daemon-backed paths are in the e2e test).
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exitCodeFor, helpText, runCli } from '../../src/cli/run';
import { ControlServer } from '../../src/control';
import { silentLogger } from '../../src/log';
import { ensureBuilt, paths } from '../lab/build';

async function run(...argv: string[]) {
  let out = '';
  let err = '';
  const code = await runCli(argv, { out: (s) => (out += s), err: (s) => (err += s) });
  return { code, out, err };
}

t.test('exit status table', async (t) => {
  const table: [string, number][] = [
    ['E_CTL_BAD_ARGS', 2], ['E_CTL_UNKNOWN_COMMAND', 2], ['E_CLI_USAGE', 2], ['E_CTL_NOT_RUNNING', 3], ['E_CTL_PERMISSION', 4],
    ['E_CTL_TIMEOUT', 5], ['E_CTL_BAD_REPLY', 5], ['E_CTL_UNKNOWN_SERVER', 1], ['E_CTL_RELOAD_FAILED', 1], ['E_CTL_UNAVAILABLE', 1],
  ];
  for (const [code, exit] of table) t.equal(exitCodeFor(code), exit, code);
});

t.test('help lists every command', async (t) => {
  const h = helpText();
  for (const c of ['status', 'drain SERVER', 'enable SERVER', 'weight SERVER WEIGHT', 'reload', 'takeover', 'release', 'where CLIENT', 'check-config [FILE]', 'where --config FILE', 'wait-ready']) t.match(h, c);
  t.equal((await run()).code, 2);
  t.equal((await run('help')).code, 0);
});

t.test('daemon not running: clear message, exit 3, also as JSON', async (t) => {
  const r = await run('--socket', '/nonexistent/d.sock', 'status');
  t.equal(r.code, 3);
  t.match(r.err, "directorctl: E_CTL_NOT_RUNNING directord is not running (no control socket at /nonexistent/d.sock); start it with 'systemctl start directord'");
  const j = await run('--json', '--socket', '/nonexistent/d.sock', 'drain', 'x');
  t.equal(j.code, 3);
  t.equal(JSON.parse(j.out).error.code, 'E_CTL_NOT_RUNNING');
});

t.test('usage errors are caught before any connection', async (t) => {
  for (const argv of [['frobnicate'], ['weight', 'sql1'], ['weight', 'sql1', 'x'], ['drain'], ['--socket'], ['where', '--config', 'f']]) {
    const r = await run('--socket', '/nonexistent/d.sock', ...argv);
    t.equal(r.code, 2, argv.join(' '));
  }
});

t.test('without a read-only socket, a user who may not open the control socket gets E_CTL_PERMISSION (exit 4), not "not running"', { skip: (process.getuid?.() !== 0 && 'needs root to switch user') || (spawnSync('setpriv', ['--version'], { stdio: 'ignore' }).status !== 0 && 'needs setpriv') }, async (t) => {
  ensureBuilt();
  const dir = mkdtempSync(join(tmpdir(), 'ddcli-'));
  chmodSync(dir, 0o755);
  const socketPath = join(dir, 'directord.sock');
  const srv = new ControlServer({
    socketPath, readOnlySocketPath: null, mode: 0o660, readOnlyMode: 0o666, target: {} as never, logger: silentLogger,
    maxLineBytes: 4096, requestTimeoutMs: 1000, idleTimeoutMs: 1000, maxConnections: 4, maxPendingPerConnection: 4,
  });
  await srv.start();
  t.teardown(() => srv.stop());
  const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'env', '-u', 'NODE_OPTIONS', process.execPath, paths.directorctl, '--socket', socketPath, 'status'], { encoding: 'utf8' });
  t.equal(r.status, 4, r.stderr);
  t.match(r.stderr, /E_CTL_PERMISSION permission denied on .*directord\.sock/);
});

t.test('global options anywhere on the line (node:util parseArgs), the rest passed on in order', async (t) => {
  // Not running: the socket named after the command is the one asked, whatever the position.
  const after = await run('status', '--socket', '/nonexistent/after.sock', '--stats');
  t.equal(after.code, 3);
  t.match(after.err, '/nonexistent/after.sock');
  const eq = await run('--json', 'drain', 'rs1', '--socket=/nonexistent/eq.sock');
  t.equal(JSON.parse(eq.out).error.code, 'E_CTL_NOT_RUNNING');
  t.match(JSON.parse(eq.out).error.message, '/nonexistent/eq.sock');
  for (const argv of [['--socket='], ['--timeout=0', 'status'], ['--timeout', 'soon', 'status']]) t.equal((await run(...argv)).code, 2, argv.join(' '));
  t.equal((await run('--socket', '/nonexistent/d.sock', 'status', '--version')).code, 2, '--version after a command is that command\'s (unknown) option');
  t.equal((await run('--socket', '/nonexistent/d.sock', 'status', '-t', '10.0.0.3:3306', '--stats')).code, 3, 'a command\'s options keep their values');
});
