// Director wiring with stand-in subsystems: health verdicts → tables, HA hooks → forwarding, reload as a diff,
// a failed reload changing nothing, stop order, live where.
import t from 'tap';
import { Director } from '../../src/director';
import { silentLogger } from '../../src/log';
import { DirectordError } from '../../src/errors';
import type { HaHooks, HaStatusView, HealthSubsystem } from '../../src/director/subsystems';
import type { HealthChange } from '../../src/director/pool';
import type { LvsConfig } from '../../src/config/schema';
import { FakeDataPlane } from '../../src/dataplane/fake';
import { config, server, virtual } from './config-fixture';

interface HaFaults {
  /** Throws from reconfigure (after tables, pool and health were switched). */
  reconfigure?: (c: LvsConfig) => void | Promise<void>;
  preflight?: (before: LvsConfig, after: LvsConfig) => Promise<void>;
}

function harness(initial: LvsConfig, faults: HaFaults = {}) {
  const events: string[] = [];
  const haConfigs: LvsConfig[] = [];
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
  const dp = new FakeDataPlane({ forwarding: false });
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
        reconfigure: (c) => {
          events.push('ha.reconfigure');
          haConfigs.push(c);
          return faults.reconfigure?.(c);
        },
        preflight: (b, a) => faults.preflight?.(b, a) ?? Promise.resolve(),
        takeover: () => ({ did: 'takeover' }),
        release: () => ({ did: 'release' }),
        status: () => haStatus,
        reportFailure: (kind, detail) => void events.push(`ha.failure:${kind}:${detail}`),
      };
    },
    where: (q) => [{ vip: q.services[0].vip, port: q.services[0].port, protocol: 'tcp', destination: q.services[0].dests[0], reason: 'simulated' }],
  });
  return { director, dp, events, configured, haConfigs, emit: (c: HealthChange) => emit(c), hooks: () => hooks, setConfig: (c: LvsConfig | Error) => (cfg = c), haStatus };
}

const base = () => config([virtual('db', '10.64.0.100', [server('a', '10.64.0.4'), server('b', '10.64.0.5', { weight: 2 })], { persistent: 60, pmask: '255.255.240.0' })]);
const ch = (server: string, address: string, up: boolean, weight: number, inTable: boolean): HealthChange => ({ virtual: 'db', server, address, port: 3306, up, weight, inTable, reason: up ? 'ok' : 'connect_refused' });
const table = (dp: FakeDataPlane) => dp.services.map((s) => s.dests.map((d) => `${d.address}/${d.weight}`).join(' '));

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
  h.dp.applySyncUpdates([
    { protocol: 'tcp', caddr: '10.64.1.10', cport: 5000, vaddr: '10.64.0.100', vport: 3306, daddr: '10.64.0.4', dport: 3306, state: 'ESTABLISHED', expiresMs: 900_000, template: false },
    { protocol: 'tcp', caddr: '10.64.0.0', cport: 0, vaddr: '10.64.0.100', vport: 3306, daddr: '10.64.0.4', dport: 3306, state: 'NONE', expiresMs: 59_000, template: true },
  ]);
  t.match(h.director.where('10.64.1.10:5000'), { client: '10.64.1.10', clientPort: 5000, source: 'daemon', answers: [{ destination: { address: '10.64.0.4', server: 'a' }, decidedBy: 'connection', reason: 'existing ESTABLISHED connection', virtual: 'db', protocol: 'tcp' }] });
  t.match(h.director.where('10.64.2.2'), { answers: [{ destination: { address: '10.64.0.4' }, decidedBy: 'template', reason: /persistence template 10\.64\.0\.0:0/ }] });
  t.notOk('clientPort' in h.director.where('10.64.2.2'), 'no port given, none in the answer');
  t.match(h.director.where('10.99.0.1'), { answers: [{ reason: 'simulated', decidedBy: 'scheduler' }] });
  h.emit(ch('a', '10.64.0.4', false, 0, true));
  t.match(h.director.where('10.64.2.2'), { answers: [{ reason: 'simulated' }] }, 'a template to a failed (quiesced) server decides nothing: the client is scheduled afresh');
  t.throws(() => h.director.where('10.0.0.256'), { code: 'E_CTL_BAD_ARGS' });
  t.throws(() => h.director.where('host:1'), { code: 'E_CTL_BAD_ARGS' });
});

// A reload whose apply throws midway must leave the old state running, and must not block the next reload.
t.test('reload is all-or-nothing: a step that throws midway rolls back everything, and the next reload works', async (t) => {
  let haFails = true;
  const h = harness(base(), {
    reconfigure: (c) => {
      if (haFails && c.global.heartbeatPort === 1539) throw new DirectordError('E_HA_BIND', 'cannot bind UDP 10.64.0.1:1539: EADDRINUSE');
    },
  });
  await h.director.start();
  t.teardown(() => h.director.stop());
  h.emit(ch('a', '10.64.0.4', true, 1, true));
  h.emit(ch('b', '10.64.0.5', true, 2, true));
  await h.director.drain('b');
  const view = () => {
    const s = h.director.status({ connections: false, connectionLimit: 0 });
    return { services: s.services, health: s.health.map(({ lastCheck: _l, ...x }) => x) };
  };
  const before = { table: table(h.dp), timeouts: h.dp.timeouts, status: view(), cfg: h.director.config };

  // New server c, new timeouts, a new heartbeat port: tables, pool, timeouts and health are switched before HA throws.
  const next = config([virtual('db', '10.64.0.100', [server('a', '10.64.0.4'), server('c', '10.64.0.6')], { persistent: 60, pmask: '255.255.240.0' })], { heartbeatPort: 1539, tcpTimeout: 60 });
  h.setConfig(next);
  h.emit(ch('a', '10.64.0.4', true, 1, true)); // noise: an unchanged verdict before
  const bad = await h.director.reload();
  t.match(bad, { result: 'failure', changes: [], error: { code: 'E_HA_BIND' } });
  t.equal(h.director.config, before.cfg, 'the old configuration is in force');
  t.same(table(h.dp), before.table, 'the old table is in force (b still quiesced by the operator, not draining)');
  t.same(h.dp.timeouts, before.timeouts, 'the old timeouts are in force');
  t.same(view(), before.status, 'status unchanged: same services, same health, same override');
  t.equal(h.configured[h.configured.length - 1], before.cfg, 'health reconfigured back to the old configuration');
  t.equal(h.haConfigs[h.haConfigs.length - 1], before.cfg, 'HA reconfigured back to the old configuration');
  t.same(h.director.counters.reloads, { success: 0, failure: 1 });
  t.equal(h.director.status({ connections: false, connectionLimit: 0 }).reload.lastError?.code, 'E_HA_BIND');

  haFails = false;
  const good = await h.director.reload();
  t.equal(good.result, 'success', 'the next reload reaches the loader and applies');
  t.same(good.changes, ['server db/c (10.64.0.6:3306) added', 'server db/b (10.64.0.5:3306) removed: draining']);
  t.equal(h.director.config, next);
  t.same(h.dp.timeouts, { tcp: 60, tcpfin: 120, udp: 300 });
  t.same(h.director.counters.reloads, { success: 1, failure: 1 });
});

t.test('verdicts and overrides that arrive while a reload is being rolled back are kept', async (t) => {
  // HA's reconfigure takes a while (it reopens sockets) and then fails; a verdict and an override land meanwhile.
  let during = (): void => undefined;
  const h = harness(base(), {
    reconfigure: async (c) => {
      if (c.global.heartbeatPort !== 1539) return;
      await new Promise((r) => setTimeout(r, 10));
      during();
      throw new DirectordError('E_HA_BIND', 'port taken');
    },
  });
  await h.director.start();
  t.teardown(() => h.director.stop());
  h.emit(ch('a', '10.64.0.4', true, 1, true));
  during = () => {
    h.emit(ch('b', '10.64.0.5', true, 2, true));
    h.director.setWeight('a', 7);
  };
  h.setConfig(config([virtual('db', '10.64.0.100', [server('a', '10.64.0.4'), server('b', '10.64.0.5', { weight: 2 }), server('c', '10.64.0.6')])], { heartbeatPort: 1539 }));
  const r = await h.director.reload();
  t.equal(r.result, 'failure');
  t.same(table(h.dp), ['10.64.0.5/2 10.64.0.4/7'], 'b came up and a was re-weighted during the reload: both survive the rollback');
  t.same(h.director.status({ connections: false, connectionLimit: 0 }).health.map((x) => `${x.server}:${x.state}:${x.override?.weight ?? '-'}`), ['a:up:7', 'b:up:-']);
});

t.test('a table the data plane would refuse is refused before anything changes', async (t) => {
  // 200 virtuals replaced by 200 others: the old ones drain, so the new table would hold 400 (> 256) services.
  const many = (base: number) => config(Array.from({ length: 200 }, (_, i) => virtual(`v${base + i}`, `10.64.${base / 100}.${i + 1}`, [server('a', '10.64.0.4')])));
  const h = harness(many(100));
  await h.director.start();
  t.teardown(() => h.director.stop());
  for (let i = 0; i < 200; i++) h.emit({ ...ch('a', '10.64.0.4', true, 1, true), virtual: `v${100 + i}` });
  const calls = h.dp.setServicesCalls;
  const cfg = h.director.config;
  h.setConfig(many(200));
  const r = await h.director.reload();
  t.match(r, { result: 'failure', error: { code: 'E_DATAPLANE_SERVICE', message: /data plane would refuse the new table: services: at most 256 virtual services \(400 given\)/ } });
  t.equal(h.dp.setServicesCalls, calls, 'tables untouched');
  t.equal(h.director.config, cfg, 'configuration untouched');
  t.equal(h.configured.length, 1, 'health untouched');
  t.notOk(h.events.includes('ha.reconfigure'), 'HA untouched');
  t.equal(h.dp.services.length, 200);
});

t.test('a refused preflight (a changed port taken here) changes nothing', async (t) => {
  const h = harness(base(), {
    preflight: async () => {
      throw new DirectordError('E_CONFIG_PORT_UNAVAILABLE', 'heartbeat_port 1539 cannot be bound on 10.64.0.1: EADDRINUSE', { location: { file: 'lvs.cf', line: 4, column: 18 } });
    },
  });
  await h.director.start();
  t.teardown(() => h.director.stop());
  const calls = h.dp.setServicesCalls;
  h.setConfig(config([virtual('db', '10.64.0.100', [server('a', '10.64.0.4')])], { heartbeatPort: 1539 }));
  const r = await h.director.reload();
  t.same(r.error, { code: 'E_CONFIG_PORT_UNAVAILABLE', message: 'lvs.cf:4:18 E_CONFIG_PORT_UNAVAILABLE heartbeat_port 1539 cannot be bound on 10.64.0.1: EADDRINUSE' });
  t.equal(h.dp.setServicesCalls, calls, 'tables untouched');
  t.equal(h.configured.length, 1, 'health untouched');
  t.notOk(h.events.includes('ha.reconfigure'), 'HA untouched');
});

t.test('a data plane that throws while applying: the table it kept is the old one, and reloads go on', async (t) => {
  const h = harness(base());
  await h.director.start();
  t.teardown(() => h.director.stop());
  h.emit(ch('a', '10.64.0.4', true, 1, true));
  h.emit(ch('b', '10.64.0.5', true, 2, true));
  const orig = h.dp.setServices.bind(h.dp);
  let refuse = true;
  // Refuses (leaving its table as it was, as the native one does) once the reload's timeouts step has run.
  h.dp.setServices = (s) => {
    if (refuse && h.dp.timeouts?.tcp === 60) throw new DirectordError('E_DATAPLANE_LIMIT', 'no free real-server slot (table unchanged)');
    orig(s);
  };
  const before = table(h.dp);
  h.setConfig(config([virtual('db', '10.64.0.100', [server('a', '10.64.0.4', { weight: 5 }), server('b', '10.64.0.5', { weight: 2 })], { persistent: 60, pmask: '255.255.240.0' })], { tcpTimeout: 60 }));
  const r = await h.director.reload();
  t.match(r, { result: 'failure', error: { code: 'E_DATAPLANE_LIMIT' } });
  t.same(table(h.dp), before, 'old table');
  t.equal(h.dp.timeouts?.tcp, 900, 'timeouts undone');
  t.equal(h.director.status({ connections: false, connectionLimit: 0 }).health.find((x) => x.server === 'a')?.configuredWeight, 1, 'old pool');
  refuse = false;
  t.equal((await h.director.reload()).result, 'success');
  t.equal(h.dp.timeouts?.tcp, 60);
});
