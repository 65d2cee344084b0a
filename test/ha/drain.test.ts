// DrainTracker (pure): drained once no packet was forwarded for quietMs, or at the deadline; undrain goes back.
import t from 'tap';
import { DrainTracker } from '../../src/ha/drain';

t.test('drained after a quiet period, with what still arrived reported meanwhile', async (t) => {
  const d = new DrainTracker(3000);
  t.notOk(d.sample(0, 100, 5), 'serving: no event');
  d.begin(1000, 1_700_000_000_000, 100);
  t.equal(d.view(1000).phase, 'draining');
  t.notOk(d.sample(2000, 150, 5), 'packets still arrive');
  t.equal(d.view(2000).packetsSinceStart, 50);
  t.equal(d.view(2000).packetRate, 50);
  t.notOk(d.sample(4000, 150, 5), '2 s quiet: not yet');
  const ev = d.sample(5000, 150, 0);
  t.match(ev, { kind: 'drained', endedBy: 'idle', view: { phase: 'drained', packetsSinceStart: 50, idleMs: 3000 } });
  t.notOk(d.sample(6000, 150, 0), 'reported once');
  d.end();
  t.equal(d.view(7000).phase, 'serving');
});

t.test('the deadline ends a drain that still has traffic', async (t) => {
  const d = new DrainTracker(3000);
  d.begin(0, 0, 0, 2);
  t.equal(d.view(0).deadline, new Date(2000).toISOString());
  t.notOk(d.sample(1000, 10, 1));
  t.match(d.sample(2000, 20, 1), { endedBy: 'deadline' });
});

t.test('no packet at all since the drain began: drained after quietMs from the start', async (t) => {
  const d = new DrainTracker(1000);
  d.begin(0, 0, 7);
  t.equal(d.view(500).idleMs, null);
  t.match(d.sample(1000, 7, 0), { endedBy: 'idle' });
});
