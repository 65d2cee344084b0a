// The two hash functions IPVS schedulers use: hash_32 (sh, <linux/hash.h>) and the 64-bit-kernel hsiphash
// (SipHash-1-3 returning 32 bits, lib/siphash.c) that ip_vs_mh.c calls with fixed keys.

const GOLDEN_RATIO_32 = 0x61c88647;

/** hash_32(val, bits): the top `bits` bits of val * GOLDEN_RATIO_32 (mod 2^32). */
export function hash32(val: number, bits: number): number {
  return Math.imul(val >>> 0, GOLDEN_RATIO_32) >>> (32 - bits);
}

export interface HsipKey {
  k0: bigint;
  k1: bigint;
}

const M64 = (1n << 64n) - 1n;
const rotl = (x: bigint, b: bigint): bigint => ((x << b) | (x >> (64n - b))) & M64;

function sipRound(v: bigint[]): void {
  v[0] = (v[0] + v[1]) & M64; v[1] = rotl(v[1], 13n); v[1] ^= v[0]; v[0] = rotl(v[0], 32n);
  v[2] = (v[2] + v[3]) & M64; v[3] = rotl(v[3], 16n); v[3] ^= v[2];
  v[0] = (v[0] + v[3]) & M64; v[3] = rotl(v[3], 21n); v[3] ^= v[0];
  v[2] = (v[2] + v[1]) & M64; v[1] = rotl(v[1], 17n); v[1] ^= v[2]; v[2] = rotl(v[2], 32n);
}

/** hsiphash(data, len, key) as built on 64-bit kernels: SipHash-1-3, result truncated to u32. */
export function hsiphashBytes(data: Uint8Array, key: HsipKey): number {
  const v = [
    0x736f6d6570736575n ^ key.k0,
    0x646f72616e646f6dn ^ key.k1,
    0x6c7967656e657261n ^ key.k0,
    0x7465646279746573n ^ key.k1,
  ];
  const len = data.length;
  const full = len - (len % 8);
  for (let i = 0; i < full; i += 8) {
    let m = 0n;
    for (let j = 7; j >= 0; j--) m = (m << 8n) | BigInt(data[i + j]);
    v[3] ^= m;
    sipRound(v);
    v[0] ^= m;
  }
  let b = BigInt(len & 255) << 56n;
  for (let j = len - 1; j >= full; j--) b |= BigInt(data[j]) << BigInt(8 * (j - full));
  v[3] ^= b;
  sipRound(v);
  v[0] ^= b;
  v[2] ^= 0xffn;
  sipRound(v); sipRound(v); sipRound(v);
  return Number((v[0] ^ v[1] ^ v[2] ^ v[3]) & 0xffffffffn);
}

const scratch = new Uint8Array(4);
/** hsiphash(&v, sizeof(u32), key) for a host-order u32 on a little-endian machine (x86_64, arm64). */
export function hsiphashU32(value: number, key: HsipKey): number {
  scratch[0] = value & 255; scratch[1] = (value >>> 8) & 255; scratch[2] = (value >>> 16) & 255; scratch[3] = value >>> 24;
  return hsiphashBytes(scratch, key);
}

/** generate_hash_secret() in ip_vs_mh.c: fixed, so every director builds the same Maglev table. */
export const MH_HASH1: HsipKey = { k0: 2654435761n, k1: 2654435761n };
export const MH_HASH2: HsipKey = { k0: 2654446892n, k1: 2654446892n };
