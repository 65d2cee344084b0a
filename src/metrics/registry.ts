// The Prometheus registry: every value is read from live state in collect() at scrape time, so /metrics cannot
// drift from what directorctl shows. Names follow node_exporter's ipvs collector, with the directord_ prefix.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { StatusSnapshot } from '../control/types';
import type { DataPlaneStats } from '../dataplane/types';
import { CHECK_DURATION_BUCKETS, type DirectorCounters } from '../director/counters';
import type { CheckObservation, HaStatusView } from '../director/subsystems';
import { CHECK_FAILURE_REASONS } from '../health/reasons';
import { buildInfo } from '../util/version';
import { registerCheckMetrics } from './checks';
import { registerHaMetrics } from './ha';
import { BACKEND_LABELS, backendLabels, eachServer } from './labels';

/** What the metrics need from the daemon (src/director.ts implements it). */
export interface MetricsSource {
  status(opts: { connections: boolean; connectionLimit: number }): StatusSnapshot;
  readonly counters: DirectorCounters;
  haStatus(): HaStatusView | undefined;
  dataplaneStats(): DataPlaneStats;
  /** Check results as they finish (the histogram is the one metric that must see each observation). */
  onCheckObserved?(fn: (o: CheckObservation) => void): void;
}

export function createMetricsRegistry(src: MetricsSource, opts: { processMetrics?: boolean } = {}): Registry {
  const registry = new Registry();
  if (opts.processMetrics !== false) {
    // Unprefixed, as every prom-client (and Go client) exporter names them: process_cpu_seconds_total, nodejs_*.
    collectDefaultMetrics({ register: registry });
    // These gauges end in _total, which the exposition linter (promtool check metrics) rejects for non-counters.
    for (const n of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) registry.removeSingleMetric(n);
  }

  // As Prometheus' own *_build_info: constant 1, the facts in labels (version skew between lb1 and lb2 shows).
  const build = buildInfo();
  new Gauge({ name: 'directord_build_info', help: 'directord version and the Node.js running it; always 1.', labelNames: ['version', 'nodejs'], registers: [registry] }).set({ version: build.version, nodejs: build.nodejs }, 1);

  // Each collector reads the live state itself: no cache that could serve a previous scrape's numbers.
  const snapshot = (): StatusSnapshot => src.status({ connections: false, connectionLimit: 0 });
  const eachDest = (fn: (labels: Record<(typeof BACKEND_LABELS)[number], string>, d: StatusSnapshot['services'][number]['dests'][number], s: StatusSnapshot['services'][number]) => void): void => {
    for (const s of snapshot().services) for (const d of s.dests) fn(backendLabels(s, d.address, d.port), d, s);
  };
  const backendGauge = (name: string, help: string, value: (d: StatusSnapshot['services'][number]['dests'][number], s: StatusSnapshot['services'][number]) => number): void => {
    new Gauge({
      name, help, labelNames: BACKEND_LABELS, registers: [registry],
      collect() {
        this.reset();
        eachDest((labels, d, s) => this.set(labels, value(d, s)));
      },
    });
  };
  backendGauge('directord_backend_connections_active', 'Active (ESTABLISHED) connections per real server, as ipvsadm ActiveConn.', (d) => d.activeConns);
  backendGauge('directord_backend_connections_inactive', 'Inactive connections per real server, as ipvsadm InActConn.', (d) => d.inactConns);
  backendGauge('directord_backend_weight', 'Effective weight of the real server in the table (0 = quiesced or drained).', (d) => d.weight);
  const healthGauge = (name: string, help: string, extra: readonly string[], set: (g: Gauge<string>, labels: Record<string, string>, state: string) => void): void => {
    new Gauge({
      name, help, labelNames: [...BACKEND_LABELS, ...extra], registers: [registry],
      collect() {
        this.reset();
        eachServer(snapshot(), (labels, h) => set(this, labels, h.state));
      },
    });
  };
  healthGauge('directord_backend_up', 'Health of the real server: 1 up, 0 down, quiesced or draining (down servers are listed too).', [], (g, labels, state) =>
    g.set(labels, state === 'up' || state === 'unchecked' ? 1 : 0),
  );
  healthGauge('directord_backend_state', 'Health state of the real server as a label (value always 1).', ['state'], (g, labels, state) => g.set({ ...labels, state }, 1));

  const totalCounter = (name: string, help: string, value: (st: DataPlaneStats) => number): void => {
    new Counter({
      name, help, registers: [registry],
      collect() {
        this.reset();
        this.inc(value(src.dataplaneStats()));
      },
    });
  };
  // Every cause at 0 from the first scrape (util/loop-stall.ts; docs/troubleshooting.md).
  new Counter({
    name: 'directord_event_loop_stalls_total', help: 'Times the daemon\'s JavaScript event loop could not run for longer than half the keepalive (floor 0.1 s, cap 1 s), by cause: busy (its own work), starved (waiting for a CPU), blocked (a blocking call), unknown; each is logged with its length.',
    labelNames: ['cause'], registers: [registry],
    collect() {
      this.reset();
      for (const [cause, n] of Object.entries(src.counters.loopStalls.byCause)) this.inc({ cause }, n);
    },
  });
  new Counter({
    name: 'directord_event_loop_stall_seconds_total', help: 'Summed length of the event-loop stalls counted by directord_event_loop_stalls_total.', registers: [registry],
    collect() {
      this.reset();
      this.inc(src.counters.loopStalls.ms / 1000);
    },
  });
  totalCounter('directord_connections_total', 'Connections scheduled by the data plane since start.', (st) => st.services.reduce((a, s) => a + s.conns, 0));
  totalCounter('directord_incoming_packets_total', 'Packets received for virtual services.', (st) => st.services.reduce((a, s) => a + s.inPkts, 0));
  totalCounter('directord_incoming_bytes_total', 'Bytes received for virtual services.', (st) => st.services.reduce((a, s) => a + s.inBytes, 0));
  totalCounter('directord_dataplane_loop_wakeups_total', 'Times a packet thread found its ring empty and slept (each costs the kernel a wake-up; see --busy-poll-us).', (st) => st.loopWakeups ?? 0);
  totalCounter('directord_conn_evictions_total', 'Embryonic connections (never ESTABLISHED) evicted to admit a new one while the connection table was full.', (st) => st.evictions ?? 0);
  totalCounter('directord_icmp_relayed_total', 'ICMP errors about a VIP flow relayed to the real server that owns the flow (path MTU, unreachable, time exceeded).', (st) => st.icmpRelayed ?? 0);
  totalCounter('directord_icmp_unreachable_sent_total', 'ICMP port unreachables answered to new flows of a service with no available real server.', (st) => st.icmpUnreachSent ?? 0);
  totalCounter('directord_icmp_unreachable_limited_total', 'Port unreachables the rate limit held back (1000/s, burst 50).', (st) => st.icmpUnreachLimited ?? 0);
  totalCounter('directord_dataplane_lock_contended_total', 'Table-lock acquisitions (packet-thread batches, control calls) that waited for another thread.', (st) => st.lockContended ?? 0);
  totalCounter('directord_dataplane_lock_wait_seconds_total', 'Time spent waiting for the table lock, all threads (wall time).', (st) => (st.lockWaitNs ?? 0) / 1e9);
  totalCounter('directord_fragments_forwarded_total', 'Later IP fragments forwarded to the real server of their first fragment.', (st) => st.fragments ?? 0);
  new Counter({
    name: 'directord_dataplane_drops_total', help: 'Frames the data plane dropped or passed, by reason.', labelNames: ['reason'], registers: [registry],
    collect() {
      this.reset();
      for (const [reason, n] of Object.entries(src.dataplaneStats().drops)) this.inc({ reason }, n);
    },
  });

  // Health checks.
  const hist = new Histogram({ name: 'directord_check_duration_seconds', help: 'Duration of health checks.', buckets: CHECK_DURATION_BUCKETS, registers: [registry] });
  src.onCheckObserved?.((o) => hist.observe(o.durationSeconds));
  new Counter({
    name: 'directord_check_failures_total', help: 'Failed health checks, by reason.', labelNames: ['reason'], registers: [registry],
    collect() {
      this.reset();
      for (const reason of CHECK_FAILURE_REASONS) this.inc({ reason }, 0); // every reason a series from the start
      for (const [reason, n] of src.counters.checkFailures) this.inc({ reason }, n);
    },
  });
  registerCheckMetrics(registry, snapshot, src.counters);

  // HA (directord_ha_state, _active, _info, the partner's heartbeat age, rejected heartbeats by reason).
  registerHaMetrics(registry, snapshot, () => src.haStatus());
  // Scale-out mode (absent otherwise): the director drain and each sync peer.
  new Gauge({
    name: 'directord_scaleout_drain', help: 'Scale-out: 1 in the drain phase of the label (serving, draining, drained).', labelNames: ['phase'], registers: [registry],
    collect() {
      this.reset();
      const d = snapshot().ha.scaleOut?.drain;
      if (d) for (const phase of ['serving', 'draining', 'drained']) this.set({ phase }, d.phase === phase ? 1 : 0);
    },
  });
  new Gauge({
    name: 'directord_scaleout_packet_rate', help: 'Scale-out: packets per second this director forwarded over the last drain sample (what still arrives).', registers: [registry],
    collect() {
      this.reset();
      const d = snapshot().ha.scaleOut?.drain;
      if (d) this.set(d.packetRate);
    },
  });
  new Gauge({
    name: 'directord_scaleout_peer_synced', help: 'Scale-out: 1 when the peer\'s connection table was fetched (or its transfer gave up), by peer.', labelNames: ['peer'], registers: [registry],
    collect() {
      this.reset();
      for (const p of snapshot().ha.scaleOut?.sync?.peers ?? []) this.set({ peer: p.address }, p.synced ? 1 : 0);
    },
  });
  new Counter({
    name: 'directord_heartbeats_received_total', help: 'Valid heartbeats received from the peer.', registers: [registry],
    collect() {
      this.reset();
      this.inc(src.haStatus()?.heartbeatsReceived ?? 0);
    },
  });
  new Counter({
    name: 'directord_failovers_total', help: 'Times this node changed between active and standby.', registers: [registry],
    collect() {
      this.reset();
      this.inc(src.haStatus()?.failovers ?? 0);
    },
  });

  // BGP scale-out (absent without bgp_peer: no series at all).
  new Gauge({
    name: 'directord_bgp_session_up', help: 'BGP session to the router is Established (1) or not (0), per peer.', labelNames: ['peer'], registers: [registry],
    collect() {
      this.reset();
      for (const p of snapshot().bgp?.peers ?? []) this.set({ peer: p.peer }, p.established ? 1 : 0);
    },
  });
  new Gauge({
    name: 'directord_bgp_vip_announced', help: 'The VIP is announced to the router(s) (1) or withdrawn (0).', labelNames: ['vip'], registers: [registry],
    collect() {
      this.reset();
      for (const v of snapshot().bgp?.vips ?? []) this.set({ vip: v.vip }, v.announced ? 1 : 0);
    },
  });

  // Writer mode.
  const writerGauge = (name: string, help: string, value: (w: NonNullable<StatusSnapshot['writers']>[number], s: NonNullable<StatusSnapshot['writers']>[number]['servers'][number]) => number): void => {
    new Gauge({
      name, help, labelNames: ['virtual', 'server'], registers: [registry],
      collect() {
        this.reset();
        for (const w of snapshot().writers ?? []) for (const s of w.servers) this.set({ virtual: w.virtual, server: s.name }, value(w, s));
      },
    });
  };
  writerGauge('directord_writer', 'Writer mode: 1 for the real server that takes new connections, 0 for the others.', (w, s) => (s.name === w.writerName && s.role === 'writer' ? 1 : 0));
  writerGauge('directord_writer_writable_standby', 'Writer mode: 1 when a server that is not the writer has read_only = 0.', (_w, s) => (s.writable ? 1 : 0));
  new Counter({
    name: 'directord_writer_switches_total', help: 'Writer mode: changes of writer (the first choice is not counted).', labelNames: ['virtual'], registers: [registry],
    collect() {
      this.reset();
      for (const w of snapshot().writers ?? []) this.inc({ virtual: w.virtual }, w.switches);
    },
  });

  new Gauge({
    name: 'directord_writer_following', help: 'Writer mode: 1 while this director follows the active director\'s synced decision (it is not active).', labelNames: ['virtual'], registers: [registry],
    collect() {
      this.reset();
      for (const w of snapshot().writers ?? []) this.set({ virtual: w.virtual }, w.following ? 1 : 0);
    },
  });

  // Reloads.
  new Counter({
    name: 'directord_reloads_total', help: 'Configuration reloads, by result.', labelNames: ['result'], registers: [registry],
    collect() {
      this.reset();
      this.inc({ result: 'success' }, src.counters.reloads.success);
      this.inc({ result: 'failure' }, src.counters.reloads.failure);
    },
  });
  new Counter({
    name: 'directord_reload_failures_total', help: 'Configuration reloads that failed (running configuration kept).', registers: [registry],
    collect() {
      this.reset();
      this.inc(src.counters.reloads.failure);
    },
  });
  new Gauge({
    name: 'directord_config_last_reload_successful', help: '1 if the last reload succeeded (or none happened), 0 if it failed.', registers: [registry],
    collect() {
      this.set(src.counters.lastResult === 'failure' ? 0 : 1);
    },
  });
  new Gauge({
    name: 'directord_config_last_reload_success_timestamp_seconds', help: 'When the running configuration was loaded (Unix time).', registers: [registry],
    collect() {
      this.set(src.counters.lastSuccessEpochSeconds);
    },
  });
  return registry;
}
