// IPv4 addresses as uint32 numbers inside the scheduler model (fast keys), dotted quads at its API edge.
import { DirectordError } from '../errors';

const QUAD = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** Dotted quad → uint32 (host order, as the kernel's ntohl(addr)). Throws E_SCHED_BAD_ADDRESS. */
export function ipToU32(ip: string): number {
  const m = QUAD.exec(ip);
  if (m) {
    const a = +m[1], b = +m[2], c = +m[3], d = +m[4];
    if (a < 256 && b < 256 && c < 256 && d < 256) return ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
  }
  throw new DirectordError('E_SCHED_BAD_ADDRESS', `'${ip}' is not an IPv4 address in dotted-quad form`, { details: { value: ip } });
}

export function u32ToIp(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

/** Number of leading one bits of a netmask, or -1 when the mask is not contiguous (IPVS accepts any mask). */
export function maskPrefixLength(mask: number): number {
  let len = 0;
  while (len < 32 && (mask & (0x80000000 >>> len)) !== 0) len++;
  const rest = len === 32 ? 0 : (mask << len) >>> 0;
  return rest === 0 ? len : -1;
}

export function destKey(address: string, port: number): string {
  return `${address}:${port}`;
}
