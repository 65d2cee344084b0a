// The long fault soak (issue 12): the same run as test/acceptance/fault-soak.test.ts (test/lab/fault-soak.ts), for as
// long as asked, with a given or random seed; prints one line per fault and the totals, exits 1 on any violation.
// Run as root: node -r @isaacs/ts-node-temp-fork-for-pr-2009/register/transpile-only bench/fault-soak.ts [seconds] [seed] [kinds]
// (kinds: comma-separated subset of kill,stop,link,partition,reload,flood,replay,forge, to chase one finding; seed '-' = random)
import { runSoak, formatReport } from '../test/lab/fault-soak';
import type { FaultKind } from '../test/lab/soak-faults';

const seconds = Number(process.argv[2] ?? 300);
const seed = process.argv[3] !== undefined && process.argv[3] !== '-' ? Number(process.argv[3]) : undefined;
const kinds = process.argv[4] ? (process.argv[4].split(',') as FaultKind[]) : undefined;

runSoak({ faultSeconds: seconds, seed, kinds, log: (l) => console.log(l) }).then(
  (r) => {
    for (const l of formatReport(r)) console.log(l);
    const ok = r.lost.length === 0 && r.doubleMs === 0 && r.differing === 0 && r.violations.length === 0;
    console.log(ok ? 'PASS: every goal held' : 'FAIL: see above');
    process.exit(ok ? 0 : 1);
  },
  (e) => {
    console.error(e);
    process.exit(2);
  },
);
