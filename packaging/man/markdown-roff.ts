// Turns the project's markdown docs into man(7) roff, so the man pages are generated from docs/ and never hand-kept.
// Handles the subset docs/ uses: headings, paragraphs, fenced code, pipe tables, bullet and numbered lists, inline marks.

/** Escapes text for roff: backslashes, and non-ASCII as \[uXXXX] (groff reads bytes; man-db's preconv is not everywhere). */
function escapeText(s: string): string {
  return s.replace(/\\/g, '\\e').replace(/[^\x00-\x7f]/gu, (c) => `\\[u${(c.codePointAt(0) as number).toString(16).toUpperCase().padStart(4, '0')}]`);
}

/** A line of roff text must not start with a control character. */
function guardLine(s: string): string {
  return /^[.']/.test(s) ? `\\&${s}` : s;
}

/** Inline markdown → roff fonts: `code` and **bold** in bold, *emphasis* in italics, links keep their text. */
export function inline(md: string): string {
  const parts = md.replace(/\[([^\]]+)\]\([^)]*\)/g, '$1').split(/(`[^`]*`)/);
  return parts
    .map((p) => {
      if (p.startsWith('`') && p.endsWith('`') && p.length >= 2) return `\\fB${escapeText(p.slice(1, -1)).replace(/-/g, '\\-')}\\fR`;
      return escapeText(p)
        .replace(/\*\*([^*]+)\*\*/g, '\\fB$1\\fR')
        .replace(/(^|[\s(])\*([^*\s][^*]*)\*/g, '$1\\fI$2\\fR');
    })
    .join('');
}

/** A table row's cells; a `|` inside backticks or escaped as `\\|` is text, not a separator. */
function cells(row: string): string[] {
  const out: string[] = [];
  let cur = '';
  let code = false;
  const s = row.trim().replace(/^\|/, '').replace(/\|$/, '');
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '\\' && s[i + 1] === '|') cur += s[++i];
    else if (s[i] === '`') (code = !code), (cur += '`');
    else if (s[i] === '|' && !code) out.push(cur.trim()), (cur = '');
    else cur += s[i];
  }
  out.push(cur.trim());
  return out;
}

/** A pipe table as a tagged list: the first cell is the tag, the others follow, named by their header when several. */
function table(rows: string[]): string[] {
  const header = cells(rows[0]);
  const body = rows.slice(2).map(cells);
  const out: string[] = [];
  for (const r of body) {
    out.push('.TP', guardLine(inline(r[0] || '(none)')));
    const rest = r.slice(1).map((c, i) => ({ name: header[i + 1], c })).filter((x) => x.c !== '');
    const text = rest.length === 1 && header.length === 2 ? inline(rest[0].c) : rest.map((x) => (x.name ? `${inline(x.name)}: ${inline(x.c)}` : inline(x.c))).join('.\n');
    if (text) out.push(...text.split('\n').map(guardLine));
  }
  return out;
}

/** Converts a markdown fragment (no `#` title) to roff lines; `##` becomes .SH (upper case), `###` .SS. */
export function markdownToRoff(md: string): string {
  const lines = md.replace(/\r\n?/g, '\n').split('\n');
  const out: string[] = [];
  let para: string[] = [];
  const flush = (): void => {
    if (para.length) out.push('.PP', ...para.map((l) => guardLine(inline(l))));
    para = [];
  };
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i];
    const line = raw.trim();
    if (line.startsWith('```')) {
      flush();
      const code: string[] = [];
      for (i++; i < lines.length && !lines[i].trim().startsWith('```'); i++) code.push(lines[i].replace(/^ {0,3}/, ''));
      out.push('.PP', '.EX', ...code.map((c) => guardLine(escapeText(c).replace(/-/g, '\\-'))), '.EE');
      continue;
    }
    const h = /^(#{2,4})\s+(.*)$/.exec(line);
    if (h) {
      flush();
      const raw = h[2].replace(/`/g, '');
      const quoted = (x: string): string => `"${escapeText(x).replace(/"/g, '\\(dq')}"`;
      out.push(h[1].length === 2 ? `.SH ${quoted(raw.toUpperCase())}` : `.SS ${quoted(raw)}`);
      continue;
    }
    if (line.startsWith('|')) {
      flush();
      const rows: string[] = [];
      for (; i < lines.length && lines[i].trim().startsWith('|'); i++) rows.push(lines[i]);
      i--;
      out.push(...table(rows));
      continue;
    }
    const item = /^(\s*)(-|\d+\.)\s+(.*)$/.exec(raw);
    if (item) {
      flush();
      const nested = item[1].length >= 2;
      if (nested) out.push('.RS 4');
      out.push(item[2] === '-' ? '.IP \\(bu 2' : `.IP ${item[2]} 4`);
      const text = [item[3]];
      // Continuation lines are indented and are neither a new item nor a fence.
      while (i + 1 < lines.length && /^\s+\S/.test(lines[i + 1]) && !/^\s*(-|\d+\.)\s/.test(lines[i + 1]) && !lines[i + 1].trim().startsWith('```')) text.push(lines[++i].trim());
      out.push(...text.map((l) => guardLine(inline(l))));
      if (nested) out.push('.RE');
      continue;
    }
    if (line === '') {
      flush();
      continue;
    }
    para.push(line);
  }
  flush();
  return out.join('\n') + '\n';
}

/** The sections of a markdown file under a `##` heading (the heading line included), up to the next `##`. */
export function section(md: string, heading: string): string {
  const lines = md.split('\n');
  const start = lines.findIndex((l) => l.trim() === `## ${heading}`);
  if (start < 0) throw new Error(`docs: no section '## ${heading}'`);
  let end = lines.findIndex((l, i) => i > start && /^## /.test(l));
  if (end < 0) end = lines.length;
  return lines.slice(start, end).join('\n');
}

/** Everything after the `#` title line (the page's NAME line replaces it). */
export function body(md: string): string {
  return md.replace(/^# .*\n/, '');
}
