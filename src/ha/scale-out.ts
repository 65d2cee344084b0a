// Scale-out mode (scale_out = 1): every director forwards, reached by routing (ECMP) rather than by ARP for the VIP,
// so there is no heartbeat contest, no VIP address and no gratuitous ARP here; connection state is shared with every
// director in sync_peers (sync-mesh.ts), and a drain withdraws the routes through a RouteAnnouncer (drain.ts).
import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import type { LvsConfig } from '../config/schema';
import type { DataPlane } from '../dataplane/types';
import { DirectordError } from '../errors';
import type { Logger } from '../log';
import { runDetached } from './commands';
import { DRAIN_DEFAULTS, DrainTracker, type DrainEvent, type DrainView, type RouteAnnouncer } from './drain';
import { keyOrWarn } from './node-config';
import { NetlinkIo } from './netlink-io';
import { SyncMesh, type SyncMeshStatus } from './sync-mesh';
import { tableDestKeys } from './sync-transfer';

export interface ScaleOutHooks {
  onActivate(): Promise<void>;
  onDeactivate(): Promise<void>;
}

export interface ScaleOutNodeOptions {
  config: LvsConfig;
  logger: Logger;
  hooks: ScaleOutHooks;
  dataplane: DataPlane;
  /** The route announcer (BIRD…): told to withdraw on drain and stop, to announce at start and undrain. */
  announcer?: RouteAnnouncer;
  /** Tests: this host's addresses (skips netlink). */
  localAddresses?: () => Promise<string[]>;
  /** Sample period of the drain (default 1 s). */
  drainSampleMs?: number;
  drainQuietMs?: number;
  /** Longest wait for the peers' tables before the routes go out anyway (default JOIN_DEFAULTS.maxWaitMs). */
  joinMaxWaitMs?: number;
}

export const JOIN_DEFAULTS = {
  /**
   * A director that starts announces its routes once it holds its peers' tables (every transfer done or given up,
   * and redone after its real servers entered the table), or after this long whatever the sync says: a transfer
   * gives up on a dead peer by itself (3 attempts of 2 s idle), this bounds a slow one too.
   */
  maxWaitMs: 30000,
} as const;

/**
 * Whether this director may announce yet (scale-out join): 'waiting' until the sync says synced, then 'joined' for
 * good (a later refetch, when a real server enters the table, never withdraws the routes of a serving director).
 */
export interface JoinView {
  phase: 'waiting' | 'joined';
  /** How the wait ended: every peer's table fetched (or given up), no peer to fetch from, or the deadline. */
  endedBy?: 'synced' | 'no-peers' | 'deadline';
  waitedMs: number;
  maxWaitMs: number;
}

export interface ScaleOutView {
  /** This director's address among sync_peers (the sync socket's), or 0.0.0.0 when none of them is local. */
  self: string;
  peers: string[];
  synced: boolean;
  /** Routes are held until the join ends (docs/ha.md, Scale-out: joining). */
  join: JoinView;
  drain: DrainView;
  sync?: SyncMeshStatus;
}

const now = (): number => performance.now();

/** Forwarded packets and established connections, summed over every service of the data plane. */
export function trafficOf(dp: DataPlane): { packets: number; activeConns: number } {
  let packets = 0;
  let activeConns = 0;
  for (const s of dp.stats().services) {
    packets += s.inPkts;
    for (const d of s.dests) activeConns += d.activeConns;
  }
  return { packets, activeConns };
}

export class ScaleOutNode extends EventEmitter {
  private cfg: LvsConfig;
  private readonly log: Logger;
  private mesh?: SyncMesh;
  private self = '0.0.0.0';
  private peers: string[] = [];
  private started = false;
  private readonly drain: DrainTracker;
  private drainTimer?: NodeJS.Timeout;
  private announcing: Promise<void> = Promise.resolve();
  /** Real servers in the data plane's table at the last sample, and whether the peers' tables must be fetched again. */
  private dests = new Set<string>();
  private refetch = false;
  private netlink?: NetlinkIo;
  private joinStartMs = 0;
  private join: JoinView;

  constructor(private readonly opts: ScaleOutNodeOptions) {
    super();
    this.cfg = opts.config;
    this.log = opts.logger;
    this.drain = new DrainTracker(opts.drainQuietMs ?? DRAIN_DEFAULTS.quietMs);
    this.join = { phase: 'waiting', waitedMs: 0, maxWaitMs: opts.joinMaxWaitMs ?? JOIN_DEFAULTS.maxWaitMs };
  }

  async start(): Promise<void> {
    if (this.started) throw new DirectordError('E_HA_STARTED', 'scale-out node already started');
    this.started = true;
    this.joinStartMs = now();
    this.join = { phase: 'waiting', waitedMs: 0, maxWaitMs: this.join.maxWaitMs };
    try {
      await this.openMesh();
      await this.opts.hooks.onActivate();
    } catch (e) {
      this.started = false;
      this.mesh?.close();
      this.netlink?.close();
      throw e;
    }
    runDetached(this.cfg.global.activeCmd, 'active_cmd', this.log);
    this.log.info({ self: this.self, peers: this.peers }, 'scale-out mode: forwarding what is routed here (no VIP address, no gratuitous ARP)');
    this.drainTimer = setInterval(() => this.sample(), this.opts.drainSampleMs ?? 1000);
    this.drainTimer.unref();
    this.watchJoin();
  }

  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    if (this.drainTimer) clearInterval(this.drainTimer);
    this.withdraw('stopping');
    await this.announcing;
    this.mesh?.close();
    this.netlink?.close();
    await this.opts.hooks.onDeactivate();
    runDetached(this.cfg.global.inactiveCmd, 'inactive_cmd', this.log);
  }

  async reconfigure(cfg: LvsConfig): Promise<void> {
    const old = this.cfg.global;
    this.cfg = cfg;
    if (!this.started) return;
    const g = cfg.global;
    if (old.syncPort !== g.syncPort || JSON.stringify(old.syncPeers) !== JSON.stringify(g.syncPeers)) {
      this.mesh?.close();
      this.mesh = undefined;
      await this.openMesh();
      this.log.info({ peers: this.peers, port: g.syncPort }, 'scale-out sync reopened after reconfiguration');
    } else if (old.heartbeatKeyFile !== g.heartbeatKeyFile) {
      this.mesh?.setKey(keyOrWarn(g.heartbeatKeyFile, this.log));
    }
  }

  /** The data plane cannot forward: no router may keep sending here (the announcer withdraws; nothing fails over). */
  reportFailure(kind: 'dataplane' | 'checker', detail: string): void {
    this.log.error({ kind, detail }, 'scale-out director cannot forward: withdrawing its routes');
    if (kind === 'dataplane') this.withdraw(`data plane failed: ${detail}`);
  }

  /** Operator: stop attracting new flows (routes withdrawn), keep forwarding, report when nothing arrives any more. */
  beginDrain(opts: { deadlineS?: number } = {}): DrainView {
    this.requireStarted();
    const t = trafficOf(this.opts.dataplane);
    this.drain.begin(now(), Date.now(), t.packets, opts.deadlineS);
    this.log.warn({ deadlineS: opts.deadlineS }, 'draining this director: routes withdrawn, still forwarding what arrives');
    this.withdraw('drain requested');
    return this.drain.view(now());
  }

  endDrain(): DrainView {
    this.requireStarted();
    if (!this.drain.draining) return this.drain.view(now());
    this.drain.end();
    this.log.warn('drain ended: this director takes new flows again');
    if (this.join.phase === 'joined') this.announce('undrain requested');
    return this.drain.view(now());
  }

  view(): ScaleOutView {
    if (this.started) {
      this.watchDests(); // a server that just entered the table makes "synced" false at once
      this.watchJoin();
    }
    return {
      self: this.self, peers: this.peers, synced: this.synced(), join: { ...this.join }, drain: this.drain.view(now()),
      ...(this.mesh ? { sync: this.mesh.status() } : {}),
    };
  }

  private synced(): boolean {
    return !this.refetch && (this.mesh?.synced ?? true);
  }

  /**
   * The join: the router must not send a flow here before this director holds its state, or the flow stalls until a
   * retransmission finds the entry (or for good, if the transfer lost it). Synced counts only once a real server is
   * in the table, since entries for a server not yet there were dropped and are fetched again (watchDests).
   */
  private watchJoin(): void {
    if (this.join.phase === 'joined' || !this.started) return;
    const waited = now() - this.joinStartMs;
    const by = !this.mesh ? 'no-peers' : this.synced() && this.dests.size > 0 ? 'synced' : waited >= this.join.maxWaitMs ? 'deadline' : undefined;
    this.join = { ...this.join, waitedMs: Math.round(waited) };
    if (!by) return;
    this.join = { ...this.join, phase: 'joined', endedBy: by };
    if (by === 'deadline') this.log.error({ waitedMs: this.join.waitedMs, sync: this.mesh?.status().peers.map((p) => ({ peer: p.address, synced: p.synced, transfer: p.transfer })) }, "!!! scale-out join: peers' connection tables not all fetched by the deadline: announcing anyway; flows the router moves here may stall !!!");
    else this.log.info({ waitedMs: this.join.waitedMs, endedBy: by }, "scale-out join: peers' connection tables held; the routes may be announced");
    if (!this.drain.draining) this.announce(by === 'deadline' ? 'join deadline passed: forwarding' : by === 'synced' ? "joined: peers' tables held, forwarding" : 'started: forwarding');
  }

  private sample(): void {
    this.watchDests();
    this.watchJoin();
    const t = trafficOf(this.opts.dataplane);
    const ev: DrainEvent | undefined = this.drain.sample(now(), t.packets, t.activeConns);
    if (!ev) return;
    this.log.warn({ endedBy: ev.endedBy, packets: ev.view.packetsSinceStart }, ev.endedBy === 'idle' ? 'drained: no packet reaches this director any more' : 'drain deadline passed');
    this.emit('drained', ev);
  }

  /**
   * The data plane drops a synced entry whose real server is not in its table (not checked up yet, just added): when
   * a server enters the table, what the peers sent for it may be missing, so their tables are fetched again (paced,
   * once per growth, after any transfer under way).
   */
  private watchDests(): void {
    const now = tableDestKeys(this.opts.dataplane.stats().services);
    if ([...now].some((k) => !this.dests.has(k))) this.refetch = true;
    this.dests = now;
    if (!this.refetch || !this.mesh || this.mesh.transferring) return;
    this.refetch = false;
    this.mesh.requestTables('a real server entered the table: fetch what the peers hold for it');
  }

  private announce(reason: string): void {
    const a = this.opts.announcer;
    if (a) this.announcing = this.announcing.then(() => a.announce(reason)).catch((e) => this.log.error({ err: e, reason }, 'route announcement failed'));
    this.emit('announce', reason);
  }

  private withdraw(reason: string): void {
    const a = this.opts.announcer;
    if (a) this.announcing = this.announcing.then(() => a.withdraw(reason)).catch((e) => this.log.error({ err: e, reason }, 'route withdrawal failed'));
    this.emit('withdraw', reason);
  }

  private async openMesh(): Promise<void> {
    const g = this.cfg.global;
    const listed = g.syncPeers ?? [];
    const local = new Set(await (this.opts.localAddresses ?? (() => this.localAddresses()))());
    const own = listed.filter((a) => local.has(a));
    if (own.length > 1) throw new DirectordError('E_HA_SCALE_OUT_SELF', `sync_peers lists more than one address of this host (${own.join(', ')}): list each director once`);
    this.self = own[0] ?? '0.0.0.0';
    this.peers = listed.filter((a) => !local.has(a));
    if (!this.peers.length) {
      if (listed.length) this.log.warn({ listed }, 'sync_peers names no other director: connection sync off');
      return;
    }
    const key = keyOrWarn(g.heartbeatKeyFile, this.log);
    this.mesh = new SyncMesh({ local: this.self, peers: this.peers, port: g.syncPort, key, dataplane: this.opts.dataplane, log: this.log });
    await this.mesh.open();
  }

  private async localAddresses(): Promise<string[]> {
    this.netlink ??= new NetlinkIo(this.log);
    return (await this.netlink.addresses()).map((a) => a.address);
  }

  private requireStarted(): void {
    if (!this.started) throw new DirectordError('E_HA_NOT_STARTED', 'scale-out node is not running');
  }
}
