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
}

export interface ScaleOutView {
  /** This director's address among sync_peers (the sync socket's), or 0.0.0.0 when none of them is local. */
  self: string;
  peers: string[];
  synced: boolean;
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

  constructor(private readonly opts: ScaleOutNodeOptions) {
    super();
    this.cfg = opts.config;
    this.log = opts.logger;
    this.drain = new DrainTracker(opts.drainQuietMs ?? DRAIN_DEFAULTS.quietMs);
  }

  async start(): Promise<void> {
    if (this.started) throw new DirectordError('E_HA_STARTED', 'scale-out node already started');
    this.started = true;
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
    this.announce('started: forwarding');
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
    this.announce('undrain requested');
    return this.drain.view(now());
  }

  view(): ScaleOutView {
    if (this.started) this.watchDests(); // a server that just entered the table makes "synced" false at once
    return {
      self: this.self, peers: this.peers, synced: !this.refetch && (this.mesh?.synced ?? true), drain: this.drain.view(now()),
      ...(this.mesh ? { sync: this.mesh.status() } : {}),
    };
  }

  private sample(): void {
    this.watchDests();
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
    const now = new Set<string>();
    for (const s of this.opts.dataplane.stats().services) for (const d of s.dests) now.add(`${s.protocol}:${s.vip}:${s.port}/${d.address}:${d.port}`);
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
