// `directorctl status -t VIP:PORT | -u VIP:PORT | -f FWMARK`: one virtual service, as `ipvsadm -L -t VIP:PORT`.
import { DirectordError } from '../errors';
import type { ServiceView } from '../control/types';

export interface ServiceFilter {
  kind: '-t' | '-u' | '-f';
  text: string;
  match(s: ServiceView): boolean;
}

/** Parses the option's value; a malformed one is a usage error (exit 2). */
export function parseServiceFilter(kind: string, value: string | undefined): ServiceFilter {
  if (kind === '-f') {
    if (!value || !/^\d{1,10}$/.test(value) || Number(value) < 1 || Number(value) > 0xffffffff) throw new DirectordError('E_CLI_USAGE', `${kind} needs a firewall mark 1..4294967295 (as ipvsadm -f)`);
    const mark = Number(value);
    return { kind, text: value, match: (s) => s.fwmark === mark };
  }
  const m = value ? /^(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})$/.exec(value) : null;
  if ((kind !== '-t' && kind !== '-u') || !m || m[1].split('.').some((o) => Number(o) > 255) || Number(m[2]) > 65535) {
    throw new DirectordError('E_CLI_USAGE', `${kind} needs VIP:PORT, e.g. ${kind} 10.0.0.3:3306 (as ipvsadm ${kind})`);
  }
  const protocol = kind === '-t' ? 'tcp' : 'udp';
  const vip = m[1];
  const port = Number(m[2]);
  return { kind, text: value as string, match: (s) => s.fwmark === 0 && s.protocol === protocol && s.vip === vip && s.port === port };
}

/** The one service (ipvsadm prints "No such service" and exits 1 when there is none). */
export function applyServiceFilter(services: readonly ServiceView[], f: ServiceFilter): ServiceView[] {
  const hit = services.filter((s) => f.match(s));
  if (hit.length === 0) throw new DirectordError('E_CLI_NO_SUCH_SERVICE', `no such service: ${f.kind} ${f.text}`, { details: { known: services.map((s) => (s.fwmark ? `-f ${s.fwmark}` : `${s.protocol === 'tcp' ? '-t' : '-u'} ${s.vip}:${s.port}`)) } });
  return hit;
}
