// The daemon's control server: UNIX sockets speaking the NDJSON protocol, dispatching through the command table.
// A full socket (0660, group directord) accepts every command; an opt-in read-only socket (0666) refuses mutating
// ones. Output per connection is bounded: a client that does not read its replies stops being read, then is dropped.
import { createServer, type Server, type Socket } from 'node:net';
import { lstatSync, unlinkSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from '../log';
import { DirectordError } from '../errors';
import { commandTable, findCommand, validateArgs, type ControlTarget } from './commands';
import { ControlErrorCode, LineDecoder, encodeReply, errorReply, okReply, parseRequest, peekRequestId, type ControlReply } from './protocol';
import { applySocketPermissions, claimSocketPath } from './socket-path';

export interface ControlServerOptions {
  socketPath: string;
  /** null = no read-only socket. */
  readOnlySocketPath: string | null;
  mode: number;
  readOnlyMode: number;
  group?: string;
  target: ControlTarget;
  logger: Logger;
  maxLineBytes: number;
  requestTimeoutMs: number;
  idleTimeoutMs: number;
  maxConnections: number;
  maxPendingPerConnection: number;
  /** Unsent reply bytes for one client above which no further request of it is read or run (until it drains). */
  outputSoftLimitBytes?: number;
  /** Unsent reply bytes above which the client is dropped (counted in droppedClients, logged). */
  outputHardLimitBytes?: number;
}

interface Listener {
  server: Server;
  path: string;
  ino: number;
}

/** Run one request line through the command table; never throws (every failure becomes an error reply). */
export async function dispatchLine(target: ControlTarget, line: string, readOnly: boolean, timeoutMs: number): Promise<ControlReply> {
  const id = peekRequestId(line);
  try {
    const req = parseRequest(line);
    const spec = findCommand(req.cmd);
    if (!spec) {
      throw new DirectordError(ControlErrorCode.UnknownCommand, `unknown command '${req.cmd}'`, {
        details: { known: commandTable.map((c) => c.name) },
      });
    }
    if (spec.mutating && readOnly) {
      throw new DirectordError(ControlErrorCode.Permission, `'${spec.name}' changes state and this is the read-only socket; run as root or a member of group directord`, {
        details: { command: spec.name },
      });
    }
    const args = validateArgs(spec, req.args);
    const result = await withTimeout(Promise.resolve().then(() => spec.handler(target, args)), timeoutMs, spec.name);
    return okReply(req.id, result);
  } catch (e) {
    return errorReply(id, e);
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new DirectordError(ControlErrorCode.Timeout, `'${what}' did not finish within ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}

export class ControlServer {
  private readonly listeners: Listener[] = [];
  private readonly sockets = new Set<Socket>();
  constructor(private readonly opts: ControlServerOptions) {}

  /** Claim and listen on the sockets; E_CTL_ALREADY_RUNNING when another daemon answers on the path. */
  async start(): Promise<void> {
    await this.listenOn(this.opts.socketPath, false, this.opts.mode, this.opts.group);
    if (this.opts.readOnlySocketPath) {
      try {
        await this.listenOn(this.opts.readOnlySocketPath, true, this.opts.readOnlyMode, undefined);
      } catch (e) {
        await this.stop();
        throw e;
      }
    }
  }

  private async listenOn(path: string, readOnly: boolean, mode: number, group: string | undefined): Promise<void> {
    // systemd's RuntimeDirectory= makes /run/directord; a daemon started by hand (or per namespace) makes its own.
    mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
    await claimSocketPath(path);
    const server = createServer({ allowHalfOpen: false }, (sock) => this.onConnection(sock, readOnly));
    server.maxConnections = this.opts.maxConnections;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e: NodeJS.ErrnoException) => {
        if (e.code === 'EADDRINUSE') {
          reject(new DirectordError(ControlErrorCode.AlreadyRunning, `another directord is listening on ${path}`, { details: { path } }));
        } else {
          reject(new DirectordError(ControlErrorCode.SocketPath, `cannot listen on ${path}: ${e.message}`, { details: { path }, cause: e }));
        }
      });
      server.listen(path, () => resolve());
    });
    server.on('error', (e) => this.opts.logger.error({ err: e, path }, 'control socket error'));
    const gid = applySocketPermissions(path, mode, group);
    this.listeners.push({ server, path, ino: lstatSync(path).ino });
    this.opts.logger.info({ path, mode: mode.toString(8), gid, readOnly }, 'control socket listening');
  }

  /** Clients dropped for not reading their replies (output past the hard limit). */
  droppedClients = 0;

  private onConnection(sock: Socket, readOnly: boolean): void {
    this.sockets.add(sock);
    const decoder = new LineDecoder(this.opts.maxLineBytes);
    const soft = this.opts.outputSoftLimitBytes ?? 1024 * 1024;
    const hard = this.opts.outputHardLimitBytes ?? 64 * 1024 * 1024;
    let chain: Promise<void> = Promise.resolve();
    let pending = 0;
    // A client that stops reading (and writes nothing) is idle: the timer is not re-armed while nothing is sent.
    sock.setTimeout(this.opts.idleTimeoutMs, () => sock.destroy());
    sock.on('close', () => this.sockets.delete(sock));
    sock.on('error', () => sock.destroy());
    const send = (reply: ControlReply): void => {
      if (sock.destroyed) return;
      sock.write(encodeReply(reply));
      if (sock.writableLength > hard) {
        this.droppedClients++;
        this.opts.logger.warn({ readOnly, unsentBytes: sock.writableLength, limit: hard, dropped: this.droppedClients }, 'control client dropped: it does not read its replies');
        sock.destroy();
      } else if (sock.writableLength > soft) sock.pause(); // no more requests from it until it has read
    };
    // Before a request runs, the replies before it must be (mostly) read: the buffer stays near the soft limit.
    const drained = (): Promise<void> =>
      sock.destroyed || sock.writableLength <= soft
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            const done = (): void => {
              sock.off('drain', done);
              sock.off('close', done);
              resolve();
            };
            sock.once('drain', done);
            sock.once('close', done);
          });
    sock.on('drain', () => {
      if (!sock.destroyed && sock.isPaused()) sock.resume();
    });
    sock.on('data', (chunk: Buffer) => {
      let lines: string[];
      try {
        lines = decoder.push(chunk);
      } catch (e) {
        // The stream can no longer be framed: answer once and close.
        this.opts.logger.warn({ code: (e as DirectordError).code }, 'control request rejected');
        chain = chain.then(() => {
          send(errorReply(null, e));
          sock.end();
        });
        sock.pause();
        return;
      }
      for (const line of lines) {
        if (line.trim() === '') continue;
        if (pending >= this.opts.maxPendingPerConnection) {
          send(errorReply(peekRequestId(line), new DirectordError(ControlErrorCode.Busy, `more than ${this.opts.maxPendingPerConnection} requests in flight on one connection`)));
          continue;
        }
        pending++;
        chain = chain.then(async () => {
          await drained();
          if (sock.destroyed) {
            pending--;
            return;
          }
          const reply = await dispatchLine(this.opts.target, line, readOnly, this.opts.requestTimeoutMs);
          pending--;
          if (!reply.ok) this.opts.logger.info({ code: reply.error.code, readOnly }, 'control request failed');
          send(reply);
        });
      }
    });
  }

  /** Close the sockets and remove the paths, but only if they are still the ones this server created. */
  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    const ls = this.listeners.splice(0);
    await Promise.all(ls.map((l) => new Promise<void>((r) => l.server.close(() => r()))));
    for (const l of ls) {
      try {
        if (lstatSync(l.path).ino === l.ino) unlinkSync(l.path);
      } catch {
        /* already gone */
      }
    }
  }
}
