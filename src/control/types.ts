// The shapes the daemon answers with: one snapshot of live state that status, the CLI renderers and metrics all read,
// so what directorctl prints and what Prometheus scrapes cannot disagree.
import type { ScaleOutView } from '../ha/scale-out';
import type { Protocol, SchedulerName } from '../config/schema';
import type { ConnEntry } from '../table/types';

export type HealthState = 'up' | 'down' | 'quiesced' | 'unchecked' | 'draining';

/** ipvsadm's --stats and --rate columns (the Out* ones are always 0 in DR, so they are not carried). */
export interface TrafficView {
  conns: number;
  inPkts: number;
  inBytes: number;
  cps: number;
  inpps: number;
  inbps: number;
}

export interface DestView extends TrafficView {
  /** The lvs.cf server name, or the address when it is being drained after removal from the config. */
  server: string;
  address: string;
  port: number;
  forward: 'Route';
  weight: number;
  activeConns: number;
  inactConns: number;
}

export interface ServiceView extends TrafficView {
  virtual: string;
  protocol: Protocol;
  vip: string;
  port: number;
  fwmark: number;
  scheduler: SchedulerName;
  persistent: number;
  pmask: string;
  /** Kernel list order (head = newest); renderers sort as ipvsadm does. */
  dests: DestView[];
}

export type OverrideKind = 'drain' | 'weight';

export interface ServerHealthView {
  virtual: string;
  server: string;
  address: string;
  port: number;
  state: HealthState;
  inTable: boolean;
  configuredWeight: number;
  /** Weight from health (slow start, quiesce) before any runtime override. */
  healthWeight: number;
  effectiveWeight: number;
  override?: { kind: OverrideKind; weight: number; since: string };
  lastCheck?: string;
  reason?: string;
  /** Why the data plane cannot use this server even though it is in the table (e.g. "no MAC address (failed)"). */
  unavailable?: string;
}

export interface HaView {
  /** Whether an HA node is wired at all; when false, this director is standalone and always forwards. */
  enabled: boolean;
  role: string;
  state: string;
  peer?: { address: string; state: string };
  lastHeartbeatAgeMs?: number;
  forwarding: boolean;
  /** Connection sync (syncdaemon = 1): whether the table holds the peer's; failback and takeover wait for it. */
  sync?: { synced: boolean; phase: string; entriesReceived: number; total: number | null };
  /** Scale-out mode (scale_out = 1): peers, per-peer sync, and the director drain (remaining traffic). */
  scaleOut?: ScaleOutView & { peersSynced: number };
}

export interface ReloadView {
  count: number;
  failures: number;
  lastResult: 'success' | 'failure' | 'none';
  lastAt?: string;
  lastSuccessAt?: string;
  lastError?: { code: string; message: string };
}

export interface StatusSnapshot {
  configFile: string;
  startedAt: string;
  dataplane: string;
  /** Subsystems actually wired into this daemon (others are shown as absent, never faked). */
  subsystems: Record<'config' | 'dataplane' | 'health' | 'ha' | 'scheduler', boolean>;
  services: ServiceView[];
  health: ServerHealthView[];
  ha: HaView;
  reload: ReloadView;
  /** Writer mode, per writer-mode virtual: who takes new connections, since when, and why. */
  writers?: WriterStatusView[];
  connections?: ConnEntry[];
  /** Scale-out behind BGP (bgp_peer set): sessions and what is announced. */
  bgp?: BgpView;
}

export interface BgpView {
  /** The speaker behind the Announcer seam (src/bgp/announcer.ts): 'bird'. */
  speaker: string;
  reachable: boolean;
  error?: string;
  /** The last push to the speaker failed (E_BGP_*); retried every tick. */
  applyError?: { code: string; message: string };
  draining: boolean;
  peers: { peer: string; protocol: string; state: string; established: boolean; since?: string; exported?: number; lastError?: string; bfd?: string }[];
  /** announced = the speaker holds it for export and a session is established; wanted = directord's decision. */
  vips: { vip: string; wanted: boolean; announced: boolean; reason: string }[];
}

export interface WriterStatusView {
  virtual: string;
  writer: string | null;
  writerName: string | null;
  sinceIso: string | null;
  reason: string;
  switches: number;
  servers: { name: string; role: 'writer' | 'standby' | 'out'; why: string; lag: number | null; writable: boolean }[];
  /** 'self', or the node id of the director whose decision this one follows (synced) or kept at a takeover. */
  decidedBy?: string;
  /** Not active: the writer is the active director's, synced; nothing is decided here. */
  following?: boolean;
  syncedAgoMs?: number;
}

/** One virtual service's answer to `where` (docs/operations.md, "where"). */
export interface WhereAnswer {
  virtual: string;
  vip: string;
  port: number;
  protocol: string;
  /** null: no real server would take the connection (all down, weight 0, or unusable). */
  destination: { address: string; port: number; server?: string } | null;
  /** What decided: an existing connection, a persistence template, or the scheduler (a new connection now). */
  decidedBy: 'connection' | 'template' | 'scheduler';
  reason: string;
}

/** `where`'s result, the same shape live (source "daemon") and offline (source "config", where --config FILE). */
export interface WhereResult {
  client: string;
  clientPort?: number;
  source: 'daemon' | 'config';
  answers: WhereAnswer[];
}

export interface ReloadAnswer {
  result: 'success' | 'failure';
  changes: string[];
  error?: { code: string; message: string };
}
