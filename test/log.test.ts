// The log sink never throws or loops: stdout on a full disk (/dev/full) costs log lines, counted, and the fatal
// path still exits at once (pino's default stream retried the write forever at exit).
import t from 'tap';
import { closeSync, openSync, readFileSync, mkdtempSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StdoutSink, createRootLogger } from '../src/log';
import { ensureBuilt, paths } from './lab/build';

t.test('writes on a full disk are dropped and counted, never thrown', async (t) => {
  const fd = openSync('/dev/full', 'w');
  t.teardown(() => closeSync(fd));
  const sink = new StdoutSink(fd);
  const log = createRootLogger({ destination: sink });
  t.doesNotThrow(() => {
    for (let i = 0; i < 100; i++) log.info({ i }, 'line');
    log.fatal('fatal line');
  });
  t.equal(sink.dropped, 101);
});

t.test('lines go out whole, in order', async (t) => {
  const file = join(mkdtempSync(join(tmpdir(), 'ddlog-')), 'out');
  const fd = openSync(file, 'w');
  const log = createRootLogger({ destination: new StdoutSink(fd) });
  log.info({ a: 1 }, 'one');
  log.warn('two');
  closeSync(fd);
  t.match(readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l)), [{ level: 'info', a: 1, msg: 'one' }, { level: 'warn', msg: 'two' }]);
});

t.test('fatalExit with stdout on /dev/full exits with the code, at once', async (t) => {
  ensureBuilt();
  const mod = JSON.stringify(join(paths.root, 'dist', 'src', 'log.js'));
  const script = `const { createRootLogger, fatalExit } = require(${mod}); const log = createRootLogger(); for (let i = 0; i < 50; i++) log.info('x'); setInterval(() => {}, 1000); fatalExit(log, { why: 'test' }, 'fatal', 3);`;
  const fd = openSync('/dev/full', 'w');
  const r = spawnSync(process.execPath, ['-e', script], { stdio: ['ignore', fd, 'pipe'], timeout: 10_000, encoding: 'utf8' });
  closeSync(fd);
  t.equal(r.signal, null, 'not killed at the timeout');
  t.equal(r.status, 3, r.stderr);
});
