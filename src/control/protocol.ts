// The control protocol's wire format: newline-delimited JSON, one request or reply per line, with request ids.
// Pure codec (no sockets), so the fuzz test and the CLI share exactly what the daemon accepts.
import { DirectordError } from '../errors';

/** Stable reply codes; docs/operations.md has the table with the matching directorctl exit status. */
export const ControlErrorCode = {
  BadRequest: 'E_CTL_BAD_REQUEST',
  UnknownCommand: 'E_CTL_UNKNOWN_COMMAND',
  BadArgs: 'E_CTL_BAD_ARGS',
  TooLarge: 'E_CTL_TOO_LARGE',
  Permission: 'E_CTL_PERMISSION',
  Timeout: 'E_CTL_TIMEOUT',
  Busy: 'E_CTL_BUSY',
  UnknownServer: 'E_CTL_UNKNOWN_SERVER',
  Unavailable: 'E_CTL_UNAVAILABLE',
  ReloadFailed: 'E_CTL_RELOAD_FAILED',
  Internal: 'E_CTL_INTERNAL',
  NotRunning: 'E_CTL_NOT_RUNNING',
  AlreadyRunning: 'E_CTL_ALREADY_RUNNING',
  SocketPath: 'E_CTL_SOCKET_PATH',
  BadReply: 'E_CTL_BAD_REPLY',
} as const;

export type RequestId = string | number;

export interface ControlRequest {
  id: RequestId;
  cmd: string;
  args: Record<string, unknown>;
}

export interface ControlError {
  code: string;
  message: string;
  details?: Record<string, unknown>;
}

export type ControlReply =
  | { id: RequestId | null; ok: true; result: unknown }
  | { id: RequestId | null; ok: false; error: ControlError };

export const DEFAULT_MAX_LINE_BYTES = 64 * 1024;

/**
 * Splits a byte stream into lines; refuses a line longer than the limit *before* buffering it all,
 * so a peer cannot make the daemon hold unbounded memory.
 */
export class LineDecoder {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  constructor(private readonly maxLineBytes = DEFAULT_MAX_LINE_BYTES) {}

  /** Returns the complete lines in this chunk; throws E_CTL_TOO_LARGE when a line exceeds the limit. */
  push(chunk: Buffer): string[] {
    const lines: string[] = [];
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, start);
      if (nl < 0) break;
      const piece = chunk.subarray(start, nl);
      if (this.pendingBytes + piece.length > this.maxLineBytes) throw tooLarge(this.maxLineBytes);
      this.pending.push(piece);
      lines.push(Buffer.concat(this.pending).toString('utf8'));
      this.pending = [];
      this.pendingBytes = 0;
      start = nl + 1;
    }
    const rest = chunk.subarray(start);
    if (rest.length > 0) {
      if (this.pendingBytes + rest.length > this.maxLineBytes) throw tooLarge(this.maxLineBytes);
      this.pending.push(Buffer.from(rest));
      this.pendingBytes += rest.length;
    }
    return lines;
  }
}

function tooLarge(limit: number): DirectordError {
  return new DirectordError(ControlErrorCode.TooLarge, `request line longer than ${limit} bytes`, { details: { limit } });
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The id of a request when it can be read at all, so even a bad request's error reply is attributable. */
export function peekRequestId(line: string): RequestId | null {
  try {
    const v: unknown = JSON.parse(line);
    if (isPlainObject(v) && (typeof v.id === 'string' || typeof v.id === 'number')) return v.id;
  } catch {
    /* not JSON: no id */
  }
  return null;
}

/** Parse one request line; every malformation is an E_CTL_BAD_REQUEST with a message saying what is wrong. */
export function parseRequest(line: string): ControlRequest {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch (e) {
    throw new DirectordError(ControlErrorCode.BadRequest, `request is not valid JSON: ${(e as Error).message}`);
  }
  if (!isPlainObject(v)) throw new DirectordError(ControlErrorCode.BadRequest, 'request must be a JSON object {"id", "cmd", "args"}');
  const { id, cmd, args } = v;
  if (!(typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id)))) {
    throw new DirectordError(ControlErrorCode.BadRequest, "request needs an 'id' (string or number)");
  }
  if (typeof id === 'string' && id.length > 128) throw new DirectordError(ControlErrorCode.BadRequest, "'id' longer than 128 characters");
  if (typeof cmd !== 'string' || cmd.length === 0 || cmd.length > 64) {
    throw new DirectordError(ControlErrorCode.BadRequest, "request needs a 'cmd' (non-empty string)");
  }
  if (args !== undefined && !isPlainObject(args)) throw new DirectordError(ControlErrorCode.BadRequest, "'args' must be an object");
  return { id, cmd, args: (args as Record<string, unknown> | undefined) ?? {} };
}

export function encodeRequest(req: ControlRequest): string {
  return JSON.stringify(req) + '\n';
}

export function okReply(id: RequestId | null, result: unknown): ControlReply {
  return { id, ok: true, result: result ?? null };
}

export function errorReply(id: RequestId | null, err: unknown): ControlReply {
  if (err instanceof DirectordError) {
    return { id, ok: false, error: { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) } };
  }
  return { id, ok: false, error: { code: ControlErrorCode.Internal, message: err instanceof Error ? err.message : String(err) } };
}

export function encodeReply(reply: ControlReply): string {
  return JSON.stringify(reply) + '\n';
}

/** Client side: a reply line back into a typed reply, or E_CTL_BAD_REPLY. */
export function parseReply(line: string): ControlReply {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    throw new DirectordError(ControlErrorCode.BadReply, 'daemon sent a reply that is not JSON');
  }
  if (!isPlainObject(v) || typeof v.ok !== 'boolean') throw new DirectordError(ControlErrorCode.BadReply, 'daemon sent a malformed reply');
  if (v.ok === false) {
    const e = v.error;
    if (!isPlainObject(e) || typeof e.code !== 'string' || typeof e.message !== 'string') {
      throw new DirectordError(ControlErrorCode.BadReply, 'daemon sent a malformed error reply');
    }
  }
  return v as unknown as ControlReply;
}
