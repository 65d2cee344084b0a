// The gratuitous ARP frame, byte for byte as pulse's send_arp sends it, and address parsing errors.
import t from 'tap';
import { buildGratuitousArp, parseArpFrame, parseMac, parseIpv4, formatMac } from '../../src/ha/garp-frame';

t.test('send_arp layout: op 2, broadcast, sender=target=VIP, target HW = own MAC, 60 bytes', async (t) => {
  const rows: Array<[string, string]> = [
    ['02:00:00:63:00:01', '10.63.0.100'],
    ['aa:bb:cc:dd:ee:ff', '10.0.0.3'],
    ['00-11-22-33-44-55', '255.255.255.254'],
  ];
  for (const [mac, vip] of rows) {
    const f = buildGratuitousArp(mac, vip);
    const macNorm = mac.replace(/-/g, ':').toLowerCase();
    t.equal(f.length, 60);
    t.same(parseArpFrame(f), {
      dst: 'ff:ff:ff:ff:ff:ff', src: macNorm, ethertype: 0x0806, htype: 1, ptype: 0x0800, hlen: 6, plen: 4, op: 2,
      senderMac: macNorm, senderIp: vip, targetMac: macNorm, targetIp: vip, length: 60,
    }, `${mac} ${vip}`);
    t.ok(f.subarray(42).equals(Buffer.alloc(18)), '18 bytes of zero padding');
  }
  const f = buildGratuitousArp('02:00:00:63:00:01', '10.63.0.100');
  t.equal(f.toString('hex'), 'ffffffffffff' + '020000630001' + '0806' + '0001' + '0800' + '06' + '04' + '0002' + '020000630001' + '0a3f0064' + '020000630001' + '0a3f0064' + '00'.repeat(18));
});

t.test('bad addresses are DirectordErrors with stable codes', async (t) => {
  for (const bad of ['', '02:00:00:63:00', 'zz:00:00:00:00:00', '02:00:00:63:00:01:02']) {
    t.throws(() => parseMac(bad), { code: 'E_HA_BAD_MAC' }, `mac '${bad}'`);
  }
  for (const bad of ['', '10.0.0', '10.0.0.256', '1.2.3.4.5', 'a.b.c.d', '10.0.0.-1']) {
    t.throws(() => parseIpv4(bad), { code: 'E_HA_BAD_ADDRESS' }, `ip '${bad}'`);
  }
  t.equal(formatMac(parseMac('AA:BB:CC:DD:EE:0F')), 'aa:bb:cc:dd:ee:0f');
  t.equal(parseArpFrame(Buffer.alloc(60)), undefined, 'not ARP');
  t.equal(parseArpFrame(Buffer.alloc(20)), undefined, 'too short');
});
