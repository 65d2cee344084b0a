// Semantic checks of a parsed lvs.cf: what Piranha accepts but then fails on (or silently mishandles), and what
// directord does not support. Errors make the config unusable; warnings are reported and the config still loads.
import { DirectordError, DirectordErrors } from '../errors';
import { locationOf } from './locations';
import type { GlobalConfig, LvsConfig, RealServerConfig, VirtualServiceConfig } from './schema';
import { deviceVlan, inetAton, isContiguousMask, shown } from './values';
import { DATAPLANE_LIMITS } from '../dataplane/validate';
import { readHeartbeatKey } from '../ha/key';
import { checkBgp } from '../bgp/validate';

/** Host-dependent inputs, injectable like ParseOptions' resolvers (tests, and examples naming /etc paths). */
export interface ValidateOptions {
  /** Reads and checks heartbeat_key_file (default: the HA subsystem's own reader, without its mode warning). */
  readKey?: (file: string) => Buffer;
}

export interface ValidationResult {
  errors: DirectordError[];
  warnings: DirectordError[];
}

type Located = GlobalConfig | VirtualServiceConfig | RealServerConfig;

class Checker {
  readonly errors: DirectordError[] = [];
  readonly warnings: DirectordError[] = [];
  constructor(
    private readonly cfg: LvsConfig,
    readonly opts: ValidateOptions = {},
  ) {}

  private where(target: Located, key?: string) {
    const loc = key ? locationOf(target, key) : undefined;
    if (loc) return { file: this.cfg.file, ...loc };
    const src = 'source' in target ? target.source : undefined;
    return { file: src?.file ?? this.cfg.file, line: src?.line ?? 1, column: 1 };
  }

  error(code: string, message: string, target: Located, key?: string): void {
    this.errors.push(new DirectordError(code, message, { location: this.where(target, key), details: key ? { key } : undefined }));
  }

  warn(code: string, message: string, target: Located, key?: string): void {
    this.warnings.push(new DirectordError(code, message, { location: this.where(target, key), details: key ? { key } : undefined }));
  }

  has(target: Located, key: string): boolean {
    return locationOf(target, key) !== undefined;
  }

  address(target: Located, key: string, value: string | undefined, what: string, required: boolean): void {
    if (value === undefined || value === '') {
      if (required) this.error('E_CONFIG_MISSING_KEY', `${what}: '${key}' is required`, target);
      return;
    }
    if (inetAton(value) !== value) this.error('E_CONFIG_BAD_ADDRESS', `${what}: '${shown(value)}' is not an IPv4 address`, target, key);
    else if (value === '0.0.0.0' || value === '255.255.255.255') this.error('E_CONFIG_BAD_ADDRESS', `${what}: ${key} ${value} is not a usable address`, target, key);
  }

  netmask(target: Located, key: string, value: string | undefined, what: string): void {
    if (value === undefined) return;
    if (inetAton(value) !== value || !isContiguousMask(value)) {
      this.error('E_CONFIG_BAD_NETMASK', `${what}: ${key} ${value} is not a contiguous netmask (its one bits must come first, e.g. 255.255.240.0)`, target, key);
    }
  }

  range(target: Located, key: string, value: number, lo: number, hi: number, what: string, code = 'E_CONFIG_OUT_OF_RANGE', why = ''): void {
    if (!(value >= lo && value <= hi)) this.error(code, `${what}: ${key} = ${value} is out of range (${lo}..${hi})${why}`, target, key);
  }

  port(target: Located, key: string, value: number, what: string): void {
    this.range(target, key, value, 1, 65535, what, 'E_CONFIG_BAD_PORT');
  }
}

function checkGlobal(c: Checker, cfg: LvsConfig): void {
  const g = cfg.global;
  if (g.service === 'fos') c.error('E_CONFIG_UNSUPPORTED', `service = fos: failover services (FOS) are not supported by directord; set service = lvs`, g, 'service');
  for (const f of cfg.failoverServices ?? []) {
    c.error('E_CONFIG_UNSUPPORTED', `failover '${shown(f.name)}': failover services (FOS) are not supported by directord; remove the failover block`, f);
  }
  if (g.network === 'nat') {
    const explicit = c.has(g, 'network');
    c.error('E_CONFIG_UNSUPPORTED', `${explicit ? 'network = nat' : "network is not set and Piranha's default is nat"}: directord forwards by direct routing only; set network = direct`, g, 'network');
  } else if (g.network === 'tunnel') {
    c.error('E_CONFIG_UNSUPPORTED', `network = tunnel: IP-in-IP forwarding is not implemented; directord forwards by direct routing only; set network = direct`, g, 'network');
  } else if (g.natRouter || g.natNmask) {
    c.warn('W_CONFIG_IGNORED_KEY', `nat_router/nat_nmask are ignored with network = direct`, g, g.natRouter ? 'nat_router' : 'nat_nmask');
  }
  c.address(g, 'primary', g.primary, 'global', !g.scaleOut);
  c.address(g, 'backup', g.backup, 'global', false);
  c.address(g, 'primary_private', g.primaryPrivate, 'global', false);
  c.address(g, 'backup_private', g.backupPrivate, 'global', false);
  if (g.primary && g.primary === g.backup) c.error('E_CONFIG_BAD_ADDRESS', `primary and backup are the same address (${g.primary}); each director needs its own`, g, 'backup');
  c.netmask(g, 'nat_nmask', g.natNmask, 'global');
  c.port(g, 'heartbeat_port', g.heartbeatPort, 'global');
  c.port(g, 'sync_port', g.syncPort, 'global');
  if (g.syncPort === g.heartbeatPort) c.error('E_CONFIG_BAD_PORT', `sync_port and heartbeat_port are both ${g.syncPort}; they must differ`, g, 'sync_port');
  if (!(g.keepalive > 0)) c.error('E_CONFIG_BAD_TIMING', `keepalive = ${g.keepalive}: the heartbeat interval must be > 0`, g, 'keepalive');
  else if (!(g.deadtime > g.keepalive)) {
    c.error('E_CONFIG_BAD_TIMING', `deadtime (${g.deadtime}) must be greater than keepalive (${g.keepalive}), or every heartbeat gap looks like a dead partner`, g, 'deadtime');
  }
  for (const k of ['tcp_timeout', 'tcpfin_timeout', 'udp_timeout'] as const) {
    const v = k === 'tcp_timeout' ? g.tcpTimeout : k === 'tcpfin_timeout' ? g.tcpfinTimeout : g.udpTimeout;
    c.range(g, k, v, 0, 2 ** 31 - 1, 'global', 'E_CONFIG_OUT_OF_RANGE', ' (0 keeps the default)');
  }
  if (g.syncdId < 0 || g.syncdId > 255) c.error('E_CONFIG_OUT_OF_RANGE', `syncd_id = ${g.syncdId} is out of range (0..255)`, g, 'syncd_id');
  c.range(g, 'garp_count', g.garpCount, 0, 1000, 'global');
  if (!(g.garpInterval > 0)) c.error('E_CONFIG_OUT_OF_RANGE', `garp_interval must be > 0`, g, 'garp_interval');
  if (g.garpRefresh < 0) c.error('E_CONFIG_OUT_OF_RANGE', `garp_refresh must be >= 0 (0 = off)`, g, 'garp_refresh');
  if (g.failbackHolddown < 0) c.error('E_CONFIG_OUT_OF_RANGE', `failback_holddown must be >= 0`, g, 'failback_holddown');
  if (g.heartbeatKeyFile !== undefined) {
    // HA reads the key at start and at every reload: a file it would refuse must be refused here, not half-way in.
    try {
      (c.opts.readKey ?? readHeartbeatKey)(g.heartbeatKeyFile);
    } catch (e) {
      const short = (e as { code?: string }).code === 'E_HA_KEY_TOO_SHORT';
      c.error(short ? 'E_CONFIG_KEY_TOO_SHORT' : 'E_CONFIG_KEY_FILE', `heartbeat_key_file: ${(e as Error).message}`, g, 'heartbeat_key_file');
    }
  }
  checkBgp(g, (kind, code, message, key) => c[kind](code, message, g, key));
  if (g.monitorLinks && !g.backupActive) c.warn('W_CONFIG_NO_EFFECT', `monitor_links has no effect without backup_active = 1 (as in pulse)`, g, 'monitor_links');
  checkScaleOut(c, g);
}

/** Scale-out (ECMP) mode has no primary/backup contest and no VIP on the wire: the keys of that contest contradict it. */
function checkScaleOut(c: Checker, g: GlobalConfig): void {
  if (!g.scaleOut) {
    if (g.syncPeers) c.error('E_CONFIG_SCALE_OUT_CONFLICT', `sync_peers is the connection sync of scale-out mode: set scale_out = 1, or use syncdaemon = 1 for a primary/backup pair`, g, 'sync_peers');
    return;
  }
  const contest: Array<[string, boolean, string]> = [
    ['backup_active', g.backupActive, 'there is no backup: every director is active'],
    ['backup', g.backup !== undefined, 'there is no primary/backup pair: list the other directors in sync_peers'],
    ['syncdaemon', g.syncdaemon, 'the primary/backup connection sync; scale-out mode syncs with every director in sync_peers'],
    ['monitor_links', g.monitorLinks, 'link failures make the router withdraw the route, not a failover'],
    ['failback', g.failback, 'there is no failover to fail back from'],
  ];
  for (const [key, set, why] of contest) {
    if (set) c.error('E_CONFIG_SCALE_OUT_CONFLICT', `scale_out = 1 and ${key} cannot be combined: ${why}`, g, key);
  }
  for (const key of ['primary', 'primary_private', 'backup_private', 'garp_count', 'garp_interval', 'garp_refresh', 'heartbeat_port', 'keepalive', 'deadtime']) {
    if (c.has(g, key)) c.warn('W_CONFIG_NO_EFFECT', `${key} has no effect with scale_out = 1 (no heartbeats, no gratuitous ARP: the router reaches the VIP through this director's address)`, g, key);
  }
  const peers = g.syncPeers ?? [];
  if (!peers.length) {
    c.warn('W_CONFIG_SCALE_OUT_NO_SYNC', `scale_out = 1 without sync_peers: a flow the router moves to another director keeps working only while every director picks the same real server (mh, same server set); after a change of the server set it is reset`, g, 'scale_out');
    return;
  }
  if (g.heartbeatKeyFile === undefined) {
    c.error('E_CONFIG_SCALE_OUT_KEY', `sync_peers needs heartbeat_key_file: connection sync among scale-out directors is always authenticated (a forged entry would steer a client to another server)`, g, 'sync_peers');
  }
  if (peers.length > MAX_SYNC_PEERS) c.error('E_CONFIG_OUT_OF_RANGE', `sync_peers lists ${peers.length} addresses; at most ${MAX_SYNC_PEERS}`, g, 'sync_peers');
  const seen = new Set<string>();
  for (const p of peers) {
    if (p === '0.0.0.0' || p === '255.255.255.255' || p.startsWith('127.') || Number(p.split('.')[0]) >= 224) {
      c.error('E_CONFIG_BAD_ADDRESS', `sync_peers: ${p} is not a director's unicast address`, g, 'sync_peers');
    }
    if (seen.has(p)) c.error('E_CONFIG_BAD_ADDRESS', `sync_peers: ${p} is listed twice`, g, 'sync_peers');
    seen.add(p);
  }
}

/** Each peer costs a replay guard, a transfer state and one datagram per batch: a mesh, not a broadcast domain. */
export const MAX_SYNC_PEERS = 32;

const CHECK_KEYS_MYSQL = ['mysql_user', 'mysql_password', 'mysql_credentials_file', 'mysql_check_read_only', 'mysql_check_replication', 'mysql_max_lag', 'mysql_connect_timeout'];

/** The data plane serves one 802.1Q VLAN, the first active virtual's (docs/dataplane.md). */
function checkOneVlan(c: Checker, cfg: LvsConfig): void {
  const active = cfg.virtuals.filter((v) => v.active && v.device);
  const first = active.length ? deviceVlan(active[0].device) : undefined;
  if (!first || 'error' in first) return;
  for (const v of active.slice(1)) {
    const dv = deviceVlan(v.device);
    if ('error' in dv || dv.vlan === first.vlan) continue;
    c.warn('W_CONFIG_NOT_IMPLEMENTED', `virtual '${shown(v.name)}': device ${shown(v.device)} is ${dv.vlan ? `VLAN ${dv.vlan}` : 'untagged'}, but the data plane serves one VLAN, that of virtual '${shown(active[0].name)}' (${first.vlan ? `VLAN ${first.vlan}` : 'untagged'}); its frames are counted \`vlan\` and dropped`, v, 'address');
  }
}

function checkVirtual(c: Checker, v: VirtualServiceConfig): void {
  const what = `virtual '${shown(v.name)}'`;
  // Piranha ignores inactive blocks entirely, so only active ones must be complete.
  c.address(v, 'address', v.address, what, v.active);
  if (v.address && !v.device) c.error('E_CONFIG_MISSING_VALUE', `${what}: address needs a device ('address = VIP DEVICE')`, v, 'address');
  const dv = v.device ? deviceVlan(v.device) : undefined;
  if (dv && 'error' in dv) c.error('E_CONFIG_BAD_VLAN', `${what}: ${dv.error}`, v, 'address');
  c.netmask(v, 'vip_nmask', v.vipNetmask, what);
  c.netmask(v, 'pmask', v.pmask, what);
  if (v.fwmark !== 0) c.range(v, 'fwmark', v.fwmark, 1, 2 ** 31 - 1, what);
  else c.port(v, 'port', v.port, what);
  c.range(v, 'persistent', v.persistent, 0, 2 ** 31 - 1, what);
  if (v.pmask && v.persistent === 0) c.warn('W_CONFIG_NO_EFFECT', `${what}: pmask has no effect without persistent > 0`, v, 'pmask');
  if (!(v.timeout > 0)) c.error('E_CONFIG_OUT_OF_RANGE', `${what}: timeout = ${v.timeout} must be > 0 (it is the check interval and nanny divides by it)`, v, 'timeout');
  if (v.reentry < 0) c.error('E_CONFIG_OUT_OF_RANGE', `${what}: reentry = ${v.reentry} must be >= 0 (0 means 180)`, v, 'reentry');
  if (v.interval !== undefined && !(v.interval > 0)) c.error('E_CONFIG_OUT_OF_RANGE', `${what}: interval must be > 0`, v, 'interval');
  if (v.rise !== undefined) c.range(v, 'rise', v.rise, 0, 1_000_000, what);
  c.range(v, 'fall', v.fall, 1, 1_000_000, what);
  c.range(v, 'jitter', v.jitter, 0, 1, what);
  if (v.sorryServer !== undefined) c.address(v, 'sorry_server', v.sorryServer, what, false);
  if (v.check === 'tcp') {
    if (v.active && v.protocol === 'udp' && v.expect === undefined && v.sendProgram === undefined) {
      c.error('E_CONFIG_UDP_NEEDS_EXPECT', `${what}: a UDP service needs 'expect' (or send_program); nanny crashes without one and a UDP probe cannot tell up from down otherwise`, v, 'protocol');
    }
    if (v.sendProgram !== undefined && v.send !== undefined) c.warn('W_CONFIG_NO_EFFECT', `${what}: send is ignored because send_program is set (as nanny does)`, v, 'send');
    if (v.active && v.sendProgram !== undefined && v.expect === undefined) {
      c.warn('W_CONFIG_PIRANHA_DIFFERS', v.sendProgramNeedsExpect
        ? `${what}: send_program without expect never passes (send_program_needs_expect = 1, as nanny): its servers are never used`
        : `${what}: send_program without expect: its exit status decides (0 = up); nanny never passes such a check (send_program_needs_expect = 1 restores that)`, v, 'send_program');
    }
    if (v.sendProgram !== undefined && v.useRegex) c.warn('W_CONFIG_NO_EFFECT', `${what}: use_regex does not apply to send_program output, which is compared exactly (as nanny does)`, v, 'use_regex');
  } else {
    for (const k of ['send', 'expect', 'send_program']) if (c.has(v, k)) c.warn('W_CONFIG_NO_EFFECT', `${what}: ${k} is ignored with check = ${v.check}`, v, k);
  }
  if (v.useRegex && v.expect !== undefined && v.sendProgram === undefined) {
    try {
      new RegExp(v.expect);
    } catch (e) {
      c.error('E_CONFIG_BAD_REGEX', `${what}: expect is not a valid regular expression: ${(e as Error).message}`, v, 'expect');
    }
  }
  if (v.check === 'mysql') {
    const everyServerHasUser = v.servers.length > 0 && v.servers.every((s) => s.mysqlUser);
    if (v.active && !v.mysql?.user && !v.mysql?.credentialsFile && !everyServerHasUser) {
      c.error('E_CONFIG_MISSING_KEY', `${what}: check = mysql needs mysql_user (or mysql_credentials_file)`, v, 'check');
    }
    if (v.mysql && v.mysql.maxLagSeconds < 0) c.error('E_CONFIG_OUT_OF_RANGE', `${what}: mysql_max_lag must be >= 0 (0 = not judged)`, v, 'mysql_max_lag');
  } else {
    for (const k of CHECK_KEYS_MYSQL) if (c.has(v, k)) c.warn('W_CONFIG_NO_EFFECT', `${what}: ${k} has no effect unless check = mysql`, v, k);
  }
  checkWriter(c, v, what);
  if (v.loadMonitor !== 'none') c.warn('W_CONFIG_NOT_IMPLEMENTED', `${what}: load_monitor = ${v.loadMonitor} is not implemented; weights are not adjusted from remote load`, v, 'load_monitor');
  if (c.has(v, 'client_monitor')) c.warn('W_CONFIG_IGNORED_KEY', `${what}: client_monitor is ignored; directord checks servers itself`, v, 'client_monitor');
  checkServers(c, v, what);
}

const WRITER_KEYS = ['writer_holddown', 'writer_fencing', 'writer_failback', 'writer_demote'];

function checkWriter(c: Checker, v: VirtualServiceConfig, what: string): void {
  const w = v.writer;
  if (!w?.enabled) {
    for (const k of WRITER_KEYS) if (c.has(v, k)) c.warn('W_CONFIG_NO_EFFECT', `${what}: ${k} has no effect without writer_mode = 1`, v, k);
    return;
  }
  if (v.check !== 'mysql') c.error('E_CONFIG_WRITER_NEEDS_MYSQL', `${what}: writer_mode = 1 needs check = mysql (it decides from replication state and positions)`, v, 'writer_mode');
  if (!(w.holddown >= 0)) c.error('E_CONFIG_OUT_OF_RANGE', `${what}: writer_holddown must be >= 0 seconds`, v, 'writer_holddown');
  if (w.failback && !w.fencing) {
    c.error('E_CONFIG_WRITER_FAILBACK_UNFENCED', `${what}: writer_failback = 1 needs writer_fencing = 1: the demoted writer is alive and its established connections keep writing unless read_only stops them`, v, 'writer_failback');
  }
  if (v.mysql?.checkReadOnly) c.warn('W_CONFIG_NO_EFFECT', `${what}: mysql_check_read_only has no effect in writer mode (writer mode reports a writable standby instead)`, v, 'mysql_check_read_only');
  if (v.sorryServer !== undefined) c.warn('W_CONFIG_NO_EFFECT', `${what}: sorry_server is not used in writer mode (no second place for writes)`, v, 'sorry_server');
}

function checkServers(c: Checker, v: VirtualServiceConfig, what: string): void {
  const names = new Map<string, RealServerConfig>();
  const dests = new Map<string, RealServerConfig>();
  for (const s of v.servers) {
    const sw = `${what} server '${shown(s.name)}'`;
    const prevName = names.get(s.name);
    if (prevName) c.error('E_CONFIG_DUPLICATE_SERVER', `${sw}: the name is already used at line ${prevName.source.line}`, s);
    names.set(s.name, s);
    c.address(s, 'address', s.address, sw, s.active && v.active);
    c.port(s, 'port', s.port, sw);
    c.range(s, 'weight', s.weight, 0, 65535, sw, 'E_CONFIG_WEIGHT_RANGE');
    if (s.active && v.active && s.weight === 0 && v.slowStart) {
      c.warn('W_CONFIG_PIRANHA_DIFFERS', `${sw}: weight = 0 is served at weight 1 once its check passes, as nanny does (max(1, weight >> 5), never lowered); slow_start = 0 keeps 0 (no new connections), directorctl drain does it at run time`, s, 'weight');
    }
    if (s.address && s.address === v.address) c.error('E_CONFIG_BAD_ADDRESS', `${sw}: the real server address is the VIP itself`, s, 'address');
    if (!s.active) continue;
    const key = `${s.address}:${s.port}`;
    const prev = dests.get(key);
    if (prev) c.error('E_CONFIG_DUPLICATE_SERVER', `${sw}: ${key} is already server '${shown(prev.name)}' (line ${prev.source.line}) of this virtual`, s, 'address');
    dests.set(key, s);
  }
  if (v.active && dests.size === 0) c.warn('W_CONFIG_NO_ACTIVE_SERVER', `${what} has no active real server`, v);
}

/** The data plane's table sizes (DATAPLANE_LIMITS, from native/include/abi.h): only active blocks take a slot, and a
 * sorry_server takes one more in its virtual (it joins the table when no real server can take connections). */
function checkLimits(c: Checker, cfg: LvsConfig): void {
  const L = DATAPLANE_LIMITS;
  let virtuals = 0;
  let total = 0;
  for (const v of cfg.virtuals) {
    if (!v.active) continue;
    if (++virtuals === L.maxServices + 1) {
      c.error('E_CONFIG_TOO_MANY_VIRTUALS', `virtual '${shown(v.name)}' is active virtual number ${virtuals}: the data plane holds at most ${L.maxServices} active virtual services`, v);
    }
    let own = 0;
    const over = (s: RealServerConfig | VirtualServiceConfig, key?: string): void => {
      own++;
      total++;
      if (own === L.maxDestsPerService + 1) {
        c.error('E_CONFIG_TOO_MANY_SERVERS', `virtual '${shown(v.name)}': ${key ? 'sorry_server makes' : 'this is active real server number'} ${own}: at most ${L.maxDestsPerService} per virtual service (a sorry_server counts as one)`, s, key);
      } else if (total === L.maxDests + 1) {
        c.error('E_CONFIG_TOO_MANY_SERVERS', `virtual '${shown(v.name)}': ${key ? 'sorry_server makes' : 'this is active real server number'} ${total} of all virtuals: the data plane holds at most ${L.maxDests} in all (a sorry_server counts as one)`, s, key);
      }
    };
    for (const s of v.servers) if (s.active) over(s);
    if (v.sorryServer) over(v, 'sorry_server');
  }
}

export function serviceIdentity(v: Pick<VirtualServiceConfig, 'protocol' | 'address' | 'port' | 'fwmark'>): string {
  return v.fwmark ? `fwm:${v.fwmark}` : `${v.protocol}:${v.address}:${v.port}`;
}

/** Check a parsed configuration; never throws. */
export function checkConfig(cfg: LvsConfig, opts: ValidateOptions = {}): ValidationResult {
  const c = new Checker(cfg, opts);
  checkGlobal(c, cfg);
  const names = new Map<string, VirtualServiceConfig>();
  const identities = new Map<string, VirtualServiceConfig>();
  const devices = new Map<string, VirtualServiceConfig>();
  for (const v of cfg.virtuals) {
    checkVirtual(c, v);
    const prev = names.get(v.name);
    if (prev) c.error('E_CONFIG_DUPLICATE_VIRTUAL', `virtual '${shown(v.name)}': the name is already used at line ${prev.source.line}`, v);
    names.set(v.name, v);
    if (!v.active) continue;
    const id = serviceIdentity(v);
    const same = identities.get(id);
    if (same) c.error('E_CONFIG_DUPLICATE_VIRTUAL', `virtual '${shown(v.name)}': ${id} is already served by active virtual '${shown(same.name)}' (line ${same.source.line})`, v, v.fwmark ? 'fwmark' : 'address');
    identities.set(id, v);
    const dev = devices.get(v.address);
    if (dev && dev.device !== v.device) c.warn('W_CONFIG_NO_EFFECT', `virtual '${shown(v.name)}': VIP ${v.address} is already on device ${shown(dev.device)} (virtual '${shown(dev.name)}'); device ${shown(v.device)} is not used (as in lvsd)`, v, 'address');
    if (!dev) devices.set(v.address, v);
  }
  checkOneVlan(c, cfg);
  checkLimits(c, cfg);
  if (!cfg.virtuals.some((v) => v.active) && (cfg.failoverServices ?? []).length === 0) {
    c.errors.push(new DirectordError('E_CONFIG_NO_ACTIVE_VIRTUAL', `no active virtual service is defined (pulse refuses to start too); set 'active = 1' in a virtual block`, { location: { file: cfg.file, line: cfg.virtuals[0]?.source.line ?? 1, column: 1 } }));
  }
  const byPos = (a: DirectordError, b: DirectordError) => (a.location?.line ?? 0) - (b.location?.line ?? 0) || (a.location?.column ?? 0) - (b.location?.column ?? 0);
  return { errors: c.errors.sort(byPos), warnings: c.warnings.sort(byPos) };
}

/** Validate in place: throws DirectordErrors on any error; appends warnings to `cfg.warnings`. */
export function validateConfig(cfg: LvsConfig, opts: ValidateOptions = {}): LvsConfig {
  const { errors, warnings } = checkConfig(cfg, opts);
  if (errors.length > 0) throw new DirectordErrors(errors);
  cfg.warnings = [...(cfg.warnings ?? []), ...warnings];
  return cfg;
}
