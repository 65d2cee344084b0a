// `directord --check-config [FILE] [--json] [-q] [--strict]`: load and validate without starting anything, like
// `keepalived -t` and `haproxy -c`. Exit 0 with the effective configuration, or 1 with every error found.
import { readFileSync } from 'node:fs';
import { defaultOptions } from '../defaults';
import { DirectordError, DirectordErrors, isDirectordError } from '../errors';
import { parseConfig, type ParseOptions } from './parser';
import { configToJSON, formatEffectiveConfig } from './print';
import type { GlobalConfig, LvsConfig, VirtualServiceConfig } from './schema';
import { validateConfig, type ValidateOptions } from './validate';
import { explainBgp } from '../bgp/settings';

export interface CheckConfigOptions {
  file?: string;
  json?: boolean;
  /** Print mysql_password values instead of a placeholder. */
  showSecrets?: boolean;
  /** Nothing on success (ExecStartPre); errors, and warnings that fail a --strict check, still go to stderr. */
  quiet?: boolean;
  /** Warnings fail the check (exit 1), like `haproxy -c` with zero-warning. */
  strict?: boolean;
  parse?: ParseOptions & ValidateOptions;
}

export interface CheckConfigResult {
  exitCode: 0 | 1;
  stdout: string;
  stderr: string;
}

function readConfigFile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new DirectordError('E_CONFIG_READ', `cannot read configuration file ${file}: ${err.code ?? err.message}`, { cause: e, details: { file } });
  }
}

/** Read, parse and validate a configuration file; throws DirectordError(s). Synchronous. */
export function loadConfig(file: string = defaultOptions.configFile, opts: ParseOptions & ValidateOptions = {}): LvsConfig {
  return validateConfig(parseConfig(readConfigFile(file), file, opts), opts);
}

function errorList(e: unknown): DirectordError[] {
  if (e instanceof DirectordErrors) return e.errors;
  if (isDirectordError(e)) return [e];
  return [new DirectordError('E_INTERNAL', `unexpected failure while checking the configuration: ${String(e)}`, { cause: e })];
}

/** What an operator risks with this file that the validator cannot call wrong (issue 12: the unauthenticated story). */
export function riskWarnings(cfg: LvsConfig): DirectordError[] {
  const g = cfg.global;
  if (!g.primary || !g.backup || !g.backupActive || g.heartbeatKeyFile) return [];
  return [
    new DirectordError(
      'W_HA_UNAUTHENTICATED',
      'heartbeat_key_file is not set: heartbeats' + (g.syncdaemon ? ' and connection sync' : '') + ' are unauthenticated. Anyone who can send UDP ' +
        'with the partner\'s source address (a host on the same LAN can spoof it) can force a failover, keep this node standby while the ' +
        'partner is dead, or hold both directors active' + (g.syncdaemon ? ', and plant connection entries on the standby' : '') + '. directord accepts ' +
        'them only from the partner address and never lets one retire the partner\'s live boot, but cannot tell them from the partner. ' +
        'Needed only while a partner still runs pulse; then set a key of 16+ bytes on both nodes (docs/deploy.md, migration step 5).',
      { details: { key: 'heartbeat_key_file' } },
    ),
  ];
}

/** What writer mode will do for one virtual, in words (--check-config). */
export function explainWriter(v: VirtualServiceConfig, g?: GlobalConfig): string[] {
  const w = v.writer;
  if (!w?.enabled) return [];
  const pair = g?.primary && g.backup && g.backupActive;
  const two = !pair ? [] : g.syncdaemon
    ? [`  two directors: the active one decides and sends its decision to the other over connection sync (sync_port ${g.syncPort}); the other follows it and keeps it when it takes over`]
    : ['  two directors without connection sync (syncdaemon = 0): each decides alone, and they can disagree after a failover (docs/writer.md)'];
  const servers = v.servers.filter((s) => s.active).map((s, i) => ({ s, i })).sort((a, b) => b.s.weight - a.s.weight || a.i - b.i).map((x) => x.s.name);
  return [
    `virtual '${v.name}': writer mode: exactly one of ${servers.join(', ')} takes new connections (preferred in this order: weight, then file order); the others are hot standbys at weight 0`,
    `  when the writer fails its check, new connections go at once to a standby that replicates and has applied the writer's last known position, and has been fit for ${w.holddown} s; persistence templates to the old writer are dropped, ${w.demote === 'close' ? 'its established connections are closed (writer_demote = close: each ends at its client\'s next packet, answered with a TCP RST from the VIP)' : 'its established connections are left alone (writer_demote = leave: they go on writing to it until the client closes them)'}`,
    `  ${w.failback ? `failback: the preferred server takes the writer back once caught up and fit for ${w.holddown} s` : 'no failback: the writer stays where it is until it fails'}; ${w.fencing ? 'fencing: read_only = 1 on the demoted writer, read_only = 0 on the new one, before traffic moves' : 'no fencing: a standby with read_only = 0 is reported'}`,
    ...two,
  ];
}

export function runCheckConfig(opts: CheckConfigOptions = {}): CheckConfigResult {
  const file = opts.file ?? defaultOptions.configFile;
  let cfg: LvsConfig;
  let text: string;
  try {
    cfg = loadConfig(file, opts.parse);
    text = formatEffectiveConfig(cfg, { maskSecrets: !opts.showSecrets });
  } catch (e) {
    const errors = errorList(e);
    if (opts.json) {
      return { exitCode: 1, stdout: `${JSON.stringify({ ok: false, file, errors: errors.map((x) => x.toJSON()) }, null, 2)}\n`, stderr: '' };
    }
    const summary = `${file}: configuration is invalid (${errors.length} error${errors.length === 1 ? '' : 's'})`;
    return { exitCode: 1, stdout: '', stderr: `${errors.map((x) => x.format()).join('\n')}\n${summary}\n` };
  }
  const warnings = [...(cfg.warnings ?? []), ...riskWarnings(cfg)];
  const failed = opts.strict === true && warnings.length > 0;
  if (opts.json) {
    const body = { ok: !failed, file, ...(failed ? { strict: true } : {}), config: configToJSON(cfg, { maskSecrets: !opts.showSecrets }), warnings: warnings.map((w) => w.toJSON()) };
    return { exitCode: failed ? 1 : 0, stdout: `${JSON.stringify(body, null, 2)}\n`, stderr: '' };
  }
  if (failed) {
    const summary = `${file}: configuration refused by --strict (${warnings.length} warning${warnings.length === 1 ? '' : 's'})`;
    return { exitCode: 1, stdout: '', stderr: `${[...warnings.map((w) => w.format()), summary].join('\n')}\n` };
  }
  if (opts.quiet) return { exitCode: 0, stdout: '', stderr: '' };
  const active = cfg.virtuals.filter((v) => v.active);
  const servers = active.reduce((n, v) => n + v.servers.filter((s) => s.active).length, 0);
  const summary = `${file}: configuration is valid (${active.length} active virtual service${active.length === 1 ? '' : 's'}, ${servers} active real server${servers === 1 ? '' : 's'}${warnings.length ? `, ${warnings.length} warning${warnings.length === 1 ? '' : 's'}` : ''})`;
  const stderr = [...warnings.map((w) => w.format()), ...active.flatMap((v) => explainWriter(v, cfg.global)), ...explainBgp(cfg.global, [...new Set(active.map((v) => v.address))]), summary].join('\n');
  return { exitCode: 0, stdout: text, stderr: `${stderr}\n` };
}
