// The data plane subsystem's front door: createDataPlane() picks a backend, falling back with a logged reason.
import { DirectordError } from '../errors';
import type { Logger } from '../log';
import { AfPacketDataPlane } from './afpacket';
import { AfXdpDataPlane, xdpUnavailable } from './afxdp';
import { FakeDataPlane } from './fake';
import { loadNative } from './native';
import type { DataPlane } from './types';

export type { ConnEntry, DataPlane, DataPlaneStats, DestCounters, DestSpec, ServiceCounters, ServiceSpec, Timeouts } from './types';
export { FakeDataPlane } from './fake';
export { AfPacketDataPlane } from './afpacket';
export { AfXdpDataPlane } from './afxdp';
export type { PacketSummary, NativeDecision } from './native';
export type { FakePacket } from './fake';

export type BackendName = 'afpacket' | 'afxdp' | 'fake';

export interface CreateDataPlaneOptions {
  backend: BackendName;
  /** The director's interface facing clients and real servers (DR: one L2 segment). */
  interface: string;
  /** 802.1Q VLAN id served on `interface` (0 or absent: untagged); from lvs.cf's VIP device eth0.100. */
  vlan?: number;
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
  /** Busy-poll budget of the packet threads in µs (AfPacketOptions.busyPollUs; default 0, sleep at once). */
  busyPollUs?: number;
  /** AF_PACKET packet threads (AfPacketOptions.packetThreads; default defaultPacketThreads()). */
  packetThreads?: number;
  /** AF_XDP only: the addon and the XDP object (default: build/Release of this checkout). */
  xdpAddon?: string;
  bpfObject?: string;
  /** AF_XDP attach mode (see AfXdpOptions.xdpAttach; default 'native'). */
  xdpAttach?: 'native' | 'skb';
}

/** Build (but not start) a data plane. AF_XDP falls back to AF_PACKET with a logged reason where this build has no
 * AF_XDP addon or program; where the kernel refuses it, start() falls back the same way. */
export function createDataPlane(opts: CreateDataPlaneOptions): DataPlane {
  const log = opts.logger;
  if (opts.backend === 'fake') return new FakeDataPlane({ logger: log });
  if (opts.backend !== 'afpacket' && opts.backend !== 'afxdp') {
    throw new DirectordError('E_DATAPLANE_BACKEND', `unknown data-plane backend ${String(opts.backend)} (afpacket, afxdp, fake)`);
  }
  loadNative();
  const common = {
    interface: opts.interface,
    vlan: opts.vlan,
    ourMac: opts.ourMac,
    connTableSize: opts.connTableSize,
    logger: log,
    vnetHdr: opts.vnetHdr,
    ingressDrop: opts.ingressDrop,
    rxRing: opts.rxRing,
    busyPollUs: opts.busyPollUs,
    packetThreads: opts.packetThreads,
  };
  if (opts.backend === 'afxdp') {
    const xdp = xdpUnavailable(opts.xdpAddon, opts.bpfObject);
    if ('binding' in xdp) return new AfXdpDataPlane({ ...common, xdpBinding: xdp.binding, bpfObject: xdp.bpfObject, xdpAttach: opts.xdpAttach });
    log.warn({ requested: 'afxdp', using: 'afpacket', reason: xdp.reason }, 'data-plane backend fallback');
  }
  return new AfPacketDataPlane(common);
}
