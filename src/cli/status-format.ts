// The short block directorctl prints under the ipvsadm table: this node's HA role, the peer, and each real
// server's health with runtime overrides marked as such (pure formatting, fixture-tested).
import type { HaView, ServerHealthView, StatusSnapshot } from '../control/types';
import { renderBgp } from '../bgp/format';

function age(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 120_000) return `${(ms / 1000).toFixed(1)}s`;
  return `${Math.round(ms / 60_000)}m`;
}

function since(iso: string | undefined, now: number): string {
  if (!iso) return '-';
  const t = Date.parse(iso);
  return Number.isFinite(t) ? `${age(Math.max(0, now - t))} ago` : '-';
}

export function renderHa(ha: HaView): string {
  if (!ha.enabled) return `Node: standalone (no HA peer wired), forwarding ${ha.forwarding ? 'on' : 'off'}\n`;
  let out = `Node: ${ha.role}, ${ha.state}, forwarding ${ha.forwarding ? 'on' : 'off'}\n`;
  if (ha.scaleOut) return out + renderScaleOut(ha.scaleOut);
  if (ha.peer) {
    const hb = ha.lastHeartbeatAgeMs === undefined ? 'no heartbeat yet' : `last heartbeat ${age(ha.lastHeartbeatAgeMs)} ago`;
    out += `Peer: ${ha.peer.address} ${ha.peer.state}, ${hb}\n`;
  } else {
    out += 'Peer: none configured\n';
  }
  if (ha.sync && !ha.forwarding) {
    const s = ha.sync;
    out += s.synced
      ? `Sync: connection table synced from the peer${s.phase === 'gave-up' ? ' (GAVE UP: incomplete, see the log)' : ''}\n`
      : `Sync: fetching the peer's connection table (${s.entriesReceived}${s.total === null ? '' : ` of ${s.total}`} entries); takeover and failback wait\n`;
  }
  return out;
}

function renderScaleOut(so: NonNullable<HaView['scaleOut']>): string {
  const peers = so.sync?.peers ?? [];
  let out = peers.length
    ? `Peers: ${peers.map((p) => `${p.address} ${p.synced ? 'synced' : `fetching (${p.transfer.entriesReceived} entries)`}`).join(', ')}\n`
    : 'Peers: none (no connection sync)\n';
  const j = so.join;
  if (j?.phase === 'waiting') out += `Join: routes held until the peers' connection tables are here (${Math.round(j.waitedMs / 1000)} s of at most ${Math.round(j.maxWaitMs / 1000)} s)\n`;
  else if (j?.endedBy === 'deadline') out += "Join: routes announced at the deadline, before every peer's table arrived (see the log)\n";
  const d = so.drain;
  if (d.phase !== 'serving') {
    const idle = d.idleMs === null ? 'no packet since the drain began' : `last packet ${age(d.idleMs)} ago`;
    out += `Drain: ${d.phase}${d.endedBy ? ` (${d.endedBy})` : ''}, ${d.packetRate} packets/s, ${idle}${d.deadline ? `, deadline ${d.deadline}` : ''}\n`;
  }
  return out;
}

function weightCell(h: ServerHealthView): string {
  const w = `${h.effectiveWeight}/${h.configuredWeight}`;
  if (!h.override) return w;
  return h.override.kind === 'drain' ? `${w} (override: drain)` : `${w} (override: weight ${h.override.weight})`;
}

export function renderHealth(rows: readonly ServerHealthView[], now: number): string {
  if (rows.length === 0) return 'Real servers: none configured\n';
  const table = rows.map((h) => [
    `${h.virtual}/${h.server}`,
    `${h.address}:${h.port}`,
    h.state,
    weightCell(h),
    since(h.lastCheck, now),
    [h.reason, h.unavailable ? `data plane: ${h.unavailable}` : undefined].filter(Boolean).join('; '),
  ]);
  const head = ['SERVER', 'ADDRESS', 'HEALTH', 'WEIGHT', 'LAST CHECK', 'REASON'];
  const widths = head.map((_, i) => Math.max(head[i].length, ...table.map((r) => r[i].length)));
  const line = (r: string[]): string =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd() + '\n';
  return 'Real servers:\n' + [head, ...table].map((r) => '  ' + line(r)).join('');
}

/** Everything after the ipvsadm table in `directorctl status`. */
export function renderStatusBlock(s: StatusSnapshot, now: number): string {
  let out = '\n' + renderHa(s.ha);
  const missing = Object.entries(s.subsystems)
    .filter(([, v]) => !v)
    .map(([k]) => k);
  if (missing.length) out += `Not wired in this build: ${missing.join(', ')}\n`;
  if (s.reload.lastResult === 'failure' && s.reload.lastError) {
    out += `Last reload FAILED (${s.reload.lastError.code}): ${s.reload.lastError.message}; running configuration kept\n`;
  }
  out += renderBgp(s.bgp);
  out += renderWriters(s.writers ?? []);
  out += renderHealth(s.health, now);
  return out;
}

/** "writer sql1 since 12:01:03; sql2 standby, caught up: gtid …, lag 0" — one line per writer-mode virtual. */
export function renderWriters(writers: NonNullable<StatusSnapshot['writers']>): string {
  let out = '';
  for (const w of writers) {
    const at = w.sinceIso ? ` since ${w.sinceIso.slice(11, 19)}` : '';
    const head = w.writerName
      ? `writer ${w.writerName}${at}${w.servers.find((s) => s.name === w.writerName)?.role === 'writer' ? '' : ' (DOWN: no server takes writes)'}`
      : 'no writer (no server takes writes)';
    const origin = !w.decidedBy || w.decidedBy === 'self' ? ''
      : w.following ? ` (decided by ${w.decidedBy}, synced ${((w.syncedAgoMs ?? 0) / 1000).toFixed(1)} s ago)`
        : ` (decided by ${w.decidedBy}, kept when this director took over)`;
    const others = w.servers.filter((s) => s.name !== w.writerName).map((s) => {
      const lag = s.lag === null ? '' : `, lag ${s.lag}`;
      return `${s.name} ${s.role}, ${s.why}${lag}${s.writable ? ', WRITABLE (read_only = 0) while not the writer' : ''}`;
    });
    out += `Writer (${w.virtual}): ${[head + origin, ...others].join('; ')}; ${w.switches} switch${w.switches === 1 ? '' : 'es'}; ${w.reason}\n`;
  }
  return out;
}
