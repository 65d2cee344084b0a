// Line-oriented tokenizer for lvs.cf, following Piranha's lvsconfig.c (getNextToks/tokenizeString):
// blank-separated tokens, `#` comments only as a line's first non-blank, quoted tokens without escapes.
import { DirectordError } from '../errors';

export type QuoteChar = '' | '"' | "'";

export interface Token {
  /** The token's text, quotes removed (lvsconfig.c's argv[i]). */
  text: string;
  /** The quote that enclosed it, '' for a bare token (lvsconfig.c's quoteType[i]). */
  quote: QuoteChar;
  /** 1-based column of the token's first character (its opening quote, if quoted). */
  column: number;
}

export interface TokenLine {
  line: number;
  tokens: Token[];
}

export interface LexResult {
  lines: TokenLine[];
  errors: DirectordError[];
}

/** isblank(): only space and tab separate tokens; other control characters are token text, as in C. */
function isBlank(ch: string): boolean {
  return ch === ' ' || ch === '\t';
}

/** Split into physical lines: a line ends at LF, CR or CRLF (Piranha handles DOS files). */
export function splitLines(text: string): string[] {
  return text.split(/\r\n|\r|\n/);
}

function tokenizeLine(body: string, lineNo: number, file: string): Token[] | DirectordError {
  const tokens: Token[] = [];
  let i = 0;
  while (i < body.length) {
    while (i < body.length && isBlank(body[i])) i++;
    if (i >= body.length) break;
    const start = i;
    const ch = body[i];
    if (ch === '"' || ch === "'") {
      const close = body.indexOf(ch, i + 1);
      const where = { file, line: lineNo, column: start + 1 };
      if (close < 0) {
        return new DirectordError('E_CONFIG_QUOTE_MISMATCH', `quotation mismatch: the ${ch} opened here is never closed on this line (values cannot span lines)`, { location: where });
      }
      if (close + 1 < body.length && !isBlank(body[close + 1])) {
        return new DirectordError('E_CONFIG_QUOTE_MISMATCH', `quotation mismatch: text follows the closing ${ch} at column ${close + 1} (a quoted value cannot contain its own quote character)`, { location: where });
      }
      tokens.push({ text: body.slice(i + 1, close), quote: ch, column: start + 1 });
      i = close + 1;
    } else {
      while (i < body.length && !isBlank(body[i])) i++;
      tokens.push({ text: body.slice(start, i), quote: '', column: start + 1 });
    }
  }
  return tokens;
}

/**
 * Tokenize a whole file. Blank and whitespace-only lines and comment lines are dropped; a line with a quoting
 * error yields an error and no tokens, so the parser can go on and report further mistakes.
 */
export function lex(text: string, file: string): LexResult {
  const lines: TokenLine[] = [];
  const errors: DirectordError[] = [];
  const physical = splitLines(text);
  for (let n = 0; n < physical.length; n++) {
    const body = physical[n];
    let first = 0;
    while (first < body.length && isBlank(body[first])) first++;
    if (first >= body.length || body[first] === '#') continue;
    const result = tokenizeLine(body, n + 1, file);
    if (result instanceof DirectordError) errors.push(result);
    else lines.push({ line: n + 1, tokens: result });
  }
  return { lines, errors };
}
