// systemd/directord.service: systemd-analyze verify finds no problem, and the unit has what the issue requires.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { skipUnless } from '../lab/needs';
import { defaultOptions } from '../../src/defaults';

const unitPath = join(__dirname, '..', '..', 'systemd', 'directord.service');
const unit = readFileSync(unitPath, 'utf8');

t.test('required directives', async (t) => {
  const want = [
    /^ExecStartPre=\/usr\/local\/bin\/directord --check-config -q /m,
    /^ExecReload=\/usr\/local\/bin\/directorctl reload$/m,
    /^EnvironmentFile=-\/etc\/default\/directord$/m,
    /^ExecStart=.* \$DIRECTORD_OPTS$/m,
    /^Documentation=man:directord\(8\) man:directorctl\(8\) man:lvs\.cf\(5\)$/m,
    /^RestrictAddressFamilies=.*\bAF_XDP\b/m,
    /^Restart=always$/m,
    /^ExecStopPost=\/usr\/local\/bin\/directord --cleanup --config \$\{DIRECTORD_CONFIG\}$/m,
    /^WatchdogSec=\d+s$/m,
    /^TimeoutStopSec=30s$/m,
    /^Type=notify$/m,
    /^NotifyAccess=main$/m,
    /^CapabilityBoundingSet=CAP_NET_RAW CAP_NET_ADMIN CAP_NET_BIND_SERVICE CAP_BPF CAP_PERFMON CAP_IPC_LOCK$/m,
    /^AmbientCapabilities=CAP_NET_RAW CAP_NET_ADMIN CAP_NET_BIND_SERVICE CAP_BPF CAP_PERFMON CAP_IPC_LOCK$/m,
    /^ProtectSystem=strict$/m,
    /^ProtectHome=yes$/m,
    /^NoNewPrivileges=yes$/m,
    /^RuntimeDirectory=directord$/m,
    /^PrivateTmp=yes$/m,
  ];
  for (const re of want) t.match(unit, re, String(re));
});

t.test("the daemon's own stop deadline ends before systemd's SIGKILL", async (t) => {
  const stopSec = Number(/^TimeoutStopSec=(\d+)s$/m.exec(unit)?.[1]);
  t.ok(defaultOptions.stopHardDeadlineMs < stopSec * 1000, `hard deadline ${defaultOptions.stopHardDeadlineMs} ms < TimeoutStopSec ${stopSec} s`);
  t.ok(4 * defaultOptions.stopStepTimeoutMs + 2 * defaultOptions.stopStepTimeoutMs <= defaultOptions.stopHardDeadlineMs + 10_000, 'the step deadlines fit roughly');
});

const analyzable = spawnSync('systemd-analyze', ['--version'], { stdio: 'ignore' }).status === 0;

t.test('systemd-analyze verify', { skip: skipUnless(analyzable, 'systemd-analyze is not installed') }, async (t) => {
  // verify insists that every Exec path exists: point them at stand-ins in a temp dir.
  const dir = mkdtempSync(join(tmpdir(), 'ddunit-'));
  for (const bin of ['directord', 'directorctl']) {
    writeFileSync(join(dir, bin), '#!/bin/sh\nexit 0\n');
    chmodSync(join(dir, bin), 0o755);
  }
  const copy = join(dir, 'directord.service');
  writeFileSync(copy, unit.replaceAll('/usr/local/bin/', `${dir}/`));
  const r = spawnSync('systemd-analyze', ['verify', '--man=no', copy], { encoding: 'utf8' });
  // Warnings (unknown keys, bad values) do not change the exit status, so stderr must be clean too.
  const problems = r.stderr.split('\n').filter((l) => l.includes('directord.service') && !/Failed to connect to bus|Cannot add dependency/.test(l));
  t.equal(r.status, 0, r.stderr);
  t.same(problems, [], 'no warnings about the unit');

  const broken = join(dir, 'broken.service');
  writeFileSync(broken, unit.replaceAll('/usr/local/bin/', `${dir}/`).replace('Restart=always', 'Restart=alway'));
  const b = spawnSync('systemd-analyze', ['verify', '--man=no', broken], { encoding: 'utf8' });
  t.match(b.stderr, /restart specifier/, 'the check notices a broken unit');
});
