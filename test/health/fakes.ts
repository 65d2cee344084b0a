// Test doubles for the monitor: a manual clock with timers, scripted probes, and a pino sink of parsed records.
import { Writable } from 'node:stream';
import pino from 'pino';
import type { Clock } from '../../src/health/monitor';
import type { Probe, ProbeResult } from '../../src/health/probe';
import type { ProbeSpec } from '../../src/health/spec';

export class ManualClock implements Clock {
  private t = 0;
  private seq = 0;
  private timers = new Map<number, { at: number; fn: () => void }>();
  constructor(private readonly rnd = 0.5) {}
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.seq;
    this.timers.set(id, { at: this.t + ms, fn });
    return id;
  }
  clearTimeout(h: unknown): void {
    this.timers.delete(h as number);
  }
  random(): number {
    return this.rnd;
  }
  pending(): number[] {
    return [...this.timers.values()].map((x) => x.at).sort((a, b) => a - b);
  }
  /** Move time forward, firing due timers in order and letting the probes' promises settle after each. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      await settle();
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const e of this.timers) if (e[1].at <= end && (!next || e[1].at < next[1].at)) next = e;
      if (!next) break;
      this.timers.delete(next[0]);
      this.t = next[1].at;
      next[1].fn();
    }
    this.t = end;
    await settle();
  }
}

export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
}

export type Outcome = Omit<ProbeResult, 'durationMs'>;

/** Probes whose result per address the test sets; counts runs, creations and closes. */
export class ScriptedProbes {
  outcomes = new Map<string, Outcome>();
  created: ProbeSpec[] = [];
  runs = new Map<string, number>();
  closed = 0;
  set(address: string, o: Outcome | boolean): void {
    this.outcomes.set(address, typeof o === 'boolean' ? (o ? { ok: true, reason: 'ok' } : { ok: false, reason: 'connect_refused' }) : o);
  }
  factory = (spec: ProbeSpec): Probe => {
    this.created.push(spec);
    return {
      run: async () => {
        this.runs.set(spec.address, (this.runs.get(spec.address) ?? 0) + 1);
        return { ...(this.outcomes.get(spec.address) ?? { ok: true, reason: 'ok' }), durationMs: 3 };
      },
      close: async () => {
        this.closed++;
      },
    };
  };
}

export function logSink(): { logger: pino.Logger; records: Array<Record<string, any>> } {
  const records: Array<Record<string, any>> = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      for (const line of String(chunk).split('\n')) if (line) records.push(JSON.parse(line));
      cb();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), records };
}
