// The timing logs' judges: a heartbeat sent later than 2 × keepalive, and what the "partner dead" log says.
import t from 'tap';
import { deadPeerFields, lateSendGap } from '../../src/ha/heartbeat-timing';

t.test('late send: only a gap over 2 × keepalive', async (t) => {
  t.equal(lateSendGap(undefined, 1000, 200), undefined, 'the first heartbeat');
  t.equal(lateSendGap(1000, 1200, 200), undefined);
  t.equal(lateSendGap(1000, 1400, 200), undefined, 'exactly 2 × keepalive');
  t.equal(lateSendGap(1000, 1400.6, 200), 401);
  t.equal(lateSendGap(1000, 3300, 200), 2300, 'a freeze');
});

t.test('partner dead: silence, our timer lateness, rejections by reason', async (t) => {
  t.same(deadPeerFields({ nowMs: 5650, lastAcceptedMs: 5000, deadtimeMs: 600, timerLateMs: 49.6, rejectedSince: {} }),
    { silentMs: 650, deadtimeMs: 600, timerLateMs: 50, rejectedSince: {}, rejectedSinceTotal: 0 });
  t.same(deadPeerFields({ nowMs: 5650, lastAcceptedMs: 5000, deadtimeMs: 600, rejectedSince: { replayed: 3, bad_mac: 0, unproven: 2 } }),
    { silentMs: 650, deadtimeMs: 600, rejectedSince: { replayed: 3, unproven: 2 }, rejectedSinceTotal: 5 }, 'no timer: no timerLateMs; zero reasons left out');
  t.same(deadPeerFields({ nowMs: 700, deadtimeMs: 600, timerLateMs: -1, rejectedSince: {} }),
    { silentMs: null, deadtimeMs: 600, timerLateMs: 0, rejectedSince: {}, rejectedSinceTotal: 0 }, 'never heard');
});
