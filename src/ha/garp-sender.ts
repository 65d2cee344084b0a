// Sends pulse-style gratuitous ARP bursts (count × interval) and optional periodic refreshes through a libpcap
// injection handle per device (the `pcap` package); bursts are cancellable, so a node that loses the VIP stops at once.
import type { Logger } from '../log';
import { buildGratuitousArp } from './garp-frame';

interface PcapSessionLike {
  inject(frame: Buffer): void;
  close(): void;
}

/** One injection handle per device; its filter (an IEEE local-experimental ethertype) lets nothing we expect through. */
export type InjectorFactory = (device: string) => PcapSessionLike;

export const pcapInjector: InjectorFactory = (device) => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const pcap = require('pcap') as { createSession(dev: string, opts: Record<string, unknown>): PcapSessionLike };
  return pcap.createSession(device, { filter: 'ether proto 0x88b5', buffer_size: 65536, snap_length: 64, promiscuous: false });
};

export interface GarpTarget {
  vip: string;
  device: string;
  mac: string;
}

export class GarpSender {
  private readonly sessions = new Map<string, PcapSessionLike>();
  private readonly timers = new Set<NodeJS.Timeout>();
  sent = 0;
  errors = 0;

  constructor(private readonly log: Logger, private readonly injector: InjectorFactory = pcapInjector) {}

  /** Send `count` frames per target, `intervalMs` apart, the first one immediately. */
  burst(targets: GarpTarget[], count: number, intervalMs: number, reason: string): void {
    for (let i = 0; i < count; i++) {
      if (i === 0) this.sendAll(targets);
      else {
        const t = setTimeout(() => {
          this.timers.delete(t);
          this.sendAll(targets);
        }, i * intervalMs);
        this.timers.add(t);
      }
    }
    this.log.info({ vips: targets.map((t) => t.vip), count, intervalMs, reason }, 'sending gratuitous ARPs');
  }

  /** Stop pending burst frames (the node is giving the VIP up). */
  cancel(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  private sendAll(targets: GarpTarget[]): void {
    for (const t of targets) {
      try {
        let s = this.sessions.get(t.device);
        if (!s) {
          s = this.injector(t.device);
          this.sessions.set(t.device, s);
        }
        s.inject(buildGratuitousArp(t.mac, t.vip));
        this.sent++;
      } catch (e) {
        this.errors++;
        this.log.error({ err: e, vip: t.vip, device: t.device }, 'gratuitous ARP failed');
      }
    }
  }

  close(): void {
    this.cancel();
    for (const s of this.sessions.values()) {
      try {
        s.close();
      } catch {
        /* closed */
      }
    }
    this.sessions.clear();
  }
}
