// Per-real-server health metrics: check counts, last duration and result, failures in a row, and up/down transitions,
// all with the backend gauges' labels and present at 0 for every configured server from the first scrape.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { ServerHealthView, StatusSnapshot } from '../control/types';
import { serverCheckKey, type DirectorCounters, type ServerCheckCounts } from '../director/counters';
import { BACKEND_LABELS, eachServer, type BackendLabels } from './labels';

type Put = (labels: Record<string, string>, value: number) => void;

export function registerCheckMetrics(registry: Registry, snapshot: () => StatusSnapshot, counters: DirectorCounters): void {
  // One collect() shape for all: reset, then one or more samples per configured server.
  const perServer = (fn: (put: Put, labels: BackendLabels, h: ServerHealthView, c: ServerCheckCounts | undefined) => void) =>
    function (this: Gauge<string> | Counter<string>): void {
      this.reset();
      const put: Put = this instanceof Counter ? (l, v) => this.inc(l, v) : (l, v) => (this as Gauge<string>).set(l, v);
      eachServer(snapshot(), (labels, h) => fn(put, labels, h, counters.serverChecks.get(serverCheckKey(h.virtual, h.server))));
    };
  new Counter({
    name: 'directord_backend_checks_total', help: 'Health checks run against the real server, by result (success, failure).',
    labelNames: [...BACKEND_LABELS, 'result'], registers: [registry],
    collect: perServer((put, labels, _h, c) => {
      put({ ...labels, result: 'success' }, c?.success ?? 0);
      put({ ...labels, result: 'failure' }, c?.failure ?? 0);
    }),
  });
  new Gauge({
    name: 'directord_backend_check_consecutive_failures', help: 'Failed checks in a row for the real server (0 after a success; raw results, before rise/fall).',
    labelNames: BACKEND_LABELS, registers: [registry],
    collect: perServer((put, labels, _h, c) => put(labels, c?.consecutiveFailures ?? 0)),
  });
  new Gauge({
    name: 'directord_backend_check_duration_seconds', help: 'Duration of the last check of the real server (0 before the first).',
    labelNames: BACKEND_LABELS, registers: [registry],
    collect: perServer((put, labels, _h, c) => put(labels, c?.lastDurationSeconds ?? 0)),
  });
  // Absent rather than 0 before the first check: an alert on == 0 must not fire while a daemon starts.
  new Gauge({
    name: 'directord_backend_check_success', help: '1 if the last check of the real server succeeded, 0 if it failed; absent until its first check.',
    labelNames: BACKEND_LABELS, registers: [registry],
    collect: perServer((put, labels, _h, c) => {
      if (c?.lastOk !== undefined) put(labels, c.lastOk ? 1 : 0);
    }),
  });
  new Counter({
    name: 'directord_backend_transitions_total', help: 'Real-server health transitions, by direction (to = up or down).',
    labelNames: [...BACKEND_LABELS, 'to'], registers: [registry],
    collect: perServer((put, labels, h) => {
      for (const to of ['up', 'down']) put({ ...labels, to }, counters.transitions.get(`${h.virtual}\u0000${h.address}:${h.port}\u0000${to}`) ?? 0);
    }),
  });
}
