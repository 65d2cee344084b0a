// Lab: operator release/takeover (directorctl's HA commands), reload of the VIP list while active, a pair
// running without a key (works, loudly unauthenticated), and periodic GARP refresh.
import t from 'tap';
import { labAvailable, waitFor } from '../lab/lab';
import { HaLab, captureJs } from './ha-lab';
import { parseArpFrame } from '../../src/ha/garp-frame';
import { HA_LAB, haVirtual } from './lab-config';

const skip = !labAvailable() && 'needs root and ip netns';

async function pair(h: HaLab, over = {}): Promise<void> {
  h.start('lb1', over);
  await h.waitState('lb1', 'active');
  h.start('lb2', over);
  await waitFor('lb2 standby', () => h.status('lb2')?.peer.alive && h.status('lb2')?.state === 'standby', 5000, 20);
}

t.test('release hands over, takeover takes back; the later manual takeover wins even on the backup', { skip }, async (t) => {
  const h = await HaLab.create();
  t.teardown(() => h.destroy());
  await pair(h);
  await waitFor('client on lb1', async () => (await h.pingVip()) && (await h.clientArp()) === HA_LAB.lb1Mac, 5000, 50);

  h.kill('lb1', 'SIGUSR2'); // release
  await h.waitState('lb2', 'active');
  await waitFor('lb1 standby', () => h.status('lb1')?.state === 'standby' && h.status('lb1')?.vipHeld.length === 0, 3000, 20);
  await waitFor('client follows to lb2', async () => (await h.pingVip()) && (await h.clientArp()) === HA_LAB.lb2Mac, 5000, 50);

  h.kill('lb1', 'SIGUSR1'); // takeover on the primary
  await h.waitState('lb1', 'active');
  await waitFor('lb2 yields', () => h.status('lb2')?.state === 'standby', 3000, 20);
  await waitFor('client back on lb1', async () => (await h.pingVip()) && (await h.clientArp()) === HA_LAB.lb1Mac, 5000, 50);

  h.kill('lb2', 'SIGUSR1'); // takeover on the backup: the later manual takeover beats the master
  await h.waitState('lb2', 'active');
  await waitFor('lb1 yields', () => h.status('lb1')?.state === 'standby', 3000, 20);
  await new Promise((r) => setTimeout(r, 600));
  t.equal(h.status('lb2')!.state, 'active', 'lb2 stays active');
  t.same(await h.vipHolders(), ['lb2']);
  await waitFor('client on lb2', async () => (await h.pingVip()) && (await h.clientArp()) === HA_LAB.lb2Mac, 5000, 50);
});

t.test('reload while active: a new VIP comes up with its label, a removed one goes down', { skip }, async (t) => {
  const h = await HaLab.create();
  t.teardown(() => h.destroy());
  await pair(h);
  const second = haVirtual({ name: 'second', address: '10.63.0.101', device: 'eth0:7', vipNetmask: '255.255.255.0' });
  h.writeSpec('lb1', {}, { virtuals: [haVirtual(), second] });
  h.kill('lb1', 'SIGHUP');
  await waitFor('lb1 holds both VIPs', () => h.status('lb1')?.vipHeld.length === 2, 3000, 20);
  const addrs = (await h.exec('lb1', ['ip', '-o', '-4', 'addr', 'show', 'dev', 'eth0'])).stdout;
  t.match(addrs, /inet 10\.63\.0\.101\/24 brd 10\.63\.0\.255 scope global (secondary )?eth0:7/, 'new VIP, /24, label eth0:7');
  t.match(addrs, /inet 10\.63\.0\.100\/20 .*eth0:6/, 'old VIP kept');
  h.writeSpec('lb1', {}, { virtuals: [second] });
  h.kill('lb1', 'SIGHUP');
  await waitFor('lb1 holds only the second VIP', () => JSON.stringify(h.status('lb1')?.vipHeld) === '["10.63.0.101"]', 3000, 20);
  t.notMatch((await h.exec('lb1', ['ip', '-o', '-4', 'addr', 'show', 'dev', 'eth0'])).stdout, /10\.63\.0\.100\//, 'removed VIP is gone');
  t.equal(h.status('lb1')!.state, 'active');
});

t.test('no key: heartbeats flow unauthenticated, with a loud warning', { skip }, async (t) => {
  const h = await HaLab.create();
  t.teardown(() => h.destroy());
  await pair(h, { heartbeatKeyFile: undefined });
  await new Promise((r) => setTimeout(r, 500));
  for (const n of ['lb1', 'lb2']) {
    const s = h.status(n)!;
    t.equal(s.authenticated, false, `${n} unauthenticated`);
    t.same(s.heartbeatsRejected, {}, `${n} rejects nothing`);
    t.ok(s.heartbeatsReceived > 0, `${n} receives heartbeats`);
    t.ok(h.records(n).some((r) => r.level === 'warn' && String(r.msg).startsWith('!!! HEARTBEATS ARE NOT AUTHENTICATED')), `${n} warned`);
  }
});

t.test('garp_refresh: periodic gratuitous ARPs while active, none after giving the VIP up', { skip }, async (t) => {
  const h = await HaLab.create();
  t.teardown(() => h.destroy());
  await pair(h, { garpCount: 1, garpRefresh: 0.3 });
  const capture = (ms: number) => h.exec('client', [process.execPath, captureJs, 'eth0', `arp and ether src ${HA_LAB.lb1Mac}`, '50', String(ms)]);
  const announcing = (out: string) =>
    out
      .split('\n')
      .filter((l) => l.includes('hex'))
      .map((l) => parseArpFrame(Buffer.from((JSON.parse(l) as { hex: string }).hex, 'hex')))
      .filter((f) => f?.targetIp === HA_LAB.vip && f.op === 2 && f.targetMac === HA_LAB.lb1Mac);
  const during = announcing((await capture(1600)).stdout);
  t.ok(during.length >= 3 && during.length <= 7, `refresh frames while active: ${during.length} in 1.6 s at 0.3 s`);
  h.kill('lb1', 'SIGUSR2'); // release: lb1 gives the VIP up
  await waitFor('lb1 standby', () => h.status('lb1')?.state === 'standby' && h.status('lb1')?.vipHeld.length === 0, 3000, 20);
  t.same(announcing((await capture(1200)).stdout), [], 'no refresh after release');
});
