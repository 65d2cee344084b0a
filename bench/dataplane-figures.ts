// One path's figures for bench/dataplane.ts, each over its own window on the lab that file builds: 64-byte frames/s
// (trafgen) with the CPU and wake-up accounting of bench/forwarders.ts, the true 2x overload under a CPU quota, TCP
// throughput (iperf3), new connections/s, UDP round trips, and the optional `perf record` of one of those windows.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import type { Lab } from '../test/lab/lab';
import { busyPer, coreBusy, cpuSample, FLOWS, sleeps, FWD_CPU, nsPerFrame, pinned, sh, sleep, VIP, type Forwarder } from './forwarders';

export const CLI_MAC = '02:61:00:00:01:01';
export const DIR_MAC = '02:61:00:00:00:02';
const WINDOW_S = 5;
// FIGURES: all, or a list of pps, tcp, conn, rtt (FIGURES=pps: a quick look while tuning the packet loop; conn:
// the connection rate alone, with the frames/s window for the CPU figures).
export const FIGURES = process.env.FIGURES ?? 'all';
export const FIGS = new Set(FIGURES === 'all' ? ['pps', 'tcp', 'conn', 'rtt'] : ['pps', ...FIGURES.split(',')]);
// PERF=label: a `perf record -g` of CPUs PERF_CPUS (default the forwarder's) in round 1 for each path, during the
// window named by PERF_WINDOW: pps (default: 3 s right after the frames/s window, the sender still running), or
// tcpOn, tcpOff, conn, rtt (3 s from 1 s into that figure's own window).
const PERF_WINDOW = process.env.PERF_WINDOW ?? 'pps';
if (!['pps', 'tcpOn', 'tcpOff', 'conn', 'rtt'].includes(PERF_WINDOW)) throw new Error(`PERF_WINDOW=${PERF_WINDOW}: pps, tcpOn, tcpOff, conn or rtt`);
// QUOTA: the share of a core the director keeps for the true-2x overload figure.
export const QUOTA = Number(process.env.QUOTA ?? 0.25);
// SENDER=copy: trafgen sends through sendto() (-t 0) instead of its zero-copy TX ring (a lab variant, dataplane.ts).
export const SENDER = process.env.SENDER ?? 'ring';
if (SENDER !== 'ring' && SENDER !== 'copy') throw new Error(`SENDER=${SENDER}: ring or copy`);
// PPS_RATE=n: the frames/s window offers n frames/s (trafgen -b) instead of all the sender core can. Every path then
// forwards the same rate, so its CPU per frame compares work: at full rate the forwarders never sleep and their
// CPU per frame follows the sender's rate (docs/benchmarks.md, "Against the minimal forwarder").
export const PPS_RATE = process.env.PPS_RATE ? Number(process.env.PPS_RATE) : undefined;
if (PPS_RATE !== undefined && !(PPS_RATE > 0)) throw new Error(`PPS_RATE=${process.env.PPS_RATE}: frames/s`);

function counter(lab: Lab, host: string, name: string): number {
  return Number(sh(lab, host, `cat /sys/class/net/eth0/statistics/${name}`).trim());
}

interface PpsOptions {
  /** Offered frames/s (trafgen -b); default: as fast as the sender cores go. */
  rate?: number;
  windowS?: number;
  /** Time a control request (the harness's `stats`) every 50 ms during the window. */
  probeControl?: boolean;
  /** PERF=label: after the window, a 3 s `perf record -g` of the forwarder's core into perf-<label>-<this>.data. */
  perfTag?: string;
}

interface PpsResult {
  fwd: number;
  offered: number;
  /** The forwarder's CPU per forwarded frame, ns: its process time, and the softirq time of its core. */
  cpu?: { proc: number; softirq: number };
  wakeupsPerFrame?: number;
  /** Busy time of CPU 0 and CPU 1 per forwarded frame, ns. */
  busy: [number, number];
  /** The forwarder's voluntary context switches (all threads) per forwarded frame. */
  sleepsPerFrame: number;
  /** Control-request round trips during the window, ms. */
  control?: { p50: number; max: number; n: number };
}

/** trafgen 60-byte UDP frames to :9 (fixed ports: one connection) from `cpus` sender processes; counts over the window. */
export async function pps(lab: Lab, dstMac: string, dstIp: string, cpus: number, fw?: Forwarder, o: PpsOptions = {}): Promise<PpsResult> {
  const windowS = o.windowS ?? WINDOW_S;
  const conf = `{ eth(da=${dstMac}, sa=${CLI_MAC}), ipv4(saddr=10.61.1.1, daddr=${dstIp}, ttl=64), udp(sp=${FLOWS > 1 ? `dinc(4000, ${4000 + FLOWS - 1})` : '4000'}, dp=9), fill(0x41, 18) }`;
  const rate = o.rate ? ['-b', `${Math.round(o.rate)}pps`] : [];
  const copy = SENDER === 'copy' ? ['-t', '0'] : [];
  const tg = lab.spawn('cli', [...pinned(), 'trafgen', '-o', 'eth0', '-P', String(cpus), '-n', String(6_000_000), '-C', '--no-sock-mem', '-Q', ...copy, ...rate, conf]);
  await sleep(1000);
  const rx0 = counter(lab, 'rs1', 'rx_packets'), tx0 = counter(lab, 'cli', 'tx_packets');
  const c0 = fw ? cpuSample(fw.pid) : undefined;
  const b0 = coreBusy();
  const w0 = fw?.wakeups ? await fw.wakeups() : 0;
  const z0 = fw ? sleeps(fw.pid) : 0;
  const t0 = Date.now();
  const lat: number[] = [];
  if (o.probeControl && fw?.call) {
    while (Date.now() - t0 < windowS * 1000) {
      const q = process.hrtime.bigint();
      await fw.call('stats');
      lat.push(Number(process.hrtime.bigint() - q) / 1e6);
      await sleep(50);
    }
  } else await sleep(windowS * 1000);
  const rx1 = counter(lab, 'rs1', 'rx_packets'), tx1 = counter(lab, 'cli', 'tx_packets');
  const c1 = fw ? cpuSample(fw.pid) : undefined;
  const w1 = fw?.wakeups ? await fw.wakeups() : 0;
  const z1 = fw ? sleeps(fw.pid) : 0;
  const secs = (Date.now() - t0) / 1000;
  const b1 = coreBusy();
  if (o.perfTag) await perfRecord(o.perfTag, 0);
  // trafgen forks one sender per CPU: end every trafgen of this lab's client namespace, by PID.
  tg.kill('SIGKILL');
  for (const pid of execFileSync('ip', ['netns', 'pids', lab.ns('cli')], { encoding: 'utf8' }).split('\n').filter(Boolean)) {
    try {
      if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'trafgen') process.kill(Number(pid), 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  await sleep(1000);
  const fwd = (rx1 - rx0) / secs;
  const frames = Math.max(1, rx1 - rx0);
  lat.sort((a, b) => a - b);
  return {
    fwd, offered: (tx1 - tx0) / secs,
    cpu: c0 && c1 ? nsPerFrame(c0, c1, frames) : undefined,
    wakeupsPerFrame: fw?.wakeups ? (w1 - w0) / frames : undefined,
    busy: busyPer(b0, b1, frames),
    sleepsPerFrame: (z1 - z0) / frames,
    control: lat.length ? { p50: lat[Math.floor(lat.length / 2)], max: lat[lat.length - 1], n: lat.length } : undefined,
  };
}

/**
 * A true 2x overload. Two sender cores offer only ~1.1-1.5x of what a director forwards in this 2-core lab, so the
 * director is held to QUOTA of a core (a cgroup-v1 CFS quota, 10 ms periods) to lower what it can forward; a rate
 * sweep finds that peak, then one sender offers exactly twice the peak while the control socket is timed.
 */
export async function overloadUnderQuota(lab: Lab, dir: Forwarder): Promise<{ peak: number; offered: number; fwd: number; control?: PpsResult['control'] } | undefined> {
  const root = '/sys/fs/cgroup/cpu';
  if (!existsSync(`${root}/cpu.cfs_quota_us`)) return undefined;
  const cg = `${root}/directord-bench-${process.pid}`;
  mkdirSync(cg);
  try {
    writeFileSync(`${cg}/cpu.cfs_period_us`, '10000');
    writeFileSync(`${cg}/cpu.cfs_quota_us`, String(Math.round(10000 * QUOTA)));
    writeFileSync(`${cg}/cgroup.procs`, String(dir.pid));
    // Up in 20k steps until three steps in a row bring no new peak.
    let peak = 0;
    let flat = 0;
    for (let rate = 20_000; rate <= 300_000 && flat < 3; rate += 20_000) {
      const r = await pps(lab, DIR_MAC, VIP, 1, dir, { rate, windowS: 2 });
      flat = r.fwd > peak * 1.02 ? 0 : flat + 1;
      peak = Math.max(peak, r.fwd);
    }
    const r = await pps(lab, DIR_MAC, VIP, 1, dir, { rate: 2 * peak, probeControl: true });
    return { peak, offered: r.offered, fwd: r.fwd, control: r.control };
  } finally {
    writeFileSync(`${root}/cgroup.procs`, String(dir.pid));
    rmdirSync(cg);
  }
}

/** A 3 s `perf record -g` of CPUs PERF_CPUS into perf-<tag>.data, after `delayMs`. */
async function perfRecord(tag: string, delayMs: number): Promise<void> {
  await sleep(delayMs);
  const p = spawn('perf', ['record', '-C', process.env.PERF_CPUS ?? String(FWD_CPU), '-g', '--no-buildid-cache', '-o', `perf-${tag}.data`, '--', 'sleep', '3'], { stdio: 'ignore' });
  const killer = setTimeout(() => p.kill('SIGKILL'), 120000);
  await new Promise((r) => p.once('exit', r));
  clearTimeout(killer);
}

/** Runs a figure's measurement, with the busy time of both cores over it and (PERF_WINDOW names it) a profile. */
async function timed<T>(what: string, perfTag: string | undefined, run: () => Promise<T>): Promise<{ r: T; busy0: [number, number]; busy1: [number, number] }> {
  const busy0 = coreBusy();
  const perf = perfTag && PERF_WINDOW === what ? perfRecord(perfTag, 1000) : undefined;
  const r = await run();
  const busy1 = coreBusy();
  await perf;
  return { r, busy0, busy1 };
}

async function iperf(lab: Lab, target: string, offloads: boolean): Promise<number> {
  sh(lab, 'cli', `ethtool -K eth0 tx ${offloads ? 'on' : 'off'} tso ${offloads ? 'on' : 'off'} gso ${offloads ? 'on' : 'off'} >/dev/null 2>&1 || true`);
  const r = await lab.exec('cli', [...pinned(), 'iperf3', '-c', target, '-t', String(WINDOW_S), '-J'], { timeoutMs: 30000 });
  let j: { end?: { sum_received?: { bits_per_second: number } } } = {};
  try {
    j = JSON.parse(r.stdout);
  } catch {
    console.error(`iperf3 to ${target} failed: ${r.stdout.slice(0, 300)} ${r.stderr.slice(0, 300)}`);
  }
  return (j.end?.sum_received?.bits_per_second ?? 0) / 1e9;
}

// 32 connects in flight, each reset right after connect (no TIME_WAIT), for WINDOW_S seconds.
const CONNRATE_JS = `
const net = require('net'); const [host, secs] = process.argv.slice(1); let done = 0, errs = 0; const end = Date.now() + Number(secs) * 1000;
function one() { if (Date.now() > end) return; const s = net.connect({ host, port: 5001 });
  s.on('connect', () => { done++; s.resetAndDestroy(); one(); }); s.on('error', () => { errs++; one(); }); }
for (let i = 0; i < 32; i++) one(); setTimeout(() => { console.log(JSON.stringify({ rate: done / Number(secs), errs })); process.exit(0); }, Number(secs) * 1000 + 200);
`;

async function connRate(lab: Lab, target: string): Promise<number> {
  const r = await lab.exec('cli', [...pinned(), process.execPath, '-e', CONNRATE_JS, target, String(WINDOW_S)], { timeoutMs: 30000 });
  return (JSON.parse(r.stdout) as { rate: number }).rate;
}

// Sequential UDP round trips to the echo server on :7; prints p50/p99 in µs.
const RTT_JS = `
const d = require('dgram').createSocket('udp4'); const [host, n] = process.argv.slice(1); const xs = []; let t0;
d.on('message', () => { xs.push(Number(process.hrtime.bigint() - t0) / 1000); if (xs.length === Number(n)) { xs.sort((a, b) => a - b);
  console.log(JSON.stringify({ p50: xs[Math.floor(xs.length * 0.5)], p99: xs[Math.floor(xs.length * 0.99)] })); process.exit(0); } else send(); });
function send() { t0 = process.hrtime.bigint(); d.send('x', 7, host); } d.bind(0, send);
`;

async function rtt(lab: Lab, target: string): Promise<{ p50: number; p99: number }> {
  const r = await lab.exec('cli', [...pinned(), process.execPath, '-e', RTT_JS, target, '3000'], { timeoutMs: 60000 });
  return JSON.parse(r.stdout) as { p50: number; p99: number };
}

export type Sample = { pps: number; offered: number; tcpOn: number; tcpOff: number; conn: number; p50: number; p99: number; proc: number; softirq: number; wake: number; over?: { fwd: number; offered: number };
  /** Busy ns of CPU 0 and CPU 1 per unit of each figure: frame, 64 KiB of TCP payload, connection. */
  busy: Partial<Record<'pps' | 'tcpOn' | 'tcpOff' | 'conn', [number, number]>>;
  /** The forwarder process's CPU (utime + stime) per connection over the conn/s window, ns. */
  connProc?: number;
  sleepsPps: number;
  /** The forwarder's sleeps (voluntary context switches, all threads) per connection over that window. */
  connSleeps?: number };

/** One path's figures: frames/s (1 sender core), then TCP both ways, conn/s and round trips unless FIGURES=pps. */
export async function one(lab: Lab, mac: string, ip: string, fw: Forwarder | undefined, perfTag?: string): Promise<Sample> {
  const p = await pps(lab, mac, ip, 1, fw, { rate: PPS_RATE, perfTag: PERF_WINDOW === 'pps' ? perfTag : undefined });
  const s: Sample = { pps: p.fwd, offered: p.offered, proc: p.cpu?.proc ?? 0, softirq: p.cpu?.softirq ?? 0, wake: p.wakeupsPerFrame ?? 0, sleepsPps: p.sleepsPerFrame, tcpOn: 1, tcpOff: 1, conn: 1, p50: 1, p99: 1, busy: { pps: p.busy } };
  const per64k = (gbit: number) => (gbit * 1e9 / 8 * WINDOW_S) / 65536;
  if (FIGS.has('tcp')) {
    for (const [k, on] of [['tcpOn', true], ['tcpOff', false]] as const) {
      const t = await timed(k, perfTag, () => iperf(lab, ip, on));
      s[k] = t.r;
      s.busy[k] = busyPer(t.busy0, t.busy1, per64k(t.r));
    }
    sh(lab, 'cli', 'ethtool -K eth0 tx on tso on gso on >/dev/null 2>&1 || true');
  }
  if (FIGS.has('conn')) {
    const c0 = fw ? cpuSample(fw.pid) : undefined;
    const z0 = fw ? sleeps(fw.pid) : 0;
    const t = await timed('conn', perfTag, () => connRate(lab, ip));
    const c1 = fw ? cpuSample(fw.pid) : undefined;
    s.conn = t.r;
    s.busy.conn = busyPer(t.busy0, t.busy1, t.r * WINDOW_S);
    if (c0 && c1) s.connProc = nsPerFrame(c0, c1, t.r * WINDOW_S).proc;
    if (fw) s.connSleeps = (sleeps(fw.pid) - z0) / Math.max(1, t.r * WINDOW_S);
  }
  if (FIGS.has('rtt')) {
    const t = (await timed('rtt', perfTag, () => rtt(lab, ip))).r;
    s.p50 = t.p50;
    s.p99 = t.p99;
  }
  return s;
}
