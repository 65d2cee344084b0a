// The BGP subsystem's loop: read the director's live state, decide per VIP (policy.ts), push the set through the
// Announcer, and keep a status view for directorctl and /metrics. Withdraws everything on drain and on stop.
import type { Logger } from '../log';
import type { LvsConfig } from '../config/schema';
import type { BgpView, StatusSnapshot } from '../control/types';
import { isDirectordError } from '../errors';
import type { Announcer, SpeakerStatus } from './announcer';
import { decideVips, directorDraining, type VipDecision } from './policy';

export interface SpeakerOptions {
  announcer: Announcer;
  logger: Logger;
  /** The director's live state (services, health, forwarding). */
  snapshot: () => Pick<StatusSnapshot, 'services' | 'health' | 'ha'>;
  /** Director-level drain (scale-out): true withdraws every VIP while forwarding goes on. */
  draining?: () => boolean;
  /** A reload's new configuration reaches the announcer through this (bgp_* keys changed). */
  config?: () => LvsConfig;
  onConfig?: (cfg: LvsConfig) => void;
  decideMs?: number;
  statusMs?: number;
}

export class BgpSpeaker {
  private decisions: VipDecision[] = [];
  private speaker: SpeakerStatus = { reachable: false, error: 'not asked yet', peers: [], exporting: [] };
  private applyError?: { code: string; message: string };
  private timers: NodeJS.Timeout[] = [];
  private busy: Promise<void> = Promise.resolve();
  private stopping = false;
  private lastCfg?: LvsConfig;
  /** The last decision's drain state (own stop, a removed bgp_peer, or scale-out's drain-director). */
  private drained = false;
  private readonly log: Logger;

  constructor(private readonly o: SpeakerOptions) {
    this.log = o.logger;
  }

  /** First decision and push before returning (a failure is logged and retried, never fatal: bird may start later). */
  async start(): Promise<void> {
    await this.tick();
    await this.refresh();
    this.timers.push(setInterval(() => void this.tick(), this.o.decideMs ?? 200));
    this.timers.push(setInterval(() => void this.refresh(), this.o.statusMs ?? 1000));
    for (const t of this.timers) t.unref();
  }

  /** Withdraw every VIP and wait for the speaker to take it; the sessions stay up (no BFD/BGP flap). */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    await this.tick();
    if (this.applyError) throw new Error(`withdrawal not applied: ${this.applyError.message}`);
  }

  private draining(): boolean {
    return this.stopping || (this.o.draining?.() ?? false);
  }

  /** Serialised: two pushes never overlap, and a push always carries the latest decision. */
  tick(): Promise<void> {
    this.busy = this.busy.then(() => this.decideAndPush());
    return this.busy;
  }

  private async decideAndPush(): Promise<void> {
    const cfg = this.o.config?.();
    if (cfg && cfg !== this.lastCfg) {
      this.lastCfg = cfg;
      this.o.onConfig?.(cfg);
    }
    let next: VipDecision[];
    try {
      const input = { snapshot: this.o.snapshot(), draining: this.draining() };
      next = decideVips(input);
      this.drained = directorDraining(input);
    } catch (e) {
      // No snapshot (the director is stopping): withdraw what was announced rather than keep a stale decision.
      next = this.decisions.map((d) => ({ vip: d.vip, announce: false, reason: `no director state: ${(e as Error).message}` }));
    }
    let changed = false;
    for (const d of next) {
      const was = this.decisions.find((x) => x.vip === d.vip);
      if (!was || was.announce !== d.announce) changed = true;
      if (!was || was.announce !== d.announce) this.log.info({ vip: d.vip, announce: d.announce, reason: d.reason }, d.announce ? 'bgp: announcing VIP' : 'bgp: withdrawing VIP');
      if (d.announce) this.o.announcer.announce(d.vip);
      else this.o.announcer.withdraw(d.vip);
    }
    for (const old of this.decisions) if (!next.some((d) => d.vip === old.vip)) this.o.announcer.withdraw(old.vip);
    this.decisions = next;
    try {
      await this.o.announcer.flush();
      if (this.applyError) this.log.info({ speaker: this.o.announcer.kind }, 'bgp: speaker took the announcement set again');
      // Status must not say "announced" for a VIP just withdrawn (or the reverse) until the next periodic read.
      if (changed || this.applyError) await this.refresh();
      this.applyError = undefined;
    } catch (e) {
      const err = { code: isDirectordError(e) ? e.code : 'E_BGP_CONFIGURE', message: (e as Error).message };
      // Logged on change only: an absent bird would otherwise log five times a second.
      if (err.message !== this.applyError?.message) this.log.error({ code: err.code, error: err.message }, 'bgp: cannot push the announcement set (retrying)');
      this.applyError = err;
    }
  }

  private async refresh(): Promise<void> {
    try {
      this.speaker = await this.o.announcer.status();
    } catch (e) {
      this.speaker = { reachable: false, error: (e as Error).message, peers: [], exporting: [] };
    }
  }

  status(): BgpView {
    const established = this.speaker.peers.some((p) => p.established);
    return {
      speaker: this.o.announcer.kind, reachable: this.speaker.reachable, ...(this.speaker.error ? { error: this.speaker.error } : {}),
      ...(this.applyError ? { applyError: this.applyError } : {}),
      draining: this.draining() || this.drained,
      peers: this.speaker.peers,
      vips: this.decisions.map((d) => ({ vip: d.vip, wanted: d.announce, announced: established && this.speaker.exporting.includes(d.vip), reason: d.reason })),
    };
  }
}
