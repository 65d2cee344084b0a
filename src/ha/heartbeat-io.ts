// Heartbeat transport: one UDP socket per path (public, and private when configured), bound to our own address on
// heartbeat_port as pulse does, unicast to the peer. Every datagram passes source → format (directord's or pulse's
// 4 bytes) → decode/MAC → replay checks; pulse's bytes are also sent while the partner speaks pulse.
import { createSocket, type Socket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { DirectordError } from '../errors';
import type { Logger } from '../log';
import { performance } from 'node:perf_hooks';
import { decodeHeartbeat, encodeHeartbeat, noFlags, ReplayGuard, type Heartbeat, type HeartbeatRejectReason } from './heartbeat-codec';
import { decodePulseHeartbeat, encodePulseHeartbeat, PartnerProtocol, PULSE_HEARTBEAT_LEN } from './pulse-codec';
import type { PeerHeartbeat } from './state-machine';

export interface HeartbeatMeta {
  from: string;
  /** The peer's boot id changed (a restarted directord). */
  restarted: boolean;
  protocol: 'directord' | 'pulse';
  /** First pulse heartbeat of a pulse partner's run: say loudly that it is unauthenticated. */
  newPulseSession: boolean;
}
export interface HeartbeatPath {
  local: string;
  peer: string;
}

export function newBootId(): bigint {
  return randomBytes(8).readBigUInt64BE(0);
}

/** Bind a UDP socket to address:port; errors become DirectordErrors (E_HA_BIND). */
export function bindUdp(address: string, port: number, onMessage: (msg: Buffer, from: string) => void): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = createSocket({ type: 'udp4', reuseAddr: true });
    s.once('error', (e) => reject(new DirectordError('E_HA_BIND', `cannot bind UDP ${address}:${port}: ${e.message}`, { cause: e, details: { address, port } })));
    s.on('message', (msg, rinfo) => onMessage(msg, rinfo.address));
    s.bind({ address, port, exclusive: true }, () => {
      s.removeAllListeners('error');
      s.on('error', () => undefined); // send errors (peer unreachable) are transient; the dead timer judges the peer
      resolve(s);
    });
  });
}

export class HeartbeatLink {
  readonly bootId = newBootId();
  private seq = 0n;
  private readonly sockets: Array<{ sock: Socket; path: HeartbeatPath }> = [];
  private readonly guard = new ReplayGuard();
  readonly protocol: PartnerProtocol;
  private readonly rejectLogged = new Map<string, number>();
  readonly rejected: Partial<Record<HeartbeatRejectReason, number>> = {};
  received = 0;
  sent = 0;

  constructor(
    private readonly opts: { paths: HeartbeatPath[]; port: number; key?: Buffer; nodeId: string; log: Logger; deadtimeMs: number; peerRole: Heartbeat['role'] },
    private readonly onHeartbeat: (hb: PeerHeartbeat, meta: HeartbeatMeta) => void,
  ) {
    this.protocol = new PartnerProtocol(opts.deadtimeMs);
  }

  setDeadtime(ms: number): void {
    this.protocol.deadtimeMs = ms;
  }

  async open(): Promise<void> {
    for (const path of this.opts.paths) {
      const sock = await bindUdp(path.local, this.opts.port, (msg, from) => this.receive(msg, from));
      this.sockets.push({ sock, path });
    }
  }

  send(hb: Omit<Heartbeat, 'bootId' | 'seq' | 'timestampMs' | 'nodeId'>): void {
    for (const { sock, path } of this.sockets) {
      const buf = encodeHeartbeat({ ...hb, nodeId: this.opts.nodeId, bootId: this.bootId, seq: ++this.seq, timestampMs: Date.now() }, this.opts.key);
      sock.send(buf, this.opts.port, path.peer);
      this.sent++;
      // Never with a key: a keyed node refuses pulse, and pulse's bytes would only invite forgeries.
      if (!this.opts.key && this.protocol.sendPulse()) {
        sock.send(encodePulseHeartbeat(hb.state === 'active' ? 'running' : 'stopped', this.protocol.byteOrder), this.opts.port, path.peer);
        this.sent++;
      }
    }
  }

  private peers(): string[] {
    return this.opts.paths.map((p) => p.peer);
  }

  private receive(msg: Buffer, from: string): void {
    if (!this.peers().includes(from)) return this.reject('unexpected_source', from, `not the peer (${this.peers().join(', ')})`);
    if (msg.length === PULSE_HEARTBEAT_LEN) return this.receivePulse(msg, from);
    const r = decodeHeartbeat(msg, this.opts.key);
    if (!r.ok) return this.reject(r.reason, from, r.detail);
    if (r.heartbeat.nodeId === this.opts.nodeId) return this.reject('own_node_id', from, 'the peer uses our node id');
    const g = this.guard.check(r.heartbeat);
    if (!g.ok) return this.reject(g.reason, from, g.detail);
    this.received++;
    const h = r.heartbeat;
    this.protocol.onDirectord(performance.now(), h.state === 'stopped');
    this.onHeartbeat(
      { nodeId: h.nodeId, role: h.role, state: h.state, term: h.term, flags: h.flags, protocol: 'directord' },
      { from, restarted: g.restarted, protocol: 'directord', newPulseSession: false },
    );
  }

  /** pulse's 4 bytes: only from the partner address (checked), only without a key, never once directord speaks. */
  private receivePulse(msg: Buffer, from: string): void {
    if (this.opts.key) return this.reject('pulse_refused', from, 'pulse heartbeats are unauthenticated and heartbeat_key_file is set');
    const p = decodePulseHeartbeat(msg);
    if (!p.ok) return this.reject(p.reason, from, p.detail);
    const { accept, newSession } = this.protocol.onPulse(performance.now(), p.byteOrder);
    if (!accept) return;
    this.received++;
    this.onHeartbeat(
      { nodeId: from, role: this.opts.peerRole, state: p.state === 'running' ? 'active' : 'stopped', term: 0, flags: noFlags(), protocol: 'pulse' },
      { from, restarted: false, protocol: 'pulse', newPulseSession: newSession },
    );
  }

  private reject(reason: HeartbeatRejectReason, from: string, detail: string): void {
    const n = (this.rejected[reason] = (this.rejected[reason] ?? 0) + 1);
    // Log the first few of each reason, then every 100th, so a flood cannot fill the journal.
    const logged = this.rejectLogged.get(reason) ?? 0;
    if (logged < 5 || n % 100 === 0) {
      this.rejectLogged.set(reason, logged + 1);
      this.opts.log.warn({ reason, from, detail, count: n }, 'heartbeat rejected');
    }
  }

  close(): void {
    for (const { sock } of this.sockets) {
      try {
        sock.close();
      } catch {
        /* closed */
      }
    }
    this.sockets.length = 0;
  }
}
