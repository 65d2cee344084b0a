// Connection sync without a JavaScript object per connection (pure): the data plane's records (struct dd_conn_record,
// read with the layout the addon exports) straight into sync-codec.ts's 28-byte wire entries, and back. Byte for byte
// what decodeConnRecords + encodeSyncBatches and decodeSyncPacket + encodeConnRecords produce: the wire is unchanged.
import { DirectordError } from '../errors';
import type { SyncRecordIO } from '../dataplane/types';
import { checkSyncPacket, ENTRY_TEMPLATE, sealSyncPacket, startSyncPacket, SYNC_ENTRY_LEN, SYNC_MAX_ENTRIES, SYNC_STATES, type BulkBlock, type SyncRejectReason } from './sync-codec';

type ConnRecordLayout = SyncRecordIO['layout'];

interface StateMaps {
  /** The addon's state index to the wire's; -1 for a name the wire has none for (the entry is skipped). */
  toWire: number[];
  /** The wire's state index to the addon's; -1 for a name the addon has none for. */
  fromWire: number[];
}

const maps = new WeakMap<ConnRecordLayout, StateMaps>();

/** By name, as the object path maps them (decodeConnRecords / encodeConnRecords use layout.states). */
function stateMaps(layout: ConnRecordLayout): StateMaps {
  let m = maps.get(layout);
  if (!m) {
    m = { toWire: layout.states.map((s) => SYNC_STATES.indexOf(s)), fromWire: SYNC_STATES.map((s) => layout.states.indexOf(s)) };
    maps.set(layout, m);
  }
  return m;
}

/** A record's wire state; an index the addon does not name reads as NONE (decodeConnRecords does the same). */
function wireState(m: StateMaps, st: number): number {
  return st < m.toWire.length ? m.toWire[st] : SYNC_STATES.indexOf('NONE');
}

/** An int64 (little-endian) clamped to 0..2^32-1 without a BigInt: the wire's expiresMs. */
function clampU32(b: Buffer, o: number): number {
  const hi = b.readInt32LE(o + 4);
  return hi < 0 ? 0 : hi > 0 ? 0xffffffff : b.readUInt32LE(o);
}

/** Records into datagrams of at most SYNC_MAX_ENTRIES, as encodeSyncBatches; records whose state the wire cannot
 * carry are counted in skipped, not sent. */
export function encodeSyncRecordBatches(layout: ConnRecordLayout, records: Buffer, opts: { key?: Buffer; bootId: bigint; nextSeq: () => bigint }): { packets: Buffer[]; skipped: number; sent: number } {
  const L = layout.conn;
  const m = stateMaps(layout);
  const count = Math.floor(records.length / L.size);
  const good: number[] = [];
  for (let i = 0, o = 0; i < count; i++, o += L.size) if (wireState(m, records[o + L.state]) >= 0) good.push(o);
  const packets: Buffer[] = [];
  for (let i = 0; i < good.length; i += SYNC_MAX_ENTRIES) {
    const n = Math.min(SYNC_MAX_ENTRIES, good.length - i);
    const { buf, head } = startSyncPacket(n, opts.bootId, opts.nextSeq(), opts.key);
    for (let k = 0, w = head; k < n; k++, w += SYNC_ENTRY_LEN) {
      const o = good[i + k];
      buf[w] = records[o + L.protocol] === 17 ? 17 : 6; // a fwmark template (0) goes as tcp, as decodeConnRecords has it
      buf[w + 1] = records[o + L.template_] === 1 ? ENTRY_TEMPLATE : 0;
      buf[w + 2] = wireState(m, records[o + L.state]);
      buf.writeUInt16BE(records.readUInt16LE(o + L.cport), w + 4);
      buf.writeUInt16BE(records.readUInt16LE(o + L.vport), w + 6);
      buf.writeUInt16BE(records.readUInt16LE(o + L.dport), w + 8);
      buf.writeUInt32BE(records.readUInt32LE(o + L.caddr), w + 12);
      buf.writeUInt32BE(records.readUInt32LE(o + L.vaddr), w + 16);
      buf.writeUInt32BE(records.readUInt32LE(o + L.daddr), w + 20);
      buf.writeUInt32BE(clampU32(records, o + L.expires_ms), w + 24);
    }
    sealSyncPacket(buf, opts.key);
    packets.push(buf);
  }
  return { packets, skipped: count - good.length, sent: good.length };
}

export interface SyncRecordBatch {
  bootId: bigint;
  seq: bigint;
  bulk?: BulkBlock;
  /** Entries in the datagram (= records). */
  count: number;
  records: Buffer;
}

export type SyncRecordDecodeResult = { ok: true; batch: SyncRecordBatch } | { ok: false; reason: SyncRejectReason; detail: string };

/** A datagram checked as decodeSyncPacket checks it, its entries written as records for SyncRecordIO.applySyncRecords. */
export function decodeSyncRecords(layout: ConnRecordLayout, buf: Buffer, key?: Buffer): SyncRecordDecodeResult {
  const c = checkSyncPacket(buf, key);
  if (!c.ok) return c;
  const L = layout.conn;
  const m = stateMaps(layout);
  const { head, n } = c.packet;
  const records = Buffer.alloc(L.size * n);
  for (let i = 0, w = head, o = 0; i < n; i++, w += SYNC_ENTRY_LEN, o += L.size) {
    const st = m.fromWire[buf[w + 2]];
    if (st < 0) throw new DirectordError('E_DATAPLANE_SYNC', `unknown connection state ${SYNC_STATES[buf[w + 2]]}`);
    records.writeUInt32LE(buf.readUInt32BE(w + 24), o + L.expires_ms); // the high half stays 0: a u32 is >= 0
    records.writeUInt32LE(buf.readUInt32BE(w + 12), o + L.caddr);
    records.writeUInt32LE(buf.readUInt32BE(w + 16), o + L.vaddr);
    records.writeUInt32LE(buf.readUInt32BE(w + 20), o + L.daddr);
    records.writeUInt16LE(buf.readUInt16BE(w + 4), o + L.cport);
    records.writeUInt16LE(buf.readUInt16BE(w + 6), o + L.vport);
    records.writeUInt16LE(buf.readUInt16BE(w + 8), o + L.dport);
    records[o + L.protocol] = buf[w];
    records[o + L.state] = st;
    records[o + L.template_] = buf[w + 1] & ENTRY_TEMPLATE ? 1 : 0;
  }
  const batch: SyncRecordBatch = { bootId: c.packet.bootId, seq: c.packet.seq, count: n, records };
  if (c.packet.bulk) batch.bulk = c.packet.bulk;
  return { ok: true, batch };
}
