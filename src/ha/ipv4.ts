// IPv4 address arithmetic for VIPs (pure): dotted quads, vip_nmask → prefix length, broadcast address.
import { DirectordError } from '../errors';
import { ipv4ToBytes, maskPrefixLength } from '../util/inet';

export function parseIpv4(ip: string): Buffer {
  return ipv4ToBytes(ip, 'E_HA_BAD_ADDRESS');
}

/** Netmask (dotted quad) → prefix length; undefined netmask → the classful default Piranha's plain ifconfig gets. */
export function prefixFromNetmask(netmask: string | undefined, address: string): number {
  if (!netmask) {
    const first = parseIpv4(address)[0];
    return first < 128 ? 8 : first < 192 ? 16 : first < 224 ? 24 : 32;
  }
  const bits = parseIpv4(netmask).readUInt32BE(0);
  const prefix = maskPrefixLength(bits);
  if (prefix < 0) throw new DirectordError('E_HA_BAD_NETMASK', `not a contiguous netmask: '${netmask}'`);
  return prefix;
}

export function broadcastOf(address: string, prefixlen: number): Buffer {
  const a = parseIpv4(address).readUInt32BE(0);
  const host = prefixlen >= 32 ? 0 : 0xffffffff >>> prefixlen;
  const b = Buffer.alloc(4);
  b.writeUInt32BE((a | host) >>> 0, 0);
  return b;
}
