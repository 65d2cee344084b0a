// Real-server Ethernet addresses from the kernel's neighbour table (rtnetlink RTM_GETNEIGH + the NEIGH multicast
// group). Resolution is provoked with a UDP datagram to the discard port (the kernel ARPs for it), and stale
// entries are re-confirmed the same way. A dest without a usable entry carries a reason instead of a MAC.
import dgram from 'node:dgram';
import { EventEmitter } from 'node:events';
import { createRtNetlink } from 'netlink';
import type { Logger } from '../log';
import { bytesToMac, intToIp } from './validate';

export interface NeighbourState {
  mac?: string;
  /** Why there is no MAC (or why it may be old): resolving, failed, stale, not_on_interface. */
  reason?: string;
}

/** The part of netlink's RtNetlinkSocket this file uses (injectable in tests). */
export interface NeighbourSocket {
  addMembership(group: 'NEIGH'): void;
  on(event: 'message', fn: (msgs: unknown[]) => void): unknown;
  getNeighbors(data: { family: number }): Promise<unknown[]>;
  socket: { close(): void };
}

export interface NeighbourOptions {
  ifindex: number;
  logger: Logger;
  /** How often unresolved and stale entries are probed again. */
  probeIntervalMs?: number;
  /** Default: a real rtnetlink socket. */
  socketFactory?: () => NeighbourSocket;
  /** Default: an empty UDP datagram to the address's port 9 (the kernel ARPs for it). */
  probe?: (address: string) => void;
}

interface NeighMsg {
  kind?: string;
  data?: { family?: number; ifindex?: number; state?: Record<string, unknown> };
  attrs?: { dst?: Buffer; lladdr?: Buffer };
}

const USABLE = ['reachable', 'stale', 'delay', 'probe', 'permanent', 'noarp'];

/** Emits 'change' whenever the MAC (or the reason) of a wanted address changes. */
export class NeighbourResolver extends EventEmitter {
  private readonly opts: NeighbourOptions & { probeIntervalMs: number };
  private readonly wanted = new Set<string>();
  private readonly entries = new Map<string, NeighbourState>();
  private socket?: NeighbourSocket;
  private udp?: dgram.Socket;
  private timer?: NodeJS.Timeout;

  constructor(opts: NeighbourOptions) {
    super();
    this.opts = { probeIntervalMs: 5000, ...opts };
  }

  async start(): Promise<void> {
    this.socket = this.opts.socketFactory ? this.opts.socketFactory() : (createRtNetlink() as unknown as NeighbourSocket);
    this.socket.addMembership('NEIGH');
    this.socket.on('message', (msgs) => {
      for (const m of msgs as NeighMsg[]) this.absorb(m, true);
    });
    if (!this.opts.probe) {
      this.udp = dgram.createSocket('udp4');
      this.udp.on('error', () => undefined);
      this.udp.unref();
    }
    await this.refresh();
    this.timer = setInterval(() => void this.tick(), this.opts.probeIntervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.socket?.socket.close();
    this.udp?.close();
    this.socket = undefined;
    this.udp = undefined;
  }

  /** The addresses the data plane needs; new ones are resolved right away. */
  want(addresses: Iterable<string>): void {
    const next = new Set(addresses);
    for (const a of [...this.wanted]) if (!next.has(a)) this.wanted.delete(a);
    for (const a of next) {
      if (this.wanted.has(a)) continue;
      this.wanted.add(a);
      if (!this.entries.get(a)?.mac) {
        this.entries.set(a, { reason: 'resolving' });
        this.provoke(a);
      }
    }
  }

  get(address: string): NeighbourState {
    return this.entries.get(address) ?? { reason: 'resolving' };
  }

  private absorb(m: NeighMsg, notify: boolean): void {
    if (m.kind !== 'neighbor' || m.data?.family !== 2 || !m.attrs?.dst || m.attrs.dst.length !== 4) return;
    if (m.data.ifindex !== this.opts.ifindex) return;
    const addr = intToIp(m.attrs.dst.readUInt32BE(0));
    const st = m.data.state ?? {};
    const usable = USABLE.some((k) => st[k]) && m.attrs.lladdr && m.attrs.lladdr.length === 6;
    const next: NeighbourState = usable ? { mac: bytesToMac(m.attrs.lladdr!), reason: st.stale ? 'stale' : undefined } : { reason: st.failed ? 'failed' : 'resolving' };
    const prev = this.entries.get(addr);
    this.entries.set(addr, next);
    if (notify && this.wanted.has(addr) && (prev?.mac !== next.mac || prev?.reason !== next.reason)) {
      this.opts.logger.info({ address: addr, mac: next.mac, reason: next.reason }, 'real server neighbour entry changed');
      this.emit('change', addr, next);
    }
  }

  private async refresh(): Promise<void> {
    if (!this.socket) return;
    const msgs = await this.socket.getNeighbors({ family: 2 });
    for (const m of msgs as NeighMsg[]) this.absorb(m, false);
    // A neighbour deleted while we were not listening must not keep its old MAC.
    const seen = new Set((msgs as NeighMsg[]).filter((m) => m.attrs?.dst?.length === 4 && m.data?.ifindex === this.opts.ifindex).map((m) => intToIp(m.attrs!.dst!.readUInt32BE(0))));
    for (const a of this.entries.keys()) if (!seen.has(a)) this.entries.set(a, { reason: 'resolving' });
    this.emit('change');
  }

  /** A datagram to the discard port makes the kernel resolve (or re-confirm) the neighbour. */
  private provoke(address: string): void {
    if (this.opts.probe) this.opts.probe(address);
    else this.udp?.send(Buffer.alloc(0), 9, address, () => undefined);
  }

  /** One probe round (also run by the timer): re-probe unresolved and stale entries, then re-read the table. */
  async tick(): Promise<void> {
    for (const a of this.wanted) {
      const e = this.entries.get(a);
      if (!e?.mac || e.reason === 'stale') this.provoke(a);
    }
    try {
      await this.refresh();
    } catch (e) {
      this.opts.logger.warn({ err: e }, 'neighbour table refresh failed');
    }
  }
}
