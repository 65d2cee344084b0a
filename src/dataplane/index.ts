// The data plane subsystem's front door: createDataPlane() picks a backend, falling back with a logged reason.
import { DirectordError } from '../errors';
import type { Logger } from '../log';
import { AfPacketDataPlane } from './afpacket';
import { FakeDataPlane } from './fake';
import { loadNative } from './native';
import type { DataPlane } from './types';

export type { ConnEntry, DataPlane, DataPlaneStats, DestCounters, DestSpec, ServiceCounters, ServiceSpec, Timeouts } from './types';
export { FakeDataPlane } from './fake';
export { AfPacketDataPlane } from './afpacket';
export type { PacketSummary, NativeDecision } from './native';
export type { FakePacket } from './fake';

export type BackendName = 'afpacket' | 'afxdp' | 'fake';

export interface CreateDataPlaneOptions {
  backend: BackendName;
  /** The director's interface facing clients and real servers (DR: one L2 segment). */
  interface: string;
  /** Defaults to the interface's own address. */
  ourMac?: string;
  /** Connection-table slots, a power of two (defaults.connTableSize). */
  connTableSize: number;
  logger: Logger;
  /** PACKET_VNET_HDR offload pass-through (default true). */
  vnetHdr?: boolean;
  /** Install the nftables ingress drop for the VIPs (default true). */
  ingressDrop?: boolean;
  /** AF_PACKET RX ring version (see docs/dataplane.md). */
  rxRing?: 'v2' | 'v3';
}

/** Build (but not start) a data plane. AF_XDP is not implemented yet: it falls back to AF_PACKET and says so. */
export function createDataPlane(opts: CreateDataPlaneOptions): DataPlane {
  const log = opts.logger;
  if (opts.backend === 'fake') return new FakeDataPlane({ logger: log });
  if (opts.backend !== 'afpacket' && opts.backend !== 'afxdp') {
    throw new DirectordError('E_DATAPLANE_BACKEND', `unknown data-plane backend ${String(opts.backend)} (afpacket, afxdp, fake)`);
  }
  if (opts.backend === 'afxdp') {
    log.warn({ requested: 'afxdp', using: 'afpacket', reason: 'the AF_XDP backend is not built in this version' }, 'data-plane backend fallback');
  }
  loadNative();
  return new AfPacketDataPlane({
    interface: opts.interface,
    ourMac: opts.ourMac,
    connTableSize: opts.connTableSize,
    logger: log,
    vnetHdr: opts.vnetHdr,
    ingressDrop: opts.ingressDrop,
    rxRing: opts.rxRing,
  });
}
