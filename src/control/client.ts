// directorctl's side of the control protocol: one request, one reply, with errors an operator can act on.
import { connect } from 'node:net';
import { DirectordError } from '../errors';
import { ControlErrorCode, LineDecoder, encodeRequest, parseReply } from './protocol';

export interface RequestOptions {
  timeoutMs?: number;
}

let nextId = 1;

/** Send one command and resolve with its result; a daemon error reply is rethrown as a DirectordError with its code. */
export function request(socketPath: string, cmd: string, args: Record<string, unknown> = {}, opts: RequestOptions = {}): Promise<unknown> {
  const id = `${process.pid}-${nextId++}`;
  const timeoutMs = opts.timeoutMs ?? 30_000;
  return new Promise((resolve, reject) => {
    const sock = connect({ path: socketPath });
    const decoder = new LineDecoder(64 * 1024 * 1024);
    let done = false;
    const finish = (fn: () => void): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      fn();
    };
    const timer = setTimeout(
      () => finish(() => reject(new DirectordError(ControlErrorCode.Timeout, `no answer from directord on ${socketPath} within ${timeoutMs} ms`))),
      timeoutMs,
    );
    sock.once('connect', () => sock.write(encodeRequest({ id, cmd, args })));
    sock.on('error', (e: NodeJS.ErrnoException) => finish(() => reject(connectError(socketPath, e))));
    sock.on('data', (chunk: Buffer) => {
      let lines: string[];
      try {
        lines = decoder.push(chunk);
      } catch (e) {
        finish(() => reject(e));
        return;
      }
      for (const line of lines) {
        try {
          const reply = parseReply(line);
          if (reply.id !== id && reply.id !== null) continue;
          if (reply.ok) finish(() => resolve(reply.result));
          else finish(() => reject(new DirectordError(reply.error.code, reply.error.message, { details: reply.error.details })));
        } catch (e) {
          finish(() => reject(e));
        }
        return;
      }
    });
    sock.on('end', () =>
      finish(() => reject(new DirectordError(ControlErrorCode.BadReply, `directord closed the connection on ${socketPath} without answering`))),
    );
  });
}

export function connectError(path: string, e: NodeJS.ErrnoException): DirectordError {
  switch (e.code) {
    case 'ENOENT':
      return new DirectordError(ControlErrorCode.NotRunning, `directord is not running (no control socket at ${path}); start it with 'systemctl start directord'`, {
        details: { path, errno: e.code },
      });
    case 'ECONNREFUSED':
      return new DirectordError(ControlErrorCode.NotRunning, `directord is not running (${path} refuses connections: a stale socket); start it with 'systemctl start directord'`, {
        details: { path, errno: e.code },
      });
    case 'EACCES':
    case 'EPERM':
      return new DirectordError(ControlErrorCode.Permission, `permission denied on ${path}: run as root or as a member of group 'directord'`, {
        details: { path, errno: e.code },
      });
    default:
      return new DirectordError(ControlErrorCode.NotRunning, `cannot reach directord on ${path}: ${e.message}`, { details: { path, errno: e.code } });
  }
}
