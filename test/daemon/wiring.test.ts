// buildDataPlane: the VIP device of lvs.cf decides the data plane's interface and VLAN (eth0.100:1 -> VLAN 100 on eth0).
import t from 'tap';
import { parseConfig } from '../../src/config';
import { createRootLogger } from '../../src/log';
import { buildDataPlane } from '../../src/daemon/wiring';
import type { AfPacketDataPlane } from '../../src/dataplane';
import { mk, parseOpts } from '../config/helpers';

const quiet = createRootLogger({ level: 'silent' });
const optsOf = (dp: unknown) => (dp as { opts: { interface: string; vlan?: number } }).opts;

t.test('the first active virtual\'s device: parent and VLAN', async (t) => {
  for (const [device, iface, vlan] of [['eth0:1', 'eth0', 0], ['eth0.100:1', 'eth0', 100], ['bond1.0042', 'bond1', 42]] as const) {
    const cfg = parseConfig(mk().replace('eth0:1', device), 'lvs.cf', parseOpts);
    const dp = buildDataPlane('afpacket', cfg, undefined, 1024, quiet) as AfPacketDataPlane;
    t.same({ interface: optsOf(dp).interface, vlan: optsOf(dp).vlan }, { interface: iface, vlan }, device);
  }
});

t.test('--packet-threads reaches the AF_PACKET backend (absent: its own default)', async (t) => {
  const cfg = parseConfig(mk(), 'lvs.cf', parseOpts);
  const threads = (dp: unknown) => (dp as { opts: { packetThreads?: number } }).opts.packetThreads;
  t.equal(threads(buildDataPlane('afpacket', cfg, undefined, 1024, quiet, 0, 3)), 3);
  t.equal(threads(buildDataPlane('afpacket', cfg, undefined, 1024, quiet)), undefined);
});
