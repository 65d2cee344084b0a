// Reload preflight: which (address, port) pairs a configuration binds on this host, and that only new ones are tried.
import t from 'tap';
import { haBindings, probeHaPorts } from '../../src/daemon/port-probe';
import { config, server, virtual } from '../director/config-fixture';

const v = [virtual('db', '10.64.0.100', [server('a', '10.64.0.4')])];
const local = new Set(['10.64.0.1', '192.168.9.1']);

t.test('bindings: heartbeats on our public and private addresses, sync on our public one, nothing without backup_active', async (t) => {
  const g = { primary: '10.64.0.1', backup: '10.64.0.2', primaryPrivate: '192.168.9.1', backupPrivate: '192.168.9.2', backupActive: true, heartbeatPort: 1539, syncdaemon: true, syncPort: 8848 };
  t.same(haBindings(config(v, g), local), [
    { key: 'heartbeat_port', address: '10.64.0.1', port: 1539 },
    { key: 'heartbeat_port', address: '192.168.9.1', port: 1539 },
    { key: 'sync_port', address: '10.64.0.1', port: 8848 },
  ]);
  t.same(haBindings(config(v, { ...g, backupActive: false }), local), [], 'pulse opens no heartbeat socket without backup_active');
});

t.test('pairs the running configuration already holds are not tried again', async (t) => {
  // 192.0.2.1 (TEST-NET-1) is never an address of this machine: a bind would throw, so resolving proves none was
  // tried. (A taken port is refused in the namespace lab: test/director/reload.e2e.test.ts.)
  const mine = new Set(['192.0.2.1']);
  const cfg = config(v, { primary: '192.0.2.1', backupActive: true, heartbeatPort: 1539 });
  await t.resolves(probeHaPorts(cfg, config(v, { primary: '192.0.2.1', backupActive: true, heartbeatPort: 1539, keepalive: 1, deadtime: 3 }), mine));
  await t.resolves(probeHaPorts(cfg, config(v, { primary: '192.0.2.1', backupActive: false, heartbeatPort: 1540 }), mine), 'no heartbeat socket: nothing to try');
});
