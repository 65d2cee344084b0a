// Builds Ethernet/IPv4/TCP|UDP frames for parser and table tests (checksums are not checked by a DR director).
export interface FrameSpec {
  src?: string;
  dst?: string;
  sport?: number;
  dport?: number;
  proto?: number;
  flags?: number;
  ipOptions?: number; // extra 32-bit words of IP options
  fragOff?: number; // raw flags+offset field
  payload?: number;
  ethertype?: number;
  vlan?: boolean; // one 802.1Q tag, VLAN 5
  tags?: { tpid: number; tci: number }[]; // the tags between the MACs and the ethertype, outermost first
  ihl?: number; // override
  version?: number;
  id?: number; // IP identification
  srcMac?: string;
}

const ip = (s: string): number[] => s.split('.').map(Number);

export function frame(f: FrameSpec = {}): Buffer {
  const proto = f.proto ?? 6;
  const optWords = f.ipOptions ?? 0;
  const l4 = proto === 6 ? 20 : proto === 17 ? 8 : 8;
  const ihlBytes = 20 + optWords * 4;
  const payload = f.payload ?? 0;
  const tot = ihlBytes + l4 + payload;
  const tags = f.tags ?? (f.vlan ? [{ tpid: 0x8100, tci: 5 }] : []);
  const eth = Buffer.alloc(14 + 4 * tags.length);
  Buffer.from([2, 0x61, 0, 0, 0, 2, 2, 0x61, 0, 0, 1, 1]).copy(eth);
  if (f.srcMac) Buffer.from(f.srcMac.split(':').map((h) => parseInt(h, 16))).copy(eth, 6);
  tags.forEach((g, i) => {
    eth.writeUInt16BE(g.tpid, 12 + 4 * i);
    eth.writeUInt16BE(g.tci, 14 + 4 * i);
  });
  eth.writeUInt16BE(f.ethertype ?? 0x0800, 12 + 4 * tags.length);
  const b = Buffer.alloc(tot);
  b[0] = ((f.version ?? 4) << 4) | (f.ihl ?? ihlBytes / 4);
  b.writeUInt16BE(tot, 2);
  b.writeUInt16BE(f.id ?? 0, 4);
  b.writeUInt16BE(f.fragOff ?? 0x4000, 6);
  b[8] = 64;
  b[9] = proto;
  Buffer.from(ip(f.src ?? '10.61.1.1')).copy(b, 12);
  Buffer.from(ip(f.dst ?? '10.61.0.100')).copy(b, 16);
  for (let i = 0; i < optWords * 4; i++) b[20 + i] = 1; // NOPs
  const o = ihlBytes;
  b.writeUInt16BE(f.sport ?? 40000, o);
  b.writeUInt16BE(f.dport ?? 80, o + 2);
  if (proto === 6) {
    b[o + 12] = 5 << 4;
    b[o + 13] = f.flags ?? 0x02;
  } else if (proto === 17) b.writeUInt16BE(8 + payload, o + 4);
  return Buffer.concat([eth, b]);
}

/** The Internet checksum of a byte range (0 when the range carries a valid checksum). */
export function inetChecksum(b: Buffer): number {
  let s = 0;
  for (let i = 0; i < b.length; i += 2) s += (b[i] << 8) | (b[i + 1] ?? 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

/** An ICMP error from a router to `dst` (the VIP) quoting `quoted` (an IP packet, e.g. frame(...).subarray(14)): by
 * default the first 8 bytes of its L4 header, as RFC 792 asks. */
export function icmpError(o: { type: number; code: number; quoted: Buffer; src?: string; dst?: string; quoteBytes?: number }): Buffer {
  const ihl = (o.quoted[0] & 15) * 4;
  const q = o.quoted.subarray(0, Math.min(o.quoted.length, o.quoteBytes ?? ihl + 8));
  const f = frame({ proto: 1, src: o.src ?? '10.61.0.1', dst: o.dst ?? '10.61.0.100', srcMac: '02:61:00:00:00:01', payload: q.length });
  f.writeUInt16BE(20 + 8 + q.length, 16);
  f[34] = o.type;
  f[35] = o.code;
  f.fill(0, 36, 42);
  q.copy(f, 42);
  f.writeUInt16BE(inetChecksum(f.subarray(34)), 36);
  return f.subarray(0, 42 + q.length);
}
