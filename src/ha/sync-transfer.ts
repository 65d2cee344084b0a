// Full-table transfer (pure, time injected): a (re)joining director asks its peer for the whole connection table
// and is "synced" once every batch arrived, or after a bounded time with a loud log; failback and takeover wait for
// it (keepalived #1966: a restarted node with an empty table must not take the VIP and reset every connection).
import type { ConnEntry } from '../table/types';
import { arraySnapshot, type ConnSnapshot } from '../dataplane/types';
import { SYNC_BULK_MAX_ENTRIES, syncable, type BulkBlock } from './sync-codec';

export const BULK_LIMITS = {
  /** Datagrams per pacing tick, and the tick: about 3,200 datagrams (150k entries) per second, 16 × 1.4 KB per
   * tick, well inside a default 208 KB receive buffer, so a large table does not overflow the requester's socket. */
  burst: 16,
  pacingMs: 5,
  /** No datagram of the transfer for this long: ask again. */
  idleTimeoutMs: 2000,
  /** After the end marker, how long a reordered last batch may still arrive. */
  endGraceMs: 300,
  attempts: 3,
  /** A transfer may take 10 s plus 0.02 ms per announced entry (50k entries/s), never more than 2 min. */
  baseDeadlineMs: 10000,
  perEntryMs: 0.02,
  maxDeadlineMs: 120000,
  /** Larger announced tables are refused (the native table holds at most 2^24). */
  maxEntries: 1 << 24,
} as const;

/**
 * The real servers of a policy table, one key each. A data plane drops a synced entry whose real server is not in
 * its table (not checked up yet, just added): a key that appears means what the peer sent for it may be missing.
 */
export function tableDestKeys(services: readonly { protocol: string; vip: string; port: number; dests: readonly { address: string; port: number }[] }[]): Set<string> {
  const keys = new Set<string>();
  for (const s of services) for (const d of s.dests) keys.add(`${s.protocol}:${s.vip}:${s.port}/${d.address}:${d.port}`);
  return keys;
}

export interface BulkChunk {
  bulk: BulkBlock;
  entries: ConnEntry[];
}

/**
 * Answering side: one transfer at a time (a new request replaces the one in progress), sent in bounded bursts. The
 * snapshot is decoded (and filtered) one batch at a time as it is sent: a table of a million entries decoded at once
 * kept the event loop, heartbeats included, blocked for seconds. `total` is the snapshot's size; a batch may carry
 * fewer entries than its slot (those that cannot be synced), the receiver counts batches.
 */
export class BulkSender {
  private cur?: { transferId: bigint; table: ConnSnapshot; index: number; batches: number };
  transfers = 0;

  get busy(): boolean {
    return this.cur !== undefined;
  }

  /** A snapshot of the table, taken once: later changes reach the peer through the incremental stream. */
  start(transferId: bigint, table: ConnSnapshot | ConnEntry[]): void {
    const snap = Array.isArray(table) ? arraySnapshot(table) : table;
    this.cur = { transferId, table: snap, index: 0, batches: Math.ceil(snap.length / SYNC_BULK_MAX_ENTRIES) };
    this.transfers++;
  }

  /** At most `max` datagrams; the end marker comes last, after which the transfer is over. */
  next(max: number = BULK_LIMITS.burst): BulkChunk[] {
    const c = this.cur;
    if (!c) return [];
    const out: BulkChunk[] = [];
    const total = c.table.length;
    while (out.length < max && c.index < c.batches) {
      const from = c.index * SYNC_BULK_MAX_ENTRIES;
      out.push({ bulk: { kind: 'data', transferId: c.transferId, index: c.index, total }, entries: c.table.slice(from, from + SYNC_BULK_MAX_ENTRIES).filter(syncable) });
      c.index++;
    }
    if (out.length < max && c.index >= c.batches) {
      out.push({ bulk: { kind: 'end', transferId: c.transferId, index: c.batches, total }, entries: [] });
      this.cur = undefined;
    }
    return out;
  }

  cancel(): void {
    this.cur = undefined;
  }
}

export type BulkPhase = 'idle' | 'transferring' | 'synced' | 'gave-up';

export interface BulkProgress {
  phase: BulkPhase;
  attempt: number;
  entriesReceived: number;
  batchesReceived: number;
  /** Entries the peer announced for this transfer (unknown until its first datagram). */
  total: number | null;
  /** Last completed transfer: entries and duration. */
  lastEntries?: number;
  lastMs?: number;
  /** Why the last attempt or the whole transfer failed. */
  reason?: string;
}

export type ReceiverAction =
  | { kind: 'request'; transferId: bigint; attempt: number; reason: string }
  | { kind: 'synced'; entries: number; ms: number }
  | { kind: 'gave-up'; reason: string };

/**
 * Requesting side. synced is false from start (an empty table) and after the peer is heard again (the table missed
 * what happened meanwhile); it turns true when a transfer completes, when this node becomes active (its table is the
 * truth), or when the transfer gave up (bounded: the caller logs it loudly; a dead or old peer must not block
 * failback forever).
 */
export class BulkReceiver {
  synced = false;
  private phase: BulkPhase = 'idle';
  private attempt = 0;
  private transferId = 0n;
  private startedMs = 0;
  private firstStartMs = 0;
  private lastProgressMs = 0;
  private deadlineMs = 0;
  private endSeenMs?: number;
  private expectedBatches?: number;
  private total: number | null = null;
  private readonly got = new Set<number>();
  private entries = 0;
  private last?: { entries: number; ms: number };
  private reason?: string;

  constructor(private readonly newId: () => bigint) {}

  get inProgress(): boolean {
    return this.phase === 'transferring';
  }

  get currentTransfer(): bigint | undefined {
    return this.phase === 'transferring' ? this.transferId : undefined;
  }

  /** Start over: our table is (or may be) behind the peer's. */
  begin(nowMs: number, reason: string): ReceiverAction[] {
    this.synced = false;
    this.attempt = 0;
    this.firstStartMs = nowMs;
    this.reason = undefined;
    return [this.request(nowMs, reason)];
  }

  /** We became active, or the peer is gone: nothing to wait for. */
  stop(synced: boolean): void {
    this.phase = synced ? 'synced' : this.phase === 'transferring' ? 'idle' : this.phase;
    if (synced) this.synced = true;
  }

  private request(nowMs: number, reason: string): ReceiverAction {
    this.attempt++;
    this.phase = 'transferring';
    this.transferId = this.newId();
    this.startedMs = nowMs;
    this.lastProgressMs = nowMs;
    this.deadlineMs = nowMs + BULK_LIMITS.baseDeadlineMs;
    this.endSeenMs = undefined;
    this.expectedBatches = undefined;
    this.total = null;
    this.got.clear();
    this.entries = 0;
    return { kind: 'request', transferId: this.transferId, attempt: this.attempt, reason };
  }

  /** A data batch (its entries are applied by the caller whatever the transfer: they are authenticated and current). */
  onData(b: BulkBlock, count: number, nowMs: number): ReceiverAction[] {
    if (this.phase !== 'transferring' || b.transferId !== this.transferId) return [];
    if (!this.announce(b.total)) return this.retry(nowMs, `peer announced ${b.total} entries (limit ${BULK_LIMITS.maxEntries}, or not what it said before)`);
    if (b.index >= Math.ceil(b.total / SYNC_BULK_MAX_ENTRIES) || this.got.has(b.index)) return [];
    this.got.add(b.index);
    this.entries += count;
    this.lastProgressMs = nowMs;
    return this.maybeDone(nowMs);
  }

  onEnd(b: BulkBlock, nowMs: number): ReceiverAction[] {
    if (this.phase !== 'transferring' || b.transferId !== this.transferId) return [];
    if (!this.announce(b.total)) return this.retry(nowMs, `peer announced ${b.total} entries`);
    if (b.index !== Math.ceil(b.total / SYNC_BULK_MAX_ENTRIES)) return this.retry(nowMs, `end marker says ${b.index} batches for ${b.total} entries`);
    this.expectedBatches = b.index;
    this.endSeenMs = nowMs;
    this.lastProgressMs = nowMs;
    return this.maybeDone(nowMs);
  }

  /** Timers: idle, incomplete after the end marker, overall deadline. */
  tick(nowMs: number): ReceiverAction[] {
    if (this.phase !== 'transferring') return [];
    if (this.endSeenMs !== undefined && nowMs - this.endSeenMs >= BULK_LIMITS.endGraceMs) {
      return this.retry(nowMs, `${this.got.size} of ${this.expectedBatches} batches arrived`);
    }
    if (nowMs >= this.deadlineMs) return this.retry(nowMs, `transfer not complete after ${Math.round(nowMs - this.startedMs)} ms`);
    if (nowMs - this.lastProgressMs >= BULK_LIMITS.idleTimeoutMs) {
      return this.retry(nowMs, this.total === null ? 'no answer from the peer' : `stalled at ${this.entries} of ${this.total} entries`);
    }
    return [];
  }

  /** When tick() next has something to decide. */
  nextTimerMs(): number | undefined {
    if (this.phase !== 'transferring') return undefined;
    const t = [this.deadlineMs, this.lastProgressMs + BULK_LIMITS.idleTimeoutMs];
    if (this.endSeenMs !== undefined) t.push(this.endSeenMs + BULK_LIMITS.endGraceMs);
    return Math.min(...t);
  }

  progress(): BulkProgress {
    return {
      phase: this.phase, attempt: this.attempt, entriesReceived: this.entries, batchesReceived: this.got.size, total: this.total,
      ...(this.last ? { lastEntries: this.last.entries, lastMs: this.last.ms } : {}),
      ...(this.reason ? { reason: this.reason } : {}),
    };
  }

  private announce(total: number): boolean {
    if (total > BULK_LIMITS.maxEntries) return false;
    if (this.total === null) {
      this.total = total;
      this.deadlineMs = this.startedMs + Math.min(BULK_LIMITS.maxDeadlineMs, BULK_LIMITS.baseDeadlineMs + total * BULK_LIMITS.perEntryMs);
    }
    return total === this.total;
  }

  private maybeDone(nowMs: number): ReceiverAction[] {
    if (this.expectedBatches === undefined || this.got.size < this.expectedBatches) return [];
    this.phase = 'synced';
    this.synced = true;
    this.last = { entries: this.entries, ms: Math.round(nowMs - this.firstStartMs) };
    return [{ kind: 'synced', entries: this.entries, ms: this.last.ms }];
  }

  private retry(nowMs: number, reason: string): ReceiverAction[] {
    this.reason = reason;
    if (this.attempt >= BULK_LIMITS.attempts) {
      this.phase = 'gave-up';
      this.synced = true;
      return [{ kind: 'gave-up', reason: `${reason} (after ${this.attempt} attempts, ${Math.round(nowMs - this.firstStartMs)} ms)` }];
    }
    return [this.request(nowMs, `retry: ${reason}`)];
  }
}
