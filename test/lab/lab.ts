// A reusable network-namespace lab: hosts on one bridge that lives in its own namespace.
// Everything it creates is named after this process (dd<pid>-…) and removed on destroy(), on exit and on signals.
import { spawn, execFileSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { rmSync, readdirSync } from 'node:fs';
import { cannotRun } from './needs';

export interface HostSpec {
  name: string;
  /** Interface address with prefix, e.g. 10.0.0.1/20. */
  address: string;
  /** Fixed MAC for the host's eth0 (handy for asserting on frames). */
  mac?: string;
  /** Add these addresses to lo (/32) and set arp_ignore=1/arp_announce=2: an LVS-DR real server. */
  vipsOnLo?: string[];
  /** Turn off tx checksum/TSO/GSO on eth0 (see reference/dataplane-limits.md "offloads"). */
  offloadsOff?: boolean;
  /** RX and TX queues of both ends of the host's veth (numrxqueues/numtxqueues; default 1). */
  queues?: number;
}

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

const labs = new Set<Lab>();
let hooksInstalled = false;

function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', () => {
    for (const lab of labs) lab.destroySync();
  });
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      for (const lab of labs) lab.destroySync();
      process.exit(130);
    });
  }
}

function run(cmd: string, args: string[]): void {
  execFileSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

function tryRun(cmd: string, args: string[]): void {
  try {
    run(cmd, args);
  } catch {
    /* optional setting: the caller says why it may be absent */
  }
}

/** Why this process may not build labs (it needs root and `ip netns`), or '' when it may. */
function labUnavailableReason(): string {
  if (process.getuid?.() !== 0) return 'not root';
  try {
    execFileSync('ip', ['netns', 'list'], { stdio: ['ignore', 'ignore', 'pipe'] });
    return '';
  } catch (e) {
    const err = e as { code?: string; stderr?: Buffer; message: string };
    return `\`ip netns list\` failed: ${err.code === 'ENOENT' ? 'ip not found on PATH' : (err.stderr?.toString().trim() || err.message)}`;
  }
}

/**
 * True when this process may build labs (root with `ip netns`). Otherwise tests skip with a counted skip, and under
 * CI=true the test file fails as well (see needs.ts): a CI machine where the lab cannot start must not stay green.
 */
export function labAvailable(): boolean {
  const why = labUnavailableReason();
  if (why) cannotRun(`a namespace lab: ${why}`);
  return !why;
}

/** Remove namespaces left by labs of processes that no longer exist (a crashed earlier run). */
export function removeStaleLabs(): void {
  let out = '';
  try {
    out = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  } catch {
    return;
  }
  for (const line of out.split('\n')) {
    const m = /^(dd(\d+)[a-z]?-\S+)/.exec(line.trim());
    if (!m) continue;
    const pid = Number(m[2]);
    let alive = true;
    try {
      process.kill(pid, 0);
    } catch {
      alive = false;
    }
    if (!alive) {
      try {
        run('ip', ['netns', 'del', m[1]]);
      } catch {
        /* already gone */
      }
    }
  }
  let etc: string[] = [];
  try {
    etc = readdirSync('/etc/netns');
  } catch {
    return;
  }
  for (const name of etc) {
    const m = /^dd(\d+)[a-z]?-/.exec(name);
    if (!m) continue;
    try {
      process.kill(Number(m[1]), 0);
    } catch {
      rmSync(`/etc/netns/${name}`, { recursive: true, force: true });
    }
  }
}

let labCounter = 0;

export class Lab {
  readonly prefix: string;
  readonly hosts = new Map<string, HostSpec>();
  private readonly children = new Set<ChildProcess>();
  private readonly namespaces: string[] = [];
  private destroyed = false;

  private constructor(prefix: string) {
    this.prefix = prefix;
  }

  /** Build the lab: a switch namespace with br0 and one namespace per host, each with eth0 on the bridge. */
  static async create(hosts: HostSpec[], opts: { tag?: string } = {}): Promise<Lab> {
    installExitHooks();
    removeStaleLabs();
    const suffix = String.fromCharCode(97 + (labCounter++ % 26));
    const lab = new Lab(`dd${process.pid}${suffix}${opts.tag ? '-' + opts.tag : ''}`);
    labs.add(lab);
    try {
      const sw = lab.ns('sw');
      lab.addNamespace(sw);
      run('ip', ['-n', sw, 'link', 'add', 'br0', 'type', 'bridge']);
      // Forward immediately: no STP learning delay, and multicast snooping off so GARPs/heartbeats flood.
      run('ip', ['-n', sw, 'link', 'set', 'br0', 'type', 'bridge', 'forward_delay', '0', 'mcast_snooping', '0']);
      run('ip', ['-n', sw, 'link', 'set', 'br0', 'up']);
      // A switch does not run the host firewall: where br_netfilter is loaded, its hooks would cost every bridged
      // frame an iptables pass (twice per forwarded frame on a DR path). Absent module: nothing to turn off.
      tryRun('ip', ['netns', 'exec', sw, 'sysctl', '-qw', 'net.bridge.bridge-nf-call-iptables=0', 'net.bridge.bridge-nf-call-ip6tables=0', 'net.bridge.bridge-nf-call-arptables=0']);
      let i = 0;
      for (const h of hosts) {
        i++;
        lab.hosts.set(h.name, h);
        const ns = lab.ns(h.name);
        lab.addNamespace(ns);
        const port = `p${i}`;
        const q = h.queues && h.queues > 1 ? ['numrxqueues', String(h.queues), 'numtxqueues', String(h.queues)] : [];
        run('ip', ['link', 'add', port, 'netns', sw, ...q, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns, ...q]);
        if (h.mac) run('ip', ['-n', ns, 'link', 'set', 'eth0', 'address', h.mac]);
        run('ip', ['-n', ns, 'addr', 'add', h.address, 'dev', 'eth0']);
        run('ip', ['-n', sw, 'link', 'set', port, 'master', 'br0', 'up']);
        run('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
        if (h.vipsOnLo?.length) {
          for (const [k, v] of [['all', 'arp_ignore=1'], ['all', 'arp_announce=2'], ['eth0', 'arp_ignore=1'], ['eth0', 'arp_announce=2']]) {
            const [key, val] = v.split('=');
            run('ip', ['netns', 'exec', ns, 'sysctl', '-qw', `net.ipv4.conf.${k}.${key}=${val}`]);
          }
          for (const vip of h.vipsOnLo) run('ip', ['-n', ns, 'addr', 'add', `${vip}/32`, 'dev', 'lo']);
        }
        if (h.offloadsOff) run('ip', ['netns', 'exec', ns, 'ethtool', '-K', 'eth0', 'tx', 'off', 'tso', 'off', 'gso', 'off']);
      }
    } catch (e) {
      lab.destroySync();
      throw e;
    }
    return lab;
  }

  /** The namespace name of a host (or 'sw' for the bridge). */
  ns(host: string): string {
    return `${this.prefix}-${host}`;
  }

  /** The bridge port (in the 'sw' namespace) that connects a host, e.g. to take its link down. */
  switchPort(host: string): string {
    const idx = [...this.hosts.keys()].indexOf(host);
    if (idx < 0) throw new Error(`no host ${host}`);
    return `p${idx + 1}`;
  }

  /** The host's address without prefix length. */
  ip(host: string): string {
    const h = this.hosts.get(host);
    if (!h) throw new Error(`no host ${host}`);
    return h.address.split('/')[0];
  }

  private addNamespace(ns: string): void {
    run('ip', ['netns', 'add', ns]);
    this.namespaces.push(ns);
    run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  }

  /** Run a command inside a host's namespace and collect its output. Never throws on a non-zero exit. */
  exec(host: string, argv: string[], opts: { timeoutMs?: number; input?: string; env?: NodeJS.ProcessEnv; onStderr?: (chunk: string) => void } = {}): Promise<ExecResult> {
    return new Promise((resolve) => {
      const child = spawn('ip', ['netns', 'exec', this.ns(host), ...argv], { stdio: ['pipe', 'pipe', 'pipe'], env: opts.env ?? process.env });
      let stdout = '';
      let stderr = '';
      child.stdout!.on('data', (d) => (stdout += d));
      child.stderr!.on('data', (d) => {
        stderr += d;
        opts.onStderr?.(String(d));
      });
      const timer = opts.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs) : undefined;
      child.on('error', (e) => {
        if (timer) clearTimeout(timer);
        resolve({ code: 127, stdout, stderr: stderr + String(e) });
      });
      child.on('close', (code, signal) => {
        if (timer) clearTimeout(timer);
        resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr });
      });
      // A command may exit before reading its input; EPIPE then is not an error of the test.
      child.stdin!.on('error', () => {});
      child.stdin!.end(opts.input ?? '');
    });
  }

  /**
   * The MAC in a host's neighbour entry for `address` as it stands: no flush, no probe, so it says where the host's
   * next packet goes (an entry moves through a gratuitous ARP; a fresh request would race every host holding the
   * address). Undefined when there is no entry or it is INCOMPLETE/FAILED.
   */
  async neighbourMac(host: string, address: string): Promise<string | undefined> {
    const r = await this.exec(host, ['ip', 'neigh', 'show', address, 'dev', 'eth0']);
    return /lladdr (\S+)/.exec(r.stdout)?.[1];
  }

  /** A host's eth0 MAC. */
  async macOf(host: string): Promise<string> {
    return (await this.sh(host, 'cat /sys/class/net/eth0/address')).trim();
  }

  /** Like exec, but throws with the command's stderr when it fails. */
  async sh(host: string, script: string, opts: { timeoutMs?: number } = {}): Promise<string> {
    const r = await this.exec(host, ['sh', '-c', script], opts);
    if (r.code !== 0) throw new Error(`[${host}] ${script}: exit ${r.code}: ${r.stderr.trim()}`);
    return r.stdout;
  }

  /** Start a long-running process in a host's namespace; it is killed (by PID) on destroy(). */
  spawn(host: string, argv: string[], opts: SpawnOptions = {}): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', this.ns(host), ...argv], { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    this.children.add(child);
    child.on('exit', () => this.children.delete(child));
    return child;
  }

  /** Kill what this lab started (SIGKILL, by PID) and delete its namespaces. Safe to call twice. */
  async destroy(): Promise<void> {
    const waits: Promise<void>[] = [];
    for (const c of this.children) {
      if (c.exitCode === null && c.signalCode === null) {
        waits.push(new Promise((r) => c.once('exit', () => r())));
        try {
          c.kill('SIGKILL');
        } catch {
          /* gone */
        }
      }
    }
    await within(Promise.all(waits), 3000, undefined);
    this.destroySync();
  }

  destroySync(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const c of this.children) {
      try {
        c.kill('SIGKILL');
      } catch {
        /* gone */
      }
    }
    // Processes still inside a namespace (e.g. daemons that double-forked) are killed by listing the namespace's PIDs.
    for (const ns of this.namespaces) {
      try {
        const pids = execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).split('\n').filter(Boolean);
        for (const p of pids) {
          try {
            process.kill(Number(p), 'SIGKILL');
          } catch {
            /* gone */
          }
        }
      } catch {
        /* namespace gone */
      }
    }
    for (const ns of [...this.namespaces].reverse()) {
      try {
        run('ip', ['netns', 'del', ns]);
      } catch {
        /* already gone */
      }
      // Per-namespace /etc files (hosts, resolv.conf) that users of the lab may have written for `ip netns exec`.
      rmSync(`/etc/netns/${ns}`, { recursive: true, force: true });
    }
    labs.delete(this);
  }
}

/** Poll until fn() returns a truthy value or the deadline passes (then throws with the description). */
export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false | null> | T | undefined | false | null, timeoutMs = 10000, stepMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as T;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/**
 * `p`, or `value` after `ms` if p has not settled by then. The timer is cleared either way: a pending one keeps the
 * test process alive for its whole length after the last test (3 s per lab file when Lab.destroy raced a bare timer).
 */
export async function within<T, U>(p: Promise<T>, ms: number, value: U): Promise<T | U> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<U>((r) => (timer = setTimeout(() => r(value), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
