// The object-free sync path (sync-records.ts) against the object path on the same entries, with the native addon's
// own record layout: the same datagrams byte for byte, the same records for the data plane, the same rejections.
import t from 'tap';
import { loadNative } from '../../src/dataplane/native';
import { decodeConnRecords, encodeConnRecords } from '../../src/dataplane/native-layout';
import type { ConnEntry } from '../../src/dataplane/types';
import { decodeSyncPacket, encodeSyncBatches, encodeSyncPacket, SYNC_BULK_MAX_ENTRIES, SYNC_MAX_ENTRIES, SYNC_STATES } from '../../src/ha/sync-codec';
import { decodeSyncRecords, encodeSyncRecordBatches } from '../../src/ha/sync-records';

const layout = loadNative().layout();
const key = Buffer.from('sync-key-sync-key-sync-key-12345');

/** Every state, template or not, tcp and udp, ports 0 and 65535, expiresMs 0, ordinary, 2^32-1 and beyond (clamped). */
function entries(): ConnEntry[] {
  const out: ConnEntry[] = [];
  const expires = [0, 1, 60000, 0xffffffff, 2 ** 40];
  const ports = [0, 1, 3306, 65535];
  SYNC_STATES.forEach((state, i) => {
    for (const template of [false, true]) {
      for (const protocol of ['tcp', 'udp'] as const) {
        const p = ports[(i + out.length) % ports.length];
        out.push({
          protocol, template, state, cport: template ? 0 : p, vport: ports[(i + 1) % ports.length], dport: 65535 - p,
          caddr: template ? `10.${i}.0.0` : `255.${i}.254.${out.length % 256}`, vaddr: '10.0.0.3', daddr: `192.168.${i}.${out.length % 256}`,
          expiresMs: expires[out.length % expires.length],
        });
      }
    }
  });
  return out;
}

t.test('drain side: records encode into the same datagrams as decodeConnRecords + encodeSyncBatches', async (t) => {
  const recs = encodeConnRecords(layout, entries());
  // A fwmark template (protocol 0, the mark in vaddr) and a state index the addon does not name: as the object path.
  const fw = encodeConnRecords(layout, [{ ...entries()[3], template: true, fwmark: 7, vaddr: '0.0.0.7' } as ConnEntry]);
  const odd = encodeConnRecords(layout, [entries()[0]]);
  odd[layout.conn.state] = 200;
  const all = Buffer.concat([recs, fw, odd, recs, recs, recs]); // more than one datagram
  t.ok(all.length / layout.conn.size > SYNC_MAX_ENTRIES * 2, 'several datagrams');
  for (const k of [key, undefined]) {
    let s1 = 10n, s2 = 10n;
    const raw = encodeSyncRecordBatches(layout, all, { key: k, bootId: 77n, nextSeq: () => ++s1 });
    const objs = decodeConnRecords(layout, all);
    const obj = encodeSyncBatches(objs, { key: k, bootId: 77n, nextSeq: () => ++s2 });
    t.equal(raw.packets.length, obj.packets.length, `same datagram count (${k ? 'key' : 'no key'})`);
    t.ok(raw.packets.every((p, i) => p.equals(obj.packets[i])), 'byte for byte');
    t.same([raw.skipped, raw.sent], [obj.skipped, obj.sent]);
    t.equal(raw.sent, objs.length, 'every record can be sent');
  }
});

t.test('an addon state the wire has no name for is skipped and counted, as the object path does', async (t) => {
  const alien = { ...layout, states: [...layout.states.slice(0, -1), 'NOT_ON_THE_WIRE'] };
  const recs = encodeConnRecords(layout, entries());
  let s1 = 0n, s2 = 0n;
  const raw = encodeSyncRecordBatches(alien, recs, { key, bootId: 1n, nextSeq: () => ++s1 });
  const obj = encodeSyncBatches(decodeConnRecords(alien, recs), { key, bootId: 1n, nextSeq: () => ++s2 });
  t.ok(raw.skipped > 0);
  t.same([raw.skipped, raw.sent], [obj.skipped, obj.sent]);
  t.ok(raw.packets.every((p, i) => p.equals(obj.packets[i])));
});

t.test('apply side: datagrams decode into the same records as decodeSyncPacket + encodeConnRecords', async (t) => {
  const es = entries();
  const packets = [
    encodeSyncPacket({ bootId: 5n, seq: 1n, entries: es.slice(0, SYNC_MAX_ENTRIES) }, key),
    encodeSyncPacket({ bootId: 5n, seq: 2n, entries: es.slice(0, SYNC_BULK_MAX_ENTRIES), bulk: { kind: 'data', transferId: 9n, index: 3, total: 100 } }, key),
    encodeSyncPacket({ bootId: 5n, seq: 3n, entries: [], bulk: { kind: 'end', transferId: 9n, index: 4, total: 100 } }, key),
    encodeSyncPacket({ bootId: 5n, seq: 4n, entries: es.slice(SYNC_MAX_ENTRIES - 10) }, key),
  ];
  for (const p of packets) {
    const raw = decodeSyncRecords(layout, p, key);
    const obj = decodeSyncPacket(p, key);
    if (!raw.ok || !obj.ok) return t.fail('both decode');
    t.ok(raw.batch.records.equals(encodeConnRecords(layout, obj.batch.entries)), `records byte for byte (${obj.batch.entries.length} entries)`);
    t.same([raw.batch.bootId, raw.batch.seq, raw.batch.bulk, raw.batch.count], [obj.batch.bootId, obj.batch.seq, obj.batch.bulk, obj.batch.entries.length]);
  }
  // And back: the records decoded from the wire are the entries that were sent (expiresMs clamped to 32 bits).
  const p = decodeSyncRecords(layout, packets[0], key);
  if (!p.ok) return t.fail('decodes');
  const clamp = (e: ConnEntry) => ({ ...e, expiresMs: Math.min(0xffffffff, e.expiresMs) });
  t.same(decodeConnRecords(layout, p.batch.records), es.slice(0, SYNC_MAX_ENTRIES).map(clamp));
});

t.test('rejections: the same reason for every bad datagram', async (t) => {
  const good = encodeSyncPacket({ bootId: 1n, seq: 1n, entries: entries().slice(0, 5) }, key);
  const mut = (o: number, v: number) => {
    const b = Buffer.from(good);
    b[o] = v;
    return b;
  };
  const bad = [good.subarray(0, 40), mut(0, 0), mut(4, 9), mut(5, 0x40), mut(24, 1), mut(24 + 2, 99), mut(24 + 3, 1), mut(good.length - 1, good[good.length - 1] ^ 1)];
  for (const b of bad) {
    const raw = decodeSyncRecords(layout, b, key);
    const obj = decodeSyncPacket(b, key);
    t.notOk(raw.ok);
    t.same(raw.ok ? 'ok' : raw.reason, obj.ok ? 'ok' : obj.reason);
  }
  // An entry field check that only a decode without a key reaches.
  const nokey = encodeSyncPacket({ bootId: 1n, seq: 1n, entries: entries().slice(0, 2) });
  nokey[24 + 28 + 10] = 1;
  const r = decodeSyncRecords(layout, nokey);
  t.same(r.ok ? 'ok' : r.reason, 'bad_field');
});

t.test('the wire is unchanged: datagrams byte for byte as the encoder before this path (main at 8acf938) wrote them', async (t) => {
  // Written by that encoder for these entries (ports 0 and 65535, a udp template in ASSURED, expiresMs 2^32-1).
  const golden = {
    stream: '44445359010000020102030405060708000000000000002a06000100ffff0cea000000000a3f01010a3f00640a3f0201000dbba011010c0000000035003500000a3f01000a3f00640a3f0202ffffffffa8b2b77ce23c8594701f2546021c06b9cbd72fdbc690bc786c2d3c3c70faac14',
    bulk: '44445359010200020102030405060708000000000000002b0000000000abcdef000000020000006406000100ffff0cea000000000a3f01010a3f00640a3f0201000dbba011010c0000000035003500000a3f01000a3f00640a3f0202ffffffffe3454327159ee2d3de8c2b7039ebb5db9ad72ab27736561014db1520fe0ea419',
    empty: '44445359018000000102030405060708000000000000002c0000000000000000000000000000000000000000000000000000000000000000',
  };
  const es: ConnEntry[] = [
    { protocol: 'tcp', caddr: '10.63.1.1', cport: 65535, vaddr: '10.63.0.100', vport: 3306, daddr: '10.63.2.1', dport: 0, state: 'ESTABLISHED', expiresMs: 900000, template: false },
    { protocol: 'udp', caddr: '10.63.1.0', cport: 0, vaddr: '10.63.0.100', vport: 53, daddr: '10.63.2.2', dport: 53, state: 'ASSURED', expiresMs: 4294967295, template: true },
  ];
  const boot = 0x0102030405060708n;
  t.equal(encodeSyncPacket({ bootId: boot, seq: 42n, entries: es }, key).toString('hex'), golden.stream, 'object encoder');
  t.equal(encodeSyncPacket({ bootId: boot, seq: 43n, entries: es, bulk: { kind: 'data', transferId: 0xabcdefn, index: 2, total: 100 } }, key).toString('hex'), golden.bulk);
  t.equal(encodeSyncPacket({ bootId: boot, seq: 44n, entries: [] }).toString('hex'), golden.empty);
  const raw = encodeSyncRecordBatches(layout, encodeConnRecords(layout, es), { key, bootId: boot, nextSeq: () => 42n });
  t.same(raw.packets.map((p) => p.toString('hex')), [golden.stream], 'record encoder');
  for (const hex of [golden.stream, golden.bulk]) {
    const r = decodeSyncRecords(layout, Buffer.from(hex, 'hex'), key);
    t.ok(r.ok && r.batch.records.equals(encodeConnRecords(layout, es)), 'decoded into the records of those entries');
  }
});
