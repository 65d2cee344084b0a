// The active's sync pump with a full ring (DD_SYNC_RING = 65,536 records) of a real native table: no turn of the event
// loop drains more than SYNC_DRAIN_SLICE records (issue 12's leftover: one pump decoded the whole ring at once), the
// rest follows on the next turns, and a standby applies every one of them. Counted, not timed.
import { inPrivateNetns } from '../lab/private-netns';
inPrivateNetns(); // before tap loads: this file runs in a network namespace of its own
import t from 'tap';
import { FakeDataPlane } from '../../src/dataplane';
import { NativeTable } from '../../src/dataplane/native';
import type { DataPlane, ServiceSpec, SyncRecordIO } from '../../src/dataplane/types';
import { createRootLogger } from '../../src/log';
import { SYNC_DRAIN_SLICE } from '../../src/ha/sync-drain';
import { SyncChannel } from '../../src/ha/sync-io';
import { SyncMesh } from '../../src/ha/sync-mesh';
import { waitFor } from '../lab/lab';
import { tcpFlagsOf } from '../../src/scheduler';

const VIP = '10.62.0.100';
const svc: ServiceSpec = {
  vip: VIP, port: 80, protocol: 'tcp', fwmark: 0, scheduler: 'wlc', persistent: 0, pmask: '255.255.255.255', expireQuiescentTemplate: false,
  expireNodestConn: false, dests: [1, 2].map((i) => ({ address: `10.62.0.${10 + i}`, port: 80, weight: 1, mac: `02:62:00:00:00:1${i}` })),
};
const key = Buffer.from('sync-key-sync-key-sync-key-12345');
const log = createRootLogger({ level: 'fatal' });
const turn = () => new Promise<void>((r) => setImmediate(r));

/** A data plane of one native table: only what the channel uses, with the records it drains counted. */
function plane(tab: NativeTable, counted: { drained: number }): DataPlane {
  const io: SyncRecordIO = {
    layout: tab.layout,
    drainSyncRecords: (max) => {
      const b = tab.drainSyncRecords(max);
      counted.drained += b.length / tab.layout.conn.size;
      return b;
    },
    applySyncRecords: (r) => tab.applySyncRecords(r),
  };
  return { syncRecords: io, drainSyncUpdates: (max?: number) => tab.drainSync(max), applySyncUpdates: (e) => tab.applySync(e), connectionSnapshot: () => tab.snapshot() } as Partial<DataPlane> as DataPlane;
}

t.test('a 65,536-record backlog is drained a bounded slice per turn of the event loop, and all of it arrives', async (t) => {
  const a = new NativeTable(1 << 18);
  const b = new NativeTable(1 << 18);
  for (const x of [a, b]) x.setServices([svc]);
  a.drainSync(); // recording starts with the first drain
  const ring = a.layout.syncRing;
  for (let i = 0; a.counters().counters.syncOverflow === 0; i++) {
    a.processPacket({ saddr: `10.${100 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`, sport: 1024 + (i % 60000), daddr: VIP, dport: 80, protocol: 'tcp', flags: tcpFlagsOf(0x02), len: 60 }, 0);
  }
  t.ok(a.counters().counters.syncOverflow > 0, 'the ring is full (its overflow counted, as before)');

  const counted = { drained: 0 };
  const sent: Buffer[] = [];
  const active = new SyncChannel({ local: '10.62.0.1', peer: '10.62.0.2', port: 1, key, dataplane: plane(a, counted), log, mesh: { send: (m) => void sent.push(m) } });
  active.setSending(true);
  active.pump();
  const firstCall = counted.drained;
  t.ok(firstCall > 0 && firstCall <= SYNC_DRAIN_SLICE, `one pump call drained ${firstCall} records (at most ${SYNC_DRAIN_SLICE}), not the whole ring`);
  t.equal(active.entriesSent, firstCall, 'and sent them at once');
  // Our own immediates run once per turn of the loop: what was drained between two of them was drained in one turn.
  let most = firstCall;
  for (let turns = 0, last = counted.drained; turns < 10_000 && counted.drained < ring; turns++) {
    await turn();
    most = Math.max(most, counted.drained - last);
    last = counted.drained;
  }
  await turn();
  t.equal(counted.drained, ring, 'the whole ring drained, on later turns');
  t.ok(most <= SYNC_DRAIN_SLICE, `at most ${most} records in one turn`);
  t.equal(active.entriesSent, ring);
  active.pump();
  t.equal(counted.drained, ring, 'nothing left: the next pump drains nothing');
  active.close();

  const standby = new SyncChannel({ local: '10.62.0.2', peer: '10.62.0.1', port: 1, key, dataplane: plane(b, { drained: 0 }), log, proveBoot: () => true });
  for (const m of sent) standby.deliver(m, '10.62.0.1');
  t.same([standby.entriesApplied, standby.entriesNotApplied, standby.status().rejected], [ring, 0, {}], 'the standby applied every record');
  // A new connection queues two records (NONE, then SYN_RECV); only the last SYN's did not fit in the ring.
  const held = b.connections(1 << 18).length;
  t.ok(held >= ring / 2 && a.connections(1 << 18).length - held <= 1, `and holds the connections (${held})`);
  standby.close();
});

t.test('a drain under way is not started twice; close stops it', async (t) => {
  const a = new NativeTable(1 << 16);
  a.setServices([svc]);
  a.drainSync();
  for (let i = 0; i < SYNC_DRAIN_SLICE * 2 + 5; i++) {
    a.processPacket({ saddr: `10.101.${(i >> 8) & 255}.${i & 255}`, sport: 2000, daddr: VIP, dport: 80, protocol: 'tcp', flags: tcpFlagsOf(0x02), len: 60 }, 0);
  }
  const counted = { drained: 0 };
  const ch = new SyncChannel({ local: '10.62.0.1', peer: '10.62.0.2', port: 1, key, dataplane: plane(a, counted), log, mesh: { send: () => undefined } });
  ch.setSending(true);
  ch.pump();
  ch.pump(); // the timer fired again before the drain finished: it goes on where it is
  t.equal(counted.drained, SYNC_DRAIN_SLICE, 'one slice in this turn');
  ch.close();
  await turn();
  await turn();
  t.equal(counted.drained, SYNC_DRAIN_SLICE, 'closed: nothing more drained');
});

t.test('the object path (the fake data plane) is drained in the same slices', async (t) => {
  const fake = new FakeDataPlane({ clock: () => 0 });
  const n = SYNC_DRAIN_SLICE * 2 + 100;
  for (let i = 0; i < n; i++) {
    fake.record({ protocol: 'tcp', caddr: `10.102.${i >> 8}.${i & 255}`, cport: 3000, vaddr: VIP, vport: 80, daddr: '10.62.0.11', dport: 80, state: 'ESTABLISHED', expiresMs: 0, template: false });
  }
  const ch = new SyncChannel({ local: '10.62.0.1', peer: '10.62.0.2', port: 1, key, dataplane: fake, log, mesh: { send: () => undefined } });
  ch.setSending(true);
  ch.pump();
  t.equal(ch.entriesSent, SYNC_DRAIN_SLICE, 'one slice in the pump call');
  for (let i = 0; i < 10 && ch.entriesSent < n; i++) await turn();
  t.equal(ch.entriesSent, n, 'the rest on the next turns');
  ch.close();
});

t.test('scale-out mesh over loopback UDP, native tables: a backlog drained in slices reaches the peer', async (t) => {
  const [a, b] = [new NativeTable(1 << 16), new NativeTable(1 << 16)];
  for (const x of [a, b]) x.setServices([svc]);
  const counted = { drained: 0 };
  let meshes: SyncMesh[] = [];
  for (let attempt = 0; meshes.length < 2; attempt++) {
    const port = 20000 + Math.floor(Math.random() * 40000);
    const made = [new SyncMesh({ local: '127.0.0.21', peers: ['127.0.0.22'], port, key, dataplane: plane(a, counted), log }),
      new SyncMesh({ local: '127.0.0.22', peers: ['127.0.0.21'], port, key, dataplane: plane(b, { drained: 0 }), log })];
    try {
      for (const m of made) await m.open();
      meshes = made;
    } catch (e) {
      made.forEach((m) => m.close());
      if (attempt > 20) throw e;
    }
  }
  t.teardown(() => meshes.forEach((m) => m.close()));
  // Each proves the other's boot by the table transfer (empty tables here); the stream counts from then on.
  await waitFor('both meshes synced', () => meshes.every((m) => m.synced), 15000, 20);
  const n = SYNC_DRAIN_SLICE + 1000; // records: two per connection
  const now = a.nowMs();
  for (let i = 0; i < n / 2; i++) {
    a.processPacket({ saddr: `10.103.${i >> 8}.${i & 255}`, sport: 4000, daddr: VIP, dport: 80, protocol: 'tcp', flags: tcpFlagsOf(0x02), len: 60 }, now);
  }
  const before = counted.drained;
  meshes[0].pump();
  t.equal(counted.drained - before, SYNC_DRAIN_SLICE, 'one slice in the pump call');
  await waitFor('the peer holds every connection', () => b.connections(1 << 16).length === n / 2, 15000, 20);
  t.equal(counted.drained - before, n, 'the rest drained on the next turns');
  const st = meshes[1].status().peers[0];
  t.same([st.entriesNotApplied, st.rejected], [0, {}]);
});
