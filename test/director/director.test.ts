// Director wiring with stand-in subsystems: health verdicts → tables, HA hooks → forwarding, reload as a diff,
// a failed reload changing nothing, stop order, live where.
import t from 'tap';
import { Director } from '../../src/director';
import { silentLogger } from '../../src/log';
import { DirectordError } from '../../src/errors';
import type { HaHooks, HaStatusView, HealthSubsystem } from '../../src/director/subsystems';
import type { HealthChange } from '../../src/director/pool';
import type { LvsConfig } from '../../src/config/schema';
import { MemoryDataPlane } from './memory-dataplane';
import { config, server, virtual } from './config-fixture';

function harness(initial: LvsConfig) {
  const events: string[] = [];
  let cfg: LvsConfig | Error = initial;
  let emit: (c: HealthChange) => void = () => undefined;
  const configured: LvsConfig[] = [];
  const health: HealthSubsystem = {
    configure: (c) => void configured.push(c),
    start: () => void events.push('health.start'),
    stop: () => void events.push('health.stop'),
    onChange: (fn) => (emit = fn),
  };
  let hooks!: HaHooks;
  const haStatus: HaStatusView = { role: 'primary', state: 'standby', heartbeatsReceived: 0, heartbeatsRejected: {}, failovers: 0, active: false, peer: { address: '10.64.0.2', state: 'active' }, lastHeartbeatAgeMs: 1500 };
  const dp = new MemoryDataPlane();
  const origStop = dp.stop.bind(dp);
  dp.stop = async () => {
    events.push('dataplane.stop');
    return origStop();
  };
  const director = new Director({
    configFile: 'lvs.cf', logger: silentLogger, dataplane: dp, drainTimeoutMs: 60_000, drainPollMs: 20, rateSampleMs: 1000, bannerTableSize: 4096,
    config: {
      load: () => {
        if (cfg instanceof Error) throw cfg;
        return cfg;
      },
    },
    health,
    ha: (_c, h) => {
      hooks = h;
      return {
        start: () => void events.push('ha.start'),
        stop: () => void events.push('ha.stop'),
        reconfigure: () => void events.push('ha.reconfigure'),
        takeover: () => ({ did: 'takeover' }),
        release: () => ({ did: 'release' }),
        status: () => haStatus,
        reportFailure: (kind, detail) => void events.push(`ha.failure:${kind}:${detail}`),
      };
    },
    where: (q) => [{ vip: q.services[0].vip, port: q.services[0].port, protocol: 'tcp', destination: q.services[0].dests[0], reason: 'simulated' }],
  });
  return { director, dp, events, configured, emit: (c: HealthChange) => emit(c), hooks: () => hooks, setConfig: (c: LvsConfig | Error) => (cfg = c), haStatus };
}

const base = () => config([virtual('db', '10.64.0.100', [server('a', '10.64.0.4'), server('b', '10.64.0.5', { weight: 2 })], { persistent: 60, pmask: '255.255.240.0' })]);
const ch = (server: string, address: string, up: boolean, weight: number, inTable: boolean): HealthChange => ({ virtual: 'db', server, address, port: 3306, up, weight, inTable, reason: up ? 'ok' : 'connect_refused' });
const table = (dp: MemoryDataPlane) => dp.services.map((s) => s.dests.map((d) => `${d.address}/${d.weight}`).join(' '));

t.test('health verdicts drive the table; HA hooks drive forwarding; status shows both', async (t) => {
  const h = harness(base());
  await h.director.start();
  t.same(table(h.dp), [''], 'nothing in the table before a check');
  t.equal(h.dp.forwarding, false, 'standby does not forward');
  h.emit(ch('b', '10.64.0.5', true, 2, true));
  h.emit(ch('a', '10.64.0.4', true, 1, true));
  t.same(table(h.dp), ['10.64.0.4/1 10.64.0.5/2']);
  h.emit(ch('b', '10.64.0.5', false, 0, true));
  t.same(table(h.dp), ['10.64.0.4/1 10.64.0.5/0'], 'quiesced: present, weight 0');
  await h.hooks().onActivate();
  t.equal(h.dp.forwarding, true);
  const s = h.director.status({ connections: false, connectionLimit: 0 });
  t.same(s.health.map((x) => `${x.server}:${x.state}`), ['a:up', 'b:quiesced']);
  t.same(s.ha, { enabled: true, role: 'primary', state: 'standby', peer: { address: '10.64.0.2', state: 'active' }, lastHeartbeatAgeMs: 1500, forwarding: true });
  await h.hooks().onDeactivate();
  t.equal(h.dp.forwarding, false);
  t.same(await h.director.takeover(), { did: 'takeover' });
  t.same(await h.director.release(), { did: 'release' });
  await h.director.stop();
  t.same(h.events, ['health.start', 'ha.start', 'ha.stop', 'health.stop', 'dataplane.stop'], 'HA gives up the VIP first');
});

t.test('a data plane that cannot forward on activation is reported to HA as a failure (pulse CHILDFAIL)', async (t) => {
  const h = harness(base());
  await h.director.start();
  t.teardown(() => h.director.stop());
  h.dp.setForwarding = () => {
    throw new DirectordError('E_DATAPLANE_STATE', 'packet loop not running');
  };
  await h.hooks().onActivate();
  t.equal(h.dp.forwarding, false, 'still not forwarding');
  t.ok(h.events.includes('ha.failure:dataplane:packet loop not running'), 'HA told, so the peer takes over');
});

t.test('reload: only the difference; a failed reload changes nothing', async (t) => {
  const h = harness(base());
  await h.director.start();
  t.teardown(() => h.director.stop());
  h.emit(ch('a', '10.64.0.4', true, 1, true));
  h.emit(ch('b', '10.64.0.5', true, 2, true));
  h.dp.counters.set('10.64.0.100:3306>10.64.0.5:3306', { activeConns: 4 });

  h.setConfig(config([virtual('db', '10.64.0.100', [server('a', '10.64.0.4'), server('c', '10.64.0.6')], { persistent: 60, pmask: '255.255.240.0' })]));
  const r = await h.director.reload();
  t.equal(r.result, 'success');
  t.same(r.changes, ['server db/c (10.64.0.6:3306) added', 'server db/b (10.64.0.5:3306) removed: draining']);
  t.same(table(h.dp), ['10.64.0.5/0 10.64.0.4/1'], 'a keeps its state; b drains at weight 0; c waits for its first check');
  t.equal(h.configured.length, 2, 'health got the new config (it keeps unchanged checkers)');
  t.ok(h.events.includes('ha.reconfigure'));
  const st = h.director.status({ connections: false, connectionLimit: 0 }).health;
  t.same(st.map((x) => `${x.server}:${x.state}`), ['a:up', 'b:draining', 'c:down']);

  const calls = h.dp.setServicesCalls;
  h.setConfig(new DirectordError('E_CONFIG_SYNTAX', 'unexpected }', { location: { file: 'lvs.cf', line: 9, column: 1 } }));
  const bad = await h.director.reload();
  t.same(bad, { result: 'failure', changes: [], error: { code: 'E_CONFIG_SYNTAX', message: 'lvs.cf:9:1 E_CONFIG_SYNTAX unexpected }' } });
  t.equal(h.dp.setServicesCalls, calls, 'tables untouched');
  t.equal(h.configured.length, 2, 'health untouched');
  t.same(h.director.status({ connections: false, connectionLimit: 0 }).reload.lastResult, 'failure');

  // b's connections end: it leaves the table at the next drain poll.
  h.dp.counters.set('10.64.0.100:3306>10.64.0.5:3306', { activeConns: 0, inactConns: 0 });
  await new Promise((r) => setTimeout(r, 80));
  t.same(table(h.dp), ['10.64.0.4/1']);
});

t.test('concurrent reloads are serialised: the next starts only after the previous one finished', async (t) => {
  const h = harness(base());
  await h.director.start();
  t.teardown(() => h.director.stop());
  // Each reload is made slow (an await inside it, as ha.reconfigure has): run side by side they would interleave.
  const d = h.director as unknown as { reloadNow: () => Promise<unknown> };
  const inner = d.reloadNow.bind(h.director);
  const trace: string[] = [];
  let n = 0;
  d.reloadNow = async () => {
    const k = ++n;
    trace.push(`begin ${k}`);
    await new Promise((r) => setTimeout(r, 20));
    const r = await inner();
    trace.push(`end ${k}`);
    return r;
  };
  const results = await Promise.all([h.director.reload(), h.director.reload(), h.director.reload()]);
  t.same(trace, ['begin 1', 'end 1', 'begin 2', 'end 2', 'begin 3', 'end 3'], 'no overlap');
  t.same(results.map((r) => r.result), ['success', 'success', 'success']);
  t.equal(h.director.counters.reloads.success, 3);
});

t.test('where: live connection, then template, then the simulator; bad client', async (t) => {
  const h = harness(base());
  await h.director.start();
  t.teardown(() => h.director.stop());
  h.emit(ch('a', '10.64.0.4', true, 1, true));
  h.dp.conns = [
    { protocol: 'tcp', caddr: '10.64.1.10', cport: 5000, vaddr: '10.64.0.100', vport: 3306, daddr: '10.64.0.4', dport: 3306, state: 'ESTABLISHED', expiresMs: 900_000, template: false },
    { protocol: 'tcp', caddr: '10.64.0.0', cport: 0, vaddr: '10.64.0.100', vport: 3306, daddr: '10.64.0.4', dport: 3306, state: 'NONE', expiresMs: 59_000, template: true },
  ];
  t.match(h.director.where('10.64.1.10:5000'), { destination: { address: '10.64.0.4', server: 'a' }, reason: 'existing ESTABLISHED connection', virtual: 'db' });
  t.match(h.director.where('10.64.2.2'), { destination: { address: '10.64.0.4' }, reason: /persistence template 10\.64\.0\.0:0/ });
  t.match(h.director.where('10.99.0.1'), { reason: 'simulated' });
  t.throws(() => h.director.where('10.0.0.256'), { code: 'E_CTL_BAD_ARGS' });
  t.throws(() => h.director.where('host:1'), { code: 'E_CTL_BAD_ARGS' });
});
