// Serving the whole connection table to the peer decodes it one paced batch at a time: decoding a large table at
// once blocked the event loop (heartbeats included) for seconds (issue 12's stall hunt: 1M entries took ~13 s of
// decoding and filtering on the loaded lab machine). Counted, not timed: how many entries exist as objects after
// the first burst.
import { inPrivateNetns } from '../lab/private-netns';
inPrivateNetns(); // before tap loads: this file runs in a network namespace of its own
import t from 'tap';
import { SyncChannel } from '../../src/ha/sync-io';
import { encodeSyncPacket, decodeSyncPacket, SYNC_BULK_MAX_ENTRIES } from '../../src/ha/sync-codec';
import { BULK_LIMITS } from '../../src/ha/sync-transfer';
import { createRootLogger } from '../../src/log';
import type { ConnEntry, DataPlane } from '../../src/dataplane/types';
import { NativeTable } from '../../src/dataplane/native';

const PEER = '10.64.0.2';
const key = Buffer.from('sync-serve-snapshot-key-0123456789ab');
const TABLE = 200_000;

function conn(i: number): ConnEntry {
  return { protocol: 'tcp', caddr: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, cport: 1024 + (i % 60000), vaddr: '10.64.0.100', vport: 3306, daddr: '10.64.2.1', dport: 3306, state: 'ESTABLISHED', expiresMs: 900000, template: false };
}

/** A data plane with a big table that counts every entry it hands out as an object. */
function countingDataPlane() {
  const made = { n: 0 };
  const dp = {
    backend: 'counting',
    connections: (limit = TABLE) => Array.from({ length: Math.min(limit, TABLE) }, (_, i) => (made.n++, conn(i))),
    connectionSnapshot: () => ({ length: TABLE, slice: (from: number, to: number) => Array.from({ length: Math.min(to, TABLE) - from }, (_, k) => (made.n++, conn(from + k))) }),
    drainSyncUpdates: () => [],
    applySyncUpdates: () => 0,
  } as unknown as DataPlane;
  return { dp, made };
}

t.test('a table transfer materializes one burst per pacing tick, not the whole table', async (t) => {
  const { dp, made } = countingDataPlane();
  const sent: Buffer[] = [];
  const ch = new SyncChannel({ local: '10.64.0.1', peer: PEER, port: 8848, key, dataplane: dp, log: createRootLogger({ level: 'fatal' }), mesh: { send: (m) => sent.push(m) } });
  t.teardown(() => ch.close());
  ch.deliver(encodeSyncPacket({ bootId: 7n, seq: 1n, entries: [], bulk: { kind: 'request', transferId: 0xabcn, index: 0, total: 0 } }, key), PEER);
  const burst = BULK_LIMITS.burst * SYNC_BULK_MAX_ENTRIES;
  t.ok(made.n > 0 && made.n <= burst, `the first burst only: ${made.n} of ${TABLE} entries decoded (at most ${burst})`);
  const data = sent.map((m) => decodeSyncPacket(m, key)).filter((r) => r.ok && r.batch.bulk?.kind === 'data');
  t.equal(data.length, BULK_LIMITS.burst, 'one burst of data datagrams went out');
  const first = data[0];
  t.ok(first.ok && first.batch.bulk?.total === TABLE && first.batch.entries.length === SYNC_BULK_MAX_ENTRIES, 'announcing the whole table');
  // The rest follows on the pacer: a few more ticks, still bounded per tick.
  await new Promise((r) => setTimeout(r, BULK_LIMITS.pacingMs * 4));
  t.ok(made.n < TABLE, `still not the whole table at once (${made.n})`);
});

t.test('the native table\'s snapshot: the same entries as connections(), decoded a slice at a time', async (t) => {
  const tab = new NativeTable(4096);
  tab.setServices([{ vip: '10.64.0.100', port: 3306, protocol: 'tcp', fwmark: 0, scheduler: 'wlc', persistent: 0, pmask: '255.255.255.255',
    expireQuiescentTemplate: false, expireNodestConn: false, dests: [{ address: '10.64.2.1', port: 3306, weight: 1, mac: '02:64:00:00:02:01' }] }]);
  tab.applySync(Array.from({ length: 1000 }, (_, i) => conn(i)), 1000);
  const all = tab.connections(4096, 2000);
  const snap = tab.snapshot(2000);
  t.equal(snap.length, 1000);
  const sliced = [0, 300, 600, 900].flatMap((from) => snap.slice(from, Math.min(from + 300, snap.length)));
  t.same(sliced, all, 'slices in order = the whole table');
  t.same(snap.slice(999, 1000), [all[999]]);
});
