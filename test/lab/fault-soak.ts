// The fault soak (issue 12), shared by test/acceptance/fault-soak.test.ts (bounded) and bench/fault-soak.ts (long):
// the seed lab under a MySQL workload through the VIP, seeded random faults in sequence, and what they cost.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { waitFor } from './lab';
import { SeedLab, SEED, seedVariant, FAST_TIMINGS } from './seed';
import { waitCaughtUp } from './mariadb';
import type { Workload } from './workload';
import { ensureLabBuilt, paths } from './build-lab';
import { fuzzRandom } from '../ha/fuzz-seed';
import { HolderMonitor, segments, msWhere, longestMs, DIRECTORS, type Director, type Window } from './soak-timeline';
import { FAULTS, FAULT_KINDS, TAKEN_PORT, captureHeartbeats, type FaultKind, type SoakContext } from './soak-faults';

export const SOAK_SEED_ENV = 'DIRECTORD_SOAK_SEED';
const KEEPALIVE_MS = FAST_TIMINGS.global.keepalive * 1000;
const DEADTIME_MS = FAST_TIMINGS.global.deadtime * 1000;
/** Scheduling slack on a shared 2-core machine, as in failures.test.ts. */
export const SLACK_MS = 3000;
/**
 * Longest time without a live VIP holder one fault may cost: at most one takeover, which waits `deadtime` of
 * silence, notices it on the next tick (one keepalive), then adds the VIP; plus the slack.
 */
export const NONE_BOUND_MS = DEADTIME_MS + KEEPALIVE_MS + SLACK_MS;
/**
 * After a fault that kept the directors deaf to each other ends (a partition, a link down, the SIGCONT of a frozen
 * VIP holder), both may hold the VIP until each hears the other: one keepalive each way, plus the slack. Two live
 * holders at any other time count against the goal.
 */
export const RESOLVE_MS = 2 * KEEPALIVE_MS + SLACK_MS;
/** Pause after a fault has recovered, before the next: the system settles (deadtime + margin). */
const SETTLE_MS = DEADTIME_MS + 500;

export interface FaultResult {
  n: number;
  kind: FaultKind | 'warm-up';
  target: string;
  detail: string;
  /** ms from the soak's start. */
  at: number;
  /** How long the fault was applied, and from its removal until the service was whole again (or -1: never). */
  appliedMs: number;
  recoveredMs: number;
  /** Two live VIP holders: while deaf or resolving (inherent, reported) and otherwise (goal 0). */
  splitMs: number;
  doubleMs: number;
  /** No live VIP holder: total and longest run. */
  noneMs: number;
  noneLongestMs: number;
  /** VIP addresses added or removed in either director during the fault's window. */
  vipMoves: number;
  quiet: boolean;
}

export interface SoakReport {
  seed: number;
  replay: string;
  faultSeconds: number;
  faults: FaultResult[];
  committed: number;
  failedAttempts: number;
  lost: number[];
  doubleMs: number;
  splitMs: number;
  differing: number;
  rows: [number, number];
  violations: string[];
  /** The directors' warnings and errors during each fault that broke a goal (to diagnose a seed's finding). */
  evidence: string[];
  /**
   * Per director, from its own logs over the whole run, outside its SIGSTOPs and kills (+1 s): event-loop stalls
   * over the bound and heartbeats sent later than 2 x keepalive (ms each), and its "partner dead" records.
   */
  loop: Record<Director, { stalls: number[]; causes: Record<string, number>; lateSends: number[]; peerDead: string[] }>;
}

export interface SoakOptions {
  faultSeconds: number;
  seed?: number;
  /** Only these kinds (to chase one finding); default all. */
  kinds?: readonly FaultKind[];
  log?: (line: string) => void;
}

/** The soak's lvs.cf: the seed's, fast timings, and a heartbeat key (forgery and replay resistance is what is tested). */
function soakConfig(keyFile: string): string {
  return seedVariant(readFileSync(paths.seedConfig, 'utf8'), { ...FAST_TIMINGS.global, heartbeat_key_file: keyFile }, { ...FAST_TIMINGS.virtual });
}

export async function runSoak(opts: SoakOptions): Promise<SoakReport> {
  ensureLabBuilt();
  const rnd = fuzzRandom({ env: SOAK_SEED_ENV, seed: opts.seed });
  const log = opts.log ?? (() => undefined);
  log(`fault soak: ${rnd.replay.replace('FUZZ_SEED', SOAK_SEED_ENV)}, ${opts.faultSeconds} s of faults`);
  const seed = await SeedLab.create();
  let workload: Workload | undefined;
  const mon = new HolderMonitor(seed.lab, SEED.vip);
  try {
    const keyFile = join(seed.dirs.root, 'heartbeat.key');
    writeFileSync(keyFile, rnd.bytes(32).toString('hex') + '\n', { mode: 0o600 });
    const config = soakConfig(keyFile);
    for (const h of DIRECTORS) seed.lab.spawn(h, [process.execPath, '-e', `require('dgram').createSocket('udp4').bind(${TAKEN_PORT})`]);
    // Spoofed flood sources are dropped at the real servers' ingress, as a real network's bogon filter would.
    for (const s of ['sql1', 'sql2']) await seed.must(s, ['nft', 'add table netdev ddflood; add chain netdev ddflood ing { type filter hook ingress device eth0 priority 0; policy accept; }; add rule netdev ddflood ing ip saddr 10.62.0.0/16 drop']);
    await mon.start();
    await seed.startDirector('lb1', config);
    await seed.director('lb1').waitForwarding(true, 15000);
    await seed.startDirector('lb2', config);
    await waitFor('both servers in the table', async () => (await seed.director('lb1').status()).health.filter((h) => h.inTable).length === 2, 15000, 100);
    const w = await seed.startWorkload({ intervalMs: 20, timeoutMs: 1000 });
    workload = w;
    await waitFor('the workload to commit through the VIP', () => w.committed.length > 5, 20000, 100);

    const ctx: SoakContext = { seed, rnd, mon, notLive: { lb1: [], lb2: [] }, baseConfig: config, captured: [], violations: [], log };
    for (const h of DIRECTORS) await captureHeartbeats(ctx, h);

    /** Whole again: both daemons up, exactly one holder that is the one forwarding, a commit started after `since`. */
    const recovered = (since: number): Promise<number | undefined> =>
      waitFor('recovery', async () => {
        if (!DIRECTORS.every((h) => seed.directors.get(h)?.running)) return undefined;
        const fwd: Director[] = [];
        for (const h of DIRECTORS) if ((await seed.director(h).status()).ha.forwarding) fwd.push(h);
        const holders = mon.holders();
        if (holders.length !== 1 || fwd.length !== 1 || fwd[0] !== holders[0]) return undefined;
        return w.recoveryMs(since) !== undefined ? Date.now() : undefined;
      }, 30000, 100).catch(() => undefined);

    const t0 = Date.now();
    const records: Array<{ kind: FaultKind | 'warm-up'; target: string; detail: string; start: number; end: number; deaf?: Window; quiet?: boolean; recovered: number | undefined }> = [];
    records.push({ kind: 'warm-up', target: '-', detail: 'no fault', start: t0, end: t0, recovered: t0 });
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    // Rounds of every kind in a seeded order: each kind occurs once per round, the order differs per seed.
    let round: FaultKind[] = [];
    while (Date.now() - t0 < opts.faultSeconds * 1000) {
      if (round.length === 0) round = [...(opts.kinds ?? FAULT_KINDS)].map((k) => ({ k, r: rnd.random() })).sort((a, b) => a.r - b.r).map((x) => x.k);
      const kind = round.shift()!;
      const start = Date.now();
      const out = await FAULTS[kind](ctx);
      const rec = await recovered(out.end);
      if (rec === undefined) ctx.violations.push(`fault ${records.length} (${kind} ${out.target}): not recovered 30 s after it ended`);
      records.push({ kind, ...out, start, recovered: rec });
      log(`${String(records.length - 1).padStart(3)} ${kind.padEnd(9)} ${out.target.padEnd(4)} ${out.detail}; whole again after ${rec === undefined ? 'never' : `${rec - out.end} ms`}`);
      await new Promise((r) => setTimeout(r, SETTLE_MS));
    }
    const tEnd = Date.now();
    await w.stop();
    mon.stop();

    // Every moment belongs to one fault: from its start to the next fault's start.
    const segs = segments(t0, tEnd, mon.events, ctx.notLive);
    const faults: FaultResult[] = records.map((r, n) => {
      const win: Window = { from: r.start, to: n + 1 < records.length ? records[n + 1].start : tEnd };
      const two = (s: { live: Director[] }): boolean => s.live.length === 2;
      const split = r.deaf ? msWhere(segs, { from: r.deaf.from, to: Math.min(win.to, r.deaf.to + RESOLVE_MS) }, two) : 0;
      const none = (s: { live: Director[] }): boolean => s.live.length === 0;
      return {
        n, kind: r.kind, target: r.target, detail: r.detail, at: r.start - t0, appliedMs: r.end - r.start,
        recoveredMs: r.recovered === undefined ? -1 : r.recovered - r.end,
        splitMs: split, doubleMs: msWhere(segs, win, two) - split,
        noneMs: msWhere(segs, win, none), noneLongestMs: longestMs(segs, win, none),
        vipMoves: mon.events.filter((e) => e.t >= win.from && e.t < win.to).length, quiet: !!r.quiet,
      };
    });
    for (const f of faults) {
      if (f.doubleMs > 0) ctx.violations.push(`fault ${f.n} (${f.kind} ${f.target}): two live VIP holders for ${f.doubleMs} ms outside the deaf window`);
      if (f.quiet && f.vipMoves > 0) ctx.violations.push(`fault ${f.n} (${f.kind} ${f.target}): moved the VIP (${f.vipMoves} address changes) though it must not`);
      if (f.noneLongestMs > NONE_BOUND_MS) ctx.violations.push(`fault ${f.n} (${f.kind} ${f.target}): no live VIP holder for ${f.noneLongestMs} ms (bound ${NONE_BOUND_MS} ms)`);
    }

    const evidence: string[] = [];
    for (const f of faults.filter((x) => (x.quiet && x.vipMoves > 0) || x.doubleMs > 0 || x.noneLongestMs > NONE_BOUND_MS)) {
      const from = t0 + f.at - 500;
      const to = f.n + 1 < faults.length ? t0 + faults[f.n + 1].at : tEnd;
      for (const h of DIRECTORS) {
        for (const rec of seed.directors.get(h)?.records ?? []) {
          const at = Date.parse(String(rec.time));
          if (at >= from && at < to && ['warn', 'error', 'fatal', '40', '50', '60'].includes(String(rec.level))) evidence.push(`fault ${f.n} ${h} ${String(rec.time)} ${JSON.stringify(rec).slice(0, 300)}`);
        }
      }
      for (const e of mon.events.filter((x) => x.t >= from && x.t < to)) evidence.push(`fault ${f.n} VIP ${e.has ? 'added on' : 'removed from'} ${e.host} at ${new Date(e.t).toISOString()}`);
    }

    const loop = {} as SoakReport['loop'];
    for (const h of DIRECTORS) {
      const out = (loop[h] = { stalls: [] as number[], causes: {} as Record<string, number>, lateSends: [] as number[], peerDead: [] as string[] });
      const frozen = (at: number): boolean => ctx.notLive[h].some((w) => at >= w.from && at <= w.to + 1000);
      for (const rec of seed.directors.get(h)?.records ?? []) {
        const at = Date.parse(String(rec.time));
        if (at < t0 || frozen(at)) continue;
        const msg = String(rec.msg ?? '');
        if (msg.startsWith('event loop stalled')) {
          out.stalls.push(Number(rec.stallMs));
          out.causes[String(rec.cause)] = (out.causes[String(rec.cause)] ?? 0) + 1;
        }
        else if (msg.startsWith('heartbeat sent late')) out.lateSends.push(Number(rec.gapMs));
        else if (msg === 'partner dead') out.peerDead.push(`${String(rec.time)} silent ${String(rec.silentMs)} ms, timer late ${String(rec.timerLateMs)} ms, rejected since ${JSON.stringify(rec.rejectedSince)}`);
      }
    }

    // Replication catches up both ways, then the servers are compared with what the workload saw committed.
    await waitCaughtUp(seed.sql1, seed.sql2, 60000);
    await waitCaughtUp(seed.sql2, seed.sql1, 60000);
    const rows = async (s: typeof seed.sql1): Promise<Map<number, string>> =>
      new Map((await s.query('select seq, server_id from test.workload')).map((r) => [Number(r[0]), r[1]]));
    const [r1, r2] = [await rows(seed.sql1), await rows(seed.sql2)];
    const lost = w.committed.filter((n) => !r1.has(n) || !r2.has(n));
    let differing = 0;
    for (const [k, v] of r1) if (r2.get(k) !== v) differing++;
    for (const k of r2.keys()) if (!r1.has(k)) differing++;
    return {
      seed: rnd.seed, replay: `${SOAK_SEED_ENV}=${rnd.seed}`, faultSeconds: opts.faultSeconds, faults,
      committed: w.committed.length, failedAttempts: w.failures.length, lost,
      doubleMs: faults.reduce((a, f) => a + f.doubleMs, 0), splitMs: faults.reduce((a, f) => a + f.splitMs, 0),
      differing, rows: [r1.size, r2.size], violations: ctx.violations, evidence, loop,
    };
  } finally {
    mon.stop();
    await workload?.stop().catch(() => undefined);
    await seed.destroy();
  }
}

/** Human-readable lines: one per fault, then the totals. */
export function formatReport(r: SoakReport): string[] {
  const lines = [`seed ${r.seed} (replay: ${r.replay}), ${r.faults.length - 1} faults in ${r.faultSeconds} s`,
    '  n kind      target  applied  whole-after  split(deaf)  double  none(total/longest)  VIP-moves  detail'];
  for (const f of r.faults) {
    lines.push(`${String(f.n).padStart(3)} ${f.kind.padEnd(9)} ${f.target.padEnd(6)} ${String(f.appliedMs).padStart(7)} ${String(f.recoveredMs).padStart(11)} ${String(f.splitMs).padStart(12)} ${String(f.doubleMs).padStart(7)} ${`${f.noneMs}/${f.noneLongestMs}`.padStart(20)} ${`${f.vipMoves}${f.quiet ? ' (0 due)' : ''}`.padStart(10)}  ${f.detail}`);
  }
  lines.push(`committed ${r.committed} (failed attempts ${r.failedAttempts}), lost ${r.lost.length}; two live holders outside deaf windows ${r.doubleMs} ms (inside ${r.splitMs} ms); rows sql1 ${r.rows[0]}, sql2 ${r.rows[1]}, differing ${r.differing}`);
  lines.push(`no-holder bound per fault ${NONE_BOUND_MS} ms (deadtime ${DEADTIME_MS} + keepalive ${KEEPALIVE_MS} + slack ${SLACK_MS}); deaf window = fault + ${RESOLVE_MS} ms`);
  for (const h of DIRECTORS) {
    const l = r.loop[h];
    const desc = (xs: number[]): string => (xs.length ? `max ${Math.max(...xs)} ms, >= 300 ms: ${xs.filter((x) => x >= 300).length}, longest ${[...xs].sort((a, b) => b - a).slice(0, 5).join('/')}` : 'none');
    lines.push(`${h} (outside its own freezes/kills): ${l.stalls.length} event-loop stalls (${desc(l.stalls)}; by cause ${JSON.stringify(l.causes)}); ${l.lateSends.length} heartbeats sent late (${desc(l.lateSends)}); ${l.peerDead.length} "partner dead"`);
    for (const d of l.peerDead) lines.push(`  ${h} partner dead: ${d}`);
  }
  for (const v of r.violations) lines.push(`VIOLATION: ${v}`);
  for (const e of r.evidence) lines.push(`  evidence: ${e}`);
  return lines;
}
