// The AF_PACKET backend: the native table and its packet threads, fed with complete tables (dests with MACs from the
// neighbour resolver), the capture filter kept in step with the services, and the kernel's ingress drop around it.
import fs from 'node:fs';
import os from 'node:os';
import { defaultOptions } from '../defaults';
import { DirectordError } from '../errors';
import type { Logger } from '../log';
import { installIngressDrop, removeIngressDrop } from './ingress-drop';
import { NativeTable, type NativeBinding } from './native';
import { NeighbourResolver } from './neighbours';
import { buildStats } from './stats';
import type { ConnEntry, ConnSnapshot, DataPlane, DataPlaneStats, ServiceSpec, SyncRecordIO, Timeouts } from './types';
import { captureFilter, isMac } from './validate';

export interface AfPacketOptions {
  /** The device frames arrive on: the parent (eth0) of a VLAN device, with `vlan` set. */
  interface: string;
  /** 802.1Q VLAN id served on `interface` (lvs.cf device eth0.100): tagged frames of that VLAN only, forwarded with
   * their tag. 0 or absent: untagged frames only. */
  vlan?: number;
  ourMac?: string;
  connTableSize: number;
  logger: Logger;
  /** PACKET_VNET_HDR on RX and TX, so GSO/GRO super-frames and partial checksums are forwarded intact (default on). */
  vnetHdr?: boolean;
  /** RX ring: 'v2' hands each frame over at once (lowest latency), 'v3' batches in 1 MiB blocks (1 ms timeout). */
  rxRing?: 'v2' | 'v3';
  /** Busy-poll budget: after a batch the packet thread spins up to this many µs for the next frame before it sleeps
   * (0 = sleep at once). Spinning spares the kernel a wake-up per sleep, at the price of CPU (docs/dataplane.md). */
  busyPollUs?: number;
  /** Packet threads in one PACKET_FANOUT_HASH group (a flow stays on one thread; all share the table). Default:
   * defaultPacketThreads(). */
  packetThreads?: number;
  /** Skip the nftables ingress drop (tests that check the drop itself, or a host that provides it otherwise). */
  ingressDrop?: boolean;
  binding?: NativeBinding;
}

// v2 by default: a DR director for MySQL lives on round trips (+12 µs p50 against +850 µs for v3, docs/benchmarks.md).
export const DEFAULT_RX_RING: 'v2' | 'v3' = 'v2';

/** One packet thread per CPU this process may run on (sched_getaffinity, through libuv) but one, which the event
 * loop keeps for the control plane (health checks, heartbeats, directorctl); at least one. On a 2-CPU director: 1. */
export function defaultPacketThreads(cpus = os.availableParallelism()): number {
  return Math.max(1, Math.min(cpus - 1, defaultOptions.packetThreadsMax));
}

export function interfaceMac(ifname: string): string {
  try {
    return fs.readFileSync(`/sys/class/net/${ifname}/address`, 'utf8').trim();
  } catch (e) {
    throw new DirectordError('E_DATAPLANE_INTERFACE', `interface ${ifname} not found`, { cause: e });
  }
}

export function interfaceIndex(ifname: string): number {
  try {
    return Number(fs.readFileSync(`/sys/class/net/${ifname}/ifindex`, 'utf8').trim());
  } catch (e) {
    throw new DirectordError('E_DATAPLANE_INTERFACE', `interface ${ifname} not found`, { cause: e });
  }
}

export class AfPacketDataPlane implements DataPlane {
  readonly table: NativeTable;
  protected readonly opts: AfPacketOptions;
  protected readonly log: Logger;
  protected ourMac = '';
  protected services: ServiceSpec[] = [];
  private neighbours?: NeighbourResolver;
  private running = false;

  constructor(opts: AfPacketOptions) {
    if (!/^[A-Za-z0-9_.:@-]{1,15}$/.test(opts.interface)) throw new DirectordError('E_DATAPLANE_INTERFACE', `bad interface name ${JSON.stringify(opts.interface)}`);
    if (opts.ourMac !== undefined && !isMac(opts.ourMac)) throw new DirectordError('E_DATAPLANE_MAC', `bad ourMac ${opts.ourMac}`);
    this.opts = opts;
    this.log = opts.logger;
    this.table = new NativeTable(opts.connTableSize, opts.binding);
    this.table.setVlan(opts.vlan ?? 0);
  }

  get backend(): string {
    return 'afpacket';
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.ourMac = this.opts.ourMac ?? interfaceMac(this.opts.interface);
    this.neighbours = new NeighbourResolver({ ifindex: interfaceIndex(this.opts.interface), logger: this.log });
    this.neighbours.on('change', () => this.push());
    await this.neighbours.start();
    this.neighbours.want(this.destAddresses());
    await this.startPath();
    this.running = true;
    this.push();
  }

  /** The packet path: the nftables ingress drop and the AF_PACKET thread (AfXdpDataPlane replaces this). */
  protected async startPath(): Promise<void> {
    if (this.opts.ingressDrop !== false) await installIngressDrop(this.opts.interface, this.services);
    const vnet = this.opts.vnetHdr !== false;
    const rxRing = this.opts.rxRing ?? DEFAULT_RX_RING;
    const busyPollUs = this.opts.busyPollUs ?? 0;
    const packetThreads = this.opts.packetThreads ?? defaultPacketThreads();
    this.table.startLoop(this.opts.interface, this.ourMac, captureFilter(this.ourMac, this.services), vnet, rxRing, busyPollUs, packetThreads);
    this.log.info({ interface: this.opts.interface, vlan: this.opts.vlan ?? 0, mac: this.ourMac, vnetHdr: vnet, rxRing, busyPollUs, packetThreads, connTableSize: this.opts.connTableSize }, 'AF_PACKET data plane started');
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    await this.stopPath();
    this.neighbours?.stop();
  }

  protected async stopPath(): Promise<void> {
    this.table.stopLoop();
    if (this.opts.ingressDrop !== false) {
      try {
        await removeIngressDrop();
      } catch (e) {
        this.log.warn({ err: e }, 'could not remove the nftables ingress drop');
      }
    }
    this.log.info('AF_PACKET data plane stopped');
  }

  setServices(services: ServiceSpec[]): void {
    const prev = this.services;
    this.services = services.map((s) => ({ ...s, dests: s.dests.map((d) => ({ ...d })) }));
    this.push();
    this.neighbours?.want(this.destAddresses());
    if (this.running) this.updatePath(prev);
  }

  /** Keep the capture filter and the ingress drop in step with the services. */
  protected updatePath(prev: ServiceSpec[]): void {
    const prevFilter = captureFilter(this.ourMac, prev);
    const prevDrop = JSON.stringify(prev.map((s) => [s.vip, s.port, s.protocol, s.fwmark]));
    const filter = captureFilter(this.ourMac, this.services);
    if (filter !== prevFilter) this.table.setFilter(filter);
    if (this.opts.ingressDrop !== false && prevDrop !== JSON.stringify(this.services.map((s) => [s.vip, s.port, s.protocol, s.fwmark]))) {
      installIngressDrop(this.opts.interface, this.services).catch((e) => this.log.error({ err: e }, 'could not update the nftables ingress drop'));
    }
  }

  setTimeouts(t: Timeouts): void {
    this.table.setTimeouts(t);
  }

  setForwarding(enabled: boolean): void {
    this.table.setForwarding(enabled);
    this.log.info({ forwarding: enabled }, 'forwarding switched');
  }

  stats(): DataPlaneStats {
    return buildStats(this.services, this.table, (addr) => this.neighbours?.get(addr));
  }

  connections(limit?: number): ConnEntry[] {
    return this.table.connections(limit);
  }

  connectionSnapshot(): ConnSnapshot {
    return this.table.snapshot();
  }

  drainSyncUpdates(max?: number): ConnEntry[] {
    return this.table.drainSync(max);
  }

  get syncRecords(): SyncRecordIO {
    return this.table;
  }

  applySyncUpdates(entries: ConnEntry[]): number {
    return this.table.applySync(entries);
  }

  private destAddresses(): string[] {
    return [...new Set(this.services.flatMap((s) => s.dests.map((d) => d.address)))];
  }

  /** The complete table: MACs filled in from the neighbour table (a caller-given MAC wins). */
  private push(): void {
    const full = this.services.map((s) => ({
      ...s,
      dests: s.dests.map((d) => ({ ...d, mac: d.mac ?? this.neighbours?.get(d.address).mac })),
    }));
    this.table.setServices(full);
  }
}
