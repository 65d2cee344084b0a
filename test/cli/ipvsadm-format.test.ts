// The ipvsadm renderers against the exact strings of reference/piranha-ipvs.md §5 and the seed's expected output.
import t from 'tap';
import { largenum, renderConnections, renderList, renderRate, renderStats, sortServices } from '../../src/cli/ipvsadm-format';
import type { DestView, ServiceView } from '../../src/control/types';

function dest(address: string, port: number, o: Partial<DestView> = {}): DestView {
  return { server: address, address, port, forward: 'Route', weight: 1, activeConns: 0, inactConns: 0, conns: 0, inPkts: 0, inBytes: 0, cps: 0, inpps: 0, inbps: 0, ...o };
}

function svc(vip: string, port: number, dests: DestView[], o: Partial<ServiceView> = {}): ServiceView {
  return {
    virtual: 'v', protocol: 'tcp', vip, port, fwmark: 0, scheduler: 'wlc', persistent: 0, pmask: '255.255.255.255',
    conns: 0, inPkts: 0, inBytes: 0, cps: 0, inpps: 0, inbps: 0, dests, ...o,
  };
}

const opts = { tableSize: 4096 };

t.test('-Ln: the §5.1 example, trailing spaces included', async (t) => {
  const s = svc('10.0.0.100', 443, [dest('10.0.0.5', 443, { activeConns: 3, inactConns: 12 })], { persistent: 60, pmask: '255.255.240.0' });
  t.equal(
    renderList([s], opts),
    'IP Virtual Server version 1.2.1 (size=4096)\n' +
      'Prot LocalAddress:Port Scheduler Flags\n' +
      '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n' +
      'TCP  10.0.0.100:443 wlc persistent 60 mask 255.255.240.0\n' +
      '  -> 10.0.0.5:443                 Route   1      3          12        \n',
  );
});

t.test('-Ln: the seed deployment (10.0.0.3:3306, two servers, dests sorted by address)', async (t) => {
  // Kernel list order is newest first (sql2 added last, at the head); ipvsadm sorts them back.
  const s = svc('10.0.0.3', 3306, [dest('10.0.0.5', 3306), dest('10.0.0.4', 3306)], { persistent: 60, pmask: '255.255.240.0' });
  const out = renderList([s], opts);
  t.equal(
    out,
    'IP Virtual Server version 1.2.1 (size=4096)\n' +
      'Prot LocalAddress:Port Scheduler Flags\n' +
      '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n' +
      'TCP  10.0.0.3:3306 wlc persistent 60 mask 255.255.240.0\n' +
      '  -> 10.0.0.4:3306                Route   1      0          0         \n' +
      '  -> 10.0.0.5:3306                Route   1      0          0         \n',
  );
  // The seed document shows the same table with runs of spaces collapsed (wiki rendering).
  const collapsed = out.split('\n').map((l) => l.trim().replace(/ +/g, ' ')).join('\n');
  t.equal(
    collapsed,
    'IP Virtual Server version 1.2.1 (size=4096)\nProt LocalAddress:Port Scheduler Flags\n-> RemoteAddress:Port Forward Weight ActiveConn InActConn\n' +
      'TCP 10.0.0.3:3306 wlc persistent 60 mask 255.255.240.0\n-> 10.0.0.4:3306 Route 1 0 0\n-> 10.0.0.5:3306 Route 1 0 0\n',
  );
  t.equal(renderList([s], { ...opts, nosort: true }).split('\n')[4].slice(5, 17), '10.0.0.5:330', '--nosort keeps kernel order');
});

t.test('-Ln: flags table', async (t) => {
  const cases: [Partial<ServiceView>, string][] = [
    [{}, 'TCP  10.0.0.3:80 wlc'],
    [{ persistent: 300 }, 'TCP  10.0.0.3:80 wlc persistent 300'],
    [{ persistent: 300, pmask: '255.255.255.0' }, 'TCP  10.0.0.3:80 wlc persistent 300 mask 255.255.255.0'],
    [{ pmask: '255.255.255.0' }, 'TCP  10.0.0.3:80 wlc'],
    [{ protocol: 'udp', scheduler: 'rr' }, 'UDP  10.0.0.3:80 rr'],
    [{ fwmark: 7, scheduler: 'sh' }, 'FWM  7 sh'],
  ];
  for (const [o, line] of cases) t.equal(renderList([svc('10.0.0.3', 80, [], o)], opts).split('\n')[3], line, line);
});

t.test('service sort: fwmark, protocol, address (with libipvs signed-difference quirk), port', async (t) => {
  const list = [
    svc('10.0.0.3', 80, [], { protocol: 'udp' }),
    svc('10.0.0.3', 443, []),
    svc('10.0.0.3', 80, []),
    svc('10.0.0.2', 9999, []),
    svc('10.0.0.1', 1, [], { fwmark: 1 }),
  ];
  t.same(
    sortServices(list).map((s) => `${s.fwmark}/${s.protocol}/${s.vip}:${s.port}`),
    ['0/tcp/10.0.0.2:9999', '0/tcp/10.0.0.3:80', '0/tcp/10.0.0.3:443', '0/udp/10.0.0.3:80', '1/tcp/10.0.0.1:1'],
  );
  // 200.0.0.1 - 10.0.0.1 >= 2^31 wraps negative: ipvsadm lists 200.x before 10.x.
  t.same(sortServices([svc('10.0.0.1', 1, []), svc('200.0.0.1', 1, [])]).map((s) => s.vip), ['200.0.0.1', '10.0.0.1']);
  t.same(sortServices([svc('100.0.0.1', 1, []), svc('10.0.0.1', 1, [])]).map((s) => s.vip), ['10.0.0.1', '100.0.0.1']);
});

t.test('--stats: the §5.2 example', async (t) => {
  const s = svc('10.0.0.100', 443, [dest('10.0.0.5', 443, { conns: 12, inPkts: 340, inBytes: 20480 })], { conns: 12, inPkts: 340, inBytes: 20480, persistent: 60 });
  t.equal(
    renderStats([s], opts),
    'IP Virtual Server version 1.2.1 (size=4096)\n' +
      'Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes\n' +
      '  -> RemoteAddress:Port\n' +
      'TCP  10.0.0.100:443                     12      340        0    20480        0\n' +
      '  -> 10.0.0.5:443                       12      340        0    20480        0\n',
  );
});

t.test('--rate: header and %8u dest columns', async (t) => {
  const s = svc('10.0.0.100', 443, [dest('10.0.0.5', 443, { cps: 3, inpps: 45, inbps: 2900 })], { cps: 3, inpps: 45, inbps: 2900 });
  t.equal(
    renderRate([s], opts),
    'IP Virtual Server version 1.2.1 (size=4096)\n' +
      'Prot LocalAddress:Port                 CPS    InPPS   OutPPS    InBPS   OutBPS\n' +
      '  -> RemoteAddress:Port\n' +
      'TCP  10.0.0.100:443                      3       45        0     2900        0\n' +
      '  -> 10.0.0.5:443                        3       45        0     2900        0\n',
  );
});

t.test('print_largenum thresholds', async (t) => {
  const table: [number, string][] = [
    [0, '        0'],
    [99_999_999, ' 99999999'],
    [100_000_000, '  100000K'],
    [999_999_999, '  999999K'],
    [1_000_000_000, '    1000M'],
    [99_999_999_999, '   99999M'],
    [100_000_000_000, '     100G'],
    [100_000_000_000_000, '     100T'],
  ];
  for (const [n, s] of table) t.equal(largenum(n), s, String(n));
});

t.test('-lnc: the §5.3 example, a connection and a template', async (t) => {
  t.equal(
    renderConnections([
      { protocol: 'tcp', caddr: '192.168.1.20', cport: 51234, vaddr: '10.0.0.100', vport: 443, daddr: '10.0.0.5', dport: 443, state: 'ESTABLISHED', expiresMs: 898_400, template: false },
      { protocol: 'tcp', caddr: '192.168.0.0', cport: 0, vaddr: '10.0.0.100', vport: 443, daddr: '10.0.0.5', dport: 443, state: 'NONE', expiresMs: 45_999, template: true },
    ]),
    'IPVS connection entries\n' +
      'pro expire state       source             virtual            destination\n' +
      'TCP 14:58  ESTABLISHED 192.168.1.20:51234 10.0.0.100:443     10.0.0.5:443\n' +
      'TCP 00:45  NONE        192.168.0.0:0      10.0.0.100:443     10.0.0.5:443\n',
  );
  t.equal(renderConnections([{ protocol: 'udp', caddr: '1.2.3.4', cport: 5, vaddr: '10.0.0.3', vport: 53, daddr: '10.0.0.4', dport: 53, state: 'UDP', expiresMs: 6_000_000, template: false }]).split('\n')[2],
    'UDP 100:00 UDP         1.2.3.4:5          10.0.0.3:53        10.0.0.4:53', 'minutes may exceed 99');
});
