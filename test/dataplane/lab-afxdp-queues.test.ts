// AF_XDP on a multi-queue device (veths with 4 RX/TX queues): a socket on every queue, the client's flows spread
// over them, every datagram forwarded, and the counters exact whether 1, 2 or 4 threads share the table.
import t from 'tap';
import { labAvailable } from '../lab/lab';
import { DataPlaneLab, dests, service, VIP } from './dplab';
import type { DataPlaneStats } from '../../src/dataplane/types';
import type { XdpInfo } from '../../src/dataplane/native';

const skip = !labAvailable() && 'needs root and ip netns';
const SOCKETS = 64;
const ROUNDS = 16;

// SOCKETS UDP flows, ROUNDS datagrams each: one per flow per round, the next round once the replies are in (or
// 1 s has passed), so no ring overflows. Prints the replies received.
const BURST_JS = `
const dgram = require('dgram'); const [vip, port, n, rounds] = process.argv.slice(1).map((v, i) => i ? Number(v) : v);
const socks = []; let replies = 0;
(async () => {
  for (let i = 0; i < n; i++) { const s = dgram.createSocket('udp4'); s.on('message', () => replies++); await new Promise((r) => s.bind(0, r)); socks.push(s); }
  for (let r = 0; r < rounds; r++) {
    for (const s of socks) s.send('hi', port, vip);
    const until = Date.now() + 1000;
    while (replies < (r + 1) * n && Date.now() < until) await new Promise((res) => setTimeout(res, 5));
  }
  await new Promise((res) => setTimeout(res, 200));
  console.log(replies); process.exit(0);
})();
`;

t.test('4 RX queues: a socket per queue, traffic spread over them, every frame forwarded and counted once', { skip }, async (t) => {
  const d = await DataPlaneLab.create(2, { queues: 4 });
  t.teardown(() => d.destroy());
  t.match(d.sh('dir', 'ls /sys/class/net/eth0/queues'), /rx-3/, 'the director has 4 RX queues');
  d.startServers(53, 2);
  const total = SOCKETS * ROUNDS;
  for (const threads of [1, 2, 4]) {
    await d.startHarness(true, '', 'afxdp', '', 'native', 0, 1 << 16, 0, threads);
    t.equal(d.backend, 'afxdp', `AF_XDP running${d.backend !== 'afxdp' ? `: ${d.stderr.slice(-600)}` : ''}`);
    const info = await d.call<XdpInfo>('xdpInfo');
    t.same([info.queues.map((q) => q.queue), info.threads], [[0, 1, 2, 3], threads], `${threads} thread(s) over sockets on queues 0-3`);
    await d.call('setServices', [service({ port: 53, protocol: 'udp', scheduler: 'rr', dests: dests(2, 53) })]);
    await d.waitForMacs();
    const r = await d.lab.exec('cli', [process.execPath, '-e', BURST_JS, VIP, '53', String(SOCKETS), String(ROUNDS)], { timeoutMs: 30000 });
    t.equal(Number(r.stdout.trim()), total, `${threads} thread(s): every datagram answered by a real server`);
    const st = await d.call<DataPlaneStats>('stats');
    const per = (await d.call<XdpInfo>('xdpInfo')).queues.map((q) => q.rxFrames);
    t.same({ rx: st.rxFrames, tx: st.txFrames, inPkts: st.services[0].inPkts, conns: st.services[0].conns, drops: st.drops },
      { rx: total, tx: total, inPkts: total, conns: SOCKETS, drops: {} }, `${threads} thread(s): table counters exact`);
    t.equal(per.reduce((a, b) => a + b, 0), total, `per-queue frames ${per.join('/')} add up`);
    t.ok(per.filter((n) => n > 0).length >= 3, `the flows spread over the queues (${per.join('/')})`);
    await d.call('stop');
  }
});
