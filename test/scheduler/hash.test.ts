// hash_32 and the 64-bit kernel hsiphash, against hand computation and the kernel's own self-test vectors.
import t from 'tap';
import { hash32, hsiphashBytes, hsiphashU32 } from '../../src/scheduler';

t.test('hash_32(val, 8) = top byte of val * 0x61C88647 mod 2^32 (worked by hand)', async (t) => {
  const table: [number, number][] = [
    [0, 0],
    [1, 0x61],        // 0x61C88647
    [2, 0xc3],        // 0xC3910C8E
    [3, 0x25],        // 0x1255992D5 → 0x255992D5
    [4, 0x87],        // 0x18722191C → 0x8722191C
    [5, 0xe8],        // 0x1E8E9FA63 → 0xE8E9FA63
    [6, 0x4a],        // 0x24AB325AA → 0x4AB325AA
  ];
  for (const [v, want] of table) t.equal(hash32(v, 8), want, `hash_32(${v}, 8)`);
  t.equal(hash32(1, 32), 0x61c88647, 'bits=32 keeps the whole product');
  t.equal(hash32(0xffffffff, 8), (0x100000000 - 0x61c88647) >>> 24, '-1 * golden ratio');
});

t.test('hsiphash (SipHash-1-3, u32) matches lib/siphash_kunit.c 64-bit vectors', async (t) => {
  const key = { k0: 0x0706050403020100n, k1: 0x0f0e0d0c0b0a0908n };
  // test_vectors_hsiphash[] for BITS_PER_LONG == 64: input bytes 0,1,..,len-1.
  const vectors = [
    0x050fc4dc, 0x7d57ca93, 0x4dc7d44d, 0xe7ddf7fb, 0x88d38328, 0x49533b67, 0xc59f22a7, 0x9bb11140, 0x8d299a8e,
    0x6c063de4, 0x92ff097f, 0xf94dc352, 0x57b4d9a2, 0x1229ffa7, 0xc0f95d34, 0x2a519956, 0x7d908b66, 0x63dbd80c,
  ];
  vectors.forEach((want, len) => {
    const input = Uint8Array.from({ length: len }, (_, i) => i);
    t.equal(hsiphashBytes(input, key), want, `len ${len}`);
  });
  t.equal(hsiphashU32(0x03020100, key), 0x88d38328, 'u32 fast path = 4-byte vector (little-endian)');
});
