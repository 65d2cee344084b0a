// The lab's compiled helpers (workload child, demo) must match their TypeScript: rebuild dist/ when any is newer.
import { execFileSync } from 'node:child_process';
import { statSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { basename } from 'node:path';
import { ensureBuilt, paths as sourcePaths } from './build';

// build.ts resolves the repo from test/lab/*.ts; compiled into dist/test/lab (the demo) it would point at dist/.
const root = basename(sourcePaths.root) === 'dist' ? join(sourcePaths.root, '..') : sourcePaths.root;

export const paths = {
  root,
  directord: join(root, 'dist', 'src', 'main.js'),
  directorctl: join(root, 'dist', 'src', 'cli', 'main.js'),
  seedConfig: join(root, 'test', 'fixtures', 'seed', 'lvs.cf'),
};

function newest(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    n = Math.max(n, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return n;
}

let checked = false;

/** ensureBuilt() for src/, plus a rebuild when test/lab/*.ts is newer than its dist/ output. */
export function ensureLabBuilt(): void {
  ensureBuilt();
  if (checked) return;
  checked = true;
  let out = 0;
  try {
    out = statSync(join(paths.root, 'dist', 'test', 'lab', 'workload.js')).mtimeMs;
  } catch {
    out = 0;
  }
  if (newest(join(paths.root, 'test', 'lab')) <= out) return;
  try {
    execFileSync(join(paths.root, 'node_modules', '.bin', 'tsc'), ['-p', paths.root], { stdio: 'ignore' });
  } catch {
    /* type errors elsewhere still emit; a missing output fails loudly when spawned */
  }
}
