// directord's heartbeat packet (pure): pulse's 4-byte magic carries no identity and no protection, ours carries
// node id, role, state, term, boot id + sequence + the peer's boot id echoed (anti-replay) and an HMAC-SHA256.
import { createHmac, timingSafeEqual } from 'node:crypto';

export const HEARTBEAT_MAGIC = 0x44444842; // 'DDHB'
/** 2: adds the echoed peer boot id (version 1 had none and cannot prove freshness after a restart). */
export const HEARTBEAT_VERSION = 2;
export const HEARTBEAT_MAC_LEN = 32;
export const HEARTBEAT_HEADER_LEN = 48;
export const HEARTBEAT_MAX_NODE_ID = 64;
export const HEARTBEAT_MIN_LEN = HEARTBEAT_HEADER_LEN + HEARTBEAT_MAC_LEN;
export const HEARTBEAT_MAX_LEN = HEARTBEAT_MIN_LEN + HEARTBEAT_MAX_NODE_ID;

export type HaRole = 'primary' | 'backup';
export type HaPeerState = 'standby' | 'active' | 'stopped' | 'fault';

const ROLES: HaRole[] = ['primary', 'backup'];
const STATES: HaPeerState[] = ['standby', 'active', 'stopped', 'fault'];

export interface HeartbeatFlags {
  linkfail: boolean;
  childfail: boolean;
  /** The sender handed the service over (manual release): the peer should take it. */
  yielding: boolean;
  /** The sender was activated by an operator (takeover): it wins a split brain even as backup. */
  manual: boolean;
}

const FLAG_BITS: Array<[keyof HeartbeatFlags, number]> = [
  ['linkfail', 0x01],
  ['childfail', 0x02],
  ['yielding', 0x04],
  ['manual', 0x08],
];
const FLAG_UNAUTHENTICATED = 0x80;
const KNOWN_FLAGS = FLAG_BITS.reduce((m, [, b]) => m | b, FLAG_UNAUTHENTICATED);

export interface Heartbeat {
  nodeId: string;
  role: HaRole;
  state: HaPeerState;
  flags: HeartbeatFlags;
  priority: number;      // 0..255, informational (the role decides, as in pulse)
  term: number;          // u32 epoch: bumped on every activation, tie-break for a split brain between equal roles
  bootId: bigint;        // random per process start: a restarted peer restarts its sequence
  seq: bigint;           // strictly increasing within one boot
  timestampMs: number;   // sender's wall clock: orders the sender's boots (the guard), never compared with ours
  echoBootId: bigint;    // the receiver's boot id as the sender last heard it (0 = none): the freshness proof
}

/** Why a datagram was not accepted as a heartbeat; every reason is counted and logged, none changes a role. */
export type HeartbeatRejectReason =
  | 'truncated'
  | 'oversized'
  | 'bad_magic'
  | 'bad_version'
  | 'bad_field'
  | 'bad_mac'
  | 'unauthenticated'
  | 'replayed'
  /** An unauthenticated packet tried to replace the peer's live boot id. */
  | 'boot_in_use'
  | 'unexpected_source'
  | 'own_node_id'
  /** A pulse heartbeat (4 bytes) while heartbeat_key_file is set. */
  | 'pulse_refused';

export type DecodeResult = { ok: true; heartbeat: Heartbeat; authenticated: boolean } | { ok: false; reason: HeartbeatRejectReason; detail: string };

export function noFlags(): HeartbeatFlags {
  return { linkfail: false, childfail: false, yielding: false, manual: false };
}

/** Serialise; with a key the trailing 32 bytes are HMAC-SHA256(key, everything before), without they are zero. */
export function encodeHeartbeat(hb: Heartbeat, key?: Buffer): Buffer {
  const id = Buffer.from(hb.nodeId, 'utf8');
  if (id.length === 0 || id.length > HEARTBEAT_MAX_NODE_ID) throw new RangeError(`node id must be 1..${HEARTBEAT_MAX_NODE_ID} bytes`);
  const buf = Buffer.alloc(HEARTBEAT_MIN_LEN + id.length);
  buf.writeUInt32BE(HEARTBEAT_MAGIC, 0);
  buf.writeUInt8(HEARTBEAT_VERSION, 4);
  buf.writeUInt8(ROLES.indexOf(hb.role), 5);
  buf.writeUInt8(STATES.indexOf(hb.state), 6);
  let flags = key ? 0 : FLAG_UNAUTHENTICATED;
  for (const [name, bit] of FLAG_BITS) if (hb.flags[name]) flags |= bit;
  buf.writeUInt8(flags, 7);
  buf.writeUInt8(hb.priority & 0xff, 8);
  buf.writeUInt8(id.length, 9);
  buf.writeUInt16BE(0, 10);
  buf.writeUInt32BE(hb.term >>> 0, 12);
  buf.writeBigUInt64BE(hb.bootId, 16);
  buf.writeBigUInt64BE(hb.seq, 24);
  buf.writeBigUInt64BE(BigInt(Math.max(0, Math.floor(hb.timestampMs))), 32);
  buf.writeBigUInt64BE(hb.echoBootId, 40);
  id.copy(buf, HEARTBEAT_HEADER_LEN);
  const macAt = HEARTBEAT_HEADER_LEN + id.length;
  if (key) createHmac('sha256', key).update(buf.subarray(0, macAt)).digest().copy(buf, macAt);
  return buf;
}

/**
 * Parse and authenticate one datagram. With a key, only packets with a valid MAC pass; without a key
 * (unauthenticated mode) the MAC is not checked. Replay is judged separately (heartbeat-guard.ts): it needs memory.
 */
export function decodeHeartbeat(buf: Buffer, key?: Buffer): DecodeResult {
  if (buf.length < HEARTBEAT_MIN_LEN) return reject('truncated', `${buf.length} bytes < ${HEARTBEAT_MIN_LEN}`);
  if (buf.length > HEARTBEAT_MAX_LEN) return reject('oversized', `${buf.length} bytes > ${HEARTBEAT_MAX_LEN}`);
  if (buf.readUInt32BE(0) !== HEARTBEAT_MAGIC) return reject('bad_magic', `magic 0x${buf.readUInt32BE(0).toString(16)}`);
  const version = buf.readUInt8(4);
  if (version !== HEARTBEAT_VERSION) return reject('bad_version', `version ${version}, expected ${HEARTBEAT_VERSION}`);
  const idLen = buf.readUInt8(9);
  if (idLen === 0 || idLen > HEARTBEAT_MAX_NODE_ID) return reject('bad_field', `node id length ${idLen}`);
  if (buf.length < HEARTBEAT_MIN_LEN + idLen) return reject('truncated', `${buf.length} bytes < ${HEARTBEAT_MIN_LEN + idLen}`);
  if (buf.length > HEARTBEAT_MIN_LEN + idLen) return reject('oversized', `${buf.length - HEARTBEAT_MIN_LEN - idLen} trailing bytes`);
  const macAt = HEARTBEAT_HEADER_LEN + idLen;
  const flagByte = buf.readUInt8(7);
  const unauthenticated = (flagByte & FLAG_UNAUTHENTICATED) !== 0;
  if (key) {
    // Check the MAC before looking at any other field, so a forger learns nothing from the reason.
    const expected = createHmac('sha256', key).update(buf.subarray(0, macAt)).digest();
    if (!timingSafeEqual(expected, buf.subarray(macAt, macAt + HEARTBEAT_MAC_LEN))) {
      return reject(unauthenticated ? 'unauthenticated' : 'bad_mac', unauthenticated ? 'peer runs without a heartbeat key' : 'HMAC mismatch');
    }
  }
  const role = ROLES[buf.readUInt8(5)];
  const state = STATES[buf.readUInt8(6)];
  if (!role) return reject('bad_field', `role ${buf.readUInt8(5)}`);
  if (!state) return reject('bad_field', `state ${buf.readUInt8(6)}`);
  if ((flagByte & ~KNOWN_FLAGS) !== 0) return reject('bad_field', `unknown flags 0x${flagByte.toString(16)}`);
  if (buf.readUInt16BE(10) !== 0) return reject('bad_field', 'reserved bytes not zero');
  const nodeIdBytes = buf.subarray(HEARTBEAT_HEADER_LEN, macAt);
  const nodeId = nodeIdBytes.toString('utf8');
  if (!Buffer.from(nodeId, 'utf8').equals(nodeIdBytes)) return reject('bad_field', 'node id is not UTF-8');
  const flags = noFlags();
  for (const [name, bit] of FLAG_BITS) flags[name] = (flagByte & bit) !== 0;
  const ts = buf.readBigUInt64BE(32);
  return {
    ok: true,
    authenticated: !!key,
    heartbeat: {
      nodeId,
      role,
      state,
      flags,
      priority: buf.readUInt8(8),
      term: buf.readUInt32BE(12),
      bootId: buf.readBigUInt64BE(16),
      seq: buf.readBigUInt64BE(24),
      timestampMs: ts > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(ts),
      echoBootId: buf.readBigUInt64BE(40),
    },
  };
}

function reject(reason: HeartbeatRejectReason, detail: string): DecodeResult {
  return { ok: false, reason, detail };
}

// The replay guards live in heartbeat-guard.ts; sync-io imports ReplayGuard from here.
export { ReplayGuard } from './heartbeat-guard';
