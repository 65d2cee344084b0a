// Position comparison for writer mode: GTID lists per domain, binlog coordinates, and what cannot be compared.
import t from 'tap';
import { compareApplied, compareCoord, parseGtidList } from '../../src/health/mysql-positions';

t.test('GTID lists: per domain, a missing domain is behind', async (t) => {
  t.same([...parseGtidList('0-1-100,1-2-7')], [[0, 100], [1, 7]]);
  t.same([...parseGtidList('')], []);
  const rep = { io: 'Yes', sql: 'Yes', lag: 0 };
  const table: [string, string, boolean][] = [
    ['0-1-100', '0-1-100', true],
    ['0-2-101', '0-1-100', true],
    ['0-1-99', '0-1-100', false],
    ['0-1-100', '0-1-100,1-3-4', false],
    ['0-1-100,1-3-5', '0-1-100,1-3-4', true],
    ['', '0-1-1', false],
  ];
  for (const [c, r, want] of table) t.equal(compareApplied({ gtid: c, replica: rep }, { gtid: r, replica: rep }).caughtUp, want, `${c} vs ${r}`);
});

t.test('binlog coordinates: file sequence, then position; other logs are not comparable', async (t) => {
  t.ok(compareCoord({ file: 'b.000002', pos: 4 }, { file: 'b.000001', pos: 900 }) > 0);
  t.equal(compareCoord({ file: 'b.000001', pos: 4 }, { file: 'b.000001', pos: 4 }), 0);
  t.ok(Number.isNaN(compareCoord({ file: 'a.000001', pos: 4 }, { file: 'b.000001', pos: 4 })));
  const r = compareApplied({ replica: { io: 'Yes', sql: 'Yes', lag: 0 } }, { binlog: { file: 'b.000001', pos: 4 }, replica: null });
  t.same(r, { caughtUp: false, detail: 'no position to compare (no GTID, no binary log coordinates)' });
});
