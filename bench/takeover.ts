// Failover time: keepalive 0.2 s / deadtime 0.6 s, N kill -9s of the active HaNode runner in a namespace lab;
// time from the kill until the client's TCP connect to the VIP is answered by the new director. The reference is the
// configuration, not a healthy connect (which says nothing about failover): the backup may act between
// deadtime - keepalive (the last heartbeat left just before the kill) and deadtime after the kill, so each figure is
// printed as a ratio to deadtime, next to that window. Anchor: keepalived's VRRP default master-down time is
// 3 x advert_int + skew, about 3.5 s at advert_int 1 (anchors.md 2.2); printed for comparison, not measured here.
// Run as root: node -r @isaacs/ts-node-temp-fork-for-pr-2009/register/transpile-only bench/takeover.ts [failovers]
import type { ChildProcess } from 'node:child_process';
import { HaLab } from '../test/ha/ha-lab';
import { waitFor } from '../test/lab/lab';
import { HA_LAB } from '../test/ha/lab-config';

const FAILOVERS = Number(process.argv[2] ?? 10);
const DEADTIME = 0.6;
const KEEPALIVE = 0.2;
const PORT = 9000;

// Each director runs a listener that names itself, so the client can tell which node answered on the VIP.
const listener = `require('net').createServer(s=>s.end(process.argv[1]+'\\n')).listen(${PORT})`;
// The probe connects to VIP:PORT every 10 ms (100 ms connect timeout) until the expected node answers.
const probe = `const net=require('net');const want=process.argv[1];console.log('ready');
(function go(){const s=net.connect({host:'${HA_LAB.vip}',port:${PORT},timeout:100});let d='';
s.on('data',x=>d+=x);s.on('timeout',()=>s.destroy());
s.on('close',()=>{if(d.trim()===want){console.log('reached '+Date.now());process.exit(0)}setTimeout(go,10)});s.on('error',()=>{});})();`;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

async function runProbe(h: HaLab, want: string, during?: () => void): Promise<number> {
  const p: ChildProcess = h.lab.spawn('client', [process.execPath, '-e', probe, want]);
  let out = '';
  p.stdout!.on('data', (d) => (out += d));
  await waitFor('probe ready', () => out.includes('ready'), 5000, 5);
  const t0 = Date.now();
  during?.();
  const m = await waitFor('probe reached', () => /reached (\d+)/.exec(out), 15000, 5);
  return Number(m[1]) - t0;
}

async function main(): Promise<void> {
  const h = await HaLab.create();
  try {
    const timing = { keepalive: KEEPALIVE, deadtime: DEADTIME, garpInterval: 0.2 };
    for (const n of ['lb1', 'lb2']) h.lab.spawn(n, [process.execPath, '-e', listener, n]);
    h.start('lb1', timing);
    await h.waitState('lb1', 'active');
    h.start('lb2', timing);
    await waitFor('lb2 standby', () => h.status('lb2')?.peer.alive && h.status('lb2')?.state === 'standby', 5000, 20);

    const takeovers: number[] = [];
    let active: 'lb1' | 'lb2' = 'lb1';
    for (let i = 0; i < FAILOVERS; i++) {
      const standby: 'lb1' | 'lb2' = active === 'lb1' ? 'lb2' : 'lb1';
      const ms = await runProbe(h, standby, () => h.kill(active, 'SIGKILL'));
      takeovers.push(ms);
      process.stdout.write(`failover ${i + 1}: ${active} killed, ${standby} reached after ${ms} ms\n`);
      // Bring the killed node back (it clears its stale VIP) and let it settle as standby.
      await h.waitExit(active);
      h.start(active, timing);
      const back = active;
      await waitFor(`${back} standby`, () => h.status(back)?.peer.alive && h.status(back)?.state === 'standby', 8000, 20);
      await new Promise((r) => setTimeout(r, 1000)); // let the GARP burst finish
      active = standby;
    }
    const med = median(takeovers);
    const max = Math.max(...takeovers);
    const dead = DEADTIME * 1000;
    const earliest = Math.round((DEADTIME - KEEPALIVE) * 1000);
    console.log(JSON.stringify({ failovers: takeovers.length, keepaliveS: KEEPALIVE, deadtimeMs: dead, medianMs: med, maxMs: max, takeoversMs: takeovers }));
    console.log(`takeover (kill -9 → client served by the new director): median ${med} ms, max ${max} ms over ${takeovers.length}`);
    console.log(`reference: deadtime ${dead} ms (the backup may act from ${earliest} ms) → median/deadtime = ${(med / dead).toFixed(2)}, max/deadtime = ${(max / dead).toFixed(2)}`);
    console.log(`anchor (not measured): keepalived VRRP at its default advert_int 1 s takes over after ~3500 ms → median/anchor = ${(med / 3500).toFixed(2)}`);
  } finally {
    await h.destroy();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
