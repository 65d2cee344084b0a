// The VIPs this node holds: brought up/down through netlink, announced with gratuitous ARP bursts, optionally
// refreshed periodically while held (keepalived's garp_master_refresh; anchors §9.3: on by choice, not by accident).
import type { Logger } from '../log';
import type { GarpSender, GarpTarget } from './garp-sender';
import type { NetlinkIo, VipSpec } from './netlink-io';

export interface GarpSettings {
  count: number;
  intervalMs: number;
  refreshMs: number;
}

export class VipManager {
  private readonly held = new Map<string, VipSpec>();
  private targets: GarpTarget[] = [];
  private refreshTimer?: NodeJS.Timeout;

  constructor(private readonly netlink: NetlinkIo, private readonly garp: GarpSender, private readonly log: Logger) {}

  heldAddresses(): string[] {
    return [...this.held.keys()];
  }

  /** Crash recovery at start: a VIP we do not hold yet must not be up here (a killed directord left it). */
  async removeStale(specs: VipSpec[]): Promise<void> {
    for (const v of specs) {
      if (!this.held.has(v.address) && (await this.netlink.removeVip(v.address)) === 'removed') {
        this.log.warn({ vip: v.address }, 'removed a stale VIP this node does not own');
      }
    }
  }

  /** Make the held VIPs equal `specs`; announce the new ones with a burst, then (re)start the refresh. */
  async hold(specs: VipSpec[], garp: GarpSettings, reason: string): Promise<void> {
    const want = new Map(specs.map((v) => [v.address, v]));
    for (const addr of [...this.held.keys()]) {
      if (!want.has(addr)) {
        await this.netlink.removeVip(addr);
        this.held.delete(addr);
        this.log.info({ vip: addr }, 'VIP down (no longer configured)');
      }
    }
    const fresh: GarpTarget[] = [];
    const all: GarpTarget[] = [];
    for (const v of want.values()) {
      const dev = await this.netlink.interfaceByName(v.device);
      const target = { vip: v.address, device: v.device, mac: dev.mac };
      if (!this.held.has(v.address)) {
        await this.netlink.addVip(v);
        this.held.set(v.address, v);
        this.log.info({ vip: v.address, label: v.label, prefixlen: v.prefixlen }, 'VIP up');
        fresh.push(target);
      }
      all.push(target);
    }
    this.targets = all;
    if (fresh.length) this.garp.burst(fresh, garp.count, garp.intervalMs, reason);
    if (this.refreshTimer) clearInterval(this.refreshTimer);
    this.refreshTimer = garp.refreshMs > 0 ? setInterval(() => this.garp.burst(this.targets, 1, 0, 'periodic refresh'), garp.refreshMs) : undefined;
  }

  /** Re-announce everything held (split brain won, pulse's "partner active: resending arps"). */
  announce(garp: GarpSettings, reason: string): void {
    if (this.targets.length) this.garp.burst(this.targets, garp.count, garp.intervalMs, reason);
  }

  /** Give every VIP up; pending burst frames are cancelled first so we stop claiming the address at once. */
  async releaseAll(): Promise<void> {
    this.garp.cancel();
    if (this.refreshTimer) clearInterval(this.refreshTimer);
    this.refreshTimer = undefined;
    for (const addr of [...this.held.keys()]) {
      try {
        await this.netlink.removeVip(addr);
        this.log.info({ vip: addr }, 'VIP down');
      } catch (e) {
        this.log.error({ err: e, vip: addr }, 'cannot remove VIP');
      }
      this.held.delete(addr);
    }
    this.targets = [];
  }

  close(): void {
    if (this.refreshTimer) clearInterval(this.refreshTimer);
    this.garp.close();
  }
}
