// createDataPlane: backend selection, the AF_XDP fallback with a logged reason, XDP map keys, typed errors for bad input.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import t from 'tap';
import { createDataPlane } from '../../src/dataplane';
import { createRootLogger, silentLogger } from '../../src/log';
import { captureFilter } from '../../src/dataplane/validate';
import { xdpServiceKeys } from '../../src/dataplane/afxdp';
import { checkXdpKeyLayout, loadNative, loadXdp } from '../../src/dataplane/native';
import { ingressRuleset } from '../../src/dataplane/ingress-drop';
import { skipUnless } from '../lab/needs';

function capture(): { logger: ReturnType<typeof createRootLogger>; records: Record<string, unknown>[] } {
  const records: Record<string, unknown>[] = [];
  const destination = new Writable({ write(chunk, _e, cb) { records.push(JSON.parse(String(chunk))); cb(); } });
  return { logger: createRootLogger({ level: 'debug', destination }), records };
}

t.test('afxdp without its addon or program falls back to afpacket and says why', async (t) => {
  const cases: [string, Record<string, string>, RegExp][] = [
    ['no AF_XDP addon (built without libxdp)', { xdpAddon: '/nonexistent/directord_afxdp.node' }, /AF_XDP addon not available/],
    ['no XDP program (built without clang)', { bpfObject: '/nonexistent/directord_xdp.bpf.o' }, /XDP program .* not built/],
  ];
  for (const [what, extra, reason] of cases) {
    const { logger, records } = capture();
    const dp = createDataPlane({ backend: 'afxdp', interface: 'eth0', connTableSize: 1024, logger, ...extra });
    t.equal(dp.backend, 'afpacket', what);
    await new Promise((r) => setImmediate(r));
    const rec = records.find((r) => r.msg === 'data-plane backend fallback');
    t.match(rec, { level: 'warn', requested: 'afxdp', using: 'afpacket' }, what);
    t.match(String(rec?.reason), reason, `${what}: ${rec?.reason}`);
  }
});

t.test('afxdp with its addon and program built is the AF_XDP backend until start() says otherwise', { skip: skipUnless(existsSync(join(__dirname, '..', '..', 'build', 'Release', 'directord_afxdp.node')), 'AF_XDP addon not built here') }, async (t) => {
  const { logger, records } = capture();
  const dp = createDataPlane({ backend: 'afxdp', interface: 'eth0', connTableSize: 1024, logger });
  t.equal(dp.backend, 'afxdp');
  await new Promise((r) => setImmediate(r));
  t.notOk(records.find((r) => r.msg === 'data-plane backend fallback'), 'no fallback logged');
});

t.test('XDP service-map keys: network byte order, wildcard for fwmark/port 0, one fragment and one ICMP key per VIP', async (t) => {
  const base = { vip: '10.61.0.100', port: 3306, protocol: 'tcp' as const, fwmark: 0, scheduler: 'wlc' as const, persistent: 0, pmask: '255.255.255.255', expireQuiescentTemplate: false, expireNodestConn: false, dests: [] };
  const table: [string, Parameters<typeof xdpServiceKeys>[0], string[]][] = [
    ['tcp 3306', [base], ['0a3d00640cea0600', '0a3d00640000ff00', '0a3d006400000100']],
    ['udp 53 + tcp 3306, same VIP', [{ ...base, port: 53, protocol: 'udp' }, base], ['0a3d006400351100', '0a3d00640000ff00', '0a3d006400000100', '0a3d00640cea0600']],
    ['fwmark service: every packet to the VIP', [{ ...base, fwmark: 7 }], ['0a3d006400000000', '0a3d00640000ff00', '0a3d006400000100']],
    ['port 0 service', [{ ...base, port: 0 }], ['0a3d006400000000', '0a3d00640000ff00', '0a3d006400000100']],
    ['no services', [], []],
  ];
  for (const [what, svcs, want] of table) {
    const hex = xdpServiceKeys(svcs, loadNative().layout().xdpKey).toString('hex').match(/.{16}/g) ?? [];
    t.same(hex.sort(), want.slice().sort(), what);
  }
  // The offsets come from the addon's layout, not from this file: a different layout moves the bytes.
  const moved = xdpServiceKeys([base], { size: 12, vip: 4, port: 0, proto: 10 }).toString('hex');
  t.equal(moved.slice(0, 24), '0cea00000a3d006400000600', 'packed where the layout says');
});

t.test('the XDP key layout: one struct in both addons, checked at load', async (t) => {
  const main = loadNative().layout().xdpKey;
  t.same(main, { size: 8, vip: 0, port: 4, proto: 6 }, 'native/include/xdp_abi.h as the main addon exports it');
  const xdpBuilt = existsSync(join(__dirname, '..', '..', 'build', 'Release', 'directord_afxdp.node'));
  if (xdpBuilt) t.same(loadXdp().layout().xdpKey, main, 'the AF_XDP addon exports the same layout');
  t.doesNotThrow(() => checkXdpKeyLayout({ ...main }, main, 'x.node'));
  t.throws(() => checkXdpKeyLayout({ ...main, size: 12 }, main, 'x.node'), { code: 'E_DATAPLANE_ABI' }, 'a different size');
  t.throws(() => checkXdpKeyLayout({ ...main, proto: 7 }, main, 'x.node'), { code: 'E_DATAPLANE_ABI' }, 'a different offset');
  t.throws(() => checkXdpKeyLayout(undefined as never, main, 'x.node'), { code: 'E_DATAPLANE_ABI' }, 'an addon without the layout');
});

t.test('bad options are DirectordErrors with stable codes', async (t) => {
  const mk = (o: Record<string, unknown>) => () => createDataPlane({ backend: 'afpacket', interface: 'eth0', connTableSize: 1024, logger: silentLogger, ...o } as never);
  t.throws(mk({ backend: 'nope' }), { code: 'E_DATAPLANE_BACKEND' });
  t.throws(mk({ connTableSize: 1000 }), { code: 'E_DATAPLANE_TABLE_SIZE' });
  t.throws(mk({ interface: 'bad name with spaces' }), { code: 'E_DATAPLANE_INTERFACE' });
  t.throws(mk({ ourMac: 'zz' }), { code: 'E_DATAPLANE_MAC' });
  const dp = createDataPlane({ backend: 'afpacket', interface: 'eth0', connTableSize: 1024, logger: silentLogger });
  const svc = { vip: '10.61.0.100', port: 80, protocol: 'tcp' as const, fwmark: 0, scheduler: 'wlc' as const, persistent: 0, pmask: '255.255.255.255', expireQuiescentTemplate: false, expireNodestConn: false, dests: [] as { address: string; port: number; weight: number }[] };
  const bad: [string, unknown][] = [
    ['vip', { ...svc, vip: '10.61.0.300' }],
    ['port', { ...svc, port: 70000 }],
    ['scheduler', { ...svc, scheduler: 'dh' }],
    ['weight', { ...svc, dests: [{ address: '10.61.0.11', port: 80, weight: -1 }] }],
    ['duplicate dest', { ...svc, dests: [{ address: '10.61.0.11', port: 80, weight: 1 }, { address: '10.61.0.11', port: 80, weight: 2 }] }],
    ['mac', { ...svc, dests: [{ address: '10.61.0.11', port: 80, weight: 1, mac: '02:00' }] }],
  ];
  for (const [what, s] of bad) t.throws(() => dp.setServices([s as never]), { code: 'E_DATAPLANE_SERVICE' }, what);
  t.throws(() => dp.setServices([svc, svc]), { code: 'E_DATAPLANE_SERVICE' }, 'duplicate service');
});

t.test('capture filter and ingress ruleset', async (t) => {
  const svc = { vip: '10.61.0.100', port: 3306, protocol: 'tcp' as const, fwmark: 0, scheduler: 'wlc' as const, persistent: 0, pmask: '255.255.255.255', expireQuiescentTemplate: false, expireNodestConn: false, dests: [] };
  // A 20-byte IPv4 header takes the fixed-offset branch, any other the libpcap terms (same verdicts:
  // capture-filter.test.ts).
  t.equal(captureFilter('02:61:00:00:00:02', [svc]),
    'ether dst 02:61:00:00:00:02 and ((ether[12:4] & 0xffffff00 == 0x08004500 and (' +
    '(ether[30:4] == 0xa3d0064 and ether[20:4] & 0x1fff00ff == 6 and ether[36:2] == 3306)' +
    ' or (ether[30:4] == 0xa3d0064 and ether[20:2] & 0x3fff != 0)' +
    ' or (ether[30:4] == 0xa3d0064 and ether[20:4] & 0x1fff00ff == 1 and (ether[34] == 3 or ether[34] == 4 or ether[34] == 11))))' +
    ' or (not ether[12:4] & 0xffffff00 == 0x08004500 and (' +
    '(ip dst host 10.61.0.100 and tcp dst port 3306) or (ip dst host 10.61.0.100 and ip[6:2] & 0x3fff != 0)' +
    ' or (ip dst host 10.61.0.100 and icmp and (icmp[icmptype] == icmp-unreach or icmp[icmptype] == icmp-sourcequench or icmp[icmptype] == icmp-timxceed)))))');
  t.match(captureFilter('02:61:00:00:00:02', []), /less 1/, 'no services: match nothing');
  const rs = ingressRuleset('eth0', [svc]);
  t.match(rs, /table netdev directord \{\}\ndelete table netdev directord\n/, 'replaces a stale table atomically');
  t.match(rs, /ip daddr 10\.61\.0\.100 tcp dport 3306 drop/);
  t.match(rs, /ip daddr 10\.61\.0\.100 icmp type \{ destination-unreachable, source-quench, time-exceeded \} drop/, 'ICMP errors the data plane relays');
});
