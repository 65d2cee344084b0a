// scripts/build-deb.sh: the .deb builds, passes lintian without errors, installs into a fresh Debian 12 root where
// `directord --check-config` on the seed's lvs.cf and `systemd-analyze verify` pass, and `dpkg --purge` leaves nothing.
// The root is made once with mmdebstrap from Debian's mirrors and cached (/var/cache/directord-test); each run
// unpacks it into a temp dir. Node.js 20 is not in Debian 12: see nodeDeb() for how the root gets the host's.
import t from 'tap';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { cannotRun, haveTool } from '../lab/needs';
import { ensureBuilt } from '../lab/build';

const repo = join(__dirname, '..', '..');
const cache = '/var/cache/directord-test';
// What the root holds besides minbase: the package's library Depends, adduser, systemd for `systemd-analyze`, man-db so it
// checks Documentation=, and what NodeSource's nodejs depends on (python3, ca-certificates).
const includes = ['systemd', 'man-db', 'libpcap0.8', 'libbpf1', 'libxdp1', 'libstdc++6', 'adduser', 'python3', 'ca-certificates'];
const rootTar = join(cache, `bookworm-${includes.join('+')}.tar`);
// The same Debian sources as this machine's (/etc/apt/sources.list.d/debian.sources).
const mirrors = ['deb http://deb.debian.org/debian bookworm main', 'deb http://deb.debian.org/debian-security bookworm-security main'];

function run(cmd: string, args: string[], opts: { cwd?: string; timeout?: number; env?: NodeJS.ProcessEnv } = {}): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, { encoding: 'utf8', timeout: opts.timeout ?? 300_000, cwd: opts.cwd ?? repo, maxBuffer: 64 << 20, env: opts.env ?? process.env });
}
// The root sees none of this process's environment: tap adds NODE_OPTIONS (loaders that exist only here) to every
// child's environment whatever env it is given, so `env -i` inside the chroot starts from nothing.
const rootEnv = ['env', '-i', 'PATH=/usr/sbin:/usr/bin:/sbin:/bin', 'LANG=C.UTF-8', 'HOME=/root'];
const out = (r: SpawnSyncReturns<string>): string => `exit ${r.status}\n${r.stdout}\n${r.stderr}`;

// First run: about a minute for mmdebstrap and one for dpkg-repack (both cached); later runs about a minute.
t.setTimeout(900_000);
ensureBuilt();
const missing = ['dpkg-deb', 'lintian', 'mmdebstrap', 'dpkg-repack', 'unshare'].filter((c) => !haveTool('sh', ['-c', `command -v ${c}`]));
const built = existsSync(join(repo, 'build', 'Release', 'directord_native.node')) && existsSync(join(repo, 'dist', 'packaging', 'man', 'gen-man.js'));
const why = process.getuid?.() !== 0 ? 'not root (a chroot install needs root)'
  : missing.length ? `missing tools: ${missing.join(', ')} (apt-get install lintian mmdebstrap dpkg-repack)`
  : !built ? 'the tree is not built (npm run build)' : '';

/** The cached root, made on first use; undefined when Debian's mirrors cannot be reached (a skip, with the reason). */
function debianRoot(): { tar?: string; reason?: string } {
  if (existsSync(rootTar)) return { tar: rootTar };
  mkdirSync(cache, { recursive: true });
  const tmp = rootTar.replace(/\.tar$/, `.${process.pid}.tar`); // mmdebstrap picks the format from the extension
  const r = run('mmdebstrap', ['--variant=minbase', `--include=${includes.join(',')}`, 'bookworm', tmp, ...mirrors], { timeout: 600_000 });
  if (r.status !== 0) {
    rmSync(tmp, { force: true });
    return { reason: `the Debian package sources cannot be reached (mmdebstrap failed): ${r.stderr.trim().split('\n').slice(-3).join(' | ')}` };
  }
  renameSync(tmp, rootTar);
  return { tar: rootTar };
}

/**
 * Node.js >= 20 for the root. Debian 12 has 18; this machine's 20 is NodeSource's `nodejs` package (deb.nodesource.com,
 * configured here but not always reachable). So the root gets that very package, rebuilt from this machine's
 * installed files with dpkg-repack: the same binary, version and package name, installed with dpkg, which checks
 * the .deb's `nodejs (>= 20)` Depends as apt would with NodeSource configured.
 */
function nodeDeb(): { deb?: string; reason?: string } {
  const v = run('dpkg-query', ['-W', '-f', '${Version}', 'nodejs']);
  if (v.status !== 0 || !/^(\d+)/.test(v.stdout) || Number(/^(\d+)/.exec(v.stdout)?.[1]) < 20) return { reason: `no nodejs >= 20 package installed here to give the root (${v.stdout || v.stderr})` };
  // Cached per version next to the root (repacking 100 MB takes a while).
  const dir = join(cache, `nodejs-${v.stdout.replace(/[^\w.+-]/g, '_')}`);
  mkdirSync(dir, { recursive: true });
  let deb = readdirSync(dir).find((f) => f.startsWith('nodejs_') && f.endsWith('.deb'));
  if (deb) return { deb: join(dir, deb) };
  const r = run('dpkg-repack', ['--deb-option=-Zgzip', '--deb-option=-z1', 'nodejs'], { cwd: dir, timeout: 600_000 });
  deb = readdirSync(dir).find((f) => f.startsWith('nodejs_') && f.endsWith('.deb'));
  return r.status === 0 && deb ? { deb: join(dir, deb) } : { reason: `dpkg-repack nodejs failed: ${out(r)}` };
}

t.test('the .deb: lintian, install into a fresh Debian 12 root, check-config, systemd-analyze, purge', { skip: why ? cannotRun(why) : false, timeout: 900_000 }, async (t) => {
  const b = run('bash', ['scripts/build-deb.sh', '--no-build']);
  t.equal(b.status, 0, `build-deb.sh: ${out(b)}`);
  const deb = join(repo, b.stdout.trim().split('\n').pop() ?? '');
  t.match(deb, /dist\/directord_[\d.]+-\d+_[a-z0-9]+\.deb$/, 'dist/directord_<version>_<arch>.deb');

  const info = run('dpkg-deb', ['-f', deb, 'Depends']);
  t.match(info.stdout, /nodejs \(>= 20\)/, 'Depends on Node.js 20');
  for (const lib of ['libpcap0.8', 'libbpf1', 'libxdp1']) t.match(info.stdout, lib, `Depends on ${lib}`);
  t.notMatch(info.stdout, /gcc|build-essential|python3|node-gyp|-dev\b/, 'no compilers');
  const files = run('dpkg-deb', ['-c', deb]).stdout;
  for (const f of ['usr/share/man/man8/directord.8.gz', 'usr/share/man/man8/directorctl.8.gz', 'usr/share/man/man5/lvs.cf.5.gz',
    'usr/share/bash-completion/completions/directorctl', 'etc/default/directord', 'lib/systemd/system/directord.service',
    'usr/share/doc/directord/examples/lvs.cf', 'build/Release/directord_xdp.bpf.o', 'build/Release/directord_afxdp.node',
    'node_modules/pino/', 'dist/src/main.js']) t.match(files, f, `ships ${f}`);
  t.notMatch(files, /node_modules\/(tap|typescript|node-gyp|pino-pretty|@tapjs)\//, 'no dev dependencies');
  t.notMatch(files, /directord_bench\.node/, 'no benchmark/test addon');

  const l = run('lintian', ['--allow-root', deb]);
  const errors = l.stdout.split('\n').filter((x) => x.startsWith('E:'));
  t.same(errors, [], 'lintian finds no errors');
  t.equal(l.status, 0, `lintian: ${out(l)}`);

  const root = debianRoot();
  if (!root.tar) {
    t.test('install into a Debian root', { skip: cannotRun(root.reason as string, t) }, async () => {});
    return;
  }
  const tmp = mkdtempSync('/tmp/ddpkg-');
  t.teardown(() => rmSync(tmp, { recursive: true, force: true }));
  const node = nodeDeb();
  if (!node.deb) {
    t.test('install into a Debian root', { skip: cannotRun(node.reason as string, t) }, async () => {});
    return;
  }
  const dir = join(tmp, 'root');
  mkdirSync(dir);
  t.equal(run('tar', ['-xf', root.tar, '-C', dir]).status, 0, 'root unpacked');
  run('cp', [node.deb, join(dir, 'tmp', 'nodejs.deb')]);
  run('cp', [deb, join(dir, 'tmp', 'directord.deb')]);
  // A private mount namespace with its own /proc for the root: nothing outlives the test but the temp dir.
  const inRoot = (script: string): SpawnSyncReturns<string> =>
    run('unshare', ['--mount', '--pid', '--fork', `--mount-proc=${join(dir, 'proc')}`, 'chroot', dir, ...rootEnv, '/bin/sh', '-ec', script]);
  const snapshot = (): string[] =>
    inRoot('find / -xdev \\( -path /proc -o -path /tmp -o -path /var/lib/dpkg -o -path /var/log -o -path /var/cache -o -path /run \\) -prune -o -print | sort')
      .stdout.split('\n').filter((x) => x && !/^\/etc\/(passwd|group|shadow|gshadow|subuid|subgid)-?$/.test(x));

  const n = inRoot('dpkg -i /tmp/nodejs.deb && node --version');
  t.equal(n.status, 0, `nodejs into the root: ${out(n)}`);
  const before = snapshot();

  const i = inRoot('dpkg -i /tmp/directord.deb');
  t.equal(i.status, 0, `dpkg -i directord: ${out(i)}`);
  const v = inRoot('directord --version && directorctl --version');
  t.equal(v.status, 0, `--version: ${out(v)}`);
  const c = inRoot('directord --check-config /usr/share/doc/directord/examples/lvs.cf');
  t.equal(c.status, 0, `check-config of the seed's lvs.cf in the root: ${out(c)}`);
  t.match(c.stderr, /configuration is valid/);
  // Every production module (with the native ones: pcap, raw-socket, netlink) and both addons load in the root.
  const m = inRoot(`cd /usr/lib/directord && node -e '
    for (const d of Object.keys(require("./package.json").dependencies)) if (d !== "node-addon-api") require(d);
    const n = require("./dist/src/dataplane/native.js"); n.loadNative(); n.loadXdp(); console.log("modules ok")'`);
  t.equal(m.status, 0, `modules load: ${out(m)}`);
  const s = inRoot('systemd-analyze verify /lib/systemd/system/directord.service');
  const problems = (s.stderr + s.stdout).split('\n').filter((x) => x.includes('directord.service'));
  t.equal(s.status, 0, `systemd-analyze verify: ${out(s)}`);
  t.same(problems, [], 'systemd-analyze says nothing about the unit');
  t.equal(inRoot('getent passwd directord && getent group directord').status, 0, 'user and group directord exist');

  const p = inRoot('dpkg --purge directord');
  t.equal(p.status, 0, `dpkg --purge: ${out(p)}`);
  t.same(snapshot().filter((x) => !before.includes(x)), [], 'purge leaves no file behind');
  t.not(inRoot('getent passwd directord').status, 0, 'the user is gone after purge');
});
