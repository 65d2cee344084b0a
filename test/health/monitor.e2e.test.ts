// The seed's configuration run by the HealthMonitor inside a director namespace against real listeners:
// send_program = check_tcp_port.sh %h 3306 / expect OK (nc-based, as the seed) and a plain TCP connect check,
// timeout 1 / reentry 2 to stay fast: out after ONE failed check, back after reentry/timeout = 2 good checks.
import t from 'tap';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import { Lab, labAvailable, waitFor } from '../lab/lab';
import { RemoteMonitor, type Line } from './fixtures/remote';
import { stopChild } from './fixtures/responders';
import { config, virtual, server } from './fixtures/config';

const checkScript = join(__dirname, '..', '..', 'config', 'check_tcp_port.sh');

t.test('seed config against nc listeners: down after one failure, back after reentry, reload keeps state', { skip: !labAvailable() && 'needs root and ip netns' }, async (t) => {
  const lab = await Lab.create([
    { name: 'dir', address: '10.62.1.1/20' },
    { name: 'sql1', address: '10.62.1.4/20' },
    { name: 'sql2', address: '10.62.1.5/20' },
  ], { tag: 'hmon' });
  t.teardown(() => lab.destroy());
  const listen = async (host: string): Promise<ChildProcess> => {
    const c = lab.spawn(host, ['nc', '-lk', '3306']);
    // Listening socket on :3306 (0CEA), state LISTEN (0A), read from the namespace's /proc/<pid>/net/tcp.
    await waitFor(`nc on ${host}`, () => c.pid !== undefined && / [0-9A-F]{8}:0CEA [0-9A-F]{8}:0000 0A /.test(readFileSync(`/proc/${c.pid}/net/tcp`, 'utf8')), 5000);
    return c;
  };
  let nc1 = await listen('sql1');
  await listen('sql2');

  const servers = [server('sql1.example.com', '10.62.1.4'), server('sql2.example.com', '10.62.1.5')];
  const seed = virtual({ address: '10.62.1.3', sendProgram: `${checkScript} %h 3306`, timeout: 1, reentry: 2, servers });
  const tcp = virtual({ name: 'plain_tcp', address: '10.62.1.3', sendProgram: undefined, send: undefined, expect: undefined, timeout: 1, reentry: 2, quiesceServer: false, servers });
  const cfg = config([seed, tcp]);
  const dir = await RemoteMonitor.start(lab, 'dir');
  t.teardown(() => dir.exit());
  await dir.call({ op: 'configure', config: cfg });
  await dir.call({ op: 'start' });

  for (const v of ['openstack_mysql_3306', 'plain_tcp']) {
    for (const s of ['sql1.example.com', 'sql2.example.com']) await dir.waitChange(`${v}/${s} up`, (c) => c.virtual === v && c.server === s && c.up && c.inTable);
  }
  const active = dir.logs().find((r) => r.msg === '[ active ] making 10.62.1.5:3306 available' && r.virtual === 'openstack_mysql_3306');
  t.ok(active, 'nanny words on the way in');
  t.equal(active!.check, 'program');
  t.equal(active!.subsystem, 'health');

  const mark = dir.lines.length;
  await stopChild(nc1);
  const down = await dir.waitChange('sql1 out (seed)', (c) => c.virtual === 'openstack_mysql_3306' && c.server === 'sql1.example.com' && !c.up);
  t.match(down, { weight: 0, inTable: true, reason: 'program_output_mismatch' }, 'quiesced: weight 0, entry kept');
  const downTcp = await dir.waitChange('sql1 out (tcp)', (c) => c.virtual === 'plain_tcp' && c.server === 'sql1.example.com' && !c.up);
  t.match(downTcp, { weight: 0, inTable: false, reason: 'connect_refused' }, 'no quiesce: removed');
  const checksOf = (lines: Line[], v: string) => lines.filter((l) => l.type === 'check' && l.virtual === v && l.server === 'sql1.example.com');
  const until = (pred: (l: Line) => boolean) => dir.lines.slice(mark, dir.lines.findIndex((l, i) => i >= mark && pred(l)));
  const beforeDown = checksOf(until((l) => l === down), 'openstack_mysql_3306');
  t.equal(beforeDown.filter((c) => !c.ok).length, 1, 'exactly one failed check before going out');
  const inactive = dir.logs().find((r) => r.msg === '[inactive] shutting down 10.62.1.4:3306 due to connection failure' && r.virtual === 'openstack_mysql_3306');
  t.ok(inactive, 'nanny words on the way out');
  t.equal(inactive!.reason, 'program_output_mismatch');
  t.type(inactive!.durationMs, 'number');

  const mark2 = dir.lines.length;
  nc1 = await listen('sql1');
  const up = await dir.waitChange('sql1 back (seed)', (c) => c.virtual === 'openstack_mysql_3306' && c.server === 'sql1.example.com' && c.up, 20000, dir.changes().length - 2);
  const upIdx = dir.lines.indexOf(up);
  const afterRestart = checksOf(dir.lines.slice(mark2, upIdx + 1), 'openstack_mysql_3306');
  const lastFail = afterRestart.map((c) => c.ok).lastIndexOf(false);
  t.equal(afterRestart.slice(lastFail + 1).filter((c) => c.ok).length, 2, 'back after reentry / timeout = 2 consecutive good checks');
  await dir.waitChange('sql1 back (tcp)', (c) => c.virtual === 'plain_tcp' && c.server === 'sql1.example.com' && c.up, 20000, dir.changes().indexOf(downTcp) + 1);

  // SIGHUP: the same config again. No checker restarts, no change events.
  const nChanges = dir.changes().length;
  const statusBefore = await dir.status();
  await dir.call({ op: 'configure', config: cfg });
  await new Promise((r) => setTimeout(r, 2500));
  t.equal(dir.changes().length, nChanges, 'reload with an unchanged config: no flap');
  const statusAfter = await dir.status();
  for (const s of statusAfter) {
    const b = statusBefore.find((x: Line) => x.virtual === s.virtual && x.server === s.server)!;
    t.ok(s.checksTotal > b.checksTotal && s.state === 'up', `${s.virtual}/${s.server} kept counting, still up`);
  }
  t.equal(dir.logs().filter((r) => /^starting LVS client monitor/.test(r.msg)).length, 4, 'four monitors started once, none restarted');
});
