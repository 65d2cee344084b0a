// Writer mode in the pool: standbys at weight 0 with their templates invalid, a switch on the writer's failure,
// fencing before traffic moves, a writable standby in the view, writer mode off leaves the pool as it was.
import t from 'tap';
import { Pool } from '../../src/director/pool';
import { WriterControl } from '../../src/director/writer-control';
import { silentLogger } from '../../src/log';
import { config, server, virtual } from './config-fixture';

const writerCfg = (o: { fencing?: boolean; demote?: 'leave' | 'close' } = {}) => config([virtual('mysql', '10.0.0.3', [server('sql1', '10.0.0.4'), server('sql2', '10.0.0.5')], {
  persistent: 60, pmask: '255.255.240.0', check: 'mysql', writer: { enabled: true, holddown: 10, fencing: o.fencing ?? false, failback: false, demote: o.demote ?? 'leave' },
})]);
const health = (server: string, address: string, up: boolean) => ({ virtual: 'mysql', server, address, port: 3306, up, weight: up ? 1 : 0, inTable: up, reason: up ? 'ok' : 'connect_refused' });
const obs = (gtid: string, readOnly = true) => ({ readOnly, gtid, replica: { io: 'Yes', sql: 'Yes', lag: 0 } });
const dests = (p: Pool) => p.specs()[0].dests.map((d) => `${d.address}:${d.weight}${d.failed ? ':failed' : ''}`).sort();

function setup(o: { fencing?: boolean; demote?: 'leave' | 'close' } = {}) {
  let now = 0;
  const fenced: string[] = [];
  let pool = new Pool({ healthWired: true, drainTimeoutMs: 1000 });
  pool.applyConfig(writerCfg(o), 0);
  const wc = new WriterControl(silentLogger, async (_svc, address, _port, ro) => { fenced.push(`${address}=${ro ? 1 : 0}`); }, () => now);
  let pushes = 0;
  const run = () => wc.evaluate(() => pool, () => pushes++);
  return { wc, fenced, get pool() { return pool; }, set pool(p: Pool) { pool = p; }, tick: (ms: number) => { now += ms; }, run, get pushes() { return pushes; } };
}

/** Past the 11 s hold-down sql2 is seen again, then the writer sql1's check fails and it leaves the table (no
 * quiesce_server). */
function writerSql1Fails(s: ReturnType<typeof setup>): void {
  s.tick(11_000);
  s.wc.observe(s.pool, 'mysql', 'sql2', obs('0-1-5'));
  s.run();
  s.wc.observe(s.pool, 'mysql', 'sql1', undefined);
  s.pool.applyHealth(health('sql1', '10.0.0.4', false), 'x');
  s.tick(1000);
  s.run();
}

t.test('standbys take no new connections and keep no templates; the writer moves when it fails', async (t) => {
  const s = setup();
  s.pool.applyHealth(health('sql1', '10.0.0.4', true), 'x');
  s.pool.applyHealth(health('sql2', '10.0.0.5', true), 'x');
  s.run();
  t.same(dests(s.pool), ['10.0.0.4:0:failed', '10.0.0.5:0:failed'], 'no writer before every server was checked');
  s.wc.observe(s.pool, 'mysql', 'sql1', obs('0-1-5', false));
  s.wc.observe(s.pool, 'mysql', 'sql2', obs('0-1-5'));
  s.run();
  t.same(dests(s.pool), ['10.0.0.4:1', '10.0.0.5:0:failed'], 'sql1 writes; sql2 is a standby');
  t.equal(s.pushes, 1);
  writerSql1Fails(s);
  t.same(dests(s.pool), ['10.0.0.5:1'], 'sql2 writes at once; sql1 left the table');
  const [v] = s.wc.views(s.pool);
  t.match(v, { virtual: 'mysql', writerName: 'sql2', switches: 1, reason: /sql1 is down: sql2 caught up/ });
  t.same(v.servers.map((x) => [x.name, x.role]), [['sql1', 'out'], ['sql2', 'writer']]);
});

t.test('fencing: read_only on the demoted writer, then off on the new one, before the table changes', async (t) => {
  const s = setup({ fencing: true });
  s.pool.applyHealth(health('sql1', '10.0.0.4', true), 'x');
  s.pool.applyHealth(health('sql2', '10.0.0.5', true), 'x');
  s.wc.observe(s.pool, 'mysql', 'sql1', obs('0-1-5', false));
  s.wc.observe(s.pool, 'mysql', 'sql2', obs('0-1-5'));
  s.run();
  t.same(s.fenced, ['10.0.0.4=0'], 'the first writer is made writable');
  t.same(dests(s.pool), ['10.0.0.4:0:failed', '10.0.0.5:0:failed'], 'traffic waits for the fencing');
  await new Promise((r) => setImmediate(r));
  t.same(dests(s.pool), ['10.0.0.4:1', '10.0.0.5:0:failed']);
  s.tick(11_000);
  s.wc.observe(s.pool, 'mysql', 'sql2', obs('0-1-5'));
  s.run();
  s.pool.applyHealth(health('sql1', '10.0.0.4', false), 'x');
  s.run();
  await new Promise((r) => setImmediate(r));
  t.same(s.fenced, ['10.0.0.4=0', '10.0.0.4=1', '10.0.0.5=0']);
  t.same(dests(s.pool), ['10.0.0.5:1']);
});

t.test('a writable standby is in the view; writer mode off leaves the pool alone', async (t) => {
  const s = setup();
  s.pool.applyHealth(health('sql1', '10.0.0.4', true), 'x');
  s.pool.applyHealth(health('sql2', '10.0.0.5', true), 'x');
  s.wc.observe(s.pool, 'mysql', 'sql1', obs('0-1-5', false));
  s.wc.observe(s.pool, 'mysql', 'sql2', obs('0-1-5', false));
  s.run();
  t.same(s.wc.views(s.pool)[0].servers.map((x) => x.writable), [false, true]);
  const off = writerCfg();
  off.virtuals[0].writer = undefined;
  s.pool.applyConfig(off, 1);
  s.run();
  t.same(dests(s.pool), ['10.0.0.4:1', '10.0.0.5:1'], 'both take connections again');
  t.same(s.wc.views(s.pool), []);
});

t.test('a reload keeps the writer (the pool is cloned and merged; the decision state lives on)', async (t) => {
  const s = setup();
  s.pool.applyHealth(health('sql1', '10.0.0.4', true), 'x');
  s.pool.applyHealth(health('sql2', '10.0.0.5', true), 'x');
  s.wc.observe(s.pool, 'mysql', 'sql1', obs('0-1-5', false));
  s.wc.observe(s.pool, 'mysql', 'sql2', obs('0-1-5'));
  s.run();
  const next = s.pool.clone();
  const cfg = writerCfg();
  cfg.virtuals[0].servers[1].weight = 9; // sql2 now preferred: without failback the writer stays
  next.applyConfig(cfg, 1);
  t.same(dests(next), ['10.0.0.4:1', '10.0.0.5:0:failed'], 'the merged pool keeps sql1 as the writer');
  s.pool = next;
  s.run();
  t.equal(s.wc.views(s.pool)[0].writerName, 'sql1');
});

t.test('writer_demote = close: the demoted writer closes its connections, listed even while down; leave does not', async (t) => {
  const flags = (p: Pool) => p.specs()[0].dests.map((d) => `${d.address}:${d.weight}${d.failed ? ':failed' : ''}${d.closeConns ? ':close' : ''}`).sort();
  for (const demote of ['close', 'leave'] as const) {
    const s = setup({ demote });
    s.pool.applyHealth(health('sql1', '10.0.0.4', true), 'x');
    s.pool.applyHealth(health('sql2', '10.0.0.5', true), 'x');
    s.wc.observe(s.pool, 'mysql', 'sql1', obs('0-1-5', false));
    s.wc.observe(s.pool, 'mysql', 'sql2', obs('0-1-5'));
    s.run();
    const first = demote === 'close' ? ['10.0.0.4:1', '10.0.0.5:0:failed:close'] : ['10.0.0.4:1', '10.0.0.5:0:failed'];
    t.same(flags(s.pool), first, `${demote}: the writer keeps its connections (a standby has none to close)`);
    // The writer's check fails and it leaves the table: with close it stays listed at weight 0.
    writerSql1Fails(s);
    t.same(flags(s.pool), demote === 'close' ? ['10.0.0.4:0:failed:close', '10.0.0.5:1'] : ['10.0.0.5:1'], `${demote}: after the switch`);
    // Back up (e.g. after SIGCONT): a standby, its old connections still closed with close.
    s.pool.applyHealth(health('sql1', '10.0.0.4', true), 'x');
    s.run();
    t.same(flags(s.pool), demote === 'close' ? ['10.0.0.4:0:failed:close', '10.0.0.5:1'] : ['10.0.0.4:0:failed', '10.0.0.5:1'], `${demote}: back as a standby`);
  }
});
