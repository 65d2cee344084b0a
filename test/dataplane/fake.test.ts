// The fake backend: the scheduler's reference model behind the DataPlane interface, no sockets, no addon.
import t from 'tap';
import { createDataPlane, FakeDataPlane } from '../../src/dataplane';
import { silentLogger } from '../../src/log';

const svc = {
  vip: '10.61.0.100', port: 80, protocol: 'tcp' as const, fwmark: 0, scheduler: 'rr' as const, persistent: 0, pmask: '255.255.255.255',
  expireQuiescentTemplate: false, expireNodestConn: false,
  dests: [{ address: '10.61.0.11', port: 80, weight: 1 }, { address: '10.61.0.12', port: 80, weight: 1 }],
};

t.test('createDataPlane fake: decisions, stats, connections, forwarding off, sync', async (t) => {
  let now = 1000;
  const dp = createDataPlane({ backend: 'fake', interface: 'eth0', connTableSize: 1024, logger: silentLogger });
  t.equal(dp.backend, 'fake');
  const fake = new FakeDataPlane({ clock: () => now });
  await fake.start();
  fake.setServices([svc]);
  const pkt = (sport: number, flags: Record<string, boolean>) => ({ protocol: 'tcp' as const, saddr: '10.61.1.1', sport, daddr: '10.61.0.100', dport: 80, flags, len: 60 });
  t.same([fake.inject(pkt(1, { syn: true })).dest?.address, fake.inject(pkt(2, { syn: true })).dest?.address], ['10.61.0.11', '10.61.0.12'], 'rr');
  fake.inject(pkt(1, { ack: true }));
  t.equal(fake.inject(pkt(3, { ack: true })).reason, 'no_conn');
  const st = fake.stats();
  t.same(st.services[0].dests.map((d) => [d.activeConns, d.conns]), [[1, 1], [1, 1]]);
  t.equal(st.drops.no_conn, 1);
  t.equal(fake.connections().length, 2);
  const sync = fake.drainSyncUpdates();
  t.same(sync.map((c) => c.cport).sort(), [1, 2]);
  t.same(fake.drainSyncUpdates(), [], 'drained');
  const peer = new FakeDataPlane({ clock: () => now });
  peer.applySyncUpdates(sync);
  t.equal(peer.connections().length, 2, 'synced entries listed');
  fake.setForwarding(false);
  t.equal(fake.inject(pkt(1, { ack: true })).verdict, 'drop');
  t.equal(fake.stats().drops.not_active, 1);
  now += 901_000;
  t.equal(fake.connections().length, 0, 'timeouts run on the injected clock');
  await fake.stop();
});

t.test('fake: a failed dest moves a persistent client; the synced template replaces the peer\'s', async (t) => {
  const now = 1000;
  const persistent = { ...svc, scheduler: 'wlc' as const, persistent: 60, pmask: '255.255.255.0' };
  const a = new FakeDataPlane({ clock: () => now });
  const b = new FakeDataPlane({ clock: () => now });
  a.setServices([persistent]);
  const pkt = (sport: number) => ({ protocol: 'tcp' as const, saddr: '10.61.1.1', sport, daddr: '10.61.0.100', dport: 80, flags: { syn: true }, len: 60 });
  const first = a.inject(pkt(1)).dest!.address;
  b.applySyncUpdates(a.drainSyncUpdates());
  const reachable = (dp: FakeDataPlane) => dp.connections().filter((c) => c.template && c.vport === 80).map((c) => c.daddr);
  t.same(reachable(b), [first]);
  a.setServices([{ ...persistent, dests: persistent.dests.map((d) => (d.address === first ? { ...d, weight: 0, failed: true } : d)) }]);
  const moved = a.inject(pkt(2)).dest!.address;
  t.not(moved, first, 'rescheduled away from the failed dest');
  b.applySyncUpdates(a.drainSyncUpdates());
  t.same(reachable(b), [moved], "the peer's template for the network now points where the active's does");
});

t.test('what tests set: counters laid over the model, extra figures, recorded connections, forwarding at creation', async (t) => {
  const fake = new FakeDataPlane({ forwarding: false });
  t.equal(fake.forwarding, false);
  fake.setServices([svc]);
  t.equal(fake.setServicesCalls, 1);
  fake.counters.set('10.61.0.100:80>10.61.0.12:80', { activeConns: 4, conns: 9, inPkts: 20, inBytes: 900 });
  fake.extraStats = { loopWakeups: 7, drops: { no_dest: 1 } };
  const st = fake.stats();
  t.match(st.services[0].dests[1], { address: '10.61.0.12', activeConns: 4, conns: 9 });
  t.match(st.services[0], { conns: 9, inPkts: 20, inBytes: 900 });
  t.equal(st.loopWakeups, 7);
  t.same(st.drops, { no_dest: 1 });
  const e = { protocol: 'tcp' as const, caddr: '10.61.1.9', cport: 7, vaddr: '10.61.0.100', vport: 80, daddr: '10.61.0.11', dport: 80, state: 'ESTABLISHED', expiresMs: 900_000, template: false };
  fake.record(e);
  t.same(fake.connections(), [e]);
  t.same(fake.drainSyncUpdates(), [e]);
  t.same(fake.drainSyncUpdates(), []);
});

t.test('fake: a drain with a max leaves the rest queued, in order (the sync pump drains in slices)', async (t) => {
  const fake = new FakeDataPlane({ clock: () => 0 });
  const e = (cport: number) => ({ protocol: 'tcp' as const, caddr: '10.61.1.9', cport, vaddr: '10.61.0.100', vport: 80, daddr: '10.61.0.11', dport: 80, state: 'ESTABLISHED', expiresMs: 900_000, template: false });
  for (let i = 1; i <= 5; i++) fake.record(e(i));
  t.same(fake.drainSyncUpdates(2).map((x) => x.cport), [1, 2]);
  fake.record(e(6));
  t.same(fake.drainSyncUpdates(3).map((x) => x.cport), [3, 4, 5]);
  t.same(fake.drainSyncUpdates().map((x) => x.cport), [6]);
  t.same(fake.drainSyncUpdates(2), []);
});
