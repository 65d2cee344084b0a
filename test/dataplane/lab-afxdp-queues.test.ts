// AF_XDP on a multi-queue device (veths with 4 RX/TX queues): a socket on every queue, the client's flows spread
// over them, every datagram forwarded, and the counters exact whether 1, 2 or 4 threads share the table; one
// client's flows on different queues (threads) share one persistence template, as the model says.
import t from 'tap';
import { labAvailable } from '../lab/lab';
import { DataPlaneLab, dests, service, VIP, nonZeroDrops } from './dplab';
import type { DataPlaneStats } from '../../src/dataplane/types';
import type { XdpInfo } from '../../src/dataplane/native';
import type { ConnEntry } from '../../src/dataplane/types';
import { ConnTableModel } from '../../src/scheduler';

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
  for (const [attach, threads] of [['native', 1], ['native', 2], ['native', 4], ['skb', 2]] as const) {
    await d.startHarness(true, '', 'afxdp', '', attach, 0, 1 << 16, 0, threads);
    t.equal(d.backend, 'afxdp', `AF_XDP running${d.backend !== 'afxdp' ? `: ${d.stderr.slice(-600)}` : ''}`);
    const info = await d.call<XdpInfo>('xdpInfo');
    t.same([info.queues.map((q) => q.queue), info.threads], [[0, 1, 2, 3], threads], `${threads} thread(s) over sockets on queues 0-3`);
    await d.call('setServices', [service({ port: 53, protocol: 'udp', scheduler: 'rr', dests: dests(2, 53) })]);
    await d.waitForMacs();
    const r = await d.lab.exec('cli', [process.execPath, '-e', BURST_JS, VIP, '53', String(SOCKETS), String(ROUNDS)], { timeoutMs: 30000 });
    t.equal(Number(r.stdout.trim()), total, `${threads} thread(s): every datagram answered by a real server`);
    const st = await d.call<DataPlaneStats>('stats');
    const per = (await d.call<XdpInfo>('xdpInfo')).queues.map((q) => q.rxFrames);
    t.same({ rx: st.rxFrames, tx: st.txFrames, inPkts: st.services[0].inPkts, conns: st.services[0].conns, drops: nonZeroDrops(st.drops) },
      { rx: total, tx: total, inPkts: total, conns: SOCKETS, drops: {} }, `${threads} thread(s): table counters exact`);
    t.equal(per.reduce((a, b) => a + b, 0), total, `per-queue frames ${per.join('/')} add up`);
    // Which queue a flow lands on is the sending veth's choice; in this lab 3 of 4 queues see traffic in native mode
    // and 2 in generic mode (its queue index comes from the skb, recorded differently), so: more than one.
    t.ok(per.filter((n) => n > 0).length >= 2, `${attach}: the flows spread over the queues (${per.join('/')})`);
    await d.call('stop');
  }
});

t.test('persistence across queues: the flows of one client share one template (differential against the model)', { skip }, async (t) => {
  const d = await DataPlaneLab.create(2, { queues: 4 });
  t.teardown(() => d.destroy());
  d.startServers(53, 2);
  await d.startHarness(true, '', 'afxdp', '', 'native', 0, 1 << 16, 0, 4);
  t.equal(d.backend, 'afxdp');
  const svc = service({ port: 53, protocol: 'udp', scheduler: 'rr', persistent: 300, dests: dests(2, 53) });
  await d.call('setServices', [svc]);
  await d.waitForMacs();
  const r = await d.lab.exec('cli', [process.execPath, '-e', BURST_JS, VIP, '53', String(SOCKETS), '4'], { timeoutMs: 30000 });
  t.equal(Number(r.stdout.trim()), SOCKETS * 4, 'every datagram answered');
  const per = (await d.call<XdpInfo>('xdpInfo')).queues.map((q) => q.rxFrames);
  t.ok(per.filter((n) => n > 0).length >= 2, `the client's flows arrived on several queues (${per.join('/')})`);
  const conns = await d.call<ConnEntry[]>('connections');
  // The model gets the same flows (ports as the director saw them), four datagrams each.
  const model = new ConnTableModel({ requireMac: true });
  model.setServices([{ ...svc, dests: svc.dests.map((x, i) => ({ ...x, mac: `02:61:00:00:00:${(0x11 + i).toString(16)}` })) }]);
  for (let round = 0; round < 4; round++) {
    for (const c of conns.filter((x) => !x.template)) model.process({ protocol: 'udp', saddr: c.caddr, sport: c.cport, daddr: VIP, dport: 53, len: 30 }, 1000 + round);
  }
  const key = (c: ConnEntry): string => `${c.template ? 'T' : 'C'} ${c.caddr}:${c.cport} ${c.daddr}:${c.dport}`;
  t.same(conns.map(key).sort(), model.connections().map(key).sort(), `${conns.length} entries: one template, every flow to its real server`);
  const rows = (await d.call<DataPlaneStats>('stats')).services[0].dests.map((x) => [x.address, x.conns, x.inPkts, x.persistConns]);
  t.same(rows, model.stats()[0].dests.map((x) => [x.address, x.conns, x.inPkts, x.persistConns]), 'per-dest counters as the model has them');
});
