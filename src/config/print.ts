// The effective configuration, every default explicit: as lvs.cf text that parses back to the same config,
// and as JSON. Values are quoted so that Piranha's tokenizer, lvsd's quote stripping and nanny's escapes restore them.
import { DirectordError } from '../errors';
import { GLOBAL_KEYS, SERVER_KEYS, VIRTUAL_KEYS, type KeyDef } from './keys';
import type { LvsConfig, RealServerConfig, VirtualServiceConfig } from './schema';

export interface PrintOptions {
  /** Replace mysql_password values by a placeholder (the text then no longer reproduces them). */
  maskSecrets?: boolean;
}

const SECRET_KEYS = new Set(['mysql_password']);
export const SECRET_PLACEHOLDER = '********';

function unprintable(key: string, value: string): DirectordError {
  return new DirectordError('E_CONFIG_UNPRINTABLE', `${key}: the value ${JSON.stringify(value)} cannot be written in lvs.cf syntax`);
}

/** A plain token: the tokenizer strips either quote kind; no escapes exist. */
export function quoteToken(key: string, s: string): string {
  if (/[\r\n]/.test(s)) throw unprintable(key, s);
  if (s !== '' && !/[ \t]/.test(s) && s[0] !== '"' && s[0] !== "'") return s;
  if (!s.includes('"')) return `"${s}"`;
  if (!s.includes("'")) return `'${s}'`;
  throw unprintable(key, s);
}

/** send_program and the FOS commands: lvsd strips one leading and one trailing double quote, nothing else. */
function lvsdToken(key: string, s: string): string {
  if (/[\r\n]/.test(s)) throw unprintable(key, s);
  if (!s.includes('"')) return `"${s}"`;
  if (!/[ \t]/.test(s) && s[0] !== "'" && s[0] !== '"' && !s.endsWith('"')) return s;
  if (s.length >= 2 && s.startsWith("'") && s.endsWith("'") && !s.slice(1, -1).includes("'")) return s;
  throw unprintable(key, s);
}

function nannyEscape(s: string, extra: RegExp): string {
  return s.replace(/[\\\r\n\t]/g, (c) => ({ '\\': '\\\\', '\r': '\\r', '\n': '\\n', '\t': '\\t' })[c]!).replace(extra, (c) => `\\${c}`);
}

/** send/expect: as lvsdToken, and nanny's convert_str undoes the escapes written here. */
function nannyToken(key: string, s: string): string {
  if (!s.includes('"')) return `"${nannyEscape(s, /$^/g)}"`;
  const bare = nannyEscape(s, /["']/g);
  if (!s.includes(' ') && !bare.endsWith('"')) return bare;
  if (s.length >= 2 && s.startsWith("'") && s.endsWith("'") && !s.slice(1, -1).includes("'")) return `'${nannyEscape(s.slice(1, -1), /$^/g)}'`;
  throw unprintable(key, s);
}

function formatValue(def: KeyDef, value: unknown): string {
  switch (def.kind) {
    case 'bool':
    case 'flag':
      return value ? '1' : '0';
    case 'int':
    case 'decimal':
    case 'port':
      return String(value);
    case 'lvsd-string':
      return lvsdToken(def.name, String(value));
    case 'nanny-string':
      return nannyToken(def.name, String(value));
    case 'host-device': {
      const v = value as { address: string; device: string };
      return `${v.address} ${quoteToken(def.name, v.device)}`;
    }
    case 'ip-list':
      return (value as string[]).join(' ');
    case 'list':
      return `[ ${(value as string[]).map((x) => quoteToken(def.name, x)).join(' ')} ]`;
    default:
      return quoteToken(def.name, String(value));
  }
}

function keyLines(defs: readonly KeyDef[], target: object, indent: string, opts: PrintOptions): string[] {
  const out: string[] = [];
  for (const def of defs) {
    let value = def.get(target);
    if (value === undefined || (def.kind === 'host' && value === '')) continue; // '' = an address never given
    if (opts.maskSecrets && SECRET_KEYS.has(def.name)) value = SECRET_PLACEHOLDER;
    out.push(`${indent}${def.name} = ${formatValue(def, value)}`);
  }
  return out;
}

function serverLines(s: RealServerConfig, opts: PrintOptions): string[] {
  return [`  server ${quoteToken('server', s.name)} {`, ...keyLines(SERVER_KEYS, s, '    ', opts), '  }'];
}

function virtualLines(v: VirtualServiceConfig, word: string, opts: PrintOptions): string[] {
  return ['', `${word} ${quoteToken(word, v.name)} {`, ...keyLines(VIRTUAL_KEYS, v, '  ', opts), ...v.servers.flatMap((s) => serverLines(s, opts)), '}'];
}

/** lvs.cf text of the effective configuration. Throws E_CONFIG_UNPRINTABLE for values lvs.cf cannot express. */
/** What scale_out = 1 means for this director, said where the operator checks the file. */
const SCALE_OUT_NOTE = (peers?: string[]): string[] => [
  '# scale_out = 1: this director forwards whenever it runs, like every other; the router reaches the VIPs through',
  '# its own address (ECMP next hop). No primary/backup contest, no heartbeats, no VIP address, no gratuitous ARP.',
  peers?.length
    ? `# Connection state is shared with ${peers.join(', ')} (full mesh on sync_port, authenticated with heartbeat_key_file).`
    : '# No sync_peers: a flow moved to another director survives only while every director picks the same server.',
];

export function formatEffectiveConfig(cfg: LvsConfig, opts: PrintOptions = {}): string {
  const lines = [
    `# Effective configuration of ${cfg.file.replace(/[\r\n]/g, ' ')}: every default made explicit (directord --check-config).`,
    ...(cfg.global.scaleOut ? SCALE_OUT_NOTE(cfg.global.syncPeers) : []),
    ...keyLines(GLOBAL_KEYS, cfg.global, '', opts),
    ...cfg.virtuals.flatMap((v) => virtualLines(v, 'virtual', opts)),
    ...(cfg.failoverServices ?? []).flatMap((v) => virtualLines(v, 'failover', opts)),
  ];
  return `${lines.join('\n')}\n`;
}

/** Plain JSON data of the configuration (warnings and source references left out unless asked). */
export function configToJSON(cfg: LvsConfig, opts: PrintOptions & { withSources?: boolean } = {}): Record<string, unknown> {
  const strip = (key: string, value: unknown) => {
    if (key === 'warnings') return undefined;
    if (key === 'source' && !opts.withSources) return undefined;
    if (opts.maskSecrets && (key === 'password' || key === 'mysqlPassword') && typeof value === 'string') return SECRET_PLACEHOLDER;
    if (key === 'failoverServices' && Array.isArray(value) && value.length === 0) return undefined;
    return value;
  };
  return JSON.parse(JSON.stringify(cfg, strip)) as Record<string, unknown>;
}
