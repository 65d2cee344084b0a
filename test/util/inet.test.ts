// The one strict IPv4/MAC parser: what it accepts, what it refuses, and that each caller's code is kept.
import t from 'tap';
import { bytesToMac, ipv4ToBytes, ipv4ToU32, isIpv4, isMac, macToBytes, maskPrefixLength, u32ToIpv4 } from '../../src/util/inet';

t.test('dotted quads: strict decimal, no leading zeros, round trip', async (t) => {
  for (const [s, n] of [['0.0.0.0', 0], ['10.0.0.3', 0x0a000003], ['255.255.255.255', 0xffffffff]] as const) {
    t.equal(ipv4ToU32(s, 'E_X'), n, s);
    t.equal(u32ToIpv4(n), s);
    t.same([...ipv4ToBytes(s, 'E_X')], [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]);
  }
  for (const bad of ['', '10.0.0', '10.0.0.1.2', '256.0.0.1', '010.0.0.1', ' 10.0.0.1', '10.0.0.-1', 'a.b.c.d', '0x0a.0.0.1']) {
    t.notOk(isIpv4(bad), JSON.stringify(bad));
    t.throws(() => ipv4ToU32(bad, 'E_SOME_CODE'), { code: 'E_SOME_CODE' }, JSON.stringify(bad));
  }
  t.notOk(isIpv4(undefined as unknown as string));
});

t.test('netmask prefix length; -1 when not contiguous', async (t) => {
  for (const [m, len] of [[0, 0], [0x80000000, 1], [0xfffff000, 20], [0xffffffff, 32], [0xff00ff00, -1]] as const) t.equal(maskPrefixLength(m), len);
});

t.test('MACs: colon pairs, either case; printed lower case', async (t) => {
  t.equal(bytesToMac(macToBytes('AA:bb:CC:dd:EE:0f', 'E_X')), 'aa:bb:cc:dd:ee:0f');
  for (const bad of ['', '02:00:00:63:00', 'zz:00:00:00:00:00', '02:00:00:63:00:01:02', '00-11-22-33-44-55', '2:0:0:63:0:1']) {
    t.notOk(isMac(bad), bad);
    t.throws(() => macToBytes(bad, 'E_OTHER'), { code: 'E_OTHER' }, bad);
  }
});
