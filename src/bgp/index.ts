// The BGP subsystem (scale-out behind ECMP): built from lvs.cf's bgp_* keys, BIRD 2 behind the Announcer seam.
import { subsystemLogger, type Logger } from '../log';
import type { LvsConfig } from '../config/schema';
import type { StatusSnapshot } from '../control/types';
import { BirdAnnouncer } from './announcer';
import { BgpSpeaker } from './speaker';
import { bgpSettings } from './settings';

export { BgpSpeaker } from './speaker';
export { BirdAnnouncer, type Announcer } from './announcer';
export { bgpSettings, type BgpSettings } from './settings';

export interface BgpDirector {
  readonly config: LvsConfig;
  status(opts: { connections: boolean; connectionLimit: number }): StatusSnapshot;
}

/**
 * The speaker for this configuration, or undefined when lvs.cf has no bgp_peer. A reload that removes bgp_peer
 * withdraws every VIP (the sessions stay, since bird.conf still includes the file); adding it needs a restart.
 */
export function buildBgp(root: Logger, director: BgpDirector, configFile: string, draining?: () => boolean): BgpSpeaker | undefined {
  const first = bgpSettings(director.config.global);
  if (!first) return undefined;
  const announcer = new BirdAnnouncer({ settings: first, source: configFile });
  let removed = false;
  return new BgpSpeaker({
    announcer, logger: subsystemLogger(root, 'bgp'),
    snapshot: () => director.status({ connections: false, connectionLimit: 0 }),
    draining: () => removed || (draining?.() ?? false),
    config: () => director.config,
    onConfig: (cfg) => {
      const s = bgpSettings(cfg.global);
      removed = !s;
      if (s) announcer.setSettings(s);
    },
  });
}

/** The director's status with the BGP view added: what directorctl and /metrics read. */
export function withBgpStatus<T extends { status(o: { connections: boolean; connectionLimit: number }): StatusSnapshot }>(d: T, bgp: BgpSpeaker | undefined): (o: { connections: boolean; connectionLimit: number }) => StatusSnapshot {
  return (o) => (bgp ? { ...d.status(o), bgp: bgp.status() } : d.status(o));
}
