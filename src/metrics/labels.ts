// The labels of every per-real-server series, as node_exporter's ipvs collector has them (local_mark included), so
// gauges, check metrics and transition counters join on the same names.
import type { ServerHealthView, ServiceView, StatusSnapshot } from '../control/types';

export const BACKEND_LABELS = ['local_address', 'local_port', 'remote_address', 'remote_port', 'proto', 'local_mark'] as const;
export type BackendLabels = Record<(typeof BACKEND_LABELS)[number], string>;

/**
 * A fwmark service has no address or port of its own in IPVS: node_exporter reports it with local_address "",
 * local_port "0", proto "FWM" and the mark in local_mark; every other service has local_mark "".
 */
export function backendLabels(s: Pick<ServiceView, 'vip' | 'port' | 'protocol' | 'fwmark'>, address: string, port: number): BackendLabels {
  const fwm = s.fwmark > 0;
  return {
    local_address: fwm ? '' : s.vip, local_port: fwm ? '0' : String(s.port), remote_address: address, remote_port: String(port),
    proto: fwm ? 'FWM' : s.protocol.toUpperCase(), local_mark: fwm ? String(s.fwmark) : '',
  };
}

/** Every configured real server (down ones too, from the health list) with its labels. */
export function eachServer(snap: StatusSnapshot, fn: (labels: BackendLabels, h: ServerHealthView) => void): void {
  for (const h of snap.health) {
    const s = snap.services.find((x) => x.virtual === h.virtual);
    if (s) fn(backendLabels(s, h.address, h.port), h);
  }
}
