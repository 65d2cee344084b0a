// The metric names a daemon exports (histograms with their _bucket/_sum/_count), from a director started on the
// in-memory data plane with HA and health wired, and the names a PromQL text uses: for the dashboard and rules tests.
import { Director } from '../../src/director';
import type { HealthChange } from '../../src/director/pool';
import type { HaStatusView } from '../../src/director/subsystems';
import { silentLogger } from '../../src/log';
import { createMetricsRegistry } from '../../src/metrics';
import { FakeDataPlane } from '../../src/dataplane/fake';
import { config, server, virtual } from '../director/config-fixture';

export async function exportedNames(teardown: (fn: () => unknown) => void): Promise<Set<string>> {
  const cfg = config([virtual('mysql', '10.64.0.100', [server('sql1', '10.64.0.4')])], { primary: '10.64.0.1', backup: '10.64.0.2' });
  const ha: HaStatusView = { role: 'primary', state: 'active', heartbeatsReceived: 0, heartbeatsRejected: {}, failovers: 0, active: true, peer: { address: '10.64.0.2', state: 'standby' } };
  let up: (c: HealthChange) => void = () => undefined;
  // The native data plane reports every drop reason from the start (dataplane/stats.ts); the fake reports what it is given.
  const dp = new FakeDataPlane();
  dp.extraStats = { drops: { no_dest: 0 } };
  const director = new Director({
    configFile: 'mem', logger: silentLogger, dataplane: dp, config: { load: () => cfg },
    health: {
      configure: () => undefined, stop: () => undefined,
      onChange: (fn) => (up = fn), start: () => up({ virtual: 'mysql', server: 'sql1', address: '10.64.0.4', port: 3306, up: true, weight: 1, inTable: true }),
      // One passed and one failed check: the by-reason failure counter has a series only once a check failed.
      onCheck: (fn) => [true, false].forEach((ok) => fn({ virtual: 'mysql', server: 'sql1', durationSeconds: 0.1, ok, ...(ok ? {} : { reason: 'connect_timeout' }) })),
    },
    ha: () => ({ start: () => undefined, stop: () => undefined, reconfigure: () => undefined, status: () => ha, takeover: () => ({}), release: () => ({}) }),
    drainTimeoutMs: 1000, drainPollMs: 50, rateSampleMs: 1000, bannerTableSize: 4096,
  });
  await director.start();
  teardown(() => director.stop());
  const text = await createMetricsRegistry(director).metrics();
  // A name counts only with a sample: a metric that is declared but never has a series would leave a panel empty.
  const withSamples = new Set([...text.matchAll(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{| )/gm)].map((m) => m[1]));
  return withSamples;
}

/** Metric names in PromQL: ours (directord_), and prom-client's process_ and nodejs_ ones. */
export function metricsUsed(exprs: string[]): Set<string> {
  return new Set(exprs.flatMap((e) => e.match(/\b(?:directord|process|nodejs)_[a-z0-9_]+/g) ?? []));
}
