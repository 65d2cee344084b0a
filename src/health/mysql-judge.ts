// Pure verdicts of the MySQL check: what the queries returned → up/down with a stable reason.
// Replication-only verdicts are marked so the runner can keep the last healthy server of a virtual in.
import type { BinlogCoord, MysqlObservation } from './mysql-positions';
import type { MysqlProbeOptions } from './spec';
import type { CheckFailureReason, CheckReason } from './reasons';

export interface ReplicaFacts {
  /** Slave_IO_Running / Replica_IO_Running: Yes, No, Connecting, Preparing. */
  io: string;
  sql: string;
  /** Seconds_Behind_Master / Seconds_Behind_Source; null when a thread is stopped or the IO thread reconnects. */
  lag: number | null;
  lastError?: string;
  /** Relay_Master_Log_File / Exec_Master_Log_Pos: applied up to here in its master's binary log. */
  exec?: BinlogCoord;
}

export interface MysqlFacts {
  readOnly: boolean;
  /** null: the server is not a replica (SHOW SLAVE STATUS returned no row). */
  replica: ReplicaFacts | null;
  /** Writer mode only: @@gtid_current_pos (MariaDB) and SHOW MASTER STATUS. */
  gtid?: string;
  binlog?: BinlogCoord;
}

/** The facts writer mode decides on. */
export function observationOf(f: MysqlFacts): MysqlObservation {
  return { readOnly: f.readOnly, replica: f.replica, ...(f.gtid !== undefined ? { gtid: f.gtid } : {}), ...(f.binlog ? { binlog: f.binlog } : {}) };
}

export interface MysqlVerdict {
  ok: boolean;
  reason: CheckReason;
  detail?: string;
  replicationOnly?: boolean;
}

/** Normalise one row of SHOW SLAVE STATUS (MariaDB, MySQL < 8.0.22) or SHOW REPLICA STATUS (newer). */
export function replicaFactsFromRow(row: Record<string, unknown> | undefined): ReplicaFacts | null {
  if (!row) return null;
  const pick = (...names: string[]): unknown => {
    for (const n of names) if (row[n] !== undefined) return row[n];
    return undefined;
  };
  const lagRaw = pick('Seconds_Behind_Master', 'Seconds_Behind_Source');
  const lagNum = lagRaw === null || lagRaw === undefined || lagRaw === '' ? null : Number(lagRaw);
  const ioErr = String(pick('Last_IO_Error') ?? '');
  const sqlErr = String(pick('Last_SQL_Error') ?? '');
  const execFile = pick('Relay_Master_Log_File', 'Relay_Source_Log_File') as string | undefined;
  const execPos = pick('Exec_Master_Log_Pos', 'Exec_Source_Log_Pos');
  return {
    io: String(pick('Slave_IO_Running', 'Replica_IO_Running') ?? 'No'),
    sql: String(pick('Slave_SQL_Running', 'Replica_SQL_Running') ?? 'No'),
    lag: lagNum === null || Number.isNaN(lagNum) ? null : lagNum,
    lastError: sqlErr || ioErr || undefined,
    ...(execFile && execPos !== undefined && !Number.isNaN(Number(execPos)) ? { exec: { file: execFile, pos: Number(execPos) } } : {}),
  };
}

export function judgeMysql(opts: MysqlProbeOptions, facts: MysqlFacts): MysqlVerdict {
  // Writer mode judges read_only and replication itself (src/director/writer.ts): here only liveness counts.
  if (opts.writerMode) return { ok: true, reason: 'ok' };
  if (opts.checkReadOnly && facts.readOnly) return { ok: false, reason: 'read_only', detail: '@@global.read_only = 1' };
  const r = facts.replica;
  if (opts.checkReplication && r) {
    const err = r.lastError ? `: ${r.lastError}` : '';
    if (r.sql !== 'Yes') return { ok: false, reason: 'replication_sql_stopped', detail: `Slave_SQL_Running = ${r.sql}${err}`, replicationOnly: true };
    if (r.io === 'Connecting') return { ok: false, reason: 'replication_io_connecting', detail: `Slave_IO_Running = Connecting${err}`, replicationOnly: true };
    if (r.io !== 'Yes') return { ok: false, reason: 'replication_io_stopped', detail: `Slave_IO_Running = ${r.io}${err}`, replicationOnly: true };
  }
  if (opts.maxLagSeconds > 0 && r && r.lag !== null && r.lag > opts.maxLagSeconds) {
    return { ok: false, reason: 'replication_lag', detail: `lag ${r.lag}s > ${opts.maxLagSeconds}s`, replicationOnly: true };
  }
  return { ok: true, reason: 'ok' };
}

/** mysql2 / server errors to stable reasons. */
export function mysqlErrorReason(e: { code?: string; errno?: number; fatal?: boolean }): CheckFailureReason {
  switch (e.errno) {
    case 1045:
    case 1698:
    case 1251:
      return 'auth_failed';
    case 1129:
      return 'host_blocked';
    case 1040:
      return 'too_many_connections';
  }
  switch (e.code) {
    case 'ECONNREFUSED':
      return 'connect_refused';
    case 'ETIMEDOUT':
      return 'connect_timeout';
    case 'PROTOCOL_SEQUENCE_TIMEOUT':
      return 'query_timeout';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'unreachable';
    case 'PROTOCOL_CONNECTION_LOST':
    case 'ECONNRESET':
      return 'connection_lost';
  }
  return e.fatal ? 'connect_failed' : 'query_failed';
}

/** A my.cnf-style credentials file: `user = …` and `password = …`, under [client] or no section. */
export function parseCredentials(text: string): { user?: string; password?: string } {
  const out: { user?: string; password?: string } = {};
  let section = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const sec = /^\[(.+)\]$/.exec(line);
    if (sec) {
      section = sec[1].trim();
      continue;
    }
    if (section && section !== 'client' && section !== 'directord') continue;
    const m = /^([A-Za-z_-]+)\s*=\s*(.*)$/.exec(line);
    if (!m) continue;
    let val = m[2].trim();
    if ((val.startsWith('"') && val.endsWith('"')) || (val.startsWith("'") && val.endsWith("'"))) val = val.slice(1, -1);
    if (m[1] === 'user') out.user = val;
    if (m[1] === 'password') out.password = val;
  }
  return out;
}
