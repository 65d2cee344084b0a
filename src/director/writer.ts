// Writer mode's decision, pure (no timers, no I/O; the clock is an argument): which one real server of a virtual
// takes new connections, when it may change, and why. Fed with health verdicts and the MySQL check's observations.
import { type Positions, compareApplied } from '../health/mysql-positions';

export interface WriterPolicy {
  /** A server must have been eligible this long before it may become the writer; also the minimum time between
   * two voluntary switches (flap damping). */
  holddownMs: number;
  /** The preferred server takes the writer back once it is eligible (needs fencing: see docs/writer.md). */
  failback: boolean;
  /** While the writer is up, a standby counts as caught up when it has applied what the writer had this long
   * before the standby was looked at (a check interval): replication a few milliseconds behind a busy writer must
   * not restart the hold-down. A switch itself always compares strictly. Default 0. */
  toleranceMs?: number;
}

/** One server as the pool sees it now, in configuration order. */
export interface WriterCandidate {
  key: string;
  name: string;
  weight: number;
  /** Up by its health check (the writer-mode check judges liveness only; replication is judged here). */
  up: boolean;
}

export interface WriterObservation extends Positions {
  /** When the result arrived. */
  at: number;
  /** When the probe started: the data is no older than this (default `at`). Two servers' results can arrive out of
   * order, so "A's data is older than B's" is only known when A's result arrived before B's probe started. */
  from?: number;
  readOnly: boolean;
}

export interface ServerView {
  key: string;
  name: string;
  role: 'writer' | 'standby' | 'out';
  /** Why it is (or is not) fit to become the writer. */
  why: string;
  lag: number | null;
  /** read_only = 0 while not the writer: a second writable master. */
  writable: boolean;
}

export interface WriterDecision {
  writer: string | null;
  writerName: string | null;
  since: number | null;
  reason: string;
  switches: number;
  servers: ServerView[];
  /** Set on the evaluation that changed the writer. */
  switched?: { from: string | null; to: string; reason: string };
}

const HISTORY = 6;

/** pending: not decidable until a newer observation; keeps the eligibility it had. */
type Fitness = { fit: boolean; why: string; pending?: boolean };

export class WriterState {
  writer: string | null = null;
  since: number | null = null;
  lastSwitchAt = -Infinity;
  reason = 'no writer yet: waiting for every server to be checked once';
  /** Changes from one writer to another (the first choice is not one). */
  switches = 0;
  private chosen = false;
  private readonly obs = new Map<string, WriterObservation[]>();
  private readonly checked = new Set<string>();
  /** Servers whose last check failed. */
  private readonly lastFailed = new Set<string>();
  private firstEvaluation: number | undefined;
  private readonly eligibleSince = new Map<string, number>();
  /** Servers this director has seen unfit: only they must prove themselves for the hold-down. One fit from its
   * first look is a hot standby as far as this director knows, so a director that just (re)started agrees with its
   * peer at once instead of refusing a failover for a hold-down. */
  private readonly seenUnfit = new Set<string>();

  constructor(public policy: WriterPolicy) {}

  /** A finished check of one server: its observation, or null when the probe failed. */
  observe(key: string, o: WriterObservation | null): void {
    this.checked.add(key);
    if (!o) {
      this.lastFailed.add(key);
      return;
    }
    this.lastFailed.delete(key);
    const h = this.obs.get(key) ?? [];
    h.push(o);
    if (h.length > HISTORY) h.shift();
    this.obs.set(key, h);
  }

  latest(key: string): WriterObservation | undefined {
    const h = this.obs.get(key);
    return h?.[h.length - 1];
  }

  /** The reference's newest observation taken no later than `at` (so a busy writer is not compared with a position
   * it reached after the candidate was looked at); undefined when all are newer. */
  private referenceAt(key: string, at: number): WriterObservation | undefined {
    const h = this.obs.get(key) ?? [];
    for (let i = h.length - 1; i >= 0; i--) if (h[i].at <= at) return h[i];
    return undefined;
  }

  /** Is `key` behind `other` as far as can be told (other observed no later than key)? */
  private behind(key: string, other: string): boolean {
    const o = this.latest(key)!;
    const r = this.referenceAt(other, o.from ?? o.at);
    return r !== undefined && !compareApplied(o, r).caughtUp;
  }

  /** Whether a writer was ever chosen (or adopted): before that there is nothing to tell a peer. */
  get decided(): boolean {
    return this.chosen;
  }

  /** Take the active director's decision (a standby, or a new active right after a takeover). `last` carries the
   * peer's last switch time and count, so the hold-down and the switch count go on from where the peer was. */
  adopt(writer: string | null, reason: string, since: number | null, last?: { switchAt: number | null; switches: number }): void {
    if (last) {
      this.lastSwitchAt = last.switchAt ?? -Infinity;
      this.switches = last.switches;
    } else if (writer !== this.writer) this.lastSwitchAt = since ?? this.lastSwitchAt;
    this.writer = writer;
    this.since = since;
    const prefix = 'adopted from the active director: ';
    this.reason = reason.startsWith(prefix) ? reason : `${prefix}${reason}`;
    this.chosen = true;
  }

  /** Fit to become the writer, by replication state and position against the current writer (or its last known one). */
  private fitness(c: WriterCandidate, refKey: string | null, refUp: boolean, strict = false): Fitness {
    if (!c.up) return { fit: false, why: 'down by its health check' };
    const o = this.latest(c.key);
    // Not seen yet (a director that just started, or adopted a peer's writer first): nothing against it either.
    if (!o) return { fit: false, pending: true, why: 'no MySQL observation yet' };
    const r = o.replica;
    if (!r) return { fit: false, why: 'not a replica (SHOW SLAVE STATUS is empty): cannot tell whether it has caught up' };
    if (r.sql !== 'Yes') return { fit: false, why: `replication SQL thread ${r.sql}${r.lastError ? `: ${r.lastError}` : ''}` };
    // Stopped (by an operator or an error) is unfit. Connecting is what the writer's death looks like from here,
    // before the writer's own check has failed: the position comparison decides, not a transient thread state.
    if (refUp && r.io === 'No') return { fit: false, why: `replication IO thread stopped${r.lastError ? `: ${r.lastError}` : ''}` };
    if (!refKey || refKey === c.key) return { fit: true, why: 'replication running' };
    // A live writer moves on: compare with where it was when the candidate was looked at. A dead one's last known
    // position is the floor; a candidate observed before it must be looked at once more (eligibility is kept).
    const last = this.latest(refKey);
    const from = o.from ?? o.at;
    if (!refUp && last && last.at > from) return { fit: false, pending: true, why: 'waiting for a check newer than the writer\'s last known position' };
    const ref = refUp ? this.referenceAt(refKey, from - (strict ? 0 : this.policy.toleranceMs ?? 0)) : last;
    if (!ref && last) return { fit: false, pending: true, why: 'replication running; not compared yet (the writer has not been observed for a check interval)' };
    if (!ref) return { fit: false, why: 'the writer was never observed: nothing to compare with' };
    const cmp = compareApplied(o, ref);
    const stale = refUp ? '' : ' (its last known position)';
    return cmp.caughtUp ? { fit: true, why: `caught up: ${cmp.detail}${stale}` } : { fit: false, why: `behind: ${cmp.detail}${stale}` };
  }

  /** `hold`: a standby following the active director's synced decision: the views are computed, nothing switches. */
  evaluate(servers: readonly WriterCandidate[], now: number, opts: { hold?: boolean } = {}): WriterDecision {
    const byPref = [...servers].map((s, i) => ({ s, i })).sort((a, b) => b.s.weight - a.s.weight || a.i - b.i).map((x) => x.s);
    const cur = servers.find((s) => s.key === this.writer);
    if (this.writer && !cur) { // removed from the configuration
      this.writer = null;
      this.reason = 'the writer left the configuration';
    }
    const writerUp = cur?.up === true;
    const fit = new Map<string, Fitness>();
    for (const s of servers) {
      const f = s.key === this.writer ? { fit: s.up, why: s.up ? 'the writer' : 'down by its health check' } : this.fitness(s, this.writer, writerUp);
      fit.set(s.key, f);
      if (f.fit) { if (!this.eligibleSince.has(s.key)) this.eligibleSince.set(s.key, now); } else if (!f.pending) {
        this.eligibleSince.delete(s.key);
        if (this.chosen) this.seenUnfit.add(s.key);
      }
    }
    const settled = (s: WriterCandidate): boolean => fit.get(s.key)!.fit && (!this.seenUnfit.has(s.key) || now - (this.eligibleSince.get(s.key) ?? now) >= this.policy.holddownMs);
    let switched: WriterDecision['switched'];
    const switchTo = (to: WriterCandidate, reason: string): void => {
      switched = { from: this.writer, to: to.key, reason };
      this.writer = to.key;
      this.since = now;
      this.lastSwitchAt = now;
      this.reason = reason;
      if (switched.from !== null) this.switches++;
      this.chosen = true;
    };
    this.firstEvaluation ??= now;
    if (opts.hold) {
      // Followed, not decided: the active director's writer stands until it sends another.
    } else if (this.writer === null && !this.chosen) {
      // The first choice: once every server is up by its check or its last check failed (one that passes checks
      // but is not up yet, rise not reached, would otherwise lose the choice by a second), or after the hold-down;
      // then the preferred one among the most advanced.
      const settledIn = servers.every((s) => s.up || this.lastFailed.has(s.key)) || now - this.firstEvaluation >= this.policy.holddownMs;
      if (servers.length > 0 && servers.every((s) => this.checked.has(s.key)) && settledIn) {
        const up = byPref.filter((s) => s.up && this.latest(s.key));
        const ahead = up.filter((s) => up.every((o) => o === s || !this.behind(s.key, o.key)));
        const pick = ahead[0] ?? up[0];
        if (pick) switchTo(pick, ahead[0] ? `first choice: the preferred server among the most advanced` : 'first choice: positions not comparable, the preferred server that is up');
      }
    } else if (!writerUp) {
      const pick = byPref.find((s) => s.key !== this.writer && settled(s));
      const was = cur ? `${cur.name} is down` : 'no writer';
      if (pick) switchTo(pick, `${was}: ${pick.name} ${fit.get(pick.key)!.why}`);
      else this.reason = `${was}; no server is fit to take over yet (caught up and eligible for ${this.policy.holddownMs / 1000} s)`;
    } else if (this.policy.failback) {
      const pref = byPref.find((s) => s.up);
      if (pref && pref.key !== this.writer && settled(pref) && now - this.lastSwitchAt >= this.policy.holddownMs && this.fitness(pref, this.writer, true, true).fit) {
        switchTo(pref, `failback to the preferred server: ${pref.name} ${fit.get(pref.key)!.why}`);
      }
    }
    const name = (k: string | null): string | null => servers.find((s) => s.key === k)?.name ?? null;
    const views: ServerView[] = servers.map((s) => {
      const o = this.latest(s.key);
      const isWriter = s.key === this.writer;
      // After a switch, say how each server stands against the new writer, not the old one.
      const f = switched && !isWriter ? this.fitness(s, this.writer, true) : fit.get(s.key)!;
      let why = f.why;
      if (!isWriter && f.fit && !settled(s)) why += `; eligible for ${Math.floor((now - this.eligibleSince.get(s.key)!) / 1000)} s of ${this.policy.holddownMs / 1000}`;
      // A server that just became the writer is compared with itself: say what made it fit instead.
      if (isWriter && switched?.to === s.key) why = 'the writer';
      return {
        key: s.key, name: s.name, role: isWriter && s.up ? 'writer' : s.up ? 'standby' : 'out', why,
        lag: o?.replica?.lag ?? null, writable: !isWriter && s.up && o !== undefined && !o.readOnly,
      };
    });
    return { writer: this.writer, writerName: name(this.writer), since: this.since, reason: this.reason, switches: this.switches, servers: views, ...(switched ? { switched } : {}) };
  }
}
