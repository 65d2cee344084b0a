// Turns a key's value tokens into typed values, with Piranha's conversions and directord's error codes.
import { DirectordError } from '../errors';
import type { KeyDef } from './keys';
import type { Token } from './lexer';
import type { HostResolver, ServiceResolver } from './resolve';
import { inetAton, lvsdStripQuotes, nannyConvert, parseCInteger, parseDecimal, shown, suggest } from './values';

export interface ConvertContext {
  file: string;
  line: number;
  resolveHost: HostResolver;
  resolveService: ServiceResolver;
  warn(code: string, message: string, column: number): void;
}

const UNSUPPORTED_SCHEDULERS: Readonly<Record<string, string>> = {
  lblc: 'locality-based least-connection',
  lblcr: 'locality-based least-connection with replication',
  dh: 'destination hashing',
};

function fail(ctx: ConvertContext, tok: Token, code: string, message: string, column = tok.column): DirectordError {
  return new DirectordError(code, message, { location: { file: ctx.file, line: ctx.line, column }, details: { value: tok.text } });
}

function host(ctx: ConvertContext, def: KeyDef, tok: Token): string | DirectordError {
  const ip = inetAton(tok.text) ?? (/^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(tok.text) ? ctx.resolveHost(tok.text) : undefined);
  if (ip === undefined) {
    return fail(ctx, tok, 'E_CONFIG_BAD_ADDRESS', `invalid host name or IP address '${shown(tok.text)}' for ${def.name} (names are looked up in /etc/hosts only, not DNS)`);
  }
  return ip;
}

/** The stored form of send/expect/send_program: lvsconfig.c re-adds the quotes, lvsd strips double ones. */
function lvsdString(ctx: ConvertContext, def: KeyDef, tok: Token): string {
  if (tok.quote === "'") {
    ctx.warn('W_CONFIG_SINGLE_QUOTES_KEPT', `${def.name}: single quotes stay part of the value, as in Piranha (lvsd strips only double quotes); use double quotes unless you mean them`, tok.column);
  }
  return lvsdStripQuotes(tok.quote ? tok.quote + tok.text + tok.quote : tok.text);
}

function enumValue(ctx: ConvertContext, def: KeyDef, tok: Token): string | DirectordError {
  const values = def.values ?? [];
  if (values.includes(tok.text)) return tok.text;
  if (def.name === 'scheduler') {
    const known = UNSUPPORTED_SCHEDULERS[tok.text];
    if (known) {
      return fail(ctx, tok, 'E_CONFIG_BAD_SCHEDULER', `scheduler '${shown(tok.text)}' (${known}) is valid in Piranha but not supported by directord; use one of ${values.join(' ')}`);
    }
    const hint = suggest(tok.text, values);
    return fail(ctx, tok, 'E_CONFIG_BAD_SCHEDULER', `unknown scheduler '${shown(tok.text)}'${hint ? ` (did you mean '${hint}'?)` : ''}; use one of ${values.join(' ')}`);
  }
  const hint = suggest(tok.text, values);
  return fail(ctx, tok, 'E_CONFIG_BAD_VALUE', `invalid value '${shown(tok.text)}' for ${def.name}${hint ? ` (did you mean '${hint}'?)` : ''}; expected one of: ${values.join(', ')}`);
}

/** Convert the value tokens (already checked for count) of one key. */
export function convertValue(ctx: ConvertContext, def: KeyDef, toks: Token[]): unknown | DirectordError {
  const tok = toks[0];
  switch (def.kind) {
    case 'int': {
      const r = parseCInteger(tok.text);
      return r.ok ? r.value : fail(ctx, tok, 'E_CONFIG_BAD_INTEGER', `integer expected for ${def.name}: ${r.reason}`);
    }
    case 'decimal': {
      const r = parseDecimal(tok.text);
      return r.ok ? r.value : fail(ctx, tok, 'E_CONFIG_BAD_NUMBER', `number expected for ${def.name}: ${r.reason}`);
    }
    case 'bool': {
      const r = parseCInteger(tok.text);
      if (r.ok && (r.value === 0 || r.value === 1)) return r.value === 1;
      return fail(ctx, tok, 'E_CONFIG_BAD_BOOLEAN', `boolean expected for ${def.name}: '${shown(tok.text)}' (write 0 or 1)`);
    }
    case 'flag': {
      const r = parseCInteger(tok.text);
      return r.ok ? r.value !== 0 : fail(ctx, tok, 'E_CONFIG_BAD_INTEGER', `integer expected for ${def.name}: ${r.reason}`);
    }
    case 'port': {
      const r = parseCInteger(tok.text);
      if (r.ok) return r.value;
      const port = /^[A-Za-z][A-Za-z0-9_+.-]*$/.test(tok.text) ? ctx.resolveService(tok.text) : undefined;
      if (port !== undefined) return port;
      return fail(ctx, tok, 'E_CONFIG_BAD_PORT', `invalid port '${shown(tok.text)}' for ${def.name}: neither a number nor a TCP service name in /etc/services`);
    }
    case 'host':
      return host(ctx, def, tok);
    case 'ip':
      return inetAton(tok.text) ?? fail(ctx, tok, 'E_CONFIG_BAD_ADDRESS', `invalid IP address '${shown(tok.text)}' for ${def.name} (a dotted quad is required here)`);
    case 'netmask':
      return inetAton(tok.text) ?? fail(ctx, tok, 'E_CONFIG_BAD_NETMASK', `bad subnet mask '${shown(tok.text)}' for ${def.name} (expected a dotted quad such as 255.255.255.0)`);
    case 'string':
      return tok.text;
    case 'lvsd-string': {
      const s = lvsdString(ctx, def, tok);
      return s === '' ? undefined : s;
    }
    case 'nanny-string': {
      const stored = lvsdString(ctx, def, tok);
      const r = nannyConvert(stored);
      if (!r.ok) return fail(ctx, tok, 'E_CONFIG_BAD_ESCAPE', `${def.name}: ${r.reason}`, tok.column + (tok.quote === '"' ? 1 : 0) + r.column);
      return r.value === '' ? undefined : r.value;
    }
    case 'enum':
      return enumValue(ctx, def, tok);
    case 'host-device': {
      const addr = host(ctx, def, tok);
      if (addr instanceof DirectordError) return addr;
      return { address: addr, device: toks[1].text };
    }
    case 'list':
      return toks.slice(1, -1).map((t) => t.text);
    case 'ip-list': {
      const out: string[] = [];
      for (const t of toks) {
        const ip = inetAton(t.text);
        if (ip === undefined || ip !== t.text) return fail(ctx, t, 'E_CONFIG_BAD_ADDRESS', `invalid IP address '${shown(t.text)}' for ${def.name} (dotted quads separated by blanks)`);
        out.push(ip);
      }
      return out;
    }
  }
}

/** How many value tokens a key takes (lists are checked separately). */
export function arity(def: KeyDef): number {
  return def.kind === 'host-device' ? 2 : 1; // ip-list: checked by the parser (one or more)
}
