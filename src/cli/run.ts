// directorctl's logic (argv → request → output + exit status), separate from the process entry so tests can call it.
import { parseArgs } from 'node:util';
import { DirectordError } from '../errors';
import { findCommand, argsFromArgv } from '../control/commands';
import { ControlErrorCode } from '../control/protocol';
import { request } from '../control/client';
import { readOnlySocketPathFor, defaultControlSocket } from '../control/socket-path';
import type { ReloadAnswer, StatusSnapshot, WhereResult } from '../control/types';
import { renderWhere } from '../control/where';
import type { ConnEntry } from '../table/types';
import { defaultOptions } from '../defaults';
import { renderConnections, renderList, renderRate, renderStats } from './ipvsadm-format';
import { renderStatusBlock } from './status-format';
import { offlineCommands } from './offline';
import type { CliIo } from './io';
import { commandHelp, helpText } from './help';
import { applyServiceFilter, parseServiceFilter, type ServiceFilter } from './service-filter';
import { versionLine } from '../util/version';
import { runLogs } from './logs';

export { helpText };

export type { CliIo } from './io';

/** Exit statuses, documented in docs/operations.md. */
export const ExitCode = { Ok: 0, Failed: 1, Usage: 2, NotRunning: 3, Permission: 4, NoAnswer: 5 } as const;

export function exitCodeFor(code: string): number {
  switch (code) {
    case ControlErrorCode.BadArgs:
    case ControlErrorCode.BadRequest:
    case ControlErrorCode.UnknownCommand:
    case 'E_CLI_USAGE':
      return ExitCode.Usage;
    case ControlErrorCode.NotRunning:
      return ExitCode.NotRunning;
    case ControlErrorCode.Permission:
      return ExitCode.Permission;
    case ControlErrorCode.Timeout:
    case ControlErrorCode.BadReply:
      return ExitCode.NoAnswer;
    default:
      return ExitCode.Failed;
  }
}

interface Globals {
  json: boolean;
  socket: string;
  explicitSocket: boolean;
  timeoutMs: number;
  version: boolean;
  rest: string[];
}

/**
 * The global options, anywhere on the line, through node:util parseArgs; everything else is passed on in order
 * (the command, its words and its options, which the command table checks: src/control/commands.ts argsFromArgv).
 */
function parseGlobals(argv: string[]): Globals {
  const g: Globals = { json: false, socket: defaultControlSocket(), explicitSocket: false, timeoutMs: defaultOptions.cliTimeoutMs, version: false, rest: [] };
  const { tokens } = parseArgs({
    args: argv, strict: false, allowPositionals: true, tokens: true,
    options: { json: { type: 'boolean' }, version: { type: 'boolean', short: 'V' }, socket: { type: 'string' }, timeout: { type: 'string' } },
  });
  for (const t of tokens) {
    if (t.kind === 'positional') g.rest.push(t.value);
    else if (t.kind === 'option-terminator') g.rest.push('--');
    else if (t.name === 'json') g.json = true;
    else if (t.name === 'version' && g.rest.length === 0) g.version = true;
    else if (t.name === 'socket') {
      if (!t.value) throw usage('--socket needs a path');
      g.socket = t.value;
      g.explicitSocket = true;
    } else if (t.name === 'timeout') {
      const v = Number(t.value);
      if (!t.value || !Number.isInteger(v) || v <= 0) throw usage('--timeout needs milliseconds');
      g.timeoutMs = v;
    } else g.rest.push(t.inlineValue ? `${t.rawName}=${t.value}` : t.rawName);
  }
  return g;
}

function usage(msg: string): DirectordError {
  return new DirectordError('E_CLI_USAGE', msg);
}

/** Read-only commands fall back to the read-only socket when the full one is not ours to open. */
async function ask(g: Globals, cmd: string, args: Record<string, unknown>, mutating: boolean): Promise<unknown> {
  try {
    return await request(g.socket, cmd, args, { timeoutMs: g.timeoutMs });
  } catch (e) {
    if (!mutating && e instanceof DirectordError && e.code === ControlErrorCode.Permission) {
      // The read-only socket is opt-in: when it is not there, the permission error is the one to report.
      return request(readOnlySocketPathFor(g.socket), cmd, args, { timeoutMs: g.timeoutMs }).catch((ro: unknown) => {
        throw ro instanceof DirectordError && ro.code === ControlErrorCode.NotRunning ? e : ro;
      });
    }
    throw e;
  }
}

function printError(io: CliIo, json: boolean, e: unknown): number {
  const err = e instanceof DirectordError ? e : new DirectordError(ControlErrorCode.Internal, e instanceof Error ? e.message : String(e));
  if (json) io.out(JSON.stringify({ ok: false, error: { code: err.code, message: err.message, details: err.details } }) + '\n');
  else io.err(`directorctl: ${err.code} ${err.message}\n`);
  return exitCodeFor(err.code);
}

function formatHuman(cmd: string, result: unknown, flags: Set<string>, only?: ServiceFilter): string {
  switch (cmd) {
    case 'status': {
      const s = result as StatusSnapshot;
      const o = { tableSize: defaultOptions.ipvsBannerTableSize, nosort: flags.has('--nosort') };
      // One service: only its table, as `ipvsadm -L -t VIP:PORT` prints it.
      if (only && !flags.has('--connections')) return flags.has('--stats') ? renderStats(s.services, o) : flags.has('--rate') ? renderRate(s.services, o) : renderList(s.services, o);
      if (flags.has('--stats')) return renderStats(s.services, o);
      if (flags.has('--rate')) return renderRate(s.services, o);
      if (flags.has('--connections')) return renderConnections(s.connections ?? []);
      return renderList(s.services, o) + renderStatusBlock(s, Date.now());
    }
    case 'reload': {
      const r = result as ReloadAnswer;
      return `reload applied: ${r.changes.length ? '\n  ' + r.changes.join('\n  ') : 'no changes'}\n`;
    }
    case 'where':
      return renderWhere(result as WhereResult);
    case 'drain':
    case 'enable':
    case 'weight': {
      const r = result as { servers: string[]; override: { kind: string; weight: number } | null };
      const what = r.override ? (r.override.kind === 'drain' ? 'drained (weight 0, runtime override)' : `weight ${r.override.weight} (runtime override)`) : 'override cleared: health decides';
      return r.servers.map((s) => `${s}: ${what}\n`).join('');
    }
    default:
      return JSON.stringify(result, null, 2) + '\n';
  }
}

/** For scripts: poll until the daemon answers `status` (it does only once fully started). */
async function waitReady(g: Globals, io: CliIo): Promise<number> {
  const deadline = Date.now() + g.timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      await request(g.socket, 'status', {}, { timeoutMs: 2000 });
      io.out(g.json ? JSON.stringify({ ok: true, result: { ready: true } }) + '\n' : 'directord is ready\n');
      return ExitCode.Ok;
    } catch (e) {
      last = e;
      if (e instanceof DirectordError && e.code === ControlErrorCode.Permission) break;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  return printError(io, g.json, last ?? new DirectordError(ControlErrorCode.Timeout, 'directord did not become ready'));
}

export async function runCli(argv: string[], io: CliIo): Promise<number> {
  let g: Globals;
  try {
    g = parseGlobals(argv);
  } catch (e) {
    return printError(io, false, e);
  }
  if (g.version) {
    io.out(g.json ? JSON.stringify({ ok: true, result: { version: versionLine('directorctl').trim() } }) + '\n' : versionLine('directorctl'));
    return ExitCode.Ok;
  }
  const [cmd, ...words] = g.rest;
  if (!cmd || cmd === 'help' || cmd === '--help' || cmd === '-h') {
    const about = cmd === 'help' && words[0] ? commandHelp(words[0]) : undefined;
    io.out(about ?? helpText());
    return cmd ? ExitCode.Ok : ExitCode.Usage;
  }
  if (words.includes('--help') || words.includes('-h')) {
    const about = commandHelp(cmd);
    if (about) {
      io.out(about);
      return ExitCode.Ok;
    }
  }
  try {
    if (cmd === 'wait-ready') return await waitReady(g, io);
    if (cmd === 'logs') return await runLogs(words, io);
    const offline = offlineCommands.find((c) => c.name === cmd && c.applies(words));
    if (offline) return await offline.run(words, io, g.json);
    const spec = findCommand(cmd);
    if (!spec) throw new DirectordError(ControlErrorCode.UnknownCommand, `unknown command '${cmd}' (try 'directorctl help')`);
    const flags = new Set<string>();
    let cmdWords = words;
    let only: ServiceFilter | undefined;
    if (cmd === 'status') {
      cmdWords = [];
      for (let i = 0; i < words.length; i++) {
        const w = words[i];
        if (['--stats', '--rate', '--connections', '--nosort'].includes(w)) flags.add(w);
        else if (w === '-t' || w === '-u' || w === '-f') {
          if (only) throw new DirectordError('E_CLI_USAGE', 'status: one of -t, -u or -f at most');
          only = parseServiceFilter(w, words[++i]);
        } else cmdWords.push(w);
      }
      if (flags.has('--connections')) cmdWords.push('--connections');
    }
    const args = argsFromArgv(spec, cmdWords);
    let result = await ask(g, spec.name, args, spec.mutating);
    if (only) {
      const s = result as StatusSnapshot;
      const services = applyServiceFilter(s.services, only);
      const mine = (c: ConnEntry): boolean => services.some((v) => (v.fwmark ? c.fwmark === v.fwmark || v.vip === c.vaddr : v.protocol === c.protocol && v.vip === c.vaddr && v.port === c.vport));
      result = { ...s, services, connections: s.connections?.filter(mine) };
    }
    io.out(g.json ? JSON.stringify({ ok: true, result }) + '\n' : formatHuman(spec.name, result, flags, only));
    return ExitCode.Ok;
  } catch (e) {
    return printError(io, g.json, e);
  }
}
