// The IPVS schedulers (ip_vs_{wlc,lc,rr,wrr,sh,mh,fo}.c) over a dest list in kernel order (index 0 = list head,
// the most recently added). Each keeps only the state its kernel module keeps (rr/wrr cursor, sh/mh tables).
import type { SchedulerName } from '../config/schema';
import { hash32, hsiphashU32, MH_HASH1, MH_HASH2 } from './hash';
import { type SchedDest, isOverloaded, overhead } from './dest';

export interface SchedulerFlags {
  /** sh-fallback / mh-fallback (IP_VS_SVC_F_SCHED1): look further when the hashed dest is unavailable. */
  fallback?: boolean;
  /** sh-port / mh-port (IP_VS_SVC_F_SCHED2): hash the client port too. */
  port?: boolean;
}

export interface Scheduler {
  readonly name: SchedulerName;
  /**
   * The kernel's add_dest/del_dest/upd_dest callbacks for a whole list change, as the ipvsadm calls it stands for
   * (see wrrCallSequence). `oldWeights[i]` is oldList[i]'s weight before the change (default: its current one).
   */
  destsChanged(oldList: readonly SchedDest[], newList: readonly SchedDest[], oldWeights?: readonly number[]): void;
  schedule(list: readonly SchedDest[], saddr: number, sport: number): SchedDest | null;
}

export const SH_TAB_SIZE = 256;
export const MH_TAB_SIZE = 4093;       // primes[CONFIG_IP_VS_MH_TAB_INDEX(12) - 8]
export const MH_TAB_BITS = 6;          // CONFIG_IP_VS_MH_TAB_INDEX / 2

export function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/** Weighted least-connection: min overhead/weight, ties to the earlier list entry; weight 0 never wins. */
export function wlcPick(list: readonly SchedDest[]): SchedDest | null {
  let least: SchedDest | null = null;
  let i = 0;
  for (; i < list.length; i++) {
    const d = list[i];
    if (!isOverloaded(d) && d.weight > 0) { least = d; break; }
  }
  if (!least) return null;
  let loh = overhead(least);
  for (i++; i < list.length; i++) {
    const d = list[i];
    if (isOverloaded(d)) continue;
    const doh = overhead(d);
    if (loh * d.weight > doh * least.weight) { least = d; loh = doh; }
  }
  return least;
}

/** Least-connection: weights ignored apart from 0; strict < so the first minimum wins. */
export function lcPick(list: readonly SchedDest[]): SchedDest | null {
  let least: SchedDest | null = null;
  let loh = 0;
  for (const d of list) {
    if (isOverloaded(d) || d.weight === 0) continue;
    const doh = overhead(d);
    if (!least || doh < loh) { least = d; loh = doh; }
  }
  return least;
}

/** Weighted failover (ip_vs_fo.c): the highest weight among non-overloaded dests; strict > so ties stay on the
 * earlier list entry, and weight 0 never wins. */
export function foPick(list: readonly SchedDest[]): SchedDest | null {
  let best: SchedDest | null = null;
  let hw = 0;
  for (const d of list) {
    if (!isOverloaded(d) && d.weight > hw) { best = d; hw = d.weight; }
  }
  return best;
}

class Stateless implements Scheduler {
  constructor(readonly name: 'wlc' | 'lc' | 'fo', private readonly pick: (l: readonly SchedDest[]) => SchedDest | null) {}
  destsChanged(): void {}
  schedule(list: readonly SchedDest[]): SchedDest | null { return this.pick(list); }
}

/** Round robin: a cursor on a list entry (null = the list head). */
export class RoundRobin implements Scheduler {
  readonly name = 'rr' as const;
  cursor: SchedDest | null = null;

  /** ip_vs_rr_del_dest: a deleted cursor entry moves the cursor to the entry before it (or the head). */
  destsChanged(oldList: readonly SchedDest[], newList: readonly SchedDest[]): void {
    if (!this.cursor || newList.includes(this.cursor)) return;
    const at = oldList.indexOf(this.cursor);
    this.cursor = null;
    for (let i = at - 1; i >= 0; i--) {
      if (newList.includes(oldList[i])) { this.cursor = oldList[i]; return; }
    }
  }

  schedule(list: readonly SchedDest[]): SchedDest | null {
    const n = list.length;
    const from = this.cursor ? list.indexOf(this.cursor) : -1;
    // After the cursor to the end, then from the head up to and including the cursor itself.
    for (let k = 1; k <= n; k++) {
      const d = list[(from + k) % n];
      if (!isOverloaded(d) && d.weight > 0) { this.cursor = d; return d; }
    }
    return null;
  }
}

export interface WrrMark { di: number; mw: number; cw: number }

/** ip_vs_wrr_dest_changed's arithmetic for one list state (its weights): cw clamped (or set, if 0) / realigned. */
export function wrrDestChanged(cw: number, weights: Iterable<number>): WrrMark {
  let g = 0, max = 0;
  for (const w of weights) {
    if (w > 0) g = g > 0 ? gcd(w, g) : w;
    if (w > max) max = w;
  }
  const di = g || 1;
  const mw = max - (di - 1);
  if (cw > mw || !cw) cw = mw;
  else if (di > 1) cw = Math.trunc(cw / di) * di + 1;
  return { di, mw, cw };
}

/**
 * The weights of the list after each ipvsadm call a diff stands for, in this order: deletions (old list order),
 * weight edits (new list order), then additions from the new list's tail (each `-a` inserts at the head, so this
 * order rebuilds the new list). A new service is an `ipvsadm -A` (empty list) followed by its additions.
 */
export function wrrCallSequence(oldList: readonly SchedDest[], oldWeights: readonly number[], newList: readonly SchedDest[]): number[][] {
  const cur = new Map<SchedDest, number>(oldList.map((d, i) => [d, oldWeights[i] ?? d.weight]));
  const steps: number[][] = [];
  const snap = (): void => { steps.push([...cur.values()]); };
  for (const d of oldList) if (!newList.includes(d)) { cur.delete(d); snap(); }
  for (const d of newList) if (cur.has(d) && cur.get(d) !== d.weight) { cur.set(d, d.weight); snap(); }
  for (let i = newList.length - 1; i >= 0; i--) if (!cur.has(newList[i])) { cur.set(newList[i], newList[i].weight); snap(); }
  return steps;
}

/** Weighted round robin: the gcd / max-weight / current-weight walk of ip_vs_wrr.c; cursor -1 = list head. */
export class WeightedRoundRobin implements Scheduler {
  readonly name = 'wrr' as const;
  cl = -1;
  di = 1;
  mw = 0;
  cw = 0;

  /** ip_vs_wrr_init_svc on the list as it is (an empty one for `ipvsadm -A`): cw starts at mw. */
  constructor(list: readonly SchedDest[]) {
    this.apply(wrrDestChanged(0, list.map((d) => d.weight)));
  }

  private apply(m: WrrMark): void {
    this.cl = -1;
    Object.assign(this, m);
  }

  /**
   * One ip_vs_wrr_dest_changed per ipvsadm call of the diff (cursor back to the head, cw clamped or realigned),
   * so a diff leaves the state sequential calls leave: adding weights 9, 6, 4 one by one ends with cw 1, not 9.
   */
  destsChanged(oldList: readonly SchedDest[], list: readonly SchedDest[], oldWeights: readonly number[] = oldList.map((d) => d.weight)): void {
    for (const weights of wrrCallSequence(oldList, oldWeights, list)) this.apply(wrrDestChanged(this.cw, weights));
    // Idempotent after the last call; alone, it stands for an edit that changed no weight (thresholds, order).
    this.apply(wrrDestChanged(this.cw, list.map((d) => d.weight)));
  }

  schedule(list: readonly SchedDest[]): SchedDest | null {
    if (this.mw === 0) return null;
    const last = this.cl;
    let stop = -2;
    let lastPass = false, restarted = false;
    let i = this.cl;
    for (;;) {
      for (i = i + 1; i < list.length; i++) {
        const d = list[i];
        if (!isOverloaded(d) && d.weight >= this.cw) { this.cl = i; return d; }
        if (i === stop) { this.cl = i; return null; }
      }
      i = -1;
      this.cw -= this.di;
      if (this.cw <= 0) {
        this.cw = this.mw;
        if (lastPass || last === -1) { this.cl = -1; return null; }
        restarted = true;
      }
      lastPass = this.cw <= this.di;
      if (lastPass && restarted && last !== -1) stop = last;
    }
  }
}

/** Source hashing: 256 buckets filled in list order, `weight` consecutive buckets per dest (at least 1). */
export class SourceHash implements Scheduler {
  readonly name = 'sh' as const;
  buckets: (SchedDest | null)[] = new Array(SH_TAB_SIZE).fill(null);

  constructor(list: readonly SchedDest[], readonly flags: SchedulerFlags = {}) { this.reassign(list); }

  private reassign(list: readonly SchedDest[]): void {
    let p = 0, count = 0;
    for (let i = 0; i < SH_TAB_SIZE; i++) {
      if (list.length === 0) { this.buckets[i] = null; continue; }
      const d = list[p];
      this.buckets[i] = d;
      if (++count >= d.weight) { p = (p + 1) % list.length; count = 0; }
    }
  }

  destsChanged(_old: readonly SchedDest[], list: readonly SchedDest[]): void { this.reassign(list); }

  static bucketOf(saddr: number, sport: number, offset = 0): number {
    return (offset + hash32((sport + saddr) >>> 0, 8)) % SH_TAB_SIZE;
  }

  schedule(_list: readonly SchedDest[], saddr: number, sport: number): SchedDest | null {
    const port = this.flags.port ? sport : 0;
    const ihash = SourceHash.bucketOf(saddr, port);
    const d = this.buckets[ihash];
    if (!d) return null;
    if (!unavailable(d)) return d;
    if (!this.flags.fallback) return null;
    for (let offset = 0; offset < SH_TAB_SIZE; offset++) {
      const alt = this.buckets[SourceHash.bucketOf(saddr, port, (offset + ihash) % SH_TAB_SIZE)];
      if (!alt) break;
      if (!unavailable(alt)) return alt;
    }
    return null;
  }
}

function unavailable(d: SchedDest): boolean {
  return d.weight <= 0 || isOverloaded(d);
}

function fls(x: number): number {
  return x === 0 ? 0 : 32 - Math.clz32(x);
}

/** Maglev hashing: per-dest (offset, skip) permutations of a 4093-slot table, `turns` slots per round. */
export class MaglevHash implements Scheduler {
  readonly name = 'mh' as const;
  table: (SchedDest | null)[] = new Array(MH_TAB_SIZE).fill(null);
  gcd = 0;
  rshift = 0;

  constructor(list: readonly SchedDest[], readonly flags: SchedulerFlags = {}) { this.reassign(list); }

  static hashKey(addr: number, port: number, key = MH_HASH1, offset = 0): number {
    return hsiphashU32((offset + port + addr) >>> 0, key);
  }

  private reassign(list: readonly SchedDest[]): void {
    let g = 0, mw = 0;
    for (const d of list) {
      if (d.lastWeight > 0) g = g > 0 ? gcd(d.lastWeight, g) : d.lastWeight;
      if (d.lastWeight > mw) mw = d.lastWeight;
    }
    this.gcd = g;
    this.rshift = g < 1 ? 0 : Math.max(0, fls(Math.trunc(mw / g)) - MH_TAB_BITS);
    if (g < 1) { this.table.fill(null); return; }
    const setup = list.map((d) => {
      const offset = MaglevHash.hashKey(d.addr, d.port, MH_HASH1) % MH_TAB_SIZE;
      const skip = (MaglevHash.hashKey(d.addr, d.port, MH_HASH2) % (MH_TAB_SIZE - 1)) + 1;
      const turns = (Math.trunc(d.lastWeight / g) >> this.rshift) || (d.lastWeight !== 0 ? 1 : 0);
      return { offset, skip, perm: offset, turns };
    });
    const taken = new Uint8Array(MH_TAB_SIZE);
    let n = 0, dt = 0;
    for (;;) {
      for (let i = 0; i < list.length;) {
        const ds = setup[i];
        if (ds.turns < 1) { i++; continue; }
        let c = ds.perm;
        while (taken[c]) {
          ds.perm += ds.skip;
          if (ds.perm >= MH_TAB_SIZE) ds.perm -= MH_TAB_SIZE;
          c = ds.perm;
        }
        taken[c] = 1;
        this.table[c] = list[i];
        if (++n === MH_TAB_SIZE) return;
        if (++dt >= ds.turns) { dt = 0; i++; }
      }
    }
  }

  destsChanged(_old: readonly SchedDest[], list: readonly SchedDest[]): void { this.reassign(list); }

  schedule(_list: readonly SchedDest[], saddr: number, sport: number): SchedDest | null {
    const port = this.flags.port ? sport : 0;
    const ihash = MaglevHash.hashKey(saddr, port) % MH_TAB_SIZE;
    const d = this.table[ihash];
    if (!d) return null;
    if (!unavailable(d)) return d;
    if (!this.flags.fallback) return null;
    for (let offset = 0; offset < MH_TAB_SIZE; offset++) {
      const alt = this.table[MaglevHash.hashKey(saddr, port, MH_HASH1, (offset + ihash) % MH_TAB_SIZE) % MH_TAB_SIZE];
      if (!alt) break;
      if (!unavailable(alt)) return alt;
    }
    return null;
  }
}

/** ip_vs_bind_scheduler + init_service: a fresh scheduler state for a service's current list. */
export function createScheduler(name: SchedulerName, list: readonly SchedDest[], flags: SchedulerFlags = {}): Scheduler {
  switch (name) {
    case 'wlc': return new Stateless('wlc', wlcPick);
    case 'lc': return new Stateless('lc', lcPick);
    case 'rr': return new RoundRobin();
    case 'wrr': return new WeightedRoundRobin(list);
    case 'sh': return new SourceHash(list, flags);
    case 'mh': return new MaglevHash(list, flags);
    case 'fo': return new Stateless('fo', foPick);
  }
}
