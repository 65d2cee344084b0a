// The HA node's public shapes: what the daemon hands it (options, hooks) and what it reports (status, projected
// here from its parts by a pure function).
import type { LvsConfig } from '../config/schema';
import type { DataPlane } from '../dataplane/types';
import type { Logger } from '../log';
import type { InjectorFactory } from './garp-sender';
import type { HaRole, HaPeerState, HeartbeatRejectReason } from './heartbeat-codec';
import type { NodeOverrides } from './node-config';
import type { SyncStatus, WriterSync } from './sync-io';
import type { HeartbeatLink } from './heartbeat-io';
import type { HaStateMachine } from './state-machine';

/** The daemon starts/stops forwarding here; HaNode does the VIP and GARP itself. */
export interface HaHooks {
  onActivate(): Promise<void>;
  onDeactivate(): Promise<void>;
  /** Whether every real server has had its first health check (absent: none to wait for); see SyncFetchGate. */
  checksSettled?: () => boolean;
}

export interface HaNodeOptions {
  config: LvsConfig;
  logger: Logger;
  hooks: HaHooks;
  /** Needed for connection sync (syncdaemon = 1). */
  dataplane?: DataPlane;
  /** Tests/labs: skip the "which configured address is mine" discovery. */
  node?: NodeOverrides;
  /** Tests: replace the pcap injector. */
  injector?: InjectorFactory;
  /** Where the VIPs this node may hold are recorded for `directord --cleanup` (VipManagerOptions.stateFile). */
  vipStateFile?: string;
  /** Writer mode's decisions on the sync channel (needs syncdaemon = 1): sent while active, adopted while not. */
  writers?: WriterSync;
}

export interface HaStatus {
  role: HaRole;
  state: 'active' | 'standby' | 'fault';
  stopped: boolean;
  term: number;
  authenticated: boolean;
  peer: { address: string; state: HaPeerState | 'unknown'; lastHeartbeatAgeMs: number | null; alive: boolean; protocol: 'unknown' | 'pulse' | 'directord' };
  /** Times the partner was found speaking pulse's unauthenticated heartbeat; pulse packets ignored after the switch. */
  pulse: { sessions: number; ignored: number };
  failovers: number;
  splitBrains: number;
  heartbeatsSent: number;
  heartbeatsReceived: number;
  heartbeatsRejected: Partial<Record<HeartbeatRejectReason, number>>;
  /** Heartbeats of a new peer boot before it echoed ours (once per restart of either node; many = replays). */
  heartbeatsUnproven: number;
  vipHeld: string[];
  garpsSent: number;
  linkFail: boolean;
  childFail: boolean;
  sync?: SyncStatus;
}

export function haStatusOf(p: {
  role: HaRole; peerAddress: string; authenticated: boolean; machine?: HaStateMachine; link?: HeartbeatLink;
  vipHeld: string[]; garpsSent: number; sync?: SyncStatus; nowMs: number;
}): HaStatus {
  const m = p.machine;
  const link = p.link;
  const last = m?.peer.lastHeartbeatMs;
  const own = m?.ownState() ?? 'standby';
  return {
    role: p.role,
    state: own === 'active' ? 'active' : own === 'fault' ? 'fault' : 'standby',
    stopped: own === 'stopped',
    term: m?.term ?? 0,
    authenticated: p.authenticated,
    peer: {
      address: p.peerAddress,
      state: m?.peer.state ?? 'unknown',
      lastHeartbeatAgeMs: last === undefined ? null : Math.round(p.nowMs - last),
      alive: m?.peer.alive ?? false,
      protocol: link?.protocol.mode ?? 'unknown',
    },
    pulse: { sessions: link?.protocol.pulseSessions ?? 0, ignored: link?.protocol.pulseIgnored ?? 0 },
    failovers: m?.failovers ?? 0,
    splitBrains: m?.splitBrains ?? 0,
    heartbeatsSent: link?.sent ?? 0,
    heartbeatsReceived: link?.received ?? 0,
    heartbeatsRejected: { ...(link?.rejected ?? {}) },
    heartbeatsUnproven: link?.unproven ?? 0,
    vipHeld: p.vipHeld,
    garpsSent: p.garpsSent,
    linkFail: m?.linkFail ?? false,
    childFail: m?.childFail ?? false,
    sync: p.sync,
  };
}
