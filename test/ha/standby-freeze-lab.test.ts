// Lab: a standby frozen (SIGSTOP) longer than deadtime and resumed must not take the VIP from a live active peer
// whose heartbeats wait in its socket buffer (found by the fault soak, seed 1, fault 4: a 134 ms split brain).
import t from 'tap';
import { labAvailable, waitFor } from '../lab/lab';
import { HaLab } from './ha-lab';

const skip = !labAvailable() && 'needs root and ip netns';

t.test('a standby resumed after SIGSTOP stays standby: the queued heartbeats are read before the deadline is judged', { skip }, async (t) => {
  const h = await HaLab.create();
  t.teardown(() => h.destroy());
  h.start('lb1');
  await h.waitState('lb1', 'active');
  h.start('lb2');
  await waitFor('lb2 standby seeing lb1', () => h.status('lb2')?.peer.alive && h.status('lb2')?.state === 'standby', 5000, 20);
  for (let i = 0; i < 5; i++) {
    h.kill('lb2', 'SIGSTOP');
    await new Promise((r) => setTimeout(r, 1200 + 150 * i)); // deadtime 0.6 s: twice that and more
    h.kill('lb2', 'SIGCONT');
    await new Promise((r) => setTimeout(r, 800));
  }
  const activated = h.records('lb2').filter((r) => /activ|partner dead/i.test(String(r.msg)));
  t.same(activated.map((r) => r.msg), [], 'lb2 never declared lb1 dead nor activated');
  t.equal(h.status('lb2')!.failovers, 0, 'no failover on lb2');
  t.same(await h.vipHolders(), ['lb1']);
});
