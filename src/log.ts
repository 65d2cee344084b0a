// The pino root logger and one child per subsystem; JSON to stdout so journald keeps it (with each line's priority).
// Tests pass their own destination stream to assert on parsed records, not on strings.
import { fstatSync, writeSync } from 'node:fs';
import pino, { type Logger, type DestinationStream, type LevelWithSilent } from 'pino';

export type { Logger };

export type Subsystem = 'main' | 'config' | 'scheduler' | 'dataplane' | 'health' | 'ha' | 'control' | 'metrics' | 'cli' | 'bgp';

export interface LogOptions {
  level?: LevelWithSilent;
  destination?: DestinationStream;
  /** Fields on every record, e.g. the node name in a two-director lab. */
  base?: Record<string, unknown>;
}

/** How long one line may wait on EAGAIN (a non-blocking stdout whose reader stalls) before it is dropped. */
const EAGAIN_BUDGET_MS = 1000;
const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** pino level → syslog priority (sd-daemon(3)): fatal is crit, so `journalctl -p err` finds it with the errors. */
const PRIORITY: Record<string, number> = { fatal: 2, error: 3, warn: 4, info: 6, debug: 7, trace: 7 };

/** `<N>` for a pino JSON line (its level comes first); info when the line carries none. */
export function priorityPrefix(line: string): string {
  const m = /^\{"level":"(\w+)"/.exec(line);
  return `<${(m && PRIORITY[m[1]]) ?? 6}>`;
}

/**
 * True when `fd` is the journal's stream: systemd sets JOURNAL_STREAM=dev:ino for the stdout/stderr it connects to
 * journald, and the check on dev:ino keeps a redirected stdout (a file, a pipe to pino-pretty) free of prefixes.
 */
export function isJournalStream(fd = 1, env: NodeJS.ProcessEnv = process.env): boolean {
  const m = /^(\d+):(\d+)$/.exec(env.JOURNAL_STREAM ?? '');
  if (!m) return false;
  try {
    const st = fstatSync(fd, { bigint: true });
    return st.dev === BigInt(m[1]) && st.ino === BigInt(m[2]);
  } catch {
    return false;
  }
}

/**
 * stdout written synchronously, one whole line per write, and never throwing: a full disk (ENOSPC), a closed pipe
 * (EPIPE) or a stalled reader costs log lines (counted, reported once writes work again), never the daemon or a
 * hang. pino's default stream (sonic-boom) retries a failed write forever at exit, and throws from the next log
 * call otherwise.
 */
export class StdoutSink implements DestinationStream {
  dropped = 0;
  private reported = 0;
  private lastError = '';

  /** `journal`: prefix each line with its `<N>` syslog priority, which journald reads (SyslogLevelPrefix=yes). */
  constructor(private readonly fd = 1, private readonly journal = false) {}

  write(line: string): void {
    if (this.dropped > this.reported && this.tryWrite(this.prefixed(this.lostLine()))) this.reported = this.dropped;
    if (!this.tryWrite(this.prefixed(line))) this.dropped++;
  }

  private prefixed(line: string): string {
    return this.journal ? priorityPrefix(line) + line : line;
  }

  private lostLine(): string {
    return JSON.stringify({ level: 'warn', time: new Date().toISOString(), pid: process.pid, subsystem: 'main', lost: this.dropped - this.reported, error: this.lastError, msg: 'log lines lost: stdout could not be written' }) + '\n';
  }

  /** The whole line or nothing more (a partial write is completed; an error gives up on the rest). */
  private tryWrite(line: string): boolean {
    let buf = Buffer.from(line);
    const deadline = Date.now() + EAGAIN_BUDGET_MS;
    while (buf.length > 0) {
      try {
        buf = buf.subarray(writeSync(this.fd, buf));
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code ?? String(e);
        if (code === 'EAGAIN' && Date.now() < deadline) {
          Atomics.wait(sleeper, 0, 0, 10);
          continue;
        }
        this.lastError = code;
        return false;
      }
    }
    return true;
  }
}

export function createRootLogger(opts: LogOptions = {}): Logger {
  const options = {
    level: opts.level ?? 'info',
    base: { pid: process.pid, ...(opts.base ?? {}) },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
  };
  return pino(options, opts.destination ?? new StdoutSink(1, isJournalStream(1)));
}

export function subsystemLogger(root: Logger, subsystem: Subsystem): Logger {
  return root.child({ subsystem });
}

/**
 * The one way out after a fatal error: one log record (the sink never throws or loops), then exit. A second fatal
 * error while the first is handled exits at once; the logger itself failing does not stop the exit.
 */
export function fatalExit(log: Logger, fields: Record<string, unknown>, msg: string, code = 1): never {
  try {
    log.fatal(fields, msg);
  } catch {
    /* nothing more can be said */
  }
  process.exit(code);
}

/** lvs.cf `debug_level` is parsed by Piranha but unused; directord maps it to a pino level when --log-level is absent. */
export function levelFromDebugLevel(debugLevel: string | undefined): LevelWithSilent {
  switch ((debugLevel ?? 'NONE').toUpperCase()) {
    case 'NONE':
    case 'LOW':
      return 'info';
    default:
      return 'debug';
  }
}

/** A silent logger for unit tests and library use. */
export const silentLogger: Logger = pino({ level: 'silent' });
