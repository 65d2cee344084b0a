// lvs.cf tcp_timeout / tcpfin_timeout / udp_timeout to the data plane: 0 or absent means the IPVS default at start
// AND on reload, although the data planes keep the current value on 0 (ipvsadm --set semantics).
import t from 'tap';
import { timeoutsFrom } from '../../src/director';
import { ConnTableModel } from '../../src/scheduler';
import { config } from './config-fixture';

t.test('0 in lvs.cf is sent as the default, never as 0', async (t) => {
  t.same(timeoutsFrom(config([])), { tcp: 900, tcpfin: 120, udp: 300 });
  t.same(timeoutsFrom(config([], { tcpTimeout: 60, tcpfinTimeout: 0, udpTimeout: 20 })), { tcp: 60, tcpfin: 120, udp: 20 });
});

t.test('a reload from tcp_timeout = 60 to 0 goes back to 900 s (Piranha would keep 60)', async (t) => {
  const m = new ConnTableModel();
  m.setServices([{ vip: '10.61.0.1', port: 80, protocol: 'tcp', fwmark: 0, scheduler: 'wlc', persistent: 0, pmask: '255.255.255.255',
    expireQuiescentTemplate: false, expireNodestConn: false, dests: [{ address: '10.61.1.1', port: 80, weight: 1 }] }]);
  const pkt = (flags: { syn?: boolean; ack?: boolean }) => ({ protocol: 'tcp' as const, saddr: '10.61.9.1', sport: 1000, daddr: '10.61.0.1', dport: 80, flags, len: 40 });
  m.setTimeouts(timeoutsFrom(config([], { tcpTimeout: 60 })));
  m.process(pkt({ syn: true }), 0);
  m.process(pkt({ ack: true }), 1);
  t.equal(m.connections(1)[0].expiresMs, 60_000);
  m.setTimeouts(timeoutsFrom(config([], { tcpTimeout: 0 })));
  m.process(pkt({ ack: true }), 2);
  t.equal(m.connections(2)[0].expiresMs, 900_000, 'same timeouts as a fresh start with this file');
});
