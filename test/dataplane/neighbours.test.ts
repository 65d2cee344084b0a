// The neighbour resolver against a scripted rtnetlink socket: dump, notifications, stale re-probing, deletion.
import { EventEmitter } from 'node:events';
import t from 'tap';
import { NeighbourResolver, type NeighbourSocket } from '../../src/dataplane/neighbours';
import { silentLogger } from '../../src/log';

const neigh = (ip: string, state: Record<string, boolean>, mac?: string, ifindex = 3) => ({
  kind: 'neighbor',
  data: { family: 2, ifindex, state },
  attrs: { dst: Buffer.from(ip.split('.').map(Number)), ...(mac ? { lladdr: Buffer.from(mac.split(':').map((h) => parseInt(h, 16))) } : {}) },
});

class FakeSocket extends EventEmitter implements NeighbourSocket {
  table: unknown[] = [];
  closed = false;
  groups: string[] = [];
  socket = { close: () => void (this.closed = true) };
  addMembership(g: 'NEIGH'): void { this.groups.push(g); }
  async getNeighbors(): Promise<unknown[]> { return this.table; }
}

t.test('resolve, follow, re-probe stale, forget deleted entries', async (t) => {
  const sock = new FakeSocket();
  const probes: string[] = [];
  sock.table = [neigh('10.61.0.11', { reachable: true }, '02:61:00:00:00:11'), neigh('10.61.0.12', { reachable: true }, '02:61:00:00:00:12', 9)];
  const r = new NeighbourResolver({ ifindex: 3, logger: silentLogger, socketFactory: () => sock, probe: (a) => probes.push(a), probeIntervalMs: 3_600_000 });
  const changes: string[] = [];
  r.on('change', (a?: string) => a && changes.push(a));
  await r.start();
  t.same(sock.groups, ['NEIGH']);
  r.want(['10.61.0.11', '10.61.0.12', '10.61.0.13']);
  t.same(r.get('10.61.0.11'), { mac: '02:61:00:00:00:11', reason: undefined }, 'from the dump');
  t.same(r.get('10.61.0.12'), { reason: 'resolving' }, 'an entry on another interface does not count');
  t.same(probes.sort(), ['10.61.0.12', '10.61.0.13'], 'unresolved addresses are probed at once');
  sock.emit('message', [neigh('10.61.0.13', { failed: true })]);
  t.same(r.get('10.61.0.13'), { reason: 'failed' });
  sock.emit('message', [neigh('10.61.0.13', { reachable: true }, '02:61:00:00:00:13')]);
  t.equal(r.get('10.61.0.13').mac, '02:61:00:00:00:13', 'notification followed');
  sock.emit('message', [neigh('10.61.0.11', { stale: true }, '02:61:00:00:00:11')]);
  t.same(r.get('10.61.0.11'), { mac: '02:61:00:00:00:11', reason: 'stale' }, 'a stale entry stays usable');
  t.same(changes, ['10.61.0.13', '10.61.0.13', '10.61.0.11']);
  probes.length = 0;
  sock.table = [neigh('10.61.0.11', { stale: true }, '02:61:00:00:00:11'), neigh('10.61.0.13', { reachable: true }, '02:61:00:00:00:13')];
  await r.tick();
  t.same(probes.sort(), ['10.61.0.11', '10.61.0.12'], 'stale and unresolved entries are probed again');
  sock.table = [neigh('10.61.0.11', { reachable: true }, '02:61:00:00:00:11')];
  await r.tick();
  t.same(r.get('10.61.0.13'), { reason: 'resolving' }, 'an entry gone from the table loses its MAC');
  sock.emit('message', [{ kind: 'link' }, neigh('10.61.0.11', { reachable: true }, '02:61:00:00:00:99', 3)]);
  t.equal(r.get('10.61.0.11').mac, '02:61:00:00:00:99', 'other message kinds are ignored, MAC changes followed');
  r.stop();
  t.ok(sock.closed);
});
