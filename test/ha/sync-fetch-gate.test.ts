// SyncFetchGate: a standby asks for the peer's table only after its first health checks (the data plane drops entries
// whose real server is not in its table yet), at most CHECKS_WAIT_MAX_MS late, and asks again when a real server
// enters the table after entries were dropped.
import t from 'tap';
import { CHECKS_WAIT_MAX_MS, SyncFetchGate } from '../../src/ha/sync-fetch-gate';
import { createRootLogger } from '../../src/log';

const log = createRootLogger({ level: 'fatal' });
const svc = (...dests: string[]) => [{ protocol: 'tcp', vip: '10.0.0.3', port: 3306, dests: dests.map((a) => ({ address: a, port: 3306 })) }];

function gate(settled: { v: boolean } | undefined) {
  const fetched: string[] = [];
  const g = new SyncFetchGate({ checksSettled: settled ? () => settled.v : undefined, fetch: (r) => fetched.push(r), log, peer: '10.0.0.2' });
  return { g, fetched };
}

t.test('a standby whose checks have not reported waits, then fetches when they have', async (t) => {
  const settled = { v: false };
  const { g, fetched } = gate(settled);
  t.teardown(() => g.close());
  g.seed(svc());
  t.equal(g.waiting, false);
  t.equal(g.mayFetch('partner heard', true), false, 'not before the first checks');
  t.equal(g.waiting, true, 'waiting (SyncChannel.waitReason says so)');
  t.equal(g.mayFetch('partner heard', true), false, 'asked again: still waiting (one wait)');
  g.tableChanged(svc(), true);
  t.same(fetched, [], 'a table change before the checks reported does not release it');
  settled.v = true;
  g.tableChanged(svc('10.0.0.4'), true);
  t.equal(fetched.length, 1, 'released once the checks reported');
  t.equal(g.waiting, false);
  t.match(fetched[0], /partner heard; the first health checks reported/);
  g.tableChanged(svc('10.0.0.4', '10.0.0.5'), true);
  t.equal(fetched.length, 1, 'a server entering later fetches again only if entries were dropped');
});

t.test('an active node, a mesh, or a node without a health monitor fetches at once', async (t) => {
  const settled = { v: false };
  t.equal(gate(settled).g.mayFetch('merge', false), true, 'active (or mesh): no wait');
  t.equal(gate(undefined).g.mayFetch('partner heard', true), true, 'nothing to wait for');
  t.equal(gate({ v: true }).g.mayFetch('partner heard', true), true, 'checks already reported');
});

t.test('the wait is bounded', async (t) => {
  const settled = { v: false };
  const fetched: string[] = [];
  const timers: { fn: () => void; ms: number }[] = [];
  const realSet = globalThis.setTimeout;
  (globalThis as { setTimeout: unknown }).setTimeout = ((fn: () => void, ms: number) => (timers.push({ fn, ms }), realSet(() => undefined, 0))) as unknown;
  let g: SyncFetchGate;
  try {
    g = new SyncFetchGate({ checksSettled: () => settled.v, fetch: (r) => fetched.push(r), log, peer: '10.0.0.2' });
    g.mayFetch('partner heard', true);
  } finally {
    (globalThis as { setTimeout: unknown }).setTimeout = realSet;
  }
  t.equal(timers.length, 1);
  t.equal(timers[0].ms, CHECKS_WAIT_MAX_MS);
  timers[0].fn();
  t.equal(fetched.length, 1, 'fetched when the bound passed, checks or not');
  t.match(fetched[0], /did not all report in time/);
  g.close();
});

t.test('entries dropped, then a real server enters: fetch again, once per growth; not after the peer was lost', async (t) => {
  const { g, fetched } = gate(undefined);
  g.seed(svc());
  t.equal(g.mayFetch('partner heard', true), true);
  g.noteDropped();
  g.tableChanged(svc(), true);
  t.same(fetched, [], 'no growth, no fetch');
  g.tableChanged(svc('10.0.0.4'), false);
  t.same(fetched, [], 'not while active');
  g.noteDropped();
  g.tableChanged(svc('10.0.0.4', '10.0.0.5'), true);
  t.equal(fetched.length, 1, 'a server entered after entries were dropped');
  g.tableChanged(svc('10.0.0.4', '10.0.0.5', '10.0.0.6'), true);
  t.equal(fetched.length, 1, 'nothing dropped since: no second fetch');
  g.noteDropped();
  g.peerLost();
  g.tableChanged(svc('10.0.0.4', '10.0.0.5', '10.0.0.6', '10.0.0.7'), true);
  t.equal(fetched.length, 1, 'the peer is gone: nothing to fetch');
});

t.test('the peer lost while waiting: the waiting fetch is dropped', async (t) => {
  const settled = { v: false };
  const { g, fetched } = gate(settled);
  g.mayFetch('partner heard', true);
  g.peerLost();
  settled.v = true;
  g.tableChanged(svc('10.0.0.4'), true);
  t.same(fetched, []);
  g.close();
});
