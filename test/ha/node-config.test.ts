// HaNode's pure configuration helpers (moved out of node.ts): identity, the backup_active rule, timings, GARP
// settings, and which reloads move the heartbeat channel.
import t from 'tap';
import { defaultGlobal } from '../../src/config/keys';
import { createRootLogger } from '../../src/log';
import { effectiveBackupActive, garpSettingsOf, heartbeatMoved, identityOf, machineTimings } from '../../src/ha/node-config';

const g = { ...defaultGlobal(), primary: '10.0.0.1', backup: '10.0.0.2', backupActive: true };

t.test('identity: primary iff an interface holds the primary address, else backup, else E_HA_NOT_HERE', async (t) => {
  t.same(identityOf(g, {}, ['127.0.0.1', '10.0.0.1']), { role: 'primary', self: '10.0.0.1', peer: '10.0.0.2' });
  t.same(identityOf(g, {}, ['10.0.0.2']), { role: 'backup', self: '10.0.0.2', peer: '10.0.0.1' });
  t.throws(() => identityOf(g, {}, ['10.0.0.9']), { code: 'E_HA_NOT_HERE' });
  t.throws(() => identityOf({ ...g, primary: undefined }, {}, []), { code: 'E_HA_NO_PRIMARY' });
  t.same(identityOf(g, { role: 'backup', self: '127.0.0.2', peer: '127.0.0.3' }, []), { role: 'backup', self: '127.0.0.2', peer: '127.0.0.3' });
});

t.test('backup_active without a backup is cleared, as pulse does', async (t) => {
  const lines: string[] = [];
  const log = createRootLogger({ level: 'warn', destination: { write: (l: string) => void lines.push(l) } });
  t.equal(effectiveBackupActive(g, log), true);
  t.equal(effectiveBackupActive({ ...g, backup: undefined }, log), false);
  t.match(lines.join(''), /Undefined backup node marked as active/);
});

t.test('timings, GARP settings, moved heartbeat channel', async (t) => {
  t.same(machineTimings({ ...g, deadtime: 0.6, failbackHolddown: 2 }), { deadtimeMs: 600, monitorLinks: false, failback: false, failbackHolddownMs: 2000 });
  t.same(garpSettingsOf({ ...g, garpCount: 3, garpInterval: 0.5, garpRefresh: 10 }), { count: 3, intervalMs: 500, refreshMs: 10000 });
  t.notOk(heartbeatMoved(g, { ...g, keepalive: 1 }));
  t.ok(heartbeatMoved(g, { ...g, heartbeatPort: 540 }));
  t.ok(heartbeatMoved(g, { ...g, backupPrivate: '192.168.0.2' }));
});
