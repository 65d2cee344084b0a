// Connection-sync datagrams: round trip, batching, reject table, fuzz.
import t from 'tap';
import { fuzzRandom } from './fuzz-seed';
import { encodeSyncBatches, encodeSyncPacket, decodeSyncPacket, SYNC_MAX_ENTRIES, SYNC_MAX_LEN, SYNC_HEADER_LEN } from '../../src/ha/sync-codec';
import type { ConnEntry } from '../../src/dataplane/types';

const key = Buffer.from('sync-key-sync-key-sync-key-12345');

function conn(i: number, over: Partial<ConnEntry> = {}): ConnEntry {
  return { protocol: 'tcp', caddr: `10.63.1.${i % 250}`, cport: 30000 + i, vaddr: '10.63.0.100', vport: 3306, daddr: '10.63.2.1', dport: 3306, state: 'ESTABLISHED', expiresMs: 900000, template: false, ...over };
}

t.test('round trip of connections and templates', async (t) => {
  const entries = [
    conn(1),
    conn(2, { state: 'FIN_WAIT', expiresMs: 120000 }),
    conn(3, { protocol: 'udp', state: 'UDP', expiresMs: 300000 }),
    conn(4, { template: true, cport: 0, caddr: '10.63.1.0', state: 'NONE', expiresMs: 360000 }),
    // A template whose connection reached ESTABLISHED: the backup must keep it too.
    conn(5, { template: true, cport: 0, caddr: '10.63.2.0', state: 'ASSURED', expiresMs: 60000 }),
  ];
  for (const k of [key, undefined]) {
    const r = decodeSyncPacket(encodeSyncPacket({ bootId: 9n, seq: 3n, entries }, k), k);
    t.ok(r.ok);
    if (r.ok) t.same(r.batch, { bootId: 9n, seq: 3n, entries });
  }
});

t.test('batching: full datagrams, increasing seq, unrepresentable entries skipped', async (t) => {
  const entries = Array.from({ length: SYNC_MAX_ENTRIES * 2 + 5 }, (_, i) => conn(i));
  entries.push(conn(999, { caddr: '2001:db8::1' }), conn(998, { state: 'WEIRD' }));
  let seq = 0n;
  const { packets, skipped } = encodeSyncBatches(entries, { key, bootId: 1n, nextSeq: () => ++seq });
  t.equal(skipped, 2);
  t.equal(packets.length, 3);
  t.ok(packets.every((p) => p.length <= SYNC_MAX_LEN && p.length <= 1400));
  const got = packets.map((p) => decodeSyncPacket(p, key)).flatMap((r) => (r.ok ? [r.batch] : []));
  t.same(got.map((b) => b.seq), [1n, 2n, 3n]);
  t.equal(got.flatMap((b) => b.entries).length, SYNC_MAX_ENTRIES * 2 + 5);
  t.throws(() => encodeSyncPacket({ bootId: 1n, seq: 1n, entries: entries.slice(0, SYNC_MAX_ENTRIES + 1) }));
});

t.test('reject table', async (t) => {
  const good = encodeSyncPacket({ bootId: 1n, seq: 1n, entries: [conn(1), conn(2)] }, key);
  const m = (f: (b: Buffer) => Buffer) => f(Buffer.from(good));
  const rows: Array<[string, Buffer, string]> = [
    ['empty', Buffer.alloc(0), 'truncated'],
    ['header only', good.subarray(0, SYNC_HEADER_LEN), 'truncated'],
    ['huge', Buffer.alloc(SYNC_MAX_LEN + 1), 'oversized'],
    ['heartbeat magic', m((b) => (b.write('DDHB', 0, 'latin1'), b)), 'bad_magic'],
    ['version 0', m((b) => ((b[4] = 0), b)), 'bad_version'],
    ['count too high', m((b) => (b.writeUInt16BE(3, 6), b)), 'bad_length'],
    ['cut one byte', good.subarray(0, good.length - 1), 'bad_length'],
    ['flipped entry bit', m((b) => ((b[SYNC_HEADER_LEN + 13] ^= 1), b)), 'bad_mac'],
    ['wrong key', encodeSyncPacket({ bootId: 1n, seq: 1n, entries: [conn(1)] }, Buffer.from('another-key-another-key-12345678')), 'bad_mac'],
    ['unauthenticated sender', encodeSyncPacket({ bootId: 1n, seq: 1n, entries: [conn(1)] }), 'unauthenticated'],
  ];
  for (const [name, buf, reason] of rows) {
    const r = decodeSyncPacket(buf, key);
    t.equal(r.ok ? 'accepted' : r.reason, reason, name);
  }
  const noKeyBad = Buffer.from(encodeSyncPacket({ bootId: 1n, seq: 1n, entries: [conn(1)] }));
  noKeyBad[SYNC_HEADER_LEN] = 99;
  const r = decodeSyncPacket(noKeyBad);
  t.equal(r.ok ? 'accepted' : r.reason, 'bad_field', 'protocol 99 without key');
});

t.test('fuzz: never throws, never accepts forged data with a key', async (t) => {
  const rnd = fuzzRandom();
  t.comment(rnd.replay); // shown also when a decode throws
  const base = encodeSyncPacket({ bootId: 1n, seq: 1n, entries: [conn(1), conn(2), conn(3)] }, key);
  let accepted = 0;
  for (let i = 0; i < 3000; i++) {
    let b = i % 2 ? rnd.bytes(Math.floor(rnd.random() * 400)) : Buffer.from(base);
    if (i % 2 === 0) b[Math.floor(rnd.random() * b.length)] ^= 1 + Math.floor(rnd.random() * 255);
    if (decodeSyncPacket(b, key).ok) accepted++;
    decodeSyncPacket(b);
  }
  t.equal(accepted, 0, rnd.replay);
});
