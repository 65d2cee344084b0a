// The status projection: pool + data-plane counters + rates → the services table and the health rows.
import t from 'tap';
import { Pool } from '../../src/director/pool';
import { RateEstimator } from '../../src/director/rates';
import { tableViews } from '../../src/director/status-view';
import { config, server, virtual } from './config-fixture';

t.test('services in table order with live counters; a health row per configured server', async (t) => {
  const p = new Pool({ healthWired: false, drainTimeoutMs: 1000 });
  p.applyConfig(config([virtual('mysql', '10.0.0.3', [server('sql1', '10.0.0.4'), server('sql2', '10.0.0.5', { weight: 3 })])]), 0);
  const stats = {
    rxFrames: 0, txFrames: 0, drops: {},
    services: [{ vip: '10.0.0.3', port: 3306, protocol: 'tcp' as const, conns: 5, inPkts: 50, inBytes: 5000, dests: [
      { address: '10.0.0.4', port: 3306, weight: 1, activeConns: 2, inactConns: 1, persistConns: 0, conns: 5, inPkts: 50, inBytes: 5000, unavailableReason: 'no MAC address' },
    ] }],
  };
  const { services, health } = tableViews(p, stats, new RateEstimator());
  t.equal(services.length, 1);
  t.match(services[0], { virtual: 'mysql', vip: '10.0.0.3', port: 3306, conns: 5, inPkts: 50, inBytes: 5000 });
  t.same(services[0].dests.map((d) => [d.server, d.weight, d.activeConns, d.inactConns, d.forward]), [['sql2', 3, 0, 0, 'Route'], ['sql1', 1, 2, 1, 'Route']]);
  t.same(health.map((h) => [h.server, h.effectiveWeight, h.unavailable]), [['sql1', 1, 'no MAC address'], ['sql2', 3, undefined]]);
});
