// lvs.cf parser: global keys, `virtual`/`failover` blocks and their `server` blocks, as lvsconfig.c reads them,
// but collecting every error of a file (with line and column) instead of stopping at the first.
import { DirectordError, DirectordErrors } from '../errors';
import { arity, convertValue, type ConvertContext } from './convert';
import { BLOCK_WORDS, KEYS_BY_SCOPE, defaultGlobal, defaultServer, defaultVirtual, ensureMysqlCheck, findKey, type KeyDef, type Scope } from './keys';
import { lex, type Token, type TokenLine } from './lexer';
import { recordLocation } from './locations';
import { hostsFileResolver, servicesFileResolver, type HostResolver, type ServiceResolver } from './resolve';
import type { LvsConfig, VirtualServiceConfig } from './schema';
import { shown, suggest } from './values';

export interface ParseOptions {
  resolveHost?: HostResolver;
  resolveService?: ServiceResolver;
}

const MAX_ERRORS = 100;

interface Frame {
  scope: Scope;
  word: string;
  name: string;
  line: number;
  column: number;
  target: object;
  seen: Map<string, number>;
  /** Opened where it is not allowed: keys are still checked but the block is not kept. */
  discard: boolean;
  /** Its header lacked `{`: a following line holding only `{` is accepted silently. */
  awaitingBrace: boolean;
  serversParsed: boolean;
}

class Parser {
  readonly errors: DirectordError[] = [];
  readonly warnings: DirectordError[] = [];
  readonly cfg: LvsConfig;
  private readonly stack: Frame[];
  private readonly resolveHost: HostResolver;
  private readonly resolveService: ServiceResolver;

  constructor(private readonly file: string, opts: ParseOptions) {
    this.cfg = { file, global: defaultGlobal(), virtuals: [], failoverServices: [], warnings: this.warnings };
    this.stack = [{ scope: 'global', word: '', name: '', line: 0, column: 0, target: this.cfg.global, seen: new Map(), discard: false, awaitingBrace: false, serversParsed: false }];
    // Fresh per load, so a reload sees an edited /etc/hosts; each file is read at most once per load.
    this.resolveHost = opts.resolveHost ?? hostsFileResolver();
    this.resolveService = opts.resolveService ?? servicesFileResolver();
  }

  private get top(): Frame {
    return this.stack[this.stack.length - 1];
  }

  error(code: string, message: string, line: number, column: number): void {
    if (this.errors.length < MAX_ERRORS) this.errors.push(new DirectordError(code, message, { location: { file: this.file, line, column } }));
  }

  warn(code: string, message: string, line: number, column: number): void {
    this.warnings.push(new DirectordError(code, message, { location: { file: this.file, line, column } }));
  }

  run(lines: TokenLine[]): void {
    for (const l of lines) {
      if (this.errors.length >= MAX_ERRORS) break;
      this.line(l);
    }
    while (this.stack.length > 1) {
      const f = this.top;
      this.error('E_CONFIG_UNEXPECTED_EOF', `unexpected end of file: ${f.word} '${shown(f.name)}' opened here is never closed (add a line with only '}')`, f.line, f.column);
      this.close();
    }
    this.finishGlobal();
  }

  private line({ line, tokens }: TokenLine): void {
    const first = tokens[0];
    if (first.text === '}') {
      if (tokens.length > 1) this.error('E_CONFIG_UNEXPECTED_ARGS', `unexpected arguments after '}': it must be alone on its line`, line, tokens[1].column);
      if (this.stack.length === 1) this.error('E_CONFIG_UNEXPECTED_BRACE', `'}' closes nothing: no virtual or server block is open here`, line, first.column);
      else this.close();
      return;
    }
    if (first.text === '{' && tokens.length === 1 && this.top.awaitingBrace) {
      this.top.awaitingBrace = false;
      return;
    }
    this.top.awaitingBrace = false;
    if (['virtual', 'failover', 'server'].includes(first.text)) this.openBlock(line, tokens);
    else this.keyLine(line, tokens);
  }

  private openBlock(line: number, tokens: Token[]): void {
    const word = tokens[0].text;
    const wantScope: Scope = word === 'server' ? 'virtual' : 'global';
    let discard = false;
    if (this.top.scope !== wantScope) {
      const outer = this.stack.findIndex((f) => f.scope === wantScope);
      if (outer >= 0) {
        const f = this.top;
        this.error('E_CONFIG_UNCLOSED_BLOCK', `'${word}' cannot appear inside ${f.word} '${shown(f.name)}' (opened at line ${f.line}): a '}' is missing before this line`, line, tokens[0].column);
        while (this.stack.length > outer + 1) this.close();
      } else {
        this.error('E_CONFIG_MISPLACED_BLOCK', `'server' blocks belong inside a virtual block`, line, tokens[0].column);
        discard = true;
      }
    }
    const afterWord = tokens[0].column + word.length + 1;
    let name = tokens[1]?.text ?? '';
    let awaitingBrace = false;
    if (tokens.length < 2 || (tokens.length === 2 && tokens[1].text === '{')) {
      this.error('E_CONFIG_MISSING_VALUE', `missing name: write '${word} NAME {'`, line, tokens[1]?.column ?? afterWord);
      name = '';
    } else if (tokens.length === 2 || tokens[2].text !== '{') {
      const col = tokens[2]?.column ?? tokens[1].column + tokens[1].text.length + (tokens[1].quote ? 2 : 0) + 1;
      this.error('E_CONFIG_EXPECTED_BRACE', `expected '{' after '${word} ${shown(name)}' on the same line`, line, col);
      awaitingBrace = tokens.length === 2;
    } else if (tokens.length > 3) {
      this.error('E_CONFIG_UNEXPECTED_ARGS', `unexpected arguments after '${word} ${shown(name)} {'`, line, tokens[3].column);
    }
    const source = { file: this.file, line };
    let target: object;
    if (word === 'server') {
      const parent = this.top.target as VirtualServiceConfig;
      const s = defaultServer(name, discard ? 80 : parent.port, source);
      if (!discard) {
        parent.servers.push(s);
        this.top.serversParsed = true;
      }
      target = s;
    } else {
      const v = defaultVirtual(name, source);
      (word === 'failover' ? this.cfg.failoverServices! : this.cfg.virtuals).push(v);
      target = v;
    }
    this.stack.push({ scope: word === 'server' ? 'server' : 'virtual', word, name, line, column: tokens[0].column, target, seen: new Map(), discard, awaitingBrace, serversParsed: false });
  }

  private unknownKey(line: number, tok: Token): void {
    const scope = this.top.scope;
    const word = tok.text;
    const eq = word.indexOf('=');
    if (eq > 0 && (['global', 'virtual', 'server'] as Scope[]).some((s) => findKey(s, word.slice(0, eq)))) {
      this.error('E_CONFIG_EXPECTED_EQUALS', `'=' must be a separate token: write '${word.slice(0, eq)} = ${shown(word.slice(eq + 1))}'`, line, tok.column + eq);
      return;
    }
    const elsewhere = (['global', 'virtual', 'server'] as Scope[]).filter((s) => s !== scope && findKey(s, word));
    if (elsewhere.length > 0) {
      this.error('E_CONFIG_MISPLACED_KEY', `'${word}' is a ${elsewhere[0]} key; it is not allowed ${scope === 'global' ? 'at the top level' : `in a ${scope} block`}`, line, tok.column);
      return;
    }
    const candidates = [...KEYS_BY_SCOPE[scope].map((k) => k.name), ...BLOCK_WORDS[scope]];
    const hint = suggest(eq > 0 ? word.slice(0, eq) : word, candidates);
    const where = scope === 'global' ? 'at the top level' : `in a ${scope} block`;
    this.error('E_CONFIG_UNKNOWN_KEY', `unknown key '${shown(word)}' ${where}${hint ? ` (did you mean '${hint}'?)` : ''}`, line, tok.column);
  }

  private keyLine(line: number, tokens: Token[]): void {
    const frame = this.top;
    const keyTok = tokens[0];
    const def = findKey(frame.scope, keyTok.text);
    if (!def) return this.unknownKey(line, keyTok);
    const eqTok = tokens[1];
    if (!eqTok || eqTok.text !== '=') {
      const col = eqTok?.column ?? keyTok.column + keyTok.text.length + 1;
      const glued = eqTok && eqTok.text.startsWith('=') ? `: '=' must be a separate token (write '${def.name} = ${shown(eqTok.text.slice(1))}')` : ` (write '${def.name} = VALUE')`;
      this.error('E_CONFIG_EXPECTED_EQUALS', `equal (=) expected after '${def.name}'${glued}`, line, col);
      return;
    }
    const values = tokens.slice(2);
    if (!this.checkArity(line, def, eqTok, values)) return;
    const ctx: ConvertContext = {
      file: this.file, line, resolveHost: this.resolveHost, resolveService: this.resolveService,
      warn: (code, message, column) => this.warn(code, message, line, column),
    };
    const value = convertValue(ctx, def, values);
    if (value instanceof DirectordError) {
      if (this.errors.length < MAX_ERRORS) this.errors.push(value);
      return;
    }
    const prev = frame.seen.get(def.name);
    if (prev !== undefined) this.warn('W_CONFIG_DUPLICATE_KEY', `'${def.name}' is set again (first at line ${prev}); the last value wins`, line, keyTok.column);
    frame.seen.set(def.name, line);
    if (def.ignored) this.warn('W_CONFIG_IGNORED_KEY', `'${def.name}' is accepted but ignored: ${def.ignored}`, line, keyTok.column);
    if (frame.scope === 'virtual' && def.name === 'port' && frame.serversParsed) {
      this.warn('W_CONFIG_PORT_AFTER_SERVER', `'port' comes after server blocks: servers above keep the port in force when they were read (Piranha behaviour); put 'port' before the servers`, line, keyTok.column);
    }
    if (frame.discard) return;
    def.set(frame.target, value);
    recordLocation(frame.target, def.name, { line, column: values[0].column });
  }

  private checkArity(line: number, def: KeyDef, eqTok: Token, values: Token[]): boolean {
    const missingCol = eqTok.column + 2;
    if (def.kind === 'list') {
      const ok = values.length >= 2 && values[0].text === '[' && values[values.length - 1].text === ']' && values.slice(1, -1).every((t) => t.text !== ']');
      if (!ok) this.error('E_CONFIG_BAD_VALUE', `list expected for ${def.name}: write '${def.name} = [ a b c ]'`, line, values[0]?.column ?? missingCol);
      return ok;
    }
    const n = def.kind === 'ip-list' ? Math.max(1, values.length) : arity(def);
    if (values.length < n) {
      const what = n === 2 ? `'${def.name} = IP DEVICE' (two values)` : `'${def.name} = VALUE'`;
      this.error('E_CONFIG_MISSING_VALUE', `missing arguments: write ${what}`, line, values[0]?.column ?? missingCol);
      return false;
    }
    if (values.length > n) {
      const extra = values[n];
      const hint = extra.text.startsWith('#') && !extra.quote
        ? `: '#' starts a comment only at the beginning of a line; move the comment to its own line`
        : n === 1 ? ` (quote a value that contains blanks: "...")` : '';
      this.error('E_CONFIG_UNEXPECTED_ARGS', `unexpected arguments after the value of '${def.name}'${hint}`, line, extra.column);
      return false;
    }
    return true;
  }

  private close(): void {
    const f = this.stack.pop()!;
    if (f.discard) return;
    if (f.scope === 'virtual') finishVirtual(f.target as VirtualServiceConfig);
  }

  private finishGlobal(): void {
    const g = this.cfg.global;
    const seen = this.stack[0].seen;
    // lvsconfig.c: without primary_private both private addresses fall back to the public ones.
    if (seen.has('primary') && !seen.has('primary_private')) {
      if (seen.has('backup_private')) this.warn('W_CONFIG_IGNORED_KEY', `'backup_private' is ignored unless 'primary_private' is also set (Piranha behaviour)`, seen.get('backup_private')!, 1);
      g.primaryPrivate = g.primary;
      g.backupPrivate = g.backup;
    }
    // pulse: "Undefined backup node marked as active? -- clearing that!"
    if (g.backupActive && !g.backup && !g.scaleOut) { // scale-out refuses backup_active itself (validate.ts)
      this.warn('W_CONFIG_BACKUP_UNDEFINED', `backup_active = 1 but no 'backup' is defined: backup_active is cleared (as pulse does)`, seen.get('backup_active') ?? 1, 1);
      g.backupActive = false;
    }
  }
}

/** Piranha's derived values: reentry 0 means 180, pmask /32 means "no mask"; directord's interval and rise. */
export function finishVirtual(v: VirtualServiceConfig): void {
  if (v.reentry === 0) v.reentry = 180;
  if (v.pmask === '255.255.255.255' || v.pmask === '0.0.0.0') v.pmask = undefined;
  if (v.vipNetmask === '0.0.0.0') v.vipNetmask = undefined;
  if (v.interval === undefined && v.timeout > 0) v.interval = v.timeout;
  if (v.rise === undefined && v.timeout > 0 && v.reentry >= 0) v.rise = Math.floor(v.reentry / v.timeout);
  if (v.check === 'mysql') ensureMysqlCheck(v);
}

/** Parse lvs.cf text. Throws DirectordErrors listing every syntax error; warnings land in `cfg.warnings`. */
export function parseConfig(text: string, file = 'lvs.cf', opts: ParseOptions = {}): LvsConfig {
  const { lines, errors } = lex(text, file);
  const p = new Parser(file, opts);
  p.errors.push(...errors.slice(0, MAX_ERRORS));
  if (lines.length === 0 && errors.length === 0) {
    throw new DirectordErrors([new DirectordError('E_CONFIG_EMPTY', 'empty configuration: the file has no keys (only blank or comment lines)', { location: { file, line: 1, column: 1 } })]);
  }
  p.run(lines);
  if (p.errors.length > 0) {
    const sorted = [...p.errors].sort((a, b) => a.location!.line - b.location!.line || a.location!.column - b.location!.column);
    throw new DirectordErrors(sorted);
  }
  p.warnings.sort((a, b) => a.location!.line - b.location!.line);
  return p.cfg;
}
