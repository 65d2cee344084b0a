// Reload preflight: a heartbeat or sync port the new configuration moves to is bound once on this host's own
// configured addresses, before anything changes, so a taken or privileged port refuses the reload instead of
// tearing down the running heartbeat channel. Only the running host can tell; `--check-config` cannot.
import { networkInterfaces } from 'node:os';
import type { LvsConfig } from '../config/schema';
import { locationOf } from '../config/locations';
import { DirectordError } from '../errors';
import { bindUdp } from '../ha/heartbeat-io';

type PortKey = 'heartbeat_port' | 'sync_port';

function localIpv4(): Set<string> {
  const out = new Set<string>();
  for (const list of Object.values(networkInterfaces())) for (const i of list ?? []) if (i.family === 'IPv4') out.add(i.address);
  return out;
}

/** (address, port) pairs a configuration binds here: heartbeats (and sync) only run with backup_active = 1. */
export function haBindings(cfg: LvsConfig, local: Set<string>): { key: PortKey; address: string; port: number }[] {
  const g = cfg.global;
  if (!g.backupActive) return [];
  const addrs = [g.primary, g.backup, g.primaryPrivate, g.backupPrivate].filter((a): a is string => !!a && local.has(a));
  const out = [...new Set(addrs)].map((address) => ({ key: 'heartbeat_port' as PortKey, address, port: g.heartbeatPort }));
  const self = [g.primary, g.backup].find((a) => a && local.has(a));
  if (g.syncdaemon && self) out.push({ key: 'sync_port', address: self, port: g.syncPort });
  return out;
}

/** Throws E_CONFIG_PORT_UNAVAILABLE (at the key's file:line) for the first new binding that cannot be made. */
export async function probeHaPorts(before: LvsConfig, after: LvsConfig, local: Set<string> = localIpv4()): Promise<void> {
  const held = new Set(haBindings(before, local).map((b) => `${b.address}:${b.port}`));
  for (const b of haBindings(after, local)) {
    if (held.has(`${b.address}:${b.port}`)) continue; // ours already
    let sock;
    try {
      sock = await bindUdp(b.address, b.port, () => undefined);
    } catch (e) {
      const loc = locationOf(after.global, b.key) ?? { line: 1, column: 1 };
      const why = (e as { cause?: NodeJS.ErrnoException }).cause?.code ?? (e as Error).message;
      throw new DirectordError('E_CONFIG_PORT_UNAVAILABLE', `${b.key} ${b.port} cannot be bound on ${b.address}: ${why}${why === 'EACCES' ? ' (a privileged port needs CAP_NET_BIND_SERVICE)' : ''}`, {
        cause: e, location: { file: after.file, ...loc }, details: { key: b.key, address: b.address, port: b.port },
      });
    }
    sock.close();
  }
}
