// Readers for birdc's text answers (BIRD 2.0): `show protocols all`, `show route`, `show bfd sessions`.
// Pure and lenient: unknown lines are skipped, a missing field stays undefined; never throws on odd input.

export interface ProtocolInfo {
  name: string;
  proto: string;
  table: string;
  /** BIRD's protocol state: up, start, down, flush… */
  state: string;
  since: string;
  info: string;
  /** BGP only: Idle, Connect, Active, OpenSent, OpenConfirm, Established. */
  bgpState?: string;
  neighbor?: string;
  neighborAs?: number;
  localAs?: number;
  lastError?: string;
  routes?: { imported: number; exported: number; preferred: number };
}

const ROW = /^(\S+)\s+(\S+)\s+(\S+)\s+(up|down|start|stop|flush|feed)\s+(\S+)\s*(.*)$/i;

/** `birdc show protocols [all] [NAME]`: one entry per protocol row, with the detail lines that follow it. */
export function parseProtocols(text: string): ProtocolInfo[] {
  const out: ProtocolInfo[] = [];
  let cur: ProtocolInfo | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\s+$/, '');
    if (!line || /^BIRD \S+ ready\.$/.test(line) || /^Name\s+Proto\s+Table\s+State/.test(line)) continue;
    if (!/^\s/.test(line)) {
      const m = ROW.exec(line);
      cur = m ? { name: m[1], proto: m[2], table: m[3], state: m[4].toLowerCase(), since: m[5], info: m[6].trim() } : undefined;
      if (cur) out.push(cur);
      continue;
    }
    if (!cur) continue;
    const kv = /^\s+([A-Za-z][A-Za-z -]*?):\s+(.*)$/.exec(line);
    if (!kv) continue;
    const [, key, value] = kv;
    if (key === 'BGP state') cur.bgpState = value.trim();
    else if (key === 'Neighbor address') cur.neighbor = value.trim();
    else if (key === 'Neighbor AS') cur.neighborAs = Number(value);
    else if (key === 'Local AS') cur.localAs = Number(value);
    else if (key === 'Last error') cur.lastError = value.trim();
    else if (key === 'Routes') {
      const r = /(\d+) imported, (?:\d+ filtered, )?(\d+) exported, (\d+) preferred/.exec(value);
      if (r) cur.routes = { imported: Number(r[1]), exported: Number(r[2]), preferred: Number(r[3]) };
    }
  }
  return out;
}

export interface RouteInfo {
  prefix: string;
  /** The protocol that supplied this route (`[d1 00:13:39.319]`). */
  from: string;
  /** Next hops (`via 10.0.0.11 on eth0`); empty for blackhole/unreachable. */
  via: string[];
  primary: boolean;
}

/** `birdc show route [all] …`: one entry per route; continuation rows of the same prefix repeat its prefix. */
export function parseRoutes(text: string): RouteInfo[] {
  const out: RouteInfo[] = [];
  let prefix = '';
  let cur: RouteInfo | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\s+$/, '');
    const head = /^(\d{1,3}(?:\.\d{1,3}){3}\/\d{1,2})?\s+(?:unicast|blackhole|unreachable|prohibited)?\s*\[(\S+)[^\]]*\]\s*(\*)?/.exec(line);
    if (head && (head[1] || prefix)) {
      if (head[1]) prefix = head[1];
      cur = { prefix, from: head[2], via: [], primary: head[3] === '*' };
      out.push(cur);
      continue;
    }
    const via = /^\s+via (\d{1,3}(?:\.\d{1,3}){3})/.exec(line);
    if (via && cur) cur.via.push(via[1]);
  }
  return out;
}

export interface BfdSession {
  address: string;
  iface: string;
  state: string;
  since: string;
  intervalSeconds: number;
  timeoutSeconds: number;
}

/** `birdc show bfd sessions`. */
export function parseBfdSessions(text: string): BfdSession[] {
  const out: BfdSession[] = [];
  for (const line of text.split('\n')) {
    const m = /^(\d{1,3}(?:\.\d{1,3}){3})\s+(\S+)\s+(\S+)\s+(\S+)\s+([\d.]+)\s+([\d.]+)\s*$/.exec(line.trim());
    if (m) out.push({ address: m[1], iface: m[2], state: m[3], since: m[4], intervalSeconds: Number(m[5]), timeoutSeconds: Number(m[6]) });
  }
  return out;
}
