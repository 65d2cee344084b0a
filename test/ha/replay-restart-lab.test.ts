// Lab (issue 12): real HaNode processes. A heartbeat captured during the peer's earlier boot, replayed after the
// receiver restarted, must neither move a role nor stop the live heartbeats from counting; a local unprivileged user
// cannot bind the heartbeat/sync ports next to directord (no SO_REUSEADDR).
import t from 'tap';
import { labAvailable, waitFor } from '../lab/lab';
import { HaLab } from './ha-lab';
import { HA_LAB } from './lab-config';

const skip = !labAvailable() && 'needs root and ip netns';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function restart(h: HaLab, name: 'lb1' | 'lb2', over = {}): Promise<void> {
  h.kill(name, 'SIGTERM');
  await h.waitExit(name);
  h.start(name, over);
}

t.test('a captured heartbeat of an earlier peer boot, replayed after the receiver restarted: no split brain', { skip }, async (t) => {
  const h = await HaLab.create({ attacker: true });
  t.teardown(() => h.destroy());
  h.start('lb1', { syncdaemon: true }, { syncConnections: 5 });
  await h.waitState('lb1', 'active', 15000);
  h.start('lb2', { syncdaemon: true });
  await waitFor('lb2 standby seeing lb1', () => h.status('lb2')?.peer.alive && h.status('lb2')?.state === 'standby', 15000, 20);

  // Boot 1 of lb1, captured on the wire (a heartbeat and a sync datagram would do alike; heartbeats decide roles).
  const captured = await h.captureUdp('lb2', `udp and src host ${HA_LAB.lb1} and dst port 539`);
  t.equal(captured.subarray(0, 4).toString('latin1'), 'DDHB');
  // And a sync datagram of that boot (the full table lb1 sends when it hears lb2 again after lb2's restart below;
  // 5 connections keep it within the capture's 256-byte snap length).
  h.kill('lb2', 'SIGTERM');
  await h.waitExit('lb2');
  const syncCap = h.captureUdp('lb2', `udp and src host ${HA_LAB.lb1} and dst port 8848`, 8000);
  await sleep(300);
  h.start('lb2', { syncdaemon: true });
  const capturedSync = await syncCap;
  t.equal(capturedSync.subarray(0, 4).toString('latin1'), 'DDSY');
  await waitFor('lb2 standby again', () => h.status('lb2')?.peer.alive && h.status('lb2')?.state === 'standby', 15000, 20);

  // lb1 restarts (boot 2): lb2 takes over on its "stopped"; lb1 comes back standby (no fail-back).
  await restart(h, 'lb1', { syncdaemon: true });
  await h.waitState('lb2', 'active', 15000);
  await waitFor('lb1 back standby', () => h.status('lb1')?.state === 'standby' && h.status('lb1')?.peer.alive, 15000, 20);
  // The receiver restarts: lb2 gives the service back to lb1 and comes back standby with an empty memory.
  await restart(h, 'lb2', { syncdaemon: true });
  await h.waitState('lb1', 'active', 15000);
  await waitFor('restarted lb2 standby seeing lb1', () => h.status('lb2')?.peer.alive && h.status('lb2')?.state === 'standby', 15000, 20);

  // The attack: lb1's boot-1 heartbeat, replayed to the restarted lb2 from lb1's address, several times.
  let double = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) if ((await h.vipHolders()).length > 1) double++;
  })();
  // Let the legitimate refill of the restarted lb2 finish first (nothing applied for a second).
  let applied = -1;
  await waitFor('lb2 sync settled', async () => {
    const before = h.status('lb2')!.sync!.entriesApplied;
    await sleep(1000);
    applied = h.status('lb2')!.sync!.entriesApplied;
    return before === applied;
  }, 15000, 0);
  for (let i = 0; i < 5; i++) {
    await h.sendAs(HA_LAB.lb1, [captured]);
    await h.sendAs(HA_LAB.lb1, [capturedSync], { address: HA_LAB.lb2, port: 8848 });
    await sleep(300);
  }
  await sleep(2000); // > 3 deadtimes: the old guard retired lb1's live boot and lb2 took over for good
  sampling = false;
  await sampler;
  const s2 = h.status('lb2')!;
  t.equal(s2.state, 'standby', 'lb2 still standby');
  t.equal(s2.failovers, 0, 'the restarted lb2 never activated');
  t.equal(s2.peer.alive, true, "lb1's live heartbeats still count");
  t.ok(s2.peer.lastHeartbeatAgeMs !== null && s2.peer.lastHeartbeatAgeMs < 600, 'recent');
  t.ok(s2.heartbeatsUnproven >= 5, `the replays are held as unproven (${s2.heartbeatsUnproven}), never current`);
  t.notOk(s2.heartbeatsRejected.replayed, 'no live heartbeat was ever taken for a replay');
  t.equal(h.status('lb1')!.state, 'active');
  t.equal(double, 0, 'never two VIP holders');
  t.equal(h.status('lb2')!.sync!.entriesApplied, applied, `the replayed sync datagrams of lb1's earlier boot planted nothing (${applied} applied before)`);
  t.ok((h.status('lb2')!.sync!.rejected.unproven ?? 0) >= 5, `and were counted (${JSON.stringify(h.status('lb2')!.sync!.rejected)})`);
  t.same(await h.vipHolders(), ['lb1']);
});

t.test('no SO_REUSEADDR: an unprivileged local user cannot bind sync_port next to directord', { skip }, async (t) => {
  const h = await HaLab.create();
  t.teardown(() => h.destroy());
  h.start('lb2', { syncdaemon: true, syncPort: 8848 });
  await waitFor('lb2 up', () => h.status('lb2'), 15000, 20);
  const script = `const s=require('dgram').createSocket({type:'udp4',reuseAddr:true});s.on('error',(e)=>{console.log(e.code);process.exit(0)});s.bind({address:'${HA_LAB.lb2}',port:8848},()=>{console.log('BOUND');process.exit(0)});`;
  const r = await h.exec('lb2', ['env', '-i', 'PATH=/usr/bin:/bin', 'setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '/usr/bin/node', '-e', script]);
  t.equal(r.stdout.trim(), 'EADDRINUSE', `nobody's bind with SO_REUSEADDR fails (${r.stdout.trim()} ${r.stderr.trim()})`);
});
