// The shared command table: names, read-only vs mutating, schema validation and argv conversion.
import t from 'tap';
import { argsFromArgv, commandTable, findCommand, usageLine, validateArgs } from '../../src/control/commands';

t.test('the table: every command the issue asks for, and which of them mutate', async (t) => {
  t.same(
    commandTable.map((c) => `${c.name}:${c.mutating ? 'rw' : 'ro'}`),
    ['ping:ro', 'status:ro', 'drain:rw', 'enable:rw', 'weight:rw', 'reload:rw', 'takeover:rw', 'release:rw', 'drain-director:rw', 'undrain-director:rw', 'where:ro'],
  );
  t.equal(new Set(commandTable.map((c) => c.name)).size, commandTable.length, 'names unique');
  t.equal(usageLine(findCommand('weight')!), 'weight SERVER WEIGHT');
  t.equal(usageLine(findCommand('drain-director')!), 'drain-director [--deadline N]');
  t.same(argsFromArgv(findCommand('drain-director')!, ['--deadline', '30']), { deadline: 30 });
  t.throws(() => argsFromArgv(findCommand('drain-director')!, ['--deadline', '0']), { code: 'E_CTL_BAD_ARGS' });
  t.equal(usageLine(findCommand('status')!), 'status [--connections] [--limit N]');
});

t.test('validateArgs: fixture table', async (t) => {
  const weight = findCommand('weight')!;
  const cases: [Record<string, unknown>, RegExp | null][] = [
    [{ server: 'sql1', weight: 5 }, null],
    [{ server: 'sql1', weight: 0 }, null],
    [{ server: 'sql1', weight: 65535 }, null],
    [{ server: 'sql1' }, /missing argument 'weight'/],
    [{ weight: 1 }, /missing argument 'server'/],
    [{ server: 'sql1', weight: '5' }, /must be an integer/],
    [{ server: 'sql1', weight: 1.5 }, /must be an integer/],
    [{ server: 'sql1', weight: -1 }, /at least 0/],
    [{ server: 'sql1', weight: 65536 }, /at most 65535/],
    [{ server: 7, weight: 1 }, /non-empty string/],
    [{ server: '', weight: 1 }, /non-empty string/],
    [{ server: 'x'.repeat(257), weight: 1 }, /longer than 256/],
    [{ server: 'sql1', weight: 1, extra: 1 }, /unknown argument 'extra'/],
  ];
  for (const [args, err] of cases) {
    if (err) t.throws(() => validateArgs(weight, args), { code: 'E_CTL_BAD_ARGS', message: err }, JSON.stringify(args).slice(0, 50));
    else t.same(validateArgs(weight, args), args);
  }
  t.throws(() => validateArgs(findCommand('status')!, { connections: 'yes' }), { code: 'E_CTL_BAD_ARGS' });
});

t.test('argsFromArgv uses the same schema', async (t) => {
  t.same(argsFromArgv(findCommand('weight')!, ['sql1', '7']), { server: 'sql1', weight: 7 });
  t.same(argsFromArgv(findCommand('status')!, ['--connections', '--limit', '5']), { connections: true, limit: 5 });
  t.same(argsFromArgv(findCommand('status')!, ['--limit=5']), { limit: 5 });
  t.throws(() => argsFromArgv(findCommand('weight')!, ['sql1', 'heavy']), { code: 'E_CTL_BAD_ARGS', message: /integer/ });
  t.throws(() => argsFromArgv(findCommand('drain')!, ['a', 'b']), { code: 'E_CTL_BAD_ARGS', message: /unexpected argument 'b'/ });
  t.throws(() => argsFromArgv(findCommand('drain')!, ['--force']), { code: 'E_CTL_BAD_ARGS', message: /unknown option/ });
  t.throws(() => argsFromArgv(findCommand('status')!, ['--limit']), { code: 'E_CTL_BAD_ARGS', message: /needs a value/ });
  t.throws(() => argsFromArgv(findCommand('drain')!, []), { code: 'E_CTL_BAD_ARGS', message: /missing/ });
});
