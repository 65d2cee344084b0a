// Seeded randomness for the fuzz tests: mulberry32 (one copy for every test), a fresh seed each run
// unless FUZZ_SEED is set, and the seed put in the assertion messages so a failing run can be replayed.
import { randomInt } from 'node:crypto';

/** mulberry32: a small seeded PRNG, [0, 1) like Math.random, so every run (and every failure) is reproducible. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

export interface FuzzRandom {
  seed: number;
  /** [0, 1), like Math.random. */
  random(): number;
  /** n pseudo-random bytes (replaces crypto.randomBytes, which cannot be seeded). */
  bytes(n: number): Buffer;
  /** For assertion messages: how to replay this run. */
  replay: string;
}

/** opts.seed wins, then the environment variable opts.env (default FUZZ_SEED), then a fresh random seed. */
export function fuzzRandom(opts: { env?: string; seed?: number } = {}): FuzzRandom {
  const name = opts.env ?? 'FUZZ_SEED';
  const env = process.env[name];
  const seed = opts.seed !== undefined ? opts.seed >>> 0 : env !== undefined && env !== '' ? Number(env) >>> 0 : randomInt(2 ** 32 - 1);
  const random = mulberry32(seed);
  const bytes = (n: number): Buffer => {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = Math.floor(random() * 256);
    return b;
  };
  return { seed, random, bytes, replay: `seed ${seed}, replay with ${name}=${seed}` };
}
