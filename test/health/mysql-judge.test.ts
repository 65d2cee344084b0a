// The MySQL verdict table: query results → up/down, stable reason, replication-only flag.
import t from 'tap';
import { judgeMysql, replicaFactsFromRow, mysqlErrorReason, parseCredentials } from '../../src/health/mysql-judge';
import type { MysqlProbeOptions } from '../../src/health/spec';

const opts: MysqlProbeOptions = { user: 'monitor', checkReadOnly: true, checkReplication: true, maxLagSeconds: 10 };
const row = (io: string, sql: string, lag: number | null, extra: Record<string, unknown> = {}) => ({ Slave_IO_Running: io, Slave_SQL_Running: sql, Seconds_Behind_Master: lag, Last_IO_Error: '', Last_SQL_Error: '', ...extra });

t.test('verdicts', async (t) => {
  const rows: Array<[string, Partial<MysqlProbeOptions>, boolean, Record<string, unknown> | undefined, boolean, string, string?, boolean?]> = [
    ['replicating, no lag', {}, false, row('Yes', 'Yes', 0), true, 'ok'],
    ['not a replica', {}, false, undefined, true, 'ok'],
    ['read_only judged', {}, true, row('Yes', 'Yes', 0), false, 'read_only', '@@global.read_only = 1', false],
    ['read_only not judged', { checkReadOnly: false }, true, row('Yes', 'Yes', 0), true, 'ok'],
    ['SQL thread stopped', {}, false, row('Yes', 'No', null), false, 'replication_sql_stopped', 'Slave_SQL_Running = No', true],
    ['SQL error', {}, false, row('Yes', 'No', null, { Last_SQL_Error: 'Duplicate entry' }), false, 'replication_sql_stopped', 'Slave_SQL_Running = No: Duplicate entry', true],
    ['IO thread stopped', {}, false, row('No', 'Yes', null), false, 'replication_io_stopped', 'Slave_IO_Running = No', true],
    ['peer down: IO Connecting, lag NULL', {}, false, row('Connecting', 'Yes', null), false, 'replication_io_connecting', 'Slave_IO_Running = Connecting', true],
    ['lag over the limit', {}, false, row('Yes', 'Yes', 42), false, 'replication_lag', 'lag 42s > 10s', true],
    ['lag at the limit', {}, false, row('Yes', 'Yes', 10), true, 'ok'],
    ['lag not judged', { maxLagSeconds: 0 }, false, row('Yes', 'Yes', 4200), true, 'ok'],
    ['replication not judged', { checkReplication: false }, false, row('No', 'No', null), true, 'ok'],
    ['MySQL 8 names', {}, false, { Replica_IO_Running: 'Yes', Replica_SQL_Running: 'Yes', Seconds_Behind_Source: 11 }, false, 'replication_lag', 'lag 11s > 10s', true],
  ];
  for (const [name, o, ro, r, ok, reason, detail, replOnly] of rows) {
    const v = judgeMysql({ ...opts, ...o }, { readOnly: ro, replica: replicaFactsFromRow(r) });
    t.equal(v.ok, ok, name);
    t.equal(v.reason, reason, `${name}: reason`);
    if (detail) t.equal(v.detail, detail, `${name}: detail`);
    if (replOnly !== undefined) t.equal(!!v.replicationOnly, replOnly, `${name}: replication only`);
  }
});

t.test('errors to reasons', async (t) => {
  t.equal(mysqlErrorReason({ errno: 1045, code: 'ER_ACCESS_DENIED_ERROR' }), 'auth_failed');
  t.equal(mysqlErrorReason({ errno: 1129, code: 'ER_HOST_IS_BLOCKED' }), 'host_blocked');
  t.equal(mysqlErrorReason({ code: 'ECONNREFUSED', fatal: true }), 'connect_refused');
  t.equal(mysqlErrorReason({ code: 'ETIMEDOUT', fatal: true }), 'connect_timeout');
  t.equal(mysqlErrorReason({ code: 'PROTOCOL_SEQUENCE_TIMEOUT' }), 'query_timeout');
  t.equal(mysqlErrorReason({ code: 'PROTOCOL_CONNECTION_LOST', fatal: true }), 'connection_lost');
  t.equal(mysqlErrorReason({ code: 'ER_PARSE_ERROR' }), 'query_failed');
});

t.test('credentials file', async (t) => {
  t.same(parseCredentials('[client]\nuser = monitor\npassword = "s3cret"\n[mysqld]\nuser = mysql\n'), { user: 'monitor', password: 's3cret' });
  t.same(parseCredentials('# comment\nuser=x\npassword=y'), { user: 'x', password: 'y' });
});
