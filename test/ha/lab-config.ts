// An LvsConfig for the HA lab (10.63.0.0/20): two directors, one VIP on eth0:6, fast timings.
import type { GlobalConfig, LvsConfig, VirtualServiceConfig } from '../../src/config/schema';

export const HA_LAB = {
  lb1: '10.63.0.1',
  lb2: '10.63.0.2',
  client: '10.63.0.10',
  attacker: '10.63.0.66',
  vip: '10.63.0.100',
  lb1Mac: '02:63:00:00:00:01',
  lb2Mac: '02:63:00:00:00:02',
};

export function haGlobal(over: Partial<GlobalConfig> = {}): GlobalConfig {
  return {
    serialNo: 1, service: 'lvs', primary: HA_LAB.lb1, backup: HA_LAB.lb2, backupActive: true, rshCommand: 'rsh', heartbeat: true,
    heartbeatPort: 539, keepalive: 0.2, deadtime: 0.6, debugLevel: 'NONE', monitorLinks: true, syncdaemon: false, syncdIface: 'eth0',
    syncdId: 0, hardShutdown: true, network: 'direct', tcpTimeout: 0, tcpfinTimeout: 0, udpTimeout: 0, ipvsadm: '/sbin/ipvsadm', sync: false,
    failback: false, failbackHolddown: 10, garpCount: 5, garpInterval: 0.2, garpRefresh: 0, syncPort: 8848,
    ...over,
  };
}

export function haVirtual(over: Partial<VirtualServiceConfig> = {}): VirtualServiceConfig {
  return {
    name: 'mysql', active: true, address: HA_LAB.vip, device: 'eth0:6', vipNetmask: '255.255.240.0', port: 3306, protocol: 'tcp', fwmark: 0,
    scheduler: 'wlc', persistent: 0, useRegex: false, loadMonitor: 'none', timeout: 10, reentry: 180, quiesceServer: false, check: 'tcp',
    fall: 1, jitter: 0, slowStart: true, expireQuiescentTemplate: false, expireNodestConn: false, failedServerKeepsTemplates: false, servers: [], source: { file: 'lab', line: 1 },
    ...over,
  };
}

export function haConfig(over: Partial<GlobalConfig> = {}, virtuals: VirtualServiceConfig[] = [haVirtual()]): LvsConfig {
  return { file: 'ha-lab.cf', global: haGlobal(over), virtuals };
}
