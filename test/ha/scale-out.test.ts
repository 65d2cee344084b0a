// ScaleOutNode with a fake data plane and announcer: forwarding at start, no primary/backup machinery, the
// announcer told in order (announce at start, withdraw on drain and stop), and 'drained' once nothing arrives.
import t from 'tap';
import { ScaleOutNode } from '../../src/ha/scale-out';
import { parseConfig, validateConfig } from '../../src/config';
import { createRootLogger } from '../../src/log';
import type { DataPlaneStats } from '../../src/dataplane/types';
import { TinyDataPlane } from './tiny-dataplane';

class CountingDataPlane extends TinyDataPlane {
  packets = 0;
  override stats(): DataPlaneStats {
    return { services: [{ vip: '10.0.9.3', port: 80, protocol: 'tcp', conns: 0, inPkts: this.packets, inBytes: 0, dests: [] }], drops: {}, rxFrames: 0, txFrames: 0 };
  }
}

const cfg = validateConfig(parseConfig(['network = direct', 'scale_out = 1', 'virtual v {', '  active = 1', '  address = 10.0.9.3 eth0:1', '  server a {', '    address = 10.0.0.21', '    active = 1', '  }', '}', ''].join('\n'), 'lvs.cf'));

t.test('start, drain, drained, undrain, stop', async (t) => {
  const keepAlive = setInterval(() => undefined, 1000); // the node's drain timer is unref'd, as in the daemon
  t.teardown(() => clearInterval(keepAlive));
  const calls: string[] = [];
  const dp = new CountingDataPlane();
  const node = new ScaleOutNode({
    config: cfg, logger: createRootLogger({ level: 'fatal' }), dataplane: dp, drainSampleMs: 20, drainQuietMs: 100,
    localAddresses: async () => ['10.0.0.11'],
    hooks: { onActivate: async () => void calls.push('activate'), onDeactivate: async () => void calls.push('deactivate') },
    announcer: { announce: (r) => void calls.push(`announce:${r}`), withdraw: async (r) => void calls.push(`withdraw:${r}`) },
  });
  await node.start();
  t.equal(calls[0], 'activate', 'forwarding on at once, no contest');
  t.throws(() => node.beginDrain.call(new ScaleOutNode({ config: cfg, logger: createRootLogger({ level: 'fatal' }), dataplane: dp, hooks: { onActivate: async () => {}, onDeactivate: async () => {} } })), { code: 'E_HA_NOT_STARTED' });
  const drained = new Promise((r) => node.once('drained', r));
  const v = node.beginDrain({ deadlineS: 60 });
  t.equal(v.phase, 'draining');
  dp.packets += 10; // a straggler still arrives and is forwarded
  t.match(await drained, { kind: 'drained', endedBy: 'idle' });
  t.equal(node.view().drain.phase, 'drained');
  t.equal(node.endDrain().phase, 'serving');
  await node.stop();
  t.same(calls, ['activate', 'announce:started: forwarding', 'withdraw:drain requested', 'announce:undrain requested', 'withdraw:stopping', 'deactivate']);
});
