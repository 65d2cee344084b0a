// Lab (HaNode runner processes): a returning primary with failback fetches the whole connection table before it
// takes the VIP, also for a table far larger than a socket buffer; a peer that cannot answer delays failback only
// for a bounded time (loud log) and makes a takeover refuse; the sync port cannot be shared by another local user.
import t from 'tap';
import { labAvailable, waitFor } from '../lab/lab';
import { HaLab, type RunnerStatus } from './ha-lab';
import { HA_LAB } from './lab-config';
import { BULK_LIMITS } from '../../src/ha/sync-transfer';

const skip = !labAvailable() && 'needs root and ip netns';
const SYNC = { syncdaemon: true } as const;

/** Poll the status file until `name` is active; return the first active status seen. */
function firstActive(h: HaLab, name: string, timeoutMs: number): Promise<RunnerStatus> {
  return waitFor(`${name} active`, () => {
    const s = h.status(name);
    return s && s.state === 'active' ? s : undefined;
  }, timeoutMs, 5);
}

t.test('failback waits for the full table: 30,000 connections on lb2 are all on lb1 when it takes the VIP', { skip }, async (t) => {
  const h = await HaLab.create();
  t.teardown(() => h.destroy());
  const N = 30000; // 640 datagrams: far more than one receive buffer holds, so the transfer must be paced
  // deadtime 3 s: a loaded machine must not turn a slow heartbeat into a "partner dead" activation here.
  const timing = { ...SYNC, keepalive: 0.5, deadtime: 3 };
  h.start('lb2', timing, { syncConnections: N, seedBurst: 5000 });
  await h.waitState('lb2', 'active', 8000);
  await waitFor('lb2 holds its connections', () => h.status('lb2')?.connections === N, 10000, 50);
  // failback_holddown = 0: without the gate lb1 takes the VIP on lb2's first heartbeat, with an empty table.
  h.start('lb1', { ...timing, failback: true, failbackHolddown: 0 });
  const s = await firstActive(h, 'lb1', 15000);
  t.equal(s.connections, N, 'every connection was on lb1 when it activated', { diag: h.records('lb1').map((r) => `${String(r.time).slice(11)} ${String(r.msg)} ${String(r.reason ?? '')}`) });
  t.equal(s.sync?.synced, true);
  // The log arrives through a pipe, the status through a file: wait for the log to catch up.
  await waitFor('failback logged', () => h.records('lb1').some((r) => String(r.msg).startsWith('failback')), 5000, 20);
  const recs = h.records('lb1');
  const synced = recs.findIndex((r) => r.msg === 'connection table synced from the peer');
  const failback = recs.findIndex((r) => typeof r.msg === 'string' && r.msg.startsWith('failback'));
  t.ok(synced >= 0 && failback > synced, `synced (record ${synced}) before failback (record ${failback})`, { diag: recs.map((r) => r.msg) });
  t.equal(recs[synced]?.entries, N, 'the transfer carried the whole table');
  await h.waitState('lb2', 'standby', 5000);
  // The state flips at once; lb2 removes its VIP a netlink round trip later.
  await waitFor('lb1 alone holds the VIP', async () => (await h.vipHolders()).join() === 'lb1', 5000, 50);
  t.same(h.status('lb1')!.sync!.rejected, {}, 'no datagram rejected');
});

t.test('a master restarted within deadtime waits for the standby\'s table before it activates again', { skip }, async (t) => {
  const h = await HaLab.create();
  t.teardown(() => h.destroy());
  const N = 5000;
  const slow = { ...SYNC, keepalive: 0.5, deadtime: 5 }; // systemd restarts a crashed directord well within this
  h.start('lb1', slow, { syncConnections: N, seedBurst: 5000 });
  await h.waitState('lb1', 'active', 8000);
  h.start('lb2', slow);
  await waitFor('lb2 synced with every connection', () => h.status('lb2')?.connections === N && h.status('lb2')?.sync?.synced, 10000, 20);
  h.kill('lb1', 'SIGKILL');
  await h.waitExit('lb1');
  h.start('lb1', slow); // empty table, no new connections of its own
  const s = await firstActive(h, 'lb1', 8000);
  t.equal(h.status('lb2')!.state, 'standby', 'lb2 never noticed a dead partner');
  t.equal(s.connections, N, 'the restarted master had the whole table when it activated');
  await waitFor('activation logged', () => h.records('lb1').some((r) => String(r.msg).startsWith('backup inactive')), 5000, 20);
  t.match(h.records('lb1').find((r) => String(r.msg).startsWith('backup inactive'))?.msg, /connection table synced/);
});

t.test('a master resumed from SIGSTOP wins the split brain with the backup\'s connections merged into its table', { skip }, async (t) => {
  const h = await HaLab.create();
  t.teardown(() => h.destroy());
  const N = 2000;
  const M = 3000;
  h.start('lb1', SYNC, { syncConnections: N, seedBurst: 2000 });
  await h.waitState('lb1', 'active', 5000);
  await waitFor('lb1 holds its connections', () => h.status('lb1')?.connections === N, 5000, 20);
  // lb2 "accepts" M other connections once it is active (while lb1 is paused).
  h.start('lb2', SYNC, { syncConnections: M, seedBurst: 3000, seedBase: 10000 });
  await waitFor('lb2 synced', () => h.status('lb2')?.connections === N && h.status('lb2')?.sync?.synced, 8000, 20);
  h.kill('lb1', 'SIGSTOP');
  await h.waitState('lb2', 'active', 5000);
  await waitFor('lb2 holds both sets', () => h.status('lb2')?.connections === N + M, 5000, 20);
  const since = h.records('lb1').length;
  h.kill('lb1', 'SIGCONT');
  await waitFor('lb1 wins the split brain', () => h.records('lb1').slice(since).some((r) => r.msg === 'split brain: both directors active' && r.winner === 'self'), 5000, 20);
  await waitFor('lb2 steps down', () => h.status('lb2')?.state === 'standby', 5000, 20);
  const s = await waitFor('lb1 has merged lb2\'s connections', () => (h.status('lb1')?.connections === N + M ? h.status('lb1') : undefined), 5000, 20);
  t.equal(s.state, 'active');
  t.equal(s.connections, N + M, 'the connections lb2 accepted while lb1 was paused are in lb1\'s table');
});

t.test('a peer that cannot answer: takeover refused with E_HA_NOT_SYNCED, failback only after the bounded give-up', { skip }, async (t) => {
  const h = await HaLab.create();
  t.teardown(() => h.destroy());
  h.start('lb2', SYNC, { syncConnections: 100, seedBurst: 100 });
  await h.waitState('lb2', 'active', 5000);
  // lb1 hears heartbeats but no sync datagram reaches it.
  await h.sh('lb1', `nft add table inet t && nft add chain inet t in '{ type filter hook input priority 0; }' && nft add rule inet t in udp dport 8848 drop`);
  h.start('lb1', { ...SYNC, failback: true, failbackHolddown: 0 });
  await waitFor('lb1 standby, seeing lb2', () => h.status('lb1')?.peer.alive && h.status('lb1')?.state === 'standby', 5000, 20);
  const t0 = Date.now();
  h.kill('lb1', 'SIGUSR1'); // directorctl takeover
  const refused = await waitFor('takeover refused', () => h.records('lb1').find((r) => r.msg === 'takeover refused'), 3000, 20);
  t.equal(refused.code, 'E_HA_NOT_SYNCED');
  t.match(String((refused.err as { message?: string })?.message ?? ''), /still being fetched from the peer/);
  t.equal(h.status('lb1')!.state, 'standby', 'no takeover');
  const s = await firstActive(h, 'lb1', BULK_LIMITS.attempts * BULK_LIMITS.idleTimeoutMs + 5000);
  const waited = Date.now() - t0;
  t.ok(waited >= (BULK_LIMITS.attempts - 1) * BULK_LIMITS.idleTimeoutMs, `failback held ${waited} ms (bounded give-up)`);
  t.equal(s.sync?.synced, true, 'synced (given up) when it activated');
  const recs = h.records('lb1');
  t.ok(recs.some((r) => String(r.msg).startsWith('!!! CONNECTION TABLE NOT SYNCED')), 'loud log');
  t.equal(recs.filter((r) => r.msg === 'connection table transfer incomplete: asking again').length, BULK_LIMITS.attempts - 1);
});

t.test('the sync port: another local user cannot bind it next to directord', { skip }, async (t) => {
  const h = await HaLab.create();
  t.teardown(() => h.destroy());
  h.start('lb1', SYNC);
  await h.waitState('lb1', 'active', 5000);
  // SO_REUSEADDR on both sockets would let an unprivileged process share 10.63.0.1:8848 and take the datagrams.
  const thief = `const s=require('dgram').createSocket({type:'udp4',reuseAddr:true});s.on('error',e=>{console.log(e.code);process.exit(0)});s.bind({address:'${HA_LAB.lb1}',port:8848},()=>{console.log('BOUND');process.exit(0)});`;
  const r = await h.exec('lb1', ['env', '-u', 'NODE_OPTIONS', 'setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '-e', thief]);
  t.equal(r.stdout.trim(), 'EADDRINUSE', `an unprivileged bind of the sync port fails (${r.stderr.trim() || 'no stderr'})`);
  const wild = `const s=require('dgram').createSocket({type:'udp4',reuseAddr:true});s.on('error',e=>{console.log(e.code);process.exit(0)});s.bind({port:8848},()=>{console.log('BOUND');process.exit(0)});`;
  const w = await h.exec('lb1', ['env', '-u', 'NODE_OPTIONS', 'setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '-e', wild]);
  t.equal(w.stdout.trim(), 'EADDRINUSE', 'nor the wildcard address on that port');
});
