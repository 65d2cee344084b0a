// The bgp_* lvs.cf keys (directord extensions): their table rows, their defaults, and the resolved settings the
// BGP subsystem runs on. Kept here so src/config/keys.ts only splices BGP_KEYS in (one line).
import type { KeyDef } from '../config/keys';
import { nestedKey, type SubObject } from '../config/nested-key';
import type { GlobalConfig } from '../config/schema';

/** What lvs.cf said, unresolved (undefined = not written). Lives in GlobalConfig.bgp. */
export interface BgpKeys {
  localAs?: string;
  peer?: string;
  peerAs?: string;
  bfd?: boolean;
  bfdInterval?: number;
  bfdMultiplier?: number;
  holdTime?: number;
  includeFile?: string;
  birdcSocket?: string;
}

/** Resolved, every default in place: what the BIRD config generator and the speaker consume. */
export interface BgpSettings {
  localAs: number;
  peers: string[];
  peerAs: number;
  bfd: boolean;
  /** Seconds between BFD packets (both directions). */
  bfdInterval: number;
  bfdMultiplier: number;
  /** BGP hold time in seconds; 0 = BIRD's default (240). */
  holdTime: number;
  includeFile: string;
  birdcSocket: string;
}

export const BGP_DEFAULTS = {
  bfd: false,
  bfdInterval: 0.1,
  bfdMultiplier: 3,
  holdTime: 0,
  includeFile: '/var/lib/directord/bird-directord.conf',
  birdcSocket: '/run/bird/bird.ctl',
} as const;

const BGP: SubObject<GlobalConfig, BgpKeys> = { make: (g) => (g.bgp ??= {}), of: (g) => g.bgp };
const bgpField = (name: string, kind: KeyDef['kind'], prop: keyof BgpKeys): KeyDef => nestedKey(BGP, name, 'global', kind, prop);

export const BGP_KEYS: readonly KeyDef[] = [
  bgpField('bgp_local_as', 'string', 'localAs'),
  bgpField('bgp_peer', 'string', 'peer'),
  bgpField('bgp_peer_as', 'string', 'peerAs'),
  bgpField('bgp_bfd', 'bool', 'bfd'),
  bgpField('bgp_bfd_interval', 'decimal', 'bfdInterval'),
  bgpField('bgp_bfd_multiplier', 'int', 'bfdMultiplier'),
  bgpField('bgp_hold_time', 'int', 'holdTime'),
  bgpField('bgp_include_file', 'string', 'includeFile'),
  bgpField('bgp_birdc_socket', 'string', 'birdcSocket'),
];

/** An AS number as BIRD takes it: plain 1..4294967295 (asdot is refused: one spelling in configs and logs). */
export function parseAsn(s: string | undefined): number | undefined {
  if (s === undefined || !/^[0-9]{1,10}$/.test(s)) return undefined;
  const n = Number(s);
  return n >= 1 && n <= 4294967295 ? n : undefined;
}

/** The peers of `bgp_peer`: blank- or comma-separated (quote a list: bgp_peer = "10.0.0.1 10.0.0.2"). */
export function splitPeers(s: string | undefined): string[] {
  return (s ?? '').split(/[\s,]+/).filter(Boolean);
}

/** BGP is on when bgp_peer is written; validation has refused an incomplete or malformed set before this runs. */
export function bgpSettings(g: GlobalConfig): BgpSettings | undefined {
  const b = g.bgp;
  if (!b?.peer) return undefined;
  return {
    localAs: parseAsn(b.localAs) ?? 0,
    peers: splitPeers(b.peer),
    peerAs: parseAsn(b.peerAs) ?? 0,
    bfd: b.bfd ?? BGP_DEFAULTS.bfd,
    bfdInterval: b.bfdInterval ?? BGP_DEFAULTS.bfdInterval,
    bfdMultiplier: b.bfdMultiplier ?? BGP_DEFAULTS.bfdMultiplier,
    holdTime: b.holdTime ?? BGP_DEFAULTS.holdTime,
    includeFile: b.includeFile ?? BGP_DEFAULTS.includeFile,
    birdcSocket: b.birdcSocket ?? BGP_DEFAULTS.birdcSocket,
  };
}

/** What BGP will do, in words (`--check-config`, as explainWriter does for writer mode). */
export function explainBgp(g: GlobalConfig, vips: string[]): string[] {
  const s = bgpSettings(g);
  if (!s) return [];
  const bfd = s.bfd ? `BFD every ${Math.round(s.bfdInterval * 1000)} ms x ${s.bfdMultiplier} (a dead director leaves the router's ECMP set in about ${Math.round(s.bfdInterval * s.bfdMultiplier * 1000)} ms)` : `no BFD: a dead director is noticed by the BGP hold time (${s.holdTime || 240} s)`;
  return [
    `bgp: announces ${vips.map((v) => `${v}/32`).join(', ') || 'no VIP'} to ${s.peers.map((p) => `${p} (AS ${s.peerAs})`).join(', ')} from AS ${s.localAs}, next hop this director; ${bfd}`,
    `  through BIRD: directord writes ${s.includeFile} (bird.conf must \`include "${s.includeFile}";\`) and runs \`birdc -s ${s.birdcSocket} configure\``,
    '  a VIP is announced only while this director forwards and one of its real servers is healthy; withdrawn on stop, on drain-director, and by `directord --cleanup` after a crash',
  ];
}
