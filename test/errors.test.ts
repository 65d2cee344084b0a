// The base error's formatting is what operators read; keep it stable.
import t from 'tap';
import { DirectordError, DirectordErrors, isDirectordError } from '../src/errors';

t.test('located error formats as file:line:col CODE message', async (t) => {
  const e = new DirectordError('E_CONFIG_UNKNOWN_KEY', "unknown key 'schedular'", { location: { file: 'lvs.cf', line: 27, column: 3 } });
  t.equal(e.format(), "lvs.cf:27:3 E_CONFIG_UNKNOWN_KEY unknown key 'schedular'");
  t.ok(isDirectordError(e));
  t.notOk(isDirectordError(new Error('x')));
  t.same(e.toJSON().code, 'E_CONFIG_UNKNOWN_KEY');
});

t.test('unlocated error and error lists', async (t) => {
  const a = new DirectordError('E_A', 'first');
  const b = new DirectordError('E_B', 'second', { cause: a });
  t.equal(a.format(), 'E_A first');
  const all = new DirectordErrors([a, b]);
  t.equal(all.code, 'E_A');
  t.equal(all.format(), 'E_A first\nE_B second');
  t.equal(new DirectordErrors([]).code, 'E_UNKNOWN');
});
