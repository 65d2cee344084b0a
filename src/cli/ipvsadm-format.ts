// Renders the live table exactly as ipvsadm 1.26 prints it (-Ln, --stats, --rate, -lnc), column for column,
// trailing spaces included, so operators' scripts and eyes keep working (reference/piranha-ipvs.md §5).
import type { ConnEntry } from '../table/types';
import type { DestView, ServiceView } from '../control/types';
import { ipv4ToU32 } from '../util/inet';

const PROTO_NUMBER = { tcp: 6, udp: 17 } as const;

/** The daemon sends canonical dotted quads; anything else is a bad reply. */
function ipToInt(a: string): number {
  return ipv4ToU32(a, 'E_CTL_BAD_REPLY');
}

/**
 * libipvs compares addresses as `int r = ntohl(a) - ntohl(b)`: the unsigned difference wraps into a signed int,
 * so addresses 2^31 or more apart sort "wrongly". ipvsadm users see that order, so we keep it.
 */
function addrCompare(a: string, b: string): number {
  return (ipToInt(a) - ipToInt(b)) | 0;
}

export function sortServices(services: readonly ServiceView[]): ServiceView[] {
  return [...services].sort(
    (a, b) =>
      a.fwmark - b.fwmark ||
      PROTO_NUMBER[a.protocol] - PROTO_NUMBER[b.protocol] ||
      addrCompare(a.vip, b.vip) ||
      a.port - b.port,
  );
}

export function sortDests(dests: readonly DestView[]): DestView[] {
  return [...dests].sort((a, b) => addrCompare(a.address, b.address) || a.port - b.port);
}

function pad(s: string, width: number): string {
  return s.length >= width ? s : s + ' '.repeat(width - s.length);
}

function lpad(s: string, width: number): string {
  return s.length >= width ? s : ' '.repeat(width - s.length) + s;
}

/** ipvsadm's print_largenum: `%9llu` below 10^8, then K/M/G/T with `%8llu` and a suffix (integer division). */
export function largenum(n: number): string {
  const i = Math.max(0, Math.floor(n));
  if (i < 1e8) return lpad(String(i), 9);
  if (i < 1e9) return lpad(String(Math.floor(i / 1e3)), 8) + 'K';
  if (i < 1e11) return lpad(String(Math.floor(i / 1e6)), 8) + 'M';
  if (i < 1e14) return lpad(String(Math.floor(i / 1e9)), 8) + 'G';
  return lpad(String(Math.floor(i / 1e12)), 8) + 'T';
}

function serviceName(s: ServiceView): string {
  if (s.fwmark) return `FWM  ${s.fwmark}`;
  return `${s.protocol.toUpperCase()}  ${s.vip}:${s.port}`;
}

function destName(d: DestView): string {
  return `${d.address}:${d.port}`;
}

export interface ListOptions {
  /** The "(size=N)" of the banner: the kernel conn hash size; 4096 by default. */
  tableSize: number;
  /** --nosort: kernel list order (newest dest first). */
  nosort?: boolean;
}

function banner(o: ListOptions): string {
  return `IP Virtual Server version 1.2.1 (size=${o.tableSize})\n`;
}

function ordered(services: readonly ServiceView[], o: ListOptions): ServiceView[] {
  return o.nosort ? [...services] : sortServices(services);
}

function dests(s: ServiceView, o: ListOptions): DestView[] {
  return o.nosort ? [...s.dests] : sortDests(s.dests);
}

/** `ipvsadm -Ln` */
export function renderList(services: readonly ServiceView[], o: ListOptions): string {
  let out = banner(o);
  out += 'Prot LocalAddress:Port Scheduler Flags\n';
  out += '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n';
  for (const s of ordered(services, o)) {
    let line = `${serviceName(s)} ${s.scheduler}`;
    if (s.persistent > 0) {
      line += ` persistent ${s.persistent}`;
      if (s.pmask !== '255.255.255.255') line += ` mask ${s.pmask}`;
    }
    out += line + '\n';
    for (const d of dests(s, o)) {
      out += `  -> ${pad(destName(d), 28)} ${pad(d.forward, 7)} ${pad(String(d.weight), 6)} ${pad(String(d.activeConns), 10)} ${pad(String(d.inactConns), 10)}\n`;
    }
  }
  return out;
}

/** `ipvsadm -Ln --stats` (a DR director never sees replies: Out* stay 0). */
export function renderStats(services: readonly ServiceView[], o: ListOptions): string {
  let out = banner(o);
  out += `${pad('Prot LocalAddress:Port', 33)} ${lpad('Conns', 8)} ${lpad('InPkts', 8)} ${lpad('OutPkts', 8)} ${lpad('InBytes', 8)} ${lpad('OutBytes', 8)}\n`;
  out += '  -> RemoteAddress:Port\n';
  for (const s of ordered(services, o)) {
    out += pad(serviceName(s), 33) + largenum(s.conns) + largenum(s.inPkts) + largenum(0) + largenum(s.inBytes) + largenum(0) + '\n';
    for (const d of dests(s, o)) {
      out += `  -> ${pad(destName(d), 28)}` + largenum(d.conns) + largenum(d.inPkts) + largenum(0) + largenum(d.inBytes) + largenum(0) + '\n';
    }
  }
  return out;
}

/** `ipvsadm -Ln --rate` */
export function renderRate(services: readonly ServiceView[], o: ListOptions): string {
  let out = banner(o);
  out += `${pad('Prot LocalAddress:Port', 33)} ${lpad('CPS', 8)} ${lpad('InPPS', 8)} ${lpad('OutPPS', 8)} ${lpad('InBPS', 8)} ${lpad('OutBPS', 8)}\n`;
  out += '  -> RemoteAddress:Port\n';
  for (const s of ordered(services, o)) {
    out += pad(serviceName(s), 33) + largenum(s.cps) + largenum(s.inpps) + largenum(0) + largenum(s.inbps) + largenum(0) + '\n';
    for (const d of dests(s, o)) {
      const u = (n: number): string => ' ' + lpad(String(Math.max(0, Math.floor(n))), 8);
      out += `  -> ${pad(destName(d), 28)}` + u(d.cps) + u(d.inpps) + u(0) + largenum(d.inbps) + largenum(0) + '\n';
    }
  }
  return out;
}

function expire(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  return `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
}

/** `ipvsadm -lnc` (entries in the order given: the kernel prints hash order, we print the data plane's). */
export function renderConnections(entries: readonly ConnEntry[]): string {
  let out = 'IPVS connection entries\n';
  out += `pro expire ${pad('state', 11)} ${pad('source', 18)} ${pad('virtual', 18)} destination\n`;
  for (const c of entries) {
    out += `${pad(c.protocol.toUpperCase(), 3)} ${pad(expire(c.expiresMs), 6)} ${pad(c.state, 11)} ${pad(`${c.caddr}:${c.cport}`, 18)} ${pad(`${c.vaddr}:${c.vport}`, 18)} ${c.daddr}:${c.dport}\n`;
  }
  return out;
}
