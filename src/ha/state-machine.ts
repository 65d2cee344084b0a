// pulse's failover rules as a pure state machine: inputs are events with an injected clock, outputs are actions
// (activate, deactivate, send a heartbeat now, re-announce the VIP). No sockets, no timers, so every rule is a table test.
import type { HaPeerState, HaRole, HeartbeatFlags } from './heartbeat-codec';

export interface HaMachineParams {
  role: HaRole;
  nodeId: string;
  /** pulse's backup_active: without it no heartbeats flow and a lone primary activates after deadtime. */
  backupActive: boolean;
  deadtimeMs: number;
  monitorLinks: boolean;
  /** directord option: a healthy primary takes the service back after failbackHolddownMs (pulse: never). */
  failback: boolean;
  failbackHolddownMs: number;
  /** Why taking the service from a live peer must wait now (our connection table is still being fetched from it), or
   * undefined. Holds failback and the master's activation beside a standby peer (a master restarted within deadtime);
   * the caller calls syncDone() when it ends. Never consulted for deadtime: a dead partner has nothing to give. */
  syncHold?: () => string | undefined;
}

/** What we learned from one authenticated heartbeat. */
export interface PeerHeartbeat {
  nodeId: string;
  role: HaRole;
  state: HaPeerState;
  term: number;
  flags: HeartbeatFlags;
  /** 'pulse': a Piranha partner (4-byte heartbeat: running/stopped only, no term, no flags, the master always wins). */
  protocol?: 'directord' | 'pulse';
}

export type HaAction =
  | { kind: 'activate'; reason: string }
  | { kind: 'deactivate'; reason: string }
  | { kind: 'send-heartbeat'; reason: string }
  | { kind: 'announce'; reason: string }
  | { kind: 'split-brain'; winner: 'self' | 'peer'; reason: string }
  | { kind: 'peer-dead' }
  | { kind: 'peer-alive' };

export interface PeerView {
  nodeId?: string;
  role?: HaRole;
  state?: HaPeerState;
  term: number;
  flags?: HeartbeatFlags;
  lastHeartbeatMs?: number;
  alive: boolean;
}

export class HaStateMachine {
  readonly params: HaMachineParams;
  active = false;
  stopped = false;
  linkFail = false;
  childFail = false;
  /** Operator released the service: do not activate until the peer took it or an operator says takeover. */
  released = false;
  /** Activated by an operator: wins a split brain against a non-manual peer. */
  manual = false;
  term = 0;
  failovers = 0;
  splitBrains = 0;
  readonly peer: PeerView = { term: 0, alive: false };
  private needDeadlineMs = 0;
  /** Failback: since when this primary has been standby, healthy, and seeing an active backup. */
  private failbackEligibleSinceMs?: number;

  constructor(params: HaMachineParams) {
    this.params = params;
  }

  /** Arm the dead timer: even a lone node waits one deadtime before activating (pulse). */
  start(nowMs: number): HaAction[] {
    this.needDeadlineMs = nowMs + this.params.deadtimeMs;
    return [];
  }

  /** When tick() next has something to decide (the caller's timer). */
  nextDeadlineMs(): number {
    return this.failbackEligibleSinceMs !== undefined && !this.params.syncHold?.()
      ? Math.min(this.needDeadlineMs, this.failbackEligibleSinceMs + this.params.failbackHolddownMs)
      : this.needDeadlineMs;
  }

  /** What the next outgoing heartbeat says about us. */
  ownState(): HaPeerState {
    if (this.stopped) return 'stopped';
    if (this.active) return 'active';
    if (this.linkFail || this.childFail) return 'fault';
    return 'standby';
  }

  ownFlags(): HeartbeatFlags {
    return { linkfail: this.linkFail, childfail: this.childFail, yielding: this.released, manual: this.manual && this.active };
  }

  private canActivate(): boolean {
    return !this.stopped && !this.active && !this.linkFail && !this.childFail && !this.released;
  }

  private activate(reason: string, out: HaAction[]): void {
    this.active = true;
    this.term = Math.max(this.term, this.peer.term) + 1;
    this.failovers++;
    this.failbackEligibleSinceMs = undefined;
    out.push({ kind: 'activate', reason }, { kind: 'send-heartbeat', reason: 'state changed' });
  }

  private deactivate(reason: string, out: HaAction[]): void {
    if (!this.active) return;
    this.active = false;
    this.manual = false;
    out.push({ kind: 'deactivate', reason }, { kind: 'send-heartbeat', reason: 'state changed' });
  }

  /** Timer: the peer's silence beyond deadtime, and failback hold-down expiry. */
  tick(nowMs: number): HaAction[] {
    const out: HaAction[] = [];
    if (this.stopped) return out;
    if (nowMs >= this.needDeadlineMs) {
      if (this.peer.alive) {
        this.peer.alive = false;
        out.push({ kind: 'peer-dead' });
      }
      this.failbackEligibleSinceMs = undefined;
      // A released node whose peer died without taking over stays down: the operator asked for that.
      if (this.canActivate()) this.activate(this.params.backupActive ? 'partner dead: activating lvs' : 'no backup configured: activating lvs', out);
      this.needDeadlineMs = nowMs + this.params.deadtimeMs;
    }
    if (this.failbackEligibleSinceMs !== undefined && nowMs - this.failbackEligibleSinceMs >= this.params.failbackHolddownMs && this.canActivate() && !this.params.syncHold?.()) {
      this.activate('failback: primary healthy for the hold-down time', out);
    }
    return out;
  }

  /** One authenticated, non-replayed heartbeat from the peer. */
  heartbeat(nowMs: number, hb: PeerHeartbeat): HaAction[] {
    const out: HaAction[] = [];
    if (this.stopped) return out;
    this.needDeadlineMs = nowMs + this.params.deadtimeMs;
    const heardAgain = !this.peer.alive;
    if (heardAgain) out.push({ kind: 'peer-alive' });
    Object.assign(this.peer, { nodeId: hb.nodeId, role: hb.role, state: hb.state, term: hb.term, flags: hb.flags, lastHeartbeatMs: nowMs, alive: true });

    if (hb.state === 'active') {
      // pulse: a "running" partner clears CHILDFAIL (the service is up somewhere again).
      this.childFail = false;
      this.released = false;
      if (this.active) {
        this.splitBrains++;
        const weWin = this.winsSplitBrain(hb);
        out.push({ kind: 'split-brain', winner: weWin.win ? 'self' : 'peer', reason: weWin.reason });
        if (weWin.win) {
          // keepalived #166: the winner must re-announce, or clients keep the loser's MAC until ARP expiry.
          out.push({ kind: 'announce', reason: `split brain won (${weWin.reason})` }, { kind: 'send-heartbeat', reason: 'tell the loser at once' });
        } else {
          out.push({ kind: 'send-heartbeat', reason: 'split brain lost' });
          this.deactivate(`partner active: deactivating LVS (${weWin.reason})`, out);
        }
      } else {
        this.updateFailback(nowMs, hb);
      }
      return out;
    }

    this.failbackEligibleSinceMs = undefined;
    // After a partition the loser may step down before we ever see it active (it heard us first): no split brain
    // on this side, yet clients may still have its MAC for the VIP. So an active node re-announces whenever the
    // partner is heard again.
    if (this.active && heardAgain) out.push({ kind: 'announce', reason: 'partner heard again' });
    if (!this.canActivate()) return out;
    const peerCannotServe = hb.state === 'stopped' || hb.state === 'fault' || hb.flags.linkfail || hb.flags.childfail || hb.flags.yielding;
    if (peerCannotServe) {
      this.activate(`${hb.role} ${hb.state === 'standby' ? 'yielding' : hb.state}: activating lvs`, out);
    } else if (this.outranks(hb) && !this.params.syncHold?.()) {
      // Both standby and healthy: only the higher-ranked node (the master) activates, so they do not both flap up
      // as pulse 0.8.6 does at a simultaneous start. A master restarted within deadtime waits for the table the
      // standby holds (syncDone() re-evaluates), or it would drop every connection.
      this.activate('backup inactive: activating lvs', out);
    }
    return out;
  }

  /** The connection table is synced (or the transfer gave up): what syncHold held may happen now. */
  syncDone(nowMs: number): HaAction[] {
    const out = this.tick(nowMs);
    const p = this.peer;
    if (!this.active && this.canActivate() && p.alive && p.state === 'standby' && p.role && p.nodeId && p.flags && !p.flags.linkfail && !p.flags.childfail && !p.flags.yielding
      && this.outranks({ role: p.role, nodeId: p.nodeId }) && !this.params.syncHold?.()) {
      this.activate('backup inactive: activating lvs (connection table synced)', out);
    }
    return out;
  }

  /** monitor_links: the NIC holding our primary/backup address went down or came back. */
  link(up: boolean, nowMs: number): HaAction[] {
    const out: HaAction[] = [];
    if (!this.params.monitorLinks || !this.params.backupActive) return out;
    if (!up && !this.linkFail) {
      this.linkFail = true;
      this.failbackEligibleSinceMs = undefined;
      this.deactivate('local link failure: deactivating LVS', out);
      out.push({ kind: 'send-heartbeat', reason: 'link failure' });
    } else if (up && this.linkFail) {
      // pulse: no automatic re-activation; the normal rules apply from here. Unlike pulse, the peer gets a full
      // deadtime to be heard again: its silence while our own link was down says nothing about it.
      this.linkFail = false;
      this.needDeadlineMs = nowMs + this.params.deadtimeMs;
      out.push({ kind: 'send-heartbeat', reason: 'link restored' });
    }
    return out;
  }

  /** The data plane (pulse: lvsd) failed: give the service to the peer. Cleared by a running peer or childRecovered(). */
  childFailed(): HaAction[] {
    const out: HaAction[] = [];
    this.childFail = true;
    this.deactivate('data plane failed: deactivating LVS', out);
    out.push({ kind: 'send-heartbeat', reason: 'child failure' });
    return out;
  }

  childRecovered(): HaAction[] {
    this.childFail = false;
    return [{ kind: 'send-heartbeat', reason: 'child recovered' }];
  }

  /** Operator: become active now, and win a split brain even as backup (pulse --forceactive). */
  takeover(): HaAction[] {
    const out: HaAction[] = [];
    this.released = false;
    if (this.active) {
      this.manual = true;
      out.push({ kind: 'announce', reason: 'manual takeover while active' });
      return out;
    }
    if (this.stopped || this.linkFail || this.childFail) return out;
    this.manual = true;
    this.activate('manual takeover', out);
    return out;
  }

  /** Operator: hand the service to the peer (it sees our 'yielding' flag and activates). */
  release(): HaAction[] {
    const out: HaAction[] = [];
    this.released = true;
    this.failbackEligibleSinceMs = undefined;
    this.deactivate('manual release', out);
    out.push({ kind: 'send-heartbeat', reason: 'released' });
    return out;
  }

  /** SIGTERM: give up the service and tell the peer we are stopped. */
  stop(): HaAction[] {
    const out: HaAction[] = [];
    this.deactivate('terminating', out);
    this.stopped = true;
    out.push({ kind: 'send-heartbeat', reason: 'stopped' });
    return out;
  }

  private updateFailback(nowMs: number, hb: PeerHeartbeat): void {
    const eligible = this.params.failback && this.params.role === 'primary' && hb.role === 'backup' && !hb.flags.manual && this.canActivate();
    if (!eligible) this.failbackEligibleSinceMs = undefined;
    else if (this.failbackEligibleSinceMs === undefined) this.failbackEligibleSinceMs = nowMs;
  }

  /** Deterministic split-brain verdict, computed identically on both sides. */
  private winsSplitBrain(hb: PeerHeartbeat): { win: boolean; reason: string } {
    // pulse's master never yields and its backup always does, whatever our term or a manual takeover says: anything
    // else would leave both active for good.
    if (hb.protocol === 'pulse') return { win: this.params.role === 'primary', reason: 'pulse partner: the master wins' };
    const mineManual = this.manual;
    if (mineManual !== hb.flags.manual) return { win: mineManual, reason: 'manual takeover wins' };
    // Two manual takeovers: the later one (higher term: max(own, peer) + 1 at activation) is the operator's last word.
    if (mineManual && this.term !== hb.term) return { win: this.term > hb.term, reason: 'the later manual takeover wins' };
    if (this.params.role !== hb.role) return { win: this.params.role === 'primary', reason: 'the master wins' };
    if (this.term !== hb.term) return { win: this.term > hb.term, reason: 'higher term wins' };
    return { win: this.params.nodeId < hb.nodeId, reason: 'lower node id wins' };
  }

  /** Standby ranking for a simultaneous start: master first, then (equal roles, a misconfiguration) node id. */
  private outranks(hb: Pick<PeerHeartbeat, 'role' | 'nodeId'>): boolean {
    if (this.params.role !== hb.role) return this.params.role === 'primary';
    return this.params.nodeId < hb.nodeId;
  }
}
