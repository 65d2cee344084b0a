// `where` answers in one envelope whether the daemon computes it from its live table or directorctl from lvs.cf
// (where --config): same keys, same answers on an idle table with every server up, same lines for people, and the
// same error and exit status for a bad client.
import t from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../src/cli/run';
import { loadConfig } from '../../src/config';
import { renderWhere } from '../../src/control/where';
import { Director } from '../../src/director';
import { buildWhere } from '../../src/daemon/wiring';
import { silentLogger } from '../../src/log';
import { FakeDataPlane } from '../../src/dataplane/fake';

const LVS_CF = `primary = 10.64.9.1
network = direct
virtual db {
  active = 1
  address = 10.64.9.100 eth0:1
  port = 3306
  scheduler = wlc
  server sql1 {
    address = 10.64.9.4
    active = 1
    weight = 1
  }
  server sql2 {
    address = 10.64.9.5
    active = 1
    weight = 2
  }
}
`;

async function run(...argv: string[]) {
  let out = '';
  let err = '';
  const code = await runCli(argv, { out: (s) => (out += s), err: (s) => (err += s) });
  return { code, out, err };
}

t.test('live and offline: one envelope', async (t) => {
  const file = join(mkdtempSync(join(tmpdir(), 'ddwhere-')), 'lvs.cf');
  writeFileSync(file, LVS_CF);
  const director = new Director({
    configFile: file, logger: silentLogger, dataplane: new FakeDataPlane(), config: { load: (f) => loadConfig(f) }, where: buildWhere(),
    drainTimeoutMs: 1000, drainPollMs: 50, rateSampleMs: 1000, bannerTableSize: 4096,
  });
  await director.start();
  t.teardown(() => director.stop());

  for (const client of ['10.64.1.7:40000', '10.64.1.7']) {
    const off = await run('--json', 'where', '--config', file, client);
    t.equal(off.code, 0, off.err);
    const offline = JSON.parse(off.out);
    const live = JSON.parse(JSON.stringify({ ok: true, result: director.where(client) }));
    t.same(Object.keys(offline).sort(), ['ok', 'result']);
    t.same(Object.keys(offline.result).sort(), Object.keys(live.result).sort(), `${client}: the same result keys`);
    t.equal(offline.result.source, 'config');
    t.equal(live.result.source, 'daemon');
    t.equal(offline.result.answers.length, live.result.answers.length);
    for (const [i, a] of offline.result.answers.entries()) {
      const b = live.result.answers[i];
      t.same(Object.keys(a).sort(), Object.keys(b).sort(), 'the same answer keys');
      t.same({ ...a, reason: '' }, { ...b, reason: '' }, 'the same answer (the reason says where it came from)');
    }
    t.match(offline.result.answers[0], { virtual: 'db', vip: '10.64.9.100', port: 3306, protocol: 'tcp', decidedBy: 'scheduler', destination: { server: 'sql2' } });
    const human = await run('where', '--config', file, client);
    t.equal(human.out, renderWhere(offline.result), 'people get the same lines as from the daemon');
    t.match(human.out, new RegExp(`^${client.replace(/\./g, '\\.')} → db 10\\.64\\.9\\.100:3306 → 10\\.64\\.9\\.5:3306 \\(sql2\\)\\n  because: `));
  }

  const bad = await run('--json', 'where', '--config', file, '10.0.0.256');
  t.equal(bad.code, 2);
  const err = JSON.parse(bad.out);
  t.equal(err.ok, false);
  t.equal(err.error.code, 'E_CTL_BAD_ARGS');
  t.throws(() => director.where('10.0.0.256'), { code: 'E_CTL_BAD_ARGS', message: err.error.message }, 'live: the same code and message');
  t.equal((await run('where', '--config', file)).code, 2, 'no client: usage');
});
