// Validation of the bgp_* keys, reported through the config checker's own error/warn (file:line of the key).
import type { GlobalConfig } from '../config/schema';
import { inetAton, shown } from '../config/values';
import { parseAsn, splitPeers, type BgpKeys } from './settings';

export type Report = (kind: 'error' | 'warn', code: string, message: string, key: string) => void;

const KEY_OF: Record<keyof BgpKeys, string> = {
  localAs: 'bgp_local_as', peer: 'bgp_peer', peerAs: 'bgp_peer_as', bfd: 'bgp_bfd', bfdInterval: 'bgp_bfd_interval',
  bfdMultiplier: 'bgp_bfd_multiplier', holdTime: 'bgp_hold_time', includeFile: 'bgp_include_file', birdcSocket: 'bgp_birdc_socket',
};

export function checkBgp(g: GlobalConfig, report: Report): void {
  const b = g.bgp;
  if (!b) return;
  if (!b.peer) {
    const first = (Object.keys(b) as (keyof BgpKeys)[])[0];
    report('warn', 'W_CONFIG_NO_EFFECT', `${KEY_OF[first]} has no effect without bgp_peer (BGP is off)`, KEY_OF[first]);
    return;
  }
  const peers = splitPeers(b.peer);
  const seen = new Set<string>();
  for (const p of peers) {
    if (inetAton(p) !== p || p === '0.0.0.0' || p === '255.255.255.255') report('error', 'E_CONFIG_BAD_ADDRESS', `bgp_peer: '${shown(p)}' is not a usable IPv4 address`, 'bgp_peer');
    else if (seen.has(p)) report('error', 'E_CONFIG_BAD_ADDRESS', `bgp_peer: ${p} is listed twice`, 'bgp_peer');
    seen.add(p);
  }
  for (const [prop, what] of [['localAs', 'this director'], ['peerAs', 'the router(s) of bgp_peer']] as const) {
    const key = KEY_OF[prop];
    if (b[prop] === undefined) report('error', 'E_CONFIG_BGP_INCOMPLETE', `bgp_peer is set but ${key} is not: the AS number of ${what} is required`, 'bgp_peer');
    else if (parseAsn(b[prop]) === undefined) report('error', 'E_CONFIG_BAD_ASN', `${key} = ${shown(b[prop]!)} is not an AS number (1..4294967295, plain decimal)`, key);
  }
  if (b.bfdInterval !== undefined && !(b.bfdInterval >= 0.01 && b.bfdInterval <= 60)) {
    report('error', 'E_CONFIG_OUT_OF_RANGE', `bgp_bfd_interval = ${b.bfdInterval} is out of range (0.01..60 seconds)`, 'bgp_bfd_interval');
  }
  if (b.bfdMultiplier !== undefined && !(b.bfdMultiplier >= 1 && b.bfdMultiplier <= 255)) {
    report('error', 'E_CONFIG_OUT_OF_RANGE', `bgp_bfd_multiplier = ${b.bfdMultiplier} is out of range (1..255)`, 'bgp_bfd_multiplier');
  }
  if (!b.bfd && (b.bfdInterval !== undefined || b.bfdMultiplier !== undefined)) {
    report('warn', 'W_CONFIG_NO_EFFECT', `BFD timings have no effect without bgp_bfd = 1`, b.bfdInterval !== undefined ? 'bgp_bfd_interval' : 'bgp_bfd_multiplier');
  }
  // RFC 4271: 0 (here: BIRD's default) or at least 3 seconds.
  if (b.holdTime !== undefined && !(b.holdTime === 0 || (b.holdTime >= 3 && b.holdTime <= 65535))) {
    report('error', 'E_CONFIG_OUT_OF_RANGE', `bgp_hold_time = ${b.holdTime} must be 0 (BIRD's default) or 3..65535 seconds`, 'bgp_hold_time');
  }
  for (const prop of ['includeFile', 'birdcSocket'] as const) {
    const v = b[prop];
    // The file is written by the daemon and read by bird, each from its own working directory: only absolute paths.
    if (v !== undefined && !/^\/[^"\s]*$/.test(v)) report('error', 'E_CONFIG_BAD_PATH', `${KEY_OF[prop]} = ${shown(v)} must be an absolute path without blanks or quotes`, KEY_OF[prop]);
  }
}
