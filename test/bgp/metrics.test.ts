// The BGP series of /metrics, read from the status snapshot's bgp view (absent without bgp_peer).
import t from 'tap';
import { createMetricsRegistry } from '../../src/metrics';
import type { BgpView } from '../../src/control/types';

function registry(bgp: BgpView | undefined) {
  const src = {
    status: () => ({ services: [], health: [], ha: { enabled: false, role: 'standalone', state: 'active', forwarding: true }, ...(bgp ? { bgp } : {}) }),
    counters: { checkFailures: new Map(), transitions: new Map(), reloads: { success: 0, failure: 0 } },
    haStatus: () => undefined, dataplaneStats: () => ({ services: [], drops: {} }),
  } as unknown as Parameters<typeof createMetricsRegistry>[0];
  return createMetricsRegistry(src, { processMetrics: false });
}

t.test('session and announcement gauges', async (t) => {
  const r = registry({
    speaker: 'bird', reachable: true, draining: false,
    peers: [{ peer: '10.0.0.1', protocol: 'directord_peer1', state: 'Established', established: true }, { peer: '10.0.0.2', protocol: 'directord_peer2', state: 'Active', established: false }],
    vips: [{ vip: '10.2.0.100', wanted: true, announced: true, reason: 'x' }, { vip: '10.2.0.7', wanted: false, announced: false, reason: 'y' }],
  });
  const s = await r.getSingleMetricAsString('directord_bgp_session_up');
  t.match(s, /directord_bgp_session_up\{peer="10\.0\.0\.1"\} 1/);
  t.match(s, /directord_bgp_session_up\{peer="10\.0\.0\.2"\} 0/);
  const v = await r.getSingleMetricAsString('directord_bgp_vip_announced');
  t.match(v, /directord_bgp_vip_announced\{vip="10\.2\.0\.100"\} 1/);
  t.match(v, /directord_bgp_vip_announced\{vip="10\.2\.0\.7"\} 0/);
});

t.test('no BGP: no series', async (t) => {
  t.notMatch(await registry(undefined).getSingleMetricAsString('directord_bgp_session_up'), /peer=/);
});
