// The paths bench/dataplane.ts puts between client and real server, each started and stopped per measurement: the
// minimal C forwarder (bench/minfwd.c, the yardstick of issue 13) and the real DataPlane driven by harness.ts; plus
// the CPU accounting of whichever runs (process time from /proc/<pid>/stat, softirq time of its core from /proc/stat).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import readline from 'node:readline';
import { Lab, waitFor } from '../test/lab/lab';
import { harnessJs } from '../test/dataplane/dplab';
import { paths } from '../test/lab/build';

export const VIP = '10.61.0.100';
export const RS = '10.61.0.11';
export const RS_MAC = '02:61:00:00:00:11';
/** The core every forwarder is pinned to (taskset); trafgen's first sender is on CPU 0. */
export const FWD_CPU = 1;
const RX_RING = process.env.RX_RING ?? 'v2';
// BUSY_POLL_US: the directors' --busy-poll-us (default 0, the daemon's default).
const BUSY_POLL_US = Number(process.env.BUSY_POLL_US ?? 0);
const TABLE_SIZE = 1 << 18;
// Multi-queue runs (docs/benchmarks.md, "AF_XDP on every RX queue"): QUEUES=N gives every veth N RX/TX queues,
// FLOWS=N makes the frames/s senders use N UDP source ports (a flow stays on one queue), PACKET_THREADS=N is the
// harness's packetThreads (0: the backend's default) and DIR_CPUS the director's taskset CPU list (default FWD_CPU).
export const QUEUES = Number(process.env.QUEUES ?? 1);
export const FLOWS = Number(process.env.FLOWS ?? 1);
export const PACKET_THREADS = Number(process.env.PACKET_THREADS ?? 0);
export const DIR_CPUS = process.env.DIR_CPUS ?? String(FWD_CPU);
// NICE=-10: every process of the measurement (forwarders, trafgen, iperf3, the connection and round-trip clients
// and servers) runs at that nice level, so that on a machine shared with other jobs the figures say more about
// the paths than about the share of a core each process was given. With autogroup scheduling
// (kernel.sched_autogroup_enabled) nice only ranks tasks within their session, so each one gets a session of its
// own (setsid) and sets that session's autogroup nice itself before it execs.
export const NICE = Number(process.env.NICE ?? 0);
/** argv prefix: pinned to `cpu` (if given), at NICE in a session of its own when NICE is set. */
export const pinned = (cpu?: number): string[] => [
  ...(NICE ? ['setsid', 'sh', '-c', `echo ${NICE} > /proc/self/autogroup 2>/dev/null; exec nice -n ${NICE} "$@"`, 'sh'] : []),
  ...(cpu === undefined ? [] : ['taskset', '-c', String(cpu)]),
];
/** The directors' argv prefix: pinned to DIR_CPUS. */
const pinnedDirector = (): string[] => [...pinned(), 'taskset', '-c', DIR_CPUS];
/** minfwd ends itself after this many seconds even if nobody kills it (one path's figures take about 40 s). */
const MINFWD_MAX_S = 240;

export const sh = (lab: Lab, host: string, script: string): string =>
  execFileSync('ip', ['netns', 'exec', lab.ns(host), 'sh', '-c', script], { encoding: 'utf8', timeout: 60000 });
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface Forwarder {
  /** Path name as printed: 'minfwd', 'minfwd-ring', 'afpacket', 'afxdp', 'afxdp-skb' (or 'afxdp (fell back to afpacket)'). */
  name: string;
  pid: number;
  /** Packet-thread sleeps so far (directord only). */
  wakeups?(): Promise<number>;
  /** A harness request (directord only). */
  call?(op: string, arg?: unknown): Promise<any>;
  stop(): Promise<void>;
}

/** Compiles bench/minfwd.c with the system's cc into a temp dir; returns the binary and its cleanup. */
export function buildMinfwd(): { bin: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'dd-minfwd-'));
  const bin = join(dir, 'minfwd');
  execFileSync(process.env.CC ?? 'cc', ['-O2', '-Wall', '-o', bin, join(paths.root, 'bench', 'minfwd.c')], { stdio: 'inherit' });
  return { bin, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Spawns a child and resolves on its first stdout line that satisfies `ok` (or rejects after timeoutMs). */
async function firstLine(child: ReturnType<Lab['spawn']>, ok: (l: string) => boolean, what: string, timeoutMs: number): Promise<readline.Interface> {
  const rl = readline.createInterface({ input: child.stdout! });
  let seen = false;
  rl.on('line', (l) => {
    if (ok(l)) seen = true;
  });
  let err = '';
  child.stderr?.on('data', (d) => (err += d));
  await waitFor(what, () => seen || (child.exitCode !== null ? (() => { throw new Error(`${what}: exited ${child.exitCode}: ${err.slice(0, 500)}`); })() : false), timeoutMs);
  return rl;
}

async function killAndWait(child: ReturnType<Lab['spawn']>, sig: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill(sig);
  await Promise.race([gone, sleep(3000)]);
  if (child.exitCode === null && child.signalCode === null) {
    child.kill('SIGKILL');
    await gone;
  }
}

/**
 * minfwd pinned to FWD_CPU in the director namespace. As directord does for itself, an nftables ingress drop keeps
 * the director's kernel from answering VIP frames (the tap sees them first); it is removed again on stop.
 */
export async function startMinfwd(lab: Lab, bin: string, ring = false): Promise<Forwarder> {
  sh(lab, 'dir', `nft -f - <<'E'
table netdev minfwd {
  chain ing {
    type filter hook ingress device eth0 priority 0; policy accept;
    ip daddr ${VIP} drop
  }
}
E`);
  const child = lab.spawn('dir', [...pinned(FWD_CPU), bin, 'eth0', RS_MAC, VIP, String(MINFWD_MAX_S), ...(ring ? ['ring'] : [])]);
  try {
    await firstLine(child, (l) => l === 'ready', 'minfwd ready', 10000);
  } catch (e) {
    await killAndWait(child, 'SIGKILL');
    sh(lab, 'dir', 'nft delete table netdev minfwd');
    throw e;
  }
  return {
    name: ring ? 'minfwd-ring' : 'minfwd',
    pid: child.pid!,
    stop: async () => {
      await killAndWait(child);
      sh(lab, 'dir', 'nft delete table netdev minfwd');
    },
  };
}

/**
 * The harness's argv for one backend: the hook for more options of the packet loop (a thread count, once the
 * harness takes one) is this function.
 */
export function harnessArgv(backend: string, xdpAttach: string): string[] {
  return ['--harness', backend, 'eth0', '1', String(TABLE_SIZE), RX_RING, '', xdpAttach, String(BUSY_POLL_US), '0', String(PACKET_THREADS)];
}

/** The harness for one backend in the director namespace, pinned to DIR_CPUS, with the bench's services. */
export async function startDirector(lab: Lab, name: string): Promise<Forwarder> {
  // 'afxdp-skb': the AF_XDP backend attached in generic (skb) mode. 'afpacket+alt': AF_PACKET on the addon build
  // ALT_ADDON (a copy of directord_native.node from before a change), for a before/after pair in the same rounds.
  const alt = name.endsWith('+alt');
  if (alt && !process.env.ALT_ADDON) throw new Error(`${name}: set ALT_ADDON to the other build of directord_native.node`);
  const [backend, xdpAttach = ''] = name.replace(/\+alt$/, '').split('-');
  const env = alt ? { ...process.env, DD_HARNESS_ADDON: process.env.ALT_ADDON } : process.env;
  const h = lab.spawn('dir', [...pinnedDirector(), process.execPath, harnessJs, ...harnessArgv(backend, xdpAttach)], { stdio: ['pipe', 'pipe', 'pipe'], env });
  const rl = readline.createInterface({ input: h.stdout! });
  const replies = new Map<number, (r: any) => void>();
  let started: any;
  let nextId = 1;
  rl.on('line', (l) => {
    const r = JSON.parse(l);
    if (r.id === 0) started = r;
    replies.get(r.id)?.(r);
  });
  let err = '';
  h.stderr!.on('data', (d) => (err += d));
  await waitFor(`${backend} harness started`, () => {
    if (h.exitCode !== null) throw new Error(`harness exited ${h.exitCode}: ${err.slice(0, 500)}`);
    return started;
  }, 15000);
  const call = (op: string, arg?: unknown) => new Promise<any>((res) => {
    const id = nextId++;
    replies.set(id, (r) => res(r.result));
    h.stdin!.write(JSON.stringify({ id, op, arg }) + '\n');
  });
  const svc = (port: number, protocol: 'tcp' | 'udp') => ({ vip: VIP, port, protocol, fwmark: 0, scheduler: 'wlc', persistent: 0, pmask: '255.255.255.255',
    expireQuiescentTemplate: false, expireNodestConn: false, dests: [{ address: RS, port, weight: 1 }] });
  await call('setServices', [svc(9, 'udp'), svc(7, 'udp'), svc(5201, 'tcp'), svc(5001, 'tcp')]);
  sh(lab, 'dir', `ping -c 1 -W 1 ${RS} >/dev/null`);
  await sleep(1500);
  return {
    name: started.backend === backend ? name : `${name} (fell back to ${started.backend})`,
    pid: h.pid!,
    call,
    wakeups: async () => (await call('stats')).loopWakeups as number,
    stop: async () => {
      await Promise.race([call('stop'), sleep(5000)]);
      await killAndWait(h);
    },
  };
}

export const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());

/** CPU of a process (utime + stime) and softirq time of FWD_CPU, in clock ticks. */
export interface CpuSample {
  proc: number;
  softirq: number;
}

export function cpuSample(pid: number): CpuSample {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
  const line = readFileSync('/proc/stat', 'utf8').split('\n').find((l) => l.startsWith(`cpu${FWD_CPU} `))!;
  // cpuN user nice system idle iowait irq softirq ...
  return { proc: Number(rest[11]) + Number(rest[12]), softirq: Number(line.trim().split(/\s+/)[7]) };
}

/** Busy time (user + nice + system + irq + softirq, clock ticks) of CPU 0 (trafgen's sender core) and CPU 1 (the
 * forwarder's), from /proc/stat: what a path costs the machine per unit, whichever process or softirq paid it. */
export function coreBusy(): [number, number] {
  const lines = readFileSync('/proc/stat', 'utf8').split('\n');
  const busy = (cpu: number): number => {
    const f = lines.find((l) => l.startsWith(`cpu${cpu} `))!.trim().split(/\s+/).map(Number);
    return f[1] + f[2] + f[3] + f[6] + f[7];
  };
  return [busy(0), busy(1)];
}

/** ns of busy time of each core per unit (frame, connection, 64 KiB) between two coreBusy() samples. */
export function busyPer(a: [number, number], b: [number, number], units: number): [number, number] {
  return [0, 1].map((i) => (((b[i] - a[i]) / CLK_TCK) * 1e9) / Math.max(1, units)) as [number, number];
}

/** Voluntary context switches of every thread of a process (a sleep each, so a wake-up each): for minfwd as for
 * directord, where loopWakeups counts only the packet threads' polls. */
export function sleeps(pid: number): number {
  let n = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      n += Number(/voluntary_ctxt_switches:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8'))?.[1] ?? 0);
    } catch {
      /* thread gone */
    }
  }
  return n;
}

/** ns of CPU per frame between two samples. */
export function nsPerFrame(a: CpuSample, b: CpuSample, frames: number): { proc: number; softirq: number } {
  const ns = (ticks: number) => ((ticks / CLK_TCK) * 1e9) / Math.max(1, frames);
  return { proc: ns(b.proc - a.proc), softirq: ns(b.softirq - a.softirq) };
}
