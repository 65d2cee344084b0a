// End to end in namespaces: two HaNode processes (lb1 primary, lb2 backup) and a client; kill -9, SIGSTOP,
// link down, two-way partition healed in both orders. keepalive 0.2 s, deadtime 0.6 s.
import t, { type Test } from 'tap';
import { labAvailable, waitFor } from '../lab/lab';
import { HaLab, captureJs } from './ha-lab';
import { HA_LAB } from './lab-config';
import { parseArpFrame } from '../../src/ha/garp-frame';

const skip = !labAvailable() && 'needs root and ip netns';

async function bothUp(t: Test, h: HaLab): Promise<void> {
  h.start('lb1');
  await h.waitState('lb1', 'active');
  h.start('lb2');
  await waitFor('lb2 sees lb1', () => h.status('lb2')?.peer.alive && h.status('lb2')?.state === 'standby', 5000, 20);
  await waitFor('client reaches the VIP on lb1', () => h.pingVip(), 5000, 50);
  t.equal(await h.clientArp(), HA_LAB.lb1Mac, 'client ARP entry points to lb1');
}

t.test('steady state: heartbeats flow, lb1 holds the VIP with its label and netmask', { skip }, async (t) => {
  const h = await HaLab.create();
  t.teardown(() => h.destroy());
  await bothUp(t, h);
  const addr = await h.exec('lb1', ['ip', '-o', '-4', 'addr', 'show', 'dev', 'eth0']);
  t.match(addr.stdout, new RegExp(`inet ${HA_LAB.vip.replace(/\./g, '\\.')}/20 brd 10\\.63\\.15\\.255 scope global secondary eth0:6`), 'VIP with label eth0:6 and /20');
  t.same(await h.vipHolders(), ['lb1']);
  await new Promise((r) => setTimeout(r, 600));
  const s1 = h.status('lb1')!;
  const s2 = h.status('lb2')!;
  t.ok(s1.heartbeatsReceived >= 2 && s2.heartbeatsReceived >= 2, 'heartbeats in both directions');
  t.same(s1.heartbeatsRejected, {}, 'nothing rejected on lb1');
  t.same(s2.heartbeatsRejected, {}, 'nothing rejected on lb2');
  t.equal(s2.peer.state, 'active');
  t.ok(s2.peer.lastHeartbeatAgeMs !== null && s2.peer.lastHeartbeatAgeMs < 600, 'recent heartbeat');
  t.equal(s1.authenticated, true);
});

t.test('kill -9 of the active director: backup takes the VIP, gratuitous ARPs are pulse-exact, client follows', { skip }, async (t) => {
  const h = await HaLab.create();
  t.teardown(() => h.destroy());
  await bothUp(t, h);
  const cap = h.lab.spawn('client', [process.execPath, captureJs, 'eth0', `arp and ether src ${HA_LAB.lb2Mac}`, '50', '4000']);
  let capOut = '';
  cap.stdout!.on('data', (d) => (capOut += d));
  await waitFor('capture ready', () => capOut.includes('ready'), 5000, 20);
  const killedAt = Date.now();
  h.kill('lb1', 'SIGKILL');
  const s2 = await h.waitState('lb2', 'active', 5000);
  t.same(s2.vipHeld, [HA_LAB.vip]);
  await waitFor('client reaches the VIP on lb2', () => h.pingVip(), 5000, 50);
  t.equal(await h.clientArp(), HA_LAB.lb2Mac, 'client ARP entry now points to lb2');
  // A SIGKILLed process cannot remove its VIP: lb1's kernel still holds it until directord starts again there.
  t.same(await h.vipHolders(), ['lb1', 'lb2'], 'the killed node still has the VIP (nothing can run after kill -9)');
  await new Promise<void>((r) => cap.once('exit', () => r()));
  // lb2 also ARPs for the client when it answers pings: keep the frames that announce the VIP (target IP = VIP).
  const frames = capOut
    .split('\n')
    .filter((l) => l.includes('hex'))
    .map((l) => JSON.parse(l) as { ts: number; hex: string })
    .filter((f) => parseArpFrame(Buffer.from(f.hex, 'hex'))?.targetIp === HA_LAB.vip);
  t.equal(frames.length, 5, 'garp_count = 5 frames');
  for (const f of frames) {
    t.same(parseArpFrame(Buffer.from(f.hex, 'hex')), {
      dst: 'ff:ff:ff:ff:ff:ff', src: HA_LAB.lb2Mac, ethertype: 0x0806, htype: 1, ptype: 0x0800, hlen: 6, plen: 4, op: 2,
      senderMac: HA_LAB.lb2Mac, senderIp: HA_LAB.vip, targetMac: HA_LAB.lb2Mac, targetIp: HA_LAB.vip, length: 60,
    });
  }
  const gaps = frames.slice(1).map((f, i) => f.ts - frames[i].ts);
  t.ok(gaps.every((g) => g >= 120 && g <= 1000), `frames ~0.2 s apart (${gaps.join(', ')} ms)`);
  t.ok(frames[0].ts - killedAt < 3000, 'first GARP soon after the kill');
  t.equal(h.status('lb2')!.failovers, 1);

  // Restart on lb1: it removes the stale VIP (crash recovery) and stays standby (no fail-back, as pulse).
  await h.waitExit('lb1');
  h.start('lb1');
  await waitFor('lb1 back as standby', () => h.status('lb1')?.peer.alive && h.status('lb1')?.state === 'standby', 5000, 20);
  t.same(await h.vipHolders(), ['lb2'], 'stale VIP removed on restart');
  t.ok(h.records('lb1').some((r) => r.msg === 'removed a stale VIP this node does not own'), 'logged the crash recovery');
  await new Promise((r) => setTimeout(r, 1000));
  t.equal(h.status('lb1')!.state, 'standby', 'returning primary does not fail back');
  t.equal(h.status('lb2')!.state, 'active');
  t.ok(await h.pingVip(), 'client still reaches the VIP');
});

t.test('SIGSTOP of the active director: backup takes over; on SIGCONT the master wins and re-announces', { skip }, async (t) => {
  const h = await HaLab.create();
  t.teardown(() => h.destroy());
  await bothUp(t, h);
  h.kill('lb1', 'SIGSTOP');
  await h.waitState('lb2', 'active', 5000);
  await waitFor('client reaches the VIP on lb2', async () => (await h.pingVip()) && (await h.clientArp()) === HA_LAB.lb2Mac, 5000, 50);
  h.kill('lb1', 'SIGCONT');
  // pulse: split brain resolves to the master; the backup yields and the master re-sends its ARPs.
  await waitFor('exactly one active', () => h.status('lb2')?.state === 'standby' && h.status('lb1')?.state === 'active', 5000, 20);
  await waitFor('client ARP back on lb1', async () => (await h.clientArp()) === HA_LAB.lb1Mac, 5000, 50);
  t.same(await h.vipHolders(), ['lb1']);
  t.ok(await h.pingVip(), 'client reaches the VIP');
  t.ok(h.records('lb1').some((r) => r.msg === 'split brain: both directors active' && r.winner === 'self'), 'lb1 logged the split brain as winner');
  t.ok(h.records('lb2').some((r) => r.msg === 'split brain: both directors active' && r.winner === 'peer'), 'lb2 logged the split brain as loser');
});

t.test('link down (bridge port) of the active director: monitor_links fails over, no fail-back on restore', { skip }, async (t) => {
  const h = await HaLab.create();
  t.teardown(() => h.destroy());
  await bothUp(t, h);
  await h.sh('sw', `ip link set ${h.lab.switchPort('lb1')} down`);
  await waitFor('lb1 fault', () => h.status('lb1')?.state === 'fault' && h.status('lb1')?.linkFail, 5000, 20);
  // The state flips at once; removing the VIP is a netlink round trip after it, reported in the runner's next status.
  await waitFor('lb1 gives up the VIP', () => h.status('lb1')?.vipHeld.length === 0, 2000, 20).catch(() => undefined);
  t.same(h.status('lb1')!.vipHeld, [], 'lb1 gave up the VIP');
  await h.waitState('lb2', 'active', 5000);
  await waitFor('client reaches the VIP on lb2', async () => (await h.pingVip()) && (await h.clientArp()) === HA_LAB.lb2Mac, 5000, 50);
  t.same(await h.vipHolders(), ['lb2']);
  await h.sh('sw', `ip link set ${h.lab.switchPort('lb1')} up`);
  await waitFor('lb1 standby again', () => h.status('lb1')?.state === 'standby' && h.status('lb1')?.peer.alive, 5000, 20);
  await new Promise((r) => setTimeout(r, 800));
  t.equal(h.status('lb1')!.state, 'standby', 'no automatic fail-back');
  t.equal(h.status('lb2')!.state, 'active');
  t.ok(await h.pingVip());
});

// Two-way partition: each director drops the other's heartbeats, so during the partition neither hears the other
// and nothing makes lb1 re-announce. The heal is done one direction at a time, in both orders; what must hold is
// that lb1 (the winner) sends gratuitous ARPs for the VIP after it hears lb2 again, and none during the partition.
// - lb1 hears first: it sees lb2 active -> split brain won -> re-announce; then lb2 hears lb1 and steps down.
// - lb2 hears first: it steps down before lb1 ever sees it active (no split brain on lb1's side); lb1 must still
//   re-announce when lb2 is heard again, or the client keeps lb2's MAC.
const dropFrom = (peer: string): string =>
  `nft add table inet ddha && nft add chain inet ddha in '{ type filter hook input priority 0; }' && nft add rule inet ddha in ip saddr ${peer} udp dport 539 drop`;

for (const first of ['lb1', 'lb2'] as const) {
  const second = first === 'lb1' ? 'lb2' : 'lb1';
  t.test(`two-way partition healed ${first} hearing first: split brain meanwhile, then lb1 alone and it re-announces after the heal`, { skip }, async (t) => {
    const h = await HaLab.create();
    t.teardown(() => h.destroy());
    await bothUp(t, h);
    await h.sh('lb1', dropFrom(HA_LAB.lb2));
    await h.sh('lb2', dropFrom(HA_LAB.lb1));
    await h.waitState('lb2', 'active', 5000);
    // lb2's takeover GARPs moved the client; nobody pings the VIP from here on, so only a GARP can move it back.
    await waitFor('client ARP on lb2 (its takeover GARPs)', async () => (await h.clientArp()) === HA_LAB.lb2Mac, 5000, 50);
    t.equal(h.status('lb1')!.state, 'active', 'lb1 still active: split brain during the partition');
    t.same(await h.vipHolders(), ['lb1', 'lb2']);

    // Every ARP lb1 sends, from inside the partition until well after the heal.
    const cap = h.lab.spawn('client', [process.execPath, captureJs, 'eth0', `arp and ether src ${HA_LAB.lb1Mac}`, '200', '8000']);
    let capOut = '';
    cap.stdout!.on('data', (d) => (capOut += d));
    await waitFor('capture ready', () => capOut.includes('ready'), 5000, 20);
    const capturedFrom = Date.now();
    const resends = (): number => h.records('lb1').filter((r) => r.msg === 'partner active: resending arps').length;
    const resendsBefore = resends(); // lb1 re-announced once when lb2 first started (partner heard)
    // A second of partition: at 0.2 s keepalive, a one-way partition would have made lb1 re-announce ~5 times.
    await new Promise((r) => setTimeout(r, 1000));
    const announced = resends() - resendsBefore;
    t.equal(h.status('lb1')!.state, 'active');
    t.equal(h.status('lb2')!.state, 'active');

    const healed: Record<string, number> = {};
    healed[first] = Date.now();
    await h.sh(first, 'nft delete table inet ddha');
    if (first === 'lb1') await waitFor('lb1 sees the split brain', () => (h.status('lb1')?.splitBrains ?? 0) >= 1, 5000, 20);
    else await waitFor('lb2 steps down', () => h.status('lb2')?.state === 'standby', 5000, 20);
    // Give the half-healed state a few heartbeats before the other direction heals.
    await new Promise((r) => setTimeout(r, 600));
    healed[second] = Date.now();
    await h.sh(second, 'nft delete table inet ddha');
    await waitFor('one active after heal', () => h.status('lb1')?.state === 'active' && h.status('lb2')?.state === 'standby', 5000, 20);
    await waitFor('VIP only on lb1', async () => JSON.stringify(await h.vipHolders()) === '["lb1"]', 3000, 50);
    await waitFor("client's existing ARP entry moved to lb1", async () => (await h.clientArp()) === HA_LAB.lb1Mac, 5000, 50);
    await new Promise<void>((r) => (cap.exitCode !== null ? r() : cap.once('exit', () => r())));

    const garps = capOut
      .split('\n')
      .filter((l) => l.includes('hex'))
      .map((l) => JSON.parse(l) as { kts: number; hex: string })
      .filter((f) => {
        const a = parseArpFrame(Buffer.from(f.hex, 'hex'));
        return a?.targetIp === HA_LAB.vip && a.senderIp === HA_LAB.vip;
      });
    // lb1's GARPs are caused by lb1 hearing lb2 again, whichever direction healed first.
    const lb1Hears = healed.lb1;
    t.equal(announced, 0, 'lb1 did not re-announce while it heard nothing from lb2');
    t.same(garps.filter((f) => f.kts < lb1Hears), [], `no lb1 GARP for the VIP during the partition (captured from ${capturedFrom})`);
    const after = garps.filter((f) => f.kts >= lb1Hears);
    t.ok(after.length >= 5, `lb1 sent a burst of GARPs for the VIP after it heard lb2 again (${after.length} frames, first ${after.length ? Math.round(after[0].kts - lb1Hears) : '-'} ms after)`);
    const reasons = h.records('lb1').filter((r) => r.msg === 'partner active: resending arps').map((r) => String(r.reason));
    if (first === 'lb1') t.ok(reasons.some((r) => r.startsWith('split brain won')), `lb1 re-announced as split-brain winner (${reasons.join('; ')})`);
    else t.ok(reasons.includes('partner heard again'), `lb1 re-announced because lb2 was heard again (${reasons.join('; ')})`);
    t.ok(await h.pingVip(), 'client reaches the VIP');
    t.ok(h.status('lb2')!.splitBrains >= 1, 'lb2 counted the split brain');
    t.equal(h.status('lb1')!.splitBrains >= 1, first === 'lb1', first === 'lb1' ? 'lb1 saw lb2 active' : 'lb1 never saw lb2 active (it stepped down first)');
  });
}
