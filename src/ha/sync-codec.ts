// Connection-sync datagrams (pure): batches of ConnEntry, versioned and HMAC-SHA256-authenticated with the heartbeat
// key, plus the bulk-transfer messages (request, data, end) a (re)joining node uses to fetch the whole table.
// Unlike IPVS's multicast sync (no authentication at all), a forged datagram cannot plant connections on the backup.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { ConnEntry } from '../table/types';
import { parseIpv4 } from './ipv4';

export const SYNC_MAGIC = 0x44445359; // 'DDSY'
export const SYNC_VERSION = 1;
export const SYNC_HEADER_LEN = 24;
export const SYNC_ENTRY_LEN = 28;
export const SYNC_MAC_LEN = 32;
/** Keeps a datagram under a 1500-byte MTU with room for IP/UDP headers. */
export const SYNC_MAX_ENTRIES = Math.floor((1400 - SYNC_HEADER_LEN - SYNC_MAC_LEN) / SYNC_ENTRY_LEN);
export const SYNC_MAX_LEN = SYNC_HEADER_LEN + SYNC_MAX_ENTRIES * SYNC_ENTRY_LEN + SYNC_MAC_LEN;
/** Bulk messages carry a transfer block after the header: transfer id (8), index (4), total entries (4). */
export const SYNC_BULK_LEN = 16;
export const SYNC_BULK_MAX_ENTRIES = Math.floor((1400 - SYNC_HEADER_LEN - SYNC_BULK_LEN - SYNC_MAC_LEN) / SYNC_ENTRY_LEN);

export const SYNC_STATES = ['NONE', 'ESTABLISHED', 'SYN_SENT', 'SYN_RECV', 'FIN_WAIT', 'TIME_WAIT', 'CLOSE', 'CLOSE_WAIT', 'LAST_ACK', 'LISTEN', 'SYNACK', 'UDP', 'ASSURED'];
const FLAG_UNAUTHENTICATED = 0x80;
/** Entry flag byte (offset 1). */
export const ENTRY_TEMPLATE = 0x01;
/** Flag bits of the bulk messages (at most one set). An older peer rejects them as bad_field, and the requester
 * then gives up after its bounded retries: a mixed-version pair still works, with a loud log. */
const BULK_FLAGS = { request: 0x01, data: 0x02, end: 0x04 } as const;
export type BulkKind = keyof typeof BULK_FLAGS;

/**
 * request: index and total 0, no entries. data: index = batch number from 0, total = entries in the snapshot.
 * end: index = number of data batches sent, total = entries in the snapshot, no entries.
 */
export interface BulkBlock {
  kind: BulkKind;
  transferId: bigint;
  index: number;
  total: number;
}

export interface SyncBatch {
  bootId: bigint;
  seq: bigint;
  entries: ConnEntry[];
  /** Absent for the incremental stream. */
  bulk?: BulkBlock;
}

export type SyncRejectReason = 'truncated' | 'oversized' | 'bad_magic' | 'bad_version' | 'bad_length' | 'bad_mac' | 'unauthenticated' | 'bad_field' | 'replayed' | 'unproven' | 'unexpected_source';

export type SyncDecodeResult = { ok: true; batch: SyncBatch } | { ok: false; reason: SyncRejectReason; detail: string };

/** Whether an entry can be expressed in a datagram (IPv4, a known state). */
export function syncable(e: ConnEntry): boolean {
  try {
    parseIpv4(e.caddr);
    parseIpv4(e.vaddr);
    parseIpv4(e.daddr);
  } catch {
    return false;
  }
  return (e.protocol === 'tcp' || e.protocol === 'udp') && SYNC_STATES.includes(e.state) && [e.cport, e.vport, e.dport].every((p) => Number.isInteger(p) && p >= 0 && p <= 65535);
}

/** Split entries into datagrams of at most SYNC_MAX_ENTRIES; entries that cannot be expressed (IPv6, odd state) are counted, not sent. */
export function encodeSyncBatches(entries: ConnEntry[], opts: { key?: Buffer; bootId: bigint; nextSeq: () => bigint }): { packets: Buffer[]; skipped: number; sent: number } {
  const good = entries.filter(syncable);
  const packets: Buffer[] = [];
  for (let i = 0; i < good.length; i += SYNC_MAX_ENTRIES) {
    packets.push(encodeSyncPacket({ bootId: opts.bootId, seq: opts.nextSeq(), entries: good.slice(i, i + SYNC_MAX_ENTRIES) }, opts.key));
  }
  return { packets, skipped: entries.length - good.length, sent: good.length };
}

export function encodeSyncPacket(batch: SyncBatch, key?: Buffer): Buffer {
  const b = batch.bulk;
  const max = b ? (b.kind === 'data' ? SYNC_BULK_MAX_ENTRIES : 0) : SYNC_MAX_ENTRIES;
  if (batch.entries.length > max) throw new RangeError(`at most ${max} entries in this datagram`);
  const { buf, head } = startSyncPacket(batch.entries.length, batch.bootId, batch.seq, key, b);
  let o = head;
  for (const e of batch.entries) {
    if (!syncable(e)) throw new RangeError(`entry cannot be synced: ${JSON.stringify(e)}`);
    buf[o] = e.protocol === 'tcp' ? 6 : 17;
    buf[o + 1] = e.template ? ENTRY_TEMPLATE : 0;
    buf[o + 2] = SYNC_STATES.indexOf(e.state);
    buf.writeUInt16BE(e.cport, o + 4);
    buf.writeUInt16BE(e.vport, o + 6);
    buf.writeUInt16BE(e.dport, o + 8);
    parseIpv4(e.caddr).copy(buf, o + 12);
    parseIpv4(e.vaddr).copy(buf, o + 16);
    parseIpv4(e.daddr).copy(buf, o + 20);
    buf.writeUInt32BE(Math.min(0xffffffff, Math.max(0, Math.round(e.expiresMs))), o + 24);
    o += SYNC_ENTRY_LEN;
  }
  sealSyncPacket(buf, key);
  return buf;
}

/** A datagram of n entries with its header (and bulk block) written; the entries go from `head` on (sync-records.ts
 * writes them from the data plane's records). */
export function startSyncPacket(n: number, bootId: bigint, seq: bigint, key?: Buffer, b?: BulkBlock): { buf: Buffer; head: number } {
  const head = SYNC_HEADER_LEN + (b ? SYNC_BULK_LEN : 0);
  const buf = Buffer.alloc(head + n * SYNC_ENTRY_LEN + SYNC_MAC_LEN);
  buf.writeUInt32BE(SYNC_MAGIC, 0);
  buf[4] = SYNC_VERSION;
  buf[5] = (key ? 0 : FLAG_UNAUTHENTICATED) | (b ? BULK_FLAGS[b.kind] : 0);
  buf.writeUInt16BE(n, 6);
  buf.writeBigUInt64BE(bootId, 8);
  buf.writeBigUInt64BE(seq, 16);
  if (b) {
    buf.writeBigUInt64BE(b.transferId, SYNC_HEADER_LEN);
    buf.writeUInt32BE(b.index, SYNC_HEADER_LEN + 8);
    buf.writeUInt32BE(b.total, SYNC_HEADER_LEN + 12);
  }
  return { buf, head };
}

/** The HMAC over everything before it, in the datagram's last SYNC_MAC_LEN bytes (none without a key). */
export function sealSyncPacket(buf: Buffer, key?: Buffer): void {
  const at = buf.length - SYNC_MAC_LEN;
  if (key) createHmac('sha256', key).update(buf.subarray(0, at)).digest().copy(buf, at);
}

/** A datagram that passed every check; its n entries (each checked) start at `head`. */
export interface CheckedSyncPacket {
  bootId: bigint;
  seq: bigint;
  bulk?: BulkBlock;
  head: number;
  n: number;
}

/** Every check of a datagram (length, magic, version, flags, MAC, each entry's fields), nothing decoded. */
export function checkSyncPacket(buf: Buffer, key?: Buffer): { ok: true; packet: CheckedSyncPacket } | { ok: false; reason: SyncRejectReason; detail: string } {
  const bad = (reason: SyncRejectReason, detail: string) => ({ ok: false as const, reason, detail });
  if (buf.length < SYNC_HEADER_LEN + SYNC_MAC_LEN) return bad('truncated', `${buf.length} bytes`);
  if (buf.length > SYNC_MAX_LEN) return bad('oversized', `${buf.length} bytes > ${SYNC_MAX_LEN}`);
  if (buf.readUInt32BE(0) !== SYNC_MAGIC) return bad('bad_magic', `magic 0x${buf.readUInt32BE(0).toString(16)}`);
  if (buf[4] !== SYNC_VERSION) return bad('bad_version', `version ${buf[4]}`);
  const n = buf.readUInt16BE(6);
  const bulkBits = buf[5] & ~FLAG_UNAUTHENTICATED;
  const kind = (Object.keys(BULK_FLAGS) as BulkKind[]).find((k) => BULK_FLAGS[k] === bulkBits);
  const head = SYNC_HEADER_LEN + (kind ? SYNC_BULK_LEN : 0);
  const max = kind ? (kind === 'data' ? SYNC_BULK_MAX_ENTRIES : 0) : SYNC_MAX_ENTRIES;
  const macAt = head + n * SYNC_ENTRY_LEN;
  // An unknown flag combination has no defined layout, so it cannot reach the MAC check.
  if ((bulkBits === 0 || kind) && (n > max || buf.length !== macAt + SYNC_MAC_LEN)) return bad('bad_length', `${n} entries in ${buf.length} bytes`);
  if (bulkBits !== 0 && !kind) return bad('bad_field', `flags 0x${buf[5].toString(16)}`);
  if (key) {
    const expected = createHmac('sha256', key).update(buf.subarray(0, macAt)).digest();
    if (!timingSafeEqual(expected, buf.subarray(macAt))) return bad(buf[5] & FLAG_UNAUTHENTICATED ? 'unauthenticated' : 'bad_mac', 'HMAC mismatch');
  }
  const bulk: BulkBlock | undefined = kind
    ? { kind, transferId: buf.readBigUInt64BE(SYNC_HEADER_LEN), index: buf.readUInt32BE(SYNC_HEADER_LEN + 8), total: buf.readUInt32BE(SYNC_HEADER_LEN + 12) }
    : undefined;
  if (bulk && bulk.kind === 'request' && (bulk.index !== 0 || bulk.total !== 0)) return bad('bad_field', 'bulk request with index/total');
  for (let i = 0, o = head; i < n; i++, o += SYNC_ENTRY_LEN) {
    const proto = buf[o];
    if ((proto !== 6 && proto !== 17) || buf[o + 2] >= SYNC_STATES.length || (buf[o + 1] & ~ENTRY_TEMPLATE) !== 0 || buf[o + 3] !== 0 || buf.readUInt16BE(o + 10) !== 0) {
      return bad('bad_field', `entry ${i}`);
    }
  }
  const packet: CheckedSyncPacket = { bootId: buf.readBigUInt64BE(8), seq: buf.readBigUInt64BE(16), head, n };
  if (bulk) packet.bulk = bulk;
  return { ok: true, packet };
}

export function decodeSyncPacket(buf: Buffer, key?: Buffer): SyncDecodeResult {
  const c = checkSyncPacket(buf, key);
  if (!c.ok) return c;
  const { head, n } = c.packet;
  const entries: ConnEntry[] = [];
  const ip = (o: number) => `${buf[o]}.${buf[o + 1]}.${buf[o + 2]}.${buf[o + 3]}`;
  for (let i = 0, o = head; i < n; i++, o += SYNC_ENTRY_LEN) {
    entries.push({
      protocol: buf[o] === 6 ? 'tcp' : 'udp',
      template: (buf[o + 1] & ENTRY_TEMPLATE) !== 0,
      state: SYNC_STATES[buf[o + 2]],
      cport: buf.readUInt16BE(o + 4),
      vport: buf.readUInt16BE(o + 6),
      dport: buf.readUInt16BE(o + 8),
      caddr: ip(o + 12),
      vaddr: ip(o + 16),
      daddr: ip(o + 20),
      expiresMs: buf.readUInt32BE(o + 24),
    });
  }
  const batch: SyncBatch = { bootId: c.packet.bootId, seq: c.packet.seq, entries };
  if (c.packet.bulk) batch.bulk = c.packet.bulk;
  return { ok: true, batch };
}
