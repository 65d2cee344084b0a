// The BGP block of `directorctl status`.
import t from 'tap';
import { renderBgp } from '../../src/bgp/format';

t.test('sessions and VIPs, with why', async (t) => {
  t.equal(renderBgp(undefined), '');
  t.equal(renderBgp({
    speaker: 'bird', reachable: true, draining: false,
    peers: [{ peer: '10.0.0.1', protocol: 'directord_peer1', state: 'Established', established: true, since: '00:13:37.153', exported: 1, bfd: 'Up' }],
    vips: [{ vip: '10.2.0.100', wanted: true, announced: true, reason: '2 healthy real servers' }, { vip: '10.2.0.7', wanted: false, announced: false, reason: 'no healthy real server' }, { vip: '10.2.0.8', wanted: true, announced: false, reason: '1 healthy real server' }],
  }), [
    'BGP (bird):',
    '  peer 10.0.0.1 (directord_peer1): Established, since 00:13:37.153, 1 exported, BFD Up',
    '  VIP 10.2.0.100: announced (2 healthy real servers)',
    '  VIP 10.2.0.7: withdrawn (no healthy real server)',
    '  VIP 10.2.0.8: NOT announced (wanted; no session established or speaker behind) (1 healthy real server)',
    '',
  ].join('\n'));
  t.equal(renderBgp({ speaker: 'bird', reachable: false, error: 'Unable to connect', applyError: { code: 'E_BGP_UNREACHABLE', message: 'birdc configure: Unable to connect' }, draining: true, peers: [], vips: [] }),
    'BGP (bird, DRAINING: every VIP withdrawn): speaker not reachable: Unable to connect\n  last push FAILED (E_BGP_UNREACHABLE): birdc configure: Unable to connect\n');
});
