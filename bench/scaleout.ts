// Scale-out behind BGP ECMP (issue 18), in the namespace lab of test/bgp/bgp-lab.ts (BIRD router, directors with
// BIRD + directord, scale_out = 1 and sync_peers). Parts (--parts, comma-separated):
//   death  a director's death (its link goes silent, then bird and directord are killed -9) until the router's
//          kernel route loses its next hop, with BFD at two timings and without BFD (BGP hold time 3 s: baseline);
//          and a graceful stop (SIGTERM to directord) until the withdrawal reaches the router's kernel.
//   conns  N long-lived connections (test/ha/flows.ts, a line every 250 ms each) while a 4th director is added,
//          one is drained (drain-director) and one is killed -9: connections broken at each step.
// Run as root after the build: node -r @isaacs/ts-node-temp-fork-for-pr-2009/register/transpile-only bench/scaleout.ts
//   [--parts death,conns] [--rounds 5] [--conns 10000]
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { BgpLab, BGP_LAB } from '../test/bgp/bgp-lab';
import { waitFor } from '../test/lab/lab';
import { execIn } from '../test/lab/ns-exec';
import { paths } from '../test/lab/build-lab';

const argOf = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const PARTS = argOf('--parts', 'death,conns').split(',');
const ROUNDS = Number(argOf('--rounds', '5'));
const CONNS = Number(argOf('--conns', '10000'));

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : NaN;
};
const fmt = (xs: number[]): string => `median ${median(xs).toFixed(0)} ms, min ${Math.min(...xs).toFixed(0)}, max ${Math.max(...xs).toFixed(0)} (n=${xs.length})`;

/** Start a poller in the router namespace; resolves with the wall time (ms) at which `hop` left the VIP's route. */
function hopGone(b: BgpLab, hop: string): Promise<number> {
  const script = `while ip route show ${BGP_LAB.vip} | grep -q "via ${hop} "; do :; done; date +%s.%N`;
  return execIn(b.lab, 'router', ['sh', '-c', script], 400_000).then((r) => Number(r.stdout.trim()) * 1000);
}

/** Wall time (ms) of a command run in a lab host, taken in the same shell just before it. */
async function timed(b: BgpLab, host: string, cmd: string): Promise<number> {
  const r = await execIn(b.lab, host, ['sh', '-c', `date +%s.%N; ${cmd}`]);
  return Number(r.stdout.split('\n')[0]) * 1000;
}

async function deathPart(): Promise<void> {
  const variants: { name: string; bfd: number; mult: number; hold?: number }[] = [
    { name: 'BFD 50 ms x 3', bfd: 0.05, mult: 3 },
    { name: 'BFD 100 ms x 3', bfd: 0.1, mult: 3 },
    { name: 'no BFD, hold time 3 s (baseline)', bfd: 0, mult: 3, hold: 3 },
  ];
  const stops: number[] = [];
  for (const v of variants) {
    const b = await BgpLab.create({ directors: 2, bfdInterval: v.bfd, bfdMultiplier: v.mult });
    b.holdTime = v.hold;
    const times: number[] = [];
    let flaps = 0;
    try {
      for (const i of [1, 2]) await b.startDirector(i);
      for (let r = 0; r < ROUNDS; r++) {
        await b.waitNextHops([1, 2], 60_000);
        await new Promise((res) => setTimeout(res, 1000));
        const gone = hopGone(b, BGP_LAB.director(2));
        await new Promise((res) => setTimeout(res, 200)); // the poller is running
        const t0 = await timed(b, 'sw', `ip link set ${b.lab.switchPort('d2')} down`);
        await b.killDirector(2);
        const dt = (await gone) - t0;
        // Gone before the death: BFD flapped on the loaded host between the check and the kill; not a measurement.
        if (dt < 0) flaps++;
        else times.push(dt);
        console.log(`  ${v.name}: round ${r + 1}: ${dt < 0 ? `next hop already gone ${(-dt).toFixed(0)} ms before the death (BFD flap): not counted` : `${dt.toFixed(0)} ms`}`);
        await b.lab.sh('sw', `ip link set ${b.lab.switchPort('d2')} up`);
        await b.startDirector(2);
      }
      if (v.bfd === 0.1) {
        // Graceful: SIGTERM to directord; bird stays, the route is withdrawn before the daemon exits.
        for (let r = 0; r < ROUNDS; r++) {
          await b.waitNextHops([1, 2], 60_000);
          await new Promise((res) => setTimeout(res, 1000));
          const gone = hopGone(b, BGP_LAB.director(2));
          await new Promise((res) => setTimeout(res, 200));
          const t0 = Date.now();
          b.directors.get(2)!.signal('SIGTERM');
          stops.push((await gone) - t0);
          console.log(`  SIGTERM: round ${r + 1}: ${stops.at(-1)!.toFixed(0)} ms`);
          await waitFor('d2 exited', () => !b.directors.get(2)!.running, 20_000, 50);
          await b.startDirector(2);
        }
      }
    } finally {
      await b.destroy();
    }
    console.log(`death to withdrawal, ${v.name}: ${fmt(times)}${flaps ? `; ${flaps} round(s) not counted (flap before the death)` : ''}`);
  }
  console.log(`SIGTERM to withdrawal (BFD 100 ms x 3 lab): ${fmt(stops)}`);
}

interface Check { alive: number; broken: number; closed: number; changed: number; servers: Record<string, number> }

function flowsClient(b: BgpLab, n: number, sources: string[]): { child: ChildProcess; check(waitMs?: number): Promise<Check> } {
  const flowsJs = join(paths.root, 'dist', 'test', 'ha', 'flows.js');
  const child = b.lab.spawn('client', [process.execPath, flowsJs, 'client', BGP_LAB.vip, String(BGP_LAB.port), String(n), ...sources], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (x) => (out += x));
  return {
    child,
    async check(waitMs = 15_000) {
      const before = out.split('\n').filter(Boolean).length;
      child.stdin!.write(`check ${waitMs}\n`);
      const line = await waitFor('client report', () => out.split('\n').filter(Boolean)[before], waitMs + 30_000, 100);
      return JSON.parse(line) as Check;
    },
  };
}

async function connsPart(): Promise<void> {
  const b = await BgpLab.create({ directors: 4, bfdInterval: 0.1, bfdMultiplier: 5, syncPeers: [1, 2, 3, 4], serversAnswer: 'name-each-line' });
  try {
    const sources = Array.from({ length: 20 }, (_, i) => `10.1.0.${100 + i}`);
    await b.lab.sh('client', sources.map((a) => `ip addr add ${a}/24 dev eth0`).join(' && '));
    for (const i of [1, 2, 3]) await b.startDirector(i);
    await b.waitNextHops([1, 2, 3], 60_000);
    const c = flowsClient(b, CONNS, sources);
    const first = await c.check(180_000);
    console.log(`conns: ${first.alive} of ${CONNS} connections answering through 3 directors (${JSON.stringify(first.servers)})`);
    const steps: [string, () => Promise<unknown>][] = [
      ['add a 4th director', async () => {
        await b.startDirector(4);
        await b.waitNextHops([1, 2, 3, 4], 60_000);
      }],
      ['drain director 1 (drain-director)', async () => {
        await b.directors.get(1)!.ctl(['drain-director'], 30_000);
        await b.waitNextHops([2, 3, 4], 60_000);
      }],
      ['kill -9 director 2 (link silent, bird + directord killed)', async () => {
        await b.killDirector(2);
        await b.waitNextHops([3, 4], 60_000);
      }],
    ];
    for (const [what, run] of steps) {
      await run();
      const r = await c.check(30_000);
      console.log(`conns: ${what}: ${r.broken} of ${CONNS} broken (${r.closed} closed, ${r.changed} changed real server)`);
    }
    c.child.kill('SIGKILL');
  } finally {
    await b.destroy();
  }
}

void (async () => {
  if (PARTS.includes('death')) await deathPart();
  if (PARTS.includes('conns')) await connsPart();
  process.exit(0);
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
