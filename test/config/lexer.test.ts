// Tokenizer and value conversions: tables of input → expected, following lvsconfig.c, nanny.c and lvsd.c.
import t from 'tap';
import { lex } from '../../src/config/lexer';
import { editDistance, inetAton, isContiguousMask, lvsdStripQuotes, nannyConvert, parseCInteger, parseDecimal, suggest } from '../../src/config/values';
import { parseHostsFile, parseServicesFile, servicesFileResolver, hostsFileResolver, BUILTIN_SERVICES } from '../../src/config/resolve';

t.test('tokens with line and column', async (t) => {
  const table: Array<[string, Array<[number, Array<[string, string, number]>]>]> = [
    ['a = b', [[1, [['a', '', 1], ['=', '', 3], ['b', '', 5]]]]],
    ['  \tkey\t=  "x y"  ', [[1, [['key', '', 4], ['=', '', 8], ['x y', '"', 11]]]]],
    ["k = 'it \"is\"'", [[1, [['k', '', 1], ['=', '', 3], ['it "is"', "'", 5]]]]],
    ['# comment\n   # indented comment\n \n\t\nx = 1', [[5, [['x', '', 1], ['=', '', 3], ['1', '', 5]]]]],
    ['k = v # not a comment', [[1, [['k', '', 1], ['=', '', 3], ['v', '', 5], ['#', '', 7], ['not', '', 9], ['a', '', 13], ['comment', '', 15]]]]],
    ['k=v', [[1, [['k=v', '', 1]]]]],
    ['a = 1\r\nb = 2\rc = 3\n', [[1, [['a', '', 1], ['=', '', 3], ['1', '', 5]]], [2, [['b', '', 1], ['=', '', 3], ['2', '', 5]]], [3, [['c', '', 1], ['=', '', 3], ['3', '', 5]]]]],
    ['k = ""', [[1, [['k', '', 1], ['=', '', 3], ['', '"', 5]]]]],
    ['k = a"b', [[1, [['k', '', 1], ['=', '', 3], ['a"b', '', 5]]]]],
  ];
  for (const [input, want] of table) {
    const r = lex(input, 'f');
    t.same(r.errors, [], JSON.stringify(input));
    t.same(r.lines.map((l) => [l.line, l.tokens.map((x) => [x.text, x.quote, x.column])]), want, JSON.stringify(input));
  }
});

t.test('quote errors are located and the other lines still tokenized', async (t) => {
  const r = lex('a = 1\nb = "open\nc = "x"y\nd = 4', 'f');
  t.same(r.errors.map((e) => [e.code, e.location?.line, e.location?.column]), [['E_CONFIG_QUOTE_MISMATCH', 2, 5], ['E_CONFIG_QUOTE_MISMATCH', 3, 5]]);
  t.same(r.lines.map((l) => l.line), [1, 4]);
});

t.test('strtol(…, 0) integers', async (t) => {
  const ok: Array<[string, number]> = [['0', 0], ['10', 10], ['0x10', 16], ['0X1f', 31], ['010', 8], ['-5', -5], ['+7', 7], ['2013042401', 2013042401], [' 5', 5], ['00', 0]];
  for (const [s, n] of ok) t.same(parseCInteger(s), { ok: true, value: n }, s);
  for (const s of ['', '08', '0x', '1.5', '1e3', 'ten', '5 ', '0x1g', '2147483648', '-2147483649', '--1']) t.equal(parseCInteger(s).ok, false, JSON.stringify(s));
  t.same(parseDecimal('0.5'), { ok: true, value: 0.5 });
  t.same(parseDecimal('2.'), { ok: true, value: 2 });
  t.same(parseDecimal('0x10'), { ok: true, value: 16 });
  t.same(parseDecimal('0.000001'), { ok: true, value: 0.000001 });
  for (const s of ['1.2.3', '.', 'NaN', 'Infinity', '1e3', '0.0000001', '99999999999.5']) t.equal(parseDecimal(s).ok, false, s);
});

t.test('inet_aton forms', async (t) => {
  const table: Array<[string, string | undefined]> = [
    ['10.0.0.3', '10.0.0.3'], ['10.1', '10.0.0.1'], ['10.1.2', '10.1.0.2'], ['167772163', '10.0.0.3'], ['0x0a.0.0.010', '10.0.0.8'],
    ['255.255.240.0', '255.255.240.0'], ['10.0.0.256', undefined], ['1.2.3.4.5', undefined], ['a.b.c.d', undefined], ['', undefined],
    ['10..0.1', undefined], ['4294967296', undefined], ['09.1.1.1', undefined],
  ];
  for (const [s, want] of table) t.equal(inetAton(s), want, s);
});

t.test('netmask contiguity', async (t) => {
  for (const m of ['255.255.255.255', '255.255.240.0', '0.0.0.0', '128.0.0.0']) t.ok(isContiguousMask(m), m);
  for (const m of ['255.0.255.0', '0.255.255.255', '255.255.255.254'.replace('254', '253')]) t.notOk(isContiguousMask(m), m);
});

t.test("lvsd strip_quotes and nanny's convert_str", async (t) => {
  t.equal(lvsdStripQuotes('"abc"'), 'abc');
  t.equal(lvsdStripQuotes("'abc'"), "'abc'");
  t.equal(lvsdStripQuotes('abc"'), 'abc');
  t.equal(lvsdStripQuotes('"'), '');
  const conv: Array<[string, string]> = [['\\n', '\n'], ['a\\r\\nb', 'a\r\nb'], ['\\t', '\t'], ['\\\\n', '\\n'], ["\\'", "'"], ['\\"', '"'], ['\\', '\\'], ['plain', 'plain']];
  for (const [s, want] of conv) t.same(nannyConvert(s), { ok: true, value: want }, s);
  for (const s of ['\\d', 'ab\\', '\\x41']) t.equal(nannyConvert(s).ok, false, s);
});

t.test('suggestions by edit distance', async (t) => {
  t.equal(editDistance('schedular', 'scheduler'), 1);
  t.equal(suggest('schedular', ['scheduler', 'persistent']), 'scheduler');
  t.equal(suggest('Timeout', ['timeout']), 'timeout');
  t.equal(suggest('zzzzzz', ['timeout', 'port']), undefined);
});

t.test('hosts and services files', async (t) => {
  const hosts = parseHostsFile('# c\n127.0.0.1 localhost\n10.0.0.4 sql1.example.com sql1 # x\n::1 ip6-localhost\n10.0.0.9 sql1\n');
  t.equal(hosts.get('sql1'), '10.0.0.4', 'first match wins');
  t.equal(hosts.get('ip6-localhost'), undefined, 'IPv4 only');
  const services = parseServicesFile('http 80/tcp www\nhttps 443/udp\nhttps 443/tcp\nfoo 9/udp\n');
  t.same([services.get('http'), services.get('www'), services.get('https'), services.get('foo')], [80, 80, 443, undefined]);
  t.equal(servicesFileResolver('/nonexistent/services')('mysql'), BUILTIN_SERVICES.mysql, 'builtin table without /etc/services');
  t.equal(hostsFileResolver('/nonexistent/hosts')('localhost'), undefined);
});
