// pulse's heartbeat (Piranha, reference §2.1) and the choice of wire format per partner (pure): a 4-byte magic in the
// sender's host byte order, no identity, no protection. Spoken only to a partner that speaks it, only without a key.

export const PULSE_HEARTBEAT_LEN = 4;
/** LVS mode: the only magics pulse sends with `service = lvs`. */
export const PULSE_RUNNING = 0xbdaddbda;
export const PULSE_STOPPED = 0xadbddabd;
/** Known to pulse but not LVS heartbeats: FOS mode (service = fos) and the if(0)-disabled hold/held. */
const PULSE_OTHER: Record<number, string> = {
  0xbeefbabe: 'FOS running',
  0xdeadbeef: 'FOS stopped',
  0xdeaddada: 'FOS stop-me',
  0xdeafbabe: 'hold (disabled in pulse)',
  0xdeafdada: 'held (disabled in pulse)',
};

export type PulseByteOrder = 'le' | 'be';
export type PulseState = 'running' | 'stopped';
export type PulseRejectReason = 'truncated' | 'oversized' | 'bad_magic';
export type PulseDecodeResult = { ok: true; state: PulseState; byteOrder: PulseByteOrder } | { ok: false; reason: PulseRejectReason; detail: string };

/** Host byte order of the sender is unknown: x86 pulse sends little-endian; try that first, then big-endian. */
export function decodePulseHeartbeat(buf: Buffer): PulseDecodeResult {
  if (buf.length < PULSE_HEARTBEAT_LEN) return { ok: false, reason: 'truncated', detail: `${buf.length} bytes < ${PULSE_HEARTBEAT_LEN}` };
  if (buf.length > PULSE_HEARTBEAT_LEN) return { ok: false, reason: 'oversized', detail: `${buf.length} bytes > ${PULSE_HEARTBEAT_LEN}` };
  for (const order of ['le', 'be'] as const) {
    const m = order === 'le' ? buf.readUInt32LE(0) : buf.readUInt32BE(0);
    if (m === PULSE_RUNNING) return { ok: true, state: 'running', byteOrder: order };
    if (m === PULSE_STOPPED) return { ok: true, state: 'stopped', byteOrder: order };
  }
  const le = buf.readUInt32LE(0);
  const be = buf.readUInt32BE(0);
  const other = PULSE_OTHER[le] ?? PULSE_OTHER[be];
  return {
    ok: false,
    reason: 'bad_magic',
    detail: other ? `pulse ${other} magic: only service = lvs heartbeats are understood` : `Incompatible heartbeat received (0x${le.toString(16)})`,
  };
}

export function encodePulseHeartbeat(state: PulseState, order: PulseByteOrder = 'le'): Buffer {
  const b = Buffer.alloc(PULSE_HEARTBEAT_LEN);
  const m = state === 'running' ? PULSE_RUNNING : PULSE_STOPPED;
  if (order === 'le') b.writeUInt32LE(m, 0);
  else b.writeUInt32BE(m, 0);
  return b;
}

export type PartnerProtocolMode = 'unknown' | 'pulse' | 'directord';

/**
 * Which format the partner speaks, hence what we send. A directord node always sends its own heartbeat; while the
 * partner is a pulse partner it also sends pulse's bytes. The first directord heartbeat from the partner ends that:
 * pulse packets are then ignored (the partner sends both until it hears us) until the directord partner stopped or
 * was silent for deadtime, so a rollback to pulse is picked up again.
 */
export class PartnerProtocol {
  mode: PartnerProtocolMode = 'unknown';
  byteOrder: PulseByteOrder = 'le';
  /** How many times the partner was found speaking pulse (a pulse start, or a switch back from directord). */
  pulseSessions = 0;
  /** pulse packets ignored because the partner already speaks directord's protocol. */
  pulseIgnored = 0;
  private lastDirectordMs = Number.NEGATIVE_INFINITY;
  private lastPulseMs = Number.NEGATIVE_INFINITY;

  constructor(public deadtimeMs: number) {}

  /** An accepted directord heartbeat; a 'stopped' one means the partner left (pulse may take its place at once). */
  onDirectord(nowMs: number, stopped: boolean): void {
    this.mode = 'directord';
    this.lastDirectordMs = stopped ? Number.NEGATIVE_INFINITY : nowMs;
  }

  /** A well-formed pulse heartbeat from the partner address: count it, or ignore it while directord's partner lives. */
  onPulse(nowMs: number, order: PulseByteOrder): { accept: boolean; newSession: boolean } {
    if (nowMs - this.lastDirectordMs <= this.deadtimeMs) {
      this.pulseIgnored++;
      return { accept: false, newSession: false };
    }
    const newSession = this.mode !== 'pulse' || nowMs - this.lastPulseMs > this.deadtimeMs;
    if (newSession) this.pulseSessions++;
    this.mode = 'pulse';
    this.byteOrder = order;
    this.lastPulseMs = nowMs;
    return { accept: true, newSession };
  }

  /** Also send pulse's bytes: the last partner we heard speaks pulse (kept while it is silent, for a restarted pulse). */
  sendPulse(): boolean {
    return this.mode === 'pulse';
  }
}
