// The receive pipeline as a table: source, pulse's bytes with and without a key, the switch to directord's format,
// what we send (pulse's bytes only to a pulse partner, never with a key), the boot-id handshake.
import t from 'tap';
import { encodeHeartbeat, noFlags, type Heartbeat } from '../../src/ha/heartbeat-codec';
import { HeartbeatReceiver, type Received } from '../../src/ha/heartbeat-receiver';
import { encodePulseHeartbeat } from '../../src/ha/pulse-codec';

const PEER = '10.0.0.1';
const KEY = Buffer.from('0123456789abcdef0123456789abcdef');
const DEAD = 600;

function rx(key?: Buffer): HeartbeatReceiver {
  return new HeartbeatReceiver({ peers: [PEER], key, nodeId: '10.0.0.2', bootId: 0xb2n, deadtimeMs: DEAD, peerRole: 'primary' });
}
function hb(over: Partial<Heartbeat> = {}, key?: Buffer): Buffer {
  return encodeHeartbeat({ nodeId: PEER, role: 'primary', state: 'active', flags: noFlags(), priority: 200, term: 3, bootId: 0xa1n, seq: 1n, timestampMs: 1000, echoBootId: 0xb2n, ...over }, key);
}
const kind = (r: Received): string => (r.kind === 'heartbeat' ? `heartbeat:${r.hb.protocol}:${r.hb.state}` : r.kind === 'rejected' ? `rejected:${r.reason}` : `ignored:${r.why}`);
const own = { role: 'backup' as const, state: 'standby' as const, flags: noFlags(), priority: 100, term: 0, seq: 1n, timestampMs: 5 };

t.test('receive table', async (t) => {
  const rows: Array<[string, Buffer | undefined, Array<[Buffer, string]>, string]> = [
    ['pulse running from the partner, no key', undefined, [[encodePulseHeartbeat('running'), PEER]], 'heartbeat:pulse:active'],
    ['pulse stopped, big-endian', undefined, [[encodePulseHeartbeat('stopped', 'be'), PEER]], 'heartbeat:pulse:stopped'],
    ['pulse bytes with a key: refused', KEY, [[encodePulseHeartbeat('running'), PEER]], 'rejected:pulse_refused'],
    ['pulse bytes from elsewhere', undefined, [[encodePulseHeartbeat('stopped'), '10.0.0.66']], 'rejected:unexpected_source'],
    ['unknown 4-byte magic', undefined, [[Buffer.from([1, 2, 3, 4]), PEER]], 'rejected:bad_magic'],
    ['directord heartbeat echoing our boot', KEY, [[hb({}, KEY), PEER]], 'heartbeat:directord:active'],
    ['directord heartbeat of a boot that has not heard us yet', KEY, [[hb({ echoBootId: 0n }, KEY), PEER]], 'ignored:unproven'],
    ['pulse bytes after the partner spoke directord', undefined, [[hb(), PEER], [encodePulseHeartbeat('stopped'), PEER]], 'ignored:pulse_superseded'],
    ['our own node id', undefined, [[hb({ nodeId: '10.0.0.2' }), PEER]], 'rejected:own_node_id'],
  ];
  for (const [name, key, packets, want] of rows) {
    const r = rx(key);
    let last: Received | undefined;
    for (const [buf, from] of packets) last = r.receive(buf, from, 100);
    t.equal(kind(last!), want, name);
  }
});

t.test('outgoing: pulse bytes only to a pulse partner and never with a key; the echo follows what we heard', async (t) => {
  const r = rx();
  t.same(r.outgoing(own).map((b) => b.length), [80 + 8], 'nothing heard: directord only');
  r.receive(encodePulseHeartbeat('running'), PEER, 10);
  const out = r.outgoing(own);
  t.equal(out.length, 2, 'pulse partner: ours + pulse');
  t.same([...out[1]], [0xbd, 0xda, 0xbd, 0xad], 'standby → pulse "stopped", little-endian');
  t.same([...r.outgoing({ ...own, state: 'active' })[1]], [0xda, 0xdb, 0xad, 0xbd], 'active → "running"');
  r.receive(hb(), PEER, 20);
  t.equal(r.outgoing(own).length, 1, 'partner speaks directord: pulse bytes stop');
  t.equal(r.outgoing(own)[0].readBigUInt64BE(40), 0xa1n, "our heartbeat echoes the partner's boot");
  const keyed = rx(KEY);
  keyed.receive(encodePulseHeartbeat('running'), PEER, 10);
  t.equal(keyed.outgoing(own).length, 1, 'with a key: never pulse bytes');
});

t.test('handshake: a restarted peer is accepted once it echoes our boot', async (t) => {
  const r = rx(KEY);
  t.equal(kind(r.receive(hb({ seq: 5n }, KEY), PEER, 0)), 'heartbeat:directord:active');
  const fresh = { bootId: 0xa2n, seq: 1n, timestampMs: 2000 };
  t.equal(kind(r.receive(hb({ ...fresh, echoBootId: 0n }, KEY), PEER, 100)), 'ignored:unproven', 'the new boot has not heard us yet');
  t.equal(r.outgoing(own)[0].readBigUInt64BE(40), 0xa2n, 'our answer echoes the new boot');
  const ok = r.receive(hb({ ...fresh, seq: 2n }, KEY), PEER, 150);
  t.equal(kind(ok), 'heartbeat:directord:active');
  t.equal(ok.kind === 'heartbeat' && ok.meta.restarted, true, 'reported as a restart');
  t.equal(kind(r.receive(hb({ seq: 6n }, KEY), PEER, 200)), 'rejected:replayed', 'the old boot is retired');
});
