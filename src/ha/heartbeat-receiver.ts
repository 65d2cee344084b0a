// What one datagram on heartbeat_port means (pure, clock injected): source → format (directord's or pulse's 4 bytes)
// → decode/MAC → replay guard → a heartbeat for the state machine, a counted rejection, or nothing. Also builds what
// we send. heartbeat-io.ts only adds the sockets; tests drive this with the real state machine and simulated time.
import { decodeHeartbeat, encodeHeartbeat, noFlags, type HaRole, type Heartbeat, type HeartbeatRejectReason } from './heartbeat-codec';
import { PeerGuard } from './heartbeat-guard';
import { decodePulseHeartbeat, encodePulseHeartbeat, PartnerProtocol, PULSE_HEARTBEAT_LEN } from './pulse-codec';
import type { PeerHeartbeat } from './state-machine';

export interface HeartbeatMeta {
  from: string;
  /** The peer's boot id changed (a restarted directord, proven fresh). */
  restarted: boolean;
  protocol: 'directord' | 'pulse';
  /** First pulse heartbeat of a pulse partner's run: say loudly that it is unauthenticated. */
  newPulseSession: boolean;
}

export type Received =
  | { kind: 'heartbeat'; hb: PeerHeartbeat; meta: HeartbeatMeta }
  | { kind: 'rejected'; reason: HeartbeatRejectReason; detail: string }
  /** Not an error: a new boot of the peer before it echoed ours (answer at once), or pulse bytes after the switch. */
  | { kind: 'ignored'; why: 'unproven' | 'pulse_superseded'; detail: string };

export interface ReceiverOptions {
  peers: string[];
  key?: Buffer;
  nodeId: string;
  bootId: bigint;
  deadtimeMs: number;
  peerRole: HaRole;
}

export class HeartbeatReceiver {
  readonly protocol: PartnerProtocol;
  readonly guard: PeerGuard;

  constructor(private readonly opts: ReceiverOptions) {
    this.protocol = new PartnerProtocol(opts.deadtimeMs);
    // A boot of the peer is live while heard within deadtime: that is also when the state machine believes in it.
    this.guard = new PeerGuard(opts.bootId, { authenticated: !!opts.key, liveWindowMs: opts.deadtimeMs });
  }

  setDeadtime(ms: number): void {
    this.protocol.deadtimeMs = ms;
    this.guard.setLiveWindow(ms);
  }

  receive(msg: Buffer, from: string, nowMs: number): Received {
    if (!this.opts.peers.includes(from)) return rejected('unexpected_source', `${from} is not the peer (${this.opts.peers.join(', ')})`);
    if (msg.length === PULSE_HEARTBEAT_LEN) return this.receivePulse(msg, from, nowMs);
    const r = decodeHeartbeat(msg, this.opts.key);
    if (!r.ok) return rejected(r.reason, r.detail);
    const h = r.heartbeat;
    if (h.nodeId === this.opts.nodeId) return rejected('own_node_id', 'the peer uses our node id');
    const g = this.guard.check(h, nowMs);
    if (!g.ok) return g.reason === 'unproven' ? { kind: 'ignored', why: 'unproven', detail: g.detail } : rejected(g.reason, g.detail);
    this.protocol.onDirectord(nowMs, h.state === 'stopped');
    return {
      kind: 'heartbeat',
      hb: { nodeId: h.nodeId, role: h.role, state: h.state, term: h.term, flags: h.flags, protocol: 'directord' },
      meta: { from, restarted: g.restarted, protocol: 'directord', newPulseSession: false },
    };
  }

  /** pulse's 4 bytes: only from the partner address (checked), only without a key, never once directord speaks. */
  private receivePulse(msg: Buffer, from: string, nowMs: number): Received {
    if (this.opts.key) return rejected('pulse_refused', 'pulse heartbeats are unauthenticated and heartbeat_key_file is set');
    const p = decodePulseHeartbeat(msg);
    if (!p.ok) return rejected(p.reason, p.detail);
    const { accept, newSession } = this.protocol.onPulse(nowMs, p.byteOrder);
    if (!accept) return { kind: 'ignored', why: 'pulse_superseded', detail: 'the partner speaks directord' };
    return {
      kind: 'heartbeat',
      hb: { nodeId: from, role: this.opts.peerRole, state: p.state === 'running' ? 'active' : 'stopped', term: 0, flags: noFlags(), protocol: 'pulse' },
      meta: { from, restarted: false, protocol: 'pulse', newPulseSession: newSession },
    };
  }

  /** The datagrams for one heartbeat: ours, plus pulse's bytes while the partner speaks pulse (never with a key). */
  outgoing(hb: Omit<Heartbeat, 'bootId' | 'nodeId' | 'echoBootId'>): Buffer[] {
    const out = [encodeHeartbeat({ ...hb, nodeId: this.opts.nodeId, bootId: this.opts.bootId, echoBootId: this.guard.echo() }, this.opts.key)];
    if (!this.opts.key && this.protocol.sendPulse()) out.push(encodePulseHeartbeat(hb.state === 'active' ? 'running' : 'stopped', this.protocol.byteOrder));
    return out;
  }
}

function rejected(reason: HeartbeatRejectReason, detail: string): Received {
  return { kind: 'rejected', reason, detail };
}
