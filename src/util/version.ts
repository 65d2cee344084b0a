// directord's version and build facts, for `--version` on both programs and the directord_build_info metric.
// The version is package.json's (read once, from the source, dist/ and packaged layouts alike).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export interface BuildInfo {
  version: string;
  /** The Node.js running directord (the package needs >= 20). */
  nodejs: string;
}

let cached: BuildInfo | undefined;

/** package.json of directord: the nearest one above this file whose name is "directord". */
function findPackageJson(dir: string): { version: string } {
  for (let d = dir; ; d = dirname(d)) {
    const f = join(d, 'package.json');
    if (existsSync(f)) {
      const p = JSON.parse(readFileSync(f, 'utf8')) as { name?: string; version?: string };
      if (p.name === 'directord' && p.version) return { version: p.version };
    }
    if (dirname(d) === d) return { version: 'unknown' };
  }
}

export function buildInfo(): BuildInfo {
  cached ??= { version: findPackageJson(__dirname).version, nodejs: process.versions.node };
  return cached;
}

/** The `--version` line, as `directord 0.1.0 (Node.js 20.20.2)`. */
export function versionLine(program: string): string {
  const b = buildInfo();
  return `${program} ${b.version} (Node.js ${b.nodejs})\n`;
}
