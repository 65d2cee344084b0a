// Children started through spawnUnprivileged have no capability even when the daemon holds ambient ones (as under
// the systemd unit): a process run as nobody with the unit's three ambient capabilities starts `grep Cap…
// /proc/self/status` through the helper, and the child's CapEff/CapAmb/CapPrm are all zero.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { capabilitySet, dropPlan } from '../../src/util/child';
import { ensureBuilt, paths } from '../lab/build';
import { join } from 'node:path';

const STATUS = 'CapInh:\t0000000000000000\nCapPrm:\t0000000000003400\nCapEff:\t0000000000003400\nCapBnd:\t0000000000003400\nCapAmb:\t0000000000003400\n';

t.test('capability sets are read from /proc/PID/status', async (t) => {
  t.equal(capabilitySet('CapAmb', STATUS), 0x3400n);
  t.equal(capabilitySet('CapInh', STATUS), 0n);
  t.equal(capabilitySet('CapAmb', 'garbage'), 0n);
});

t.test('the plan: nothing to drop, setpriv, or a warning when setpriv is missing', async (t) => {
  t.same(dropPlan(0n, '/usr/bin/setpriv'), { prefix: [] });
  t.same(dropPlan(0x3400n, '/usr/bin/setpriv').prefix, ['/usr/bin/setpriv', '--inh-caps=-all', '--ambient-caps=-all', '--']);
  t.match(dropPlan(0x3400n, null), { prefix: [], warning: /setpriv\(1\) not found/ });
});

const setprivOk = spawnSync('setpriv', ['--version'], { stdio: 'ignore' }).status === 0;
const root = process.getuid?.() === 0;

t.test('a child of a process with ambient CAP_NET_ADMIN/CAP_NET_RAW has none', { skip: (!setprivOk && 'needs setpriv') || (!root && 'needs root to grant capabilities') }, async (t) => {
  ensureBuilt();
  const helper = join(paths.root, 'dist', 'src', 'util', 'child.js');
  const script = `const { spawnUnprivileged } = require(${JSON.stringify(helper)});
const c = spawnUnprivileged(['grep', '-E', '^Cap(Prm|Eff|Amb)', '/proc/self/status'], { stdio: ['ignore', 'inherit', 'inherit'] });
c.on('exit', (code) => process.exit(code ?? 1));`;
  const CAPS = '+net_raw,+net_admin,+net_bind_service';
  const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', `--inh-caps=-all,${CAPS}`, `--ambient-caps=-all,${CAPS}`, `--bounding-set=-all,${CAPS}`,
    'env', '-u', 'NODE_OPTIONS', process.execPath, '-e', script], { encoding: 'utf8' });
  t.equal(r.status, 0, r.stderr);
  t.equal(capabilitySet('CapAmb', r.stdout), 0n, r.stdout);
  t.equal(capabilitySet('CapEff', r.stdout), 0n, r.stdout);
  t.equal(capabilitySet('CapPrm', r.stdout), 0n, r.stdout);
  // The same process without the helper: the capabilities do pass (what the helper prevents).
  const direct = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', `--inh-caps=-all,${CAPS}`, `--ambient-caps=-all,${CAPS}`, `--bounding-set=-all,${CAPS}`,
    'grep', '-E', '^Cap(Eff|Amb)', '/proc/self/status'], { encoding: 'utf8' });
  t.equal(capabilitySet('CapEff', direct.stdout), 0x3400n, 'without the helper a child keeps them');
});
