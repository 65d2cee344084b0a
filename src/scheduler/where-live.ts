// `where` against the running table: which dest a NEW connection from a client would get now, using the data
// plane's live counters (wlc/lc are exact; sh/mh do not depend on counters; rr/wrr cursors are not visible).
import type { ServiceCounters } from '../table/types';
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
