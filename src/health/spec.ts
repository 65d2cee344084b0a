// From the typed lvs.cf to what one server's checker runs: the probe spec and the state-machine policy.
// Pure, so reload diffs compare plain values: same probe key = same checker, state kept.
import type { VirtualServiceConfig, RealServerConfig, MysqlCheckConfig } from '../config/schema';
import { riseFromReentry } from '../config/keys';
import { DirectordError } from '../errors';
import type { CheckerPolicy } from './state';

export type ProbeKind = 'tcp' | 'udp' | 'program' | 'mysql' | 'icmp';

/** The MySQL probe takes the virtual's (or server's) mysql settings as the config parsed them. */
export type MysqlProbeOptions = MysqlCheckConfig & {
  /** Writer mode: judge liveness only, and report read_only and replication positions for the writer decision. */
  writerMode?: boolean;
};

export interface ProbeSpec {
  kind: ProbeKind;
  address: string;
  port: number;
  /** Connect and read timeout (nanny: `timeout`), also the limit for send_program. */
  timeoutMs: number;
  send?: string;
  expect?: string;
  useRegex: boolean;
  /** send_program as written; split and substituted at run time. */
  program?: string;
  /** nanny's rule for send_program without expect: never passes (lvs.cf send_program_needs_expect = 1). */
  programNeedsExpect?: boolean;
  mysql?: MysqlProbeOptions;
}

export interface CheckerSpec {
  virtual: string;
  server: string;
  vip: string;
  vport: number;
  probe: ProbeSpec;
  policy: CheckerPolicy;
  intervalMs: number;
  /** Fraction of the interval by which each sleep is randomly moved (0 = nanny's fixed period). */
  jitter: number;
}

/** nanny's fallback when a port-80 virtual has no send, expect or program. */
export const DEFAULT_HTTP_SEND = 'GET / HTTP/1.0\r\n\r\n';
export const DEFAULT_HTTP_EXPECT = 'HTTP';

function mysqlOptions(v: VirtualServiceConfig, s: RealServerConfig): MysqlProbeOptions {
  const base: MysqlCheckConfig | undefined = v.mysql;
  const user = s.mysqlUser ?? base?.user;
  if (!user && !base?.credentialsFile) {
    throw new DirectordError('E_HEALTH_MYSQL_NO_USER', `virtual ${v.name} server ${s.name}: check = mysql needs mysql_user or a credentials file`, {
      location: { file: s.source.file, line: s.source.line, column: 1 },
    });
  }
  return {
    user: user ?? '',
    password: s.mysqlPassword ?? base?.password,
    credentialsFile: base?.credentialsFile,
    checkReadOnly: base?.checkReadOnly ?? false,
    checkReplication: base?.checkReplication ?? true,
    maxLagSeconds: base?.maxLagSeconds ?? 0,
    connectTimeoutMs: base?.connectTimeoutMs,
    ...(v.writer?.enabled ? { writerMode: true } : {}),
  };
}

export function checkerSpec(v: VirtualServiceConfig, s: RealServerConfig): CheckerSpec {
  if (!(v.timeout > 0)) {
    throw new DirectordError('E_HEALTH_BAD_TIMEOUT', `virtual ${v.name}: timeout must be > 0 (nanny divides by it)`, {
      location: { file: v.source.file, line: v.source.line, column: 1 },
    });
  }
  const timeoutMs = Math.round(v.timeout * 1000);
  const probe: ProbeSpec = { kind: 'tcp', address: s.address, port: s.port, timeoutMs, useRegex: v.useRegex };
  if (v.check === 'mysql') {
    probe.kind = 'mysql';
    probe.mysql = mysqlOptions(v, s);
  } else if (v.check === 'icmp') {
    probe.kind = 'icmp';
  } else if (v.sendProgram) {
    probe.kind = 'program';
    probe.program = v.sendProgram;
    probe.expect = v.expect;
    probe.useRegex = false; // nanny compares program output with strcmp, regex or not
    if (v.sendProgramNeedsExpect) probe.programNeedsExpect = true;
  } else {
    probe.kind = v.protocol === 'udp' ? 'udp' : 'tcp';
    probe.send = v.send;
    probe.expect = v.expect;
    if (v.port === 80 && v.send === undefined && v.expect === undefined) {
      probe.send = DEFAULT_HTTP_SEND;
      probe.expect = DEFAULT_HTTP_EXPECT;
    }
  }
  const intervalSec = v.interval ?? v.timeout;
  const policy: CheckerPolicy = {
    rise: v.rise ?? riseFromReentry(v.reentry, v.timeout),
    fall: Math.max(1, v.fall || 1),
    quiesce: v.quiesceServer,
    slowStart: v.slowStart,
    weight: s.weight,
    intervalSec,
  };
  return {
    virtual: v.name,
    server: s.name,
    vip: v.address,
    vport: v.port,
    probe,
    policy,
    intervalMs: Math.round(intervalSec * 1000),
    jitter: Math.min(1, Math.max(0, v.jitter || 0)),
  };
}

/** Identity of a checker across reloads: what it probes and how. Policy changes are applied in place. */
export function probeKey(spec: CheckerSpec): string {
  return JSON.stringify([spec.virtual, spec.server, spec.vip, spec.vport, spec.probe]);
}

/** All checkers of a config: active virtuals, active servers (nanny starts no monitor for inactive ones). */
export function checkerSpecs(virtuals: VirtualServiceConfig[]): CheckerSpec[] {
  const out: CheckerSpec[] = [];
  for (const v of virtuals) {
    if (!v.active) continue;
    for (const s of v.servers) if (s.active) out.push(checkerSpec(v, s));
  }
  return out;
}
