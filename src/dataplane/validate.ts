// Checks and conversions for data-plane tables, done in TypeScript so the addon receives only checked primitives.
import { SCHEDULER_NAMES } from '../config/schema';
import { DirectordError } from '../errors';
import { bytesToMac, ipv4ToU32, isIpv4, isMac, macToBytes as macBytes, u32ToIpv4 } from '../util/inet';
import { defaultOptions } from '../defaults';
import type { ServiceSpec } from './types';

const SCHEDULERS = new Set<string>(SCHEDULER_NAMES);

/** The native table's sizes (native/include/abi.h; NativeTable checks the addon's layout against them at load).
 * maxDests counts every dest slot of the table, including removed dests still referenced by connections. */
export const DATAPLANE_LIMITS = { maxServices: 256, maxDestsPerService: 256, maxDests: 4096 } as const;
export type DataPlaneLimits = { maxServices: number; maxDestsPerService: number; maxDests: number };

export { bytesToMac, isIpv4, isMac };
export const intToIp = u32ToIpv4;

export function ipToInt(s: string): number {
  return ipv4ToU32(s, 'E_DATAPLANE_ADDRESS');
}

export function macToBytes(s: string): Buffer {
  return macBytes(s, 'E_DATAPLANE_MAC');
}

function isPort(n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n <= 65535;
}

function bad(where: string, msg: string): never {
  throw new DirectordError('E_DATAPLANE_SERVICE', `${where}: ${msg}`, { details: { where } });
}

/** Throws E_DATAPLANE_SERVICE on the first problem, naming the service and dest. The director runs it on a reload's
 * new table before anything changes, so a table the data plane would refuse never half-applies a reload. */
export function validateServices(services: ServiceSpec[], limits: DataPlaneLimits = DATAPLANE_LIMITS): void {
  if (!Array.isArray(services)) bad('services', 'must be an array');
  if (services.length > limits.maxServices) bad('services', `at most ${limits.maxServices} virtual services (${services.length} given)`);
  const total = services.reduce((n, s) => n + (Array.isArray(s?.dests) ? s.dests.length : 0), 0);
  if (total > limits.maxDests) bad('services', `at most ${limits.maxDests} real servers in all (${total} given)`);
  const keys = new Set<string>();
  services.forEach((s, i) => {
    const where = `service[${i}] ${s?.vip}:${s?.port}`;
    if (!isIpv4(s.vip)) bad(where, 'vip is not an IPv4 address');
    if (!isPort(s.port)) bad(where, 'port out of range');
    if (s.protocol !== 'tcp' && s.protocol !== 'udp') bad(where, 'protocol must be tcp or udp');
    if (!SCHEDULERS.has(s.scheduler)) bad(where, `unknown scheduler ${s.scheduler}`);
    if (!Number.isInteger(s.fwmark) || s.fwmark < 0 || s.fwmark > 0xffffffff) bad(where, 'fwmark out of range');
    if (!Number.isInteger(s.persistent) || s.persistent < 0 || s.persistent > 31 * 24 * 3600) bad(where, 'persistent out of range');
    if (!isIpv4(s.pmask)) bad(where, 'pmask is not a dotted quad');
    const key = `${s.protocol}/${s.vip}/${s.port}/${s.fwmark}`;
    if (keys.has(key)) bad(where, 'duplicate virtual service');
    keys.add(key);
    if (!Array.isArray(s.dests) || s.dests.length > limits.maxDestsPerService) bad(where, `at most ${limits.maxDestsPerService} real servers per virtual service`);
    const dk = new Set<string>();
    s.dests.forEach((d, j) => {
      const dw = `${where} dest[${j}] ${d?.address}:${d?.port}`;
      if (!isIpv4(d.address)) bad(dw, 'address is not IPv4');
      if (!isPort(d.port)) bad(dw, 'port out of range');
      if (!Number.isInteger(d.weight) || d.weight < 0 || d.weight > 65535) bad(dw, 'weight must be 0..65535');
      if (d.mac !== undefined && !isMac(d.mac)) bad(dw, 'bad MAC');
      if (d.failed !== undefined && typeof d.failed !== 'boolean') bad(dw, 'failed must be true or false');
      if (d.closeConns !== undefined && typeof d.closeConns !== 'boolean') bad(dw, 'closeConns must be true or false');
      if (dk.has(`${d.address}:${d.port}`)) bad(dw, 'duplicate real server');
      dk.add(`${d.address}:${d.port}`);
    });
  });
}

// ICMP errors to a VIP (fragmentation needed, unreachable, source quench, time exceeded) are about a real server's reply.
const ICMP_ERRORS = [3, 4, 11];

/** The classic BPF filter the RX socket runs: frames to our MAC for any VIP/port we serve (libpcap syntax).
 * A frame with a 20-byte IPv4 header (first byte 0x45: nearly all) is decided by the first branch with absolute
 * loads only: libpcap's own `udp dst port` loads the port relative to X (IHL), which the kernel runs through a
 * helper call per load. Other frames take the second branch, the plain libpcap terms. Both branches test the
 * same terms in the same order, so a frame cut short fails the same load either way (test/dataplane/
 * capture-filter.test.ts compares them over generated frames). */
export function captureFilter(ourMac: string, services: ServiceSpec[]): string {
  if (!isMac(ourMac)) throw new DirectordError('E_DATAPLANE_MAC', `not an Ethernet address: ${ourMac}`);
  const fixed = new Set<string>();
  const general = new Set<string>();
  const vips: string[] = [];
  for (const s of services) {
    if (!vips.includes(s.vip)) vips.push(s.vip);
    const dst = `ether[30:4] == 0x${ipToInt(s.vip).toString(16)}`;
    if (s.fwmark || s.port === 0) {
      fixed.add(`(${dst})`);
      general.add(`(ip dst host ${s.vip})`);
    } else {
      // ether[20:4] is the fragment word, TTL and protocol: one load tests "this protocol, not a later fragment"
      // (a first fragment, MF set, carries the ports), as libpcap's `udp dst port` does.
      fixed.add(`(${dst} and ether[20:4] & 0x1fff00ff == ${s.protocol === 'udp' ? 17 : 6} and ether[36:2] == ${s.port})`);
      general.add(`(ip dst host ${s.vip} and ${s.protocol} dst port ${s.port})`);
    }
  }
  // Fragments carry no ports: every fragment to a VIP (later ones follow their first fragment's real server).
  for (const vip of vips) {
    const dst = `ether[30:4] == 0x${ipToInt(vip).toString(16)}`;
    fixed.add(`(${dst} and ether[20:2] & 0x3fff != 0)`);
    fixed.add(`(${dst} and ether[20:4] & 0x1fff00ff == 1 and (${ICMP_ERRORS.map((t) => `ether[34] == ${t}`).join(' or ')}))`);
    general.add(`(ip dst host ${vip} and ip[6:2] & 0x3fff != 0)`);
    general.add(`(ip dst host ${vip} and icmp and (icmp[icmptype] == icmp-unreach or icmp[icmptype] == icmp-sourcequench or icmp[icmptype] == icmp-timxceed))`);
  }
  if (general.size === 0) return `ether dst ${ourMac} and less 1`; // matches nothing
  // ether[12:4] is the EtherType, the IPv4 version/IHL byte and the TOS: one load for "IPv4, 20-byte header".
  const ihl5 = 'ether[12:4] & 0xffffff00 == 0x08004500';
  return `ether dst ${ourMac} and ((${ihl5} and (${[...fixed].join(' or ')})) or (not ${ihl5} and (${[...general].join(' or ')})))`;
}

/** Packet-loop options, checked before they reach the addon (which refuses the same ranges). */
export function checkBusyPoll(us: number): void {
  const max = defaultOptions.busyPollMaxUs;
  if (!Number.isInteger(us) || us < 0 || us > max) throw new DirectordError('E_DATAPLANE_OPTION', `busy-poll must be an integer from 0 to ${max} µs, not ${us}`);
}
export function checkPacketThreads(n: number): void {
  const max = defaultOptions.packetThreadsMax;
  if (!Number.isInteger(n) || n < 1 || n > max) throw new DirectordError('E_DATAPLANE_OPTION', `packet threads must be an integer from 1 to ${max}, not ${n}`);
}
