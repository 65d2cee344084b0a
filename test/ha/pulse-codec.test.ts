// pulse's 4-byte heartbeat and the per-partner protocol choice: exact bytes, both byte orders, every reject, the switch.
import t from 'tap';
import { decodePulseHeartbeat, encodePulseHeartbeat, PartnerProtocol, PULSE_RUNNING, PULSE_STOPPED } from '../../src/ha/pulse-codec';

t.test("pulse's exact bytes (x86 host order = little-endian)", async (t) => {
  t.same([...encodePulseHeartbeat('running')], [0xda, 0xdb, 0xad, 0xbd]);
  t.same([...encodePulseHeartbeat('stopped')], [0xbd, 0xda, 0xbd, 0xad]);
  t.same([...encodePulseHeartbeat('running', 'be')], [0xbd, 0xad, 0xdb, 0xda]);
});

t.test('decode: both magics in both byte orders; every damaged packet has a reason', async (t) => {
  const le = (m: number) => { const b = Buffer.alloc(4); b.writeUInt32LE(m); return b; };
  const be = (m: number) => { const b = Buffer.alloc(4); b.writeUInt32BE(m); return b; };
  const rows: Array<[string, Buffer, unknown]> = [
    ['running LE', le(PULSE_RUNNING), { ok: true, state: 'running', byteOrder: 'le' }],
    ['stopped LE', le(PULSE_STOPPED), { ok: true, state: 'stopped', byteOrder: 'le' }],
    ['running BE (big-endian pulse)', be(PULSE_RUNNING), { ok: true, state: 'running', byteOrder: 'be' }],
    ['stopped BE', be(PULSE_STOPPED), { ok: true, state: 'stopped', byteOrder: 'be' }],
    ['3 bytes', Buffer.from([0xda, 0xdb, 0xad]), { ok: false, reason: 'truncated' }],
    ['5 bytes', Buffer.concat([le(PULSE_RUNNING), Buffer.alloc(1)]), { ok: false, reason: 'oversized' }],
    ['zero', Buffer.alloc(4), { ok: false, reason: 'bad_magic' }],
    ['FOS running', le(0xbeefbabe), { ok: false, reason: 'bad_magic' }],
    ['hold (disabled in pulse)', le(0xdeafbabe), { ok: false, reason: 'bad_magic' }],
  ];
  for (const [name, buf, want] of rows) t.match(decodePulseHeartbeat(buf), want as object, name);
  const fos = decodePulseHeartbeat(le(0xdeadbeef));
  t.match(fos, { ok: false, detail: /FOS stopped magic/ }, 'FOS magics are named');
  for (const b of [encodePulseHeartbeat('running'), encodePulseHeartbeat('stopped', 'be')]) t.equal(decodePulseHeartbeat(b).ok, true, 'round trip');
});

t.test('protocol choice: pulse partner → answer in pulse; directord heartbeat → stop; rollback → pulse again', async (t) => {
  const DEAD = 600;
  const p = new PartnerProtocol(DEAD);
  t.equal(p.sendPulse(), false, 'nothing heard yet: directord format only');
  t.same(p.onPulse(100, 'le'), { accept: true, newSession: true }, 'first pulse heartbeat opens a session (warned)');
  t.same(p.onPulse(300, 'le'), { accept: true, newSession: false }, 'same run: no second warning');
  t.equal(p.sendPulse(), true, 'answer in pulse format');
  t.same(p.onPulse(1000, 'be'), { accept: true, newSession: true }, 'silent for more than deadtime: a new pulse run (restart)');
  t.equal(p.byteOrder, 'be', 'answer in the byte order the partner uses');
  p.onDirectord(1100, false);
  t.equal(p.mode, 'directord');
  t.equal(p.sendPulse(), false, 'partner now runs directord: stop sending pulse');
  t.same(p.onPulse(1200, 'le'), { accept: false, newSession: false }, "the partner's pulse bytes (sent until it hears us) are ignored");
  t.equal(p.pulseIgnored, 1);
  t.same(p.onPulse(1100 + DEAD + 1, 'le'), { accept: true, newSession: true }, 'directord partner silent beyond deadtime: pulse again (rollback)');
  p.onDirectord(2000, true);
  t.same(p.onPulse(2001, 'le'), { accept: true, newSession: true }, "a directord partner that said 'stopped' may be replaced by pulse at once");
  t.equal(p.pulseSessions, 4);
});
