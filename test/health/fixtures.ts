// Typed config objects for health tests, built directly (the config parser is another subsystem).
import type { LvsConfig, RealServerConfig, VirtualServiceConfig, GlobalConfig } from '../../src/config/schema';

const source = { file: 'test.cf', line: 1 };

export function server(name: string, address: string, over: Partial<RealServerConfig> = {}): RealServerConfig {
  return { name, address, port: 3306, active: true, weight: 1, source, ...over };
}

/** The seed's virtual (timeout 5, reentry 10, quiesce, send_program + expect "OK") unless overridden. */
export function virtual(over: Partial<VirtualServiceConfig> = {}): VirtualServiceConfig {
  return {
    name: 'openstack_mysql_3306',
    active: true,
    address: '10.0.0.3',
    device: 'eth0:6',
    port: 3306,
    protocol: 'tcp',
    fwmark: 0,
    scheduler: 'wlc',
    persistent: 60,
    send: '\n',
    expect: 'OK',
    useRegex: false,
    sendProgram: '/usr/local/bin/check_tcp_port.sh %h 3306',
    loadMonitor: 'none',
    timeout: 5,
    reentry: 10,
    quiesceServer: true,
    check: 'tcp',
    fall: 1,
    jitter: 0,
    slowStart: true,
    expireQuiescentTemplate: false,
    expireNodestConn: false,
    servers: [server('sql1.example.com', '10.0.0.4'), server('sql2.example.com', '10.0.0.5')],
    source,
    ...over,
  };
}

export function config(virtuals: VirtualServiceConfig[]): LvsConfig {
  const global = { serialNo: 1, service: 'lvs', backupActive: false, rshCommand: 'ssh', heartbeat: true, heartbeatPort: 539, keepalive: 6, deadtime: 18,
    debugLevel: 'NONE', monitorLinks: false, syncdaemon: false, syncdIface: 'eth0', syncdId: 0, hardShutdown: false, network: 'direct',
    tcpTimeout: 0, tcpfinTimeout: 0, udpTimeout: 0, ipvsadm: '/sbin/ipvsadm', sync: false, failback: false, failbackHolddown: 0, garpCount: 5,
    garpInterval: 1, garpRefresh: 0, syncPort: 8848 } as GlobalConfig;
  return { file: 'test.cf', global, virtuals };
}
