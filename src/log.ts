// The pino root logger and one child per subsystem; JSON to stdout so journald keeps it.
// Tests pass their own destination stream to assert on parsed records, not on strings.
import pino, { type Logger, type DestinationStream, type LevelWithSilent } from 'pino';

export type { Logger };

export type Subsystem = 'main' | 'config' | 'scheduler' | 'dataplane' | 'health' | 'ha' | 'control' | 'metrics' | 'cli';

export interface LogOptions {
  level?: LevelWithSilent;
  destination?: DestinationStream;
  /** Fields on every record, e.g. the node name in a two-director lab. */
  base?: Record<string, unknown>;
}

export function createRootLogger(opts: LogOptions = {}): Logger {
  const options = {
    level: opts.level ?? 'info',
    base: { pid: process.pid, ...(opts.base ?? {}) },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
  };
  return opts.destination ? pino(options, opts.destination) : pino(options);
}

export function subsystemLogger(root: Logger, subsystem: Subsystem): Logger {
  return root.child({ subsystem });
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
