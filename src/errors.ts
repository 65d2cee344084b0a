// One base error class for all of directord; callers branch on the stable `code`, never on the message.
// Config errors also carry file:line:column so an operator can jump straight to the problem.

export interface ErrorLocation {
  file: string;
  line: number;
  column: number;
}

export class DirectordError extends Error {
  readonly code: string;
  readonly location?: ErrorLocation;
  readonly details?: Record<string, unknown>;

  constructor(code: string, message: string, opts: { location?: ErrorLocation; details?: Record<string, unknown>; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'DirectordError';
    this.code = code;
    this.location = opts.location;
    this.details = opts.details;
  }

  /** `lvs.cf:27:3 E_CONFIG_UNKNOWN_KEY unknown key 'schedular'` for located errors, `CODE message` otherwise. */
  format(): string {
    const where = this.location ? `${this.location.file}:${this.location.line}:${this.location.column} ` : '';
    return `${where}${this.code} ${this.message}`;
  }

  toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, location: this.location, details: this.details };
  }
}

/** Several errors found in one pass (a config file usually has more than one mistake). */
export class DirectordErrors extends DirectordError {
  readonly errors: DirectordError[];
  constructor(errors: DirectordError[]) {
    super(errors[0]?.code ?? 'E_UNKNOWN', errors.map((e) => e.format()).join('\n'));
    this.name = 'DirectordErrors';
    this.errors = errors;
  }
  override format(): string {
    return this.errors.map((e) => e.format()).join('\n');
  }
}

export function isDirectordError(e: unknown): e is DirectordError {
  return e instanceof DirectordError;
}
