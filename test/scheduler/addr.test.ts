// Address helpers at the model's API edge: dotted quads ↔ uint32, prefix lengths, dest keys.
import t from 'tap';
import { destKey, ipToU32, maskPrefixLength, u32ToIp } from '../../src/scheduler';

t.test('dotted quad ↔ uint32 (host order)', async (t) => {
  const table: [string, number][] = [['0.0.0.0', 0], ['10.0.0.3', 0x0a000003], ['255.255.240.0', 0xfffff000], ['255.255.255.255', 0xffffffff]];
  for (const [s, n] of table) {
    t.equal(ipToU32(s), n, s);
    t.equal(u32ToIp(n), s);
  }
  for (const bad of ['256.0.0.1', '10.0.0', '10.0.0.1.2', ' 10.0.0.1', 'a.b.c.d', '']) {
    t.throws(() => ipToU32(bad), { code: 'E_SCHED_BAD_ADDRESS' }, JSON.stringify(bad));
  }
});

t.test('prefix length of a netmask; -1 when not contiguous', async (t) => {
  const table: [string, number][] = [['255.255.240.0', 20], ['255.255.255.255', 32], ['0.0.0.0', 0], ['128.0.0.0', 1], ['255.0.255.0', -1]];
  for (const [m, len] of table) t.equal(maskPrefixLength(ipToU32(m)), len, m);
  t.equal(destKey('10.0.0.4', 3306), '10.0.0.4:3306');
});
