// Claiming a UNIX socket path safely: refuse when another daemon answers on it, remove it only when it is stale.
// Node cannot read SO_PEERCRED, so access control is by file mode/group on two sockets (see docs/operations.md).
import { connect } from 'node:net';
import { chmodSync, chownSync, lstatSync, readFileSync, readdirSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { defaultOptions } from '../defaults';
import { DirectordError } from '../errors';
import { ControlErrorCode } from './protocol';

/** The named network namespace this process runs in (what `ip netns identify` prints), or undefined. */
export function currentNetnsName(netnsDir = '/run/netns', self = '/proc/self/ns/net'): string | undefined {
  let me: { ino: number; dev: number };
  let names: string[];
  try {
    me = statSync(self);
    names = readdirSync(netnsDir);
  } catch {
    return undefined;
  }
  for (const n of names) {
    try {
      const s = statSync(join(netnsDir, n));
      if (s.ino === me.ino && s.dev === me.dev) return n;
    } catch {
      /* removed meanwhile */
    }
  }
  return undefined;
}

/**
 * The default control socket. Two directors on one machine in named namespaces (a lab: `ip netns exec lb1 …`,
 * `ip netns exec lb2 …`) share /run, so each gets /run/directord/netns/NAME/directord.sock; daemon and directorctl
 * run in the same namespace compute the same path. Outside a named namespace it is the plain default.
 */
export function defaultControlSocket(netns: string | undefined = currentNetnsName()): string {
  return netns ? `/run/directord/netns/${netns}/directord.sock` : defaultOptions.controlSocket;
}

/** The read-only socket sits next to the full one: directord.sock → directord.ro.sock. */
export function readOnlySocketPathFor(path: string): string {
  return path.replace(/\.sock$/, '') + '.ro.sock';
}

/** The record of the VIPs this daemon may hold (for --cleanup) sits next to the socket: directord.sock → directord.vips. */
export function vipStateFileFor(path: string): string {
  return path.replace(/\.sock$/, '') + '.vips';
}

export type ProbeResult = 'absent' | 'stale' | 'alive';

/** Does something answer on this socket path? A connect that is accepted means a live daemon. */
export function probeSocket(path: string, timeoutMs = 1000): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const s = connect({ path });
    const timer = setTimeout(() => {
      s.destroy();
      resolve('alive'); // a hung daemon still owns the path; never pull it from under it
    }, timeoutMs);
    s.once('connect', () => {
      clearTimeout(timer);
      s.destroy();
      resolve('alive');
    });
    s.once('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (e.code === 'ENOENT') resolve('absent');
      else if (e.code === 'ECONNREFUSED') resolve('stale');
      else resolve('alive'); // EACCES etc.: cannot tell, so do not touch it
    });
  });
}

/** Make the path free for listen(): E_CTL_ALREADY_RUNNING if a daemon answers, E_CTL_SOCKET_PATH if it is not a socket. */
export async function claimSocketPath(path: string): Promise<void> {
  let isSocket: boolean;
  try {
    isSocket = lstatSync(path).isSocket();
  } catch {
    return;
  }
  if (!isSocket) {
    throw new DirectordError(ControlErrorCode.SocketPath, `${path} exists and is not a socket; refusing to remove it`, { details: { path } });
  }
  const r = await probeSocket(path);
  if (r === 'alive') {
    throw new DirectordError(ControlErrorCode.AlreadyRunning, `another directord answers on ${path}; refusing to start (stop it first, or use --socket)`, {
      details: { path },
    });
  }
  if (r === 'stale') {
    try {
      unlinkSync(path);
    } catch {
      /* removed meanwhile */
    }
  }
}

/** The gid of a group from /etc/group, or undefined when it does not exist (no getgrnam in Node). */
export function lookupGroupId(name: string, groupFile = '/etc/group'): number | undefined {
  let text: string;
  try {
    text = readFileSync(groupFile, 'utf8');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f[0] === name && f.length >= 3 && /^\d+$/.test(f[2])) return Number(f[2]);
  }
  return undefined;
}

/** chmod the socket and, when the group exists and we may, chgrp it; returns the gid applied (if any). */
export function applySocketPermissions(path: string, mode: number, group?: string): number | undefined {
  chmodSync(path, mode);
  if (!group) return undefined;
  const gid = lookupGroupId(group);
  if (gid === undefined) return undefined;
  try {
    chownSync(path, -1, gid);
    return gid;
  } catch {
    return undefined;
  }
}
