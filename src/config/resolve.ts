// Name lookups the parser needs, kept synchronous and injectable so loading is deterministic in tests:
// hostnames from /etc/hosts only (no DNS at boot), TCP service names from /etc/services (getservbyname "tcp").
import { readFileSync } from 'node:fs';

/** Returns the IPv4 address for a hostname, or undefined. */
export type HostResolver = (name: string) => string | undefined;
/** Returns the TCP port of a service name, or undefined. */
export type ServiceResolver = (name: string) => number | undefined;

/** Used when /etc/services is absent (minimal containers). */
export const BUILTIN_SERVICES: Readonly<Record<string, number>> = Object.freeze({
  ftp: 21, ssh: 22, telnet: 23, smtp: 25, domain: 53, http: 80, www: 80, pop3: 110, imap: 143, ldap: 389,
  https: 443, smtps: 465, submission: 587, ldaps: 636, imaps: 993, pop3s: 995, mysql: 3306, postgresql: 5432,
  'http-alt': 8080,
});

export function parseHostsFile(text: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/#.*/, '').trim();
    if (!line) continue;
    const [addr, ...names] = line.split(/\s+/);
    if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(addr)) continue; // IPv4 only, like gethostbyname
    for (const n of names) if (!map.has(n.toLowerCase())) map.set(n.toLowerCase(), addr);
  }
  return map;
}

export function parseServicesFile(text: string): Map<string, number> {
  const map = new Map<string, number>();
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/#.*/, '').trim();
    if (!line) continue;
    const [name, portProto, ...aliases] = line.split(/\s+/);
    const m = /^(\d+)\/tcp$/.exec(portProto ?? '');
    if (!m) continue;
    const port = Number(m[1]);
    for (const n of [name, ...aliases]) if (!map.has(n)) map.set(n, port);
  }
  return map;
}

export function mapHostResolver(entries: Record<string, string> | Map<string, string>): HostResolver {
  const map = entries instanceof Map ? entries : new Map(Object.entries(entries).map(([k, v]) => [k.toLowerCase(), v]));
  return (name) => map.get(name.toLowerCase());
}

export function hostsFileResolver(path = '/etc/hosts'): HostResolver {
  let map: Map<string, string> | undefined;
  return (name) => {
    if (!map) {
      try {
        map = parseHostsFile(readFileSync(path, 'utf8'));
      } catch {
        map = new Map();
      }
    }
    return map.get(name.toLowerCase());
  };
}

export function servicesFileResolver(path = '/etc/services'): ServiceResolver {
  let map: Map<string, number> | undefined;
  return (name) => {
    if (!map) {
      try {
        map = parseServicesFile(readFileSync(path, 'utf8'));
      } catch {
        map = new Map(Object.entries(BUILTIN_SERVICES));
      }
    }
    return map.get(name);
  };
}

export const builtinServiceResolver: ServiceResolver = (name) =>
  Object.prototype.hasOwnProperty.call(BUILTIN_SERVICES, name) ? BUILTIN_SERVICES[name] : undefined;
