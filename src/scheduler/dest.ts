// The mutable real-server record the model schedules over (the kernel's struct ip_vs_dest): weight, counters,
// overload flag. It outlives its removal from the service while connections still point at it (IPVS trash).

export interface SchedDest {
  readonly key: string;         // "address:port"
  readonly address: string;
  readonly addr: number;        // uint32
  readonly port: number;
  weight: number;
  /** Latest non-zero weight (0 only if added with weight 0): what mh builds its table from. */
  lastWeight: number;
  upperThreshold: number;       // 0 = none (Piranha never sets thresholds)
  lowerThreshold: number;
  overloaded: boolean;          // IP_VS_DEST_F_OVERLOAD
  /** In the service's list (IP_VS_DEST_F_AVAILABLE); false while in the trash. */
  available: boolean;
  /** Set when the data plane could not use it (e.g. no MAC): never chosen, like an overloaded dest. */
  unavailableReason?: string;
  /** Down by its health check (DestSpec.failed): persistence templates pointing here are invalid. */
  failed: boolean;
  /** Its connections end at their client's next packet (DestSpec.closeConns). */
  closeConns: boolean;
  activeConns: number;
  inactConns: number;
  persistConns: number;
  conns: number;
  inPkts: number;
  inBytes: number;
  /** Connections and templates pointing here (the trash entry is freed at 0). */
  refs: number;
  /** Optional display name (server block name), only used for explanations. */
  name?: string;
}

export function newSchedDest(address: string, addr: number, port: number): SchedDest {
  return {
    key: `${address}:${port}`, address, addr, port, weight: 0, lastWeight: 0, upperThreshold: 0, lowerThreshold: 0,
    overloaded: false, available: true, failed: false, closeConns: false, activeConns: 0, inactConns: 0, persistConns: 0, conns: 0, inPkts: 0, inBytes: 0, refs: 0,
  };
}

/** ip_vs_dest_conn_overhead(): activeconns * 256 + inactconns. */
export function overhead(d: SchedDest): number {
  return d.activeConns * 256 + d.inactConns;
}

/** Skipped by every scheduler for new connections (overloaded, or unusable by the data plane). */
export function isOverloaded(d: SchedDest): boolean {
  return d.overloaded || d.unavailableReason !== undefined;
}

/** ip_vs_bind_dest's threshold check, after a counter went up. */
export function checkOverloadAfterBind(d: SchedDest): void {
  if (d.upperThreshold !== 0 && d.activeConns + d.inactConns >= d.upperThreshold) d.overloaded = true;
}

/** ip_vs_unbind_dest's hysteresis, after a counter went down. */
export function checkOverloadAfterUnbind(d: SchedDest): void {
  const total = d.activeConns + d.inactConns;
  if (d.lowerThreshold !== 0) {
    if (total < d.lowerThreshold) d.overloaded = false;
  } else if (d.upperThreshold !== 0) {
    if (total * 4 < d.upperThreshold * 3) d.overloaded = false;
  } else {
    d.overloaded = false;
  }
}
