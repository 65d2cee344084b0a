// The fault soak's ground truth: who holds the VIP when (from `ip monitor address` in each director's namespace),
// which director could act (not killed, not frozen), and the per-fault sums of "two live holders" and "no live holder".
import type { ChildProcess } from 'node:child_process';
import type { Lab } from './lab';
import { execIn } from './ns-exec';

export type Director = 'lb1' | 'lb2';
export const DIRECTORS: readonly Director[] = ['lb1', 'lb2'];

export interface HolderEvent { t: number; host: Director; has: boolean }
export interface Window { from: number; to: number }
export interface Segment { from: number; to: number; holders: Director[]; live: Director[] }

/**
 * Event-driven holder sampling: one `ip -o -4 monitor address` per director namespace (no polling gap, no sampling
 * cost on a 2-core machine), seeded with one `ip addr` read once the monitors run.
 */
export class HolderMonitor {
  readonly events: HolderEvent[] = [];
  private children: ChildProcess[] = [];

  constructor(private readonly lab: Lab, private readonly vip: string) {}

  async start(): Promise<void> {
    for (const host of DIRECTORS) {
      // -ts: the time `ip` read the netlink message, not when this (busy) process got round to reading the pipe.
      const c = this.lab.spawn(host, ['ip', '-ts', '-o', '-4', 'monitor', 'address'], { stdio: ['ignore', 'pipe', 'ignore'] });
      this.children.push(c);
      let buf = '';
      c.stdout!.on('data', (d) => {
        buf += String(d);
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          const m = /^\[([0-9T:.-]+)\] (.*)$/.exec(line);
          if (!m || !m[2].includes(` inet ${this.vip}/`)) continue;
          const t = new Date(m[1]).getTime();
          this.events.push({ t: Number.isFinite(t) ? t : Date.now(), host, has: !m[2].startsWith('Deleted') });
        }
      });
    }
    await new Promise((r) => setTimeout(r, 300));
    const t = Date.now();
    for (const host of DIRECTORS) {
      const r = await execIn(this.lab, host, ['ip', '-o', '-4', 'addr', 'show']);
      this.events.unshift({ t: t - 1, host, has: r.stdout.includes(` ${this.vip}/`) });
    }
  }

  /** Holders now, from the events (what `ip addr` would say). */
  holders(): Director[] {
    const has = new Map<Director, boolean>();
    for (const e of this.events) has.set(e.host, e.has);
    return DIRECTORS.filter((h) => has.get(h));
  }

  stop(): void {
    for (const c of this.children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  }
}

const inAny = (ws: Window[] | undefined, t: number): boolean => !!ws?.some((w) => t >= w.from && t < w.to);

/** Cut [start, end) at every holder event and every edge of a not-live window; holders and live holders per piece. */
export function segments(start: number, end: number, events: HolderEvent[], notLive: Record<Director, Window[]>): Segment[] {
  const cuts = new Set<number>([start, end]);
  for (const e of events) if (e.t > start && e.t < end) cuts.add(e.t);
  for (const h of DIRECTORS) for (const w of notLive[h]) for (const x of [w.from, w.to]) if (x > start && x < end) cuts.add(x);
  const times = [...cuts].sort((a, b) => a - b);
  const sorted = [...events].sort((a, b) => a.t - b.t);
  const out: Segment[] = [];
  const has = new Map<Director, boolean>();
  let i = 0;
  for (let k = 0; k + 1 < times.length; k++) {
    const from = times[k];
    while (i < sorted.length && sorted[i].t <= from) has.set(sorted[i].host, sorted[i].has), i++;
    const holders = DIRECTORS.filter((h) => has.get(h));
    // A killed director's kernel may still hold the VIP until the cleanup; a frozen one cannot answer: neither "acts".
    out.push({ from, to: times[k + 1], holders, live: holders.filter((h) => !inAny(notLive[h], from)) });
  }
  return out;
}

/** Milliseconds within [w.from, w.to) spent in segments that satisfy pred. */
export function msWhere(segs: Segment[], w: Window, pred: (s: Segment) => boolean): number {
  let ms = 0;
  for (const s of segs) {
    if (!pred(s)) continue;
    const a = Math.max(s.from, w.from);
    const b = Math.min(s.to, w.to);
    if (b > a) ms += b - a;
  }
  return ms;
}

/** Longest run of consecutive time satisfying pred within w (a run may span several segments). */
export function longestMs(segs: Segment[], w: Window, pred: (s: Segment) => boolean): number {
  let best = 0;
  let run = 0;
  let last = -Infinity;
  for (const s of segs) {
    const a = Math.max(s.from, w.from);
    const b = Math.min(s.to, w.to);
    if (b <= a) continue;
    if (pred(s)) {
      run = a === last ? run + (b - a) : b - a;
      last = b;
      best = Math.max(best, run);
    } else last = -Infinity;
  }
  return best;
}
