// Heartbeat codec: round trips, every reject reason from a table of damaged packets, replay guard, and a fuzz pass.
import t from 'tap';
import { fuzzRandom } from './fuzz-seed';
import {
  decodeHeartbeat,
  encodeHeartbeat,
  noFlags,
  ReplayGuard,
  HEARTBEAT_MIN_LEN,
  HEARTBEAT_MAX_LEN,
  type Heartbeat,
} from '../../src/ha/heartbeat-codec';

const key = Buffer.from('0123456789abcdef0123456789abcdef');
const otherKey = Buffer.from('fedcba9876543210fedcba9876543210');

function hb(over: Partial<Heartbeat> = {}): Heartbeat {
  return {
    nodeId: 'lb1',
    role: 'primary',
    state: 'active',
    flags: noFlags(),
    priority: 100,
    term: 7,
    bootId: 0x1122334455667788n,
    seq: 42n,
    timestampMs: 1_700_000_000_123,
    echoBootId: 0x99aabbccddeeff00n,
    ...over,
  };
}

t.test('round trip keeps every field, with and without key', async (t) => {
  const cases: Heartbeat[] = [
    hb(),
    hb({ role: 'backup', state: 'standby', flags: { linkfail: true, childfail: false, yielding: false, manual: false } }),
    hb({ state: 'stopped', flags: { linkfail: false, childfail: true, yielding: true, manual: true }, term: 0xffffffff }),
    hb({ state: 'fault', nodeId: 'x'.repeat(64), seq: 2n ** 64n - 1n }),
    hb({ nodeId: 'lb2.example.com', priority: 0 }),
  ];
  for (const c of cases) {
    for (const k of [key, undefined]) {
      const r = decodeHeartbeat(encodeHeartbeat(c, k), k);
      t.ok(r.ok, `${c.nodeId}/${c.state} decodes`);
      if (r.ok) {
        t.same(r.heartbeat, c);
        t.equal(r.authenticated, !!k);
      }
    }
  }
});

t.test('wire layout: magic DDHB, version 2, echo at 40, MAC at the end', async (t) => {
  const buf = encodeHeartbeat(hb(), key);
  t.equal(buf.subarray(0, 4).toString('latin1'), 'DDHB');
  t.equal(buf[4], 2);
  t.equal(buf.readBigUInt64BE(40), 0x99aabbccddeeff00n, 'the echoed peer boot id');
  t.equal(buf.length, HEARTBEAT_MIN_LEN + 3);
  t.equal(buf[7] & 0x80, 0, 'authenticated packets do not carry the unauthenticated bit');
  t.equal(encodeHeartbeat(hb())[7] & 0x80, 0x80);
});

t.test('encode refuses an empty or too long node id', async (t) => {
  t.throws(() => encodeHeartbeat(hb({ nodeId: '' })));
  t.throws(() => encodeHeartbeat(hb({ nodeId: 'y'.repeat(65) })));
});

function mutate(f: (b: Buffer) => Buffer, k: Buffer | undefined = key): Buffer {
  return f(Buffer.from(encodeHeartbeat(hb(), k)));
}
function resign(b: Buffer): Buffer {
  // Re-sign after tampering, to reach the field checks behind the MAC.
  const idLen = b[9];
  const { createHmac } = require('node:crypto') as typeof import('node:crypto');
  createHmac('sha256', key).update(b.subarray(0, 48 + idLen)).digest().copy(b, 48 + idLen);
  return b;
}

t.test('rejects damaged packets with the right reason', async (t) => {
  const table: Array<[string, Buffer, Buffer | undefined, string]> = [
    ['empty', Buffer.alloc(0), key, 'truncated'],
    ['pulse 4-byte magic', Buffer.from([0xda, 0xdb, 0xad, 0xbd]), key, 'truncated'],
    ['cut before MAC end', mutate((b) => b.subarray(0, b.length - 1)), key, 'truncated'],
    ['cut inside node id', mutate((b) => b.subarray(0, HEARTBEAT_MIN_LEN + 1)), key, 'truncated'],
    ['one byte extra', mutate((b) => Buffer.concat([b, Buffer.from([0])])), key, 'oversized'],
    ['huge', Buffer.alloc(HEARTBEAT_MAX_LEN + 1), key, 'oversized'],
    ['bad magic', mutate((b) => (b.writeUInt32BE(0xbdaddbda, 0), b)), key, 'bad_magic'],
    ['version 1 (no echo: an older directord)', mutate((b) => ((b[4] = 1), b)), key, 'bad_version'],
    ['node id length 0', mutate((b) => ((b[9] = 0), b)), key, 'bad_field'],
    ['node id length 65', mutate((b) => ((b[9] = 65), b)), key, 'bad_field'],
    ['flipped state bit', mutate((b) => ((b[6] ^= 1), b)), key, 'bad_mac'],
    ['flipped seq bit', mutate((b) => ((b[31] ^= 1), b)), key, 'bad_mac'],
    ['flipped echo bit', mutate((b) => ((b[47] ^= 1), b)), key, 'bad_mac'],
    ['flipped MAC bit', mutate((b) => ((b[b.length - 1] ^= 1), b)), key, 'bad_mac'],
    ['signed with another key', encodeHeartbeat(hb(), otherKey), key, 'bad_mac'],
    ['unauthenticated sender', encodeHeartbeat(hb()), key, 'unauthenticated'],
    ['role 7 (re-signed)', mutate((b) => resign(((b[5] = 7), b))), key, 'bad_field'],
    ['state 9 (re-signed)', mutate((b) => resign(((b[6] = 9), b))), key, 'bad_field'],
    ['unknown flag (re-signed)', mutate((b) => resign(((b[7] |= 0x40), b))), key, 'bad_field'],
    ['reserved set (re-signed)', mutate((b) => resign(((b[10] = 1), b))), key, 'bad_field'],
    ['node id not UTF-8 (re-signed)', mutate((b) => resign(((b[48] = 0xff), b))), key, 'bad_field'],
    ['no key: bad state', mutate((b) => ((b[6] = 9), b), undefined), undefined, 'bad_field'],
  ];
  for (const [name, buf, k, reason] of table) {
    const r = decodeHeartbeat(buf, k);
    t.equal(r.ok ? 'accepted' : r.reason, reason, name);
  }
});

t.test('replay guard: sequence within a boot, restarted peer, retired boots', async (t) => {
  const g = new ReplayGuard(2);
  const steps: Array<[string, Partial<Heartbeat>, string]> = [
    ['first packet', { seq: 5n, bootId: 1n }, 'ok'],
    ['next seq', { seq: 6n, bootId: 1n }, 'ok'],
    ['same seq again', { seq: 6n, bootId: 1n }, 'replayed'],
    ['older seq', { seq: 3n, bootId: 1n }, 'replayed'],
    ['gap is fine', { seq: 100n, bootId: 1n }, 'ok'],
    ['restarted peer (new boot, low seq)', { seq: 1n, bootId: 2n }, 'restarted'],
    ['old boot replayed', { seq: 101n, bootId: 1n }, 'replayed'],
    ['new boot continues', { seq: 2n, bootId: 2n }, 'ok'],
    ['another node has its own sequence', { nodeId: 'lb2', seq: 1n, bootId: 1n }, 'ok'],
    ['boot 3', { seq: 1n, bootId: 3n }, 'restarted'],
    ['boot 4', { seq: 1n, bootId: 4n }, 'restarted'],
    ['boot 2 still retired', { seq: 9n, bootId: 2n }, 'replayed'],
  ];
  for (const [name, over, expect] of steps) {
    const r = g.check(hb(over));
    t.equal(r.ok ? (r.restarted ? 'restarted' : 'ok') : r.reason, expect, name);
  }
});

t.test('fuzz: random and mutated datagrams never throw and are never accepted without the key', async (t) => {
  const rnd = fuzzRandom();
  t.comment(rnd.replay); // shown also when a decode throws
  const base = encodeHeartbeat(hb(), key);
  let accepted = 0;
  for (let i = 0; i < 5000; i++) {
    let buf: Buffer;
    if (i % 2 === 0) {
      buf = rnd.bytes(Math.floor(rnd.random() * (HEARTBEAT_MAX_LEN + 20)));
    } else {
      buf = Buffer.from(base);
      const flips = 1 + Math.floor(rnd.random() * 4);
      for (let f = 0; f < flips; f++) buf[Math.floor(rnd.random() * buf.length)] ^= 1 + Math.floor(rnd.random() * 255);
      if (rnd.random() < 0.2) buf = buf.subarray(0, Math.floor(rnd.random() * buf.length));
    }
    const r = decodeHeartbeat(buf, key);
    // Two flips of one byte can cancel out: the untouched original is of course valid.
    if (r.ok && !buf.equals(base)) accepted++;
    decodeHeartbeat(buf); // unauthenticated path must not throw either
  }
  t.equal(accepted, 0, rnd.replay);
});
