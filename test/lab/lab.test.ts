// The lab itself: hosts reach each other over the bridge, DR real servers hold the VIP on lo and ignore ARP for it.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { Lab, labAvailable, waitFor } from './lab';

t.test('two hosts and a DR real server on one bridge, torn down afterwards', { skip: !labAvailable() && 'needs root and ip netns' }, async (t) => {
  const lab = await Lab.create([
    { name: 'client', address: '10.9.0.10/24', mac: '02:00:00:00:09:0a' },
    { name: 'rs', address: '10.9.0.4/24', vipsOnLo: ['10.9.0.3'] },
  ]);
  t.teardown(() => lab.destroy());
  const ping = await lab.exec('client', ['ping', '-c1', '-W2', lab.ip('rs')]);
  t.equal(ping.code, 0, 'client reaches rs');
  // The VIP lives on rs's lo, but rs must not answer ARP for it (arp_ignore=1).
  const arp = await lab.exec('client', ['ping', '-c1', '-W1', '10.9.0.3']);
  t.not(arp.code, 0, 'VIP on a real server is not reachable by ARP');
  const mac = await lab.sh('client', 'cat /sys/class/net/eth0/address');
  t.equal(mac.trim(), '02:00:00:00:09:0a');
  const sleeper = lab.spawn('rs', ['sleep', '60']);
  await waitFor('sleeper pid', () => sleeper.pid);
  mkdirSync(`/etc/netns/${lab.ns('client')}`, { recursive: true });
  writeFileSync(`/etc/netns/${lab.ns('client')}/hosts`, '10.9.0.4 rs\n');
  await lab.destroy();
  t.notOk(existsSync(`/etc/netns/${lab.ns('client')}`), '/etc/netns entries removed with the namespace');
  const left = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  t.notMatch(left, lab.prefix, 'namespaces removed');
  t.ok(sleeper.killed || sleeper.exitCode !== null || sleeper.signalCode !== null, 'spawned process killed');
});
