// The AF_PACKET backend's packet-thread count: the default (CPUs the process may use, one left to the control plane)
// and the range the addon is asked for (checked in TypeScript first, with a typed error).
import os from 'node:os';
import t from 'tap';
import { defaultPacketThreads } from '../../src/dataplane/afpacket';
import { NativeTable } from '../../src/dataplane/native';

t.test('default packet threads: one per usable CPU but one, at least one, at most 64', async (t) => {
  t.equal(defaultPacketThreads(1), 1, 'one CPU: one thread (the control plane shares it)');
  t.equal(defaultPacketThreads(2), 1, 'two CPUs: one thread, one CPU for the event loop');
  t.equal(defaultPacketThreads(8), 7);
  t.equal(defaultPacketThreads(256), 64, 'DD_MAX_PACKET_THREADS');
  t.equal(defaultPacketThreads(), Math.max(1, Math.min(64, os.availableParallelism() - 1)), 'from sched_getaffinity (libuv)');
});

t.test('a packet-thread count out of range is refused before any socket is opened', async (t) => {
  const tab = new NativeTable(1024);
  for (const n of [0, 65, 1.5, -1]) {
    t.throws(() => tab.startLoop('lo', '02:00:00:00:00:01', 'less 1', true, 'v2', 0, n), { code: 'E_DATAPLANE_OPTION', message: /packet threads must be an integer from 1 to 64/ }, String(n));
  }
  t.same(tab.loopThreads(), [], 'no loop running');
});
