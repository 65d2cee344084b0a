// Connection-sync datagrams (pure): batches of ConnEntry, versioned and HMAC-SHA256-authenticated with the heartbeat
// key. Unlike IPVS's multicast sync (no authentication at all), a forged datagram cannot plant connections on the backup.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { ConnEntry } from '../dataplane/types';
import { parseIpv4 } from './ipv4';

export const SYNC_MAGIC = 0x44445359; // 'DDSY'
export const SYNC_VERSION = 1;
export const SYNC_HEADER_LEN = 24;
export const SYNC_ENTRY_LEN = 28;
export const SYNC_MAC_LEN = 32;
/** Keeps a datagram under a 1500-byte MTU with room for IP/UDP headers. */
export const SYNC_MAX_ENTRIES = Math.floor((1400 - SYNC_HEADER_LEN - SYNC_MAC_LEN) / SYNC_ENTRY_LEN);
export const SYNC_MAX_LEN = SYNC_HEADER_LEN + SYNC_MAX_ENTRIES * SYNC_ENTRY_LEN + SYNC_MAC_LEN;

export const SYNC_STATES = ['NONE', 'ESTABLISHED', 'SYN_SENT', 'SYN_RECV', 'FIN_WAIT', 'TIME_WAIT', 'CLOSE', 'CLOSE_WAIT', 'LAST_ACK', 'LISTEN', 'SYNACK', 'UDP', 'ASSURED'];
const FLAG_UNAUTHENTICATED = 0x80;
const ENTRY_TEMPLATE = 0x01;

export interface SyncBatch {
  bootId: bigint;
  seq: bigint;
  entries: ConnEntry[];
}

export type SyncRejectReason = 'truncated' | 'oversized' | 'bad_magic' | 'bad_version' | 'bad_length' | 'bad_mac' | 'unauthenticated' | 'bad_field' | 'replayed' | 'unproven' | 'unexpected_source';

export type SyncDecodeResult = { ok: true; batch: SyncBatch } | { ok: false; reason: SyncRejectReason; detail: string };

function validEntry(e: ConnEntry): boolean {
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
export function encodeSyncBatches(entries: ConnEntry[], opts: { key?: Buffer; bootId: bigint; nextSeq: () => bigint }): { packets: Buffer[]; skipped: number } {
  const good = entries.filter(validEntry);
  const packets: Buffer[] = [];
  for (let i = 0; i < good.length; i += SYNC_MAX_ENTRIES) {
    packets.push(encodeSyncPacket({ bootId: opts.bootId, seq: opts.nextSeq(), entries: good.slice(i, i + SYNC_MAX_ENTRIES) }, opts.key));
  }
  return { packets, skipped: entries.length - good.length };
}

export function encodeSyncPacket(batch: SyncBatch, key?: Buffer): Buffer {
  if (batch.entries.length > SYNC_MAX_ENTRIES) throw new RangeError(`at most ${SYNC_MAX_ENTRIES} entries per datagram`);
  const n = batch.entries.length;
  const buf = Buffer.alloc(SYNC_HEADER_LEN + n * SYNC_ENTRY_LEN + SYNC_MAC_LEN);
  buf.writeUInt32BE(SYNC_MAGIC, 0);
  buf[4] = SYNC_VERSION;
  buf[5] = key ? 0 : FLAG_UNAUTHENTICATED;
  buf.writeUInt16BE(n, 6);
  buf.writeBigUInt64BE(batch.bootId, 8);
  buf.writeBigUInt64BE(batch.seq, 16);
  let o = SYNC_HEADER_LEN;
  for (const e of batch.entries) {
    if (!validEntry(e)) throw new RangeError(`entry cannot be synced: ${JSON.stringify(e)}`);
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
  if (key) createHmac('sha256', key).update(buf.subarray(0, o)).digest().copy(buf, o);
  return buf;
}

export function decodeSyncPacket(buf: Buffer, key?: Buffer): SyncDecodeResult {
  const bad = (reason: SyncRejectReason, detail: string): SyncDecodeResult => ({ ok: false, reason, detail });
  if (buf.length < SYNC_HEADER_LEN + SYNC_MAC_LEN) return bad('truncated', `${buf.length} bytes`);
  if (buf.length > SYNC_MAX_LEN) return bad('oversized', `${buf.length} bytes > ${SYNC_MAX_LEN}`);
  if (buf.readUInt32BE(0) !== SYNC_MAGIC) return bad('bad_magic', `magic 0x${buf.readUInt32BE(0).toString(16)}`);
  if (buf[4] !== SYNC_VERSION) return bad('bad_version', `version ${buf[4]}`);
  const n = buf.readUInt16BE(6);
  const macAt = SYNC_HEADER_LEN + n * SYNC_ENTRY_LEN;
  if (n > SYNC_MAX_ENTRIES || buf.length !== macAt + SYNC_MAC_LEN) return bad('bad_length', `${n} entries in ${buf.length} bytes`);
  if (key) {
    const expected = createHmac('sha256', key).update(buf.subarray(0, macAt)).digest();
    if (!timingSafeEqual(expected, buf.subarray(macAt))) return bad(buf[5] & FLAG_UNAUTHENTICATED ? 'unauthenticated' : 'bad_mac', 'HMAC mismatch');
  }
  if ((buf[5] & ~FLAG_UNAUTHENTICATED) !== 0) return bad('bad_field', `flags 0x${buf[5].toString(16)}`);
  const entries: ConnEntry[] = [];
  const ip = (o: number) => `${buf[o]}.${buf[o + 1]}.${buf[o + 2]}.${buf[o + 3]}`;
  for (let i = 0, o = SYNC_HEADER_LEN; i < n; i++, o += SYNC_ENTRY_LEN) {
    const proto = buf[o];
    const state = SYNC_STATES[buf[o + 2]];
    if ((proto !== 6 && proto !== 17) || !state || (buf[o + 1] & ~ENTRY_TEMPLATE) !== 0 || buf[o + 3] !== 0 || buf.readUInt16BE(o + 10) !== 0) {
      return bad('bad_field', `entry ${i}`);
    }
    entries.push({
      protocol: proto === 6 ? 'tcp' : 'udp',
      template: (buf[o + 1] & ENTRY_TEMPLATE) !== 0,
      state,
      cport: buf.readUInt16BE(o + 4),
      vport: buf.readUInt16BE(o + 6),
      dport: buf.readUInt16BE(o + 8),
      caddr: ip(o + 12),
      vaddr: ip(o + 16),
      daddr: ip(o + 20),
      expiresMs: buf.readUInt32BE(o + 24),
    });
  }
  return { ok: true, batch: { bootId: buf.readBigUInt64BE(8), seq: buf.readBigUInt64BE(16), entries } };
}
