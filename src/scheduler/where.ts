// `directorctl where`: which real server a client would get from the configuration alone (all servers up, a fresh
// connection table), and why — answered by running the reference model itself, then explained per scheduler.
import type { LvsConfig } from '../config/schema';
import { DirectordError } from '../errors';
import { ipToU32, maskPrefixLength, u32ToIp } from './addr';
import { MH_TAB_SIZE, MaglevHash, SourceHash, wrrDestChanged } from './algorithms';
import { ConnTableModel, type Decision } from './conn-table';
import type { ModelDestSpec, ModelServiceSpec } from './services';

export interface WhereTarget {
  vip?: string;
  port?: number;
}

export interface WhereAnswer {
  service: ModelServiceSpec;
  dest: ModelDestSpec | null;
  reason: string;
  decision: Decision;
}

/** Default client port when none is given: only sh-port / mh-port services look at it. */
export const WHERE_DEFAULT_CLIENT_PORT = 40000;

/**
 * The policy table lvsd + nanny would build with every active server up: active virtuals in file order, each
 * server added with `ipvsadm -a` in file order, so IPVS list order (newest at the head) is the reverse.
 */
export function servicesFromConfig(cfg: LvsConfig): ModelServiceSpec[] {
  return cfg.virtuals.filter((v) => v.active).map((v) => ({
    vip: v.address, port: v.port, protocol: v.protocol, fwmark: v.fwmark, scheduler: v.scheduler,
    persistent: v.persistent, pmask: v.persistent > 0 && v.pmask ? v.pmask : '255.255.255.255',
    expireQuiescentTemplate: v.expireQuiescentTemplate, expireNodestConn: v.expireNodestConn, name: v.name,
    dests: v.servers.filter((s) => s.active).reverse().map((s) => ({ address: s.address, port: s.port, weight: s.weight, name: s.name })),
  }));
}

function label(d: ModelDestSpec): string {
  return d.name ? `${d.name} (${d.address}:${d.port})` : `${d.address}:${d.port}`;
}

function position(svc: ModelServiceSpec, d: ModelDestSpec): string {
  const i = svc.dests.indexOf(d), n = svc.dests.length;
  const head = i === 0 && n > 1 ? ', the server added last: IPVS puts each new server at the head of its list' : '';
  return `IPVS list position ${i + 1} of ${n}${head}`;
}

function schedulerReason(svc: ModelServiceSpec, d: ModelDestSpec, clientIp: string, clientPort: number): string {
  const client = ipToU32(clientIp);
  switch (svc.scheduler) {
    case 'wlc':
    case 'lc':
      return `${svc.scheduler}: every server has overhead 0 (no connections yet), so the first one in list order with weight > 0 wins: ${label(d)}, ${position(svc, d)}`;
    case 'rr':
      return `rr: the cursor starts at the list head, so the first server with weight > 0 wins: ${label(d)}, ${position(svc, d)}`;
    case 'wrr': {
      // Each `ipvsadm -a` re-runs ip_vs_wrr_dest_changed on the list so far (the tail of the final list).
      const w = svc.dests.map((x) => x.weight);
      let cw = 0;
      for (let i = w.length - 1; i >= 0; i--) cw = wrrDestChanged(cw, w.slice(i)).cw;
      return `wrr: after the servers were added one by one (ipvsadm -a in file order), the current weight is ${cw}, so the first server in list order with weight >= ${cw} wins: ${label(d)}, ${position(svc, d)}`;
    }
    case 'sh': {
      const port = svc.schedFlags?.port ? clientPort : 0;
      return `sh: hash_32(${clientIp}${port ? ` + port ${port}` : ''}, 8) = bucket ${SourceHash.bucketOf(client, port)} of 256, which belongs to ${label(d)}`;
    }
    case 'fo': {
      const hw = Math.max(...svc.dests.map((x) => x.weight));
      return `fo: every new connection goes to the highest weight (${hw}), ties to the first in list order: ${label(d)}, ${position(svc, d)}`;
    }
    case 'mh': {
      const port = svc.schedFlags?.port ? clientPort : 0;
      return `mh: hsiphash(${clientIp}${port ? ` + port ${port}` : ''}) mod ${MH_TAB_SIZE} = slot ${MaglevHash.hashKey(client, port) % MH_TAB_SIZE}, which belongs to ${label(d)}`;
    }
  }
}

function noDestReason(svc: ModelServiceSpec, clientIp: string, clientPort: number): string {
  if (svc.dests.length === 0) return 'the service has no active real servers';
  if (svc.dests.every((d) => d.weight === 0)) return 'every real server has weight 0';
  const port = svc.schedFlags?.port ? clientPort : 0;
  const key = svc.scheduler === 'sh'
    ? `bucket ${SourceHash.bucketOf(ipToU32(clientIp), port)}` : `slot ${MaglevHash.hashKey(ipToU32(clientIp), port) % MH_TAB_SIZE}`;
  return `${svc.scheduler}: the client's ${key} belongs to a server with weight 0, and ${svc.scheduler}-fallback is off`;
}

function answerFor(svc: ModelServiceSpec, clientIp: string, clientPort: number, port: number): WhereAnswer {
  const model = new ConnTableModel();
  model.setServices([svc]);
  const decision = model.process({
    protocol: svc.protocol, saddr: clientIp, sport: clientPort, daddr: svc.vip, dport: port,
    flags: { syn: true }, len: 60, ...(svc.fwmark ? { fwmark: svc.fwmark } : {}),
  }, 0);
  if (decision.verdict !== 'forward' || !decision.dest) {
    const why = decision.reason === 'port_mismatch'
      ? 'a port-0 virtual service without persistence schedules nothing in IPVS'
      : noDestReason(svc, clientIp, clientPort);
    return { service: svc, dest: null, reason: `no real server: ${why} (IPVS would answer ICMP port unreachable)`, decision };
  }
  const chosen = decision.dest;
  const dest = svc.dests.find((d) => d.address === chosen.address && (d.port === chosen.port || d.port === 0)) ?? null;
  let reason = dest ? schedulerReason(svc, dest, clientIp, clientPort) : `scheduled to ${chosen.address}:${chosen.port}`;
  if (svc.persistent > 0 && dest) {
    const mask = ipToU32(svc.pmask || '255.255.255.255');
    const snet = u32ToIp((ipToU32(clientIp) & mask) >>> 0);
    const len = maskPrefixLength(mask);
    const net = len >= 0 ? `${snet}/${len}` : `${snet} mask ${svc.pmask}`;
    reason = `persistent: template for ${net} → ${dest.address}:${dest.port}; every client in ${net} goes there while the template lives ` +
      `(${svc.persistent} s after its last new connection, longer while it still has connections). The template's first connection: ${reason}`;
  }
  return { service: svc, dest, reason, decision };
}

function candidates(services: readonly ModelServiceSpec[], target: WhereTarget): ModelServiceSpec[] {
  const found = services.filter((s) => (target.vip === undefined || s.vip === target.vip) && (target.port === undefined || s.port === target.port || s.port === 0));
  if (found.length === 0) {
    const what = target.vip || target.port !== undefined ? ` for ${target.vip ?? '*'}:${target.port ?? '*'}` : '';
    throw new DirectordError('E_SCHED_NO_SERVICE', `no active virtual service${what} in the configuration`, { details: { ...target } });
  }
  return found;
}

/** The answer for the first matching service (all of them: whereAll). */
export function where(services: readonly ModelServiceSpec[], clientIp: string, clientPort?: number, target: WhereTarget = {}): WhereAnswer {
  return whereAll(services, clientIp, clientPort, target)[0];
}

export function whereAll(services: readonly ModelServiceSpec[], clientIp: string, clientPort?: number, target: WhereTarget = {}): WhereAnswer[] {
  ipToU32(clientIp);
  const cport = clientPort ?? WHERE_DEFAULT_CLIENT_PORT;
  if (!Number.isInteger(cport) || cport < 0 || cport > 65535) {
    throw new DirectordError('E_SCHED_BAD_PORT', `client port ${clientPort} is not 0..65535`, { details: { port: clientPort } });
  }
  return candidates(services, target).map((s) => answerFor(s, clientIp, cport, s.port === 0 ? target.port ?? 0 : s.port));
}
