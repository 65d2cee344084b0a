// `where` against the running table: the client's own connection or persistence template first, else which dest a NEW
// connection would get now from the data plane's live counters (wlc/lc exact; sh/mh need none; rr/wrr cursors unseen).
import type { ConnEntry, ServiceCounters, ServiceSpec } from '../table/types';
import { ipToU32 } from './addr';
import { createScheduler } from './algorithms';
import { type SchedDest, newSchedDest, overhead } from './dest';
import type { ModelServiceSpec } from './services';
import { WHERE_DEFAULT_CLIENT_PORT, type WhereAnswer, type WhereTarget, whereAll } from './where';

function label(d: SchedDest): string {
  return d.name ? `${d.name} (${d.address}:${d.port})` : `${d.address}:${d.port}`;
}

/**
 * Like whereAll, but with each service's dests carrying the live Active/InAct counters from DataPlaneStats.services
 * (matched by vip, port, protocol and dest address:port). Existing connections and persistence templates are the
 * caller's to check first: this answers for a connection that would be scheduled now.
 */
export function whereNow(
  services: readonly ModelServiceSpec[], live: readonly ServiceCounters[], clientIp: string, clientPort?: number, target: WhereTarget = {},
): WhereAnswer[] {
  const fresh = whereAll(services, clientIp, clientPort, target);
  const client = ipToU32(clientIp);
  const cport = clientPort ?? WHERE_DEFAULT_CLIENT_PORT;
  return fresh.map((a) => {
    const svc = a.service;
    const counters = live.find((s) => s.vip === svc.vip && s.port === svc.port && s.protocol === svc.protocol);
    if (!counters || svc.scheduler === 'sh' || svc.scheduler === 'mh') return a;
    const list = svc.dests.map((ds) => {
      const d = newSchedDest(ds.address, ipToU32(ds.address), ds.port);
      const c = counters.dests.find((x) => x.address === ds.address && x.port === ds.port);
      Object.assign(d, { weight: ds.weight, lastWeight: ds.weight, name: ds.name, activeConns: c?.activeConns ?? 0, inactConns: c?.inactConns ?? 0 });
      if (c?.unavailableReason) d.unavailableReason = c.unavailableReason;
      return d;
    });
    // As a table just built: `ipvsadm -A`, then the adds (for wrr the adds leave cw at 1, not at the maximum weight).
    const sched = createScheduler(svc.scheduler, [], svc.schedFlags);
    sched.destsChanged([], list, []);
    const chosen = sched.schedule(list, client, cport);
    if (!chosen) {
      return { ...a, dest: null, decision: { verdict: 'no_dest', reason: 'no_dest', newConn: false, templateCreated: false }, reason: `no real server: none has weight > 0 and is usable (${list.map((d) => `${label(d)} w${d.weight}${d.unavailableReason ? `, ${d.unavailableReason}` : ''}`).join('; ')})` };
    }
    const dest = svc.dests.find((d) => d.address === chosen.address && d.port === chosen.port) ?? null;
    const table = list.map((d) => `${label(d)}: ${d.activeConns}*256+${d.inactConns} = ${overhead(d)} / w${d.weight}`).join('; ');
    let reason: string;
    if (svc.scheduler === 'wlc') reason = `wlc with live counters: least overhead per weight, ties to the earlier (newer) entry → ${label(chosen)} [${table}]`;
    else if (svc.scheduler === 'lc') reason = `lc with live counters: least overhead, first minimum in list order → ${label(chosen)} [${table}]`;
    else reason = `${svc.scheduler}: the next dest depends on the data plane's cursor, which is not visible; from a fresh cursor it would be ${label(chosen)}`;
    if (svc.persistent > 0) reason = `no live template covers this client, so a new one would be made: ${reason}`;
    const decision = { verdict: 'forward' as const, dest: { address: chosen.address, port: chosen.port }, newConn: true, templateCreated: svc.persistent > 0 };
    return { ...a, dest, reason, decision };
  });
}

export interface WhereClient {
  ip: string;
  port?: number;
}

/** `where`'s argument, CLIENT_IP[:PORT]; undefined when it is not one. */
export function parseWhereClient(client: string): WhereClient | undefined {
  const m = /^(\d{1,3}(?:\.\d{1,3}){3})(?::(\d{1,5}))?$/.exec(client);
  if (!m || m[1].split('.').some((o) => Number(o) > 255) || (m[2] !== undefined && Number(m[2]) > 65535)) return undefined;
  return { ip: m[1], port: m[2] === undefined ? undefined : Number(m[2]) };
}

/** A virtual service's persistence mask (undefined: /32). */
export interface WhereVirtual {
  vip: string;
  port: number;
  pmask?: string;
}

/**
 * What already decides for this client before any scheduler: its own connection (on that port, when given), else a
 * persistence template whose masked address covers it, unless the template points at a failed dest (the data plane
 * then schedules the client afresh).
 */
export function liveDecision(conns: readonly ConnEntry[], client: WhereClient, virtuals: readonly WhereVirtual[], specs: readonly ServiceSpec[]): ConnEntry | undefined {
  const covers = (c: ConnEntry): boolean => {
    const v = virtuals.find((x) => x.vip === c.vaddr && x.port === c.vport);
    const mask = (v?.pmask ?? '255.255.255.255').split('.').map(Number);
    return client.ip.split('.').map((o, i) => Number(o) & mask[i]).join('.') === c.caddr;
  };
  const toFailed = (c: ConnEntry): boolean =>
    specs.some((s) => s.vip === c.vaddr && s.port === c.vport && s.dests.some((d) => d.failed && d.address === c.daddr));
  return conns.find((c) => !c.template && c.caddr === client.ip && (client.port === undefined || c.cport === client.port))
    ?? conns.find((c) => c.template && covers(c) && !toFailed(c));
}
