// Value conversions with the C library semantics Piranha relies on: strtol(…, 0), inet_aton, nanny's
// convert_str and lvsd's strip_quotes. Pure functions; each returns undefined (or a reason) instead of throwing.

const INT_MAX = 2 ** 31 - 1;
const INT_MIN = -(2 ** 31);

export type IntResult = { ok: true; value: number } | { ok: false; reason: string };

/** strtol(tok, &end, 0) with the `*end` check of lvsconfig.c's getNum: 0x10 is hex, 010 is octal. */
export function parseCInteger(tok: string): IntResult {
  let s = tok.replace(/^[ \t\n\v\f\r]+/, '');
  let sign = 1;
  if (s[0] === '+' || s[0] === '-') {
    if (s[0] === '-') sign = -1;
    s = s.slice(1);
  }
  let digits: string;
  let radix: number;
  if (/^0[xX][0-9a-fA-F]/.test(s)) {
    digits = s.slice(2);
    radix = 16;
  } else if (s.startsWith('0')) {
    digits = s;
    radix = 8;
  } else {
    digits = s;
    radix = 10;
  }
  const valid = radix === 16 ? /^[0-9a-fA-F]+$/ : radix === 8 ? /^[0-7]+$/ : /^[0-9]+$/;
  if (!valid.test(digits)) {
    if (radix === 8 && /^[0-9]+$/.test(digits)) return { ok: false, reason: `'${shown(tok)}' is not an integer (a leading 0 means octal, and 8 and 9 are not octal digits)` };
    return { ok: false, reason: `'${shown(tok)}' is not an integer` };
  }
  const value = sign * parseInt(digits, radix);
  if (!Number.isSafeInteger(value) || value > INT_MAX || value < INT_MIN) return { ok: false, reason: `'${shown(tok)}' is out of range for an integer` };
  return { ok: true, value };
}

/** An integer as above, or a plain decimal fraction such as 0.5 (directord extension for timing keys). */
export function parseDecimal(tok: string): IntResult {
  if (/^[0-9]*\.[0-9]+$|^[0-9]+\.$/.test(tok)) {
    // Microsecond resolution and int range keep every value printable as a plain decimal again.
    if (/\.[0-9]{7,}$/.test(tok)) return { ok: false, reason: `'${shown(tok)}' has more than 6 decimal places` };
    const value = Number(tok);
    if (value > INT_MAX) return { ok: false, reason: `'${shown(tok)}' is out of range` };
    return { ok: true, value };
  }
  const i = parseCInteger(tok);
  return i.ok ? i : { ok: false, reason: `'${shown(tok)}' is not a number (integer, or decimal such as 0.5)` };
}

function parseCUnsigned(part: string): number | undefined {
  if (part === '') return undefined;
  if (/^0[xX][0-9a-fA-F]+$/.test(part)) return parseInt(part.slice(2), 16);
  if (/^0[0-7]*$/.test(part)) return parseInt(part, 8);
  if (/^[1-9][0-9]*$/.test(part)) return parseInt(part, 10);
  return undefined;
}

/** inet_aton: a, a.b, a.b.c or a.b.c.d, each part decimal, 0x hex or 0 octal. Returns the dotted quad. */
export function inetAton(tok: string): string | undefined {
  const parts = tok.split('.');
  if (parts.length < 1 || parts.length > 4) return undefined;
  const nums: number[] = [];
  for (const p of parts) {
    if (p.length > 12) return undefined;
    const n = parseCUnsigned(p);
    if (n === undefined) return undefined;
    nums.push(n);
  }
  const last = nums[nums.length - 1];
  const lastBits = 32 - 8 * (nums.length - 1);
  if (last >= 2 ** lastBits) return undefined;
  for (let i = 0; i < nums.length - 1; i++) if (nums[i] > 255) return undefined;
  let value = 0;
  for (let i = 0; i < nums.length - 1; i++) value = value * 256 + nums[i];
  value = value * 2 ** lastBits + last;
  return uint32ToIp(value);
}

export function uint32ToIp(v: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(v / 2 ** s) % 256).join('.');
}

export function ipToUint32(ip: string): number {
  return ip.split('.').reduce((acc, p) => acc * 256 + Number(p), 0);
}

/** True when the mask's one bits are contiguous from the top (255.255.240.0 yes, 255.0.255.0 no). */
export function isContiguousMask(mask: string): boolean {
  const v = ipToUint32(mask);
  const inverted = 2 ** 32 - 1 - v;
  return (inverted & (inverted + 1)) === 0 || inverted === 2 ** 32 - 1;
}

export function maskPrefixLength(mask: string): number {
  let v = ipToUint32(mask);
  let n = 0;
  while (v >= 2 ** 31) {
    n++;
    v = (v - 2 ** 31) * 2;
  }
  return n;
}

/** lvsd.c strip_quotes: drop one leading and one trailing double quote, independently; single quotes stay. */
export function lvsdStripQuotes(s: string): string {
  let out = s.startsWith('"') ? s.slice(1) : s;
  if (out.length > 0 && out.endsWith('"')) out = out.slice(0, -1);
  return out;
}

const NANNY_ESCAPES: Record<string, string> = { '\\': '\\', r: '\r', n: '\n', t: '\t', "'": "'", '"': '"' };

export type ConvertResult = { ok: true; value: string } | { ok: false; column: number; reason: string };

/**
 * nanny.c convert_str: \\ \r \n \t \' \" become their characters; strings of length ≤ 1 are left alone.
 * Any other backslash makes nanny loop forever (it never advances past it), so it is reported instead.
 */
export function nannyConvert(s: string): ConvertResult {
  if (s.length <= 1) return { ok: true, value: s };
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (ch !== '\\') {
      out += ch;
      continue;
    }
    const next = s[i + 1];
    const mapped = next === undefined ? undefined : NANNY_ESCAPES[next];
    if (mapped === undefined) {
      const what = next === undefined ? 'a trailing \\' : `'\\${shown(next)}'`;
      return { ok: false, column: i, reason: `unsupported escape ${what} (nanny loops forever on it); supported: \\n \\r \\t \\\\ \\' \\" — write \\\\ for a literal backslash` };
    }
    out += mapped;
    i++;
  }
  return { ok: true, value: out };
}

/** Levenshtein distance, for "did you mean" suggestions. */
export function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0];
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j];
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length];
}

/** The closest candidate within a small distance, or undefined. */
export function suggest(word: string, candidates: readonly string[]): string | undefined {
  if (word.length > 64) return undefined;
  let best: string | undefined;
  let bestDist = Infinity;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c);
    if (d < bestDist) {
      best = c;
      bestDist = d;
    }
  }
  const limit = Math.max(2, Math.floor((best?.length ?? 0) / 3));
  return bestDist <= limit ? best : undefined;
}

/** A token as shown in a message: control characters escaped, long text cut, so errors stay one readable line. */
export function shown(text: string, max = 40): string {
  const cut = text.length > max ? `${text.slice(0, max)}…` : text;
  return cut.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** A VIP's device as lvs.cf names it (`eth0:1`, `eth0.100:1`): the device frames arrive on and, for the kernel's
 * VLAN device naming `PARENT.VID` (VID with or without zero padding), the 802.1Q VLAN id (0: untagged). A VID
 * outside 1..4094 is an error string. */
export function deviceVlan(device: string): { parent: string; vlan: number } | { error: string } {
  const dev = device.split(':')[0];
  const m = /^(.+)\.(\d+)$/.exec(dev);
  if (!m) return { parent: dev, vlan: 0 };
  const vid = Number(m[2]);
  if (m[2].length > 4 || vid < 1 || vid > 4094) return { error: `VLAN id ${m[2]} of device ${dev} is not 1..4094` };
  return { parent: m[1], vlan: vid };
}
