// The small interfaces the director needs from config, health, HA and the scheduler's simulator. main.ts adapts
// each subsystem's index.ts to these; a subsystem that is not there is simply absent (and status says so).
import type { LvsConfig } from '../config/schema';
import type { ServiceCounters, ServiceSpec } from '../table/types';
import type { HealthChange } from './pool';
import type { MysqlObservation } from '../health/mysql-positions';
import type { CheckReason } from '../health/reasons';
import type { WriterSync } from '../ha/sync-io';
import type { ScaleOutNode, ScaleOutView } from '../ha/scale-out';

export interface ConfigSubsystem {
  /** Parse and validate; throws a DirectordError (or DirectordErrors) and never returns a half-valid config. */
  load(file: string): LvsConfig;
  /** Optional: the config subsystem's diff, so HA and timeouts are touched only when they changed. */
  diff?(before: LvsConfig, after: LvsConfig): ConfigChangeSummary;
}

export interface ConfigChangeSummary {
  empty: boolean;
  haChanged: boolean;
  timeoutsChanged: boolean;
  lines: string[];
}

export interface CheckObservation {
  virtual: string;
  server: string;
  durationSeconds: number;
  ok: boolean;
  reason?: CheckReason;
  /** Writer mode's input from the MySQL check (absent when the probe failed or the mode is off). */
  mysql?: MysqlObservation;
}

export interface HealthSubsystem {
  configure(cfg: LvsConfig): void;
  start(): void | Promise<void>;
  stop(): void | Promise<void>;
  onChange(fn: (c: HealthChange) => void): void;
  /** Optional: every finished check, for the duration histogram and failure counters. */
  onCheck?(fn: (o: CheckObservation) => void): void;
  /** Writer mode's fencing: SET GLOBAL read_only on one server with the MySQL check's credentials. */
  setReadOnly?(virtual: string, address: string, port: number, readOnly: boolean): Promise<void>;
}

export interface HaStatusView {
  role: string;
  state: string;
  peer?: { address: string; state: string };
  lastHeartbeatAgeMs?: number;
  heartbeatsReceived: number;
  heartbeatsRejected: Record<string, number>;
  failovers: number;
  /** 1 when this node holds the VIPs. */
  active: boolean;
  sync?: { synced: boolean; phase: string; entriesReceived: number; total: number | null };
  /** Scale-out mode (scale_out = 1): peers, per-peer sync and the director drain. */
  scaleOut?: ScaleOutView & { peersSynced: number };
}

export interface HaHooks {
  onActivate(): void | Promise<void>;
  onDeactivate(): void | Promise<void>;
  /** Writer mode's decisions on the sync channel: the active sends, a standby adopts (docs/writer.md). */
  writers?: WriterSync;
  /** Whether every real server has had its first health check: a standby fetches the peer's table only then. */
  checksSettled?: () => boolean;
}

export interface HaSubsystem {
  start(): void | Promise<void>;
  /** Gives up the VIPs and tells the peer. */
  stop(): void | Promise<void>;
  reconfigure(cfg: LvsConfig): void | Promise<void>;
  /** Before a reload changes anything: throws (E_CONFIG_PORT_UNAVAILABLE) when what only this host can tell
   * makes `after` unappliable, e.g. a changed heartbeat or sync port that is taken or privileged. */
  preflight?(before: LvsConfig, after: LvsConfig): Promise<void>;
  /** Refused while the connection table is still being fetched from a live peer, unless forced. */
  takeover(opts?: { force?: boolean }): unknown | Promise<unknown>;
  release(): unknown | Promise<unknown>;
  status(): HaStatusView;
  /** The data plane's policy table was replaced, or the first checks all reported (a table fetch may go or be redone). */
  tableChanged?(services: readonly ServiceSpec[]): void;
  /** pulse's CHILDFAIL: this node cannot serve (its data plane failed); the peer takes over. */
  reportFailure?(kind: 'dataplane' | 'checker', detail: string): void;
  /** Scale-out mode: withdraw the routes, keep forwarding, report when drained (src/ha/drain.ts). */
  drainDirector?(opts: { deadlineS?: number }): unknown;
  undrainDirector?(): unknown;
  /** Scale-out mode: the node, for a route announcer to listen to ('drained', 'announce', 'withdraw'). */
  scaleOutNode?: ScaleOutNode;
}

export type HaFactory = (cfg: LvsConfig, hooks: HaHooks) => HaSubsystem;

export interface WhereQuery {
  /** The live policy table, with virtual and server names for the explanation. */
  services: (ServiceSpec & { name?: string; dests: (ServiceSpec['dests'][number] & { name?: string })[] })[];
  /** Live counters: wlc/lc answer with the real Active/InAct numbers. */
  live: ServiceCounters[];
  client: string;
  clientPort?: number;
}

export interface WhereResult {
  vip: string;
  port: number;
  protocol: string;
  destination?: { address: string; port: number };
  reason: string;
}

/** The scheduler's simulator over the live policy table. */
export type WhereFunction = (q: WhereQuery) => WhereResult[];
