// IPv4 address arithmetic for VIPs (pure): dotted quads, vip_nmask → prefix length, broadcast address.
import { DirectordError } from '../errors';

export function parseIpv4(ip: string): Buffer {
  const parts = ip.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) {
    throw new DirectordError('E_HA_BAD_ADDRESS', `not an IPv4 address: '${ip}'`);
  }
  return Buffer.from(parts.map(Number));
}

/** Netmask (dotted quad) → prefix length; undefined netmask → the classful default Piranha's plain ifconfig gets. */
export function prefixFromNetmask(netmask: string | undefined, address: string): number {
  if (!netmask) {
    const first = parseIpv4(address)[0];
    return first < 128 ? 8 : first < 192 ? 16 : first < 224 ? 24 : 32;
  }
  const bits = parseIpv4(netmask).readUInt32BE(0);
  const prefix = 32 - Math.log2((~bits >>> 0) + 1);
  if (!Number.isInteger(prefix)) throw new DirectordError('E_HA_BAD_NETMASK', `not a contiguous netmask: '${netmask}'`);
  return prefix;
}

export function broadcastOf(address: string, prefixlen: number): Buffer {
  const a = parseIpv4(address).readUInt32BE(0);
  const host = prefixlen >= 32 ? 0 : 0xffffffff >>> prefixlen;
  const b = Buffer.alloc(4);
  b.writeUInt32BE((a | host) >>> 0, 0);
  return b;
}
