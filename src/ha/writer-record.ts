// Writer mode's decision on the sync channel (pure): the active director's writer per virtual, with its reason, so a
// standby that takes over keeps the same writer. Same header, sequence and HMAC as the connection datagrams; its own
// flag bit, which a peer without writer sync rejects as bad_field (counted) and nothing else changes.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { SYNC_HEADER_LEN, SYNC_MAC_LEN, SYNC_MAGIC, SYNC_MAX_LEN, SYNC_VERSION, type SyncRejectReason } from './sync-codec';

/** Flag bit of a writer record (the bulk kinds use 0x01..0x04, 0x80 is "unauthenticated"). */
export const WRITER_RECORD_FLAG = 0x08;
/** The body's own version: a newer one is rejected as bad_version (the standby then decides on its own). */
export const WRITER_RECORD_VERSION = 1;
const UNAUTHENTICATED = 0x80;
const NONE = 0xffffffff;
const MAX_REASON = 300;
/** Ages are sent, not times: the two directors' clocks need not agree. */
const MAX_AGE = NONE - 1;

export interface WriterDecisionRecord {
  /** The virtual's service key (tcp:VIP:PORT or fwm:N): the same on both directors, which share lvs.cf. */
  service: string;
  /** ADDRESS:PORT of the writer, null while there is none. */
  writer: string | null;
  /** Milliseconds since the writer was chosen, when one is (as of sending). */
  sinceAgeMs: number | null;
  /** Milliseconds since the last switch (the hold-down runs from it), null when there was none. */
  lastSwitchAgeMs: number | null;
  switches: number;
  reason: string;
}

export interface WriterRecord {
  /** The deciding director's node id (its address). */
  by: string;
  decisions: WriterDecisionRecord[];
}

export type WriterRecordDecode =
  | { ok: true; record: WriterRecord; bootId: bigint; seq: bigint }
  | { ok: false; reason: SyncRejectReason; detail: string };

/** Whether a sync datagram is a writer record (decided on the flag byte only; decoding judges the rest). */
export function isWriterRecord(buf: Buffer): boolean {
  return buf.length > 5 && buf.readUInt32BE(0) === SYNC_MAGIC && (buf[5] & ~UNAUTHENTICATED) === WRITER_RECORD_FLAG;
}

const SERVICE_RE = /^(?:(?:tcp|udp):\d{1,3}(?:\.\d{1,3}){3}:\d{1,5}|fwm:\d{1,10})$/;
const WRITER_RE = /^\d{1,3}(?:\.\d{1,3}){3}:\d{1,5}$/;

function str(s: string, max: number): Buffer {
  let b = Buffer.from(s, 'utf8');
  if (b.length > max) b = Buffer.from(b.subarray(0, max).toString('utf8').replace(/\uFFFD$/, ''), 'utf8');
  return b;
}

const age = (ms: number | null): number => (ms === null ? NONE : Math.min(MAX_AGE, Math.max(0, Math.round(ms))));

function decisionBytes(d: WriterDecisionRecord): Buffer {
  if (!SERVICE_RE.test(d.service)) throw new RangeError(`writer record: bad service key ${d.service}`);
  if (d.writer !== null && !WRITER_RE.test(d.writer)) throw new RangeError(`writer record: bad writer ${d.writer}`);
  const service = Buffer.from(d.service, 'ascii');
  const writer = Buffer.from(d.writer ?? '', 'ascii');
  const reason = str(d.reason, MAX_REASON);
  const b = Buffer.alloc(1 + service.length + 1 + writer.length + 12 + 2 + reason.length);
  let o = 0;
  b[o++] = service.length;
  o += service.copy(b, o);
  b[o++] = writer.length;
  o += writer.copy(b, o);
  b.writeUInt32BE(age(d.sinceAgeMs), o);
  b.writeUInt32BE(age(d.lastSwitchAgeMs), o + 4);
  b.writeUInt32BE(Math.min(NONE, Math.max(0, d.switches)), o + 8);
  b.writeUInt16BE(reason.length, o + 12);
  reason.copy(b, o + 14);
  return b;
}

/** One datagram per group of decisions that fits under SYNC_MAX_LEN (one virtual's decision is at most ~330 bytes). */
export function encodeWriterRecords(rec: WriterRecord, opts: { key?: Buffer; bootId: bigint; nextSeq: () => bigint }): Buffer[] {
  const by = str(rec.by, 64);
  const fixed = SYNC_HEADER_LEN + 3 + by.length + SYNC_MAC_LEN;
  const groups: Buffer[][] = [[]];
  let size = fixed;
  for (const d of rec.decisions) {
    const b = decisionBytes(d);
    if (size + b.length > SYNC_MAX_LEN || groups[groups.length - 1].length === 255) {
      groups.push([]);
      size = fixed;
    }
    groups[groups.length - 1].push(b);
    size += b.length;
  }
  return groups.map((g) => {
    const body = Buffer.concat([Buffer.from([WRITER_RECORD_VERSION, by.length]), by, Buffer.from([g.length]), ...g]);
    const buf = Buffer.alloc(SYNC_HEADER_LEN + body.length + SYNC_MAC_LEN);
    buf.writeUInt32BE(SYNC_MAGIC, 0);
    buf[4] = SYNC_VERSION;
    buf[5] = WRITER_RECORD_FLAG | (opts.key ? 0 : UNAUTHENTICATED);
    buf.writeUInt16BE(body.length, 6); // the body length, where connection datagrams count entries
    buf.writeBigUInt64BE(opts.bootId, 8);
    buf.writeBigUInt64BE(opts.nextSeq(), 16);
    body.copy(buf, SYNC_HEADER_LEN);
    const macAt = SYNC_HEADER_LEN + body.length;
    if (opts.key) createHmac('sha256', opts.key).update(buf.subarray(0, macAt)).digest().copy(buf, macAt);
    return buf;
  });
}

export function decodeWriterRecord(buf: Buffer, key?: Buffer): WriterRecordDecode {
  const bad = (reason: SyncRejectReason, detail: string): WriterRecordDecode => ({ ok: false, reason, detail });
  if (buf.length < SYNC_HEADER_LEN + SYNC_MAC_LEN) return bad('truncated', `${buf.length} bytes`);
  if (buf.length > SYNC_MAX_LEN) return bad('oversized', `${buf.length} bytes > ${SYNC_MAX_LEN}`);
  if (buf.readUInt32BE(0) !== SYNC_MAGIC) return bad('bad_magic', `magic 0x${buf.readUInt32BE(0).toString(16)}`);
  if (buf[4] !== SYNC_VERSION) return bad('bad_version', `version ${buf[4]}`);
  if ((buf[5] & ~UNAUTHENTICATED) !== WRITER_RECORD_FLAG) return bad('bad_field', `flags 0x${buf[5].toString(16)}`);
  const macAt = SYNC_HEADER_LEN + buf.readUInt16BE(6);
  if (buf.length !== macAt + SYNC_MAC_LEN) return bad('bad_length', `writer record of ${buf.readUInt16BE(6)} bytes in ${buf.length}`);
  if (key) {
    const expected = createHmac('sha256', key).update(buf.subarray(0, macAt)).digest();
    if (!timingSafeEqual(expected, buf.subarray(macAt))) return bad(buf[5] & UNAUTHENTICATED ? 'unauthenticated' : 'bad_mac', 'HMAC mismatch');
  }
  // Authenticated from here: a malformed body is a peer bug (or another version), never trusted in part.
  const body = buf.subarray(SYNC_HEADER_LEN, macAt);
  let o = 0;
  const need = (n: number): boolean => o + n <= body.length;
  if (!need(2)) return bad('bad_length', 'writer record body');
  if (body[0] !== WRITER_RECORD_VERSION) return bad('bad_version', `writer record version ${body[0]}`);
  const byLen = body[1];
  o = 2;
  if (!need(byLen + 1)) return bad('bad_length', 'writer record: node id');
  const by = body.subarray(o, o + byLen).toString('utf8');
  o += byLen;
  const count = body[o++];
  const decisions: WriterDecisionRecord[] = [];
  for (let i = 0; i < count; i++) {
    if (!need(1)) return bad('bad_length', `decision ${i}`);
    const sl = body[o++];
    if (!need(sl + 1)) return bad('bad_length', `decision ${i}: service`);
    const service = body.subarray(o, o + sl).toString('latin1');
    o += sl;
    const wl = body[o++];
    if (!need(wl + 14)) return bad('bad_length', `decision ${i}: writer`);
    const writer = wl ? body.subarray(o, o + wl).toString('latin1') : null;
    o += wl;
    const since = body.readUInt32BE(o), last = body.readUInt32BE(o + 4), switches = body.readUInt32BE(o + 8), rl = body.readUInt16BE(o + 12);
    o += 14;
    if (!need(rl) || rl > MAX_REASON) return bad('bad_length', `decision ${i}: reason`);
    // Shown in logs and status only; control characters have no business there.
    const reason = body.subarray(o, o + rl).toString('utf8').replace(/[\u0000-\u001f\u007f]/g, ' ');
    o += rl;
    if (!SERVICE_RE.test(service) || (writer !== null && !WRITER_RE.test(writer))) return bad('bad_field', `decision ${i}: ${JSON.stringify(service)} ${JSON.stringify(writer)}`);
    if (writer === null && since !== NONE) return bad('bad_field', `decision ${i}: no writer but a since`);
    decisions.push({ service, writer, sinceAgeMs: since === NONE ? null : since, lastSwitchAgeMs: last === NONE ? null : last, switches, reason });
  }
  if (o !== body.length) return bad('bad_length', `${body.length - o} bytes after the last decision`);
  return { ok: true, record: { by, decisions }, bootId: buf.readBigUInt64BE(8), seq: buf.readBigUInt64BE(16) };
}
