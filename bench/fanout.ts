// Packet-thread scaling of the AF_PACKET backend: a namespace lab (client, director, one real server; 4-queue veths),
// ROUNDS (default 3) paired rounds of 1 and 2 packet threads (THREADS=1,2) forwarding 64-byte UDP frames of 256
// flows (so PACKET_FANOUT_HASH has flows to spread) from one trafgen sender core: forwarded frames/s, director CPU
// per forwarded frame (process CPU time: all its threads), the table lock's contention (batches that waited, and
// the wait per frame), the time the lock is held per frame (the serial part: with s = hold / CPU per frame, N threads
// can at best reach 1 / (s + (1 - s) / N) of one thread, Amdahl), and how the threads shared the frames. Medians
// with the spread; ratios to 1 thread.
// Run as root: node -r @isaacs/ts-node-temp-fork-for-pr-2009/register/transpile-only bench/fanout.ts
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { DataPlaneLab, DIR_MAC, VIP, dests, service } from '../test/dataplane/dplab';
import type { DataPlaneStats } from '../src/dataplane/types';

const ROUNDS = Number(process.env.ROUNDS ?? 3);
const THREADS = (process.env.THREADS ?? '1,2').split(',').map(Number);
const WINDOW_S = Number(process.env.WINDOW_S ?? 5);
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function cpuTicks(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return Number(rest[11]) + Number(rest[12]); // utime + stime of every thread
}

interface Round { threads: number; fwd: number; offered: number; cpuNsPerFrame: number; contended: number; waitNsPerFrame: number; holdNsPerFrame: number; share: number[] }

async function round(d: DataPlaneLab, threads: number): Promise<Round> {
  await d.startHarness(true, '', 'afpacket', '', '', 0, 1 << 16, 0, threads);
  await d.call('setServices', [service({ port: 9, protocol: 'udp', scheduler: 'rr', dests: dests(1, 9) })]);
  await d.waitForMacs();
  const conf = `{ eth(da=${DIR_MAC}, sa=02:61:00:00:01:01), ipv4(saddr=10.61.1.1, daddr=${VIP}, ttl=64), udp(sp=dinc(1000, 1255), dp=9), fill(0x41, 18) }`;
  // Bounded: at most 20M frames, killed after the window.
  const tg = d.lab.spawn('cli', ['trafgen', '-o', 'eth0', '-P', '1', '-n', String(20_000_000), '-C', '--no-sock-mem', '-Q', conf]);
  await sleep(1000);
  const pid = d.harnessPid!;
  const s0 = await d.call<DataPlaneStats>('stats');
  const [rx0, tx0, c0, t0] = [(await d.ifStats('rs1')).rxPackets, (await d.ifStats('cli')).txPackets, cpuTicks(pid), Date.now()];
  await sleep(WINDOW_S * 1000);
  const [rx1, tx1, c1, secs] = [(await d.ifStats('rs1')).rxPackets, (await d.ifStats('cli')).txPackets, cpuTicks(pid), (Date.now() - t0) / 1000];
  const s1 = await d.call<DataPlaneStats>('stats');
  tg.kill('SIGKILL');
  for (const p of execFileSync('ip', ['netns', 'pids', d.lab.ns('cli')], { encoding: 'utf8' }).split('\n').filter(Boolean)) {
    try {
      if (readFileSync(`/proc/${p}/comm`, 'utf8').trim() === 'trafgen') process.kill(Number(p), 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  await d.call('stop');
  await sleep(500);
  const frames = Math.max(1, rx1 - rx0);
  const per = (s1.threadFrames ?? []).map((n, i) => n - (s0.threadFrames?.[i] ?? 0));
  const total = Math.max(1, per.reduce((a, b) => a + b, 0));
  return {
    threads, fwd: frames / secs, offered: (tx1 - tx0) / secs,
    cpuNsPerFrame: (((c1 - c0) / CLK_TCK) * 1e9) / frames,
    contended: ((s1.lockContended ?? 0) - (s0.lockContended ?? 0)) / Math.max(1, (s1.lockTaken ?? 0) - (s0.lockTaken ?? 0)),
    waitNsPerFrame: ((s1.lockWaitNs ?? 0) - (s0.lockWaitNs ?? 0)) / frames,
    holdNsPerFrame: ((s1.lockHoldNs ?? 0) - (s0.lockHoldNs ?? 0)) / frames,
    share: per.map((n) => n / total),
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const spread = (xs: number[], f: (x: number) => string) => `${f(median(xs))} (${f(Math.min(...xs))}–${f(Math.max(...xs))})`;

async function main(): Promise<void> {
  const d = await DataPlaneLab.create(1, { queues: 4 });
  const results: Round[] = [];
  try {
    d.startServers(9, 1);
    for (let r = 0; r < ROUNDS; r++) {
      const order = r % 2 === 0 ? THREADS : [...THREADS].reverse();   // paired, alternating order
      for (const n of order) {
        const x = await round(d, n);
        results.push(x);
        console.error(`round ${r + 1} threads ${n}: ${Math.round(x.fwd)} fwd/s of ${Math.round(x.offered)} offered, ${x.cpuNsPerFrame.toFixed(0)} ns CPU/frame, lock contended ${(x.contended * 100).toFixed(2)} %, wait ${x.waitNsPerFrame.toFixed(1)} ns/frame, held ${x.holdNsPerFrame.toFixed(0)} ns/frame, share ${x.share.map((s) => s.toFixed(2)).join('/')}`);
      }
    }
  } finally {
    await d.destroy();
  }
  const base = median(results.filter((x) => x.threads === THREADS[0]).map((x) => x.fwd));
  console.log(`| packet threads | forwarded frames/s | vs ${THREADS[0]} thread(s) | offered frames/s | forwarded / offered | director CPU ns/frame | lock batches contended | lock wait ns/frame | lock held ns/frame |`);
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const n of THREADS) {
    const xs = results.filter((x) => x.threads === n);
    console.log(`| ${n} | ${spread(xs.map((x) => x.fwd), (v) => `${Math.round(v / 1000)}k`)} | ${(median(xs.map((x) => x.fwd)) / base).toFixed(2)} | ${spread(xs.map((x) => x.offered), (v) => `${Math.round(v / 1000)}k`)} | ${spread(xs.map((x) => x.fwd / x.offered), (v) => v.toFixed(2))} | ${spread(xs.map((x) => x.cpuNsPerFrame), (v) => v.toFixed(0))} | ${spread(xs.map((x) => x.contended * 100), (v) => `${v.toFixed(2)} %`)} | ${spread(xs.map((x) => x.waitNsPerFrame), (v) => v.toFixed(1))} | ${spread(xs.map((x) => x.holdNsPerFrame), (v) => v.toFixed(0))} |`);
  }
  const one = results.filter((x) => x.threads === 1);
  if (one.length) {
    const s = median(one.map((x) => x.holdNsPerFrame / x.cpuNsPerFrame));
    console.log(`\nserial fraction (lock held / CPU per frame, 1 thread): ${(s * 100).toFixed(1)} %; Amdahl bound: ${[2, 4, 8].map((n) => `${n} threads ${(1 / (s + (1 - s) / n)).toFixed(2)}x`).join(', ')}`);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
