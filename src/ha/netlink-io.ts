// VIP addresses and link state through rtnetlink (the `netlink` package): RTM_NEWADDR/RTM_DELADDR with IFA_LABEL
// (eth0:6) instead of shelling out to ifconfig/ip, and RTM_NEWLINK notifications for monitor_links. Every request has
// a deadline and both sockets have an 'error' listener: a kernel that does not answer or a socket error (ENOBUFS on
// the monitor after a burst of link events) is a logged failure of that one operation, never a hang or a crash.
import { createRtNetlink, FlagsNew, type RtNetlinkSocket } from 'netlink';
import { silentLogger, type Logger } from '../log';
import { DirectordError } from '../errors';
import { withDeadline } from '../util/deadline';
import { formatMac } from './garp-frame';
import { broadcastOf, parseIpv4 } from './ipv4';

export interface LocalInterface {
  index: number;
  name: string;
  mac: string;
  up: boolean;
}

export interface VipSpec {
  address: string;
  /** Base device (eth0). */
  device: string;
  /** IFA_LABEL (eth0:6); equal to device when the config names no alias. */
  label: string;
  prefixlen: number;
}

const AF_INET = 2;

function linkIsUp(flags: { up?: true; running?: true; lowerUp?: true } | undefined): boolean {
  return !!flags?.up && (!!flags.running || !!flags.lowerUp);
}

function ipOf(b: Buffer | undefined): string | undefined {
  return b && b.length === 4 ? `${b[0]}.${b[1]}.${b[2]}.${b[3]}` : undefined;
}

/** rtnetlink answers in microseconds; a request unanswered this long is abandoned (E_HA_NETLINK_TIMEOUT). */
export const NETLINK_TIMEOUT_MS = 5000;

export interface NetlinkIoOptions {
  timeoutMs?: number;
  /** Tests: a stand-in for createRtNetlink(). */
  create?: () => RtNetlinkSocket;
}

export class NetlinkIo {
  private readonly sock: RtNetlinkSocket;
  private monitor?: RtNetlinkSocket;
  private readonly timeoutMs: number;
  private readonly create: () => RtNetlinkSocket;

  constructor(private readonly log: Logger = silentLogger, opts: NetlinkIoOptions = {}) {
    this.timeoutMs = opts.timeoutMs ?? NETLINK_TIMEOUT_MS;
    this.create = opts.create ?? (() => createRtNetlink());
    this.sock = this.open('requests');
  }

  private open(role: string): RtNetlinkSocket {
    const s = this.create();
    // Without a listener an 'error' event is thrown, and would end the daemon.
    s.socket.on('error', (e: Error) => this.log.error({ err: e, socket: role }, 'rtnetlink socket error'));
    return s;
  }

  /** One request under the deadline; the package's own timeout also drops its pending-reply entry. */
  private call<T>(what: string, fn: (opts: { timeout: number }) => Promise<T>): Promise<T> {
    return withDeadline(fn({ timeout: this.timeoutMs }), this.timeoutMs + 100, `rtnetlink ${what}`, 'E_HA_NETLINK_TIMEOUT').catch((e: unknown) => {
      if (e instanceof DirectordError) throw e;
      if (/Timeout has been reached/.test(String((e as Error)?.message))) {
        throw new DirectordError('E_HA_NETLINK_TIMEOUT', `rtnetlink ${what} did not finish within ${this.timeoutMs} ms`, { cause: e });
      }
      throw e;
    });
  }

  async interfaces(): Promise<LocalInterface[]> {
    const links = await this.call('getLinks', (o) => this.sock.getLinks(undefined, undefined, o));
    return links.map((l) => ({
      index: l.data.index ?? 0,
      name: l.attrs.ifname ?? '',
      mac: l.attrs.address ? formatMac(l.attrs.address) : '00:00:00:00:00:00',
      up: linkIsUp(l.data.flags),
    }));
  }

  async interfaceByName(name: string): Promise<LocalInterface> {
    const i = (await this.interfaces()).find((x) => x.name === name);
    if (!i) throw new DirectordError('E_HA_NO_DEVICE', `no network device '${name}'`, { details: { device: name } });
    return i;
  }

  /** IPv4 addresses on this host: address → interface index and label. */
  async addresses(): Promise<Array<{ address: string; index: number; label: string; prefixlen: number }>> {
    const addrs = await this.call('getAddresses', (o) => this.sock.getAddresses(undefined, undefined, o));
    const out: Array<{ address: string; index: number; label: string; prefixlen: number }> = [];
    for (const a of addrs) {
      if (a.data.family !== AF_INET) continue;
      const ip = ipOf(a.attrs.local ?? a.attrs.address);
      if (ip) out.push({ address: ip, index: a.data.index ?? 0, label: a.attrs.label ?? '', prefixlen: a.data.prefixlen ?? 32 });
    }
    return out;
  }

  /** The interface holding an address (monitor_links watches the NIC of our primary/backup address). */
  async interfaceOfAddress(address: string): Promise<LocalInterface | undefined> {
    const a = (await this.addresses()).find((x) => x.address === address);
    if (!a) return undefined;
    return (await this.interfaces()).find((i) => i.index === a.index);
  }

  /** Add a VIP; already present counts as success (idempotent), so a retried activation does not fail. */
  async addVip(v: VipSpec): Promise<'added' | 'present'> {
    const dev = await this.interfaceByName(v.device);
    const ip = parseIpv4(v.address);
    try {
      await this.call('newAddress', (o) =>
        this.sock.newAddress(
          { family: AF_INET, prefixlen: v.prefixlen, index: dev.index, scope: 0 },
          { local: ip, address: ip, label: v.label, broadcast: broadcastOf(v.address, v.prefixlen) },
          { flags: FlagsNew.CREATE | FlagsNew.EXCL, ...o },
        ),
      );
      return 'added';
    } catch (e) {
      if (/EEXIST/.test(String((e as Error).message))) return 'present';
      if (e instanceof DirectordError) throw e;
      throw new DirectordError('E_HA_VIP_ADD', `cannot add VIP ${v.address}/${v.prefixlen} to ${v.label}: ${(e as Error).message}`, { cause: e, details: { ...v } });
    }
  }

  /** Remove a VIP from whatever device holds it; absent counts as success. */
  async removeVip(address: string): Promise<'removed' | 'absent'> {
    const held = (await this.addresses()).filter((a) => a.address === address);
    if (held.length === 0) return 'absent';
    const ip = parseIpv4(address);
    for (const h of held) {
      try {
        await this.call('delAddress', (o) => this.sock.delAddress({ family: AF_INET, prefixlen: h.prefixlen, index: h.index }, { local: ip, address: ip }, o));
      } catch (e) {
        if (e instanceof DirectordError) throw e;
        if (!/EADDRNOTAVAIL/.test(String((e as Error).message))) {
          throw new DirectordError('E_HA_VIP_DEL', `cannot remove VIP ${address}: ${(e as Error).message}`, { cause: e });
        }
      }
    }
    return 'removed';
  }

  /**
   * Subscribe to RTM_NEWLINK: calls back with the new up/down state of every link change. When notifications were
   * lost (a socket error, typically ENOBUFS) every link is read again and reported, so no change goes unseen.
   */
  watchLinks(onChange: (ifindex: number, name: string, up: boolean) => void): void {
    if (this.monitor) return;
    const m = this.open('link monitor');
    m.socket.on('error', () => {
      this.interfaces().then(
        (all) => {
          for (const i of all) onChange(i.index, i.name, i.up);
        },
        (e: unknown) => this.log.error({ err: e }, 'cannot re-read the links after a link monitor error'),
      );
    });
    m.addMembership('LINK');
    m.on('message', (msgs) => {
      for (const msg of msgs) if (msg.kind === 'link') onChange(msg.data.index ?? 0, msg.attrs.ifname ?? '', linkIsUp(msg.data.flags));
    });
    this.monitor = m;
  }

  close(): void {
    for (const s of [this.sock, this.monitor]) {
      try {
        s?.socket.close();
      } catch {
        /* already closed */
      }
    }
    this.monitor = undefined;
  }
}

/**
 * monitor_links: watch the NICs holding the given addresses (pulse: primary/primary_private or backup/backup_private)
 * and report whether all of them are up, on every change. An address on no NIC counts as up, as in pulse.
 */
export async function watchLinkState(io: NetlinkIo, addresses: string[], log: Logger, onChange: (allUp: boolean) => void): Promise<void> {
  const watched = new Set<number>();
  for (const a of addresses) {
    const i = await io.interfaceOfAddress(a);
    if (i) watched.add(i.index);
  }
  const states = new Map<number, boolean>();
  for (const i of await io.interfaces()) if (watched.has(i.index)) states.set(i.index, i.up);
  let wasDown = false;
  const evaluate = (): void => {
    const down = [...states.entries()].filter(([, up]) => !up).map(([i]) => i);
    if (down.length) log.error({ ifindexes: down }, 'Local NIC link failure: Pulse disabled');
    else if (wasDown) log.warn('Local NIC link(s) restored: Pulse enabled');
    wasDown = down.length > 0;
    onChange(down.length === 0);
  };
  io.watchLinks((index, name, up) => {
    if (!watched.has(index) || states.get(index) === up) return;
    log.warn({ device: name, up }, up ? 'NIC link up' : 'NIC link down');
    states.set(index, up);
    evaluate();
  });
  if ([...states.values()].some((up) => !up)) evaluate();
}
