// What a killed or crashed directord can leave on the host, removed: its VIPs, the nftables ingress drop table and
// the XDP program. Run by `directord --cleanup` (the unit's ExecStopPost), and by the daemon itself at start, also
// when the configuration does not validate. Idempotent; without a valid lvs.cf it still does what it can.
import { readdirSync, rmSync } from 'node:fs';
import type { LvsConfig } from '../config/schema';
import { deviceVlan } from '../config/values';
import { DirectordError, isDirectordError } from '../errors';
import type { Logger } from '../log';
import { NFT_TABLE, removeIngressDrop } from '../dataplane/ingress-drop';
import { loadXdp, type XdpBinding } from '../dataplane/native';
import { NetlinkIo } from '../ha/netlink-io';
import { readVipState, vipSpecsOf } from '../ha/vip-manager';
import { probeSocket } from '../control/socket-path';
import { spawnUnprivileged } from '../util/child';
import { withDeadline } from '../util/deadline';
import type { ConfigSubsystem } from './subsystems';
import { withdrawAll, type WithdrawResult } from '../bgp';

export interface CleanupOptions {
  configFile: string;
  /** The control socket: a daemon answering on it means there is nothing to clean (and nothing may be touched). */
  socket: string;
  /** The VIP state file (vipStateFileFor(socket)). */
  stateFile: string;
  config: ConfigSubsystem;
  log: Logger;
  /** Already loaded (daemon start); otherwise loaded here, and a failure only narrows what can be cleaned. */
  cfg?: LvsConfig;
  /** The data-plane interface (--interface); default: the config's, else every interface (XDP only). */
  iface?: string;
  /** Skip the live-daemon probe: the caller holds the control socket itself. */
  socketHeld?: boolean;
  /** Run lvs.cf's inactive_cmd (waited for, at most inactiveCmdTimeoutMs). */
  runInactiveCmd: boolean;
  inactiveCmdTimeoutMs?: number;
  /** Tests: the AF_XDP binding (default: this build's, when it has one). */
  xdp?: XdpBinding | null;
}

export interface CleanupReport {
  vips: { removed: string[]; absent: string[]; failed: string[] };
  nft: 'removed' | 'failed' | 'no nft';
  xdp: { removed: string[]; failed: string[]; skipped?: string };
  inactiveCmd: 'not configured' | 'skipped' | { code: number | null; signal: string | null } | 'failed';
  /** BGP scale-out: the routes a killed daemon left announced (bgp_peer set). */
  bgp?: WithdrawResult;
  configError?: string;
  /** True when everything that was there is gone. */
  ok: boolean;
}

function interfaces(): string[] {
  try {
    return readdirSync('/sys/class/net');
  } catch {
    return [];
  }
}

function runAndWait(cmd: string, timeoutMs: number, log: Logger): Promise<{ code: number | null; signal: string | null } | 'failed'> {
  const argv = cmd.split(' ').filter(Boolean);
  return new Promise((resolve) => {
    const child = spawnUnprivileged(argv, { stdio: 'ignore' }, log);
    const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (e) => {
      clearTimeout(t);
      log.error({ err: e, cmd }, 'inactive_cmd could not be started');
      resolve('failed');
    });
    child.on('exit', (code, signal) => {
      clearTimeout(t);
      resolve({ code, signal });
    });
  });
}

export async function cleanupHost(o: CleanupOptions): Promise<CleanupReport> {
  const log = o.log;
  if (!o.socketHeld && (await probeSocket(o.socket)) === 'alive') {
    throw new DirectordError('E_CLEANUP_RUNNING', `a directord answers on ${o.socket}: not cleaning up under a running daemon (stop it first)`, { details: { socket: o.socket } });
  }
  const report: CleanupReport = { vips: { removed: [], absent: [], failed: [] }, nft: 'removed', xdp: { removed: [], failed: [] }, inactiveCmd: 'not configured', ok: true };
  let cfg = o.cfg;
  if (!cfg) {
    try {
      cfg = o.config.load(o.configFile);
    } catch (e) {
      report.configError = isDirectordError(e) ? e.format() : String(e);
      log.warn({ file: o.configFile, error: report.configError }, 'cleanup without a valid configuration: VIPs from the state file only, XDP on every interface');
    }
  }

  // VIPs first: a VIP left up attracts the clients' traffic to a director that no longer forwards.
  const recorded = readVipState(o.stateFile);
  const managed = cfg && cfg.global.primary !== undefined ? vipSpecsOf(cfg) : []; // standalone: VIPs are not ours
  const addresses = [...new Set([...recorded, ...managed].map((v) => v.address))];
  if (addresses.length) {
    const io = new NetlinkIo(log);
    try {
      for (const a of addresses) {
        try {
          const r = await io.removeVip(a);
          report.vips[r === 'removed' ? 'removed' : 'absent'].push(a);
          if (r === 'removed') log.warn({ vip: a }, 'cleanup: VIP removed');
        } catch (e) {
          report.vips.failed.push(a);
          log.error({ err: e, vip: a }, 'cleanup: cannot remove VIP');
        }
      }
    } finally {
      io.close();
    }
  }
  if (report.vips.failed.length === 0) rmSync(o.stateFile, { force: true });
  // As a VIP left up: a route left announced draws the router's flows to a director that no longer forwards.
  report.bgp = await withdrawAll(cfg, o.configFile, log);

  try {
    await removeIngressDrop();
  } catch (e) {
    // Without nft there can be no table (the daemon installs it with nft).
    report.nft = /ENOENT/.test(String((e as DirectordError).cause ?? e)) ? 'no nft' : 'failed';
    if (report.nft === 'failed') log.error({ err: e, table: NFT_TABLE }, 'cleanup: cannot remove the nftables table');
  }

  let xdp = o.xdp;
  if (xdp === undefined) {
    try {
      xdp = loadXdp();
    } catch (e) {
      xdp = null;
      report.xdp.skipped = (e as Error).message;
    }
  }
  if (xdp) {
    const dev = cfg?.virtuals.find((v) => v.active)?.device;
    const dv = dev ? deviceVlan(dev) : undefined;
    const own = o.iface ?? (dv && 'parent' in dv ? dv.parent : undefined);
    for (const ifname of own ? [own] : interfaces()) {
      try {
        if (xdp.xdpRemoveStale(ifname)) {
          report.xdp.removed.push(ifname);
          log.warn({ interface: ifname }, 'cleanup: directord XDP program detached');
        }
      } catch (e) {
        // Another program (not directord's) is not ours to remove; a missing interface has nothing attached.
        const msg = (e as Error).message;
        if (!/another XDP program|No such device|ENODEV/.test(msg)) {
          report.xdp.failed.push(ifname);
          log.error({ interface: ifname, error: msg }, 'cleanup: cannot detach the XDP program');
        }
      }
    }
  }

  const cmd = cfg?.global.primary !== undefined ? cfg?.global.inactiveCmd : undefined;
  if (cmd && !o.runInactiveCmd) report.inactiveCmd = 'skipped';
  else if (cmd) {
    log.info({ cmd }, 'cleanup: running inactive_cmd');
    report.inactiveCmd = await withDeadline(runAndWait(cmd, o.inactiveCmdTimeoutMs ?? 10_000, log), (o.inactiveCmdTimeoutMs ?? 10_000) + 1000, 'inactive_cmd').catch(() => 'failed' as const);
  }
  report.ok = report.vips.failed.length === 0 && report.nft !== 'failed' && report.xdp.failed.length === 0 && report.inactiveCmd !== 'failed' && report.bgp !== 'failed';
  return report;
}
