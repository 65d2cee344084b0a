// `directord --check-config [FILE] [--json]`: load and validate without starting anything, like `keepalived -t`
// and `haproxy -c`. Exit 0 with the effective configuration, or 1 with every error found.
import { readFileSync } from 'node:fs';
import { defaultOptions } from '../defaults';
import { DirectordError, DirectordErrors, isDirectordError } from '../errors';
import { parseConfig, type ParseOptions } from './parser';
import { configToJSON, formatEffectiveConfig } from './print';
import type { LvsConfig, VirtualServiceConfig } from './schema';
import { validateConfig, type ValidateOptions } from './validate';

export interface CheckConfigOptions {
  file?: string;
  json?: boolean;
  /** Print mysql_password values instead of a placeholder. */
  showSecrets?: boolean;
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

/** What writer mode will do for one virtual, in words (--check-config). */
export function explainWriter(v: VirtualServiceConfig): string[] {
  const w = v.writer;
  if (!w?.enabled) return [];
  const servers = v.servers.filter((s) => s.active).map((s, i) => ({ s, i })).sort((a, b) => b.s.weight - a.s.weight || a.i - b.i).map((x) => x.s.name);
  return [
    `virtual '${v.name}': writer mode: exactly one of ${servers.join(', ')} takes new connections (preferred in this order: weight, then file order); the others are hot standbys at weight 0`,
    `  when the writer fails its check, new connections go at once to a standby that replicates and has applied the writer's last known position, and has been fit for ${w.holddown} s; persistence templates to the old writer are dropped, its established connections are left alone`,
    `  ${w.failback ? `failback: the preferred server takes the writer back once caught up and fit for ${w.holddown} s` : 'no failback: the writer stays where it is until it fails'}; ${w.fencing ? 'fencing: read_only = 1 on the demoted writer, read_only = 0 on the new one, before traffic moves' : 'no fencing: a standby with read_only = 0 is reported'}`,
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
  const warnings = cfg.warnings ?? [];
  if (opts.json) {
    const body = { ok: true, file, config: configToJSON(cfg, { maskSecrets: !opts.showSecrets }), warnings: warnings.map((w) => w.toJSON()) };
    return { exitCode: 0, stdout: `${JSON.stringify(body, null, 2)}\n`, stderr: '' };
  }
  const active = cfg.virtuals.filter((v) => v.active);
  const servers = active.reduce((n, v) => n + v.servers.filter((s) => s.active).length, 0);
  const summary = `${file}: configuration is valid (${active.length} active virtual service${active.length === 1 ? '' : 's'}, ${servers} active real server${servers === 1 ? '' : 's'}${warnings.length ? `, ${warnings.length} warning${warnings.length === 1 ? '' : 's'}` : ''})`;
  const stderr = [...warnings.map((w) => w.format()), ...active.flatMap(explainWriter), summary].join('\n');
  return { exitCode: 0, stdout: text, stderr: `${stderr}\n` };
}
