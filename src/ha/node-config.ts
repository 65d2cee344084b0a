// Pure helpers of HaNode: which addresses the heartbeat paths use (from lvs.cf and test overrides), the key, and
// the operator-facing warnings it logs. No sockets, no state.
import type { GlobalConfig } from '../config/schema';
import type { HaRole } from './heartbeat-codec';
import type { HeartbeatPath } from './heartbeat-io';
import { loadHeartbeatKey } from './key';
import type { Logger } from '../log';

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
