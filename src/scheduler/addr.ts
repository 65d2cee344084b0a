// IPv4 addresses as uint32 numbers inside the scheduler model (fast keys), dotted quads at its API edge.
import { ipv4ToU32, maskPrefixLength, u32ToIpv4 } from '../util/inet';

/** Dotted quad → uint32 (host order, as the kernel's ntohl(addr)). Throws E_SCHED_BAD_ADDRESS. */
export function ipToU32(ip: string): number {
  return ipv4ToU32(ip, 'E_SCHED_BAD_ADDRESS');
}

export const u32ToIp = u32ToIpv4;

/** -1 when the mask is not contiguous (IPVS accepts any mask). */
export { maskPrefixLength };

export function destKey(address: string, port: number): string {
  return `${address}:${port}`;
}
