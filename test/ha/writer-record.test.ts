// Writer-decision datagrams on the sync channel: round trip, splitting, what a peer without them does with them
// (decodeSyncPacket: bad_field), and the reject table (MAC, versions, lengths, fields), plus a fuzz.
import t from 'tap';
import { fuzzRandom } from './fuzz-seed';
import { decodeSyncPacket, SYNC_HEADER_LEN, SYNC_MAX_LEN } from '../../src/ha/sync-codec';
import { decodeWriterRecord, encodeWriterRecords, isWriterRecord, WRITER_RECORD_VERSION, type WriterDecisionRecord, type WriterRecord } from '../../src/ha/writer-record';

const key = Buffer.from('writer-record-key-0123456789abcd');
const decision = (over: Partial<WriterDecisionRecord> = {}): WriterDecisionRecord => ({
  service: 'tcp:10.0.0.3:3306', writer: '10.0.0.5:3306', sinceAgeMs: 1234, lastSwitchAgeMs: 1234, switches: 1,
  reason: 'sql1.example.com is down: sql2.example.com caught up: gtid 0-1-8 >= 0-1-8', ...over,
});
/** k null: an unauthenticated sender. */
const enc = (rec: WriterRecord, k: Buffer | null = key, seq = 7n): Buffer[] => encodeWriterRecords(rec, { key: k ?? undefined, bootId: 42n, nextSeq: () => seq++ });

t.test('round trip, with and without a key; no writer; a fwmark service', async (t) => {
  const rec: WriterRecord = { by: '10.0.0.1', decisions: [decision(), decision({ service: 'fwm:7', writer: null, sinceAgeMs: null, lastSwitchAgeMs: null, switches: 0, reason: 'no server fit' })] };
  for (const k of [key, null]) {
    const [p, ...more] = enc(rec, k);
    t.same(more, []);
    t.ok(isWriterRecord(p));
    t.same(decodeWriterRecord(p, k ?? undefined), { ok: true, record: rec, bootId: 42n, seq: 7n });
  }
});

t.test('a long reason is cut to 300 bytes; control characters are blanked; many decisions split under the MTU', async (t) => {
  const long = enc({ by: 'lb1', decisions: [decision({ reason: 'é'.repeat(400) })] })[0];
  const r = decodeWriterRecord(long, key);
  t.ok(r.ok && r.record.decisions[0].reason.length === 150, 'whole characters, 300 bytes');
  const ctl = decodeWriterRecord(enc({ by: 'lb1', decisions: [decision({ reason: 'a\nb\u001b[31mc' })] })[0], key);
  t.equal(ctl.ok && ctl.record.decisions[0].reason, 'a b [31mc');
  const many = Array.from({ length: 12 }, (_, i) => decision({ service: `tcp:10.0.0.3:${3306 + i}`, reason: 'x'.repeat(250) }));
  const packets = enc({ by: 'lb1', decisions: many });
  t.ok(packets.length > 1 && packets.every((p) => p.length <= SYNC_MAX_LEN), `${packets.length} datagrams`);
  const got = packets.map((p) => decodeWriterRecord(p, key)).flatMap((x) => (x.ok ? x.record.decisions : []));
  t.same(got.map((d) => d.service), many.map((d) => d.service));
  t.throws(() => enc({ by: 'lb1', decisions: [decision({ writer: 'sql2' })] }), /bad writer/);
});

t.test('a peer without writer sync rejects the datagram as bad_field (counted, nothing applied)', async (t) => {
  const r = decodeSyncPacket(enc({ by: 'lb1', decisions: [decision()] })[0], key);
  t.match(r, { ok: false, reason: 'bad_field' });
});

t.test('rejects', async (t) => {
  const good = enc({ by: 'lb1', decisions: [decision()] })[0];
  const mut = (f: (b: Buffer) => void): Buffer => {
    const b = Buffer.from(good);
    f(b);
    return b;
  };
  // Re-sign after changing the body, so the check behind the MAC is what rejects.
  const { createHmac } = await import('node:crypto');
  const resign = (b: Buffer): Buffer => {
    const at = b.length - 32;
    createHmac('sha256', key).update(b.subarray(0, at)).digest().copy(b, at);
    return b;
  };
  const body = SYNC_HEADER_LEN;
  const cases: [string, Buffer, string, Buffer | undefined][] = [
    ['truncated', good.subarray(0, 40), 'truncated', key],
    ['flipped byte', mut((b) => (b[body + 5] ^= 1)), 'bad_mac', key],
    ['unauthenticated sender, keyed receiver', enc({ by: 'lb1', decisions: [decision()] }, null)[0], 'unauthenticated', key],
    ['wrong key', good, 'bad_mac', Buffer.alloc(32, 1)],
    ['header version', mut((b) => (b[4] = 9)), 'bad_version', key],
    ['record version', resign(mut((b) => (b[body] = WRITER_RECORD_VERSION + 1))), 'bad_version', key],
    ['length field', mut((b) => b.writeUInt16BE(b.readUInt16BE(6) + 1, 6)), 'bad_length', key],
    ['decision count too high', resign(mut((b) => (b[body + 2 + b[body + 1]] = 2))), 'bad_length', key],
    ['decision count too low: trailing bytes', resign(mut((b) => (b[body + 2 + b[body + 1]] = 0))), 'bad_length', key],
    ['service key not tcp/udp/fwm', resign(mut((b) => (b[body + 2 + b[body + 1] + 2] = 'x'.charCodeAt(0)))), 'bad_field', key],
    ['magic', mut((b) => b.writeUInt32BE(0xdeadbeef, 0)), 'bad_magic', key],
  ];
  for (const [what, buf, reason, k] of cases) t.match(decodeWriterRecord(buf, k), { ok: false, reason }, what);
});

t.test('fuzz: random bytes after a valid header never throw', async (t) => {
  const fz = fuzzRandom();
  const rnd = (): number => fz.random();
  const good = enc({ by: 'lb1', decisions: [decision()] }, null)[0];
  let ok = 0;
  for (let i = 0; i < 3000; i++) {
    const b = Buffer.from(good.subarray(0, Math.floor(rnd() * (good.length + 20))));
    for (let j = 0; j < 4; j++) if (b.length > 8) b[8 + Math.floor(rnd() * (b.length - 8))] = Math.floor(rnd() * 256);
    if (decodeWriterRecord(b).ok) ok++;
  }
  t.pass(`${ok} of 3000 mutations still decoded (unauthenticated), none threw (${fz.replay})`);
});
