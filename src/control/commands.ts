// The one command table: name, argument schema, read-only or mutating, and the handler. The daemon dispatches
// through it and directorctl parses argv and prints help from it, so the two cannot drift apart.
import { DirectordError } from '../errors';
import { ControlErrorCode } from './protocol';
import type { ReloadAnswer, StatusSnapshot, WhereAnswer } from './types';

export type ArgType = 'string' | 'integer' | 'boolean';

export interface ArgSpec {
  name: string;
  type: ArgType;
  required: boolean;
  /** Taken from the command line positionally (in table order) rather than as --name. */
  positional: boolean;
  min?: number;
  max?: number;
  help: string;
}

/** What the daemon side must offer; src/director.ts implements it. */
export interface ControlTarget {
  status(opts: { connections: boolean; connectionLimit: number }): StatusSnapshot;
  drain(server: string): unknown;
  enable(server: string): unknown;
  setWeight(server: string, weight: number): unknown;
  reload(): Promise<ReloadAnswer>;
  takeover(opts?: { force?: boolean }): Promise<unknown>;
  release(): Promise<unknown>;
  where(client: string): WhereAnswer;
  /** Scale-out mode: drain this whole director (routes withdrawn, traffic still forwarded). */
  drainDirector(opts: { deadlineS?: number }): unknown;
  undrainDirector(): unknown;
}

export interface CommandSpec {
  name: string;
  summary: string;
  mutating: boolean;
  args: ArgSpec[];
  handler: (target: ControlTarget, args: Record<string, unknown>) => unknown | Promise<unknown>;
}

const server: ArgSpec = {
  name: 'server', type: 'string', required: true, positional: true,
  help: 'server name from lvs.cf, ADDRESS or ADDRESS:PORT (VIRTUAL/SERVER to pick one virtual)',
};

export const commandTable: readonly CommandSpec[] = Object.freeze([
  {
    name: 'ping', summary: 'answer when the daemon is up (readiness probe)', mutating: false, args: [],
    handler: () => ({ pong: true }),
  },
  {
    name: 'status', summary: 'the IPVS table (as ipvsadm -Ln), node role, peer and real-server health', mutating: false,
    args: [
      { name: 'connections', type: 'boolean', required: false, positional: false, help: 'include the connection table (ipvsadm -lnc)' },
      { name: 'limit', type: 'integer', required: false, positional: false, min: 1, max: 100000, help: 'at most this many connection entries (default 1000)' },
    ],
    handler: (t, a) => t.status({ connections: a.connections === true, connectionLimit: (a.limit as number | undefined) ?? 1000 }),
  },
  {
    name: 'drain', summary: 'runtime override: weight 0 (existing connections stay, no new ones)', mutating: true, args: [server],
    handler: (t, a) => t.drain(a.server as string),
  },
  {
    name: 'enable', summary: 'clear a runtime override (health decides again)', mutating: true, args: [server],
    handler: (t, a) => t.enable(a.server as string),
  },
  {
    name: 'weight', summary: 'runtime override: set the weight while the server is healthy', mutating: true,
    args: [server, { name: 'weight', type: 'integer', required: true, positional: true, min: 0, max: 65535, help: 'weight 0..65535' }],
    handler: (t, a) => t.setWeight(a.server as string, a.weight as number),
  },
  {
    name: 'reload', summary: 're-read the configuration and apply only the difference (as SIGHUP)', mutating: true, args: [],
    handler: async (t) => {
      const answer = await t.reload();
      if (answer.result === 'failure') {
        throw new DirectordError(ControlErrorCode.ReloadFailed, `reload failed, running configuration kept: ${answer.error?.message ?? 'unknown error'}`, {
          details: { cause: answer.error },
        });
      }
      return answer;
    },
  },
  {
    name: 'takeover', summary: 'manual failover: become the active director now (after the connection table is synced)', mutating: true,
    args: [{ name: 'force', type: 'boolean', required: false, positional: false, help: 'even while the connection table is still being fetched from the peer (E_HA_NOT_SYNCED otherwise)' }],
    handler: (t, a) => t.takeover({ force: a.force === true }),
  },
  {
    name: 'release', summary: 'manual failover: give up the VIPs to the peer', mutating: true, args: [],
    handler: (t) => t.release(),
  },
  {
    name: 'drain-director', summary: 'scale-out: withdraw this director\'s routes, keep forwarding, report when no traffic is left', mutating: true,
    args: [{ name: 'deadline', type: 'integer', required: false, positional: false, min: 1, max: 86400, help: 'seconds after which the drain ends even with traffic left' }],
    handler: (t, a) => t.drainDirector({ deadlineS: a.deadline as number | undefined }),
  },
  {
    name: 'undrain-director', summary: 'scale-out: end a director drain (routes announced again)', mutating: true, args: [],
    handler: (t) => t.undrainDirector(),
  },
  {
    name: 'where', summary: 'which real server a client gets now, and why (live table)', mutating: false,
    args: [{ name: 'client', type: 'string', required: true, positional: true, help: 'CLIENT_IP[:PORT]' }],
    handler: (t, a) => t.where(a.client as string),
  },
]);

export function findCommand(name: string): CommandSpec | undefined {
  return commandTable.find((c) => c.name === name);
}

/** Check args against a command's schema; unknown keys and wrong types are E_CTL_BAD_ARGS naming the argument. */
export function validateArgs(spec: CommandSpec, args: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(args)) {
    if (!spec.args.some((a) => a.name === key)) {
      throw new DirectordError(ControlErrorCode.BadArgs, `${spec.name}: unknown argument '${key}'`, {
        details: { command: spec.name, argument: key, known: spec.args.map((a) => a.name) },
      });
    }
  }
  for (const a of spec.args) {
    const v = args[a.name];
    if (v === undefined || v === null) {
      if (a.required) throw new DirectordError(ControlErrorCode.BadArgs, `${spec.name}: missing argument '${a.name}' (${a.help})`, { details: { command: spec.name, argument: a.name } });
      continue;
    }
    const bad = (what: string): never => {
      throw new DirectordError(ControlErrorCode.BadArgs, `${spec.name}: argument '${a.name}' ${what}`, { details: { command: spec.name, argument: a.name } });
    };
    switch (a.type) {
      case 'string':
        if (typeof v !== 'string' || v.length === 0) bad('must be a non-empty string');
        if ((v as string).length > 256) bad('is longer than 256 characters');
        break;
      case 'boolean':
        if (typeof v !== 'boolean') bad('must be true or false');
        break;
      case 'integer':
        if (typeof v !== 'number' || !Number.isInteger(v)) bad('must be an integer');
        if (a.min !== undefined && (v as number) < a.min) bad(`must be at least ${a.min}`);
        if (a.max !== undefined && (v as number) > a.max) bad(`must be at most ${a.max}`);
        break;
    }
    out[a.name] = v;
  }
  return out;
}

/** Typed conversion of command-line words (`weight sql1 5`, `--limit 10`) into request args, by the same schema. */
export function argsFromArgv(spec: CommandSpec, words: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const positional = spec.args.filter((a) => a.positional);
  let p = 0;
  for (let i = 0; i < words.length; i++) {
    const w = words[i];
    let a: ArgSpec | undefined;
    let raw: string | undefined;
    if (w.startsWith('--')) {
      const [name, inline] = w.slice(2).split('=', 2);
      a = spec.args.find((x) => x.name === name && !x.positional);
      if (!a) throw new DirectordError(ControlErrorCode.BadArgs, `${spec.name}: unknown option '--${name}'`);
      if (a.type === 'boolean') raw = inline ?? 'true';
      else raw = inline ?? words[++i];
      if (raw === undefined) throw new DirectordError(ControlErrorCode.BadArgs, `${spec.name}: option '--${name}' needs a value`);
    } else {
      a = positional[p++];
      if (!a) throw new DirectordError(ControlErrorCode.BadArgs, `${spec.name}: unexpected argument '${w}'`);
      raw = w;
    }
    out[a.name] = convert(spec, a, raw);
  }
  return validateArgs(spec, out);
}

function convert(spec: CommandSpec, a: ArgSpec, raw: string): unknown {
  if (a.type === 'string') return raw;
  if (a.type === 'boolean') {
    if (raw === 'true') return true;
    if (raw === 'false') return false;
    throw new DirectordError(ControlErrorCode.BadArgs, `${spec.name}: '${a.name}' must be true or false`);
  }
  if (!/^-?\d+$/.test(raw)) throw new DirectordError(ControlErrorCode.BadArgs, `${spec.name}: '${a.name}' must be an integer, got '${raw}'`);
  return Number(raw);
}

export function usageLine(spec: CommandSpec): string {
  const parts = spec.args.map((a) => {
    const shown = a.positional ? a.name.toUpperCase() : a.type === 'boolean' ? `--${a.name}` : `--${a.name} N`;
    return a.required ? shown : `[${shown}]`;
  });
  return [spec.name, ...parts].join(' ');
}
