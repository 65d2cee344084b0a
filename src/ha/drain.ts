// Director-level drain of a scale-out director (pure, time injected), and the seam a route announcer (BIRD, FRR,
// GoBGP…) plugs into: withdraw on drain, keep forwarding what still arrives, report when nothing arrives any more.

/**
 * What scale-out mode asks of whoever announces the VIP routes. Calls come in order (the next waits for the
 * previous promise); a throw is logged and does not stop the drain.
 */
export interface RouteAnnouncer {
  /** This director forwards and is not draining: its routes for the VIPs may be announced. */
  announce(reason: string): void | Promise<void>;
  /** New flows must stop coming here: a drain began, or the director is stopping. */
  withdraw(reason: string): void | Promise<void>;
}

export type DrainPhase = 'serving' | 'draining' | 'drained';

export interface DrainView {
  phase: DrainPhase;
  since?: string;
  /** ISO time at which the drain ends even with traffic left (absent: no deadline). */
  deadline?: string;
  /** Packets forwarded by this director since the drain began. */
  packetsSinceStart: number;
  /** Packets per second over the last sample. */
  packetRate: number;
  /** Since the last forwarded packet (null: none seen since the drain began). */
  idleMs: number | null;
  /** Established connections in this director's table (includes flows synced from peers: an upper bound). */
  activeConns: number;
  /** How the last drain ended: 'idle' (no packet for quietMs) or 'deadline'. */
  endedBy?: 'idle' | 'deadline';
}

export const DRAIN_DEFAULTS = {
  /** No packet forwarded for this long after the withdrawal: the router sends nothing here any more. */
  quietMs: 3000,
  /** Longest deadline accepted from directorctl. */
  maxDeadlineS: 86400,
} as const;

export type DrainEvent = { kind: 'drained'; endedBy: 'idle' | 'deadline'; view: DrainView };

/** The drain's state; the caller samples forwarded-packet totals from the data plane every second or so. */
export class DrainTracker {
  private phase: DrainPhase = 'serving';
  private startMs = 0;
  private startWall?: string;
  private deadlineMs?: number;
  private deadlineWall?: string;
  private basePackets = 0;
  private lastPackets = 0;
  private lastSampleMs = 0;
  private lastMoveMs?: number;
  private rate = 0;
  private active = 0;
  private endedBy?: 'idle' | 'deadline';

  constructor(private readonly quietMs: number = DRAIN_DEFAULTS.quietMs) {}

  get draining(): boolean {
    return this.phase !== 'serving';
  }

  begin(nowMs: number, wallMs: number, packets: number, deadlineS?: number): void {
    this.phase = 'draining';
    this.startMs = this.lastSampleMs = nowMs;
    this.startWall = new Date(wallMs).toISOString();
    this.deadlineMs = deadlineS === undefined ? undefined : nowMs + deadlineS * 1000;
    this.deadlineWall = deadlineS === undefined ? undefined : new Date(wallMs + deadlineS * 1000).toISOString();
    this.basePackets = this.lastPackets = packets;
    this.lastMoveMs = undefined;
    this.rate = 0;
    this.endedBy = undefined;
  }

  /** Back to serving (undrain). */
  end(): void {
    this.phase = 'serving';
    this.deadlineMs = undefined;
    this.deadlineWall = undefined;
  }

  /** A data-plane sample: total forwarded packets and established connections now. */
  sample(nowMs: number, packets: number, activeConns: number): DrainEvent | undefined {
    const dt = nowMs - this.lastSampleMs;
    if (dt > 0) this.rate = Math.max(0, ((packets - this.lastPackets) * 1000) / dt);
    if (packets !== this.lastPackets) this.lastMoveMs = nowMs;
    this.lastPackets = packets;
    this.lastSampleMs = nowMs;
    this.active = activeConns;
    if (this.phase !== 'draining') return undefined;
    const idleSince = this.lastMoveMs ?? this.startMs;
    let by: 'idle' | 'deadline' | undefined;
    if (nowMs - idleSince >= this.quietMs) by = 'idle';
    else if (this.deadlineMs !== undefined && nowMs >= this.deadlineMs) by = 'deadline';
    if (!by) return undefined;
    this.phase = 'drained';
    this.endedBy = by;
    return { kind: 'drained', endedBy: by, view: this.view(nowMs) };
  }

  view(nowMs: number): DrainView {
    return {
      phase: this.phase,
      ...(this.startWall && this.phase !== 'serving' ? { since: this.startWall } : {}),
      ...(this.deadlineWall && this.phase !== 'serving' ? { deadline: this.deadlineWall } : {}),
      packetsSinceStart: this.phase === 'serving' ? 0 : this.lastPackets - this.basePackets,
      packetRate: Math.round(this.rate),
      idleMs: this.phase === 'serving' || this.lastMoveMs === undefined ? null : Math.round(nowMs - this.lastMoveMs),
      activeConns: this.active,
      ...(this.endedBy ? { endedBy: this.endedBy } : {}),
    };
  }
}
