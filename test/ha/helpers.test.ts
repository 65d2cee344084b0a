// Small pure pieces of the HA I/O layer: key file loading, netmask → prefix, broadcast, active_cmd splitting,
// and the seed's own timings (keepalive 6, deadtime 18) through the state machine.
import t from 'tap';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadHeartbeatKey } from '../../src/ha/key';
import { prefixFromNetmask, broadcastOf } from '../../src/ha/ipv4';
import { splitCommand, runDetached } from '../../src/ha/commands';
import { existsSync } from 'node:fs';
import { Writable } from 'node:stream';
import pino from 'pino';
import { HaStateMachine } from '../../src/ha/state-machine';
import { noFlags } from '../../src/ha/heartbeat-codec';

t.test('heartbeat key file', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ddha-key-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const rows: Array<[string, string | undefined, string]> = [
    ['good, trailing newline stripped', 'sixteen-bytes-ok\n', 'ok:16'],
    ['CRLF stripped', 'a-key-of-20-bytes!!!\r\n', 'ok:20'],
    ['too short', 'short\n', 'E_HA_KEY_TOO_SHORT'],
    ['empty', '', 'E_HA_KEY_TOO_SHORT'],
    ['missing file', undefined, 'E_HA_KEY_READ'],
  ];
  for (const [name, content, expect] of rows) {
    const f = join(dir, name.replace(/\W+/g, '_'));
    if (content !== undefined) writeFileSync(f, content, { mode: 0o600 });
    let got: string;
    try {
      got = `ok:${loadHeartbeatKey(f).length}`;
    } catch (e) {
      got = (e as { code: string }).code;
    }
    t.equal(got, expect, name);
  }
});

t.test('vip_nmask → prefix length (classful when unset, as ifconfig), broadcast', async (t) => {
  const rows: Array<[string | undefined, string, number | string]> = [
    ['255.255.240.0', '10.0.0.3', 20],
    ['255.255.255.255', '10.0.0.3', 32],
    ['255.255.255.0', '192.168.1.5', 24],
    ['0.0.0.0', '10.0.0.3', 0],
    [undefined, '10.0.0.3', 8],
    [undefined, '172.16.0.1', 16],
    [undefined, '192.168.1.1', 24],
    [undefined, '224.0.0.1', 32],
    ['255.0.255.0', '10.0.0.3', 'E_HA_BAD_NETMASK'],
    ['255.255.256.0', '10.0.0.3', 'E_HA_BAD_ADDRESS'],
  ];
  for (const [mask, addr, expect] of rows) {
    let got: number | string;
    try {
      got = prefixFromNetmask(mask, addr);
    } catch (e) {
      got = (e as { code: string }).code;
    }
    t.equal(got, expect, `${mask ?? '(unset)'} for ${addr}`);
  }
  t.same([...broadcastOf('10.0.0.3', 20)], [10, 0, 15, 255]);
  t.same([...broadcastOf('10.63.0.100', 32)], [10, 63, 0, 100]);
});

t.test('active_cmd / inactive_cmd split on spaces, no shell', async (t) => {
  t.same(splitCommand('/usr/local/bin/notify active lb1'), ['/usr/local/bin/notify', 'active', 'lb1']);
  t.same(splitCommand('/bin/echo  two  spaces'), ['/bin/echo', 'two', 'spaces']);
  t.same(splitCommand('/bin/sh -c "a; b"'), ['/bin/sh', '-c', '"a;', 'b"'], 'no quoting: pulse splits on spaces only');
  t.same(splitCommand(''), []);
});

t.test("the seed's timings: keepalive 6 s, deadtime 18 s", async (t) => {
  const m = new HaStateMachine({ role: 'backup', nodeId: '10.0.0.2', backupActive: true, deadtimeMs: 18000, monitorLinks: true, failback: false, failbackHolddownMs: 30000 });
  m.start(0);
  for (let at = 0; at <= 60000; at += 6000) {
    t.same(m.heartbeat(at, { nodeId: '10.0.0.1', role: 'primary', state: 'active', term: 1, flags: noFlags() }).filter((a) => a.kind === 'activate'), [], `heartbeat at ${at / 1000} s`);
    t.same(m.tick(at + 5999), [], 'no takeover between heartbeats');
  }
  // lb1 dies right after its heartbeat at 60 s: lb2 takes over exactly deadtime later, not before.
  t.same(m.tick(60000 + 17999), []);
  t.same(m.tick(60000 + 18000).map((a) => a.kind), ['peer-dead', 'activate', 'send-heartbeat']);
});

t.test('runDetached: executes without a shell, does not wait, logs a command that cannot start', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ddha-cmd-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const records: Array<Record<string, unknown>> = [];
  const sink = new Writable({ write: (c, _e, cb) => (records.push(JSON.parse(String(c)) as Record<string, unknown>), cb()) });
  const log = pino({ level: 'info' }, sink);
  const marker = join(dir, 'ran');
  runDetached(`/usr/bin/touch ${marker}`, 'active_cmd', log);
  const shellOnly = join(dir, 'shell');
  runDetached(`/usr/bin/touch ${shellOnly};/bin/true`, 'inactive_cmd', log); // no shell: ';' is part of the file name
  runDetached('/nonexistent/cmd arg', 'active_cmd', log);
  runDetached(undefined, 'active_cmd', log);
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline && !(existsSync(marker) && records.some((r) => r.msg === 'active_cmd could not be started') && records.some((r) => r.msg === 'inactive_cmd exited'))) await new Promise((r) => setTimeout(r, 20));
  t.ok(existsSync(marker), 'the command ran');
  t.ok(records.some((r) => r.msg === 'inactive_cmd exited' && r.code !== 0), 'touch got one odd argument and failed');
  t.notOk(existsSync(shellOnly), 'no shell interpreted the ;');
  t.ok(records.some((r) => r.msg === 'active_cmd could not be started' && r.cmd === '/nonexistent/cmd arg'), 'failure logged with the command');
  t.equal(records.filter((r) => r.msg === 'running active_cmd').length, 2, 'undefined command is not run');
});
