// The socket and program probes against real servers in a namespace lab (10.62.0.0/20): TCP connect, send/expect
// (nanny's port-80 default), regex, UDP, the seed's check_tcp_port.sh with %h, a hung program killed with its group,
// and closing with FIN: our probes leave no resets on the server, a bare connect+RST loop does.
import t from 'tap';
import { join } from 'node:path';
import { mkdtempSync, writeFileSync, chmodSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { execFileSync } from 'node:child_process';
import { Lab, labAvailable } from '../lab/lab';
import { RemoteMonitor } from './fixtures/remote';
import { responder, stopChild, estabResets } from './fixtures/responders';

const checkScript = join(__dirname, '..', '..', 'config', 'check_tcp_port.sh');
const spec = (over: Record<string, unknown>) => ({ kind: 'tcp', address: '10.62.0.4', port: 3306, timeoutMs: 1000, useRegex: false, ...over });

t.test('probes against real servers', { skip: !labAvailable() && 'needs root and ip netns' }, async (t) => {
  const lab = await Lab.create([
    { name: 'dir', address: '10.62.0.1/20' },
    { name: 'rs1', address: '10.62.0.4/20' },
  ], { tag: 'hprobe' });
  const tmp = mkdtempSync(join(tmpdir(), 'ddhealth-'));
  t.teardown(async () => {
    await lab.destroy();
    rmSync(tmp, { recursive: true, force: true });
  });
  const dir = await RemoteMonitor.start(lab, 'dir');
  const probe = async (s: Record<string, unknown>, count = 1) => (await dir.call({ op: 'probe', spec: spec(s), count })).reasons;

  t.same(await probe({}), { connect_refused: 1 }, 'nothing listening: refused');
  const greeter = await responder(lab, 'rs1', 'greeter', 3306);
  t.same(await probe({}), { ok: 1 }, 'plain connect');
  t.same(await probe({ expect: 'hello' }), { ok: 1 }, 'expect as a prefix of the first read');
  t.same(await probe({ expect: 'hellO' }), { expect_mismatch: 1 });
  t.same(await probe({ expect: '*' }), { ok: 1 }, 'wildcard');
  t.same(await probe({ expect: 'greet(er|ing)', useRegex: true }), { ok: 1 }, 'unanchored extended regex');
  t.same(await probe({ expect: 'hello from greeter\nand more' }), { read_too_short: 1 }, 'server sends less than strlen(expect)');

  await t.test('no resets: our probes close with FIN; a connect+RST loop leaves one reset per probe', async (t) => {
    const before = estabResets(greeter.pid!);
    t.same(await probe({ expect: 'hel' }, 50), { ok: 50 });
    t.same(await probe({}, 50), { ok: 50 });
    await new Promise((r) => setTimeout(r, 300));
    const afterOurs = estabResets(greeter.pid!);
    t.equal(afterOurs - before, 0, 'no connection reset by 100 probes');
    await dir.call({ op: 'rawloop', address: '10.62.0.4', port: 3306, count: 20, rst: true });
    await new Promise((r) => setTimeout(r, 300));
    t.ok((estabResets(greeter.pid!)) - afterOurs >= 20, 'the bare RST loop is visible in the same counter');
  });

  await stopChild(greeter);
  const http = await responder(lab, 'rs1', 'http', 80);
  // nanny: a port-80 virtual without send/expect/program probes with GET / HTTP/1.0 and expects HTTP.
  t.same(await probe({ port: 80, send: 'GET / HTTP/1.0\r\n\r\n', expect: 'HTTP' }), { ok: 1 }, 'send + expect');
  const silent = await responder(lab, 'rs1', 'silent', 8080);
  t.same(await probe({ port: 8080, send: 'x', expect: 'y' }), { read_timeout: 1 }, 'no answer within timeout');
  await stopChild(silent);
  await stopChild(http);
  const closer = await responder(lab, 'rs1', 'closer', 8081);
  t.same(await probe({ port: 8081, expect: '*' }), { ok: 1 }, 'accept + close without a byte passes `*` (nanny: the 0-byte read becomes "*")');
  t.same(await probe({ port: 8081, expect: 'HTTP' }), { read_too_short: 1 }, 'but not a real expect');
  await stopChild(closer);

  const udp = await responder(lab, 'rs1', 'udp', 5353);
  t.same(await probe({ kind: 'udp', port: 5353, send: 'PING', expect: 'PONG PING' }), { ok: 1 }, 'UDP send + expect');
  t.same(await probe({ kind: 'udp', port: 5354, send: 'PING', expect: 'PONG' }), { connect_refused: 1 }, 'UDP port unreachable');
  await stopChild(udp);

  await t.test('check = icmp: echo reply awaited', async (t) => {
    t.same(await probe({ kind: 'icmp', port: 0 }, 3), { ok: 3 }, 'rs1 answers pings');
    t.same(await probe({ kind: 'icmp', address: '10.62.0.9', timeoutMs: 500 }), { icmp_timeout: 1 }, 'no host at that address');
  });

  await t.test('send_program: the seed script with %h, OK/FAIL compared with expect', async (t) => {
    const prog = { kind: 'program', program: `${checkScript} %h 3306`, expect: 'OK', timeoutMs: 5000 };
    t.same(await probe(prog), { program_output_mismatch: 1 }, 'FAIL while nothing listens');
    const g = await responder(lab, 'rs1', 'greeter', 3306);
    t.same(await probe(prog), { ok: 1 }, 'OK once the port is open');
    t.same(await probe({ ...prog, program: `${checkScript} %h %p`, port: 3307 }), { program_output_mismatch: 1 }, '%p substituted');
    await stopChild(g);
    t.same(await probe({ ...prog, program: '/nonexistent/check %h' }), { program_failed: 1 });
    const noExpect = { kind: 'program', program: 'true', timeoutMs: 5000 };
    t.same(await probe(noExpect), { ok: 1 }, 'no expect: exit 0 is up');
    t.same(await probe({ ...noExpect, programNeedsExpect: true }), { program_no_expect: 1 }, 'send_program_needs_expect = 1: never up, as nanny');
    const fail = join(tmp, 'fail.sh');
    writeFileSync(fail, '#!/bin/sh\necho OK\nexit 3\n');
    chmodSync(fail, 0o755);
    t.same(await probe({ ...prog, program: fail }), { program_exit: 1 }, 'non-zero exit is down even with the expected output');
  });

  await t.test('a hung send_program is killed at the timeout with its whole process group', async (t) => {
    const marker = String(40000 + (process.pid % 20000));
    const hang = join(tmp, 'hang.sh');
    writeFileSync(hang, `#!/bin/sh\nsleep ${marker} &\nsleep ${marker}\necho OK\n`);
    chmodSync(hang, 0o755);
    const started = Date.now();
    t.same(await probe({ kind: 'program', program: hang, expect: 'OK', timeoutMs: 700 }), { program_timeout: 1 });
    t.ok(Date.now() - started < 5000, 'returned around the timeout');
    await new Promise((r) => setTimeout(r, 200));
    const ps = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' });
    t.notMatch(ps, new RegExp(`sleep ${marker}`), 'neither the script nor its background child survive');
  });

  await dir.exit();
});
