// Every reason a health check can fail with, in one list: the probes' result types are derived from it, so a new
// reason cannot be reported without being listed, and directord_check_failures_total has each at 0 from the start.
export const CHECK_FAILURE_REASONS = [
  // tcp and udp (tcp.ts) with the expect matching (match.ts); udp and icmp share send_failed
  'connect_refused', 'connect_timeout', 'connect_failed', 'connection_reset', 'unreachable', 'send_failed',
  'read_timeout', 'read_too_short', 'expect_mismatch', 'bad_regex',
  // icmp (icmp.ts)
  'icmp_unavailable', 'icmp_timeout',
  // send_program (program.ts, match.ts)
  'program_exit', 'program_timeout', 'program_output_mismatch', 'program_failed', 'program_no_expect',
  // mysql (mysql.ts, mysql-judge.ts): the server's answers, then its errors (also connect_refused .. unreachable)
  'read_only', 'replication_sql_stopped', 'replication_io_connecting', 'replication_io_stopped', 'replication_lag',
  'auth_failed', 'host_blocked', 'too_many_connections', 'query_timeout', 'connection_lost', 'query_failed',
] as const;

export type CheckFailureReason = (typeof CHECK_FAILURE_REASONS)[number];
/** What a probe reports: `ok`, or the reason it failed. */
export type CheckReason = 'ok' | CheckFailureReason;
