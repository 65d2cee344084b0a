// The record layouts the native addons export (sizes and offsetof from abi.h), their checks at load, and the
// connection records packed and unpacked with them: no struct layout is copied by hand into TypeScript.
import { DirectordError } from '../errors';
import { SCHEDULER_NAMES } from '../config/schema';
import type { ConnEntry } from '../table/types';
import { DATAPLANE_LIMITS, ipToInt, intToIp } from './validate';

export interface RecordLayout {
  size: number;
  [field: string]: number;
}

export interface NativeLayout {
  service: RecordLayout;
  dest: RecordLayout;
  destStats: RecordLayout;
  conn: RecordLayout;
  /** struct dd_xdp_key (native/include/xdp_abi.h): the AF_XDP program's service-map key. */
  xdpKey: XdpKeyLayout;
  verdicts: string[];
  states: string[];
  counters: string[];
  schedulers: string[];
  counterCount: number;
  verdictCount: number;
  maxServices: number;
  maxDestsPerService: number;
  maxDests: number;
  connBytes: number;
  /** DD_SYNC_RING: sync records queued between two drains at most (more are counted as sync_overflow). */
  syncRing: number;
}

export interface XdpKeyLayout {
  size: number;
  vip: number;
  port: number;
  proto: number;
}

/** The addon's limits and scheduler enum must be the TypeScript side's (a stale build says so at load). */
export function checkTableLayout(L: NativeLayout): void {
  if (L.maxServices !== DATAPLANE_LIMITS.maxServices || L.maxDestsPerService !== DATAPLANE_LIMITS.maxDestsPerService || L.maxDests !== DATAPLANE_LIMITS.maxDests) {
    throw new DirectordError('E_DATAPLANE_ABI', `native addon limits ${L.maxServices}/${L.maxDestsPerService}/${L.maxDests} differ from DATAPLANE_LIMITS: run npm run build:native`);
  }
  // The scheduler list lives in SCHEDULER_NAMES; the addon's enum must name the same set (mapped by name).
  if (L.schedulers.length !== SCHEDULER_NAMES.length || !SCHEDULER_NAMES.every((n) => L.schedulers.includes(n))) {
    throw new DirectordError('E_DATAPLANE_ABI', `native addon schedulers ${L.schedulers.join(' ')} differ from ${SCHEDULER_NAMES.join(' ')}: run npm run build:native`);
  }
}

/** The key the AF_XDP addon writes into the program's map and the one TypeScript packs (from the main addon's
 * layout) must be the same struct: both addons come from one build, this catches a half-rebuilt tree. */
export function checkXdpKeyLayout(xdp: XdpKeyLayout, main: XdpKeyLayout, file: string): void {
  const fields = ['size', 'vip', 'port', 'proto'] as const;
  const bad = fields.filter((k) => !Number.isInteger(xdp?.[k]) || xdp[k] !== main?.[k]);
  if (bad.length) {
    throw new DirectordError('E_DATAPLANE_ABI', `AF_XDP addon ${file}: XDP key layout ${JSON.stringify(xdp)} differs from the native addon's ${JSON.stringify(main)}: run npm run build:native`);
  }
}

/** Records of struct dd_conn_record (tableConnections, tableDrainSync) to entries. */
export function decodeConnRecords(layout: NativeLayout, b: Buffer): ConnEntry[] {
  const L = layout.conn;
  const out: ConnEntry[] = [];
  for (let o = 0; o + L.size <= b.length; o += L.size) {
    const proto = b.readUInt8(o + L.protocol);
    out.push({
      protocol: proto === 17 ? 'udp' : 'tcp',
      caddr: intToIp(b.readUInt32LE(o + L.caddr)),
      cport: b.readUInt16LE(o + L.cport),
      vaddr: intToIp(b.readUInt32LE(o + L.vaddr)),
      vport: b.readUInt16LE(o + L.vport),
      daddr: intToIp(b.readUInt32LE(o + L.daddr)),
      dport: b.readUInt16LE(o + L.dport),
      state: layout.states[b.readUInt8(o + L.state)] ?? 'NONE',
      expiresMs: Number(b.readBigInt64LE(o + L.expires_ms)),
      template: b.readUInt8(o + L.template_) === 1,
      ...(proto === 0 ? { fwmark: b.readUInt32LE(o + L.fwmark) } : {}),
    });
  }
  return out;
}

/** Entries to records of struct dd_conn_record (tableApplySync); an unknown state is E_DATAPLANE_SYNC. */
export function encodeConnRecords(layout: NativeLayout, entries: ConnEntry[]): Buffer {
  const L = layout.conn;
  const b = Buffer.alloc(L.size * entries.length);
  entries.forEach((e, i) => {
    const o = i * L.size;
    const st = layout.states.indexOf(e.state);
    if (st < 0) throw new DirectordError('E_DATAPLANE_SYNC', `unknown connection state ${e.state}`);
    b.writeBigInt64LE(BigInt(Math.max(0, Math.floor(e.expiresMs))), o + L.expires_ms);
    b.writeUInt32LE(ipToInt(e.caddr), o + L.caddr);
    b.writeUInt32LE(ipToInt(e.vaddr), o + L.vaddr);
    b.writeUInt32LE(ipToInt(e.daddr), o + L.daddr);
    b.writeUInt16LE(e.cport, o + L.cport);
    b.writeUInt16LE(e.vport, o + L.vport);
    b.writeUInt16LE(e.dport, o + L.dport);
    const fw = (e as ConnEntry & { fwmark?: number }).fwmark;
    b.writeUInt8(fw ? 0 : e.protocol === 'udp' ? 17 : 6, o + L.protocol);
    if (fw) b.writeUInt32LE(fw, o + L.fwmark);
    b.writeUInt8(st, o + L.state);
    b.writeUInt8(e.template ? 1 : 0, o + L.template_);
  });
  return b;
}
