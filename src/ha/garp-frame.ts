// The gratuitous ARP frame exactly as pulse's send_arp builds it (pure): an ARP *reply* (op 2) to the broadcast
// address, sender = target = VIP, target HW = our own MAC (not zeros), zero-padded to the 60-byte Ethernet minimum.
import { bytesToMac, macToBytes } from '../util/inet';
import { parseIpv4 } from './ipv4';

export { parseIpv4 };

export const GARP_FRAME_LEN = 60;

/** Also the dash-separated form (`00-11-22-33-44-55`) operators may paste. */
export function parseMac(mac: string): Buffer {
  return macToBytes(mac.trim().replace(/-/g, ':'), 'E_HA_BAD_MAC');
}

export const formatMac = bytesToMac;

export function buildGratuitousArp(mac: string, vip: string): Buffer {
  const hw = parseMac(mac);
  const ip = parseIpv4(vip);
  const f = Buffer.alloc(GARP_FRAME_LEN);
  f.fill(0xff, 0, 6); // broadcast destination
  hw.copy(f, 6);
  f.writeUInt16BE(0x0806, 12);
  f.writeUInt16BE(1, 14); // htype Ethernet
  f.writeUInt16BE(0x0800, 16); // ptype IPv4
  f[18] = 6;
  f[19] = 4;
  f.writeUInt16BE(2, 20); // op: reply (send_arp's OP_ARP_REQUEST is defined as 2)
  hw.copy(f, 22);
  ip.copy(f, 28);
  hw.copy(f, 32);
  ip.copy(f, 38);
  return f;
}

export interface ParsedArp {
  dst: string;
  src: string;
  ethertype: number;
  htype: number;
  ptype: number;
  hlen: number;
  plen: number;
  op: number;
  senderMac: string;
  senderIp: string;
  targetMac: string;
  targetIp: string;
  length: number;
}

/** For tests and for logging captured frames; undefined if it is not an Ethernet ARP frame. */
export function parseArpFrame(f: Buffer): ParsedArp | undefined {
  if (f.length < 42 || f.readUInt16BE(12) !== 0x0806) return undefined;
  const ip = (o: number) => [...f.subarray(o, o + 4)].join('.');
  return {
    dst: formatMac(f.subarray(0, 6)),
    src: formatMac(f.subarray(6, 12)),
    ethertype: f.readUInt16BE(12),
    htype: f.readUInt16BE(14),
    ptype: f.readUInt16BE(16),
    hlen: f[18],
    plen: f[19],
    op: f.readUInt16BE(20),
    senderMac: formatMac(f.subarray(22, 28)),
    senderIp: ip(28),
    targetMac: formatMac(f.subarray(32, 38)),
    targetIp: ip(38),
    length: f.length,
  };
}
