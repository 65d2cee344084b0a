// The AF_XDP backend: the AF_PACKET backend's table, neighbours and policy, with an XDP program in front (VIP frames
// to an AF_XDP socket, the rest to the kernel) and the addon's AF_XDP thread. The AF_PACKET path stays behind it for
// the multi-buffer frames XDP passes up (GSO super-frames keep their metadata only there). When AF_XDP cannot start
// here (no addon, no kernel support, program load fails) only the AF_PACKET path runs, and the log says why.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { AfPacketDataPlane, type AfPacketOptions } from './afpacket';
import { buildDirs, loadXdp, XDP_OBJECT_FILE, type Handle, type XdpBinding, type XdpInfo, type XdpKeyLayout } from './native';
import type { ServiceSpec } from './types';
import { ipToInt } from './validate';

export interface AfXdpOptions extends AfPacketOptions {
  xdpBinding: XdpBinding;
  /** The compiled XDP program (build/Release/directord_xdp.bpf.o). */
  bpfObject: string;
  /** 'native' (default): driver mode, before GRO. 'skb': generic mode, after GRO. Either way a multi-buffer
   * (GSO/GRO) frame goes to the AF_PACKET path instead of the AF_XDP socket. */
  xdpAttach?: 'native' | 'skb';
}

/** The XDP program's service-map keys (struct dd_xdp_key, laid out as the addon's layout() says: vip and port in
 * network order, proto; see native/include/xdp_abi.h for the proto values 0, 1 and 255). */
export function xdpServiceKeys(services: ServiceSpec[], L: XdpKeyLayout): Buffer {
  const keys = new Map<string, [number, number, number]>();
  for (const s of services) {
    const all = s.fwmark !== 0 || s.port === 0;
    const k: [number, number, number] = all ? [ipToInt(s.vip), 0, 0] : [ipToInt(s.vip), s.port, s.protocol === 'tcp' ? 6 : 17];
    keys.set(k.join(':'), k);
    // Fragments carry no ports: hand them to the loop for every VIP, which counts and drops them by reason.
    keys.set(`${s.vip}:frag`, [ipToInt(s.vip), 0, 255]);
    keys.set(`${s.vip}:icmp`, [ipToInt(s.vip), 0, 1]);
  }
  const b = Buffer.alloc(L.size * keys.size);
  [...keys.values()].forEach(([vip, port, proto], i) => {
    b.writeUInt32BE(vip, i * L.size + L.vip);
    b.writeUInt16BE(port, i * L.size + L.port);
    b.writeUInt8(proto, i * L.size + L.proto);
  });
  return b;
}

/** The AF_XDP addon and program of this build, or the reason they cannot be used. */
export function xdpUnavailable(addonFile?: string, bpfObject?: string): { reason: string } | { binding: XdpBinding; bpfObject: string } {
  let binding: XdpBinding;
  try {
    binding = loadXdp(addonFile);
  } catch (e) {
    return { reason: (e as Error).message };
  }
  const obj = bpfObject ?? buildDirs().map((d) => path.join(d, XDP_OBJECT_FILE)).find((f) => existsSync(f));
  if (!obj || !existsSync(obj)) return { reason: `XDP program ${bpfObject ?? XDP_OBJECT_FILE} not built (clang -target bpf; run npm run build:native)` };
  return { binding, bpfObject: obj };
}

export class AfXdpDataPlane extends AfPacketDataPlane {
  private readonly xdp: XdpBinding;
  private readonly bpfObject: string;
  private readonly xdpAttach: 'native' | 'skb';
  private handle?: Handle;
  private fellBack = false;

  constructor(opts: AfXdpOptions) {
    super(opts);
    this.xdp = opts.xdpBinding;
    this.bpfObject = opts.bpfObject;
    this.xdpAttach = opts.xdpAttach ?? 'native';
  }

  /** 'afxdp', or 'afpacket' once start() had to fall back. */
  override get backend(): string {
    return this.fellBack ? 'afpacket' : 'afxdp';
  }

  protected override async startPath(): Promise<void> {
    const ifname = this.opts.interface;
    // AF_PACKET first: once the XDP program is attached it passes the multi-buffer frames up to this path.
    await super.startPath();
    try {
      if (this.xdp.xdpRemoveStale(ifname)) this.log.warn({ interface: ifname }, 'removed a directord XDP program left by an earlier run');
      this.handle = this.table.startXdp(this.xdp, ifname, this.ourMac, this.bpfObject, this.xdpAttach === 'skb', this.opts.busyPollUs ?? 0, this.xdpThreads());
      this.xdp.xdpSetServices(this.handle, xdpServiceKeys(this.services, this.table.layout.xdpKey));
    } catch (e) {
      if (this.handle) this.xdp.xdpStop(this.handle);
      this.handle = undefined;
      this.fellBack = true;
      this.log.warn({ requested: 'afxdp', using: 'afpacket', reason: (e as Error).message }, 'data-plane backend fallback');
      return;
    }
    const info = this.xdp.xdpInfo(this.handle);
    this.log.info({ interface: ifname, mac: this.ourMac, attachMode: info.attachMode, zeroCopy: info.zeroCopy, dispatcher: info.dispatcher, queues: info.queues.length, threads: info.threads, connTableSize: this.opts.connTableSize }, 'AF_XDP data plane started');
  }

  /** Attach mode, dispatcher, threads and the frames each RX queue's socket delivered; undefined unless running. */
  xdpInfo(): XdpInfo | undefined {
    return this.handle ? this.xdp.xdpInfo(this.handle) : undefined;
  }

  /** packetThreads, here the AF_XDP threads (the AF_PACKET path behind only carries GSO frames). Every RX queue has
   * its own socket; with fewer threads than queues each thread serves a contiguous group of them. 0 (the default):
   * one per queue, at most one per CPU this process may use but one, kept for the control plane. */
  private xdpThreads(): number {
    return this.opts.packetThreads ?? 0;
  }

  protected override async stopPath(): Promise<void> {
    // XDP first: frames it no longer takes are still forwarded by the AF_PACKET path until that stops too.
    if (this.handle) {
      this.xdp.xdpStop(this.handle);
      this.log.info('AF_XDP path stopped (XDP program detached)');
    }
    this.handle = undefined;
    await super.stopPath();
  }

  protected override updatePath(prev: ServiceSpec[]): void {
    super.updatePath(prev);
    if (this.handle) this.xdp.xdpSetServices(this.handle, xdpServiceKeys(this.services, this.table.layout.xdpKey));
  }
}
