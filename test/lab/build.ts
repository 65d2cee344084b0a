// End-to-end tests run the real compiled daemon and CLI; this makes sure dist/ is fresh (once per test process).
import { execFileSync } from 'node:child_process';
import { statSync, readdirSync } from 'node:fs';
import { join, basename } from 'node:path';

// From test/lab/*.ts the repo is two levels up; compiled into dist/test/lab it is three.
const up2 = join(__dirname, '..', '..');
const root = basename(up2) === 'dist' ? join(up2, '..') : up2;
let built = false;

function newestMtime(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/** Compile TypeScript to dist/ if any source (src/, test/lab/) is newer than the last build. Type errors do not block emission. */
export function ensureBuilt(): void {
  if (built) return;
  let stale = true;
  try {
    // test/lab holds code that runs compiled too (the workload child, the demo), so it counts as a source.
    stale = Math.max(newestMtime(join(root, 'src')), newestMtime(join(root, 'test', 'lab'))) > statSync(join(root, 'dist', 'src', 'main.js')).mtimeMs;
  } catch {
    stale = true;
  }
  if (stale) {
    try {
      execFileSync(join(root, 'node_modules', '.bin', 'tsc'), ['-p', root], { stdio: 'ignore' });
    } catch {
      /* tsc exits non-zero on type errors but still emits; the e2e test will fail loudly if the output is unusable */
    }
  }
  built = true;
}

export const paths = {
  root,
  directord: join(root, 'dist', 'src', 'main.js'),
  directorctl: join(root, 'dist', 'src', 'cli', 'main.js'),
  seedConfig: join(root, 'test', 'fixtures', 'seed', 'lvs.cf'),
};
