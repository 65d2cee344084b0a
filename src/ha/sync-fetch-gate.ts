// When a standby asks its peer for the whole connection table: not before its own first health checks (its data plane
// drops a synced entry whose real server is not in its table yet), and again when a real server enters the table
// after entries were dropped. Pure decisions plus one bounding timer.
import type { Logger } from '../log';
import { tableDestKeys } from './sync-transfer';

/** A fetch waits at most this long for the first health checks (a check that never reports must not block failback). */
export const CHECKS_WAIT_MAX_MS = 20000;

type DestTable = Parameters<typeof tableDestKeys>[0];

export class SyncFetchGate {
  private dests = new Set<string>();
  /** Entries of the peer were not taken since the last fetch began (their real server was not in our table). */
  private dropped = false;
  private peerHeard = false;
  private deferred?: string;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly o: {
      /** Whether every real server of ours has had its first check (absent: nothing to wait for). */
      checksSettled?: () => boolean;
      fetch: (reason: string) => void;
      log: Logger;
      peer: string;
    },
  ) {}

  /** The policy table when sync starts: later tables are compared with it. */
  seed(services: DestTable): void {
    this.dests = tableDestKeys(services);
  }

  /**
   * A fetch is wanted. A standby whose checks have not all reported yet waits for them (at most CHECKS_WAIT_MAX_MS):
   * fetched before its real servers enter its table, the peer's entries would be dropped. True: fetch now.
   */
  mayFetch(reason: string, standby: boolean): boolean {
    this.peerHeard = true;
    this.dropped = false;
    if (!standby || !this.o.checksSettled || this.o.checksSettled()) return true;
    if (this.deferred === undefined) {
      this.o.log.info({ peer: this.o.peer, reason }, 'waiting for this node\'s first health checks before asking the peer for its table; failback and takeover wait too');
      this.timer = setTimeout(() => this.release('the first health checks did not all report in time'), CHECKS_WAIT_MAX_MS);
    }
    this.deferred = reason;
    return false;
  }

  /** A fetch is held until the first health checks report. */
  get waiting(): boolean {
    return this.deferred !== undefined;
  }

  noteDropped(): void {
    this.dropped = true;
  }

  peerLost(): void {
    this.peerHeard = false;
    this.cancel();
  }

  /** Our policy table was replaced or a check reported: a waiting fetch may go, or a dropped server's entries be fetched again. */
  tableChanged(services: DestTable, standby: boolean): void {
    const now = tableDestKeys(services);
    const grew = [...now].some((k) => !this.dests.has(k));
    this.dests = now;
    if (this.deferred !== undefined) {
      if (this.o.checksSettled?.() ?? true) this.release('the first health checks reported');
      return;
    }
    if (grew && this.dropped && this.peerHeard && standby) {
      this.dropped = false;
      this.o.fetch('a real server entered the table: fetch what the peer holds for it');
    }
  }

  private release(why: string): void {
    const reason = this.deferred;
    this.cancel();
    if (reason !== undefined) this.o.fetch(`${reason}; ${why}`);
  }

  close(): void {
    this.cancel();
  }

  private cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.deferred = undefined;
  }
}
