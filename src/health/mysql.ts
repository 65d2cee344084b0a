// The MySQL check: a real client (mysql2) that authenticates (mysql_native_password, caching_sha2_password),
// keeps ONE monitor connection open between probes, reconnects after an error and quits with COM_QUIT. A login
// mysqld has not answered yet is kept (never two at once) or reset, so a hung mysqld cannot count it as an error.
import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import mysql from 'mysql2';
import type { Connection, RowDataPacket } from 'mysql2';
import type { Probe, ProbeResult } from './probe';
import type { ProbeSpec, MysqlProbeOptions } from './spec';
import { judgeMysql, mysqlErrorReason, observationOf, parseCredentials, replicaFactsFromRow, type MysqlFacts } from './mysql-judge';
import type { MysqlObservation } from './mysql-positions';
import type { CheckReason } from './reasons';

type MysqlError = Error & { code?: string; errno?: number; fatal?: boolean };

/** A login under way: mysqld may not have sent its greeting yet (hung, backlog) but may still answer it. */
interface PendingLogin {
  conn: Connection;
  login: Promise<Connection>;
  startedAt: number;
  /** TCP handshake done: the connection sits in mysqld's accept queue or in mysqld. */
  tcpUp: boolean;
}

/**
 * How long an unanswered login is kept before it is reset and a new one opened: long enough that a server whose
 * mysqld is merely hung costs at most one abandoned login a minute, short enough to get past a connection the
 * server has silently forgotten (keepalive usually notices that first).
 */
export function pendingLoginLimitMs(connectTimeoutMs: number): number {
  return Math.max(60_000, 6 * connectTimeoutMs);
}

function credentials(opts: MysqlProbeOptions): { user: string; password?: string } {
  if (!opts.credentialsFile) return { user: opts.user, password: opts.password };
  const file = parseCredentials(readFileSync(opts.credentialsFile, 'utf8'));
  return { user: opts.user || file.user || '', password: opts.password ?? file.password };
}

function query(conn: Connection, sql: string, timeoutMs: number): Promise<RowDataPacket[]> {
  return new Promise((resolve, reject) => {
    conn.query<RowDataPacket[]>({ sql, timeout: timeoutMs }, (err, rows) => (err ? reject(err) : resolve(rows)));
  });
}

export class MysqlProbe implements Probe {
  private conn: Connection | undefined;
  private replicaStatusSql = 'SHOW SLAVE STATUS';
  /** Monitor connections opened so far (reconnects show up here; a healthy server keeps it at 1). */
  connectsTotal = 0;

  /** pendingLimitMs: pendingLoginLimitMs() of the connect timeout; unit tests shorten it. */
  constructor(
    private readonly spec: ProbeSpec,
    private readonly pendingLimitMs = pendingLoginLimitMs(spec.mysql?.connectTimeoutMs ?? spec.timeoutMs),
  ) {}

  /**
   * Open a login. mysql2's own connect timeout stays off: at the probe's timeout an unanswered login is left
   * running (see login()), because closing it is what mysqld counts against max_connect_errors when it resumes.
   */
  private open(connectTimeoutMs: number): PendingLogin {
    const opts = this.spec.mysql!;
    const cred = credentials(opts);
    this.connectsTotal++;
    const conn = mysql.createConnection({
      host: this.spec.address,
      port: this.spec.port,
      user: cred.user,
      password: cred.password,
      connectTimeout: 0,
      enableKeepAlive: true,
      // A connection the server has forgotten (rebooted, dropped from a full accept queue) answers the first
      // keepalive with RST: the pending login fails then rather than at the hard limit.
      keepAliveInitialDelay: Math.max(1000, connectTimeoutMs),
    });
    const p: PendingLogin = { conn, startedAt: performance.now(), tcpUp: false, login: undefined as unknown as Promise<Connection> };
    (conn as unknown as { stream: Socket }).stream.once('connect', () => (p.tcpUp = true));
    // An idle monitor connection can still die (server restart, wait_timeout): forget it, reconnect next probe.
    conn.on('error', () => {
      if (this.conn === conn) this.conn = undefined;
      conn.destroy();
    });
    p.login = new Promise<Connection>((resolve, reject) => {
      conn.connect((err) => {
        if (err) {
          conn.destroy();
          reject(err);
        } else resolve(conn);
      });
    });
    p.login.catch(() => undefined); // settled while no probe waits: the next probe reads the outcome
    return p;
  }

  private pending: PendingLogin | undefined;

  /** The login of this probe: the pending one if any (never a second one beside it), else a new one. */
  private async login(connectTimeoutMs: number): Promise<Connection> {
    let p = this.pending;
    if (p && performance.now() - p.startedAt >= this.pendingLimitMs) {
      this.abandon(p);
      p = undefined;
    }
    if (!p) p = this.pending = this.open(connectTimeoutMs);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), connectTimeoutMs)));
    const outcome = await Promise.race([p.login.then((conn) => ({ conn }), (err: MysqlError) => ({ err })), timedOut]);
    clearTimeout(timer);
    if (outcome !== 'timeout') {
      if (this.pending === p) this.pending = undefined;
      if ('err' in outcome) throw outcome.err;
      return outcome.conn;
    }
    const waited = Math.round(performance.now() - p.startedAt);
    // Still in TCP's handshake: nothing reached mysqld, and a fresh SYN finds a server that came back sooner.
    if (!p.tcpUp) this.abandon(p);
    throw Object.assign(new Error(p.tcpUp ? `no answer from mysqld to the login pending for ${waited} ms (kept open)` : `TCP connect not answered within ${connectTimeoutMs} ms`), {
      code: 'ETIMEDOUT',
      fatal: true,
    });
  }

  /**
   * Give up a login mysqld has not answered. Reset (RST), not closed: mysqld counts a connection closed before its
   * login as a handshake error against the director's host, but one reset while still in its accept queue has no
   * peer address by the time mysqld takes it (getpeername fails), so it counts towards no host.
   */
  private abandon(p: PendingLogin): void {
    if (this.pending === p) this.pending = undefined;
    const stream = (p.conn as unknown as { stream: Socket }).stream;
    if (p.tcpUp && !stream.destroyed) stream.resetAndDestroy();
    p.conn.destroy();
  }

  private async facts(conn: Connection, timeoutMs: number): Promise<MysqlFacts> {
    const opts = this.spec.mysql!;
    const [alive] = await query(conn, 'SELECT 1 AS alive, @@global.read_only AS ro', timeoutMs);
    const facts: MysqlFacts = { readOnly: Number(alive?.ro) === 1, replica: null };
    if (opts.writerMode) await this.positions(conn, timeoutMs, facts);
    if (opts.checkReplication || opts.maxLagSeconds > 0 || opts.writerMode) {
      let rows: RowDataPacket[];
      try {
        rows = await query(conn, this.replicaStatusSql, timeoutMs);
      } catch (e) {
        // MySQL 8.4+ dropped SHOW SLAVE STATUS; switch once to the new spelling.
        if ((e as MysqlError).errno !== 1064 || this.replicaStatusSql !== 'SHOW SLAVE STATUS') throw e;
        this.replicaStatusSql = 'SHOW REPLICA STATUS';
        rows = await query(conn, this.replicaStatusSql, timeoutMs);
      }
      facts.replica = replicaFactsFromRow(rows[0]);
    }
    return facts;
  }

  private gtidSql: string | null = 'SELECT @@global.gtid_current_pos AS gtid';
  private masterStatusSql: string | null = 'SHOW MASTER STATUS';

  /** Writer mode: where this server is (GTID on MariaDB, its own binlog coordinates). A statement the server does
   * not know (MySQL has no gtid_current_pos; 8.4 renamed SHOW MASTER STATUS) is dropped or respelt once. */
  private async positions(conn: Connection, timeoutMs: number, facts: MysqlFacts): Promise<void> {
    if (this.gtidSql) {
      try {
        const [row] = await query(conn, this.gtidSql, timeoutMs);
        facts.gtid = String(row?.gtid ?? '');
      } catch (e) {
        if ((e as MysqlError).errno !== 1193) throw e; // ER_UNKNOWN_SYSTEM_VARIABLE
        this.gtidSql = null;
      }
    }
    if (this.masterStatusSql) {
      try {
        const [row] = await query(conn, this.masterStatusSql, timeoutMs);
        if (row?.File) facts.binlog = { file: String(row.File), pos: Number(row.Position) };
      } catch (e) {
        const errno = (e as MysqlError).errno;
        if (errno === 1064 && this.masterStatusSql === 'SHOW MASTER STATUS') this.masterStatusSql = 'SHOW BINARY LOG STATUS';
        else if (errno === 1227 || errno === 1064) this.masterStatusSql = null; // no privilege, or no such statement
        else throw e;
      }
    }
  }

  private inflight: Promise<ProbeResult> | undefined;

  /** Concurrent callers (the runner's peer re-check) share one probe: one connection, one query at a time. */
  run(): Promise<ProbeResult> {
    if (!this.inflight) this.inflight = this.probe().finally(() => (this.inflight = undefined));
    return this.inflight;
  }

  private async probe(): Promise<ProbeResult> {
    const started = performance.now();
    const timeoutMs = this.spec.timeoutMs;
    const result = (ok: boolean, reason: CheckReason, detail?: string, replicationOnly?: boolean, observation?: MysqlObservation): ProbeResult =>
      ({ ok, reason, detail, replicationOnly, durationMs: performance.now() - started, ...(observation ? { observation } : {}) });
    let conn = this.conn;
    if (!conn) {
      try {
        conn = await this.login(this.spec.mysql!.connectTimeoutMs ?? timeoutMs);
        this.conn = conn;
      } catch (e) {
        const err = e as MysqlError;
        return result(false, mysqlErrorReason({ ...err, fatal: true }), err.message);
      }
    }
    try {
      // Like nanny's connect and read phases, each gets the full timeout: a slow login must not starve the queries.
      const facts = await this.facts(conn, timeoutMs);
      const v = judgeMysql(this.spec.mysql!, facts);
      return result(v.ok, v.reason, v.detail, v.replicationOnly, this.spec.mysql!.writerMode ? observationOf(facts) : undefined);
    } catch (e) {
      const err = e as MysqlError;
      this.drop(conn);
      return result(false, mysqlErrorReason(err), err.message);
    }
  }

  private drop(conn: Connection): void {
    if (this.conn === conn) this.conn = undefined;
    // A broken or timed-out connection cannot quit politely; a healthy one after a query error can.
    try {
      conn.end(() => conn.destroy());
    } catch {
      conn.destroy();
    }
  }

  /** COM_QUIT and close: the server logs a clean disconnect, not an aborted connection. */
  close(): Promise<void> {
    if (this.pending) this.abandon(this.pending);
    const conn = this.conn;
    this.conn = undefined;
    if (!conn) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        conn.destroy();
        resolve();
      }, 2000);
      conn.end(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }
}

export function mysqlProbe(spec: ProbeSpec): Probe {
  return new MysqlProbe(spec);
}

/** Writer mode's fencing: SET GLOBAL read_only on one server over a short connection of its own (needs SUPER or
 * READ_ONLY ADMIN). Rejects with the server's error; bounded by the check's timeout. */
export async function setReadOnly(spec: ProbeSpec, readOnly: boolean): Promise<void> {
  const opts = spec.mysql!;
  const cred = credentials(opts);
  const conn = mysql.createConnection({
    host: spec.address, port: spec.port, user: cred.user, password: cred.password, connectTimeout: opts.connectTimeoutMs ?? spec.timeoutMs,
  });
  conn.on('error', () => conn.destroy());
  try {
    await query(conn, `SET GLOBAL read_only = ${readOnly ? 1 : 0}`, spec.timeoutMs);
  } finally {
    conn.end(() => conn.destroy());
  }
}
