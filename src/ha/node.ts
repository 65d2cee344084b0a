// HaNode: pulse's job for directord: heartbeats with the peer director, the failover state machine, the VIP
// (netlink) with gratuitous ARP, link monitoring, active/inactive commands and connection sync.
import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import type { LvsConfig } from '../config/schema';
import type { DataPlane, ServiceSpec } from '../dataplane/types';
import { DirectordError } from '../errors';
import type { Logger } from '../log';
import { runDetached } from './commands';
import { GarpSender } from './garp-sender';
import type { HaRole } from './heartbeat-codec';
import { HeartbeatLink, newBootId, type HeartbeatMeta, type HeartbeatPath } from './heartbeat-io';
import { effectiveBackupActive, garpSettingsOf, heartbeatMoved, heartbeatPaths, identityOf, keyOrWarn, machineTimings, PULSE_PARTNER_WARNING } from './node-config';
import { haStatusOf, type HaHooks, type HaNodeOptions, type HaStatus } from './node-types';
import { NetlinkIo, watchLinkState } from './netlink-io';
import { HaStateMachine, type HaAction, type PeerHeartbeat } from './state-machine';
import { deadPeerFields } from './heartbeat-timing';
import { HeartbeatSchedule } from './heartbeat-schedule';
import { SyncChannel, type WriterSync } from './sync-io';
import { VipManager, vipSpecsOf, type GarpSettings } from './vip-manager';

export type { HaRole } from './heartbeat-codec';
export type { HaHooks, HaNodeOptions, HaStatus } from './node-types';

const now = (): number => performance.now();

export class HaNode extends EventEmitter {
  private cfg: LvsConfig;
  private readonly log: Logger;
  private readonly hooks: HaHooks;
  private readonly dataplane?: DataPlane;
  private readonly writers?: WriterSync;
  private readonly overrides: NonNullable<HaNodeOptions['node']>;
  private readonly netlink: NetlinkIo;
  private readonly garp: GarpSender;
  private readonly vips: VipManager;
  private key?: Buffer;
  private role: HaRole = 'primary';
  private self = '';
  private peerAddress = '';
  private machine?: HaStateMachine;
  private link?: HeartbeatLink;
  private sync?: SyncChannel;
  private readonly sends: HeartbeatSchedule;
  /** For the 'partner dead' log: how late the running dead-peer timer fired. */
  private timerLateMs?: number;
  private chain: Promise<void> = Promise.resolve();
  private started = false;
  /** One per process: heartbeats and sync carry it, so sync trusts only the boot the heartbeats proved. */
  private readonly bootId = newBootId();

  constructor(opts: HaNodeOptions) {
    super();
    this.cfg = opts.config;
    this.log = opts.logger;
    this.sends = new HeartbeatSchedule(this.log, now);
    this.hooks = opts.hooks;
    this.dataplane = opts.dataplane;
    this.writers = opts.writers;
    this.overrides = opts.node ?? {};
    this.garp = new GarpSender(this.log, opts.injector);
    this.netlink = new NetlinkIo(this.log);
    this.vips = new VipManager(this.netlink, this.garp, this.log, { stateFile: opts.vipStateFile });
  }

  async start(): Promise<void> {
    if (this.started) throw new DirectordError('E_HA_STARTED', 'HA node already started');
    const g = this.cfg.global;
    await this.resolveIdentity();
    const backupActive = effectiveBackupActive(g, this.log);
    if (this.role === 'backup' && !backupActive) {
      throw new DirectordError('E_HA_BACKUP_INACTIVE', 'We are backup node and backup is marked inactive (backup_active = 0)');
    }
    this.loadKey();
    this.machine = new HaStateMachine({
      role: this.role,
      nodeId: this.self,
      backupActive,
      ...machineTimings(g),
      syncHold: () => this.syncHold(),
    });
    this.log.info({ role: this.role, self: this.self, peer: this.peerAddress, keepalive: g.keepalive, deadtime: g.deadtime }, `STARTING PULSE AS ${this.role === 'primary' ? 'MASTER' : 'BACKUP'}`);
    this.started = true;
    try {
      // Crash recovery: a VIP left behind by a killed directord must not stay up on a node that does not forward.
      await this.vips.removeStale(vipSpecsOf(this.cfg));
      runDetached(g.inactiveCmd, 'inactive_cmd', this.log);
      if (backupActive) {
        this.link = this.newLink();
        await this.link.open();
        if (g.syncdaemon) {
          if (this.dataplane) {
            const proveBoot = (b: bigint): boolean => this.link?.guard.knows(b) ?? false;
            this.sync = new SyncChannel({
              local: this.self, peer: this.peerAddress, port: g.syncPort, key: this.key, dataplane: this.dataplane, log: this.log,
              bootId: this.bootId, proveBoot, writers: this.writers, checksSettled: this.hooks.checksSettled,
              onSynced: () => this.machine && this.apply(this.machine.syncDone(now())), // a held activation may go now
            });
            await this.sync.open();
          } else this.log.warn('syncdaemon = 1 but no data plane was given: connection sync disabled');
        }
      }
      if (g.monitorLinks && backupActive) await this.startLinkMonitor();
    } catch (e) {
      // Leave nothing bound behind: the daemon reports the error and exits or retries.
      this.started = false;
      this.link?.close();
      this.sync?.close();
      this.vips.close();
      this.netlink.close();
      throw e;
    }
    this.apply(this.machine.start(now()));
    this.restartSendTimer();
    this.sendHeartbeat(); // at once: the peer answers with our boot id echoed, so its heartbeats count within a round trip
    this.armDeadTimer();
    this.emitState();
  }

  /** SIGTERM: give up the VIP, tell the peer we stopped, close everything. */
  async stop(): Promise<void> {
    if (!this.started || !this.machine) return;
    this.apply(this.machine.stop());
    await this.chain;
    this.sendHeartbeat(); // once more, in case the first 'stopped' was lost
    await this.link?.flush(); // closing the socket at once would drop what is still queued
    this.started = false;
    this.sends.stop(true);
    this.link?.close();
    this.sync?.close();
    this.vips.close();
    this.netlink.close();
    this.emitState();
  }

  /**
   * Operator: become active (wins a split brain, like pulse --forceactive). Refused (E_HA_NOT_SYNCED) while the
   * connection table is still being fetched from a live peer, unless forced: taking the VIP with an empty table
   * would reset every connection the peer holds.
   */
  takeover(opts: { force?: boolean } = {}): void {
    this.requireStarted();
    const hold = this.syncHold();
    if (hold && !opts.force) {
      throw new DirectordError('E_HA_NOT_SYNCED', `takeover refused: ${hold}; wait for "connection table synced" in the log (bounded), or force it (connections the peer holds may be reset)`, {
        details: { transfer: this.sync?.status().transfer },
      });
    }
    if (hold) this.log.warn({ hold }, 'forced takeover before the connection table is synced');
    this.apply(this.machine!.takeover());
  }

  /** Why activating now (failback, takeover) would lose connections the live peer holds, or undefined. */
  private syncHold(): string | undefined {
    if (!this.sync || this.sync.synced || !this.machine?.peer.alive || this.machine.active) return undefined;
    if (this.link?.protocol.mode === 'pulse') return undefined; // pulse keeps no table to fetch
    return this.sync.waitReason();
  }

  /** Operator: hand the service to the peer. */
  release(): void {
    this.requireStarted();
    this.apply(this.machine!.release());
  }

  /**
   * Failures below us. 'dataplane' (pulse: lvsd died) always fails over; 'checker' (pulse: a nanny died) fails over
   * only with hard_shutdown = 1, otherwise it is logged as "manual action needed!".
   */
  /** The policy table was replaced or a check reported: a waiting table fetch may go, or a dropped one be redone. */
  tableChanged(services: readonly ServiceSpec[]): void {
    this.sync?.tableChanged(services);
  }

  reportFailure(kind: 'dataplane' | 'checker', detail: string): void {
    this.requireStarted();
    if (kind === 'checker' && !this.cfg.global.hardShutdown) {
      this.log.error({ detail }, 'monitor died! manual action needed!');
      return;
    }
    this.log.error({ kind, detail }, kind === 'dataplane' ? 'data plane failed' : 'monitor died! shutting down lvs');
    this.apply(this.machine!.childFailed());
  }

  /** The failed data plane works again; the node becomes eligible (pulse: only a running peer clears it). */
  reportRecovered(): void {
    this.requireStarted();
    this.apply(this.machine!.childRecovered());
  }

  /** New configuration: timings, GARP settings, commands and VIPs apply at once; addresses/ports reopen sockets. */
  async reconfigure(cfg: LvsConfig): Promise<void> {
    const old = this.cfg;
    this.cfg = cfg;
    if (!this.started || !this.machine) return;
    const g = cfg.global;
    this.loadKey();
    this.sync?.setKey(this.key);
    Object.assign(this.machine.params, machineTimings(g));
    const og = old.global;
    const moved = heartbeatMoved(og, g);
    if (moved || og.heartbeatKeyFile !== g.heartbeatKeyFile) {
      if (moved) {
        await this.resolveIdentity();
        Object.assign(this.machine.params, { role: this.role, nodeId: this.self });
      }
      this.link?.close();
      if (this.link) {
        this.link = this.newLink();
        await this.link.open();
      }
      this.log.info({ self: this.self, peer: this.peerAddress }, 'heartbeat channel reopened after reconfiguration');
    }
    this.link?.setDeadtime(g.deadtime * 1000);
    this.restartSendTimer();
    this.armDeadTimer();
    if (this.machine.active) this.enqueue(() => this.vips.hold(vipSpecsOf(this.cfg), this.garpSettings(), 'reconfiguration'));
    this.log.info({ keepalive: g.keepalive, deadtime: g.deadtime }, 'HA reconfigured');
  }

  status(): HaStatus {
    return haStatusOf({
      role: this.role, peerAddress: this.peerAddress, authenticated: !!this.key, machine: this.machine, link: this.link,
      vipHeld: this.vips.heldAddresses(), garpsSent: this.garp.sent, sync: this.sync?.status(), nowMs: now(),
    });
  }

  // --- internals -------------------------------------------------------------------------------------------------

  private newLink(): HeartbeatLink {
    const g = this.cfg.global;
    const peerRole: HaRole = this.role === 'primary' ? 'backup' : 'primary';
    const opts = { paths: this.paths(), port: g.heartbeatPort, key: this.key, nodeId: this.self, log: this.log, deadtimeMs: g.deadtime * 1000, peerRole, bootId: this.bootId };
    return new HeartbeatLink(opts, this.onHeartbeat, () => this.sendHeartbeat());
  }

  private readonly onHeartbeat = (hb: PeerHeartbeat, meta: HeartbeatMeta): void => {
    if (!this.machine) return;
    const { from, restarted } = meta;
    if (restarted) this.log.info({ from, node: hb.nodeId }, 'peer restarted');
    if (meta.newPulseSession) {
      this.log.warn({ from, security: 'unauthenticated', protocol: 'pulse', sessions: this.link?.protocol.pulseSessions }, PULSE_PARTNER_WARNING);
    }
    const before = `${this.machine.peer.state}|${this.link?.protocol.mode}`;
    // Our table missed what happened while the partner was unheard (or we just started): ask for it before the
    // machine decides, so syncHold holds a failback or a master's activation until it is here. pulse has no table.
    if (!this.machine.peer.alive && this.link?.protocol.mode !== 'pulse') {
      this.sync?.requestTable(this.machine.active ? 'partner heard again while active: merge its table' : 'partner heard');
    }
    this.apply(this.machine.heartbeat(now(), hb));
    if (before !== `${hb.state}|${this.link?.protocol.mode}`) this.emitState();
  };

  private requireStarted(): void {
    if (!this.started || !this.machine) throw new DirectordError('E_HA_NOT_STARTED', 'HA node is not running');
  }

  private loadKey(): void {
    this.key = keyOrWarn(this.cfg.global.heartbeatKeyFile, this.log);
  }

  private async resolveIdentity(): Promise<void> {
    const o = this.overrides;
    const local = o.role ? [] : (await this.netlink.addresses()).map((a) => a.address);
    ({ role: this.role, self: this.self, peer: this.peerAddress } = identityOf(this.cfg.global, o, local));
  }

  private paths(): HeartbeatPath[] {
    return heartbeatPaths(this.cfg.global, this.role, this.self, this.peerAddress, this.overrides);
  }
  private sendHeartbeat(): void {
    const m = this.machine;
    if (!m || !this.link) return;
    this.sends.noteSend(this.cfg.global.keepalive * 1000, m.ownState() === 'stopped');
    this.link.send({ role: this.role, state: m.ownState(), flags: m.ownFlags(), priority: this.role === 'primary' ? 200 : 100, term: m.term });
  }

  private restartSendTimer(): void {
    if (this.link) this.sends.restart(this.cfg.global.keepalive * 1000, () => this.sendHeartbeat());
    else this.sends.stop();
  }

  private armDeadTimer(): void {
    if (!this.started || !this.machine) return this.sends.clearDeadline();
    this.sends.armDeadline(Math.max(1, Math.ceil(this.machine.nextDeadlineMs() - now())), (lateMs) => {
      if (!this.started || !this.machine) return;
      this.timerLateMs = lateMs;
      this.apply(this.machine.tick(now()));
      this.timerLateMs = undefined;
      if (!this.machine.peer.alive) this.emitState();
    });
  }

  private apply(actions: HaAction[]): void {
    // A heartbeat that tells the peer we gave up (stopped, released, fault) goes out after our VIP is down, or the
    // peer takes the VIP while we still hold it.
    const afterDeactivation = actions.some((a) => a.kind === 'deactivate');
    for (const a of actions) {
      switch (a.kind) {
        case 'activate':
          this.log.warn({ reason: a.reason, term: this.machine!.term }, a.reason);
          this.enqueue(() => this.activate(a.reason));
          break;
        case 'deactivate':
          this.log.warn({ reason: a.reason }, a.reason);
          this.enqueue(() => this.deactivate(a.reason));
          break;
        case 'send-heartbeat':
          if (afterDeactivation) this.enqueue(async () => this.sendHeartbeat());
          else this.sendHeartbeat();
          break;
        case 'announce':
          this.log.warn({ reason: a.reason }, 'partner active: resending arps');
          this.enqueue(async () => {
            if (!this.machine?.active) return;
            this.vips.announce(this.garpSettings(), a.reason);
            runDetached(this.cfg.global.activeCmd, 'active_cmd', this.log);
          });
          break;
        case 'split-brain':
          this.log.error({ winner: a.winner, reason: a.reason, peer: this.peerAddress }, 'split brain: both directors active');
          // The peer served connections we never saw (we were paused or cut off): merge its table before they reach us.
          if (a.winner === 'self') this.sync?.requestTable('split brain won: merge the peer\'s table');
          this.emit('split-brain', { winner: a.winner, reason: a.reason });
          break;
        case 'peer-dead':
          this.log.warn({ peer: this.peerAddress, ...deadPeerFields({
            nowMs: now(), lastAcceptedMs: this.machine!.peer.lastHeartbeatMs, deadtimeMs: this.cfg.global.deadtime * 1000,
            timerLateMs: this.timerLateMs, rejectedSince: this.link?.sinceAccepted.rejected ?? {},
          }) }, 'partner dead');
          this.sync?.peerLost();
          break;
        case 'peer-alive':
          this.log.info({ peer: this.peerAddress }, 'partner heartbeats received');
          break;
      }
    }
    this.armDeadTimer();
  }

  private enqueue(step: () => Promise<void>): void {
    this.chain = this.chain.then(step).catch((e) => this.log.error({ err: e }, 'HA transition step failed'));
  }

  private garpSettings(): GarpSettings {
    return garpSettingsOf(this.cfg.global);
  }

  private async activate(reason: string): Promise<void> {
    if (!this.machine?.active) return; // superseded by a later deactivation
    try {
      await this.hooks.onActivate();
    } catch (e) {
      this.log.error({ err: e }, 'activation hook failed: the data plane cannot forward');
      this.apply(this.machine.childFailed());
      return;
    }
    try {
      await this.vips.hold(vipSpecsOf(this.cfg), this.garpSettings(), reason);
    } catch (e) {
      this.log.error({ err: e }, 'cannot bring up the VIPs');
      this.apply(this.machine.childFailed());
      return;
    }
    runDetached(this.cfg.global.activeCmd, 'active_cmd', this.log);
    this.sync?.setSending(true);
    this.sync?.sendFullTable();
    this.emitState();
  }

  private async deactivate(_reason: string): Promise<void> {
    if (this.machine?.active) return; // superseded by a later activation
    this.sync?.setSending(false);
    await this.vips.releaseAll();
    try {
      await this.hooks.onDeactivate();
    } catch (e) {
      this.log.error({ err: e }, 'deactivation hook failed');
    }
    runDetached(this.cfg.global.inactiveCmd, 'inactive_cmd', this.log);
    this.emitState();
  }

  private async startLinkMonitor(): Promise<void> {
    await watchLinkState(this.netlink, this.paths().map((p) => p.local), this.log, (allUp) => {
      this.apply(this.machine!.link(allUp, now()));
      this.emitState();
    });
  }

  private lastEmitted = '';
  private emitState(): void {
    const s = this.status();
    const sig = `${s.state}|${s.peer.state}|${s.peer.alive}|${s.vipHeld.join(',')}|${s.stopped}`;
    if (sig === this.lastEmitted) return;
    this.lastEmitted = sig;
    this.emit('state', s);
  }
}
