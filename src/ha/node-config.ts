// Pure helpers of HaNode: its identity and the heartbeat paths (from lvs.cf and test overrides), the state machine's
// and GARP's settings from lvs.cf, the key, and the operator-facing warnings it logs. No sockets, no state.
import type { GlobalConfig } from '../config/schema';
import type { HaRole } from './heartbeat-codec';
import type { HeartbeatPath } from './heartbeat-io';
import { loadHeartbeatKey } from './key';
import type { Logger } from '../log';
import { DirectordError } from '../errors';
import type { GarpSettings } from './vip-manager';

export interface NodeOverrides {
  role?: HaRole;
  self?: string;
  peer?: string;
  selfPrivate?: string;
  peerPrivate?: string;
}

/** The public path, and the private one when both private addresses are configured (pulse sends on both). */
export function heartbeatPaths(g: GlobalConfig, role: HaRole, self: string, peer: string, o: NodeOverrides): HeartbeatPath[] {
  const paths: HeartbeatPath[] = [{ local: self, peer }];
  const selfPriv = o.selfPrivate ?? (role === 'primary' ? g.primaryPrivate : g.backupPrivate);
  const peerPriv = o.peerPrivate ?? (role === 'primary' ? g.backupPrivate : g.primaryPrivate);
  if (selfPriv && peerPriv && selfPriv !== self) paths.push({ local: selfPriv, peer: peerPriv });
  return paths;
}


/** The key of heartbeat_key_file, or none with the loud warning (at start and on every reload). */
export function keyOrWarn(file: string | undefined, log: Logger): Buffer | undefined {
  const key = file ? loadHeartbeatKey(file) : undefined;
  if (!key) log.warn({ security: 'unauthenticated' }, UNAUTHENTICATED_WARNING);
  return key;
}

export const PULSE_PARTNER_WARNING =
  '!!! PARTNER SPEAKS PULSE (Piranha) HEARTBEATS: 4 unauthenticated bytes, anyone who can send UDP from its address can force a failover. Answering in pulse format until it runs directord. !!!';
export const UNAUTHENTICATED_WARNING =
  '!!! HEARTBEATS ARE NOT AUTHENTICATED: anyone who can send UDP to heartbeat_port can force a failover or a split brain. Set heartbeat_key_file. !!!';

/** pulse: we are the master iff an interface holds the primary address (overrides: tests and labs). */
export function identityOf(g: GlobalConfig, o: NodeOverrides, localAddresses: string[]): { role: HaRole; self: string; peer: string } {
  if (!g.primary) throw new DirectordError('E_HA_NO_PRIMARY', 'no primary address configured: HA needs `primary` (and `backup`)');
  let role = o.role;
  if (!role) {
    const local = new Set(localAddresses);
    if (local.has(g.primary)) role = 'primary';
    else if (g.backup && local.has(g.backup)) role = 'backup';
    else throw new DirectordError('E_HA_NOT_HERE', `neither primary ${g.primary} nor backup ${g.backup ?? '(unset)'} is an address of this host`);
  }
  return {
    role,
    self: o.self ?? (role === 'primary' ? g.primary : g.backup ?? ''),
    peer: o.peer ?? (role === 'primary' ? g.backup ?? '' : g.primary),
  };
}

/** pulse: "Undefined backup node marked as active? -- clearing that!" */
export function effectiveBackupActive(g: GlobalConfig, log: Logger): boolean {
  if (g.backupActive && !g.backup) {
    log.warn('Undefined backup node marked as active? -- clearing that!');
    return false;
  }
  return g.backupActive;
}

/** The state machine's parameters that a reload may change. */
export function machineTimings(g: GlobalConfig): { deadtimeMs: number; monitorLinks: boolean; failback: boolean; failbackHolddownMs: number } {
  return { deadtimeMs: g.deadtime * 1000, monitorLinks: g.monitorLinks, failback: g.failback, failbackHolddownMs: g.failbackHolddown * 1000 };
}

export function garpSettingsOf(g: GlobalConfig): GarpSettings {
  return { count: g.garpCount, intervalMs: g.garpInterval * 1000, refreshMs: g.garpRefresh * 1000 };
}

/** A reload that moves the heartbeat channel (addresses or port): the sockets are reopened. */
export function heartbeatMoved(a: GlobalConfig, b: GlobalConfig): boolean {
  return a.primary !== b.primary || a.backup !== b.backup || a.heartbeatPort !== b.heartbeatPort || a.primaryPrivate !== b.primaryPrivate || a.backupPrivate !== b.backupPrivate;
}
