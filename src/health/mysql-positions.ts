// Replication positions of a MySQL/MariaDB server and the one comparison writer mode needs: has a candidate applied
// everything the reference server has? GTID (MariaDB's domain-server-seq lists) when both have one, binlog
// coordinates otherwise. Pure.

export interface BinlogCoord {
  file: string;
  pos: number;
}

export interface Positions {
  /** MariaDB @@gtid_current_pos ("0-1-100,1-2-7"); undefined on MySQL or when the variable is unknown. */
  gtid?: string;
  /** SHOW MASTER STATUS: where this server's own binary log is. */
  binlog?: BinlogCoord;
  replica: {
    io: string;
    sql: string;
    lag: number | null;
    lastError?: string;
    /** Relay_Master_Log_File / Exec_Master_Log_Pos: how far into its master's binary log it has applied. */
    exec?: BinlogCoord;
  } | null;
}

/** What the MySQL check reports to writer mode after each successful probe. */
export interface MysqlObservation extends Positions {
  readOnly: boolean;
}

/** "0-1-100,1-2-7" → domain → seq_no (the highest per domain, should a domain repeat). */
export function parseGtidList(s: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const part of s.split(',')) {
    const m = /^\s*(\d+)-(\d+)-(\d+)\s*$/.exec(part);
    if (!m) continue;
    const d = Number(m[1]), seq = Number(m[3]);
    out.set(d, Math.max(out.get(d) ?? 0, seq));
  }
  return out;
}

/** mysql-bin.000012 → 12; the index orders files of one server's log. */
function fileIndex(f: string): number {
  const m = /\.(\d+)$/.exec(f);
  return m ? Number(m[1]) : NaN;
}

/** <0, 0, >0 like a comparator; NaN when the files do not belong to one numbered sequence. */
export function compareCoord(a: BinlogCoord, b: BinlogCoord): number {
  if (a.file === b.file) return a.pos - b.pos;
  const base = (f: string): string => f.replace(/\.\d+$/, '');
  if (base(a.file) !== base(b.file)) return NaN;
  return fileIndex(a.file) - fileIndex(b.file);
}

/**
 * Has `cand` applied everything `ref` had? GTID: every domain of ref's list at a sequence number at or past ref's
 * (MariaDB numbers a domain's transactions in one increasing sequence across servers). Otherwise binlog coordinates:
 * cand's executed position in its master's log against ref's own log position (cand must replicate from ref).
 */
export function compareApplied(cand: Positions, ref: Positions): { caughtUp: boolean; detail: string } {
  if (cand.gtid !== undefined && ref.gtid !== undefined && ref.gtid !== '') {
    const c = parseGtidList(cand.gtid), r = parseGtidList(ref.gtid);
    for (const [d, seq] of r) {
      const have = c.get(d);
      if (have === undefined || have < seq) return { caughtUp: false, detail: `gtid ${cand.gtid || '(empty)'} < ${ref.gtid} in domain ${d}` };
    }
    return { caughtUp: true, detail: `gtid ${cand.gtid} >= ${ref.gtid}` };
  }
  const exec = cand.replica?.exec;
  if (exec && ref.binlog) {
    const cmp = compareCoord(exec, ref.binlog);
    const shown = `${exec.file}:${exec.pos} vs ${ref.binlog.file}:${ref.binlog.pos}`;
    if (Number.isNaN(cmp)) return { caughtUp: false, detail: `binlog ${shown}: not the same log` };
    return cmp >= 0 ? { caughtUp: true, detail: `binlog ${shown}` } : { caughtUp: false, detail: `binlog ${shown}` };
  }
  return { caughtUp: false, detail: 'no position to compare (no GTID, no binary log coordinates)' };
}
