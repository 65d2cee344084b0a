// Lab: docs/deploy.md's rolling migration from Piranha, step by step, with a pulse stand-in (pulse's exact 4-byte
// heartbeats, pulse's rules, the VIP by ip addr + arping) on lb1, directord (HaNode runner) on lb2 then lb1, and a
// client querying through the VIP all along: never two VIP holders, a bounded stall, directord's protocol at the end.
import t, { type Test } from 'tap';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import { labAvailable, waitFor } from '../lab/lab';
import { paths } from '../lab/build';
import { HaLab } from './ha-lab';
import { HA_LAB } from './lab-config';

const skip = !labAvailable() && 'needs root and ip netns';
const standinJs = join(paths.root, 'dist', 'test', 'ha', 'pulse-standin.js');
const KEEPALIVE = 0.2;
const DEADTIME = 0.6;
const noKey = { heartbeatKeyFile: undefined }; // pulse cannot authenticate: the mixed pair runs without a key

interface StandinStatus { active: boolean; sent: number; received: number; running: number; stopped: number; bad: number; activations: number; deactivations: number }

function startStandin(h: HaLab, host: 'lb1' | 'lb2', role: 'master' | 'backup'): { child: ChildProcess; status: () => StandinStatus | undefined } {
  const statusFile = join(h.dir, `pulse-${host}.json`);
  const self = host === 'lb1' ? HA_LAB.lb1 : HA_LAB.lb2;
  const partner = host === 'lb1' ? HA_LAB.lb2 : HA_LAB.lb1;
  const spec = { role, self, partner, vip: HA_LAB.vip, prefix: 20, dev: 'eth0', label: 'eth0:6', keepalive: KEEPALIVE, deadtime: DEADTIME, statusFile };
  const child = h.lab.spawn(host, [process.execPath, standinJs, JSON.stringify(spec)]);
  return {
    child,
    status: () => {
      try {
        return JSON.parse(readFileSync(statusFile, 'utf8')) as StandinStatus;
      } catch {
        return undefined;
      }
    },
  };
}

/** The service behind the VIP: whichever namespace holds it answers with its name (the data plane is not the subject). */
function startServices(h: HaLab): void {
  for (const host of ['lb1', 'lb2']) {
    h.lab.spawn(host, [process.execPath, '-e', `require('net').createServer((s)=>s.end('${host}\\n')).listen(3306)`]);
  }
}

/** A client querying VIP:3306 every 50 ms (250 ms timeout) for at most maxS seconds; one JSON line per answer. */
function startClient(h: HaLab, maxS: number): { child: ChildProcess; answers: Array<{ t: number; who: string }> } {
  const script = `const net=require('net');const end=Date.now()+${maxS * 1000};
const q=()=>{if(Date.now()>end)process.exit(0);const s=net.connect({host:'${HA_LAB.vip}',port:3306});let d='';const done=(w)=>{clearTimeout(to);s.destroy();if(w)process.stdout.write(JSON.stringify({t:Date.now(),who:w})+'\\n');setTimeout(q,50);};
const to=setTimeout(()=>done(),250);s.on('data',(b)=>d+=b);s.on('end',()=>done(d.trim()));s.on('error',()=>done());};q();`;
  const child = h.lab.spawn('client', [process.execPath, '-e', script]);
  const answers: Array<{ t: number; who: string }> = [];
  let buf = '';
  child.stdout!.on('data', (d) => {
    buf += d;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (line) answers.push(JSON.parse(line) as { t: number; who: string });
    }
  });
  return { child, answers };
}

/** Sample both namespaces' addresses continuously until stopped; the ground truth for "two VIP holders". */
function sampleHolders(t: Test, h: HaLab): { stop: () => Promise<{ samples: number; double: number; none: number }> } {
  let running = true;
  t.teardown(() => void (running = false)); // also when an assertion throws before stop()
  const r = { samples: 0, double: 0, none: 0 };
  const loop = (async () => {
    while (running) {
      const holders = await h.vipHolders();
      r.samples++;
      // vipHolders reads lb1, then lb2 (an `ip` each, tens of ms apart under load): a handover lb1 → lb2 between the
      // two reads looks like two holders. Two holders only when a second reading, begun after lb2 was seen holding,
      // still finds both (a real overlap that long is caught; a shorter one was never within this sampler's reach).
      if (holders.length > 1 && (await h.vipHolders()).length > 1) r.double++;
      if (holders.length === 0) r.none++;
    }
  })();
  return { stop: async () => ((running = false), await loop, r) };
}

function longestStall(answers: Array<{ t: number }>, from: number, to: number): number {
  const ts = [from, ...answers.map((a) => a.t).filter((x) => x > from && x < to), to];
  return Math.max(...ts.slice(1).map((x, i) => x - ts[i]));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

t.test('rolling migration pulse → directord: backup first, then the primary; one VIP holder at every moment', { skip }, async (t) => {
  const h = await HaLab.create();
  t.teardown(() => h.destroy());
  startServices(h);

  // Step 0: the Piranha pair as it runs today (only lb1's pulse matters: lb2's pulse is already stopped for step 1).
  const pulse = startStandin(h, 'lb1', 'master');
  await waitFor('pulse on lb1 holds the VIP', async () => pulse.status()?.active && JSON.stringify(await h.vipHolders()) === '["lb1"]', 5000, 20);
  const client = startClient(h, 60);
  await waitFor('client served through the VIP by lb1', () => client.answers.some((a) => a.who === 'lb1'), 5000, 20);
  const sampler = sampleHolders(t, h);
  const t0 = Date.now();

  // Step 1: directord on lb2 (the backup) while pulse on lb1 is active. It must stay standby and answer in pulse's format.
  h.start('lb2', noKey);
  await waitFor('lb2 running', () => h.status('lb2'), 15000, 20);
  await sleep(2000); // several deadtimes: the old bug activated lb2 after 3 rejected heartbeats
  t.same(await h.vipHolders(), ['lb1'], 'step 1: the VIP stays on lb1 only');
  const s2 = h.status('lb2')!;
  t.equal(s2.state, 'standby', 'step 1: directord backup stays standby while pulse is active');
  t.ok(s2.peer.alive && s2.peer.protocol === 'pulse' && s2.peer.state === 'active', 'lb2 sees an active pulse partner');
  t.equal(s2.failovers, 0);
  t.same(s2.heartbeatsRejected, {}, "pulse's heartbeats are not rejected");
  t.equal(s2.pulse.sessions, 1, 'one pulse session');
  const warns = h.records('lb2').filter((r) => String(r.msg).includes('PARTNER SPEAKS PULSE'));
  t.equal(warns.length, 1, 'warned loudly, once for the partner run');
  const ps = pulse.status()!;
  t.ok(ps.stopped >= 5, `pulse heard lb2's "stopped" magic (${ps.stopped})`);
  t.equal(ps.active, true, 'pulse still active');
  t.equal(ps.deactivations, 0, 'pulse never deactivated');
  t.ok(client.answers.filter((a) => a.t > t0).every((a) => a.who === 'lb1'), 'all answers from lb1 meanwhile');

  // Step 2: stop pulse on lb1 (service pulse stop): lb2 takes over after deadtime.
  const stopAt = Date.now();
  pulse.child.kill('SIGTERM');
  await h.waitState('lb2', 'active', 5000);
  const tookOver = Date.now() - stopAt;
  t.ok(tookOver < (DEADTIME + 1) * 1000, `lb2 active ${tookOver} ms after pulse stopped`);
  await waitFor('client served by lb2', () => client.answers.some((a) => a.t > stopAt && a.who === 'lb2'), 5000, 20);
  const stall = longestStall(client.answers, stopAt - 1000, Date.now());
  t.ok(stall < (DEADTIME + 1.5) * 1000, `client stall at the hand-over ${stall} ms (< deadtime + 1.5 s)`);

  // Step 3: directord on lb1. It stays standby (no fail-back, as pulse) and both switch to directord's protocol.
  const s3At = Date.now();
  h.start('lb1', noKey);
  await waitFor('both speak directord', () => h.status('lb1')?.peer.protocol === 'directord' && h.status('lb2')?.peer.protocol === 'directord', 5000, 20);
  await waitFor('lb1 standby seeing lb2', () => h.status('lb1')?.state === 'standby' && h.status('lb1')?.peer.alive, 5000, 20);
  await sleep(1500);
  t.equal(h.status('lb1')!.state, 'standby', 'step 3: returning primary stays standby');
  t.equal(h.status('lb2')!.state, 'active');
  t.equal(h.status('lb2')!.failovers, 1, 'exactly one hand-over in the whole migration');
  const sent = h.status('lb2')!.heartbeatsSent;
  await sleep(1000);
  const perS = h.status('lb2')!.heartbeatsSent - sent;
  t.ok(perS <= Math.ceil(1 / KEEPALIVE) + 1, `lb2 no longer adds pulse's bytes (${perS} datagrams in 1 s)`);
  t.ok(longestStall(client.answers, s3At, Date.now()) < 1000, 'no stall when lb1 joins');

  const holders = await sampler.stop();
  client.child.kill('SIGTERM');
  t.ok(holders.samples > 50, `${holders.samples} samples of both namespaces`);
  t.equal(holders.double, 0, 'never two VIP holders');
  t.same(await h.vipHolders(), ['lb2']);
});

t.test('mixed pair the other way: directord primary, pulse backup', { skip }, async (t) => {
  const h = await HaLab.create();
  t.teardown(() => h.destroy());
  const pulse = startStandin(h, 'lb2', 'backup');
  h.start('lb1', noKey);
  await h.waitState('lb1', 'active', 15000); // process start under load, then pulse's "stopped" activates it
  await waitFor('lb1 sees the pulse backup', () => h.status('lb1')?.peer.protocol === 'pulse' && h.status('lb1')?.peer.alive, 5000, 20);
  const sampler = sampleHolders(t, h);
  await sleep(1500);
  t.equal(pulse.status()!.active, false, 'pulse backup standby while the directord primary runs');
  t.ok(pulse.status()!.running >= 5, "pulse hears directord's running magic");
  // The primary stops (its last heartbeat says "stopped" in both formats): pulse takes over at once ("primary
  // inactive"); the primary comes back standby (pulse: no fail-back).
  h.kill('lb1', 'SIGTERM');
  await waitFor('pulse backup active', () => pulse.status()?.active, 5000, 20);
  await h.waitExit('lb1');
  h.start('lb1', noKey);
  await waitFor('lb1 standby seeing the active pulse backup', () => h.status('lb1')?.state === 'standby' && h.status('lb1')?.peer.state === 'active', 5000, 20);
  await sleep(1000);
  t.equal(h.status('lb1')!.state, 'standby');
  t.equal(pulse.status()!.active, true);
  const holders = await sampler.stop();
  t.same(await h.vipHolders(), ['lb2']);
  t.ok(holders.samples > 20, `${holders.samples} samples`);
  t.equal(holders.double, 0, 'never two VIP holders');
});

t.test('rollback after the migration: lb1 back to pulse while lb2 (directord) is active, then the VIP back to pulse', { skip }, async (t) => {
  const h = await HaLab.create();
  t.teardown(() => h.destroy());
  h.start('lb2', noKey);
  await h.waitState('lb2', 'active', 15000);
  h.start('lb1', noKey);
  await waitFor('both directord', () => h.status('lb1')?.peer.protocol === 'directord' && h.status('lb2')?.peer.protocol === 'directord' && h.status('lb1')?.state === 'standby', 15000, 20);
  const sampler = sampleHolders(t, h);
  // Roll lb1 back: directord stops (its last heartbeat says "stopped"), pulse starts there.
  h.kill('lb1', 'SIGTERM');
  await h.waitExit('lb1');
  const pulse = startStandin(h, 'lb1', 'master');
  await waitFor('lb2 hears pulse again', () => h.status('lb2')?.peer.protocol === 'pulse' && h.status('lb2')?.peer.alive, 5000, 20);
  await sleep(1500);
  t.equal(pulse.status()!.active, false, 'pulse on lb1 stays standby: lb2 answers "running" in its format (no fail-back)');
  t.equal(pulse.status()!.activations, 0);
  t.ok(pulse.status()!.running >= 5, 'pulse hears running');
  t.equal(h.status('lb2')!.state, 'active');
  // Give the VIP back to pulse: stop directord on lb2; its "stopped" in pulse's format activates pulse at once.
  const stopAt = Date.now();
  h.kill('lb2', 'SIGTERM');
  await waitFor('pulse on lb1 active', () => pulse.status()?.active, 5000, 20);
  t.ok(Date.now() - stopAt < DEADTIME * 1000 + 500, `pulse took over ${Date.now() - stopAt} ms after directord stopped`);
  await waitFor('VIP on lb1', async () => JSON.stringify(await h.vipHolders()) === '["lb1"]', 3000, 20);
  const holders = await sampler.stop();
  t.equal(holders.double, 0, `never two VIP holders (${holders.samples} samples)`);
});
