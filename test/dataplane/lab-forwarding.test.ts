// End to end on a namespace lab: TCP and UDP through the VIP with two real servers, the AF_PACKET backend (both
// RX rings) and the AF_XDP backend forwarding, replies going straight back to the client.
import t from 'tap';
import { labAvailable, waitFor } from '../lab/lab';
import { DataPlaneLab, dests, rsAddr, rsMac, service } from './dplab';

const paths = [['afpacket', 'v3'], ['afpacket', 'v2'], ['afxdp', '']] as const;
for (const [backend, rxRing] of paths) {
  t.test(`TCP and UDP through the VIP reach both real servers (${backend}${rxRing ? `, RX ring ${rxRing}` : ''})`, { skip: !labAvailable() && 'needs root and ip netns' }, async (t) => {
    const d = await DataPlaneLab.create(2);
    t.teardown(() => d.destroy());
    d.startServers(80, 2);
    d.startServers(53, 2);
    await d.startHarness(true, rxRing, backend);
    t.equal(d.backend, backend, `the ${backend} path is running${d.backend !== backend ? `: ${d.stderr.slice(-600)}` : ""}`);
    await d.call('setServices', [
      service({ scheduler: 'rr', dests: dests(2, 80) }),
      service({ port: 53, protocol: 'udp', scheduler: 'rr', dests: dests(2, 53) }),
    ]);
    await d.waitForMacs();
    const tcp = await d.clients(80, 'tcp', Array(6).fill('10.61.1.1'));
    t.same(tcp.slice().sort(), ['rs1', 'rs1', 'rs1', 'rs2', 'rs2', 'rs2'], 'rr spreads 6 TCP connections 3/3');
    const udp = await d.clients(53, 'udp', Array(4).fill('10.61.1.1'));
    t.same(udp.slice().sort(), ['rs1', 'rs1', 'rs2', 'rs2'], 'rr spreads 4 UDP flows 2/2');
    const up = await d.clients(80, 'tcp', ['10.61.1.1'], 'up 3000000');
    t.match(up[0], /^rs[12] 3000000$/, 'a 3 MB upload with client offloads on (GSO super-frames)');
    const st = await d.call<any>('stats');
    t.equal(st.services[0].conns, 7);
    t.equal(st.services[1].conns, 4);
    t.ok(st.txFrames > 0 && st.txFrames <= st.rxFrames, 'forwarded frames counted');
    t.equal(st.drops.no_mac ?? 0, 0);
  });
}

t.test('a real server without a neighbour entry is never used and says why', { skip: !labAvailable() && 'needs root and ip netns' }, async (t) => {
  const d = await DataPlaneLab.create(2);
  t.teardown(() => d.destroy());
  d.startServers(80, 2);
  await d.startHarness();
  // 10.61.0.50 does not exist: ARP fails, the dest stays in the table without a MAC.
  await d.call('setServices', [service({ scheduler: 'rr', dests: [{ address: '10.61.0.50', port: 80, weight: 5 }, ...dests(2, 80)] })]);
  await waitFor('real servers resolved', async () => {
    const st = await d.call<any>('stats');
    return st.services[0].dests.filter((x: any) => !x.unavailableReason).length === 2;
  }, 10000, 100);
  const got = await d.clients(80, 'tcp', Array(4).fill('10.61.1.1'));
  t.same(got.slice().sort(), ['rs1', 'rs1', 'rs2', 'rs2'], 'only the resolved servers are used');
  const st = await d.call<any>('stats');
  const ghost = st.services[0].dests.find((x: any) => x.address === '10.61.0.50');
  t.match(ghost.unavailableReason, /^no MAC address \((resolving|failed)\)$/, `says why: ${ghost.unavailableReason}`);
  t.equal(ghost.conns, 0);
});

t.test('neighbour changes are followed (RTM_NEWNEIGH)', { skip: !labAvailable() && 'needs root and ip netns' }, async (t) => {
  const d = await DataPlaneLab.create(2);
  t.teardown(() => d.destroy());
  d.startServers(80, 2);
  await d.startHarness();
  await d.call('setServices', [service({ scheduler: 'rr', dests: dests(2, 80) })]);
  await d.waitForMacs();
  t.same((await d.clients(80, 'tcp', Array(4).fill('10.61.1.1'))).sort(), ['rs1', 'rs1', 'rs2', 'rs2']);
  // Point rs1's neighbour entry at rs2's MAC: frames scheduled to rs1 now land on rs2 (which holds the VIP too).
  d.sh('dir', `ip neigh replace ${rsAddr(1)} lladdr ${rsMac(2)} nud permanent dev eth0`);
  await waitFor('rs1 frames delivered to rs2', async () => {
    const got = await d.clients(80, 'tcp', Array(2).fill('10.61.1.1'));
    return got.every((g) => g === 'rs2');
  }, 10000, 200);
  d.sh('dir', `ip neigh replace ${rsAddr(1)} lladdr ${rsMac(1)} nud permanent dev eth0`);
  await waitFor('rs1 reachable again', async () => (await d.clients(80, 'tcp', Array(2).fill('10.61.1.1'))).includes('rs1'), 10000, 200);
  t.pass('the MAC change was pushed to the packet loop both ways');
});
