// Writer mode with two directors (pure wiring, fake HA): the active decides, its decisions reach the standby through
// the real writer-record codec, the standby follows them instead of deciding, and keeps them when it takes over.
// Without the sync the same standby picks the preferred server at its first look: the flip the sync prevents.
import t from 'tap';
import { Director } from '../../src/director';
import { silentLogger } from '../../src/log';
import { renderStatusBlock } from '../../src/cli/status-format';
import type { CheckObservation, HaHooks, HealthSubsystem } from '../../src/director/subsystems';
import type { HealthChange } from '../../src/director/pool';
import { decodeWriterRecord, encodeWriterRecords } from '../../src/ha/writer-record';
import { WriterControl } from '../../src/director/writer-control';
import { FakeDataPlane } from '../../src/dataplane/fake';
import { config, server, virtual } from './config-fixture';

const key = Buffer.from('writer-sync-test-key-0123456789a');
const cfg = config([virtual('mysql', '10.64.0.100', [server('sql1', '10.64.0.4'), server('sql2', '10.64.0.5')], {
  check: 'mysql', writer: { enabled: true, holddown: 0, fencing: false, failback: false, demote: 'leave' },
})]);

async function director(t: { teardown(fn: () => unknown): void }, ha: boolean) {
  const dp = new FakeDataPlane();
  let change: (c: HealthChange) => void = () => undefined;
  let check: (o: CheckObservation) => void = () => undefined;
  let hooks: HaHooks | undefined;
  const health: HealthSubsystem = { configure: () => undefined, start: () => undefined, stop: () => undefined, onChange: (fn) => (change = fn), onCheck: (fn) => (check = fn) };
  const d = new Director({
    configFile: 'mem', logger: silentLogger, dataplane: dp, config: { load: () => cfg }, health,
    drainTimeoutMs: 1000, drainPollMs: 50, rateSampleMs: 1000, bannerTableSize: 4096,
    ...(ha ? {
      ha: (_c, h) => {
        hooks = h;
        return { start: () => undefined, stop: () => undefined, reconfigure: () => undefined, takeover: () => undefined, release: () => undefined, status: () => ({ role: 'backup', state: 'standby', heartbeatsReceived: 0, heartbeatsRejected: {}, failovers: 0, active: false }) };
      },
    } : {}),
  });
  await d.start();
  t.teardown(() => d.stop());
  const up = (name: string, address: string, isUp: boolean) => change({ virtual: 'mysql', server: name, address, port: 3306, up: isUp, weight: isUp ? 1 : 0, inTable: isUp, reason: isUp ? 'ok' : 'connect_refused' });
  const observe = (name: string, gtid: string | undefined) => check({ virtual: 'mysql', server: name, durationSeconds: 0.001, ok: gtid !== undefined, ...(gtid !== undefined ? { mysql: { readOnly: false, gtid, replica: { io: 'Yes', sql: 'Yes', lag: 0 } } } : {}) });
  const writes = () => dp.services[0].dests.filter((x) => x.weight > 0).map((x) => x.address);
  return { d, dp, up, observe, writes, hooks: () => hooks! };
}

const tick = () => new Promise((r) => setTimeout(r, 5));

t.test('the standby follows the active director\'s writer and keeps it at the takeover', async (t) => {
  const lb1 = await director(t, true);
  await lb1.hooks().onActivate();
  lb1.up('sql1', '10.64.0.4', true);
  lb1.up('sql2', '10.64.0.5', true);
  lb1.observe('sql1', '0-1-5');
  lb1.observe('sql2', '0-1-5');
  t.same(lb1.writes(), ['10.64.0.4'], 'lb1: sql1 first');
  lb1.observe('sql1', undefined);
  lb1.up('sql1', '10.64.0.4', false);
  await tick();
  lb1.observe('sql2', '0-1-5');
  t.same(lb1.writes(), ['10.64.0.5'], 'lb1 failed over to sql2');
  lb1.up('sql1', '10.64.0.4', true);
  lb1.observe('sql1', '0-1-5');
  t.same(lb1.writes(), ['10.64.0.5'], 'sql1 back, caught up: no failback');

  // lb2 starts now: by its own first look both are caught up, and it would choose sql1, the preferred one.
  const sync = async (from: typeof lb1, to: typeof lb1) => {
    let seq = 0n;
    for (const p of encodeWriterRecords({ by: '10.0.0.1', decisions: from.hooks().writers!.decisions() }, { key, bootId: 1n, nextSeq: () => ++seq })) {
      const r = decodeWriterRecord(p, key);
      if (!r.ok) throw new Error(r.detail);
      to.hooks().writers!.adopt(r.record, '10.0.0.1');
    }
  };
  for (const withSync of [false, true]) {
    const lb2 = await director(t, true);
    lb2.up('sql1', '10.64.0.4', true);
    lb2.up('sql2', '10.64.0.5', true);
    lb2.observe('sql1', '0-1-5');
    lb2.observe('sql2', '0-1-5');
    if (withSync) {
      t.same(lb2.hooks().writers!.decisions(), [], 'a standby sends nothing');
      await sync(lb1, lb2);
      t.same(lb2.writes(), ['10.64.0.5'], 'lb2 follows lb1: sql2 in its (not yet forwarding) table');
      const s = lb2.d.status({ connections: false, connectionLimit: 0 }).writers![0];
      t.match(s, { writerName: 'sql2', decidedBy: '10.0.0.1', following: true, switches: 1, reason: /^adopted from the active director: sql1 is down/ });
      t.match(renderStatusBlock(lb2.d.status({ connections: false, connectionLimit: 0 }), Date.now()), /Writer \(mysql\): writer sql2 since \d\d:\d\d:\d\d \(decided by 10\.0\.0\.1, synced \d+\.\d s ago\)/);
      lb2.observe('sql1', '0-1-5');
      t.same(lb2.writes(), ['10.64.0.5'], 'its own checks change nothing while it follows');
    }
    // lb1 is killed; lb2 takes over and goes on deciding from there.
    await lb2.hooks().onActivate();
    lb2.observe('sql1', '0-1-6');
    lb2.observe('sql2', '0-1-6');
    const s = lb2.d.status({ connections: false, connectionLimit: 0 }).writers![0];
    if (withSync) {
      t.same(lb2.writes(), ['10.64.0.5'], 'after the takeover sql2 is still the writer: no flip back by preference');
      t.match(s, { writerName: 'sql2', decidedBy: '10.0.0.1', following: false });
      t.match(renderStatusBlock(lb2.d.status({ connections: false, connectionLimit: 0 }), Date.now()), /\(decided by 10\.0\.0\.1, kept when this director took over\)/);
      t.same(lb2.hooks().writers!.decisions().map((d) => [d.writer, d.switches]), [['10.64.0.5:3306', 1]], 'and it now sends that decision');
    } else {
      t.same(lb2.writes(), ['10.64.0.4'], 'without the sync lb2 chose sql1: writes would flip to the other server');
    }
  }
});

t.test('an adopted decision keeps the peer\'s hold-down for a failback; an active director ignores records', async (t) => {
  let now = 100_000;
  const log = { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined } as never;
  const w = new WriterControl(log, undefined, () => now);
  // The state machine directly: adopt with the peer's last switch 2 s ago, a 10 s hold-down, failback on.
  const { Pool } = await import('../../src/director/pool');
  const c = config([virtual('mysql', '10.64.0.100', [server('sql1', '10.64.0.4'), server('sql2', '10.64.0.5')], {
    check: 'mysql', timeout: 1, writer: { enabled: true, holddown: 10, fencing: true, failback: true, demote: 'leave' },
  })]);
  const pool = new Pool({ healthWired: true, drainTimeoutMs: 1000 });
  pool.applyConfig(c, now);
  const svc = [...pool.services.values()][0];
  for (const e of svc.entries.values()) pool.applyHealth({ virtual: 'mysql', server: e.server, address: e.address, port: 3306, up: true, weight: 1, inTable: true, reason: 'ok' }, '');
  let applied = 0;
  const hook = w.syncHook(() => pool, () => applied++);
  w.setLeading(false);
  const rec = (writer: string) => ({ by: 'lb1', decisions: [{ service: svc.key, writer, sinceAgeMs: 2000, lastSwitchAgeMs: 2000, switches: 3, reason: 'sql1 is down: sql2 caught up' }] });
  hook.adopt(rec('10.64.0.5:3306'), 'lb1');
  t.equal(svc.writer, '10.64.0.5:3306');
  t.equal(applied, 1);
  w.setLeading(true);
  const seen = (gtid: string) => {
    for (const s of ['sql1', 'sql2']) w.observe(pool, 'mysql', s, { readOnly: false, gtid, replica: { io: 'Yes', sql: 'Yes', lag: 0 } });
  };
  for (let i = 0; i < 7; i++) {
    now += 1000;
    seen('0-1-9');
    w.evaluate(() => pool, () => applied++);
  }
  t.equal(svc.writer, '10.64.0.5:3306', '7 s after takeover (9 s after the peer\'s switch): no failback yet');
  now += 1500;
  seen('0-1-9');
  w.evaluate(() => pool, () => applied++);
  t.equal(svc.writer, '10.64.0.4:3306', 'failback once the peer\'s hold-down has run out');
  t.equal(w.views(pool)[0].switches, 4, 'the switch count goes on from the peer\'s');
  hook.adopt(rec('10.64.0.5:3306'), 'lb1');
  t.equal(svc.writer, '10.64.0.4:3306', 'an active director does not take a peer\'s record');
});
