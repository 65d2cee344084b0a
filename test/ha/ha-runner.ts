// Runs one HaNode as its own process inside a lab namespace (argv[2] = JSON spec); writes its status to a file
// after every change and every 100 ms, so tests can read it from the root namespace. SIGTERM = orderly stop,
// SIGUSR1 = takeover, SIGUSR2 = release, SIGHUP = reconfigure from the (rewritten) spec file.
import { readFileSync, writeFileSync, renameSync } from 'node:fs';
import { HaNode } from '../../src/ha';
import { createRootLogger, subsystemLogger } from '../../src/log';
import type { LvsConfig } from '../../src/config/schema';
import type { HaNodeOptions } from '../../src/ha';
import { FakeDataPlane } from '../../src/dataplane/fake';

interface RunnerSpec {
  name: string;
  config: LvsConfig;
  node?: HaNodeOptions['node'];
  statusFile: string;
  /** Seed the tiny data plane with this many fake connections (for the sync test) when active. */
  syncConnections?: number;
  /** How many of them per 100 ms (default 20), and the first one's number (two nodes seeding different connections). */
  seedBurst?: number;
  seedBase?: number;
}

if (!process.argv[2]) {
  // tap loads every file under test/: without a spec file this is a helper, not a test.
  process.stdout.write('1..0 # SKIP helper: started by the HA lab tests inside a namespace\n');
  process.exit(0);
}
const spec = JSON.parse(readFileSync(process.argv[2], 'utf8')) as RunnerSpec;
const root = createRootLogger({ level: 'debug', base: { node: spec.name } });
const dp = new FakeDataPlane({ forwarding: false });
const ha = new HaNode({
  config: spec.config,
  logger: subsystemLogger(root, 'ha'),
  dataplane: dp,
  node: spec.node,
  hooks: {
    onActivate: async () => dp.setForwarding(true),
    onDeactivate: async () => dp.setForwarding(false),
  },
});

function writeStatus(): void {
  const tmp = `${spec.statusFile}.tmp`;
  writeFileSync(tmp, JSON.stringify({ ...ha.status(), pid: process.pid, forwarding: dp.forwarding, connections: dp.connections().length }));
  renameSync(tmp, spec.statusFile);
}

ha.on('state', writeStatus);
let seeded = 0;
const timer = setInterval(() => {
  // The active node "accepts" new connections, which the data plane would queue for sync.
  if (dp.forwarding && spec.syncConnections && seeded < spec.syncConnections) {
    for (let i = 0; i < (spec.seedBurst ?? 20) && seeded < spec.syncConnections; i++, seeded++) {
      const k = (spec.seedBase ?? 0) + seeded;
      dp.record({ protocol: 'tcp', caddr: `10.63.${k >> 15}.10`, cport: 20000 + (k & 0x7fff), vaddr: '10.63.0.100', vport: 3306, daddr: '10.63.1.1', dport: 3306, state: 'ESTABLISHED', expiresMs: 900000, template: false });
    }
  }
  writeStatus();
}, 100);

// Operator actions and reload, as directorctl takeover/release and SIGHUP would do in the daemon.
process.on('SIGUSR1', () => {
  try {
    ha.takeover();
  } catch (e) {
    root.error({ err: e, code: (e as { code?: string }).code }, 'takeover refused');
  }
});
process.on('SIGUSR2', () => ha.release());
process.on('SIGHUP', () => {
  const next = JSON.parse(readFileSync(process.argv[2], 'utf8')) as RunnerSpec;
  ha.reconfigure(next.config).then(writeStatus, (e) => root.error({ err: e }, 'reconfigure failed'));
});

process.on('SIGTERM', () => {
  clearInterval(timer);
  ha.stop()
    .then(() => writeStatus())
    .finally(() => process.exit(0));
});

ha.start().then(writeStatus, (e) => {
  root.fatal({ err: e }, 'HA start failed');
  process.exit(2);
});
