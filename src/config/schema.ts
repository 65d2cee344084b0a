// The typed, fully-defaulted form of lvs.cf: what every other subsystem consumes.
// Defaults are Piranha 0.8.6's (lvsconfig.c), plus directord's own optional keys; see docs/config.md.
import type { DirectordError } from '../errors';
import type { BgpKeys } from '../bgp/settings';

export type Protocol = 'tcp' | 'udp';
/** Every scheduler directord implements, in native/include/abi.h's enum dd_scheduler order. */
export const SCHEDULER_NAMES = ['wlc', 'lc', 'rr', 'wrr', 'sh', 'mh', 'fo'] as const;
export type SchedulerName = typeof SCHEDULER_NAMES[number];
export type NetworkMode = 'direct' | 'nat' | 'tunnel';
export type LoadMonitor = 'none' | 'uptime' | 'rup' | 'ruptime';
export type CheckKind = 'tcp' | 'mysql' | 'icmp';

/** Where a value came from, for error messages and `--check-config` output. */
export interface SourceRef {
  file: string;
  line: number;
}

export interface RealServerConfig {
  name: string;
  address: string;          // dotted quad (hostnames resolved at load time)
  port: number;             // defaults to the virtual's port at the time the block was parsed
  active: boolean;          // Piranha default 0
  weight: number;           // Piranha default 1; 0..65535
  /** directord extensions, per server; undefined = inherit from the virtual. */
  mysqlUser?: string;
  mysqlPassword?: string;
  source: SourceRef;
}

export interface MysqlCheckConfig {
  user: string;
  password?: string;
  credentialsFile?: string;
  /** Judge `@@read_only`: a read-only server is taken out. Default false. */
  checkReadOnly: boolean;
  /** Judge replication threads. Default true. */
  checkReplication: boolean;
  /** Max Seconds_Behind_Master; 0 = not judged. */
  maxLagSeconds: number;
  connectTimeoutMs?: number;
}

/** Writer mode (docs/writer.md): one real server at a time takes new connections. */
export interface WriterConfig {
  /** writer_mode; default false. */
  enabled: boolean;
  /** writer_holddown, seconds: how long a server must have been fit before it becomes the writer, and the least
   * time between two voluntary switches. Default 30. */
  holddown: number;
  /** writer_fencing: SET GLOBAL read_only on the demoted and the new writer. Default false. */
  fencing: boolean;
  /** writer_failback: the preferred server takes the writer back once fit. Default false; needs fencing. */
  failback: boolean;
  /** writer_demote: what happens to the established connections of a demoted writer: 'leave' them (IPVS's
   * behaviour for a weight-0 server, the default) or 'close' them (each ends at its client's next packet with a
   * TCP RST from the VIP). */
  demote: 'leave' | 'close';
}

export interface VirtualServiceConfig {
  name: string;
  active: boolean;          // Piranha default 0
  address: string;          // VIP
  device: string;           // e.g. eth0:6 (label); base device = part before ':'
  vipNetmask?: string;      // vip_nmask, unset = Piranha's classful plain ifconfig
  port: number;             // default 80
  protocol: Protocol;       // default tcp
  fwmark: number;           // default 0
  scheduler: SchedulerName; // default wlc
  persistent: number;       // seconds, 0 = off
  pmask?: string;           // only meaningful when persistent > 0; 255.255.255.255 normalised away as Piranha does
  send?: string;            // escapes already converted (\n \r \t \\ \' \")
  expect?: string;
  useRegex: boolean;
  sendProgram?: string;
  loadMonitor: LoadMonitor; // default none (the code, not the man page)
  timeout: number;          // seconds, default 10 (interval and connect/read timeout)
  reentry: number;          // seconds, default 180
  quiesceServer: boolean;
  sorryServer?: string;
  clientMonitor?: string;
  /** Failover-service (FOS) and legacy keys: parsed for compatibility, never acted on. */
  startCmd?: string;
  stopCmd?: string;
  master?: string;
  dirs?: string[];
  /** directord extensions (optional keys, nanny-compatible defaults). */
  check: CheckKind;         // default 'tcp' (connect / send-expect / send_program)
  mysql?: MysqlCheckConfig;
  interval?: number;        // seconds; default = timeout (nanny)
  rise?: number;            // consecutive successes; default derived from reentry/timeout
  fall: number;             // consecutive failures; default 1 (nanny)
  jitter: number;           // fraction 0..1 of the interval; default 0
  slowStart: boolean;       // nanny's weight ramp (max(1,w>>5), doubling); default true
  /** nanny's rule: a send_program without expect never passes (default false: its exit status decides). */
  sendProgramNeedsExpect?: boolean;
  expireQuiescentTemplate: boolean; // IPVS sysctl; default false
  expireNodestConn: boolean;        // IPVS sysctl; default false
  /** IPVS: a server down by its health check but quiesced (weight 0) keeps its persistent clients; default false. */
  failedServerKeepsTemplates: boolean;
  /** Set by any writer_* key; absent = writer mode off. */
  writer?: WriterConfig;
  servers: RealServerConfig[];
  source: SourceRef;
}

export interface GlobalConfig {
  serialNo: number;
  service: 'lvs' | 'fos';
  primary?: string;
  primaryPrivate?: string;
  backup?: string;
  backupPrivate?: string;
  backupActive: boolean;    // default 0
  rshCommand: string;       // default rsh
  heartbeat: boolean;       // parsed, unused by pulse
  heartbeatPort: number;    // default 539
  keepalive: number;        // seconds (fractions allowed), default 2
  deadtime: number;         // seconds (fractions allowed), default 5
  debugLevel: string;       // default NONE
  monitorLinks: boolean;
  syncdaemon: boolean;
  syncdIface: string;       // default eth0
  syncdId: number;          // default 0
  hardShutdown: boolean;    // default 1
  network: NetworkMode;     // default nat (rejected by validation: directord does DR only)
  natRouter?: { address: string; device: string };
  natNmask?: string;
  activeCmd?: string;
  inactiveCmd?: string;
  tcpTimeout: number;       // 0 = keep IPVS default 900
  tcpfinTimeout: number;    // 0 = keep 120
  udpTimeout: number;       // 0 = keep 300
  ipvsadm: string;
  sync: boolean;
  /** Shared-SCSI keys of FOS: parsed for compatibility, never acted on. */
  primaryShared?: string;
  backupShared?: string;
  reservationConflictAction?: 'nothing' | 'preempt';
  /** directord extensions. */
  heartbeatKeyFile?: string;
  failback: boolean;        // prefer the primary after holddown; default false (pulse)
  failbackHolddown: number; // seconds
  garpCount: number;        // default 5 (pulse)
  garpInterval: number;     // seconds, default 1
  garpRefresh: number;      // seconds, 0 = off
  syncPort: number;         // directord's own conn-sync channel (UDP), default 8848
  /** Scale-out (ECMP) mode: every director active, no VIP ARP/GARP, no primary/backup contest. Default false. */
  scaleOut?: boolean;
  /** Scale-out connection sync: the other directors (full mesh); this host's own address may be listed too. */
  syncPeers?: string[];
  /** bgp_* keys (src/bgp/settings.ts); absent = no BGP. */
  bgp?: BgpKeys;
}

export interface LvsConfig {
  file: string;
  global: GlobalConfig;
  virtuals: VirtualServiceConfig[];
  /** `failover NAME { }` blocks (FOS). Parsed so they can be reported; validation refuses them. */
  failoverServices?: VirtualServiceConfig[];
  /** Non-fatal findings of parsing and validation (codes W_CONFIG_*), in file order. */
  warnings?: DirectordError[];
}
