// What a reload changes: virtuals by identity (proto:VIP:port or fwmark), servers by (address, port), and whether
// each kept server's health check changed, so unchanged checkers keep their up/down state (as keepalived does).
// Only active virtuals and active servers count: an inactive one is not in the table and has no checker.
import type { GlobalConfig, LvsConfig, RealServerConfig, VirtualServiceConfig } from './schema';
import { serviceIdentity } from './validate';

export interface ServerChange {
  key: string;
  before: RealServerConfig;
  after: RealServerConfig;
  /** Changed schema fields of the server itself (e.g. weight, name). */
  fields: string[];
  /** The probe differs (what is sent, expected, timeouts, check kind, credentials): the checker restarts. */
  checkChanged: boolean;
  /** Only the judging policy differs (rise, fall, interval, jitter, quiesce, slow start, weight): applied in place. */
  policyChanged: boolean;
}

export interface ServersDiff {
  added: RealServerConfig[];
  removed: RealServerConfig[];
  changed: ServerChange[];
  unchanged: RealServerConfig[];
}

export interface VirtualChange {
  key: string;
  before: VirtualServiceConfig;
  after: VirtualServiceConfig;
  /** Changed virtual-level fields (servers excluded). */
  fields: string[];
  servers: ServersDiff;
}

export interface GlobalDiff {
  fields: string[];
  /** Heartbeat, peers, failover, GARP or sync settings changed: the HA subsystem must re-read them. */
  haChanged: boolean;
  /** tcp_timeout / tcpfin_timeout / udp_timeout changed: the data plane's timeouts must be set again. */
  timeoutsChanged: boolean;
}

export interface ConfigDiff {
  global: GlobalDiff;
  added: VirtualServiceConfig[];
  removed: VirtualServiceConfig[];
  changed: VirtualChange[];
  unchanged: VirtualServiceConfig[];
  /** True when nothing at all differs. */
  empty: boolean;
}

const HA_FIELDS: ReadonlyArray<keyof GlobalConfig> = [
  'primary', 'primaryPrivate', 'backup', 'backupPrivate', 'backupActive', 'heartbeatPort', 'keepalive', 'deadtime',
  'monitorLinks', 'syncdaemon', 'syncdIface', 'syncdId', 'heartbeatKeyFile', 'failback', 'failbackHolddown', 'garpCount',
  'garpInterval', 'garpRefresh', 'syncPort', 'scaleOut', 'syncPeers', 'activeCmd', 'inactiveCmd', 'hardShutdown',
];
const TIMEOUT_FIELDS: ReadonlyArray<keyof GlobalConfig> = ['tcpTimeout', 'tcpfinTimeout', 'udpTimeout'];

/** Virtual-level fields that change what a probe does. */
const PROBE_FIELDS: ReadonlyArray<keyof VirtualServiceConfig> = ['check', 'timeout', 'send', 'expect', 'useRegex', 'sendProgram', 'sendProgramNeedsExpect', 'mysql', 'protocol', 'writer'];
/** Virtual-level fields that change only how results are judged or paced. */
const POLICY_FIELDS: ReadonlyArray<keyof VirtualServiceConfig> = ['reentry', 'interval', 'rise', 'fall', 'jitter', 'quiesceServer', 'slowStart'];

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function changedFields<T extends object>(a: T, b: T, skip: ReadonlyArray<string>): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  const out: string[] = [];
  for (const k of keys) {
    if (skip.includes(k)) continue;
    if (!same((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) out.push(k);
  }
  return out.sort();
}

function byKey<T>(items: T[], key: (t: T) => string): Map<string, T> {
  const m = new Map<string, T>();
  for (const it of items) if (!m.has(key(it))) m.set(key(it), it);
  return m;
}

const serverKey = (s: RealServerConfig) => `${s.address}:${s.port}`;

function diffServers(before: VirtualServiceConfig, after: VirtualServiceConfig): ServersDiff {
  const probeVirtual = PROBE_FIELDS.some((f) => !same(before[f], after[f]));
  const policyVirtual = POLICY_FIELDS.some((f) => !same(before[f], after[f]));
  const old = byKey(before.servers.filter((s) => s.active), serverKey);
  const neu = byKey(after.servers.filter((s) => s.active), serverKey);
  const out: ServersDiff = { added: [], removed: [], changed: [], unchanged: [] };
  for (const [k, s] of neu) {
    const o = old.get(k);
    if (!o) {
      out.added.push(s);
      continue;
    }
    const fields = changedFields(o, s, ['source']);
    const checkChanged = probeVirtual || fields.some((f) => f === 'mysqlUser' || f === 'mysqlPassword');
    const policyChanged = policyVirtual || fields.includes('weight');
    if (fields.length === 0 && !checkChanged && !policyChanged) out.unchanged.push(s);
    else out.changed.push({ key: k, before: o, after: s, fields, checkChanged, policyChanged });
  }
  for (const [k, s] of old) if (!neu.has(k)) out.removed.push(s);
  return out;
}

export function diffGlobal(a: GlobalConfig, b: GlobalConfig): GlobalDiff {
  const fields = changedFields(a, b, []);
  return {
    fields,
    haChanged: fields.some((f) => (HA_FIELDS as string[]).includes(f)),
    timeoutsChanged: fields.some((f) => (TIMEOUT_FIELDS as string[]).includes(f)),
  };
}

/** Compare the running configuration with a newly loaded one. Pure. */
export function diffConfigs(before: LvsConfig, after: LvsConfig): ConfigDiff {
  const global = diffGlobal(before.global, after.global);
  const old = byKey(before.virtuals.filter((v) => v.active), serviceIdentity);
  const neu = byKey(after.virtuals.filter((v) => v.active), serviceIdentity);
  const diff: ConfigDiff = { global, added: [], removed: [], changed: [], unchanged: [], empty: false };
  for (const [k, v] of neu) {
    const o = old.get(k);
    if (!o) {
      diff.added.push(v);
      continue;
    }
    const fields = changedFields(o, v, ['source', 'servers']);
    const servers = diffServers(o, v);
    const serversSame = servers.added.length + servers.removed.length + servers.changed.length === 0;
    if (fields.length === 0 && serversSame) diff.unchanged.push(v);
    else diff.changed.push({ key: k, before: o, after: v, fields, servers });
  }
  for (const [k, v] of old) if (!neu.has(k)) diff.removed.push(v);
  diff.empty = global.fields.length === 0 && diff.added.length + diff.removed.length + diff.changed.length === 0;
  return diff;
}
