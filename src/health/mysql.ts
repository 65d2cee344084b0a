// The MySQL check: a real client (mysql2) that authenticates (mysql_native_password, caching_sha2_password),
// keeps ONE monitor connection open between probes, reconnects after an error and quits with COM_QUIT.
// A completed login never counts as a connection error, so max_connect_errors cannot block the director.
import { readFileSync } from 'node:fs';
import mysql from 'mysql2';
import type { Connection, RowDataPacket } from 'mysql2';
import type { Probe, ProbeResult } from './probe';
import type { ProbeSpec, MysqlProbeOptions } from './spec';
import { judgeMysql, mysqlErrorReason, observationOf, parseCredentials, replicaFactsFromRow, type MysqlFacts } from './mysqlJudge';
import type { MysqlObservation } from './mysqlPositions';

type MysqlError = Error & { code?: string; errno?: number; fatal?: boolean };

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

  constructor(private readonly spec: ProbeSpec) {}

  private connect(): Promise<Connection> {
    const opts = this.spec.mysql!;
    const cred = credentials(opts);
    this.connectsTotal++;
    return new Promise((resolve, reject) => {
      const conn = mysql.createConnection({
        host: this.spec.address,
        port: this.spec.port,
        user: cred.user,
        password: cred.password,
        connectTimeout: opts.connectTimeoutMs ?? this.spec.timeoutMs,
        enableKeepAlive: true,
      });
      // An idle monitor connection can still die (server restart, wait_timeout): forget it, reconnect next probe.
      conn.on('error', () => {
        if (this.conn === conn) this.conn = undefined;
        conn.destroy();
      });
      conn.connect((err) => {
        if (err) {
          conn.destroy();
          reject(err);
        } else resolve(conn);
      });
    });
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
    const result = (ok: boolean, reason: string, detail?: string, replicationOnly?: boolean, observation?: MysqlObservation): ProbeResult =>
      ({ ok, reason, detail, replicationOnly, durationMs: performance.now() - started, ...(observation ? { observation } : {}) });
    let conn = this.conn;
    if (!conn) {
      try {
        conn = await this.connect();
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
