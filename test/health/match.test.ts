// nanny's comparison rules as tables: expect prefix / `*` / regex, send_program argv and output.
import t from 'tap';
import { matchExpect, bytesWanted, programArgv, programOutputText, judgeProgram } from '../../src/health/match';

t.test('expect against the first read', async (t) => {
  const rows: Array<[string, boolean, string, boolean, string?]> = [
    // expect, useRegex, received, ok, failure reason
    ['HTTP', false, 'HTTP/1.0 200 OK\r\n', true],
    ['HTTP', false, 'HTTP', true],
    ['HTTP', false, 'HTT', false, 'read_too_short'],
    ['HTTP', false, 'http/1.0', false, 'expect_mismatch'],
    ['HTTP', false, ' HTTP/1.0', false, 'expect_mismatch'],
    ['*', false, 'x', true],
    ['*', false, '', true], // nanny: a 0-byte read (EOF, empty datagram) becomes "*"
    ['HTTP', false, '', false, 'read_too_short'],
    ['.', true, '', false, 'expect_mismatch'], // the way to demand at least one byte
    ['OK', false, 'OK\n', true],
    ['200 OK', true, 'HTTP/1.1 200 OK\r\n', true],
    ['^HTTP/1\\.[01] (200|302)', true, 'HTTP/1.1 302 Found', true],
    ['^HTTP/1\\.[01] (200|302)', true, 'HTTP/1.1 500 Oops', false, 'expect_mismatch'],
    ['(', true, 'anything', false, 'bad_regex'],
  ];
  for (const [expect, re, got, ok, reason] of rows) {
    const v = matchExpect(expect, re, Buffer.from(got, 'latin1'));
    t.equal(v.ok, ok, `${JSON.stringify(expect)}${re ? ' (regex)' : ''} vs ${JSON.stringify(got)}`);
    if (!v.ok) t.equal(v.reason, reason);
  }
});

t.test('regex sees at most 254 bytes', async (t) => {
  const got = Buffer.from('a'.repeat(254) + 'MARK');
  t.equal(matchExpect('MARK', true, got).ok, false);
  t.equal(bytesWanted('MARK', true), 254);
  t.equal(bytesWanted('HTTP', false), 4);
});

t.test('send_program argv: split on spaces, exact %h/%p tokens only', async (t) => {
  const rows: Array<[string, string[]]> = [
    ['/usr/local/bin/check_tcp_port.sh %h 3306', ['/usr/local/bin/check_tcp_port.sh', '10.0.0.4', '3306']],
    ['/bin/check %h %p', ['/bin/check', '10.0.0.4', '3306']],
    ['/bin/check  host=%h   %p%', ['/bin/check', 'host=%h', '%p%']],
    ['check "%h"', ['check', '"%h"']],
    ['', []],
  ];
  for (const [prog, argv] of rows) t.same(programArgv(prog, '10.0.0.4', 3306), argv, prog);
});

t.test('program output: one final newline dropped, compared exactly', async (t) => {
  t.equal(programOutputText(Buffer.from('OK\n')), 'OK');
  t.equal(programOutputText(Buffer.from('OK')), 'OK', 'no newline: nothing dropped (nanny would drop the K)');
  t.equal(programOutputText(Buffer.from('OK\n\n')), 'OK\n');
  t.equal(programOutputText(Buffer.from('x'.repeat(5000))).length, 4095);
});

t.test('program verdicts: non-zero exit and timeout are DOWN (nanny bug fixed)', async (t) => {
  const base = { exitCode: 0, signal: null, timedOut: false, stdout: Buffer.from('OK\n') };
  const rows: Array<[string, Parameters<typeof judgeProgram>[1], string | undefined, boolean, string?]> = [
    ['ok', base, 'OK', true],
    ['FAIL output', { ...base, stdout: Buffer.from('FAIL\n') }, 'OK', false, 'program_output_mismatch'],
    ['exit 1 with expected output', { ...base, exitCode: 1 }, 'OK', false, 'program_exit'],
    ['timeout', { ...base, exitCode: null, signal: 'SIGKILL', timedOut: true }, 'OK', false, 'program_timeout'],
    ['killed by a signal', { ...base, exitCode: null, signal: 'SIGSEGV' }, 'OK', false, 'program_exit'],
    ['no expect: exit 0 is up', { ...base, stdout: Buffer.alloc(0) }, undefined, true],
    ['no expect: exit 2 is down', { ...base, exitCode: 2 }, undefined, false, 'program_exit'],
    ['not found', { ...base, exitCode: null, spawnError: 'spawn /nope ENOENT' }, 'OK', false, 'program_failed'],
  ];
  for (const [name, r, expect, ok, reason] of rows) {
    const v = judgeProgram(expect, r);
    t.equal(v.ok, ok, name);
    if (!v.ok) t.equal(v.reason, reason, `${name}: reason`);
  }
});

t.test('send_program without expect: exit status decides; nanny never passes it (send_program_needs_expect = 1)', async (t) => {
  const base = { exitCode: 0, signal: null, timedOut: false, stdout: Buffer.from('anything\n') };
  t.same(judgeProgram(undefined, base), { ok: true }, 'exit 0, output ignored: up');
  t.match(judgeProgram(undefined, base, true), { ok: false, reason: 'program_no_expect' }, 'nanny: "Expect string is NULL, but ... non-NULL result" = down');
  t.match(judgeProgram(undefined, { ...base, exitCode: 1 }, true), { ok: false, reason: 'program_exit' }, 'nanny: "both NULL" = down');
  t.same(judgeProgram('anything', base, true), { ok: true }, 'with expect the key changes nothing');
});

t.test('POSIX bracket classes of extended regexes', async (t) => {
  const rows: Array<[string, string, boolean]> = [
    ['^HTTP/1\\.[[:digit:]] 200', 'HTTP/1.1 200 OK', true],
    ['^HTTP/1\\.[[:digit:]] 200', 'HTTP/1.x 200 OK', false],
    ['[[:upper:]]{3}', 'abcDEF', true],
    ['^[[:alpha:]]+$', 'abc1', false],
    ['OK[[:space:]]', 'OK\r\n', true],
    ['[[:xdigit:]]{4}', 'beef', true],
    ['[[:punct:]]', 'abc', false],
    ['[[:punct:]]', 'a!c', true],
  ];
  for (const [re, got, ok] of rows) t.equal(matchExpect(re, true, Buffer.from(got)).ok, ok, `${re} vs ${JSON.stringify(got)}`);
});
