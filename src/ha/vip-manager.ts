// The VIPs this node holds: brought up/down through netlink, announced with gratuitous ARP bursts, optionally
// refreshed periodically while held (keepalived's garp_master_refresh; anchors §9.3: on by choice, not by accident).
// Every VIP this node may have added is recorded in a state file first, so `directord --cleanup` can remove it
// after a crash even when lvs.cf no longer names it or no longer parses.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { LvsConfig } from '../config/schema';
import type { Logger } from '../log';
import type { GarpSender, GarpTarget } from './garp-sender';
import { prefixFromNetmask } from './ipv4';
import type { NetlinkIo, VipSpec } from './netlink-io';

export interface GarpSettings {
  count: number;
  intervalMs: number;
  refreshMs: number;
}

/** The VIPs of the active virtuals, one per address (pulse brings up each address once). */
export function vipSpecsOf(cfg: LvsConfig): VipSpec[] {
  const seen = new Map<string, VipSpec>();
  for (const v of cfg.virtuals) {
    if (!v.active || seen.has(v.address)) continue;
    const [device] = v.device.split(':');
    seen.set(v.address, { address: v.address, device, label: v.device, prefixlen: prefixFromNetmask(v.vipNetmask, v.address) });
  }
  return [...seen.values()];
}

/** The VIPs recorded in a state file; [] when it is missing or unreadable (never throws). */
export function readVipState(file: string): VipSpec[] {
  try {
    const j = JSON.parse(readFileSync(file, 'utf8')) as { vips?: unknown };
    if (!Array.isArray(j.vips)) return [];
    return j.vips.filter((v): v is VipSpec => typeof v === 'object' && v !== null && typeof (v as VipSpec).address === 'string' && /^\d{1,3}(\.\d{1,3}){3}$/.test((v as VipSpec).address));
  } catch {
    return [];
  }
}

export interface VipManagerOptions {
  /** Where the VIPs this node may hold are recorded (undefined: not recorded; tests). */
  stateFile?: string;
  /** First retry delay for a VIP whose removal failed; doubles up to 30 s. */
  retryMs?: number;
}

const MAX_RETRY_MS = 30_000;

export class VipManager {
  private readonly held = new Map<string, VipSpec>();
  private targets: GarpTarget[] = [];
  private refreshTimer?: NodeJS.Timeout;
  private retryTimer?: NodeJS.Timeout;
  private retryMs: number;

  constructor(private readonly netlink: NetlinkIo, private readonly garp: GarpSender, private readonly log: Logger, private readonly opts: VipManagerOptions = {}) {
    this.retryMs = opts.retryMs ?? 1000;
  }

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
    this.stopRetry();
    const want = new Map(specs.map((v) => [v.address, v]));
    for (const addr of [...this.held.keys()]) {
      if (!want.has(addr)) {
        await this.netlink.removeVip(addr);
        this.held.delete(addr);
        this.record([]);
        this.log.info({ vip: addr }, 'VIP down (no longer configured)');
      }
    }
    const fresh: GarpTarget[] = [];
    const all: GarpTarget[] = [];
    for (const v of want.values()) {
      const dev = await this.netlink.interfaceByName(v.device);
      const target = { vip: v.address, device: v.device, mac: dev.mac };
      if (!this.held.has(v.address)) {
        // Recorded before it exists: a crash between the two leaves a record of an absent VIP, never the reverse.
        this.record([v]);
        await this.netlink.addVip(v);
        this.held.set(v.address, v);
        this.log.info({ vip: v.address, label: v.label, prefixlen: v.prefixlen }, 'VIP up');
        fresh.push(target);
      }
      all.push(target);
    }
    this.record([]);
    this.targets = all;
    if (fresh.length) this.garp.burst(fresh, garp.count, garp.intervalMs, reason);
    if (this.refreshTimer) clearInterval(this.refreshTimer);
    this.refreshTimer = garp.refreshMs > 0 ? setInterval(() => this.garp.burst(this.targets, 1, 0, 'periodic refresh'), garp.refreshMs) : undefined;
  }

  /** Re-announce everything held (split brain won, pulse's "partner active: resending arps"). */
  announce(garp: GarpSettings, reason: string): void {
    if (this.targets.length) this.garp.burst(this.targets, garp.count, garp.intervalMs, reason);
  }

  /**
   * Give every VIP up; pending burst frames are cancelled first so we stop claiming the address at once. A VIP
   * whose removal fails stays held (status shows it) and is retried with backoff; returns the ones still up.
   */
  async releaseAll(): Promise<string[]> {
    this.garp.cancel();
    if (this.refreshTimer) clearInterval(this.refreshTimer);
    this.refreshTimer = undefined;
    this.targets = [];
    this.stopRetry();
    const failed = await this.removeHeld();
    if (failed.length) this.scheduleRetry();
    return failed;
  }

  private async removeHeld(): Promise<string[]> {
    const failed: string[] = [];
    for (const addr of [...this.held.keys()]) {
      try {
        await this.netlink.removeVip(addr);
        this.held.delete(addr);
        this.log.info({ vip: addr }, 'VIP down');
      } catch (e) {
        failed.push(addr);
        this.log.error({ err: e, vip: addr, retryInMs: this.retryMs }, 'cannot remove VIP: still held, retrying');
      }
    }
    this.record([]);
    return failed;
  }

  private scheduleRetry(): void {
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.retryMs = Math.min(this.retryMs * 2, MAX_RETRY_MS);
      void this.removeHeld().then((failed) => {
        if (failed.length) this.scheduleRetry();
        else this.retryMs = this.opts.retryMs ?? 1000;
      });
    }, this.retryMs);
  }

  private stopRetry(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.retryMs = this.opts.retryMs ?? 1000;
  }

  /** Write held ∪ extra to the state file (atomically); a failure is logged, never thrown. */
  private record(extra: VipSpec[]): void {
    const file = this.opts.stateFile;
    if (!file) return;
    const vips = new Map([...this.held].concat(extra.map((v) => [v.address, v])));
    try {
      writeFileSync(`${file}.tmp`, JSON.stringify({ pid: process.pid, vips: [...vips.values()] }) + '\n', { mode: 0o644 });
      renameSync(`${file}.tmp`, file);
    } catch (e) {
      this.log.warn({ err: e, file }, 'cannot record the held VIPs (directord --cleanup falls back to lvs.cf)');
    }
  }

  close(): void {
    if (this.refreshTimer) clearInterval(this.refreshTimer);
    this.stopRetry();
    this.garp.close();
  }
}
