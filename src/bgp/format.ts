// The BGP lines of `directorctl status` (pure formatting): each session, then each VIP announced or not and why.
import type { BgpView } from '../control/types';

export function renderBgp(b: BgpView | undefined): string {
  if (!b) return '';
  let out = `BGP (${b.speaker}${b.draining ? ', DRAINING: every VIP withdrawn' : ''}):`;
  if (!b.reachable) out += ` speaker not reachable: ${b.error ?? 'unknown'}`;
  out += '\n';
  if (b.applyError) out += `  last push FAILED (${b.applyError.code}): ${b.applyError.message}\n`;
  for (const p of b.peers) {
    const extra = [p.since ? `since ${p.since}` : '', p.exported !== undefined ? `${p.exported} exported` : '', p.bfd ? `BFD ${p.bfd}` : '', p.lastError ? `last error: ${p.lastError}` : ''].filter(Boolean).join(', ');
    out += `  peer ${p.peer} (${p.protocol}): ${p.state}${extra ? `, ${extra}` : ''}\n`;
  }
  for (const v of b.vips) {
    const what = v.announced ? 'announced' : v.wanted ? 'NOT announced (wanted; no session established or speaker behind)' : 'withdrawn';
    out += `  VIP ${v.vip}: ${what} (${v.reason})\n`;
  }
  return out;
}
