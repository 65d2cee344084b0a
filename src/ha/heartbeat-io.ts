// Heartbeat transport: one UDP socket per path (public, and private when configured), bound to our own address on
// heartbeat_port as pulse does, unicast to the peer. What a datagram means is heartbeat-receiver.ts's job; this file
// adds the sockets, counters and rate-limited logs.
import { createSocket, type Socket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { DirectordError } from '../errors';
import type { Logger } from '../log';
import type { Heartbeat, HeartbeatRejectReason } from './heartbeat-codec';
import { HeartbeatReceiver, type HeartbeatMeta } from './heartbeat-receiver';
import type { PeerHeartbeat } from './state-machine';

export type { HeartbeatMeta } from './heartbeat-receiver';

export interface HeartbeatPath {
  local: string;
  peer: string;
}

export function newBootId(): bigint {
  // Never 0: 0 is "no boot heard" in the echo field.
  let id = 0n;
  while (id === 0n) id = randomBytes(8).readBigUInt64BE(0);
  return id;
}

/**
 * Bind a UDP socket to address:port; errors become DirectordErrors (E_HA_BIND). No SO_REUSEADDR: with it, any local
 * user could bind the same address and port (above 1024, e.g. sync_port) and receive the datagrams meant for us.
 */
export function bindUdp(address: string, port: number, onMessage: (msg: Buffer, from: string) => void): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = createSocket({ type: 'udp4', reuseAddr: false });
    s.once('error', (e) => reject(new DirectordError('E_HA_BIND', `cannot bind UDP ${address}:${port}: ${e.message}`, { cause: e, details: { address, port } })));
    s.on('message', (msg, rinfo) => onMessage(msg, rinfo.address));
    s.bind({ address, port, exclusive: true }, () => {
      s.removeAllListeners('error');
      s.on('error', () => undefined); // send errors (peer unreachable) are transient; the dead timer judges the peer
      resolve(s);
    });
  });
}

const CHALLENGE_MIN_GAP_MS = 100;

export class HeartbeatLink {
  readonly bootId: bigint;
  // Monotonic within the process, so a link reopened by a reload continues above the old link's sequence.
  private seq = process.hrtime.bigint();
  private readonly sockets: Array<{ sock: Socket; path: HeartbeatPath }> = [];
  private readonly receiver: HeartbeatReceiver;
  private readonly rejectLogged = new Map<string, number>();
  private lastChallengeMs = Number.NEGATIVE_INFINITY;
  private inFlight = 0;
  private readonly flushed: Array<() => void> = [];
  readonly rejected: Partial<Record<HeartbeatRejectReason, number>> = {};
  received = 0;
  sent = 0;
  /** New boots of the peer not yet proven fresh (normal once per restart of either node; a flood means replays). */
  unproven = 0;
  /** Datagrams on heartbeat_port that did not count, by reason, since the last heartbeat that did (the dead-peer log). */
  sinceAccepted: { rejected: Partial<Record<HeartbeatRejectReason | 'unproven', number>> } = { rejected: {} };

  constructor(
    private readonly opts: { paths: HeartbeatPath[]; port: number; key?: Buffer; nodeId: string; log: Logger; deadtimeMs: number; peerRole: Heartbeat['role']; bootId?: bigint },
    private readonly onHeartbeat: (hb: PeerHeartbeat, meta: HeartbeatMeta) => void,
    /** A new peer boot waits for our echo: send a heartbeat now rather than at the next keepalive. */
    private readonly onChallenge: () => void = () => undefined,
  ) {
    this.bootId = opts.bootId ?? newBootId();
    this.receiver = new HeartbeatReceiver({ peers: opts.paths.map((p) => p.peer), key: opts.key, nodeId: opts.nodeId, bootId: this.bootId, deadtimeMs: opts.deadtimeMs, peerRole: opts.peerRole });
  }

  get protocol(): HeartbeatReceiver['protocol'] {
    return this.receiver.protocol;
  }

  get guard(): HeartbeatReceiver['guard'] {
    return this.receiver.guard;
  }

  setDeadtime(ms: number): void {
    this.receiver.setDeadtime(ms);
  }

  async open(): Promise<void> {
    for (const path of this.opts.paths) {
      const sock = await bindUdp(path.local, this.opts.port, (msg, from) => this.receive(msg, from));
      this.sockets.push({ sock, path });
    }
  }

  send(hb: Omit<Heartbeat, 'bootId' | 'seq' | 'timestampMs' | 'nodeId' | 'echoBootId'>): void {
    for (const { sock, path } of this.sockets) {
      for (const buf of this.receiver.outgoing({ ...hb, seq: ++this.seq, timestampMs: Date.now() })) {
        this.inFlight++;
        sock.send(buf, this.opts.port, path.peer, () => {
          if (--this.inFlight === 0) for (const r of this.flushed.splice(0)) r();
        });
        this.sent++;
      }
    }
  }

  /** Resolves when every datagram handed to the kernel so far has left (or after timeoutMs). */
  flush(timeoutMs = 500): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(resolve, timeoutMs);
      this.flushed.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  private receive(msg: Buffer, from: string): void {
    const now = performance.now();
    const r = this.receiver.receive(msg, from, now);
    if (r.kind === 'rejected') return this.reject(r.reason, from, r.detail);
    if (r.kind === 'ignored') {
      if (r.why !== 'unproven') return;
      this.unproven++;
      this.sinceAccepted.rejected.unproven = (this.sinceAccepted.rejected.unproven ?? 0) + 1;
      if (this.unproven <= 5 || this.unproven % 100 === 0) this.opts.log.info({ from, detail: r.detail, count: this.unproven }, 'heartbeat of a new peer boot: answering with our boot id first');
      if (now - this.lastChallengeMs >= CHALLENGE_MIN_GAP_MS) {
        this.lastChallengeMs = now;
        this.onChallenge();
      }
      return;
    }
    this.received++;
    this.sinceAccepted = { rejected: {} };
    this.onHeartbeat(r.hb, r.meta);
  }

  private reject(reason: HeartbeatRejectReason, from: string, detail: string): void {
    const n = (this.rejected[reason] = (this.rejected[reason] ?? 0) + 1);
    this.sinceAccepted.rejected[reason] = (this.sinceAccepted.rejected[reason] ?? 0) + 1;
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
