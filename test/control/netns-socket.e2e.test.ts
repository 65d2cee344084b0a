// Two directors on one machine in named namespaces (as in a lab) each get their own default control socket,
// and directorctl run in the same namespace finds it without --socket.
import t from 'tap';
import { mkdtempSync, writeFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Lab, labAvailable, waitFor } from '../lab/lab';
import { ensureBuilt, paths } from '../lab/build';
import { defaultControlSocket, currentNetnsName } from '../../src/control/socket-path';
import { defaultOptions } from '../../src/defaults';

t.test('outside a named namespace the default is the documented one', async (t) => {
  t.equal(defaultControlSocket(undefined), defaultOptions.controlSocket);
  t.equal(defaultControlSocket('lb1'), '/run/directord/netns/lb1/directord.sock');
  t.equal(currentNetnsName('/nonexistent'), undefined);
});

t.test('per-namespace default sockets: two daemons, no --socket', { skip: !labAvailable() && 'needs root and ip netns' }, async (t) => {
  ensureBuilt();
  const lab = await Lab.create([
    { name: 'lb1', address: '10.64.8.1/24' },
    { name: 'lb2', address: '10.64.8.2/24' },
  ], { tag: 'sock' });
  t.teardown(async () => {
    await lab.destroy();
    for (const h of ['lb1', 'lb2']) rmSync(`/run/directord/netns/${lab.ns(h)}`, { recursive: true, force: true });
  });
  const vip = (host: string) => (host === 'lb1' ? '10.64.8.100' : '10.64.8.101');
  const dir = mkdtempSync(join(tmpdir(), 'dd-sock-'));
  for (const host of ['lb1', 'lb2']) {
    const cfg = join(dir, `${host}.cf`);
    writeFileSync(cfg, `primary = ${lab.ip(host)}\nnetwork = direct\nvirtual v {\n  active = 1\n  address = ${vip(host)} eth0:1\n  port = 3306\n  server s {\n    address = 10.64.8.4\n    active = 1\n  }\n}\n`);
    const p = lab.spawn(host, ['node', paths.directord, '--config', cfg, '--dataplane', 'fake', '--log-level', 'warn']);
    p.stdout!.resume();
    p.stderr!.resume();
  }
  for (const host of ['lb1', 'lb2']) {
    const sock = `/run/directord/netns/${lab.ns(host)}/directord.sock`;
    await waitFor(`${host}'s socket`, () => existsSync(sock), 15000);
    const r = await waitFor(`directorctl status in ${host}`, async () => {
      const x = await lab.exec(host, ['node', paths.directorctl, '--json', 'status']);
      return x.code === 0 ? x : undefined;
    }, 15000);
    const st = JSON.parse(r.stdout);
    const text = JSON.stringify(st);
    const other = vip(host === 'lb1' ? 'lb2' : 'lb1');
    t.ok(text.includes(vip(host)) && !text.includes(other), `${host}'s own daemon answers (its VIP ${vip(host)}, not ${other})`);
  }
  const ident = await lab.exec('lb1', ['node', '-e', `console.log(require(${JSON.stringify(join(paths.root, 'dist/src/control/socket-path.js'))}).currentNetnsName())`]);
  t.equal(ident.stdout.trim(), lab.ns('lb1'), 'the namespace name is found as ip netns identify finds it');
});
