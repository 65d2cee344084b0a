// `directorctl COMMAND --help` for every command, `--version` on both programs, and `status -t VIP:PORT` parsing.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { runCli } from '../../src/cli/run';
import { commandHelp } from '../../src/cli/help';
import { commandTable } from '../../src/control/commands';
import { offlineCommands } from '../../src/cli/offline';
import { applyServiceFilter, parseServiceFilter } from '../../src/cli/service-filter';
import { buildInfo } from '../../src/util/version';
import { ensureBuilt, paths } from '../lab/build';
import type { ServiceView } from '../../src/control/types';

async function run(...argv: string[]) {
  let out = '';
  let err = '';
  const code = await runCli(argv, { out: (s) => (out += s), err: (s) => (err += s) });
  return { code, out, err };
}

const version = (require('../../package.json') as { version: string }).version;

t.test('every command has --help, exit 0, without a daemon', async (t) => {
  const names = new Set([...commandTable.map((c) => c.name).filter((n) => n !== 'ping'), ...offlineCommands.map((c) => c.name), 'wait-ready', 'logs']);
  for (const name of names) {
    for (const flag of ['--help', '-h']) {
      const r = await run('--socket', '/nonexistent/d.sock', name, flag);
      t.equal(r.code, 0, `${name} ${flag}`);
      t.match(r.out, new RegExp(`^usage: directorctl ${name}`, 'm'), `${name} ${flag} prints its usage`);
    }
    t.equal((await run('help', name)).out, commandHelp(name), `help ${name} = ${name} --help`);
  }
  const w = await run('weight', '--help');
  t.match(w.out, /SERVER +server name from lvs\.cf/, 'arguments come from the command table');
  t.match(w.out, /WEIGHT +weight 0\.\.65535/);
  t.match(w.out, /mutating/);
  const s = await run('status', '--help');
  t.match(s.out, /-t VIP:PORT +only this TCP virtual service/);
  t.match((await run('where', '--help')).out, /where --config FILE/, 'where shows its live and offline forms');
  t.equal(commandHelp('frobnicate'), undefined);
  t.equal((await run('frobnicate', '--help')).code, 2, 'an unknown command is still a usage error');
});

t.test('--version on both programs (and the build info they share)', async (t) => {
  t.equal(buildInfo().version, version);
  const r = await run('--version');
  t.equal(r.code, 0);
  t.equal(r.out, `directorctl ${version} (Node.js ${process.versions.node})\n`);
  t.match(JSON.parse((await run('--json', '--version')).out), { ok: true, result: { version: `directorctl ${version}` } });
  // Both entries as processes, compiled, as the package runs them.
  ensureBuilt();
  const c = spawnSync(process.execPath, [paths.directorctl, '-V'], { encoding: 'utf8', timeout: 60_000 });
  t.equal(c.stdout, `directorctl ${version} (Node.js ${process.versions.node})\n`, c.stderr);
  const d = spawnSync(process.execPath, [paths.directord, '--version'], { encoding: 'utf8', timeout: 60_000 });
  t.equal(d.status, 0, d.stderr);
  t.equal(d.stdout, `directord ${version} (Node.js ${process.versions.node})\n`);
});

const svc = (over: Partial<ServiceView>): ServiceView =>
  ({ virtual: 'v', protocol: 'tcp', vip: '10.0.0.3', port: 3306, fwmark: 0, scheduler: 'wlc', persistent: 0, pmask: '255.255.255.255', dests: [], ...over }) as ServiceView;

t.test('status -t / -u / -f: one service, as ipvsadm -L -t', async (t) => {
  const services = [svc({}), svc({ vip: '10.0.0.3', port: 53, protocol: 'udp' }), svc({ vip: '10.0.0.9', port: 80 }), svc({ vip: '0.0.0.0', port: 0, fwmark: 7 })];
  t.same(applyServiceFilter(services, parseServiceFilter('-t', '10.0.0.3:3306')), [services[0]]);
  t.same(applyServiceFilter(services, parseServiceFilter('-u', '10.0.0.3:53')), [services[1]]);
  t.same(applyServiceFilter(services, parseServiceFilter('-f', '7')), [services[3]]);
  t.throws(() => applyServiceFilter(services, parseServiceFilter('-t', '10.0.0.3:53')), { code: 'E_CLI_NO_SUCH_SERVICE', message: /no such service: -t 10\.0\.0\.3:53/ }, 'TCP filter does not match the UDP service');
  for (const [k, v] of [['-t', '10.0.0.3'], ['-t', '10.0.0.300:1'], ['-u', 'x:1'], ['-t', '10.0.0.3:70000'], ['-f', '0'], ['-f', 'abc'], ['-t', undefined]] as [string, string | undefined][]) {
    t.throws(() => parseServiceFilter(k, v), { code: 'E_CLI_USAGE' }, `${k} ${v}`);
  }
  const r = await run('--socket', '/nonexistent/d.sock', 'status', '-t', 'bogus');
  t.equal(r.code, 2, 'a malformed -t is a usage error before any connection');
  t.equal((await run('--socket', '/nonexistent/d.sock', 'status', '-t', '10.0.0.3:3306', '-u', '10.0.0.3:53')).code, 2, 'one filter at most');
});
