// Writer decisions between two SyncChannels over real UDP on loopback (127.0.0.x): the active sends when the decision
// changes and again after WRITER_RESEND_MS, the standby hands it to its hook; a node that is active drops them; a
// replayed one is rejected; a peer with no hook counts them but adopts nothing.
import { inPrivateNetns } from '../lab/private-netns';
inPrivateNetns(); // before tap loads: this file runs in a network namespace of its own
import t from 'tap';
import { SyncChannel, WRITER_RESEND_MS, type WriterSync } from '../../src/ha/sync-io';
import { silentLogger } from '../../src/log';
import type { WriterDecisionRecord, WriterRecord } from '../../src/ha/writer-record';
import { FakeDataPlane } from '../../src/dataplane/fake';

const A = '127.0.0.2';
const B = '127.0.0.3';
const key = Buffer.from('writer-sync-io-key-0123456789abc');

async function pair(t: { teardown(fn: () => unknown): void }, bHook = true) {
  let decisions: WriterDecisionRecord[] = [];
  const adopted: { rec: WriterRecord; from: string }[] = [];
  let clock = 0;
  const wa: WriterSync = { decisions: () => decisions, adopt: () => { throw new Error('the active adopted'); } };
  const wb: WriterSync = { decisions: () => [], adopt: (rec, from) => adopted.push({ rec, from }) };
  for (let attempt = 0; ; attempt++) {
    const port = 20000 + Math.floor(Math.random() * 40000);
    const a = new SyncChannel({ local: A, peer: B, port, key, dataplane: new FakeDataPlane({ forwarding: false }), log: silentLogger, writers: wa, now: () => clock });
    const b = new SyncChannel({ local: B, peer: A, port, key, dataplane: new FakeDataPlane({ forwarding: false }), log: silentLogger, ...(bHook ? { writers: wb } : {}), now: () => clock });
    try {
      await a.open();
      await b.open();
    } catch (e) {
      a.close();
      b.close();
      if (attempt < 20) continue;
      throw e;
    }
    t.teardown(() => (a.close(), b.close()));
    a.setSending(true);
    const arrived = async (n: number): Promise<void> => {
      const deadline = Date.now() + 5000;
      while (b.status().writerRecordsReceived + Object.values(b.status().rejected).reduce((x, y) => x + y, 0) < n) {
        if (Date.now() > deadline) throw new Error(`only ${b.status().writerRecordsReceived} writer records arrived`);
        await new Promise((r) => setTimeout(r, 5));
      }
    };
    return { a, b, adopted, arrived, set: (d: WriterDecisionRecord[]) => (decisions = d), tick: (ms: number) => (clock += ms) };
  }
}

const d = (writer: string, switches: number): WriterDecisionRecord => ({ service: 'tcp:10.0.0.3:3306', writer, sinceAgeMs: 5, lastSwitchAgeMs: 5, switches, reason: 'r' });

t.test('sent on change and every WRITER_RESEND_MS; adopted by the standby; dropped by an active node', async (t) => {
  const p = await pair(t);
  p.a.pump();
  t.equal(p.a.status().writerRecordsSent, 0, 'no decision yet: nothing sent');
  p.set([d('10.0.0.4:3306', 0)]);
  p.a.pump();
  await p.arrived(1);
  t.match(p.adopted, [{ from: A, rec: { by: A, decisions: [{ writer: '10.0.0.4:3306' }] } }]);
  p.a.pump();
  p.tick(WRITER_RESEND_MS - 1);
  p.a.pump();
  t.equal(p.a.status().writerRecordsSent, 1, 'unchanged within WRITER_RESEND_MS: not sent again');
  p.set([d('10.0.0.5:3306', 1)]);
  p.a.pump();
  await p.arrived(2);
  t.equal(p.adopted[1].rec.decisions[0].writer, '10.0.0.5:3306', 'a change goes out at the next pump');
  p.tick(WRITER_RESEND_MS);
  p.a.pump();
  await p.arrived(3);
  t.equal(p.adopted.length, 3, 'resent after WRITER_RESEND_MS');
  // B becomes active (a split brain, or A has not noticed yet): it does not take A's decisions.
  p.b.setSending(true);
  p.tick(WRITER_RESEND_MS);
  p.a.pump();
  await new Promise((r) => setTimeout(r, 100));
  t.equal(p.adopted.length, 3, 'an active node adopts nothing');
  t.same(p.b.status().rejected, {});
});

t.test('a peer without the hook (or an older one) adopts nothing', async (t) => {
  const p = await pair(t, false);
  p.set([d('10.0.0.4:3306', 0)]);
  p.a.pump();
  await new Promise((r) => setTimeout(r, 100));
  t.equal(p.b.status().writerRecordsReceived, 0);
  t.same(p.b.status().rejected, {}, 'authenticated and in sequence, so not rejected: just not used');
});
