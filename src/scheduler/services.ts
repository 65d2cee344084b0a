// The model's policy table: services, their dest lists in IPVS order, the dest registry (live + trash) and the
// diff that DataPlane.setServices semantics require (dests matched by address:port keep counters and connections).
import { type Protocol, SCHEDULER_NAMES, type SchedulerName } from '../config/schema';
import type { DestSpec, ServiceSpec } from '../table/types';
import { DirectordError } from '../errors';
import { ipToU32 } from './addr';
import { type Scheduler, type SchedulerFlags, createScheduler } from './algorithms';
import { type SchedDest, newSchedDest } from './dest';

export interface ModelDestSpec extends DestSpec {
  /** ipvsadm -x / -y; Piranha never sets them. */
  upperThreshold?: number;
  lowerThreshold?: number;
  /** Server block name, for explanations only. */
  name?: string;
}

export interface ModelServiceSpec extends ServiceSpec {
  /** sh/mh flags (ipvsadm --sched-flags sh-fallback,sh-port / mh-fallback,mh-port). */
  schedFlags?: SchedulerFlags;
  /** Virtual block name, for explanations only. */
  name?: string;
  dests: ModelDestSpec[];
}

export interface ModelDest extends SchedDest {
  svcKey: string;
}

export interface Service {
  readonly key: string;
  spec: ModelServiceSpec;
  readonly protocol: Protocol;
  readonly vaddr: number;
  readonly port: number;
  readonly fwmark: number;
  pmask: number;
  list: ModelDest[];
  sched: Scheduler;
  schedName: SchedulerName;
  flagsKey: string;
  conns: number;
  inPkts: number;
  inBytes: number;
}

export function serviceKey(protocol: string, vaddr: number, port: number, fwmark: number): string {
  return fwmark ? `fwm:${fwmark}` : `${protocol}:${vaddr}:${port}`;
}

function badSpec(message: string, details: Record<string, unknown>): DirectordError {
  return new DirectordError('E_SCHED_BAD_SPEC', message, { details });
}

function checkPort(p: number, what: string): void {
  if (!Number.isInteger(p) || p < 0 || p > 65535) throw badSpec(`${what} port ${p} is not 0..65535`, { port: p });
}

export class ServiceTable {
  readonly services = new Map<string, Service>();
  /** Live and trashed dests by service key + address:port. */
  readonly dests = new Map<string, ModelDest>();
  requireMac = false;

  lookup(protocol: Protocol, vaddr: number, vport: number, fwmark?: number): Service | undefined {
    if (fwmark) {
      const s = this.services.get(`fwm:${fwmark}`);
      if (s) return s;
    }
    return this.services.get(`${protocol}:${vaddr}:${vport}`) ?? this.services.get(`${protocol}:${vaddr}:0`);
  }

  /** A dest no connection references any more leaves the trash. */
  release(d: ModelDest): void {
    if (!d.available && d.refs === 0 && this.dests.get(`${d.svcKey}|${d.key}`) === d) this.dests.delete(`${d.svcKey}|${d.key}`);
  }

  /** Replace the whole table. Validation happens first, so a bad spec changes nothing. */
  set(specs: readonly ModelServiceSpec[]): void {
    const parsed = specs.map((s) => this.validate(s));
    const keep = new Set(parsed.map((p) => p.key));
    for (const [key, svc] of this.services) {
      if (keep.has(key)) continue;
      for (const d of svc.list) this.trash(d);
      this.services.delete(key);
    }
    const order = new Map<string, Service>();
    for (const p of parsed) order.set(p.key, this.apply(p.key, p.spec, p.vaddr, p.pmask));
    this.services.clear();
    for (const [k, v] of order) this.services.set(k, v);
  }

  private validate(spec: ModelServiceSpec): { key: string; spec: ModelServiceSpec; vaddr: number; pmask: number } {
    const vaddr = ipToU32(spec.vip);
    const pmask = ipToU32(spec.pmask || '255.255.255.255');
    checkPort(spec.port, 'virtual');
    if (!(SCHEDULER_NAMES as readonly string[]).includes(spec.scheduler)) {
      throw badSpec(`unknown scheduler '${spec.scheduler}'`, { scheduler: spec.scheduler });
    }
    const seen = new Set<string>();
    for (const d of spec.dests) {
      ipToU32(d.address);
      checkPort(d.port, 'real server');
      if (!Number.isInteger(d.weight) || d.weight < 0 || d.weight > 65535) throw badSpec(`weight ${d.weight} is not 0..65535`, { dest: d.address });
      const k = `${d.address}:${d.port}`;
      if (seen.has(k)) throw badSpec(`real server ${k} listed twice in ${spec.vip}:${spec.port}`, { dest: k });
      seen.add(k);
    }
    const key = serviceKey(spec.protocol, vaddr, spec.port, spec.fwmark);
    return { key, spec, vaddr, pmask };
  }

  private trash(d: ModelDest): void {
    d.available = false;
    this.release(d);
  }

  private apply(key: string, spec: ModelServiceSpec, vaddr: number, pmask: number): Service {
    const old = this.services.get(key);
    const oldList = old ? old.list : [];
    const oldWeights = oldList.map((d) => d.weight);
    const list: ModelDest[] = [];
    let changed = !old || oldList.length !== spec.dests.length;
    spec.dests.forEach((ds, i) => {
      const dkey = `${key}|${ds.address}:${ds.port}`;
      let d = this.dests.get(dkey);
      if (!d) {
        d = { ...newSchedDest(ds.address, ipToU32(ds.address), ds.port), svcKey: key };
        this.dests.set(dkey, d);
      }
      const adding = !oldList.includes(d);
      if (adding || oldList[i] !== d || d.weight !== ds.weight) changed = true;
      // __ip_vs_update_dest: last_weight keeps the latest non-zero weight; a raised/cleared threshold clears overload.
      if (adding || ds.weight !== 0) d.lastWeight = ds.weight;
      d.weight = ds.weight;
      const u = ds.upperThreshold ?? 0, l = ds.lowerThreshold ?? 0;
      if (u !== d.upperThreshold || l !== d.lowerThreshold) changed = true;
      if (u === 0 || u > d.upperThreshold) d.overloaded = false;
      d.upperThreshold = u;
      d.lowerThreshold = l;
      d.available = true;
      d.unavailableReason = this.requireMac && !ds.mac ? 'no MAC address' : undefined;
      d.failed = ds.failed === true;
      d.closeConns = ds.closeConns === true;
      if (ds.name !== undefined) d.name = ds.name;
      list.push(d);
    });
    for (const d of oldList) if (!list.includes(d)) this.trash(d);
    const flags = spec.schedFlags ?? {};
    const flagsKey = `${flags.fallback ? 1 : 0}${flags.port ? 1 : 0}`;
    if (!old || old.schedName !== spec.scheduler || old.flagsKey !== flagsKey) {
      // A new service is `ipvsadm -A` then one `-a` per dest; a scheduler change rebinds on the final list (-E).
      const sched = createScheduler(spec.scheduler, old ? list : [], flags);
      if (!old) sched.destsChanged([], list, []);
      const svc: Service = old ?? {
        key, spec, protocol: spec.protocol, vaddr, port: spec.port, fwmark: spec.fwmark, pmask, list, sched,
        schedName: spec.scheduler, flagsKey, conns: 0, inPkts: 0, inBytes: 0,
      };
      Object.assign(svc, { spec, pmask, list, sched, schedName: spec.scheduler, flagsKey });
      return svc;
    }
    if (changed) old.sched.destsChanged(oldList, list, oldWeights);
    Object.assign(old, { spec, pmask, list });
    return old;
  }
}
