// Connection sync over UDP unicast on sync_port: the active director drains DataPlane.drainSyncUpdates() every
// SYNC_INTERVAL_MS (at once again while batches are full) and sends; the standby applies what it receives.
import type { Socket } from 'node:dgram';
import type { DataPlane } from '../dataplane/types';
import type { Logger } from '../log';
import { ReplayGuard } from './heartbeat-codec';
import { bindUdp, newBootId } from './heartbeat-io';
import { decodeSyncPacket, encodeSyncBatches, SYNC_MAX_ENTRIES, type SyncRejectReason } from './sync-codec';

export const SYNC_INTERVAL_MS = 150;

export class SyncChannel {
  private sock?: Socket;
  private timer?: NodeJS.Timeout;
  private readonly bootId: bigint;
  private seq = 0n;
  private readonly guard: ReplayGuard;
  private sending = false;
  readonly rejected: Partial<Record<SyncRejectReason, number>> = {};
  entriesSent = 0;
  entriesApplied = 0;
  entriesSkipped = 0;

  constructor(private readonly opts: { local: string; peer: string; port: number; key?: Buffer; dataplane: DataPlane; log: Logger; bootId?: bigint; proveBoot?: (bootId: bigint) => boolean }) {
    // The heartbeat boot id, and a new sender boot only once the heartbeats proved it (issue 12: no replay from an
    // earlier boot after a restart).
    this.bootId = opts.bootId ?? newBootId();
    this.guard = new ReplayGuard(undefined, { proveBoot: opts.proveBoot });
  }

  async open(): Promise<void> {
    this.sock = await bindUdp(this.opts.local, this.opts.port, (msg, from) => this.receive(msg, from));
    this.timer = setInterval(() => this.pump(), SYNC_INTERVAL_MS);
  }

  /** A reload may change heartbeat_key_file; the channel shares the heartbeat key. */
  setKey(key: Buffer | undefined): void {
    this.opts.key = key;
  }

  /** Active: stream changes to the peer. Standby: drain and drop (they are the peer's records echoed back). */
  setSending(on: boolean): void {
    this.sending = on;
  }

  /** Send the whole table (a peer that (re)started has nothing; keepalived #1966). */
  sendFullTable(): void {
    if (!this.sending) return;
    this.send(this.opts.dataplane.connections());
  }

  pump(): void {
    for (let rounds = 0; rounds < 64; rounds++) {
      const batch = this.opts.dataplane.drainSyncUpdates();
      if (this.sending && batch.length) this.send(batch);
      if (batch.length < SYNC_MAX_ENTRIES) break; // a full batch means more is waiting: send it now, not in 150 ms
    }
  }

  private send(entries: ReturnType<DataPlane['drainSyncUpdates']>): void {
    if (!this.sock) return;
    const { packets, skipped } = encodeSyncBatches(entries, { key: this.opts.key, bootId: this.bootId, nextSeq: () => ++this.seq });
    this.entriesSkipped += skipped;
    for (const p of packets) this.sock.send(p, this.opts.port, this.opts.peer);
    this.entriesSent += entries.length - skipped;
  }

  private receive(msg: Buffer, from: string): void {
    const bad = (reason: SyncRejectReason, detail: string) => {
      const n = (this.rejected[reason] = (this.rejected[reason] ?? 0) + 1);
      if (n <= 5 || n % 100 === 0) this.opts.log.warn({ reason, from, detail, count: n }, 'sync datagram rejected');
    };
    if (from !== this.opts.peer) return bad('unexpected_source', from);
    const r = decodeSyncPacket(msg, this.opts.key);
    if (!r.ok) return bad(r.reason, r.detail);
    const g = this.guard.check({ nodeId: from, bootId: r.batch.bootId, seq: r.batch.seq });
    if (!g.ok) return bad(g.reason, g.detail);
    if (this.sending) return; // we are active: the peer's view is older than ours
    this.opts.dataplane.applySyncUpdates(r.batch.entries);
    this.entriesApplied += r.batch.entries.length;
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    try {
      this.sock?.close();
    } catch {
      /* closed */
    }
    this.sock = undefined;
  }
}
