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

export type WithdrawResult = 'not configured' | 'withdrawn' | 'bird not running' | 'failed';

/**
 * What a killed directord left announced, withdrawn: the include rewritten with no VIP and bird reconfigured
 * (`directord --cleanup`, the unit's ExecStopPost). A bird that does not run announces nothing: not a failure.
 */
export async function withdrawAll(cfg: LvsConfig | undefined, configFile: string, log: Logger): Promise<WithdrawResult> {
  const s = cfg && bgpSettings(cfg.global);
  if (!s) return 'not configured';
  try {
    await new BirdAnnouncer({ settings: s, source: configFile }).flush();
    log.warn({ include: s.includeFile }, 'cleanup: BGP announcements withdrawn');
    return 'withdrawn';
  } catch (e) {
    if ((e as { code?: string }).code === 'E_BGP_UNREACHABLE') return 'bird not running';
    log.error({ err: e, include: s.includeFile }, 'cleanup: cannot withdraw the BGP announcements');
    return 'failed';
  }
}
