// Adapter from the scale-out node (src/ha/scale-out.ts) to the director's HA interface: same slot as the HaNode, so
// the director, directorctl and /metrics see one HA subsystem whichever mode lvs.cf chose.
import type { Logger } from '../log';
import { subsystemLogger } from '../log';
import type { LvsConfig } from '../config/schema';
import type { DataPlane } from '../dataplane';
import { DirectordError } from '../errors';
import { ScaleOutNode } from '../ha/scale-out';
import type { RouteAnnouncer } from '../ha/drain';
import type { HaFactory } from './subsystems';

/** A reload cannot switch between scale-out and primary/backup: the node, its sockets and the VIP handling differ. */
export function refuseModeChange(before: LvsConfig, after: LvsConfig): void {
  if (!!before.global.scaleOut !== !!after.global.scaleOut) {
    throw new DirectordError('E_CONFIG_SCALE_OUT_RELOAD', `scale_out changed (${before.global.scaleOut ? 1 : 0} -> ${after.global.scaleOut ? 1 : 0}): restart directord to change the mode`);
  }
}

export function buildScaleOut(root: Logger, dataplane: DataPlane, announcer?: RouteAnnouncer): HaFactory {
  return (cfg, hooks) => {
    const node = new ScaleOutNode({
      config: cfg, logger: subsystemLogger(root, 'ha'), dataplane, announcer,
      hooks: { onActivate: async () => void (await hooks.onActivate()), onDeactivate: async () => void (await hooks.onDeactivate()) },
    });
    const refuse = (what: string): never => {
      throw new DirectordError('E_HA_SCALE_OUT', `${what}: no primary/backup in scale-out mode (every director forwards); use drain-director / undrain-director`);
    };
    return {
      start: () => node.start(),
      stop: () => node.stop(),
      reconfigure: (c) => node.reconfigure(c),
      preflight: async (before, after) => refuseModeChange(before, after),
      takeover: () => refuse('takeover'),
      release: () => refuse('release'),
      reportFailure: (kind, detail) => node.reportFailure(kind, detail),
      drainDirector: (opts) => node.beginDrain(opts),
      undrainDirector: () => node.endDrain(),
      scaleOutNode: node,
      status: () => {
        const v = node.view();
        const peersUp = v.sync?.peers.filter((p) => p.synced).length ?? 0;
        return {
          role: 'scale-out', state: v.drain.phase === 'serving' ? 'active' : v.drain.phase, active: true,
          heartbeatsReceived: 0, heartbeatsRejected: {}, failovers: 0,
          ...(v.sync ? { sync: { synced: v.synced, phase: v.synced ? 'synced' : 'transferring', entriesReceived: v.sync.peers.reduce((n, p) => n + p.transfer.entriesReceived, 0), total: null } } : {}),
          scaleOut: { ...v, peersSynced: peersUp },
        };
      },
    };
  };
}
