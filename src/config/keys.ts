// Every lvs.cf key directord knows, per block, with its value kind, defaults and where it lands in the schema.
// One table drives the parser, the effective-config printer and the key-coverage test of docs/config.md.
import { BGP_KEYS } from '../bgp/settings';
import { nestedKey, type SubObject } from './nested-key';
import { type GlobalConfig, type MysqlCheckConfig, type RealServerConfig, SCHEDULER_NAMES, type SourceRef, type VirtualServiceConfig, type WriterConfig } from './schema';

/** nanny's reentry: seconds a failed server must pass checks to come back; 0 (Piranha's unset) means 180. */
export const DEFAULT_REENTRY = 180;

/** The checks needed to re-enter (rise): nanny's reentry / timeout, integer division. The one place it is derived. */
export function riseFromReentry(reentry: number, timeout: number): number {
  return Math.floor((reentry > 0 ? reentry : DEFAULT_REENTRY) / timeout);
}

export type Scope = 'global' | 'virtual' | 'server';

export type ValueKind =
  | 'int' // strtol(…, 0)
  | 'decimal' // int or a decimal fraction (directord extension)
  | 'bool' // 0 or 1 only
  | 'flag' // any integer, nonzero = on (monitor_links)
  | 'port' // number or /etc/services tcp name
  | 'host' // dotted quad (inet_aton) or /etc/hosts name
  | 'ip' // inet_aton only
  | 'netmask' // inet_aton only
  | 'string' // token text, tokenizer quotes removed
  | 'lvsd-string' // quotes kept by lvsconfig.c, then lvsd strips double quotes only
  | 'nanny-string' // as lvsd-string, then nanny's convert_str escapes
  | 'enum'
  | 'host-device' // two arguments: host and device (address, nat_router)
  | 'list' // `[ a b c ]` (FOS dirs)
  | 'ip-list'; // one or more dotted quads separated by blanks (directord extension)

// The table is heterogeneous by design; each row's set/get knows its own target type.
/* eslint-disable @typescript-eslint/no-explicit-any */
export interface KeyDef {
  name: string;
  scope: Scope;
  kind: ValueKind;
  values?: readonly string[];
  /** directord-only key (Piranha would refuse it). */
  extension?: boolean;
  /** Parsed for compatibility but not acted on; a warning says why when it is set. */
  ignored?: string;
  set(target: any, value: any): void;
  /** Value to print in the effective configuration; undefined = not printed (unset optional). */
  get(target: any): unknown;
}

function field(name: string, scope: Scope, kind: ValueKind, prop: string, extra: Partial<KeyDef> = {}): KeyDef {
  return {
    name, scope, kind,
    set: (t, v) => { t[prop] = v; },
    get: (t) => t[prop],
    ...extra,
  };
}

const MYSQL: SubObject<VirtualServiceConfig, MysqlCheckConfig> = { make: (v) => ensureMysqlCheck(v), of: (v) => v.mysql };
const mysqlField = (name: string, kind: ValueKind, prop: keyof MysqlCheckConfig): KeyDef => nestedKey(MYSQL, name, 'virtual', kind, prop);
// Printed only where a writer_* key was set, so the seed's effective config stays as it was.
const WRITER: SubObject<VirtualServiceConfig, WriterConfig> = { make: (v) => (v.writer ??= defaultWriter()), of: (v) => v.writer };
const writerField = (name: string, kind: ValueKind, prop: keyof WriterConfig, extra: Partial<KeyDef> = {}): KeyDef => nestedKey(WRITER, name, 'virtual', kind, prop, extra);

export function defaultMysql(): MysqlCheckConfig {
  return { user: '', checkReadOnly: false, checkReplication: true, maxLagSeconds: 0 };
}

/** The MySQL check settings of a virtual, created with defaults on first use. */
export function ensureMysqlCheck(v: VirtualServiceConfig): MysqlCheckConfig {
  if (!v.mysql) v.mysql = defaultMysql();
  return v.mysql;
}

const FOS = 'it belongs to failover services (FOS), which directord does not run';

export const GLOBAL_KEYS: readonly KeyDef[] = [
  field('serial_no', 'global', 'int', 'serialNo'),
  field('service', 'global', 'enum', 'service', { values: ['lvs', 'fos'] }),
  field('primary', 'global', 'host', 'primary'),
  field('primary_private', 'global', 'host', 'primaryPrivate'),
  field('primary_shared', 'global', 'string', 'primaryShared', { ignored: FOS }),
  field('backup', 'global', 'host', 'backup'),
  field('backup_active', 'global', 'bool', 'backupActive'),
  field('backup_private', 'global', 'host', 'backupPrivate'),
  field('backup_shared', 'global', 'string', 'backupShared', { ignored: FOS }),
  field('reservation_conflict_action', 'global', 'enum', 'reservationConflictAction', { values: ['nothing', 'preempt'], ignored: FOS }),
  field('rsh_command', 'global', 'string', 'rshCommand'),
  field('heartbeat', 'global', 'bool', 'heartbeat'),
  field('heartbeat_port', 'global', 'port', 'heartbeatPort'),
  field('keepalive', 'global', 'decimal', 'keepalive'),
  field('deadtime', 'global', 'decimal', 'deadtime'),
  field('debug_level', 'global', 'string', 'debugLevel'),
  field('monitor_links', 'global', 'flag', 'monitorLinks'),
  field('syncdaemon', 'global', 'bool', 'syncdaemon'),
  field('syncd_iface', 'global', 'string', 'syncdIface'),
  field('syncd_id', 'global', 'int', 'syncdId'),
  field('hard_shutdown', 'global', 'bool', 'hardShutdown'),
  field('network', 'global', 'enum', 'network', { values: ['direct', 'nat', 'tunnel'] }),
  {
    name: 'nat_router', scope: 'global', kind: 'host-device',
    set: (t: GlobalConfig, v: { address: string; device: string }) => { t.natRouter = v; },
    get: (t: GlobalConfig) => t.natRouter,
  },
  field('nat_nmask', 'global', 'netmask', 'natNmask'),
  field('active_cmd', 'global', 'string', 'activeCmd'),
  field('inactive_cmd', 'global', 'string', 'inactiveCmd'),
  field('tcp_timeout', 'global', 'int', 'tcpTimeout'),
  field('tcpfin_timeout', 'global', 'int', 'tcpfinTimeout'),
  field('udp_timeout', 'global', 'int', 'udpTimeout'),
  field('ipvsadm', 'global', 'string', 'ipvsadm', { ignored: 'directord programs its own data plane, not ipvsadm' }),
  field('sync', 'global', 'bool', 'sync'),
  // directord extensions
  field('heartbeat_key_file', 'global', 'string', 'heartbeatKeyFile', { extension: true }),
  field('failback', 'global', 'bool', 'failback', { extension: true }),
  field('failback_holddown', 'global', 'decimal', 'failbackHolddown', { extension: true }),
  field('garp_count', 'global', 'int', 'garpCount', { extension: true }),
  field('garp_interval', 'global', 'decimal', 'garpInterval', { extension: true }),
  field('garp_refresh', 'global', 'decimal', 'garpRefresh', { extension: true }),
  field('sync_port', 'global', 'port', 'syncPort', { extension: true }),
  field('scale_out', 'global', 'bool', 'scaleOut', { extension: true }),
  field('sync_peers', 'global', 'ip-list', 'syncPeers', { extension: true }),
  ...BGP_KEYS,
];

export const VIRTUAL_KEYS: readonly KeyDef[] = [
  field('active', 'virtual', 'bool', 'active'),
  {
    name: 'address', scope: 'virtual', kind: 'host-device',
    set: (t: VirtualServiceConfig, v: { address: string; device: string }) => { t.address = v.address; t.device = v.device; },
    get: (t: VirtualServiceConfig) => (t.address ? { address: t.address, device: t.device } : undefined),
  },
  field('vip_nmask', 'virtual', 'netmask', 'vipNetmask'),
  field('port', 'virtual', 'port', 'port'),
  field('protocol', 'virtual', 'enum', 'protocol', { values: ['tcp', 'udp'] }),
  field('fwmark', 'virtual', 'int', 'fwmark'),
  field('scheduler', 'virtual', 'enum', 'scheduler', { values: [...SCHEDULER_NAMES] }),
  field('persistent', 'virtual', 'int', 'persistent'),
  field('pmask', 'virtual', 'netmask', 'pmask'),
  field('send', 'virtual', 'nanny-string', 'send'),
  field('expect', 'virtual', 'nanny-string', 'expect'),
  field('use_regex', 'virtual', 'bool', 'useRegex'),
  field('send_program', 'virtual', 'lvsd-string', 'sendProgram'),
  field('load_monitor', 'virtual', 'enum', 'loadMonitor', { values: ['none', 'uptime', 'rup', 'ruptime'] }),
  field('timeout', 'virtual', 'int', 'timeout'),
  field('reentry', 'virtual', 'int', 'reentry'),
  field('quiesce_server', 'virtual', 'bool', 'quiesceServer'),
  field('sorry_server', 'virtual', 'ip', 'sorryServer'),
  field('client_monitor', 'virtual', 'string', 'clientMonitor'),
  field('start_cmd', 'virtual', 'lvsd-string', 'startCmd', { ignored: FOS }),
  field('stop_cmd', 'virtual', 'lvsd-string', 'stopCmd', { ignored: FOS }),
  field('master', 'virtual', 'host', 'master', { ignored: FOS }),
  field('dirs', 'virtual', 'list', 'dirs', { ignored: FOS }),
  // directord extensions
  field('check', 'virtual', 'enum', 'check', { values: ['tcp', 'mysql', 'icmp'], extension: true }),
  mysqlField('mysql_user', 'string', 'user'),
  mysqlField('mysql_password', 'string', 'password'),
  mysqlField('mysql_credentials_file', 'string', 'credentialsFile'),
  mysqlField('mysql_check_read_only', 'bool', 'checkReadOnly'),
  mysqlField('mysql_check_replication', 'bool', 'checkReplication'),
  mysqlField('mysql_max_lag', 'int', 'maxLagSeconds'),
  {
    name: 'mysql_connect_timeout', scope: 'virtual', kind: 'decimal', extension: true,
    set: (t: VirtualServiceConfig, v: number) => { ensureMysqlCheck(t).connectTimeoutMs = Math.round(v * 1000); },
    get: (t: VirtualServiceConfig) => (t.mysql?.connectTimeoutMs === undefined ? undefined : t.mysql.connectTimeoutMs / 1000),
  },
  field('interval', 'virtual', 'decimal', 'interval', { extension: true }),
  field('rise', 'virtual', 'int', 'rise', { extension: true }),
  field('fall', 'virtual', 'int', 'fall', { extension: true }),
  field('jitter', 'virtual', 'decimal', 'jitter', { extension: true }),
  field('slow_start', 'virtual', 'bool', 'slowStart', { extension: true }),
  field('send_program_needs_expect', 'virtual', 'bool', 'sendProgramNeedsExpect', { extension: true }),
  field('expire_quiescent_template', 'virtual', 'bool', 'expireQuiescentTemplate', { extension: true }),
  field('expire_nodest_conn', 'virtual', 'bool', 'expireNodestConn', { extension: true }),
  field('failed_server_keeps_templates', 'virtual', 'bool', 'failedServerKeepsTemplates', { extension: true }),
  writerField('writer_mode', 'bool', 'enabled'),
  writerField('writer_holddown', 'decimal', 'holddown'),
  writerField('writer_fencing', 'bool', 'fencing'),
  writerField('writer_failback', 'bool', 'failback'),
  writerField('writer_demote', 'enum', 'demote', { values: ['leave', 'close'] }),
];

export function defaultWriter(): WriterConfig {
  return { enabled: false, holddown: 30, fencing: false, failback: false, demote: 'leave' };
}

export const SERVER_KEYS: readonly KeyDef[] = [
  field('address', 'server', 'host', 'address'),
  field('active', 'server', 'bool', 'active'),
  field('weight', 'server', 'int', 'weight'),
  field('port', 'server', 'port', 'port'),
  field('mysql_user', 'server', 'string', 'mysqlUser', { extension: true }),
  field('mysql_password', 'server', 'string', 'mysqlPassword', { extension: true }),
];

export const KEYS_BY_SCOPE: Readonly<Record<Scope, readonly KeyDef[]>> = { global: GLOBAL_KEYS, virtual: VIRTUAL_KEYS, server: SERVER_KEYS };

/** Block keywords: they open blocks rather than set values. */
export const BLOCK_WORDS: Readonly<Record<Scope, readonly string[]>> = { global: ['virtual', 'failover'], virtual: ['server'], server: [] };

export function findKey(scope: Scope, name: string): KeyDef | undefined {
  return KEYS_BY_SCOPE[scope].find((k) => k.name === name);
}

/** Piranha's lvsParseConfig defaults plus directord's. `network` defaults to nat, which validation refuses. */
export function defaultGlobal(): GlobalConfig {
  return {
    serialNo: 0, service: 'lvs', backupActive: false, rshCommand: 'rsh', heartbeat: false, heartbeatPort: 539,
    keepalive: 2, deadtime: 5, debugLevel: 'NONE', monitorLinks: false, syncdaemon: false, syncdIface: 'eth0', syncdId: 0,
    hardShutdown: true, network: 'nat', tcpTimeout: 0, tcpfinTimeout: 0, udpTimeout: 0, ipvsadm: '/sbin/ipvsadm', sync: false,
    failback: false, failbackHolddown: 30, garpCount: 5, garpInterval: 1, garpRefresh: 0, syncPort: 8848,
  };
}

/** lvsInitVirtualServer defaults plus directord's; interval and rise are derived when the block closes. */
export function defaultVirtual(name: string, source: SourceRef): VirtualServiceConfig {
  return {
    name, active: false, address: '', device: '', port: 80, protocol: 'tcp', fwmark: 0, scheduler: 'wlc', persistent: 0,
    useRegex: false, loadMonitor: 'none', timeout: 10, reentry: DEFAULT_REENTRY, quiesceServer: false, clientMonitor: '/usr/sbin/nanny',
    check: 'tcp', fall: 1, jitter: 0, slowStart: true, sendProgramNeedsExpect: false, expireQuiescentTemplate: false,
    expireNodestConn: false, failedServerKeepsTemplates: false, servers: [], source,
  };
}

/** A server's port is the virtual's port at the moment its block is parsed (lvsconfig.c). */
export function defaultServer(name: string, port: number, source: SourceRef): RealServerConfig {
  return { name, address: '', port, active: false, weight: 1, source };
}
