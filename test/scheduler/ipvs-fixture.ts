// Expected values from test/fixtures/scheduler/ipvs-hash.json, generated once by ipvs-hash.py (a separate Python
// rendering of the kernel's hsiphash, hash_32, ip_vs_mh.c and ip_vs_sh.c), so no test computes them with the code it checks.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

interface Fixture {
  maglev: { dests: { address: string; port: number; weight: number }[]; table: string }[];
  mhSlot: { client: string; port: number; slot: number }[];
  shBucket: { client: string; port: number; bucket: number }[];
}

export const IPVS_HASH = JSON.parse(readFileSync(join(__dirname, '..', 'fixtures', 'scheduler', 'ipvs-hash.json'), 'utf8')) as Fixture;

/** ip_vs_mh's lookup slot of a client (hsiphash with hash1, mod 4093). */
export function mhSlot(client: string, port = 0): number {
  const f = IPVS_HASH.mhSlot.find((x) => x.client === client && x.port === port);
  if (!f) throw new Error(`ipvs-hash.json has no mh slot for ${client}:${port}: add it to ipvs-hash.py and regenerate`);
  return f.slot;
}

/** ip_vs_sh's bucket of a client (hash_32(addr + port, 8)). */
export function shBucket(client: string, port = 0): number {
  const f = IPVS_HASH.shBucket.find((x) => x.client === client && x.port === port);
  if (!f) throw new Error(`ipvs-hash.json has no sh bucket for ${client}:${port}: add it to ipvs-hash.py and regenerate`);
  return f.bucket;
}
