// Anti-replay for heartbeats and sync (pure): which boot of the peer is live, and when a new boot id may replace it.
// Memory is bounded whatever senders claim; a captured packet from an earlier boot, replayed after either node
// restarted, never becomes current, so it can neither move a role nor make the live boot's heartbeats "replays".

export const GUARD_MAX_RETIRED = 64;
export const GUARD_MAX_NODES = 16;

export interface GuardPacket {
  bootId: bigint;
  seq: bigint;
  /** Sender's wall clock (signed with the rest): orders the peer's boots by its own clock. */
  timestampMs: number;
  /** The boot id of ours the sender last heard: proof the packet was made after our current boot began. */
  echoBootId: bigint;
}

export type GuardRejectReason = 'replayed' | 'unproven' | 'boot_in_use';
export type GuardVerdict = { ok: true; restarted: boolean } | { ok: false; reason: GuardRejectReason; detail: string };

const hex = (b: bigint): string => b.toString(16);

function retire(list: bigint[], id: bigint, max: number): void {
  if (!list.includes(id)) list.push(id);
  if (list.length > max) list.splice(0, list.length - max);
}

/**
 * The one configured partner's boots. A packet counts if it belongs to the current boot with a higher sequence, or
 * opens a new boot that
 *  - echoes our own current boot id (a challenge every heartbeat of ours carries: nothing recorded before we started
 *    can echo it),
 *  - was never retired,
 *  - and, with a key, is newer (by the peer's clock) than the live boot; without a key, a live boot (heard within
 *    liveWindowMs) is never retired at all: an unauthenticated packet proves nothing.
 * The echo we send is the newest boot of the peer we heard (same boot with a higher sequence, or a newer timestamp),
 * so a restarted peer is answered within one keepalive and a replay of an older boot cannot displace it.
 */
export class PeerGuard {
  private current?: { bootId: bigint; seq: bigint; lastTs: number; lastHeardMs: number };
  private heard?: { bootId: bigint; seq: bigint; ts: number };
  private readonly retired: bigint[] = [];

  constructor(
    readonly ownBootId: bigint,
    private readonly opts: { authenticated: boolean; liveWindowMs: number; maxRetired?: number },
  ) {}

  setLiveWindow(ms: number): void {
    this.opts.liveWindowMs = ms;
  }

  /** The peer boot id our heartbeats echo (0 until we heard one). */
  echo(): bigint {
    return this.heard?.bootId ?? 0n;
  }

  currentBoot(): bigint | undefined {
    return this.current?.bootId;
  }

  /** Sync's proof: a boot id the heartbeats show as the peer's (current, or the newest heard while it is proven). */
  knows(bootId: bigint): boolean {
    return bootId === this.current?.bootId || bootId === this.heard?.bootId;
  }

  check(p: GuardPacket, nowMs: number): GuardVerdict {
    const retired = this.retired.includes(p.bootId);
    if (!retired) this.noteHeard(p);
    const cur = this.current;
    if (cur && cur.bootId === p.bootId) {
      if (p.seq <= cur.seq) return { ok: false, reason: 'replayed', detail: `seq ${p.seq} <= last ${cur.seq}` };
      cur.seq = p.seq;
      cur.lastTs = Math.max(cur.lastTs, p.timestampMs);
      cur.lastHeardMs = nowMs;
      return { ok: true, restarted: false };
    }
    if (retired) return { ok: false, reason: 'replayed', detail: `boot id ${hex(p.bootId)} is retired` };
    if (p.echoBootId !== this.ownBootId) {
      return { ok: false, reason: 'unproven', detail: `boot id ${hex(p.bootId)} does not echo ours (${hex(p.echoBootId)}): made before it heard this boot` };
    }
    if (cur) {
      const live = nowMs - cur.lastHeardMs <= this.opts.liveWindowMs;
      if (live && !this.opts.authenticated) {
        return { ok: false, reason: 'boot_in_use', detail: `unauthenticated packet of boot ${hex(p.bootId)} cannot retire the live boot ${hex(cur.bootId)}` };
      }
      if (live && p.timestampMs <= cur.lastTs) {
        return { ok: false, reason: 'replayed', detail: `boot id ${hex(p.bootId)} is older than the live boot ${hex(cur.bootId)}` };
      }
      retire(this.retired, cur.bootId, this.opts.maxRetired ?? GUARD_MAX_RETIRED);
    }
    this.current = { bootId: p.bootId, seq: p.seq, lastTs: p.timestampMs, lastHeardMs: nowMs };
    return { ok: true, restarted: cur !== undefined };
  }

  private noteHeard(p: GuardPacket): void {
    const h = this.heard;
    if (!h || (h.bootId === p.bootId ? p.seq > h.seq : p.timestampMs > h.ts)) this.heard = { bootId: p.bootId, seq: p.seq, ts: p.timestampMs };
  }

  /** For tests and status: what the guard holds (bounded). */
  size(): number {
    return this.retired.length + (this.current ? 1 : 0) + (this.heard ? 1 : 0);
  }
}

/**
 * Sequence guard for sync datagrams, per sender (at most GUARD_MAX_NODES, the oldest forgotten first). Within a boot
 * the sequence must increase; a new boot id is taken only when `proveBoot` says the heartbeats know it (sync shares
 * the heartbeat boot id), or — without that hook — when the current boot has been silent for liveWindowMs.
 */
export class ReplayGuard {
  private readonly nodes = new Map<string, { bootId: bigint; seq: bigint; lastMs: number; retired: bigint[] }>();

  constructor(
    private readonly maxRetired = GUARD_MAX_RETIRED,
    private readonly opts: { proveBoot?: (bootId: bigint) => boolean; liveWindowMs?: number; now?: () => number } = {},
  ) {}

  check(hb: { nodeId: string; bootId: bigint; seq: bigint }): { ok: true; restarted: boolean } | { ok: false; reason: 'replayed' | 'unproven'; detail: string } {
    const now = (this.opts.now ?? Date.now)();
    const cur = this.nodes.get(hb.nodeId);
    if (cur && cur.bootId === hb.bootId) {
      if (hb.seq <= cur.seq) return { ok: false, reason: 'replayed', detail: `seq ${hb.seq} <= last ${cur.seq}` };
      cur.seq = hb.seq;
      cur.lastMs = now;
      return { ok: true, restarted: false };
    }
    if (cur?.retired.includes(hb.bootId)) return { ok: false, reason: 'replayed', detail: `boot id ${hex(hb.bootId)} is retired` };
    if (this.opts.proveBoot) {
      // Not a replay as such: also the first datagrams of a (re)started peer before its heartbeats were heard.
      if (!this.opts.proveBoot(hb.bootId)) return { ok: false, reason: 'unproven', detail: `boot id ${hex(hb.bootId)} is not a boot the heartbeats know` };
    } else if (cur && this.opts.liveWindowMs !== undefined && now - cur.lastMs <= this.opts.liveWindowMs) {
      return { ok: false, reason: 'replayed', detail: `boot id ${hex(hb.bootId)} cannot retire the live boot ${hex(cur.bootId)}` };
    }
    const retired = cur?.retired ?? [];
    if (cur) retire(retired, cur.bootId, this.maxRetired);
    this.nodes.delete(hb.nodeId);
    if (this.nodes.size >= GUARD_MAX_NODES) this.nodes.delete(this.nodes.keys().next().value as string);
    this.nodes.set(hb.nodeId, { bootId: hb.bootId, seq: hb.seq, lastMs: now, retired });
    return { ok: true, restarted: cur !== undefined };
  }

  size(): number {
    let n = 0;
    for (const v of this.nodes.values()) n += 1 + v.retired.length;
    return n;
  }
}
