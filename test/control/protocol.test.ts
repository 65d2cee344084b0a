// The NDJSON codec: framing, size limit, request validation table, reply round trip.
import t from 'tap';
import { LineDecoder, parseRequest, parseReply, peekRequestId, errorReply, okReply, encodeReply } from '../../src/control/protocol';
import { DirectordError } from '../../src/errors';

t.test('LineDecoder frames across chunks and refuses overlong lines before buffering them', async (t) => {
  const d = new LineDecoder(10);
  t.same(d.push(Buffer.from('ab')), []);
  t.same(d.push(Buffer.from('c\nde\n\nf')), ['abc', 'de', '']);
  t.same(d.push(Buffer.from('g\n')), ['fg']);
  t.throws(() => d.push(Buffer.from('x'.repeat(11))), { code: 'E_CTL_TOO_LARGE' });
  const d2 = new LineDecoder(10);
  d2.push(Buffer.from('x'.repeat(6)));
  t.throws(() => d2.push(Buffer.from('x'.repeat(5) + '\n')), { code: 'E_CTL_TOO_LARGE' }, 'limit counts pending bytes too');
});

t.test('parseRequest: fixture table of malformed requests', async (t) => {
  const bad: [string, RegExp][] = [
    ['', /not valid JSON/],
    ['{', /not valid JSON/],
    ['\u0000\u0001\u00ff', /not valid JSON/],
    ['[]', /must be a JSON object/],
    ['"status"', /must be a JSON object/],
    ['null', /must be a JSON object/],
    ['{"cmd":"status"}', /needs an 'id'/],
    ['{"id":true,"cmd":"status"}', /needs an 'id'/],
    ['{"id":{},"cmd":"status"}', /needs an 'id'/],
    [`{"id":"${'i'.repeat(129)}","cmd":"status"}`, /longer than 128/],
    ['{"id":1}', /needs a 'cmd'/],
    ['{"id":1,"cmd":""}', /needs a 'cmd'/],
    ['{"id":1,"cmd":5}', /needs a 'cmd'/],
    ['{"id":1,"cmd":"status","args":[]}', /'args' must be an object/],
    ['{"id":1,"cmd":"status","args":"x"}', /'args' must be an object/],
  ];
  for (const [line, msg] of bad) {
    t.throws(() => parseRequest(line), { code: 'E_CTL_BAD_REQUEST', message: msg }, JSON.stringify(line).slice(0, 40));
  }
  t.same(parseRequest('{"id":7,"cmd":"status"}'), { id: 7, cmd: 'status', args: {} });
  t.same(parseRequest('{"id":"a","cmd":"weight","args":{"server":"s","weight":3}}'), { id: 'a', cmd: 'weight', args: { server: 's', weight: 3 } });
});

t.test('ids survive into error replies when readable', async (t) => {
  t.equal(peekRequestId('{"id":"x","cmd":5}'), 'x');
  t.equal(peekRequestId('garbage'), null);
  t.equal(peekRequestId('{"id":[1]}'), null);
});

t.test('replies round-trip; untyped errors become E_CTL_INTERNAL', async (t) => {
  const ok = okReply(1, { a: 1 });
  t.same(parseReply(encodeReply(ok).trim()), ok);
  const e = errorReply('q', new DirectordError('E_CTL_UNKNOWN_SERVER', 'no', { details: { known: ['a'] } }));
  t.same(parseReply(encodeReply(e).trim()), { id: 'q', ok: false, error: { code: 'E_CTL_UNKNOWN_SERVER', message: 'no', details: { known: ['a'] } } });
  t.same(errorReply(null, new Error('boom')), { id: null, ok: false, error: { code: 'E_CTL_INTERNAL', message: 'boom' } });
  t.throws(() => parseReply('nope'), { code: 'E_CTL_BAD_REPLY' });
  t.throws(() => parseReply('{"ok":false,"error":{}}'), { code: 'E_CTL_BAD_REPLY' });
});
