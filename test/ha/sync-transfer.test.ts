// Full-table transfer, pure parts: the paced sender, the requester's completion, retries and bounded give-up, and
// the codec's bulk messages (round trip, rejects).
import t from 'tap';
import { BULK_LIMITS, BulkReceiver, BulkSender, type ReceiverAction } from '../../src/ha/sync-transfer';
import { decodeSyncPacket, encodeSyncPacket, SYNC_BULK_MAX_ENTRIES, SYNC_HEADER_LEN, SYNC_MAX_LEN } from '../../src/ha/sync-codec';
import type { ConnEntry } from '../../src/dataplane/types';

const key = Buffer.from('sync-key-sync-key-sync-key-12345');

function conn(i: number, over: Partial<ConnEntry> = {}): ConnEntry {
  return { protocol: 'tcp', caddr: `10.63.${(i >> 8) & 255}.${i & 255}`, cport: 30000 + (i % 30000), vaddr: '10.63.0.100', vport: 3306, daddr: '10.63.2.1', dport: 3306, state: 'ESTABLISHED', expiresMs: 900000, template: false, ...over };
}

/** Run a whole transfer from sender to receiver through the codec; `drop` loses datagrams by position. */
function transfer(table: ConnEntry[], rx: BulkReceiver, id: bigint, nowMs: number, drop: (n: number) => boolean = () => false) {
  const tx = new BulkSender();
  tx.start(id, table);
  const applied: ConnEntry[] = [];
  const actions: ReceiverAction[] = [];
  let n = 0;
  let bursts = 0;
  let maxBurst = 0;
  let maxLen = 0;
  for (;;) {
    const burst = tx.next();
    if (!burst.length) break;
    bursts++;
    maxBurst = Math.max(maxBurst, burst.length);
    for (const c of burst) {
      const buf = encodeSyncPacket({ bootId: 1n, seq: BigInt(++n), ...c }, key);
      maxLen = Math.max(maxLen, buf.length);
      if (drop(n)) continue;
      const r = decodeSyncPacket(buf, key);
      if (!r.ok || !r.batch.bulk) throw new Error('decode');
      if (r.batch.bulk.kind === 'data') {
        applied.push(...r.batch.entries);
        actions.push(...rx.onData(r.batch.bulk, r.batch.entries.length, nowMs));
      } else actions.push(...rx.onEnd(r.batch.bulk, nowMs));
    }
  }
  return { applied, actions, datagrams: n, bursts, maxBurst, maxLen };
}

t.test('a whole table arrives in paced bursts; synced only at the end', async (t) => {
  const table = Array.from({ length: 5000 }, (_, i) => conn(i));
  table.push(conn(1, { caddr: '2001:db8::1' })); // not expressible: not announced, not counted
  let ids = 10n;
  const rx = new BulkReceiver(() => ++ids);
  t.equal(rx.synced, false, 'a (re)started node is not synced');
  const [req] = rx.begin(0, 'partner heard');
  t.equal(req.kind, 'request');
  const id = (req as Extract<ReceiverAction, { kind: 'request' }>).transferId;
  const r = transfer(table, rx, id, 50);
  t.equal(r.applied.length, 5000);
  t.equal(r.datagrams, Math.ceil(5000 / SYNC_BULK_MAX_ENTRIES) + 1, 'data batches and one end marker');
  t.ok(r.bursts >= Math.ceil(r.datagrams / BULK_LIMITS.burst), 'sent over several pacing ticks');
  t.equal(r.maxBurst, BULK_LIMITS.burst, 'each burst bounded');
  t.ok(r.maxLen <= 1400, 'every datagram fits the MTU');
  t.same(r.actions, [{ kind: 'synced', entries: 5000, ms: 50 }]);
  t.equal(rx.synced, true);
  t.equal(rx.progress().phase, 'synced');
});

t.test('an empty table is a complete transfer', async (t) => {
  const rx = new BulkReceiver(() => 5n);
  rx.begin(0, 'start');
  const r = transfer([], rx, 5n, 3);
  t.same(r.actions, [{ kind: 'synced', entries: 0, ms: 3 }]);
  t.equal(rx.synced, true);
});

t.test('a lost batch: the end marker waits a grace time, then the transfer is asked again; the retry completes', async (t) => {
  let ids = 0n;
  const rx = new BulkReceiver(() => ++ids);
  rx.begin(0, 'start');
  const table = Array.from({ length: 300 }, (_, i) => conn(i));
  const first = transfer(table, rx, 1n, 10, (n) => n === 2);
  t.same(first.actions, [], 'not synced with a batch missing');
  t.equal(rx.synced, false);
  t.same(rx.tick(10 + BULK_LIMITS.endGraceMs - 1), [], 'a reordered batch may still come');
  const retry = rx.tick(10 + BULK_LIMITS.endGraceMs);
  t.equal(retry.length, 1);
  t.match(retry[0], { kind: 'request', transferId: 2n, attempt: 2 });
  t.match(rx.progress().reason, /6 of 7 batches/);
  const second = transfer(table, rx, 2n, 400);
  t.match(second.actions, [{ kind: 'synced', entries: 300 }]);
});

t.test('batches of another transfer (a stale or unsolicited one) do not count', async (t) => {
  const rx = new BulkReceiver(() => 7n);
  rx.begin(0, 'start');
  const r = transfer([conn(1)], rx, 6n, 1);
  t.same(r.actions, []);
  t.equal(rx.synced, false);
});

t.test('a silent or old peer: bounded retries, then synced with a gave-up action (loud log by the caller)', async (t) => {
  let ids = 0n;
  const rx = new BulkReceiver(() => ++ids);
  const out: ReceiverAction[] = [...rx.begin(0, 'start')];
  let now = 0;
  while (rx.inProgress && now < 60000) {
    now = rx.nextTimerMs()!;
    out.push(...rx.tick(now));
  }
  t.equal(out.filter((a) => a.kind === 'request').length, BULK_LIMITS.attempts);
  t.match(out.at(-1), { kind: 'gave-up', reason: /no answer from the peer \(after 3 attempts/ });
  t.equal(now, BULK_LIMITS.attempts * BULK_LIMITS.idleTimeoutMs, 'bounded: attempts × idle timeout');
  t.equal(rx.synced, true, 'the gate opens');
  t.equal(rx.progress().phase, 'gave-up');
});

t.test('a drip-feeding peer is cut at the overall deadline', async (t) => {
  const rx = new BulkReceiver(() => 1n);
  rx.begin(0, 'start');
  const total = 100 * SYNC_BULK_MAX_ENTRIES;
  const deadline = BULK_LIMITS.baseDeadlineMs + total * BULK_LIMITS.perEntryMs;
  let now = 0;
  let i = 0;
  let actions: ReceiverAction[] = [];
  while (!actions.length) {
    now += BULK_LIMITS.idleTimeoutMs - 1;
    if (now < deadline) rx.onData({ kind: 'data', transferId: 1n, index: i++, total }, SYNC_BULK_MAX_ENTRIES, now);
    actions = rx.tick(Math.min(now, rx.nextTimerMs()!));
  }
  t.match(actions[0], { kind: 'request', attempt: 2, reason: /not complete after/ });
  t.ok(now <= deadline + BULK_LIMITS.idleTimeoutMs);
});

t.test('an absurd announced size is refused', async (t) => {
  let ids = 0n;
  const rx = new BulkReceiver(() => ++ids);
  rx.begin(0, 'start');
  const a = rx.onData({ kind: 'data', transferId: 1n, index: 0, total: BULK_LIMITS.maxEntries + 1 }, 1, 1);
  t.match(a, [{ kind: 'request', attempt: 2 }]);
});

t.test('becoming active ends the wait (our table is the truth); losing the peer does not sync', async (t) => {
  const rx = new BulkReceiver(() => 1n);
  rx.begin(0, 'start');
  rx.stop(false);
  t.equal(rx.synced, false);
  t.equal(rx.inProgress, false);
  t.equal(rx.nextTimerMs(), undefined);
  rx.begin(5, 'partner heard');
  rx.stop(true);
  t.equal(rx.synced, true);
});

t.test('a new request replaces the transfer in progress', async (t) => {
  const tx = new BulkSender();
  tx.start(1n, Array.from({ length: 200 }, (_, i) => conn(i)));
  tx.next(1);
  tx.start(2n, [conn(1)]);
  const rest = tx.next(10);
  t.same(rest.map((c) => [c.bulk.kind, c.bulk.transferId, c.bulk.index]), [['data', 2n, 0], ['end', 2n, 1]]);
  t.equal(tx.busy, false);
  t.equal(tx.transfers, 2);
});

t.test('codec: bulk messages round trip; rejects', async (t) => {
  for (const k of [key, undefined]) {
    const req = decodeSyncPacket(encodeSyncPacket({ bootId: 3n, seq: 4n, entries: [], bulk: { kind: 'request', transferId: 0xfeedn, index: 0, total: 0 } }, k), k);
    t.same(req, { ok: true, batch: { bootId: 3n, seq: 4n, entries: [], bulk: { kind: 'request', transferId: 0xfeedn, index: 0, total: 0 } } });
    const entries = Array.from({ length: SYNC_BULK_MAX_ENTRIES }, (_, i) => conn(i));
    const data = encodeSyncPacket({ bootId: 3n, seq: 5n, entries, bulk: { kind: 'data', transferId: 9n, index: 7, total: 1000 } }, k);
    t.ok(data.length <= SYNC_MAX_LEN);
    t.same(decodeSyncPacket(data, k), { ok: true, batch: { bootId: 3n, seq: 5n, entries, bulk: { kind: 'data', transferId: 9n, index: 7, total: 1000 } } });
  }
  t.throws(() => encodeSyncPacket({ bootId: 1n, seq: 1n, entries: [conn(1)], bulk: { kind: 'end', transferId: 1n, index: 1, total: 1 } }), 'no entries in an end marker');
  t.throws(() => encodeSyncPacket({ bootId: 1n, seq: 1n, entries: Array.from({ length: SYNC_BULK_MAX_ENTRIES + 1 }, (_, i) => conn(i)), bulk: { kind: 'data', transferId: 1n, index: 0, total: 99 } }));
  const req = encodeSyncPacket({ bootId: 1n, seq: 1n, entries: [], bulk: { kind: 'request', transferId: 1n, index: 0, total: 0 } }, key);
  const two = Buffer.from(req);
  two[5] = 0x03; // request and data at once
  t.match(decodeSyncPacket(two, key), { ok: false, reason: 'bad_field' });
  const odd = Buffer.from(req);
  odd.writeUInt32BE(5, SYNC_HEADER_LEN + 8); // a request with an index: re-MACed so only the field is wrong
  const { createHmac } = await import('node:crypto');
  createHmac('sha256', key).update(odd.subarray(0, odd.length - 32)).digest().copy(odd, odd.length - 32);
  t.match(decodeSyncPacket(odd, key), { ok: false, reason: 'bad_field' });
  const forged = Buffer.from(req);
  forged.writeBigUInt64BE(2n, SYNC_HEADER_LEN); // another transfer id, same MAC
  t.match(decodeSyncPacket(forged, key), { ok: false, reason: 'bad_mac' });
  t.match(decodeSyncPacket(req.subarray(0, req.length - 1), key), { ok: false, reason: 'bad_length' });
});
