// ScaleOutNode with a fake data plane and announcer: forwarding at start, no primary/backup machinery, the
// announcer told in order (announce at start, withdraw on drain and stop), and 'drained' once nothing arrives.
import { inPrivateNetns } from '../lab/private-netns';
inPrivateNetns(); // before tap loads: this file runs in a network namespace of its own
import t from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ScaleOutNode } from '../../src/ha/scale-out';
import { parseConfig, validateConfig } from '../../src/config';
import { createRootLogger } from '../../src/log';
import type { ConnEntry, DataPlaneStats, DestCounters } from '../../src/dataplane/types';
import { waitFor } from '../lab/lab';
import { FakeDataPlane } from '../../src/dataplane/fake';

class CountingDataPlane extends FakeDataPlane {
  packets = 0;
  constructor() {
    super({ forwarding: false });
  }
  override stats(): DataPlaneStats {
    return { services: [{ vip: '10.0.9.3', port: 80, protocol: 'tcp', conns: 0, inPkts: this.packets, inBytes: 0, dests: [] }], drops: {}, rxFrames: 0, txFrames: 0 };
  }
}

const cfg = validateConfig(parseConfig(['network = direct', 'scale_out = 1', 'virtual v {', '  active = 1', '  address = 10.0.9.3 eth0:1', '  server a {', '    address = 10.0.0.21', '    active = 1', '  }', '}', ''].join('\n'), 'lvs.cf'));

t.test('start, drain, drained, undrain, stop', async (t) => {
  const keepAlive = setInterval(() => undefined, 1000); // the node's drain timer is unref'd, as in the daemon
  t.teardown(() => clearInterval(keepAlive));
  const calls: string[] = [];
  const dp = new CountingDataPlane();
  const node = new ScaleOutNode({
    config: cfg, logger: createRootLogger({ level: 'fatal' }), dataplane: dp, drainSampleMs: 20, drainQuietMs: 100,
    localAddresses: async () => ['10.0.0.11'],
    hooks: { onActivate: async () => void calls.push('activate'), onDeactivate: async () => void calls.push('deactivate') },
    announcer: { announce: (r) => void calls.push(`announce:${r}`), withdraw: async (r) => void calls.push(`withdraw:${r}`) },
  });
  await node.start();
  t.equal(calls[0], 'activate', 'forwarding on at once, no contest');
  t.throws(() => node.beginDrain.call(new ScaleOutNode({ config: cfg, logger: createRootLogger({ level: 'fatal' }), dataplane: dp, hooks: { onActivate: async () => {}, onDeactivate: async () => {} } })), { code: 'E_HA_NOT_STARTED' });
  const drained = new Promise((r) => node.once('drained', r));
  const v = node.beginDrain({ deadlineS: 60 });
  t.equal(v.phase, 'draining');
  dp.packets += 10; // a straggler still arrives and is forwarded
  t.match(await drained, { kind: 'drained', endedBy: 'idle' });
  t.equal(node.view().drain.phase, 'drained');
  t.equal(node.endDrain().phase, 'serving');
  await node.stop();
  t.same(calls, ['activate', 'announce:started: forwarding', 'withdraw:drain requested', 'announce:undrain requested', 'withdraw:stopping', 'deactivate']);
});

/** A data plane with one real server in its table (a joining director's checks passed), holding `conns`. */
class TableDataPlane extends FakeDataPlane {
  constructor(conns: ConnEntry[] = []) {
    super({ forwarding: false });
    for (const c of conns) this.record(c);
    this.drainSyncUpdates();
  }
  override stats(): DataPlaneStats {
    return { services: [{ vip: '10.0.9.3', port: 80, protocol: 'tcp', conns: 0, inPkts: 0, inBytes: 0, dests: [{ address: '10.0.0.21', port: 80, weight: 1, activeConns: 0, inactConns: 0, persistConns: 0, conns: 0, inPkts: 0, inBytes: 0 } as DestCounters] }], drops: {}, rxFrames: 0, txFrames: 0 };
  }
}

// lvs.cf refuses loopback sync peers: the validated configuration gets them afterwards (real UDP on 127.0.0.x).
const keyFile = join(mkdtempSync(join(tmpdir(), 'dd-scale-out-')), 'sync.key');
writeFileSync(keyFile, 'scale-out-test-key-0123456789abcdef\n', { mode: 0o600 });
const meshCfg = (port: number, peers: string[]) => {
  const c = validateConfig(parseConfig(['network = direct', 'scale_out = 1', 'virtual v {', '  active = 1', '  address = 10.0.9.3 eth0:1', '  server a {', '    address = 10.0.0.21', '    active = 1', '  }', '}', ''].join('\n'), 'lvs.cf'));
  return { ...c, global: { ...c.global, syncPeers: peers, syncPort: port, heartbeatKeyFile: keyFile } };
};
const entry = (i: number): ConnEntry => ({ protocol: 'tcp', caddr: `10.65.${i >> 8}.${i & 255}`, cport: 40000, vaddr: '10.0.9.3', vport: 80, daddr: '10.0.0.21', dport: 80, state: 'ESTABLISHED', expiresMs: 900000, template: false });

t.test('join: the routes go out only once the peers\' tables are held, and a dead peer holds them only until the deadline', async (t) => {
  const keepAlive = setInterval(() => undefined, 1000);
  t.teardown(() => clearInterval(keepAlive));
  const A = '127.0.0.31', B = '127.0.0.32', DEAD = '127.0.0.33';
  const port = 20000 + Math.floor(Math.random() * 40000);
  const log = createRootLogger({ level: 'fatal' });
  const hooks = { onActivate: async () => {}, onDeactivate: async () => {} };
  // B serves 3,000 connections; it lists only A, so its own join ends when A answers.
  const b = new ScaleOutNode({ config: meshCfg(port, [A, B]), logger: log, dataplane: new TableDataPlane(Array.from({ length: 3000 }, (_, i) => entry(i))), hooks, localAddresses: async () => [B], drainSampleMs: 20 });
  await b.start();
  t.teardown(() => b.stop());
  const dpA = new TableDataPlane();
  const seen: Array<{ reason: string; held: number; joinPhase: string }> = [];
  const a: ScaleOutNode = new ScaleOutNode({
    config: meshCfg(port, [A, B, DEAD]), logger: log, dataplane: dpA, hooks, localAddresses: async () => [A], drainSampleMs: 20, joinMaxWaitMs: 1500,
    announcer: { announce: (r) => void seen.push({ reason: r, held: dpA.synced.size, joinPhase: a.view().join?.phase }), withdraw: () => undefined },
  });
  const t0 = Date.now();
  await a.start();
  t.teardown(() => a.stop());
  t.same(seen, [], 'the announcer was not told to announce at start: the tables are not fetched yet');
  t.equal(a.view().join?.phase, 'waiting');
  await waitFor('A announces', () => seen.length > 0, 10_000, 10);
  t.equal(seen.length, 1);
  t.equal(seen[0].held, 3000, "when A announces, it holds B's 3,000 connections");
  // The dead peer never answers: its transfer would give up only after 3 attempts; the deadline ends the wait first.
  t.match(a.view().join, { phase: 'joined', endedBy: 'deadline' });
  t.ok(Date.now() - t0 >= 1400, 'the dead peer held the routes until the deadline');
  t.equal(seen[0].reason, 'join deadline passed: forwarding');
  // B asked before A existed: its retry (after 2 s idle) gets A's (empty) table.
  await waitFor('B joined', () => b.view().join.phase === 'joined', 10_000, 20);
  t.match(b.view().join, { phase: 'joined', endedBy: 'synced' }, "B joined once A's table came, not by its deadline");
});
