// Shared builders for scheduler tests: dests with given weights/counters, services, packets.
import { ipToU32, newSchedDest, type SchedDest } from '../../src/scheduler';
import type { ModelServiceSpec, PacketSummary } from '../../src/scheduler';

export interface DestRow {
  name: string;
  weight: number;
  active?: number;
  inact?: number;
  overloaded?: boolean;
}

let nextHost = 1;
/** Named dests in list order; each gets its own 10.61.1.x address. */
export function dests(rows: DestRow[]): SchedDest[] {
  return rows.map((r) => {
    const address = `10.61.1.${nextHost++ % 250 + 1}`;
    const d = newSchedDest(address, ipToU32(address), 3306);
    d.weight = r.weight;
    d.lastWeight = r.weight;
    d.activeConns = r.active ?? 0;
    d.inactConns = r.inact ?? 0;
    d.overloaded = r.overloaded ?? false;
    d.name = r.name;
    return d;
  });
}

export const nameOf = (d: SchedDest | null): string | null => (d ? d.name ?? d.key : null);

export function service(over: Partial<ModelServiceSpec> & { dests: ModelServiceSpec['dests'] }): ModelServiceSpec {
  return {
    vip: '10.61.0.100', port: 3306, protocol: 'tcp', fwmark: 0, scheduler: 'wlc', persistent: 0,
    pmask: '255.255.255.255', expireQuiescentTemplate: false, expireNodestConn: false, ...over,
  };
}

export function tcp(saddr: string, sport: number, flags: PacketSummary['flags'], over: Partial<PacketSummary> = {}): PacketSummary {
  return { protocol: 'tcp', saddr, sport, daddr: '10.61.0.100', dport: 3306, flags, len: 60, ...over };
}

export const SYN = { syn: true };
export const ACK = { ack: true };
export const FIN = { fin: true, ack: true };
export const RST = { rst: true };
export const S = 1000;
