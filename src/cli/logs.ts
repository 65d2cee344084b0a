// `directorctl logs`: directord's JSON log lines made readable for people, without dev packages (pino-pretty is one):
// from journalctl (-u directord -o cat, with -f/-n/--since/-p passed on), or from stdin with `-`.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { DirectordError } from '../errors';
import type { CliIo } from './io';

const SKIP = new Set(['level', 'time', 'pid', 'subsystem', 'msg', 'hostname']);

/** One log line as `TIME LEVEL [subsystem] message key=value …`; a line that is not JSON passes unchanged. */
export function formatLogLine(line: string): string {
  const raw = line.replace(/^<\d>/, ''); // a syslog priority prefix (a saved stdout, not through journald)
  let rec: Record<string, unknown>;
  try {
    rec = JSON.parse(raw) as Record<string, unknown>;
  } catch {
    return line;
  }
  if (!rec || typeof rec !== 'object' || Array.isArray(rec)) return line;
  const level = String(rec.level ?? '').toUpperCase().padEnd(5);
  const sub = rec.subsystem ? `[${String(rec.subsystem)}] ` : '';
  const rest = Object.entries(rec)
    .filter(([k]) => !SKIP.has(k))
    .map(([k, v]) => `${k}=${typeof v === 'string' && !/\s/.test(v) ? v : JSON.stringify(v)}`);
  return `${String(rec.time ?? '')} ${level} ${sub}${String(rec.msg ?? '')}${rest.length ? ' ' + rest.join(' ') : ''}`;
}

const PASSED_ON = ['-f', '--follow', '-n', '--lines', '--since', '--until', '-p', '--priority', '-b', '--boot'];
const TAKES_VALUE = new Set(['-n', '--lines', '--since', '--until', '-p', '--priority']);

/** journalctl's arguments for `directorctl logs WORDS`; a word it does not know is a usage error. */
export function journalctlArgs(words: string[], unit = 'directord'): string[] {
  const out = ['-u', unit, '-o', 'cat', '--no-pager'];
  for (let i = 0; i < words.length; i++) {
    const w = words[i];
    const name = w.includes('=') ? w.slice(0, w.indexOf('=')) : w;
    if (!PASSED_ON.includes(name)) throw new DirectordError('E_CLI_USAGE', `logs: unknown option '${w}' (logs [-f] [-n N] [--since T] [--until T] [-p PRIORITY] [-b] | logs -)`);
    out.push(w);
    if (TAKES_VALUE.has(w)) {
      const v = words[++i];
      if (v === undefined) throw new DirectordError('E_CLI_USAGE', `logs: ${w} needs a value`);
      out.push(v);
    }
  }
  return out;
}

async function pump(input: Readable, io: CliIo): Promise<void> {
  const rl = createInterface({ input, crlfDelay: Infinity });
  for await (const line of rl) io.out(formatLogLine(line) + '\n');
}

export async function runLogs(words: string[], io: CliIo, stdin: Readable = process.stdin): Promise<number> {
  if (words.length === 1 && words[0] === '-') {
    await pump(stdin, io);
    return 0;
  }
  const args = journalctlArgs(words);
  const child = spawn('journalctl', args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<number>((resolve, reject) => {
    child.once('error', (e) => reject(new DirectordError('E_CLI_JOURNALCTL', `cannot run journalctl: ${e.message} (or pipe the log in: directorctl logs - < file)`)));
    child.once('close', (code) => resolve(code ?? 1));
  });
  await pump(child.stdout, io);
  return (await exited) === 0 ? 0 : 1;
}
