// The block under the ipvsadm table: HA role, peer, heartbeat age, per-server health with overrides marked.
import t from 'tap';
import { renderHa, renderHealth, renderStatusBlock } from '../../src/cli/status-format';
import type { ServerHealthView, StatusSnapshot } from '../../src/control/types';

const now = Date.parse('2026-01-01T00:00:10Z');
const row = (o: Partial<ServerHealthView>): ServerHealthView => ({
  virtual: 'mysql', server: 'sql1', address: '10.0.0.4', port: 3306, state: 'up', inTable: true, configuredWeight: 1, healthWeight: 1, effectiveWeight: 1,
  lastCheck: '2026-01-01T00:00:08.800Z', reason: 'ok', ...o,
});

t.test('HA lines', async (t) => {
  t.equal(renderHa({ enabled: true, role: 'primary', state: 'active', forwarding: true, peer: { address: '10.0.0.2', state: 'standby' }, lastHeartbeatAgeMs: 2300 }),
    'Node: primary, active, forwarding on\nPeer: 10.0.0.2 standby, last heartbeat 2.3s ago\n');
  t.equal(renderHa({ enabled: true, role: 'backup', state: 'standby', forwarding: false, peer: { address: '10.0.0.1', state: 'unknown' } }),
    'Node: backup, standby, forwarding off\nPeer: 10.0.0.1 unknown, no heartbeat yet\n');
  t.equal(renderHa({ enabled: false, role: 'standalone', state: 'active', forwarding: true }), 'Node: standalone (no HA peer wired), forwarding on\n');
  const standby = { enabled: true, role: 'primary', state: 'standby', forwarding: false, peer: { address: '10.0.0.2', state: 'active' }, lastHeartbeatAgeMs: 100 };
  t.match(renderHa({ ...standby, sync: { synced: false, phase: 'transferring', entriesReceived: 470, total: 5000 } }), /Sync: fetching the peer's connection table \(470 of 5000 entries\); takeover and failback wait\n$/);
  t.match(renderHa({ ...standby, sync: { synced: true, phase: 'synced', entriesReceived: 5000, total: 5000 } }), /Sync: connection table synced from the peer\n$/);
  t.match(renderHa({ ...standby, sync: { synced: true, phase: 'gave-up', entriesReceived: 0, total: null } }), /GAVE UP/);
});

t.test('health table with overrides', async (t) => {
  t.equal(
    renderHealth([
      row({}),
      row({ server: 'sql2', address: '10.0.0.5', state: 'quiesced', effectiveWeight: 0, healthWeight: 0, reason: 'connect_refused', override: { kind: 'drain', weight: 0, since: 'x' } }),
      row({ server: 'sql3', address: '10.0.0.6', state: 'up', effectiveWeight: 7, override: { kind: 'weight', weight: 7, since: 'x' }, lastCheck: undefined, reason: undefined, unavailable: 'no MAC address (failed)' }),
    ], now),
    'Real servers:\n' +
      '  SERVER      ADDRESS        HEALTH    WEIGHT                    LAST CHECK  REASON\n' +
      '  mysql/sql1  10.0.0.4:3306  up        1/1                       1.2s ago    ok\n' +
      '  mysql/sql2  10.0.0.5:3306  quiesced  0/1 (override: drain)     1.2s ago    connect_refused\n' +
      '  mysql/sql3  10.0.0.6:3306  up        7/1 (override: weight 7)  -           data plane: no MAC address (failed)\n',
  );
  t.equal(renderHealth([], now), 'Real servers: none configured\n');
});

t.test('block: missing subsystems and a failed reload are said', async (t) => {
  const s = {
    subsystems: { config: true, dataplane: true, health: false, ha: true, scheduler: false },
    reload: { count: 1, failures: 1, lastResult: 'failure', lastError: { code: 'E_CONFIG_SYNTAX', message: 'lvs.cf:3:1 E_CONFIG_SYNTAX x' } },
    ha: { enabled: false, role: 'standalone', state: 'active', forwarding: true },
    health: [],
  } as unknown as StatusSnapshot;
  t.equal(renderStatusBlock(s, now),
    '\nNode: standalone (no HA peer wired), forwarding on\nNot wired in this build: health, scheduler\n' +
      'Last reload FAILED (E_CONFIG_SYNTAX): lvs.cf:3:1 E_CONFIG_SYNTAX x; running configuration kept\nReal servers: none configured\n');
});
