// A fully-defaulted LvsConfig built in code, so director tests do not depend on the parser being finished.
import type { GlobalConfig, LvsConfig, RealServerConfig, VirtualServiceConfig } from '../../src/config/schema';

export function server(name: string, address: string, o: Partial<RealServerConfig> = {}): RealServerConfig {
  return { name, address, port: 3306, active: true, weight: 1, source: { file: 'test', line: 1 }, ...o };
}

export function virtual(name: string, address: string, servers: RealServerConfig[], o: Partial<VirtualServiceConfig> = {}): VirtualServiceConfig {
  return {
    name, active: true, address, device: 'eth0:1', port: 3306, protocol: 'tcp', fwmark: 0, scheduler: 'wlc', persistent: 0,
    useRegex: false, loadMonitor: 'none', timeout: 10, reentry: 180, quiesceServer: false, check: 'tcp', fall: 1, jitter: 0,
    slowStart: true, expireQuiescentTemplate: false, expireNodestConn: false, failedServerKeepsTemplates: false, servers, source: { file: 'test', line: 1 }, ...o,
  };
}

export function config(virtuals: VirtualServiceConfig[], g: Partial<GlobalConfig> = {}): LvsConfig {
  const global: GlobalConfig = {
    serialNo: 1, service: 'lvs', backupActive: false, rshCommand: 'rsh', heartbeat: true, heartbeatPort: 539, keepalive: 2, deadtime: 5,
    debugLevel: 'NONE', monitorLinks: false, syncdaemon: false, syncdIface: 'eth0', syncdId: 0, hardShutdown: true, network: 'direct',
    tcpTimeout: 0, tcpfinTimeout: 0, udpTimeout: 0, ipvsadm: '/sbin/ipvsadm', sync: false, failback: false, failbackHolddown: 0,
    garpCount: 5, garpInterval: 1, garpRefresh: 0, syncPort: 8848, ...g,
  };
  return { file: 'test.cf', global, virtuals };
}
