// No test opens a socket on an IP address in the root network namespace (DEVELOPERS.md, safety): a file under test/
// that binds, listens or connects on an address either builds namespace labs or calls inPrivateNetns() (test/lab/
// private-netns.ts). Read from the tree at test time, so a file another branch adds later is checked too.
import t from 'tap';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { basename, join, relative } from 'node:path';

const root = join(__dirname, '..');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : /\.ts$/.test(n) ? [p] : [];
  });
}

/**
 * The patterns, kept simple on purpose (a file that matches needlessly just runs in a namespace of its own too):
 * - it opens sockets: a call of node's socket API, or `new`/call of a directord class or function that opens one;
 * - on an IP address: an IPv4 literal or `localhost` in a string (where a socket would be bound or sent to); a test
 *   file (*.test.ts) needs none: listen(port) with no address binds them all, and the address may come from elsewhere;
 * - unless it makes its namespaces: a line that starts `inPrivateNetns();` (the top-level call; a mention in a comment
 *   does not count), a lab (test/lab/lab.ts Lab and the labs built on it: SeedLab, HaLab, BgpLab, DataPlaneLab;
 *   labAvailable() gates them), or its process run under `unshare -n`;
 * - or it is a lab process script: a file that builds labs names it as `'<name>.js'` or `'<name>.ts'` (spawned there).
 * Comments are not stripped: a file that only mentions 127.0.0.1 next to a socket call is asked to be safe too.
 */
export const SOCKET_CALL = /\b(?:createSocket|createServer|createConnection|connect|listen|fetch)\s*\(/;
/** directord's socket owners (src/ha, src/health, src/metrics); each must still exist in src/ (checked below). */
export const SOCKET_OWNERS = ['SyncChannel', 'SyncMesh', 'ScaleOutNode', 'HaNode', 'HeartbeatLink', 'bindUdp', 'bindSyncSocket', 'startMetricsServer', 'MysqlProbe', 'mysqlProbe', 'tcpProbe', 'udpProbe', 'icmpProbe', 'defaultProbeFactory'];
const OWNER_CALL = new RegExp(`\\b(?:${SOCKET_OWNERS.join('|')})\\s*\\(`);
export const ADDRESS = /['"`](?:[a-z]+:\/\/)?(?:\d{1,3}(?:\.\d{1,3}){3}|localhost)\b/;
export const NAMESPACED = /^inPrivateNetns\(\);|\bnew (?:Seed|Ha|Bgp|DataPlane)?Lab\(|\blabAvailable\(\)|\bunshare['"]?,\s*\[['"](?:-n|--net)['"]/m;

/** Why `text` (of a test file when `isTest`) needs a namespace it does not make ('' when it is fine). */
export function unsafeReason(text: string, isTest = false): string {
  const opens = text.match(SOCKET_CALL) ?? text.match(OWNER_CALL);
  if (!opens || NAMESPACED.test(text)) return '';
  const addr = text.match(ADDRESS);
  if (!addr && !isTest) return '';
  return `${opens[0]}…)${addr ? ` with ${addr[0].slice(1)}` : ''} and neither inPrivateNetns() nor a namespace lab`;
}

t.test('the patterns', async (t) => {
  t.match(unsafeReason("const s = createSocket('udp4'); s.bind(0, '127.0.0.2');"), /createSocket\(/, 'a UDP socket on loopback');
  t.match(unsafeReason("await fetch(`http://127.0.0.1:${port}/m`)"), /fetch\(/, 'an HTTP request');
  t.match(unsafeReason("new SyncMesh({ local: '10.0.0.1' })"), /SyncMesh\(/, 'a project class that binds');
  t.match(unsafeReason("srv.listen(0, 'localhost')"), /listen\(.*localhost/, 'localhost');
  t.equal(unsafeReason("inPrivateNetns();\nsrv.listen(0, '127.0.0.1')"), '', 'in a private namespace');
  t.not(unsafeReason("// like inPrivateNetns(); does\nsrv.listen(0, '127.0.0.1')"), '', 'naming it in a comment is not calling it');
  t.equal(unsafeReason("const lab = new HaLab(); lab.spawn('lb1', ['node', '-e', \"net.connect(3306, '10.0.0.3')\"])"), '', 'in a lab');
  t.equal(unsafeReason("spawnSync('unshare', ['-n', node, d]); net.connect(1, '10.0.0.1')"), '', 'under unshare -n');
  t.equal(unsafeReason("t.same(parse('127.0.0.1:9539'), { host: '127.0.0.1' })"), '', 'an address without a socket');
  t.equal(unsafeReason('connect({ path: sock })'), '', 'a helper\'s UNIX socket');
  t.match(unsafeReason('createServer().listen(port)', true), /createServer\(/, 'a test file listening on every address');
});

t.test('every socket owner named in the patterns still exists in src/', async (t) => {
  const src = files(join(root, 'src')).map((f) => readFileSync(f, 'utf8')).join('\n');
  for (const name of SOCKET_OWNERS) t.match(src, new RegExp(`export (?:async )?(?:class|function|const) ${name}\\b`), name);
});

t.test('no file under test/ opens a socket on an IP address outside a namespace it makes', async (t) => {
  const all = files(join(root, 'test')).map((f) => ({ f, text: readFileSync(f, 'utf8') }));
  t.ok(all.length > 100, `${all.length} files scanned`);
  const labs = all.filter((x) => NAMESPACED.test(x.text));
  for (const { f, text } of all) {
    const why = unsafeReason(text, f.endsWith('.test.ts'));
    const spawner = why && labs.find((l) => l.text.includes(`'${basename(f, '.ts')}.js'`) || l.text.includes(`'${basename(f)}'`));
    t.equal(spawner ? '' : why, '', `${relative(root, f)}: ${spawner ? `a lab process script (spawned by ${relative(root, spawner.f)})` : why || 'fine'}`);
  }
});
