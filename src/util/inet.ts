// The one strict parser of IPv4 dotted quads and Ethernet addresses (addresses that have already been normalised:
// config/values.ts keeps Piranha's inet_aton forms for lvs.cf on purpose). Each caller passes its own error code.
import { DirectordError } from '../errors';

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const MAC = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/;

/** Four decimal octets 0..255 without leading zeros ('010.0.0.1' would be octal 8 to inet_aton: refused). */
export function isIpv4(s: string): boolean {
  return typeof s === 'string' && IPV4.test(s);
}

/** Dotted quad → uint32 in host order (as the kernel's ntohl(addr)). */
export function ipv4ToU32(s: string, code: string): number {
  if (!isIpv4(s)) throw new DirectordError(code, `not an IPv4 address: ${JSON.stringify(s)}`, { details: { value: s } });
  return s.split('.').reduce((a, o) => ((a << 8) | Number(o)) >>> 0, 0);
}

export function u32ToIpv4(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

/** Dotted quad → its 4 bytes in network order. */
export function ipv4ToBytes(s: string, code: string): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(ipv4ToU32(s, code), 0);
  return b;
}

/** Number of leading one bits of a netmask, or -1 when the mask is not contiguous. */
export function maskPrefixLength(mask: number): number {
  let len = 0;
  while (len < 32 && (mask & (0x80000000 >>> len)) !== 0) len++;
  const rest = len === 32 ? 0 : (mask << len) >>> 0;
  return rest === 0 ? len : -1;
}

/** Six colon-separated hex pairs, either case. */
export function isMac(s: string): boolean {
  return typeof s === 'string' && MAC.test(s);
}

export function macToBytes(s: string, code: string): Buffer {
  if (!isMac(s)) throw new DirectordError(code, `not an Ethernet address: ${JSON.stringify(s)}`, { details: { value: s } });
  return Buffer.from(s.split(':').map((h) => parseInt(h, 16)));
}

/** Lower-case, colon-separated (as the kernel prints it). */
export function bytesToMac(b: Buffer | Uint8Array): string {
  return [...b.subarray(0, 6)].map((x) => x.toString(16).padStart(2, '0')).join(':');
}
