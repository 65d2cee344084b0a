// The sync pump's drain: the data plane's queued changes a bounded slice per turn of the event loop (the rest on the
// next turn, setImmediate), so a full ring (DD_SYNC_RING = 65,536 records) never holds heartbeats back for long.
import type { ConnEntry, DataPlane, SyncRecordIO } from '../dataplane/types';

/** Records per turn of the event loop: a few ms of drain + encode + HMAC at most (docs/benchmarks.md, bench/sync.ts). */
export const SYNC_DRAIN_SLICE = 4096;

/** One slice: raw records where the data plane has them (SyncRecordIO), entries otherwise (the fake data plane). */
export type SyncSlice = { records: Buffer; layout: SyncRecordIO['layout'] } | { entries: ConnEntry[] };

export class SyncDrain {
  private next?: NodeJS.Immediate;

  constructor(
    private readonly dataplane: DataPlane,
    private readonly each: (s: SyncSlice) => void,
    private readonly slice = SYNC_DRAIN_SLICE,
  ) {}

  /** Whether a drain is under way (it goes on, a slice per turn, until a slice comes back short). */
  get busy(): boolean {
    return this.next !== undefined;
  }

  /** Drain a slice now, and the rest on the next turns; nothing while a drain is under way (it empties the queue). */
  pump(): void {
    if (!this.next) this.step();
  }

  private readonly step = (): void => {
    this.next = undefined;
    const raw = this.dataplane.syncRecords;
    let n: number;
    if (raw) {
      const records = raw.drainSyncRecords(this.slice);
      n = records.length / raw.layout.conn.size;
      if (n) this.each({ records, layout: raw.layout });
    } else {
      const entries = this.dataplane.drainSyncUpdates(this.slice);
      n = entries.length;
      if (n) this.each({ entries });
    }
    if (n >= this.slice) this.next = setImmediate(this.step);
  };

  close(): void {
    if (this.next) clearImmediate(this.next);
    this.next = undefined;
  }
}
