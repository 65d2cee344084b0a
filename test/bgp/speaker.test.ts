// The announce/withdraw decision (policy.ts) and the loop that pushes it (speaker.ts), with a fake Announcer.
import t from 'tap';
import { decideVips } from '../../src/bgp/policy';
import { BgpSpeaker } from '../../src/bgp/speaker';
import type { Announcer, SpeakerStatus } from '../../src/bgp/announcer';
import type { ServerHealthView, StatusSnapshot } from '../../src/control/types';
import { DirectordError } from '../../src/errors';
import { createRootLogger } from '../../src/log';

type Snap = Pick<StatusSnapshot, 'services' | 'health' | 'ha'>;

function svc(virtual: string, vip: string, port = 3306): StatusSnapshot['services'][number] {
  return { virtual, vip, port, protocol: 'tcp', fwmark: 0, scheduler: 'mh', persistent: 0, pmask: '255.255.255.255', conns: 0, inPkts: 0, inBytes: 0, cps: 0, inpps: 0, inbps: 0, dests: [] };
}
function h(virtual: string, server: string, state: ServerHealthView['state'], inTable = true): ServerHealthView {
  return { virtual, server, address: '10.0.0.21', port: 3306, state, inTable, configuredWeight: 1, healthWeight: 1, effectiveWeight: inTable ? 1 : 0 };
}
function snap(health: ServerHealthView[], forwarding = true, services = [svc('db', '10.2.0.100')]): Snap {
  return { services, health, ha: { enabled: true, role: 'primary', state: forwarding ? 'active' : 'standby', forwarding } };
}

class FakeAnnouncer implements Announcer {
  readonly kind = 'fake';
  readonly set = new Set<string>();
  flushed: string[][] = [];
  fail?: DirectordError;
  speaker: SpeakerStatus = { reachable: true, peers: [{ peer: '10.0.0.254', protocol: 'p1', state: 'Established', established: true }], exporting: [] };
  announce(v: string) { this.set.add(v); }
  withdraw(v: string) { this.set.delete(v); }
  async flush() {
    if (this.fail) throw this.fail;
    this.flushed.push([...this.set].sort());
    this.speaker.exporting = [...this.set];
  }
  async status() { return this.speaker; }
}

const logger = createRootLogger({ level: 'silent' });

t.test('policy: announce only while forwarding with a healthy server; drain wins', async (t) => {
  t.same(decideVips({ snapshot: snap([h('db', 'a', 'up'), h('db', 'b', 'down', false)]), draining: false }), [{ vip: '10.2.0.100', announce: true, reason: '1 healthy real server' }]);
  t.same(decideVips({ snapshot: snap([h('db', 'a', 'down', false)]), draining: false }), [{ vip: '10.2.0.100', announce: false, reason: 'no healthy real server' }]);
  t.same(decideVips({ snapshot: snap([h('db', 'a', 'up')], false), draining: false }), [{ vip: '10.2.0.100', announce: false, reason: 'data plane not forwarding (standby)' }]);
  t.same(decideVips({ snapshot: snap([h('db', 'a', 'up')]), draining: true }), [{ vip: '10.2.0.100', announce: false, reason: 'director draining' }]);
  const drainingHa = (phase: 'serving' | 'draining' | 'drained') => ({ ...snap([h('db', 'a', 'up')]), ha: { enabled: true, role: 'scale-out', state: phase, forwarding: true, scaleOut: { self: '10.0.0.11', peers: [], synced: true, join: { phase: 'joined' as const, endedBy: 'synced' as const, waitedMs: 80, maxWaitMs: 30000 }, drain: { phase, packetsSinceStart: 0, packetRate: 0, idleMs: null, activeConns: 0 }, peersSynced: 0 } } });
  t.same(decideVips({ snapshot: drainingHa('draining'), draining: false }), [{ vip: '10.2.0.100', announce: false, reason: 'director draining (drain-director)' }]);
  t.equal(decideVips({ snapshot: drainingHa('drained'), draining: false })[0].announce, false);
  t.equal(decideVips({ snapshot: drainingHa('serving'), draining: false })[0].announce, true);
  // A scale-out director that just started holds its routes until it has its peers' connection tables.
  const joining = drainingHa('serving');
  joining.ha.scaleOut.join = { phase: 'waiting', waitedMs: 2400, maxWaitMs: 30000 } as never;
  t.same(decideVips({ snapshot: joining, draining: false }), [{ vip: '10.2.0.100', announce: false, reason: "joining: fetching the peers' connection tables (2 s of at most 30 s)" }]);
  const a = new FakeAnnouncer();
  const sp = new BgpSpeaker({ announcer: a, logger, snapshot: () => drainingHa('draining'), decideMs: 10_000, statusMs: 10_000 });
  await sp.start();
  t.match(sp.status(), { draining: true, vips: [{ wanted: false }] }, 'status says draining during drain-director');
  await sp.stop();
  // quiesced (weight 0 by its check) and draining servers do not count; unchecked (no check) does.
  t.equal(decideVips({ snapshot: snap([h('db', 'a', 'quiesced'), h('db', 'b', 'draining')]), draining: false })[0].announce, false);
  t.equal(decideVips({ snapshot: snap([h('db', 'a', 'unchecked')]), draining: false })[0].announce, true);
});

t.test('policy: a VIP with two ports stays announced while either port has a server', async (t) => {
  const services = [svc('db', '10.2.0.100'), svc('web', '10.2.0.100', 80), svc('other', '10.2.0.7')];
  const d = decideVips({ snapshot: snap([h('db', 'a', 'down', false), h('web', 'w', 'up'), h('other', 'o', 'down', false)], true, services), draining: false });
  t.same(d.map((x) => [x.vip, x.announce]), [['10.2.0.7', false], ['10.2.0.100', true]]);
});


t.test('speaker: pushes decisions, retries a refused push, withdraws on drain and on stop', async (t) => {
  const a = new FakeAnnouncer();
  let current = snap([h('db', 'a', 'up')]);
  let draining = false;
  const sp = new BgpSpeaker({ announcer: a, logger, snapshot: () => current, draining: () => draining, decideMs: 10_000, statusMs: 10_000 });
  await sp.start();
  t.same(a.flushed, [['10.2.0.100']]);
  t.same(sp.status().vips, [{ vip: '10.2.0.100', wanted: true, announced: true, reason: '1 healthy real server' }]);
  t.same(sp.status().peers.map((p) => p.established), [true]);

  current = snap([h('db', 'a', 'down', false)]);
  a.fail = new DirectordError('E_BGP_UNREACHABLE', 'birdc: no socket');
  await sp.tick();
  t.match(sp.status(), { applyError: { code: 'E_BGP_UNREACHABLE' }, vips: [{ wanted: false, reason: 'no healthy real server' }] });
  a.fail = undefined;
  await sp.tick();
  t.same(a.flushed.at(-1), []);
  t.equal(sp.status().applyError, undefined);

  current = snap([h('db', 'a', 'up')]);
  await sp.tick();
  t.same(a.flushed.at(-1), ['10.2.0.100']);
  draining = true;
  await sp.tick();
  t.same(a.flushed.at(-1), []);
  t.equal(sp.status().draining, true);
  draining = false;
  await sp.tick();
  t.same(a.flushed.at(-1), ['10.2.0.100']);

  await sp.stop();
  t.same(a.flushed.at(-1), []);
  t.match(sp.status(), { draining: true, vips: [{ wanted: false, reason: 'director draining' }] });
});

t.test('speaker: a VIP removed by reload is withdrawn; no session → not announced; a snapshot that throws withdraws', async (t) => {
  const a = new FakeAnnouncer();
  let current: () => Snap = () => snap([h('db', 'a', 'up')], true, [svc('db', '10.2.0.100'), svc('x', '10.2.0.7')]);
  const sp = new BgpSpeaker({ announcer: a, logger, snapshot: () => current(), decideMs: 10_000, statusMs: 10_000 });
  await sp.start();
  t.same(a.flushed.at(-1), ['10.2.0.100']);
  current = () => snap([], true, [svc('x', '10.2.0.7')]);
  await sp.tick();
  t.same(a.flushed.at(-1), []);
  a.speaker.peers[0] = { ...a.speaker.peers[0], state: 'Active', established: false };
  current = () => snap([h('x', 'a', 'up')], true, [svc('x', '10.2.0.7')]);
  await sp.tick();
  t.same(sp.status().vips, [{ vip: '10.2.0.7', wanted: true, announced: false, reason: '1 healthy real server' }], 'wanted, but no session is established');
  current = () => {
    throw new Error('directord is stopping');
  };
  await sp.tick();
  t.same(a.flushed.at(-1), []);
  t.match(sp.status().vips, [{ vip: '10.2.0.7', wanted: false, announced: false, reason: /no director state/ }]);
  await sp.stop();
});

t.test('speaker: stop reports a withdrawal the speaker did not take', async (t) => {
  const a = new FakeAnnouncer();
  const sp = new BgpSpeaker({ announcer: a, logger, snapshot: () => snap([h('db', 'a', 'up')]), decideMs: 10_000, statusMs: 10_000 });
  await sp.start();
  a.fail = new DirectordError('E_BGP_CONFIGURE', 'parse error');
  await t.rejects(sp.stop(), /withdrawal not applied: parse error/);
});

t.test('speaker: status follows a change at once, not at the next periodic read', async (t) => {
  class CopyingAnnouncer extends FakeAnnouncer {
    override async status() {
      return { ...this.speaker, peers: [...this.speaker.peers], exporting: [...this.speaker.exporting] };
    }
  }
  const a = new CopyingAnnouncer();
  let current = snap([h('db', 'a', 'up')]);
  const sp = new BgpSpeaker({ announcer: a, logger, snapshot: () => current, decideMs: 10_000, statusMs: 10_000 });
  await sp.start();
  t.equal(sp.status().vips[0].announced, true);
  current = snap([h('db', 'a', 'down', false)]);
  await sp.tick();
  t.equal(sp.status().vips[0].announced, false, 'withdrawn in status right after the push');
  await sp.stop();
});
