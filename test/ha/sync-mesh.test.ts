// The scale-out sync mesh over real UDP on loopback (127.0.0.x, one address per director, one sync_port): changes
// reach every peer, a director that joins fetches the tables, a restarted one is proven before it counts, and a
// forged, cross-peer-replayed or unproven datagram never reaches the data plane.
import { inPrivateNetns } from '../lab/private-netns';
inPrivateNetns(); // before tap loads: this file runs in a network namespace of its own
import t from 'tap';
import { createSocket, type Socket } from 'node:dgram';
import { SyncMesh } from '../../src/ha/sync-mesh';
import { encodeSyncPacket } from '../../src/ha/sync-codec';
import { createRootLogger } from '../../src/log';
import type { ConnEntry } from '../../src/dataplane/types';
import { waitFor } from '../lab/lab';
import { FakeDataPlane } from '../../src/dataplane/fake';

const A = '127.0.0.11';
const B = '127.0.0.12';
const C = '127.0.0.13';
const R = '127.0.0.14'; // a recorder listed as A's peer: what A sends it is what a wire capture would hold
const key = Buffer.from('sync-mesh-test-key-0123456789abcdef');
const log = createRootLogger({ level: 'fatal' });

function conn(i: number): ConnEntry {
  return { protocol: 'tcp', caddr: `10.64.1.${i}`, cport: 40000 + i, vaddr: '10.64.0.100', vport: 80, daddr: '10.64.2.1', dport: 80, state: 'ESTABLISHED', expiresMs: 900000, template: false };
}
const has = (dp: FakeDataPlane, i: number): boolean => [...dp.synced.values()].some((e) => e.caddr === `10.64.1.${i}`);

function bindUdp(address: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = createSocket({ type: 'udp4', reuseAddr: false });
    s.once('error', reject);
    s.bind({ address, port, exclusive: true }, () => resolve(s));
  });
}

interface Node { mesh: SyncMesh; dp: FakeDataPlane }

async function setup(t: { teardown(fn: () => unknown): void }) {
  for (let attempt = 0; ; attempt++) {
    const port = 20000 + Math.floor(Math.random() * 40000);
    const opened: Array<{ close(): void }> = [];
    try {
      const recorder = await bindUdp(R, port);
      opened.push(recorder);
      const node = async (self: string, peers: string[]): Promise<Node> => {
        const dp = new FakeDataPlane({ forwarding: false });
        const mesh = new SyncMesh({ local: self, peers, port, key, dataplane: dp, log });
        await mesh.open();
        opened.push(mesh);
        return { mesh, dp };
      };
      t.teardown(() => opened.forEach((o) => o.close()));
      return { port, recorder, node };
    } catch (e) {
      opened.forEach((o) => o.close());
      if (attempt < 20) continue;
      throw e;
    }
  }
}

t.test('changes reach every peer; a director that joins later fetches the tables', async (t) => {
  const { node } = await setup(t);
  const a = await node(A, [B, C]);
  const b = await node(B, [A, C]);
  a.dp.record(conn(1));
  b.dp.record(conn(2));
  await waitFor('A and B hold both connections', () => has(a.dp, 2) && has(b.dp, 1), 8000, 20);
  const c = await node(C, [A, B]);
  await waitFor('C fetched both tables', () => c.mesh.synced && has(c.dp, 1) && has(c.dp, 2), 15000, 20);
  c.dp.record(conn(3));
  await waitFor('C\'s new connection reaches A and B', () => has(a.dp, 3) && has(b.dp, 3), 8000, 20);
  t.same(c.mesh.status().peers.map((p) => p.transfer.phase), ['synced', 'synced']);
});

t.test('a forged, cross-peer-replayed or unproven datagram changes nothing', async (t) => {
  const { port, recorder, node } = await setup(t);
  const captured: Buffer[] = [];
  recorder.on('message', (m) => captured.push(m));
  const a = await node(A, [B, R]);
  const b = await node(B, [A]);
  a.dp.record(conn(1));
  await waitFor('B holds A\'s connection, the recorder a copy', () => has(b.dp, 1) && captured.some((m) => m.readUInt16BE(6) > 0), 8000, 20);
  const attacker = await bindUdp(A, 0); // A's address, another port: the mesh goes by source address
  t.teardown(() => attacker.close());
  const rejected = () => b.mesh.status().peers[0].rejected;
  const total = () => Object.values(rejected()).reduce((x, y) => x + y, 0);
  const sendToB = async (buf: Buffer) => {
    const before = total();
    attacker.send(buf, port, B);
    await waitFor('B handled the datagram', () => total() > before, 5000, 5);
  };
  const forged = encodeSyncPacket({ bootId: 1n, seq: 1n, entries: [conn(7)] }, Buffer.from('not-the-key-but-long-enough-0123'));
  await sendToB(forged);
  t.equal(rejected().bad_mac, 1, 'forged: bad_mac');
  // What A sent the recorder carries A's boot for that peer, which B never proved: no use replaying it to B.
  const big = captured.find((m) => m.readUInt16BE(6) > 0)!;
  await sendToB(big);
  t.equal(rejected().unproven, 1, 'a datagram A sent another peer, replayed to B: unproven');
  // Authentic bytes of a boot B never proved (as one captured before A restarted): unproven too.
  await sendToB(encodeSyncPacket({ bootId: 0xdeadn, seq: 99n, entries: [conn(8)] }, key));
  t.equal(rejected().unproven, 2);
  t.notOk(has(b.dp, 7) || has(b.dp, 8), 'nothing of them reached B\'s data plane');
  t.equal(b.dp.synced.size, 1);
  // The live boot still counts (its sequence was not moved by the replay).
  a.dp.record(conn(2));
  await waitFor('A\'s next change reaches B', () => has(b.dp, 2), 8000, 20);
});

t.test('a restarted director is proven by answering a table request, then counts', async (t) => {
  const { node } = await setup(t);
  const a = await node(A, [B]);
  const b = await node(B, [A]);
  a.dp.record(conn(1));
  await waitFor('B holds A\'s connection', () => has(b.dp, 1), 8000, 20);
  a.mesh.close();
  const a2 = await node(A, [B]); // a new process: new boot ids, an empty table
  await waitFor('the restarted A fetched B\'s table', () => a2.mesh.synced && has(a2.dp, 1), 15000, 20);
  a2.dp.record(conn(2));
  await waitFor('the restarted A\'s changes are applied by B once proven', () => has(b.dp, 2), 15000, 20);
});
