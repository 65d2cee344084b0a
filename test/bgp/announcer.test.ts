// BirdAnnouncer against a scripted birdc: file written atomically, `configure` judged by its answer, status parsed.
import t from 'tap';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BirdAnnouncer, type Run } from '../../src/bgp/announcer';
import type { BgpSettings } from '../../src/bgp/settings';

const dir = mkdtempSync(join(tmpdir(), 'ddann-'));
const settings: BgpSettings = { localAs: 65001, peers: ['10.0.0.1', '10.0.0.2'], peerAs: 65000, bfd: true, bfdInterval: 0.1, bfdMultiplier: 3, holdTime: 0, includeFile: join(dir, 'sub', 'inc.conf'), birdcSocket: '/run/x.ctl' };
const fx = (f: string) => readFileSync(join(__dirname, 'fixtures', f), 'utf8');

function scripted(answers: Record<string, string>): { run: Run; calls: string[][] } {
  const calls: string[][] = [];
  return {
    calls,
    run: async (argv) => {
      calls.push(argv);
      const key = argv.slice(3).join(' ');
      return { code: 0, stdout: answers[key] ?? '', stderr: '' };
    },
  };
}

t.test('flush writes the include, configures, and skips an unchanged set', async (t) => {
  const s = scripted({ configure: 'BIRD 2.0.12 ready.\nReading configuration from /etc/bird/bird.conf\nReconfigured\n' });
  const a = new BirdAnnouncer({ settings, source: 'lvs.cf', run: s.run });
  a.announce('10.2.0.100');
  await a.flush();
  t.same(s.calls, [['birdc', '-s', '/run/x.ctl', 'configure']]);
  t.match(readFileSync(settings.includeFile, 'utf8'), /route 10\.2\.0\.100\/32 blackhole;/);
  t.same(readdirSync(join(dir, 'sub')), ['inc.conf'], 'no temporary file left');
  await a.flush();
  t.equal(s.calls.length, 1, 'unchanged: no configure');
  a.withdraw('10.2.0.100');
  await a.flush();
  t.equal(s.calls.length, 2);
  t.notMatch(readFileSync(settings.includeFile, 'utf8'), /route /);
});

t.test('a refused or unreachable configure is an error with a stable code, and is retried', async (t) => {
  const s = scripted({ configure: 'BIRD 2.0.12 ready.\nReading configuration from /etc/bird/bird.conf\n/var/lib/directord/x.conf:3:1 syntax error\n' });
  const a = new BirdAnnouncer({ settings, source: 'lvs.cf', run: s.run });
  a.announce('10.2.0.1');
  await t.rejects(a.flush(), { code: 'E_BGP_CONFIGURE', message: /syntax error/ });
  await t.rejects(a.flush(), { code: 'E_BGP_CONFIGURE' }, 'not marked applied: tried again');
  const u = new BirdAnnouncer({ settings, source: 'lvs.cf', run: async () => ({ code: 1, stdout: 'Unable to connect to server control socket (/run/x.ctl): No such file or directory\n', stderr: '' }) });
  await t.rejects(u.flush(), { code: 'E_BGP_UNREACHABLE' });
  const w = new BirdAnnouncer({ settings, source: 'lvs.cf', run: s.run, writeFile: () => { throw Object.assign(new Error('x'), { code: 'EACCES' }); } });
  await t.rejects(w.flush(), { code: 'E_BGP_INCLUDE_WRITE', message: /EACCES/ });
});

t.test('status: sessions per configured peer, BFD, what bird exports', async (t) => {
  const protocols = fx('director-protocols.txt').replace(/directord_p1/g, 'directord_peer1');
  const s = scripted({
    'show protocols all': protocols,
    'show route table directord4 protocol directord_vips': 'BIRD 2.0.12 ready.\nTable directord4:\n10.2.0.100/32        blackhole [directord_vips 00:13:27.951] * (200)\n',
    'show bfd sessions': 'BIRD 2.0.12 ready.\ndirectord_bfd:\nIP address                Interface  State      Since         Interval  Timeout\n10.0.0.1                  eth0       Up         00:13:34.067    0.100    0.300\n',
  });
  const a = new BirdAnnouncer({ settings, source: 'lvs.cf', run: s.run });
  const st = await a.status();
  t.equal(st.reachable, true);
  t.same(st.exporting, ['10.2.0.100']);
  t.match(st.peers, [
    { peer: '10.0.0.1', protocol: 'directord_peer1', state: 'Established', established: true, exported: 1, bfd: 'Up' },
    { peer: '10.0.0.2', protocol: 'directord_peer2', state: 'absent', established: false, bfd: 'none' },
  ]);
  const down = new BirdAnnouncer({ settings, source: 'lvs.cf', run: async () => ({ code: 1, stdout: fx('unreachable.txt'), stderr: '' }) });
  t.match(await down.status(), { reachable: false, error: /Unable to connect/, peers: [] });
});

t.test('the include is world-readable whatever the umask (bird runs as its own user)', async (t) => {
  const { statSync } = await import('node:fs');
  const old = process.umask(0o077);
  try {
    const s = scripted({ configure: 'Reconfigured\n' });
    const a = new BirdAnnouncer({ settings: { ...settings, includeFile: join(dir, 'umask', 'inc.conf') }, source: 'lvs.cf', run: s.run });
    await a.flush();
    t.equal(statSync(join(dir, 'umask', 'inc.conf')).mode & 0o777, 0o644);
  } finally {
    process.umask(old);
  }
});
