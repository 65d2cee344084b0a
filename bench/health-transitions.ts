// Real-server detection and re-entry times in the seed lab (fast variant: timeout 1, reentry 2), the figures that
// test/acceptance/failures.test.ts used to bound with seconds of slack. Each round the director's checks of sql2 are
// refused (nft reject with tcp reset, in sql2's namespace) until the `[inactive]` line, then allowed until `[ active ]`;
// both timed from the rule change to the daemon's own log time, as ratios to what the configuration implies
// (detection: one failed check, at most `timeout` away; re-entry: reentry/timeout good checks, `timeout` apart).
// Those configured times are the reference; the check script's own duration, run by hand from lb1 each round, is
// printed as the part of each figure the check itself takes (not as a baseline: a check is not a transition).
// Run as root: node -r @isaacs/ts-node-temp-fork-for-pr-2009/register/transpile-only bench/health-transitions.ts [rounds]
import { readFileSync } from 'node:fs';
import { SeedLab, SEED, seedVariant, FAST_TIMINGS, checkScriptPath } from '../test/lab/seed';
import { ensureLabBuilt, paths } from '../test/lab/build-lab';

const ROUNDS = Number(process.argv[2] ?? 5);
const TIMEOUT_MS = FAST_TIMINGS.virtual.timeout * 1000;
const REENTRY_MS = FAST_TIMINGS.virtual.reentry * 1000;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

async function main(): Promise<void> {
  ensureLabBuilt();
  const seed = await SeedLab.create();
  try {
    const config = seedVariant(readFileSync(paths.seedConfig, 'utf8'), { ...FAST_TIMINGS.global }, { ...FAST_TIMINGS.virtual });
    const lb = await seed.startDirector('lb1', config);
    await lb.waitForwarding(true, 30000);
    const rip = `${SEED.sql2}:3306`;
    const lineOf = (kind: string) => (r: { msg?: unknown }) => String(r.msg).startsWith(kind) && String(r.msg).includes(rip);
    await lb.waitLog('sql2 in the table', lineOf('[ active ]'), 30000);
    const block = `nft add table inet ddbench && nft add chain inet ddbench in '{ type filter hook input priority 0; }' && nft add rule inet ddbench in ip saddr ${SEED.lb1} tcp dport 3306 reject with tcp reset`;
    const detection: number[] = [];
    const reentry: number[] = [];
    const check: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const c0 = Date.now();
      await seed.run('lb1', ['sh', '-c', `${checkScriptPath()} ${SEED.sql2} 3306 >/dev/null 2>&1 || true`]);
      check.push(Date.now() - c0);
      let mark = lb.records.length;
      const t0 = Date.now();
      await seed.must('sql2', ['sh', '-c', block]);
      const out = await lb.waitLog('[inactive] sql2', lineOf('[inactive]'), 20000, mark);
      detection.push(Date.parse(String(out.time)) - t0);
      mark = lb.records.length;
      const t1 = Date.now();
      await seed.must('sql2', ['nft', 'delete', 'table', 'inet', 'ddbench']);
      const back = await lb.waitLog('[ active ] sql2', lineOf('[ active ]'), 20000, mark);
      reentry.push(Date.parse(String(back.time)) - t1);
      process.stdout.write(`round ${i + 1}: detection ${detection[i]} ms, re-entry ${reentry[i]} ms, check by hand ${check[i]} ms\n`);
    }
    const row = (name: string, xs: number[], ref: number) =>
      `${name}: median ${median(xs)} ms (${(median(xs) / ref).toFixed(2)} x ${ref} ms), max ${Math.max(...xs)} ms (${(Math.max(...xs) / ref).toFixed(2)} x), all ${xs.join(', ')}`;
    process.stdout.write(`${row('detection', detection, TIMEOUT_MS)}\n${row('re-entry', reentry, REENTRY_MS)}\n`);
    process.stdout.write(`one check by hand (included in each figure): median ${median(check)} ms\n`);
  } finally {
    await seed.destroy();
  }
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
