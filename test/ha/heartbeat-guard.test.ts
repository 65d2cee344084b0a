// Issue 12, heartbeats: replays after a restart, forged boots, unbounded memory. Two simulated directors run the real
// receive pipeline (HeartbeatReceiver: decode, MAC, guard) and the real state machine on a simulated clock; an
// attacker captures and replays datagrams. Plus the guard's rules as a table, and sync's guard.
import t from 'tap';
import { encodeHeartbeat, noFlags, type HaRole } from '../../src/ha/heartbeat-codec';
import { HeartbeatReceiver } from '../../src/ha/heartbeat-receiver';
import { PeerGuard, ReplayGuard, GUARD_MAX_NODES, GUARD_MAX_RETIRED } from '../../src/ha/heartbeat-guard';
import { HaStateMachine, type HaAction } from '../../src/ha/state-machine';

const KEEPALIVE = 200;
const DEAD = 600;
const KEY = Buffer.from('lab-heartbeat-key-0123456789abcdef');
const ADDR = { lb1: '10.0.0.1', lb2: '10.0.0.2' } as const;
type Name = keyof typeof ADDR;

let bootCounter = 0x1000n;

class SimNode {
  readonly bootId = ++bootCounter;
  readonly machine: HaStateMachine;
  readonly rx: HeartbeatReceiver;
  private seq = 0n;
  private nextSend: number;
  rejected: string[] = [];

  constructor(readonly name: Name, readonly role: HaRole, now: number, private readonly net: Net, key: Buffer | undefined) {
    const peer = name === 'lb1' ? ADDR.lb2 : ADDR.lb1;
    this.machine = new HaStateMachine({ role, nodeId: ADDR[name], backupActive: true, deadtimeMs: DEAD, monitorLinks: false, failback: false, failbackHolddownMs: 0 });
    this.rx = new HeartbeatReceiver({ peers: [peer], key, nodeId: ADDR[name], bootId: this.bootId, deadtimeMs: DEAD, peerRole: role === 'primary' ? 'backup' : 'primary' });
    this.machine.start(now);
    this.nextSend = now + KEEPALIVE;
  }

  private apply(actions: HaAction[], now: number): void {
    if (actions.some((a) => a.kind === 'send-heartbeat')) this.send(now);
  }

  send(now: number): void {
    const m = this.machine;
    for (const b of this.rx.outgoing({ role: this.role, state: m.ownState(), flags: m.ownFlags(), priority: 100, term: m.term, seq: ++this.seq, timestampMs: 1_700_000_000_000 + now })) this.net.deliver(this.name, b, now);
  }

  stop(now: number): void {
    this.apply(this.machine.stop(), now);
  }

  step(now: number): void {
    if (now >= this.nextSend) {
      this.nextSend = now + KEEPALIVE;
      this.send(now);
    }
    if (now >= this.machine.nextDeadlineMs()) this.apply(this.machine.tick(now), now);
  }

  receive(buf: Buffer, from: string, now: number): void {
    const r = this.rx.receive(buf, from, now);
    if (r.kind === 'heartbeat') this.apply(this.machine.heartbeat(now, r.hb), now);
    else if (r.kind === 'rejected') this.rejected.push(r.reason);
    else if (r.why === 'unproven') this.send(now); // heartbeat-io answers a new boot at once
  }
}

class Net {
  nodes: Partial<Record<Name, SimNode>> = {};
  captured: Array<{ from: Name; buf: Buffer; at: number }> = [];
  deliver(from: Name, buf: Buffer, now: number): void {
    this.captured.push({ from, buf, at: now });
    const to = from === 'lb1' ? 'lb2' : 'lb1';
    this.nodes[to]?.receive(buf, ADDR[from], now);
  }
  /** The attacker: datagrams with the peer's source address (spoofed or replayed). */
  inject(to: Name, buf: Buffer, now: number): void {
    this.nodes[to]?.receive(buf, to === 'lb1' ? ADDR.lb2 : ADDR.lb1, now);
  }
}

/** Run the scenario; returns the milliseconds (after `from`) during which both nodes were active. */
function scenario(key: Buffer | undefined, attack: (net: Net, now: number) => void, attackAt: number): { bothActiveMs: number; net: Net } {
  const net = new Net();
  net.nodes.lb1 = new SimNode('lb1', 'primary', 0, net, key);
  net.nodes.lb2 = new SimNode('lb2', 'backup', 0, net, key);
  let bothActiveMs = 0;
  for (let now = 0; now <= 45_000; now += 10) {
    if (now === 3000) {
      // lb1 restarted (systemctl restart: its "stopped" heartbeat makes lb2 take over), back 300 ms later as boot 2.
      net.nodes.lb1!.stop(now);
      net.nodes.lb1 = undefined;
    }
    if (now === 3300) net.nodes.lb1 = new SimNode('lb1', 'primary', now, net, key);
    if (now === 6000) net.nodes.lb2 = new SimNode('lb2', 'backup', now, net, key); // the receiver restarts
    if (now === attackAt) attack(net, now);
    net.nodes.lb1?.step(now);
    net.nodes.lb2?.step(now);
    if (now > 10_000 && net.nodes.lb1?.machine.active && net.nodes.lb2?.machine.active) bothActiveMs += 10;
  }
  return { bothActiveMs, net };
}

/** A heartbeat lb1 sent during its first boot (before t = 3 s): what the attacker captured. */
function firstBootPacket(net: Net): Buffer {
  return net.captured.find((c) => c.from === 'lb1' && c.at > 2000 && c.at < 3000)!.buf;
}

t.test('issue 12: a heartbeat of the peer\'s earlier boot, replayed after the receiver restarted, never splits the brain', async (t) => {
  for (const at of [6000, 6500, 9000]) {
    // 6000: replayed the instant the receiver restarts, before any real heartbeat; 6500 / 9000: after it heard the live boot.
    let replays = 0;
    const { bothActiveMs, net } = scenario(KEY, (n, now) => {
      const p = firstBootPacket(n);
      for (let i = 0; i < 3; i++, replays++) n.inject('lb2', p, now);
    }, at);
    t.equal(bothActiveMs, 0, `replay at ${at} ms: never both active from t = 10 s to 45 s`);
    t.equal(net.nodes.lb1!.machine.active, true, 'lb1 (primary, restarted, re-elected) active');
    t.equal(net.nodes.lb2!.machine.active, false, 'lb2 standby');
    t.equal(net.nodes.lb2!.machine.peer.alive, true, "lb1's real heartbeats still count on lb2");
    t.equal(replays, 3);
  }
});

t.test('a replayed "stopped" of an earlier boot of the peer never activates the restarted standby', async (t) => {
  for (const at of [6000, 7000]) {
    const { bothActiveMs, net } = scenario(KEY, (n, now) => {
      const stopped = n.captured.filter((c) => c.from === 'lb1' && c.at === 3000).map((c) => c.buf); // boot 1 saying "stopped"
      t.ok(stopped.length >= 1, 'captured the "stopped" heartbeat');
      for (const b of stopped) n.inject('lb2', b, now);
    }, at);
    t.equal(bothActiveMs, 0, `replayed at ${at} ms`);
    t.equal(net.nodes.lb2!.machine.failovers, 0, 'the restarted lb2 never activated');
  }
});

t.test('unauthenticated: a forged new boot id (even echoing our boot) cannot retire the live one; forged "stopped" changes no role', async (t) => {
  const { bothActiveMs, net } = scenario(undefined, (n, now) => {
    const lb2 = n.nodes.lb2!;
    for (let i = 0; i < 50; i++) {
      const forged = encodeHeartbeat({ nodeId: ADDR.lb1, role: 'primary', state: 'stopped', flags: noFlags(), priority: 1, term: 999, bootId: 0xbad0n + BigInt(i), seq: 1n, timestampMs: 9e12, echoBootId: lb2.bootId });
      n.inject('lb2', forged, now);
    }
  }, 9000);
  t.equal(bothActiveMs, 0);
  t.equal(net.nodes.lb2!.machine.active, false, 'lb2 did not take over on forged "stopped" heartbeats');
  t.equal(net.nodes.lb2!.rejected.filter((r) => r === 'boot_in_use').length, 50, 'every forged boot counted as boot_in_use');
  t.equal(net.nodes.lb2!.machine.peer.alive, true, "lb1's real heartbeats still count");
});

t.test('memory stays bounded: 500k forged senders, node ids and boot ids', async (t) => {
  const rx = new HeartbeatReceiver({ peers: [ADDR.lb1], key: undefined, nodeId: ADDR.lb2, bootId: 77n, deadtimeMs: DEAD, peerRole: 'primary' });
  const sync = new ReplayGuard();
  for (let i = 0; i < 500_000; i++) {
    const bootId = (BigInt(i) * 0x9e3779b97f4a7c15n + 1n) & 0xffffffffffffffffn;
    const nodeId = `forged-${i}`;
    const buf = encodeHeartbeat({ nodeId, role: 'primary', state: 'active', flags: noFlags(), priority: 1, term: 1, bootId, seq: 1n, timestampMs: i, echoBootId: i % 2 ? 77n : 0n });
    rx.receive(buf, ADDR.lb1, 1_000_000 + i);
    sync.check({ nodeId, bootId, seq: 1n });
  }
  t.ok(rx.guard.size() <= GUARD_MAX_RETIRED + 2, `heartbeat guard holds ${rx.guard.size()} entries`);
  t.ok(sync.size() <= GUARD_MAX_NODES * (GUARD_MAX_RETIRED + 1), `sync guard holds ${sync.size()} entries`);
});

t.test('guard rules, one row each', async (t) => {
  const OWN = 0xaan;
  type Row = [string, { auth: boolean }, Array<[bigint, bigint, number, bigint, number]>, string];
  // packets: [bootId, seq, peer timestamp, echo, our clock]; expected verdict of the last one
  const rows: Row[] = [
    ['first boot with our echo', { auth: true }, [[1n, 1n, 100, OWN, 0]], 'ok'],
    ['first boot without our echo (made before we started)', { auth: true }, [[1n, 1n, 100, 0n, 0]], 'unproven'],
    ['same boot, higher seq, any echo', { auth: true }, [[1n, 1n, 100, OWN, 0], [1n, 2n, 300, 5n, 200]], 'ok'],
    ['same boot, same seq', { auth: true }, [[1n, 5n, 100, OWN, 0], [1n, 5n, 100, OWN, 200]], 'replayed'],
    ['newer boot, proven, newer clock, live old boot: a fast restart', { auth: true }, [[1n, 9n, 100, OWN, 0], [2n, 1n, 500, OWN, 100]], 'restarted'],
    ['older boot (by the peer clock) while the live one runs', { auth: true }, [[2n, 9n, 500, OWN, 0], [1n, 1n, 100, OWN, 100]], 'replayed'],
    ['retired boot', { auth: true }, [[1n, 9n, 100, OWN, 0], [2n, 1n, 500, OWN, 100], [1n, 10n, 900, OWN, 200]], 'replayed'],
    ['unauthenticated: new boot while the live one runs', { auth: false }, [[1n, 9n, 100, OWN, 0], [2n, 1n, 500, OWN, 100]], 'boot_in_use'],
    ['unauthenticated: new boot after the old one fell silent', { auth: false }, [[1n, 9n, 100, OWN, 0], [2n, 1n, 500, OWN, DEAD + 1]], 'restarted'],
  ];
  for (const [name, o, packets, want] of rows) {
    const g = new PeerGuard(OWN, { authenticated: o.auth, liveWindowMs: DEAD });
    let v: ReturnType<PeerGuard['check']> = { ok: true, restarted: false };
    for (const [bootId, seq, timestampMs, echoBootId, now] of packets) v = g.check({ bootId, seq, timestampMs, echoBootId }, now);
    t.equal(v.ok ? (v.restarted ? 'restarted' : 'ok') : v.reason, want, name);
  }
});

t.test('echo: the newest boot heard; a replay of an older boot does not displace it', async (t) => {
  const g = new PeerGuard(0xaan, { authenticated: true, liveWindowMs: DEAD });
  t.equal(g.echo(), 0n);
  g.check({ bootId: 2n, seq: 1n, timestampMs: 500, echoBootId: 0n }, 0);
  t.equal(g.echo(), 2n, 'heard (not yet proven) is echoed, so the peer can prove itself');
  g.check({ bootId: 1n, seq: 50n, timestampMs: 100, echoBootId: 0n }, 10);
  t.equal(g.echo(), 2n, 'an older boot replayed does not take the echo');
});

t.test('sync guard: only the boot the heartbeats know; bounded', async (t) => {
  let peerBoot = 5n;
  const g = new ReplayGuard(undefined, { proveBoot: (b) => b === peerBoot });
  t.match(g.check({ nodeId: 'p', bootId: 4n, seq: 1n }), { ok: false, reason: 'unproven' }, 'sync of an earlier boot (replayed after our restart) refused');
  t.match(g.check({ nodeId: 'p', bootId: 5n, seq: 1n }), { ok: true, restarted: false });
  t.match(g.check({ nodeId: 'p', bootId: 5n, seq: 1n }), { ok: false }, 'same seq');
  peerBoot = 6n;
  t.match(g.check({ nodeId: 'p', bootId: 6n, seq: 1n }), { ok: true, restarted: true }, 'the restarted peer, once its heartbeats are proven');
  t.match(g.check({ nodeId: 'p', bootId: 5n, seq: 99n }), { ok: false }, 'old boot retired');
});
