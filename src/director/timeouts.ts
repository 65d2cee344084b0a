// The connection timeouts the data plane gets from lvs.cf: 0 or absent means IPVS's default, at start and on every
// reload, so the same file gives the same timeouts after a restart or on the other director.
import type { LvsConfig } from '../config/schema';
import type { Timeouts } from '../table/types';

export const IPVS_DEFAULT_TIMEOUTS: Readonly<Timeouts> = { tcp: 900, tcpfin: 120, udp: 300 };

export function timeoutsFrom(cfg: LvsConfig): Timeouts {
  return {
    tcp: cfg.global.tcpTimeout || IPVS_DEFAULT_TIMEOUTS.tcp,
    tcpfin: cfg.global.tcpfinTimeout || IPVS_DEFAULT_TIMEOUTS.tcpfin,
    udp: cfg.global.udpTimeout || IPVS_DEFAULT_TIMEOUTS.udp,
  };
}
