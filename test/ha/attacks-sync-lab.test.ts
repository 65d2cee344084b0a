// Lab: forged, replayed, truncated and foreign heartbeats from a third namespace are rejected, counted and never
// move a role; connection sync keeps the backup's table warm across a kill -9 and refills a restarted peer.
import t from 'tap';
import { labAvailable, waitFor } from '../lab/lab';
import { HaLab } from './ha-lab';
import { HA_LAB } from './lab-config';
import { encodeHeartbeat, noFlags } from '../../src/ha/heartbeat-codec';

const skip = !labAvailable() && 'needs root and ip netns';

const sendFrom = (h: HaLab, source: string, payloads: Buffer[]): Promise<void> => h.sendAs(source, payloads);

t.test('forged, replayed, truncated and foreign heartbeats are rejected and counted; roles unchanged', { skip }, async (t) => {
  const h = await HaLab.create({ attacker: true });
  t.teardown(() => h.destroy());
  h.start('lb1');
  await h.waitState('lb1', 'active');
  h.start('lb2');
  await waitFor('lb2 standby seeing lb1', () => h.status('lb2')?.peer.alive && h.status('lb2')?.state === 'standby', 5000, 20);

  // A genuine heartbeat of lb1, captured on the wire, to replay later.
  const genuine = await h.captureUdp('lb2', `udp and src host ${HA_LAB.lb1} and dst port 539`);
  t.equal(genuine.subarray(0, 4).toString('latin1'), 'DDHB');

  const fake = (key: Buffer | undefined, state: 'stopped' | 'active') =>
    encodeHeartbeat({ nodeId: HA_LAB.lb1, role: 'primary', state, flags: noFlags(), priority: 200, term: 99, bootId: 7n, seq: 1n << 40n, timestampMs: Date.now(), echoBootId: 0n }, key);
  const wrongKey = Buffer.from('not-the-lab-key-not-the-lab-key!');
  await sendFrom(h, HA_LAB.lb1, [
    fake(wrongKey, 'stopped'), // forged "primary stopped": would make lb2 take over if accepted
    fake(undefined, 'stopped'), // unauthenticated
    genuine, // replay of a packet lb2 already accepted
    genuine.subarray(0, 20), // truncated
    Buffer.concat([genuine, Buffer.alloc(200)]), // oversized
    Buffer.from([0xbd, 0xda, 0xbd, 0xad]), // pulse's "stopped": refused, lb2 has a key
  ]);
  await sendFrom(h, HA_LAB.attacker, [genuine]); // right bytes, wrong source
  await waitFor('rejections counted', () => Object.keys(h.status('lb2')?.heartbeatsRejected ?? {}).length >= 7, 3000, 20);
  const s2 = h.status('lb2')!;
  t.same(
    Object.keys(s2.heartbeatsRejected).sort(),
    ['bad_mac', 'oversized', 'pulse_refused', 'replayed', 'truncated', 'unauthenticated', 'unexpected_source'],
    'every reason counted',
  );
  t.ok(Object.values(s2.heartbeatsRejected).every((n) => n === 1), 'once each');
  const reasons = h.records('lb2').filter((r) => r.msg === 'heartbeat rejected').map((r) => r.reason);
  t.same([...new Set(reasons)].sort(), Object.keys(s2.heartbeatsRejected).sort(), 'each rejection logged with its reason');
  await new Promise((r) => setTimeout(r, 800));
  t.equal(h.status('lb2')!.state, 'standby', 'lb2 did not take over on a forged "stopped"');
  t.equal(h.status('lb1')!.state, 'active');
  t.equal(h.status('lb2')!.failovers, 0);
});

t.test('connection sync: backup table warm before the kill, kept after it, restarted peer refilled', { skip }, async (t) => {
  const h = await HaLab.create();
  t.teardown(() => h.destroy());
  const N = 150; // more than one datagram (48 entries each)
  h.start('lb1', { syncdaemon: true }, { syncConnections: N });
  await h.waitState('lb1', 'active');
  h.start('lb2', { syncdaemon: true });
  // The active node streams new connections as they appear; lb2 joined later, so it also gets the full table.
  await waitFor('lb2 has all connections', () => h.status('lb2')?.connections === N, 8000, 50);
  t.equal(h.status('lb2')!.state, 'standby');
  t.ok(h.status('lb2')!.sync!.entriesApplied >= N);
  // The stream may reach lb2 before lb1's first heartbeat does: those datagrams are 'unproven' (the full table that
  // follows once the heartbeats are proven refills them), never 'replayed' or anything else.
  t.same(Object.keys(h.status('lb2')!.sync!.rejected).filter((r) => r !== 'unproven'), []);
  h.kill('lb1', 'SIGKILL');
  await h.waitState('lb2', 'active');
  t.equal(h.status('lb2')!.connections, N, 'the new active director has every synced connection');
  await h.waitExit('lb1');
  h.start('lb1', { syncdaemon: true });
  await waitFor('restarted lb1 refilled from lb2', () => h.status('lb1')?.connections === N, 8000, 50);
  t.equal(h.status('lb1')!.state, 'standby');
});
