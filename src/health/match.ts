// Pure comparison rules of nanny's probes: expect as a prefix of the first read, `*`, extended regex,
// send_program's argv splitting and its output comparison. Kept apart from sockets so they are table-tested.
import type { CheckFailureReason } from './reasons';

export const REGEX_READ_LIMIT = 254;
export const PROGRAM_OUTPUT_LIMIT = 4095;

/** How many bytes the probe reads before judging: strlen(expect), or up to 254 with use_regex. */
export function bytesWanted(expect: string, useRegex: boolean): number {
  if (useRegex) return REGEX_READ_LIMIT;
  return Buffer.byteLength(expect, 'latin1');
}

const POSIX_CLASSES: Record<string, string> = {
  alpha: 'A-Za-z', digit: '0-9', alnum: 'A-Za-z0-9', upper: 'A-Z', lower: 'a-z', space: ' \\t\\r\\n\\v\\f',
  blank: ' \\t', xdigit: '0-9A-Fa-f', punct: '!-\\/:-@\\[-`{-~', cntrl: '\\x00-\\x1f\\x7f', print: ' -~', graph: '!-~',
};

/** POSIX ERE → JS RegExp: the bracket classes ([[:digit:]]) are the part of ERE that JS spells differently. */
export function ereToRegExp(expr: string): RegExp {
  return new RegExp(expr.replace(/\[:([a-z]+):\]/g, (m, name: string) => POSIX_CLASSES[name] ?? m));
}

export type MatchVerdict = { ok: true } | { ok: false; reason: Extract<CheckFailureReason, 'read_too_short' | 'expect_mismatch' | 'bad_regex'>; detail: string };

/**
 * nanny: `*` accepts whatever the first read returns, even nothing: a server that accepts and closes (a 0-byte
 * read at EOF, or an empty UDP datagram) passes, as nanny turns that read into "*". Otherwise the read must be at least strlen(expect) bytes and start with expect.
 * With use_regex, expect is a POSIX extended regex, unanchored, on the bytes read (JS RegExp syntax stands in
 * for ERE: the common subset is identical; see docs/compatibility.md).
 */
export function matchExpect(expect: string, useRegex: boolean, got: Buffer): MatchVerdict {
  const text = got.toString('latin1');
  if (useRegex) {
    let re: RegExp;
    try {
      re = ereToRegExp(expect);
    } catch (e) {
      return { ok: false, reason: 'bad_regex', detail: String((e as Error).message) };
    }
    return re.test(text.slice(0, REGEX_READ_LIMIT)) ? { ok: true } : { ok: false, reason: 'expect_mismatch', detail: printable(text) };
  }
  if (expect === '*') return { ok: true };
  const want = Buffer.from(expect, 'latin1');
  if (got.length < want.length) return { ok: false, reason: 'read_too_short', detail: `${got.length} < ${want.length}` };
  return got.subarray(0, want.length).equals(want) ? { ok: true } : { ok: false, reason: 'expect_mismatch', detail: printable(text.slice(0, want.length)) };
}

/** For log fields: control bytes escaped, bounded length. */
export function printable(s: string, max = 64): string {
  return JSON.stringify(s.length > max ? s.slice(0, max) + '…' : s).slice(1, -1);
}

/**
 * nanny splits send_program on spaces (strtok, so runs of spaces are one separator) and replaces tokens that are
 * exactly `%h` (real server address) or `%p` (real port). Substrings such as `host=%h` are left alone, as in nanny.
 */
export function programArgv(program: string, address: string, port: number): string[] {
  return program
    .split(' ')
    .filter((t) => t.length > 0)
    .map((t) => (t === '%h' ? address : t === '%p' ? String(port) : t));
}

/**
 * nanny drops the last byte of the program's output unconditionally, assuming a newline. directord drops it only
 * when it is a newline, so `printf OK` matches `expect = "OK"` too, and `echo OK` behaves exactly as in nanny.
 */
export function programOutputText(out: Buffer): string {
  let s = out.subarray(0, PROGRAM_OUTPUT_LIMIT).toString('latin1');
  if (s.endsWith('\n')) s = s.slice(0, -1);
  return s;
}

export type ProgramVerdict = { ok: true } | { ok: false; reason: Extract<CheckFailureReason, 'program_exit' | 'program_timeout' | 'program_output_mismatch' | 'program_failed' | 'program_no_expect'>; detail: string };

/**
 * Exit status and output to a verdict. A non-zero exit or a timeout is DOWN (nanny counted it as UP: its bug).
 * Without expect, exit 0 is UP; nanny never passes a program without expect, kept behind `needsExpect`
 * (lvs.cf send_program_needs_expect = 1): a check that can never pass only hides a server, so it is not the default.
 */
export function judgeProgram(expect: string | undefined, r: { exitCode: number | null; signal: string | null; timedOut: boolean; stdout: Buffer; spawnError?: string }, needsExpect = false): ProgramVerdict {
  if (r.spawnError) return { ok: false, reason: 'program_failed', detail: r.spawnError };
  if (r.timedOut) return { ok: false, reason: 'program_timeout', detail: 'killed after timeout' };
  if (r.exitCode !== 0) return { ok: false, reason: 'program_exit', detail: r.signal ? `signal ${r.signal}` : `exit ${r.exitCode}` };
  if (expect === undefined) {
    return needsExpect ? { ok: false, reason: 'program_no_expect', detail: 'no expect and send_program_needs_expect = 1 (nanny never passes this)' } : { ok: true };
  }
  const text = programOutputText(r.stdout);
  return text === expect ? { ok: true } : { ok: false, reason: 'program_output_mismatch', detail: printable(text) };
}
