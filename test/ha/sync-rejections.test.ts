// SyncChannel's receive-side guards over real UDP sockets on loopback (127.0.0.x): a datagram from anyone but the
// configured peer is `unexpected_source`, one whose (boot, seq) was already taken is `replayed`. Neither reaches
// the data plane or starts a table transfer; both are counted and logged.
import { inPrivateNetns } from '../lab/private-netns';
inPrivateNetns(); // before tap loads: this file runs in a network namespace of its own
import t from 'tap';
import { createSocket, type Socket } from 'node:dgram';
import { SyncChannel } from '../../src/ha/sync-io';
import { encodeSyncPacket, type SyncBatch } from '../../src/ha/sync-codec';
import { createRootLogger } from '../../src/log';
import type { ConnEntry } from '../../src/dataplane/types';
import { FakeDataPlane } from '../../src/dataplane/fake';

const LOCAL = '127.0.0.2';
const PEER = '127.0.0.3';
const STRANGER = '127.0.0.4';
const key = Buffer.from('sync-rejections-key-0123456789ab');
const BOOT = 0x1234n;

function conn(i: number): ConnEntry {
  return { protocol: 'tcp', caddr: `10.63.1.${i}`, cport: 30000 + i, vaddr: '10.63.0.100', vport: 3306, daddr: '10.63.2.1', dport: 3306, state: 'ESTABLISHED', expiresMs: 900000, template: false };
}

function bindUdp(address: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = createSocket({ type: 'udp4', reuseAddr: false });
    s.once('error', reject);
    s.bind({ address, port, exclusive: true }, () => resolve(s));
  });
}

interface Rig {
  channel: SyncChannel;
  dp: FakeDataPlane;
  peer: Socket;
  stranger: Socket;
  /** Datagrams the channel sent to the peer's socket. */
  toPeer: Buffer[];
  logs: Array<Record<string, unknown>>;
  /** Send from `from` and wait until the channel has handled the datagram (applied or rejected). */
  send(from: Socket, batch: SyncBatch | Buffer): Promise<void>;
}

async function rig(t: { teardown(fn: () => unknown): void }, dp = new FakeDataPlane({ forwarding: false })): Promise<Rig> {
  const logs: Array<Record<string, unknown>> = [];
  const log = createRootLogger({ level: 'debug', destination: { write: (l: string) => void logs.push(JSON.parse(l)) } });
  // sync_port is the same on both nodes: find one free on all three addresses (other tests may hold some).
  for (let attempt = 0; ; attempt++) {
    const port = 20000 + Math.floor(Math.random() * 40000);
    const channel = new SyncChannel({ local: LOCAL, peer: PEER, port, key, dataplane: dp, log });
    const opened: Socket[] = [];
    try {
      await channel.open();
      opened.push(await bindUdp(PEER, port), await bindUdp(STRANGER, port));
    } catch (e) {
      channel.close();
      for (const s of opened) s.close();
      if (attempt < 20) continue;
      throw e;
    }
    const [peer, stranger] = opened;
    const toPeer: Buffer[] = [];
    peer.on('message', (m) => toPeer.push(m));
    t.teardown(() => {
      channel.close();
      peer.close();
      stranger.close();
    });
    const handled = () => {
      const s = channel.status();
      return s.entriesApplied + Object.values(s.rejected).reduce((a, b) => a + b, 0) + s.transfersServed;
    };
    const send = async (from: Socket, batch: SyncBatch | Buffer): Promise<void> => {
      const before = handled();
      const buf = Buffer.isBuffer(batch) ? batch : encodeSyncPacket(batch, key);
      from.send(buf, port, LOCAL);
      const deadline = Date.now() + 5000;
      while (handled() === before) {
        if (Date.now() > deadline) throw new Error('the channel never handled the datagram');
        await new Promise((r) => setTimeout(r, 5));
      }
    };
    return { channel, dp, peer, stranger, toPeer, logs, send };
  }
}

const rejectedLogs = (r: Rig, reason: string) => r.logs.filter((l) => l.msg === 'sync datagram rejected' && l.reason === reason);

t.test('replayed: the same datagram again, or an older seq of the same boot, is rejected and never applied', async (t) => {
  const r = await rig(t);
  const first = encodeSyncPacket({ bootId: BOOT, seq: 1n, entries: [conn(1)] }, key);
  await r.send(r.peer, first);
  t.equal(r.dp.synced.size, 1, 'the first datagram is applied');
  t.same(r.channel.status().rejected, {});

  await r.send(r.peer, first);
  t.same(r.channel.status().rejected, { replayed: 1 }, 'the identical datagram again: replayed');
  t.equal(r.channel.status().entriesApplied, 1);

  await r.send(r.peer, { bootId: BOOT, seq: 2n, entries: [conn(2)] });
  t.equal(r.dp.synced.size, 2, 'the next seq is applied');
  // Validly authenticated but older: a captured datagram of this boot sent again, carrying other entries.
  await r.send(r.peer, { bootId: BOOT, seq: 1n, entries: [conn(3)] });
  await r.send(r.peer, { bootId: BOOT, seq: 2n, entries: [conn(4)] });
  t.same(r.channel.status().rejected, { replayed: 3 });
  t.equal(r.dp.synced.size, 2, 'no replayed entry reached the data plane');
  t.notOk([...r.dp.synced.values()].some((e) => e.caddr === '10.63.1.3' || e.caddr === '10.63.1.4'));
  t.match(rejectedLogs(r, 'replayed'), [
    { level: 'warn', from: PEER, detail: 'seq 1 <= last 1', count: 1 },
    { from: PEER, detail: 'seq 1 <= last 2', count: 2 },
    { from: PEER, detail: 'seq 2 <= last 2', count: 3 },
  ]);

  // A replayed table request does not make this node send its table again.
  await r.send(r.peer, { bootId: BOOT, seq: 3n, entries: [], bulk: { kind: 'request', transferId: 7n, index: 0, total: 0 } });
  t.equal(r.channel.status().transfersServed, 1, 'the fresh request is served');
  await r.send(r.peer, { bootId: BOOT, seq: 3n, entries: [], bulk: { kind: 'request', transferId: 8n, index: 0, total: 0 } });
  t.equal(r.channel.status().transfersServed, 1, 'the replayed one is not');
  t.same(r.channel.status().rejected, { replayed: 4 });
});

t.test('unexpected_source: a valid datagram from another address is rejected; the same from the peer is applied', async (t) => {
  const r = await rig(t);
  const batch = encodeSyncPacket({ bootId: BOOT, seq: 10n, entries: [conn(5)] }, key);
  await r.send(r.stranger, batch);
  t.same(r.channel.status().rejected, { unexpected_source: 1 });
  t.equal(r.dp.synced.size, 0, 'nothing applied');
  t.match(rejectedLogs(r, 'unexpected_source'), [{ level: 'warn', from: STRANGER, detail: STRANGER, count: 1 }]);

  // Its request for the table is not served (the table would go to the peer; the stranger must not trigger it).
  await r.send(r.stranger, { bootId: BOOT, seq: 11n, entries: [], bulk: { kind: 'request', transferId: 9n, index: 0, total: 0 } });
  t.equal(r.channel.status().transfersServed, 0, 'not served');
  t.same(r.channel.status().rejected, { unexpected_source: 2 });

  // Rejected for where it came from, not for what it was, and without advancing the peer's sequence.
  await r.send(r.peer, batch);
  t.equal(r.dp.synced.size, 1, 'the same bytes from the peer are applied');
  t.same(r.channel.status().rejected, { unexpected_source: 2 });
  t.equal(r.toPeer.length, 0, 'nothing was sent to the peer for the stranger');
});

t.test('counters: datagrams missing from the peer\'s sequence, and entries the data plane did not take', async (t) => {
  // A data plane that takes every entry but those for 10.63.2.9 (a real server not in its table).
  class Picky extends FakeDataPlane {
    override applySyncUpdates(entries: ConnEntry[]): number {
      const ok = entries.filter((e) => e.daddr !== '10.63.2.9');
      super.applySyncUpdates(ok);
      return ok.length;
    }
  }
  const r = await rig(t, new Picky({ forwarding: false }));
  await r.send(r.peer, { bootId: BOOT, seq: 1n, entries: [conn(1)] });
  await r.send(r.peer, { bootId: BOOT, seq: 2n, entries: [conn(2)] });
  t.equal(r.channel.status().datagramsLost, 0, 'consecutive: none lost');
  await r.send(r.peer, { bootId: BOOT, seq: 5n, entries: [conn(5)] });
  t.equal(r.channel.status().datagramsLost, 2, 'seq 3 and 4 never came');
  await r.send(r.peer, { bootId: BOOT + 1n, seq: 1n, entries: [conn(6)] });
  t.equal(r.channel.status().datagramsLost, 2, "a new boot's sequence starts afresh");
  await r.send(r.peer, { bootId: BOOT + 1n, seq: 2n, entries: [conn(7), { ...conn(8), daddr: '10.63.2.9' }] });
  t.same([r.channel.status().entriesApplied, r.channel.status().entriesNotApplied], [5, 1], 'the entry for an absent server is counted, not applied');
});
