// Every pulse transition (and directord's additions) as a row: steps applied in order → actions of the last step + state.
import t from 'tap';
import { HaStateMachine, type HaMachineParams, type PeerHeartbeat, type HaAction } from '../../src/ha/state-machine';
import { noFlags, type HaPeerState, type HaRole, type HeartbeatFlags } from '../../src/ha/heartbeat-codec';

const DEAD = 600;

type Step =
  | ['tick', number]
  | ['hb', number, HaRole, HaPeerState, Partial<HeartbeatFlags>?, number?]
  | ['pulse', number, 'running' | 'stopped']
  | ['link', boolean, number?]
  | ['child']
  | ['recover']
  | ['takeover']
  | ['release']
  | ['stop'];

interface Row {
  name: string;
  params?: Partial<HaMachineParams>;
  steps: Step[];
  /** Action kinds of the last step, in order. */
  actions: string[];
  active: boolean;
  ownState?: HaPeerState;
  check?: (m: HaMachineParams & { m: HaStateMachine; last: HaAction[] }) => void;
}

function machine(p: Partial<HaMachineParams>): HaStateMachine {
  const m = new HaStateMachine({
    role: 'primary',
    nodeId: 'lb1',
    backupActive: true,
    deadtimeMs: DEAD,
    monitorLinks: true,
    failback: false,
    failbackHolddownMs: 1000,
    ...p,
  });
  m.start(0);
  return m;
}

function apply(m: HaStateMachine, s: Step): HaAction[] {
  switch (s[0]) {
    case 'tick':
      return m.tick(s[1]);
    case 'hb': {
      const peerRole = s[2];
      const hb: PeerHeartbeat = { nodeId: peerRole === m.params.role ? 'lb0' : 'lb2', role: peerRole, state: s[3], term: s[5] ?? 1, flags: { ...noFlags(), ...(s[4] ?? {}) } };
      return m.heartbeat(s[1], hb);
    }
    case 'pulse': {
      // What heartbeat-io makes of pulse's 4 bytes: the partner's role from the configuration, no term, no flags.
      const role = m.params.role === 'primary' ? 'backup' : 'primary';
      return m.heartbeat(s[1], { nodeId: '10.0.0.9', role, state: s[2] === 'running' ? 'active' : 'stopped', term: 0, flags: noFlags(), protocol: 'pulse' });
    }
    case 'link':
      return m.link(s[1], s[2] ?? 0);
    case 'child':
      return m.childFailed();
    case 'recover':
      return m.childRecovered();
    case 'takeover':
      return m.takeover();
    case 'release':
      return m.release();
    case 'stop':
      return m.stop();
  }
}

const B = 'backup' as const;
const P = 'primary' as const;

const rows: Row[] = [
  // Dead timer
  { name: 'nothing happens before deadtime', steps: [['tick', DEAD - 1]], actions: [], active: false },
  { name: 'standalone primary (backup_active=0) activates after deadtime', params: { backupActive: false }, steps: [['tick', DEAD]], actions: ['activate', 'send-heartbeat'], active: true },
  { name: 'primary activates when the backup was never heard', steps: [['tick', DEAD]], actions: ['activate', 'send-heartbeat'], active: true },
  { name: 'backup takes over when the primary goes silent', params: { role: B, nodeId: 'lb2' }, steps: [['hb', 100, P, 'active'], ['tick', 100 + DEAD]], actions: ['peer-dead', 'activate', 'send-heartbeat'], active: true },
  { name: 'a valid heartbeat pushes the dead timer', params: { role: B, nodeId: 'lb2' }, steps: [['hb', 100, P, 'active'], ['hb', 500, P, 'active'], ['tick', 100 + DEAD]], actions: [], active: false },
  { name: 'dead timer re-arms: no second activation', params: { role: B, nodeId: 'lb2' }, steps: [['tick', DEAD], ['tick', 2 * DEAD]], actions: [], active: true },
  { name: 'dead peer with link failure: no activation', params: { role: B, nodeId: 'lb2' }, steps: [['link', false], ['tick', DEAD]], actions: [], active: false, ownState: 'fault' },
  { name: 'dead peer with child failure: no activation', params: { role: B, nodeId: 'lb2' }, steps: [['child'], ['tick', DEAD]], actions: [], active: false },
  { name: 'released node does not reactivate when the peer dies', params: { role: B, nodeId: 'lb2' }, steps: [['tick', DEAD], ['release'], ['tick', 3 * DEAD]], actions: [], active: false },

  // "stopped"/standby from the peer
  { name: 'backup activates when the primary reports stopped', params: { role: B, nodeId: 'lb2' }, steps: [['hb', 10, P, 'stopped']], actions: ['peer-alive', 'activate', 'send-heartbeat'], active: true },
  { name: 'primary activates when the backup reports stopped', steps: [['hb', 10, B, 'stopped']], actions: ['peer-alive', 'activate', 'send-heartbeat'], active: true },
  { name: 'simultaneous start: primary activates on a standby backup', steps: [['hb', 10, B, 'standby']], actions: ['peer-alive', 'activate', 'send-heartbeat'], active: true },
  { name: 'simultaneous start: backup waits for a healthy standby primary', params: { role: B, nodeId: 'lb2' }, steps: [['hb', 10, P, 'standby']], actions: ['peer-alive'], active: false },
  { name: 'backup activates when the primary reports linkfail', params: { role: B, nodeId: 'lb2' }, steps: [['hb', 10, P, 'active'], ['hb', 20, P, 'fault', { linkfail: true }]], actions: ['activate', 'send-heartbeat'], active: true },
  { name: 'backup activates when the primary reports childfail', params: { role: B, nodeId: 'lb2' }, steps: [['hb', 10, P, 'active'], ['hb', 20, P, 'fault', { childfail: true }]], actions: ['activate', 'send-heartbeat'], active: true },
  { name: 'backup activates when the primary yields (manual release)', params: { role: B, nodeId: 'lb2' }, steps: [['hb', 10, P, 'active'], ['hb', 20, P, 'standby', { yielding: true }]], actions: ['activate', 'send-heartbeat'], active: true },
  { name: 'no activation while own link is down', params: { role: B, nodeId: 'lb2' }, steps: [['link', false], ['hb', 10, P, 'stopped']], actions: ['peer-alive'], active: false },

  // No fail-back, and the failback option
  { name: 'returning primary stays standby while the backup is active', steps: [['hb', 10, B, 'active'], ['tick', 10 + DEAD - 1], ['hb', 5000, B, 'active'], ['tick', 5001]], actions: [], active: false },
  { name: 'failback: primary takes back after the hold-down', params: { failback: true, failbackHolddownMs: 1000 }, steps: [['hb', 10, B, 'active'], ['hb', 500, B, 'active'], ['tick', 1010]], actions: ['activate', 'send-heartbeat'], active: true },
  { name: 'failback: not before the hold-down', params: { failback: true, failbackHolddownMs: 1000 }, steps: [['hb', 10, B, 'active'], ['hb', 500, B, 'active'], ['tick', 1009]], actions: [], active: false },
  { name: 'failback: a manual takeover on the backup is respected', params: { failback: true, failbackHolddownMs: 100 }, steps: [['hb', 10, B, 'active', { manual: true }], ['tick', 500]], actions: [], active: false },
  { name: 'failback: a link failure restarts the hold-down', params: { failback: true, failbackHolddownMs: 1000 }, steps: [['hb', 10, B, 'active'], ['link', false], ['link', true], ['hb', 600, B, 'active'], ['tick', 1100]], actions: [], active: false },

  // Split brain
  { name: 'split brain: active backup yields to the active master', params: { role: B, nodeId: 'lb2' }, steps: [['tick', DEAD], ['hb', 700, P, 'active']], actions: ['peer-alive', 'split-brain', 'send-heartbeat', 'deactivate', 'send-heartbeat'], active: false },
  { name: 'after a partition the active master re-announces even if the backup stepped down before it was heard', steps: [['tick', DEAD], ['hb', 700, B, 'standby']], actions: ['peer-alive', 'announce'], active: true },
  { name: 'no re-announce on the heartbeats of a partner already heard', steps: [['tick', DEAD], ['hb', 700, B, 'standby'], ['hb', 900, B, 'standby']], actions: [], active: true },
  { name: 'split brain: active master stays and re-announces the VIP', steps: [['tick', DEAD], ['hb', 700, B, 'active']], actions: ['peer-alive', 'split-brain', 'announce', 'send-heartbeat'], active: true },
  { name: 'split brain between equal roles: higher term wins', params: { nodeId: 'lb9' }, steps: [['tick', DEAD], ['hb', 700, P, 'active', {}, 5]], actions: ['peer-alive', 'split-brain', 'send-heartbeat', 'deactivate', 'send-heartbeat'], active: false },
  { name: 'split brain between equal roles and terms: lower node id wins', params: { nodeId: 'lb1' }, steps: [['tick', DEAD], ['hb', 700, P, 'active', {}, 1]], actions: ['peer-alive', 'split-brain', 'send-heartbeat', 'deactivate', 'send-heartbeat'], active: false },
  { name: 'split brain: a manual takeover beats the master', params: { role: B, nodeId: 'lb2' }, steps: [['hb', 10, P, 'active'], ['takeover'], ['hb', 20, P, 'active']], actions: ['split-brain', 'announce', 'send-heartbeat'], active: true },
  { name: 'split brain: of two manual takeovers the later (higher term) wins, even against the master', params: { role: B, nodeId: 'lb2' }, steps: [['hb', 10, P, 'active', { manual: true }, 4], ['takeover'], ['hb', 20, P, 'active', { manual: true }, 4]], actions: ['split-brain', 'announce', 'send-heartbeat'], active: true },
  { name: 'split brain: an older manual takeover loses to a newer one', steps: [['takeover'], ['hb', 20, B, 'active', { manual: true }, 9]], actions: ['peer-alive', 'split-brain', 'send-heartbeat', 'deactivate', 'send-heartbeat'], active: false },
  { name: 'running partner clears childfail', params: { role: B, nodeId: 'lb2' }, steps: [['child'], ['hb', 10, P, 'active']], actions: ['peer-alive'], active: false, ownState: 'standby' },

  // A pulse partner (issue 11 part 2): a mixed pair behaves as a pulse pair
  { name: 'pulse master running: directord backup stays standby', params: { role: B, nodeId: 'lb2' }, steps: [['pulse', 100, 'running'], ['pulse', 300, 'running'], ['tick', 300 + DEAD - 1]], actions: [], active: false },
  { name: 'pulse master stops (silent): directord backup takes over after deadtime', params: { role: B, nodeId: 'lb2' }, steps: [['pulse', 100, 'running'], ['tick', 100 + DEAD]], actions: ['peer-dead', 'activate', 'send-heartbeat'], active: true },
  { name: 'pulse master says stopped: primary inactive, directord backup activates', params: { role: B, nodeId: 'lb2' }, steps: [['pulse', 100, 'running'], ['pulse', 300, 'stopped']], actions: ['activate', 'send-heartbeat'], active: true },
  { name: 'pulse master running while the directord backup is active: the backup yields', params: { role: B, nodeId: 'lb2' }, steps: [['tick', DEAD], ['pulse', 700, 'running']], actions: ['peer-alive', 'split-brain', 'send-heartbeat', 'deactivate', 'send-heartbeat'], active: false },
  { name: 'pulse master running: even a manual takeover on the directord backup yields (pulse never does)', params: { role: B, nodeId: 'lb2' }, steps: [['pulse', 10, 'running'], ['takeover'], ['pulse', 200, 'running']], actions: ['split-brain', 'send-heartbeat', 'deactivate', 'send-heartbeat'], active: false },
  { name: 'pulse backup running while the directord primary is active: the master stays and re-announces', steps: [['tick', DEAD], ['pulse', 700, 'running']], actions: ['peer-alive', 'split-brain', 'announce', 'send-heartbeat'], active: true },
  { name: 'pulse backup stopped: directord primary activates', steps: [['pulse', 10, 'stopped']], actions: ['peer-alive', 'activate', 'send-heartbeat'], active: true },
  { name: 'pulse backup running: returning directord primary stays standby (no fail-back, as pulse)', steps: [['pulse', 10, 'running'], ['pulse', 200, 'running'], ['tick', 200 + DEAD - 1]], actions: [], active: false },

  // Link monitor
  { name: 'link down while active: deactivate, report fault', steps: [['tick', DEAD], ['link', false]], actions: ['deactivate', 'send-heartbeat', 'send-heartbeat'], active: false, ownState: 'fault' },
  { name: 'link restored: no automatic re-activation', steps: [['tick', DEAD], ['link', false], ['link', true]], actions: ['send-heartbeat'], active: false, ownState: 'standby' },
  { name: 'link restored: the peer gets a full deadtime to be heard again', params: { role: B, nodeId: 'lb2' }, steps: [['hb', 10, P, 'active'], ['link', false, 20], ['tick', 10 + DEAD], ['link', true, 700], ['tick', 700 + DEAD - 1]], actions: [], active: false },
  { name: 'link restored and the peer stays silent: take over after deadtime', params: { role: B, nodeId: 'lb2' }, steps: [['hb', 10, P, 'active'], ['link', false, 20], ['tick', 10 + DEAD], ['link', true, 700], ['tick', 700 + DEAD]], actions: ['activate', 'send-heartbeat'], active: true },
  { name: 'link monitor off: link events ignored', params: { monitorLinks: false }, steps: [['tick', DEAD], ['link', false]], actions: [], active: true },
  { name: 'link monitor needs backup_active (pulse)', params: { backupActive: false }, steps: [['tick', DEAD], ['link', false]], actions: [], active: true },

  // Child failure, operator, stop
  { name: 'data plane failure while active: deactivate', steps: [['tick', DEAD], ['child']], actions: ['deactivate', 'send-heartbeat', 'send-heartbeat'], active: false, ownState: 'fault' },
  { name: 'child recovered: standby again, eligible', steps: [['child'], ['recover'], ['hb', 10, B, 'standby']], actions: ['peer-alive', 'activate', 'send-heartbeat'], active: true },
  { name: 'manual takeover from standby', params: { role: B, nodeId: 'lb2' }, steps: [['hb', 10, P, 'active'], ['takeover']], actions: ['activate', 'send-heartbeat'], active: true },
  { name: 'manual takeover refused with link failure', steps: [['link', false], ['takeover']], actions: [], active: false },
  { name: 'manual release hands over (yielding flag)', steps: [['tick', DEAD], ['release']], actions: ['deactivate', 'send-heartbeat', 'send-heartbeat'], active: false, check: ({ m }) => void t.equal(m.ownFlags().yielding, true) },
  { name: 'release is cleared once the peer runs', steps: [['tick', DEAD], ['release'], ['hb', 700, B, 'active']], actions: ['peer-alive'], active: false, check: ({ m }) => void t.equal(m.released, false) },
  { name: 'stop: deactivate and announce stopped', steps: [['tick', DEAD], ['stop']], actions: ['deactivate', 'send-heartbeat', 'send-heartbeat'], active: false, ownState: 'stopped' },
  { name: 'stopped node ignores everything', steps: [['stop'], ['hb', 10, B, 'stopped'], ['tick', 5 * DEAD]], actions: [], active: false, ownState: 'stopped' },
];

for (const row of rows) {
  t.test(row.name, async (t) => {
    const m = machine(row.params ?? {});
    let last: HaAction[] = [];
    for (const s of row.steps) last = apply(m, s);
    t.same(last.map((a) => a.kind), row.actions, 'actions');
    t.equal(m.active, row.active, 'active');
    if (row.ownState) t.equal(m.ownState(), row.ownState, 'own state');
    row.check?.({ ...m.params, m, last });
  });
}

t.test('term: activation takes max(own, peer)+1, so the latest activation has the highest term', async (t) => {
  const m = machine({ role: 'backup', nodeId: 'lb2' });
  m.heartbeat(10, { nodeId: 'lb1', role: 'primary', state: 'active', term: 41, flags: noFlags() });
  m.tick(10 + DEAD);
  t.equal(m.term, 42);
  t.equal(m.failovers, 1);
});

t.test('both sides reach opposite split-brain verdicts (exactly one winner)', async (t) => {
  const cases: Array<[HaRole, string, number, boolean, HaRole, string, number, boolean]> = [
    ['primary', 'lb1', 3, false, 'backup', 'lb2', 9, false],
    ['backup', 'lb2', 3, true, 'primary', 'lb1', 9, false],
    ['primary', 'a', 3, false, 'primary', 'b', 3, false],
    ['backup', 'a', 8, false, 'backup', 'b', 3, false],
    ['backup', 'lb2', 5, true, 'primary', 'lb1', 3, true],
    ['primary', 'lb1', 5, true, 'backup', 'lb2', 5, true],
  ];
  for (const [r1, n1, t1, man1, r2, n2, t2, man2] of cases) {
    const a = machine({ role: r1, nodeId: n1 });
    const b = machine({ role: r2, nodeId: n2 });
    for (const [m, term, man] of [[a, t1, man1], [b, t2, man2]] as const) {
      if (man) m.takeover();
      else m.tick(DEAD);
      m.term = term;
    }
    a.heartbeat(DEAD + 1, { nodeId: n2, role: r2, state: 'active', term: b.term, flags: b.ownFlags() });
    b.heartbeat(DEAD + 1, { nodeId: n1, role: r1, state: 'active', term: t1, flags: { ...noFlags(), manual: man1 } });
    t.equal(Number(a.active) + Number(b.active), 1, `${r1}/${n1} vs ${r2}/${n2}`);
  }
});

t.test('nextDeadlineMs follows heartbeats and the failback hold-down', async (t) => {
  const m = machine({ failback: true, failbackHolddownMs: 200 });
  t.equal(m.nextDeadlineMs(), DEAD);
  m.heartbeat(100, { nodeId: 'lb2', role: 'backup', state: 'active', term: 1, flags: noFlags() });
  t.equal(m.nextDeadlineMs(), 300);
});

t.test('failback waits for the connection table (syncHold); the deadtime rule never does', async (t) => {
  let hold: string | undefined = 'the connection table is still being fetched';
  const m = machine({ failback: true, failbackHolddownMs: 200, syncHold: () => hold });
  m.heartbeat(10, { nodeId: 'lb2', role: 'backup', state: 'active', term: 1, flags: noFlags() });
  t.equal(m.nextDeadlineMs(), 10 + DEAD, 'no timer for a held failback (it would fire in a loop)');
  t.same(m.tick(300), [], 'hold-down passed, table not synced: no failback');
  t.equal(m.active, false);
  hold = undefined;
  t.same(m.tick(301).map((a) => a.kind), ['activate', 'send-heartbeat'], 'synced: the caller ticks and failback happens');
  const b = machine({ role: 'backup', nodeId: 'lb2', syncHold: () => 'never synced' });
  b.heartbeat(10, { nodeId: 'lb1', role: 'primary', state: 'active', term: 1, flags: noFlags() });
  t.same(b.tick(10 + DEAD).map((a) => a.kind), ['peer-dead', 'activate', 'send-heartbeat'], 'a dead partner: take over at once');
});

t.test('a master restarted within deadtime waits for the table the standby peer holds before it activates', async (t) => {
  let hold: string | undefined = 'fetching';
  const m = machine({ syncHold: () => hold });
  t.same(m.heartbeat(10, { nodeId: 'lb2', role: 'backup', state: 'standby', term: 3, flags: noFlags() }).map((a) => a.kind), ['peer-alive'], 'held: no activation');
  t.same(m.syncDone(20), [], 'still held');
  hold = undefined;
  t.same(m.syncDone(30).map((a) => a.kind), ['activate', 'send-heartbeat'], 'synced: the master activates');
  const b = machine({ role: 'backup', nodeId: 'lb2', syncHold: () => undefined });
  b.heartbeat(10, { nodeId: 'lb1', role: 'primary', state: 'standby', term: 1, flags: noFlags() });
  t.same(b.syncDone(20), [], 'the backup never activates beside a standby master');
  const y = machine({ syncHold: () => undefined });
  y.heartbeat(10, { nodeId: 'lb2', role: 'backup', state: 'active', term: 1, flags: noFlags() });
  t.same(y.syncDone(20), [], 'nor the master beside an active backup without failback');
});
