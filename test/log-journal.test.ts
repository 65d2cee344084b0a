// src/log.ts: under systemd (JOURNAL_STREAM names our stdout) each line carries its `<N>` syslog priority, so
// `journalctl -p err` finds fatal errors; elsewhere lines are plain JSON.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { closeSync, fstatSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { isJournalStream, priorityPrefix, StdoutSink } from '../src/log';
import { ensureBuilt, paths } from './lab/build';
import { skipUnless } from './lab/needs';

const dir = mkdtempSync(join(tmpdir(), 'ddlog-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

const streamOf = (fd: number): string => {
  const st = fstatSync(fd);
  return `${st.dev}:${st.ino}`;
};

t.test('pino levels map to sd-daemon priorities', async (t) => {
  const table: [string, string][] = [['fatal', '<2>'], ['error', '<3>'], ['warn', '<4>'], ['info', '<6>'], ['debug', '<7>'], ['trace', '<7>']];
  for (const [level, want] of table) t.equal(priorityPrefix(`{"level":"${level}","time":"x","msg":"m"}\n`), want, level);
  t.equal(priorityPrefix('not json\n'), '<6>', 'a line without a level is info');
});

t.test('the sink prefixes every line only when told it writes to the journal', async (t) => {
  for (const journal of [true, false]) {
    const file = join(dir, `sink-${journal}.log`);
    const fd = openSync(file, 'w');
    const log = pino({ formatters: { level: (label: string) => ({ level: label }) } }, new StdoutSink(fd, journal));
    log.error('boom');
    log.info('fine');
    log.fatal('dead');
    closeSync(fd);
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    t.same(lines.map((l) => /^<\d>/.exec(l)?.[0] ?? ''), journal ? ['<3>', '<6>', '<2>'] : ['', '', ''], `journal=${journal}`);
    t.same(lines.map((l) => JSON.parse(l.replace(/^<\d>/, '')).msg), ['boom', 'fine', 'dead'], 'the JSON after the prefix is intact');
  }
});

t.test('JOURNAL_STREAM must name this very fd', async (t) => {
  const fd = openSync(join(dir, 'j'), 'w');
  const other = openSync(join(dir, 'k'), 'w');
  t.teardown(() => (closeSync(fd), closeSync(other)));
  t.equal(isJournalStream(fd, { JOURNAL_STREAM: streamOf(fd) }), true);
  t.equal(isJournalStream(fd, { JOURNAL_STREAM: streamOf(other) }), false, 'stdout redirected elsewhere: no prefix');
  t.equal(isJournalStream(fd, {}), false);
  t.equal(isJournalStream(fd, { JOURNAL_STREAM: 'garbage' }), false);
});

// The real daemon, failing to start on a missing lvs.cf: its fatal line gets <2> when stdout is "the journal".
// In a network namespace of its own (unshare -n): the failed start runs the host clean-up, which must see nothing of ours.
const canRun = process.getuid?.() === 0 && spawnSync('unshare', ['-n', 'true']).status === 0;
t.test('directord under journald: the fatal start-up error has priority crit', { skip: skipUnless(canRun, 'needs root and unshare -n') }, async (t) => {
  ensureBuilt();
  for (const journal of [true, false]) {
    const file = join(dir, `daemon-${journal}.log`);
    const fd = openSync(file, 'w');
    const env = { ...process.env, JOURNAL_STREAM: journal ? streamOf(fd) : '' };
    const r = spawnSync('unshare', ['-n', process.execPath, paths.directord, '--config', join(dir, 'missing.cf'), '--socket', join(dir, `d-${journal}.sock`)], { stdio: ['ignore', fd, 'pipe'], env, timeout: 60_000, encoding: 'utf8' });
    closeSync(fd);
    t.equal(r.status, 1, r.stderr);
    const fatal = readFileSync(file, 'utf8').split('\n').find((l) => l.includes('"cannot start: configuration invalid"'));
    t.ok(fatal, 'the fatal line is written');
    t.match(fatal, journal ? /^<2>\{"level":"fatal"/ : /^\{"level":"fatal"/, journal ? 'prefixed <2> for journald' : 'plain JSON on a redirected stdout');
  }
});
