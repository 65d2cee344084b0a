// The stop sequence's bounds: a step that hangs is abandoned at its deadline (logged) and the next steps still run;
// Director.stop goes on to the checks and the data plane when HA's stop never returns.
import t from 'tap';
import { Director } from '../../src/director';
import { runStopSteps } from '../../src/director/shutdown';
import { createRootLogger, silentLogger } from '../../src/log';
import { withDeadline } from '../../src/util/deadline';
import { FakeDataPlane } from '../../src/dataplane/fake';
import { config, server, virtual } from './config-fixture';

const never = (): Promise<never> => new Promise<never>(() => undefined);

t.test('withDeadline: the value, the error, or a coded timeout', async (t) => {
  t.equal(await withDeadline(Promise.resolve(7), 100, 'x'), 7);
  await t.rejects(withDeadline(Promise.reject(new Error('boom')), 100, 'x'), { message: 'boom' });
  await t.rejects(withDeadline(never(), 50, 'hanging thing', 'E_X'), { code: 'E_X', message: 'hanging thing did not finish within 50 ms' });
});

t.test('runStopSteps: a hanging or failing step is logged and skipped, the rest run', async (t) => {
  const records: { msg: string; level: string; step?: string }[] = [];
  const log = createRootLogger({ destination: { write: (l: string) => void records.push(JSON.parse(l)) } });
  const ran: string[] = [];
  const ok = await runStopSteps([
    { what: 'hangs', run: never, timeoutMs: 50 },
    { what: 'throws', run: () => { throw new Error('nope'); }, timeoutMs: 50 },
    { what: 'fine', run: () => void ran.push('fine'), timeoutMs: 50 },
  ], log);
  t.equal(ok, false);
  t.same(ran, ['fine']);
  t.match(records, [{ level: 'error', step: 'hangs', msg: /stopping hangs failed: going on/ }, { level: 'error', step: 'throws' }]);
  t.equal(await runStopSteps([{ what: 'fine', run: () => undefined, timeoutMs: 50 }], log), true);
});

t.test('Director.stop: HA that never returns does not keep the checks and the data plane running', async (t) => {
  const dp = new FakeDataPlane();
  const events: string[] = [];
  const cfg = config([virtual('db', '10.64.0.100', [server('a', '10.64.0.4')])]);
  const director = new Director({
    configFile: 'lvs.cf', logger: silentLogger, dataplane: dp, config: { load: () => cfg }, drainTimeoutMs: 1000, drainPollMs: 50, rateSampleMs: 1000,
    bannerTableSize: 4096, stopStepTimeoutMs: 100,
    health: { configure: () => undefined, start: () => undefined, stop: () => void events.push('health.stop'), onChange: () => undefined },
    ha: () => ({ start: () => undefined, stop: never, reconfigure: () => undefined, takeover: () => undefined, release: () => undefined, status: () => ({ role: 'primary', state: 'standby', heartbeatsReceived: 0, heartbeatsRejected: {}, failovers: 0, active: false }) }),
  });
  await director.start();
  t.equal(dp.started, true);
  const started = Date.now();
  t.equal(await director.stop(), false, 'reported as not clean');
  t.ok(Date.now() - started < 2000, 'bounded');
  t.same(events, ['health.stop']);
  t.equal(dp.started, false, 'data plane stopped');
});
