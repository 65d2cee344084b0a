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

t.test("a neighbour entry moves by a gratuitous ARP, not because a second host took the address", { skip: !labAvailable() && 'needs root and ip netns' }, async (t) => {
  // What SeedLab.vipOwner() relies on: after a SIGKILL the dead director's kernel still holds the VIP.
  const lab = await Lab.create([
    { name: 'client', address: '10.9.0.10/24' },
    { name: 'lb1', address: '10.9.0.1/24', mac: '02:00:00:00:09:01' },
    { name: 'lb2', address: '10.9.0.2/24', mac: '02:00:00:00:09:02' },
  ], { tag: 'neigh' });
  t.teardown(() => lab.destroy());
  const VIP = '10.9.0.3';
  t.equal(await lab.neighbourMac('client', VIP), undefined, 'no entry before any traffic');
  await lab.sh('lb1', `ip addr add ${VIP}/24 dev eth0`);
  await lab.sh('client', `ping -c1 -W1 ${VIP}`);
  t.equal(await lab.neighbourMac('client', VIP), await lab.macOf('lb1'), 'resolved to lb1, the only holder');
  await lab.sh('lb2', `ip addr add ${VIP}/24 dev eth0`); // lb2 takes the VIP and announces nothing
  await new Promise((r) => setTimeout(r, 500));
  t.equal(await lab.neighbourMac('client', VIP), await lab.macOf('lb1'), 'without a GARP the client still sends to lb1');
  // A flush and a fresh request (the old vipOwner) would instead ask both holders; the reply that lands last wins.
  await lab.sh('lb2', `arping -U -c 2 -w 2 -i eth0 -S ${VIP} ${VIP} || true`);
  await waitFor('the GARP to update the entry', async () => ((await lab.neighbourMac('client', VIP)) === (await lab.macOf('lb2')) ? true : undefined), 5000, 50);
  t.pass('lb2\'s gratuitous ARP moved the existing entry to lb2');
});
