// Per-second rates (cps, pps, bps) from two counter samples, like the kernel's 2-second IPVS estimator.
import type { DataPlaneStats } from '../dataplane/types';

export interface Rate {
  cps: number;
  inpps: number;
  inbps: number;
}

const ZERO: Rate = { cps: 0, inpps: 0, inbps: 0 };

function key(vip: string, port: number, protocol: string, dest?: string): string {
  return `${protocol}:${vip}:${port}${dest ? '>' + dest : ''}`;
}

export class RateEstimator {
  private prev?: { at: number; counters: Map<string, [number, number, number]> };
  private rates = new Map<string, Rate>();

  sample(stats: DataPlaneStats, at: number): void {
    const counters = new Map<string, [number, number, number]>();
    for (const s of stats.services) {
      counters.set(key(s.vip, s.port, s.protocol), [s.conns, s.inPkts, s.inBytes]);
      for (const d of s.dests) counters.set(key(s.vip, s.port, s.protocol, `${d.address}:${d.port}`), [d.conns, d.inPkts, d.inBytes]);
    }
    if (this.prev && at > this.prev.at) {
      const secs = (at - this.prev.at) / 1000;
      const rates = new Map<string, Rate>();
      for (const [k, [c, p, b]] of counters) {
        const old = this.prev.counters.get(k);
        if (!old) continue;
        // A counter that went backwards (dest re-created) restarts its rate at 0 rather than going negative.
        const r = (now: number, then: number): number => (now >= then ? Math.round((now - then) / secs) : 0);
        rates.set(k, { cps: r(c, old[0]), inpps: r(p, old[1]), inbps: r(b, old[2]) });
      }
      this.rates = rates;
    }
    this.prev = { at, counters };
  }

  service(vip: string, port: number, protocol: string): Rate {
    return this.rates.get(key(vip, port, protocol)) ?? ZERO;
  }

  dest(vip: string, port: number, protocol: string, address: string, dport: number): Rate {
    return this.rates.get(key(vip, port, protocol, `${address}:${dport}`)) ?? ZERO;
  }
}
