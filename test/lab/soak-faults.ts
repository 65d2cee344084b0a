// The fault soak's faults, each applied to the seed lab and removed again: kill -9 (+ ExecStopPost cleanup and
// restart), SIGSTOP/SIGCONT, link flap, partition/heal, reload storm, SYN flood, replayed and forged heartbeats.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SeedLab } from './seed';
import { SEED, FAST_TIMINGS } from './seed';
import { waitFor } from './lab';
import { paths } from './build-lab';
import { execIn } from './ns-exec';
import type { FuzzRandom } from '../ha/fuzz-seed';
import { captureJs } from '../ha/ha-lab';
import { synFloodConfig } from '../dataplane/dplab';
import { encodeHeartbeat, noFlags } from '../../src/ha/heartbeat-codec';
import { DIRECTORS, type Director, type HolderMonitor, type Window } from './soak-timeline';

export const FAULT_KINDS = ['kill', 'stop', 'link', 'partition', 'reload', 'flood', 'replay', 'forge'] as const;
/**
 * Not in the default rounds; asked for by name to chase one finding. `standbyflood`: the sequence of seed
 * 2807149580's fault 2 (SIGSTOP of the standby 2-2.5 s, SIGCONT, service whole + deadtime + 0.5 s, then the flood
 * through the active director), which must not move the VIP.
 */
export const CHASE_KINDS = ['standbyflood'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number] | (typeof CHASE_KINDS)[number];

/** SYNs per flood: a few thousand, bounded (the table and the lab's rate are not the subject; the director's HA is). */
export const FLOOD_SYNS = 3000;
/** The UDP port a helper holds in both director namespaces: a reload that moves heartbeat_port there validates
 *  (`--check-config` does not bind) but cannot apply (E_CONFIG_PORT_UNAVAILABLE). */
export const TAKEN_PORT = 5400;

export interface SoakContext {
  seed: SeedLab;
  rnd: FuzzRandom;
  mon: HolderMonitor;
  /** Per director, when it could not act: killed (until restarted) or frozen (until SIGCONT). */
  notLive: Record<Director, Window[]>;
  baseConfig: string;
  /** Captured genuine heartbeats (whole frames), by receiver, oldest first: replayed later, also across restarts. */
  captured: Array<{ receiver: Director; frame: Buffer; at: number }>;
  violations: string[];
  log: (line: string) => void;
}

export interface FaultOutcome {
  target: string;
  detail: string;
  end: number;
  /**
   * When the two directors could not hear each other, so both holding the VIP is inherent (a split brain the
   * caller lets resolve for a bounded time after `to`): a partition, a link down, and a frozen director that held
   * the VIP, from its SIGCONT. A frozen standby resumes hearing its queued heartbeats: no excuse.
   */
  deaf?: Window;
  /** The fault must not move the VIP at all (no address added or removed anywhere until the next fault): a reload,
   *  a flood, replayed or forged heartbeats, and a kill, SIGSTOP or link down of the director not holding it. */
  quiet: boolean;
}

const peerOf = (h: Director): Director => (h === 'lb1' ? 'lb2' : 'lb1');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const between = (ctx: SoakContext, lo: number, hi: number): number => Math.round(lo + ctx.rnd.random() * (hi - lo));
const pick = <T>(ctx: SoakContext, xs: readonly T[]): T => xs[Math.floor(ctx.rnd.random() * xs.length)];
const macBytes = (mac: string): Buffer => Buffer.from(mac.split(':').map((b) => parseInt(b, 16)));

/** Frames into the lab from the client namespace with trafgen (bounded: exactly `count` frames). */
async function sendFrames(ctx: SoakContext, blocks: string[], count: number): Promise<void> {
  const cfg = join(ctx.seed.dirs.root, `trafgen-${Date.now()}.cfg`);
  writeFileSync(cfg, blocks.join('\n'));
  const r = await execIn(ctx.seed.lab, 'client', ['trafgen', '-o', 'eth0', '-P', '1', '-n', String(count), '-i', cfg, '-q'], 60000);
  if (r.code !== 0) throw new Error(`trafgen: exit ${r.code}: ${r.stderr.trim()}`);
}

const block = (frame: Buffer): string => `{ ${[...frame].map((b) => `0x${b.toString(16).padStart(2, '0')}`).join(', ')} }`;

/** Ethernet + IPv4 + UDP (UDP checksum 0 = none, legal for IPv4) around a payload. */
function udpFrame(dstMac: string, srcMac: string, src: string, dst: string, port: number, payload: Buffer): Buffer {
  const ip = Buffer.alloc(20);
  ip[0] = 0x45;
  ip.writeUInt16BE(28 + payload.length, 2);
  ip.writeUInt16BE(0x4000, 6);
  ip[8] = 64;
  ip[9] = 17;
  Buffer.from(src.split('.').map(Number)).copy(ip, 12);
  Buffer.from(dst.split('.').map(Number)).copy(ip, 16);
  let sum = 0;
  for (let i = 0; i < 20; i += 2) sum += ip.readUInt16BE(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  ip.writeUInt16BE(~sum & 0xffff, 10);
  const udp = Buffer.alloc(8);
  udp.writeUInt16BE(port, 0);
  udp.writeUInt16BE(port, 2);
  udp.writeUInt16BE(8 + payload.length, 4);
  const eth = Buffer.concat([macBytes(dstMac), macBytes(srcMac), Buffer.from([0x08, 0x00])]);
  return Buffer.concat([eth, ip, udp, payload]);
}

const addressOf = (h: Director): string => (h === 'lb1' ? SEED.lb1 : SEED.lb2);

/** Capture `n` genuine heartbeats of `sender` at its peer (kept to be replayed later, possibly after a restart). */
export async function captureHeartbeats(ctx: SoakContext, sender: Director, n = 2): Promise<void> {
  const receiver = peerOf(sender);
  if (!ctx.seed.directors.get(sender)?.running) return;
  const r = await execIn(ctx.seed.lab, receiver, [process.execPath, captureJs, 'eth0', `udp and src host ${addressOf(sender)} and dst port 539`, String(n), '2000'], 10000);
  for (const l of r.stdout.split('\n')) {
    if (!l.includes('"hex"')) continue;
    ctx.captured.push({ receiver, frame: Buffer.from((JSON.parse(l) as { hex: string }).hex, 'hex'), at: Date.now() });
  }
}

async function kill(ctx: SoakContext): Promise<FaultOutcome> {
  const h = pick(ctx, DIRECTORS);
  await captureHeartbeats(ctx, h); // frames of the boot about to end: replayed after the restart
  const held = ctx.mon.holders().includes(h);
  const d = ctx.seed.director(h);
  const from = Date.now();
  await d.stop('SIGKILL');
  // What systemd's ExecStopPost does after any end of the daemon (systemd/directord.service).
  const c = await execIn(ctx.seed.lab, h, ['node', paths.directord, '--cleanup', '--config', ctx.seed.configPath(h)], 20000);
  if (c.code !== 0) ctx.violations.push(`kill ${h}: directord --cleanup exited ${c.code}: ${c.stderr.trim()}`);
  const cleaned = Date.now() - from;
  const down = between(ctx, 300, 2000);
  await sleep(down);
  const to = Date.now();
  ctx.notLive[h].push({ from, to });
  await d.start();
  return { target: h, detail: `kill -9${held ? ' (holding the VIP)' : ''}, --cleanup done ${cleaned} ms after, restarted ${down} ms later`, end: to, quiet: !held };
}

async function stop(ctx: SoakContext): Promise<FaultOutcome> {
  const h = pick(ctx, DIRECTORS);
  const frozen = between(ctx, 800, 2500);
  const held = ctx.mon.holders().includes(h);
  const from = Date.now();
  ctx.seed.director(h).signal('SIGSTOP');
  await sleep(frozen);
  ctx.seed.director(h).signal('SIGCONT');
  const to = Date.now();
  ctx.notLive[h].push({ from, to });
  return { target: h, detail: `SIGSTOP for ${frozen} ms (${held ? 'holding' : 'not holding'} the VIP)`, end: to, deaf: held ? { from: to, to } : undefined, quiet: !held };
}

async function link(ctx: SoakContext): Promise<FaultOutcome> {
  const h = pick(ctx, DIRECTORS);
  const ms = between(ctx, 500, 2500);
  const held = ctx.mon.holders().includes(h);
  const from = Date.now();
  await ctx.seed.must(h, ['ip', 'link', 'set', 'eth0', 'down']);
  await sleep(ms);
  await ctx.seed.must(h, ['ip', 'link', 'set', 'eth0', 'up']);
  const to = Date.now();
  return { target: h, detail: `eth0 down ${ms} ms${held ? ' (holding the VIP)' : ''}`, end: to, deaf: { from, to }, quiet: !held };
}

async function partition(ctx: SoakContext): Promise<FaultOutcome> {
  const ms = between(ctx, 800, 2500);
  const from = Date.now();
  for (const h of DIRECTORS) {
    // Every UDP datagram from the peer: heartbeats (539) and connection sync (8848), both ways.
    const rule = `nft add table inet ddsoak && nft add chain inet ddsoak in '{ type filter hook input priority 0; }' && nft add rule inet ddsoak in ip saddr ${addressOf(peerOf(h))} meta l4proto udp drop`;
    await ctx.seed.must(h, ['sh', '-c', rule]);
  }
  await sleep(ms);
  for (const h of DIRECTORS) await ctx.seed.must(h, ['nft', 'delete', 'table', 'inet', 'ddsoak']);
  const to = Date.now();
  return { target: 'both', detail: `heartbeats and sync dropped both ways ${ms} ms`, end: to, deaf: { from, to }, quiet: false };
}

/** The reload storm's rotating files: a good change, a syntax error, and one that validates but cannot apply. */
export function reloadVariants(base: string, k: number): Array<{ name: string; text: string; good: boolean }> {
  const weight = (w: number): string =>
    base.replace(/(server sql2\.example\.com \{\n\s*address = 10\.0\.0\.5\n\s*active = 1\n\s*weight = )\d+/, `$1${w}`);
  return [
    { name: `good (sql2 weight ${2 + (k % 3)})`, text: weight(2 + (k % 3)), good: true },
    { name: 'syntax error', text: `${base}\nvirtual broken {\n  address = \n`, good: false },
    { name: `heartbeat_port ${TAKEN_PORT} (taken)`, text: base.replace(/^heartbeat_port = .*$/m, `heartbeat_port = ${TAKEN_PORT}`), good: false },
  ];
}

async function reload(ctx: SoakContext): Promise<FaultOutcome> {
  const target = pick(ctx, ['lb1', 'lb2', 'both'] as const);
  const hosts = target === 'both' ? DIRECTORS : [target];
  const steps = between(ctx, 4, 9);
  const names: string[] = [];
  for (let k = 0; k < steps; k++) {
    const v = pick(ctx, reloadVariants(ctx.baseConfig, k));
    const how = ctx.rnd.random() < 0.5 ? 'SIGHUP' : 'ctl';
    names.push(`${v.name}/${how}`);
    for (const h of hosts) {
      writeFileSync(ctx.seed.configPath(h), v.text);
      if (how === 'SIGHUP') ctx.seed.director(h).signal('SIGHUP');
      else {
        const r = await ctx.seed.director(h).ctl(['reload']);
        if ((r.code === 0) !== v.good) ctx.violations.push(`reload ${h} '${v.name}': directorctl exit ${r.code} (${(r.stderr || r.stdout).trim().slice(0, 200)})`);
      }
    }
    await sleep(between(ctx, 50, 300));
  }
  // The storm ends on the base file; the daemon must still be there and take it.
  for (const h of hosts) {
    writeFileSync(ctx.seed.configPath(h), ctx.baseConfig);
    await sleep(300); // a SIGHUP reload still running reads whichever file it reads; this one is last
    const r = await ctx.seed.director(h).ctl(['reload']);
    if (r.code !== 0 || !ctx.seed.director(h).running) ctx.violations.push(`reload ${h}: the base file after the storm: exit ${r.code}, running ${ctx.seed.director(h).running}: ${r.stderr.trim()}`);
    const sql2 = (await ctx.seed.director(h).status()).health.find((x) => x.address === SEED.sql2);
    if (sql2?.configuredWeight !== 1) ctx.violations.push(`reload ${h}: after the storm sql2 has weight ${sql2?.configuredWeight}, the base file says 1`);
  }
  return { target, detail: `${steps} reloads: ${names.join(', ')}`, end: Date.now(), quiet: true };
}

async function flood(ctx: SoakContext): Promise<FaultOutcome> {
  const holders = ctx.mon.holders();
  const to = holders.length === 1 ? holders[0] : pick(ctx, DIRECTORS);
  const mac = await ctx.seed.lab.macOf(to);
  await sendFrames(ctx, [synFloodConfig(mac, SEED.vip, 3306)], FLOOD_SYNS);
  return { target: to, detail: `${FLOOD_SYNS} spoofed SYNs to ${SEED.vip}:3306 via ${to}'s MAC`, end: Date.now(), quiet: true };
}

async function replay(ctx: SoakContext): Promise<FaultOutcome> {
  const clientMac = macBytes(await ctx.seed.lab.macOf('client'));
  const n = Math.min(ctx.captured.length, between(ctx, 2, 6));
  const chosen = Array.from({ length: n }, () => pick(ctx, ctx.captured));
  // The source MAC becomes the client's: the switch must not learn a director's MAC on the client's port.
  const frames = chosen.map((c) => Buffer.concat([c.frame.subarray(0, 6), clientMac, c.frame.subarray(12)]));
  if (frames.length) await sendFrames(ctx, frames.map(block), frames.length * 3);
  const ages = chosen.map((c) => `${c.receiver}<-${Math.round((Date.now() - c.at) / 1000)}s old`);
  return { target: 'both', detail: `${frames.length * 3} replayed heartbeats (${ages.join(', ') || 'none captured yet'})`, end: Date.now(), quiet: true };
}

async function forge(ctx: SoakContext): Promise<FaultOutcome> {
  const clientMac = await ctx.seed.lab.macOf('client');
  const frames: Buffer[] = [];
  for (const to of DIRECTORS) {
    const from = peerOf(to);
    const mac = await ctx.seed.lab.macOf(to);
    const wrongKey = ctx.rnd.bytes(32);
    const hb = (state: 'stopped' | 'active', bootId: bigint, seq: bigint, ts: number) => ({
      nodeId: addressOf(from), role: from === 'lb1' ? 'primary' as const : 'backup' as const, state, flags: noFlags(), priority: 200,
      term: 0xffffff, bootId, seq, timestampMs: ts, echoBootId: 0n,
    });
    const payloads = [
      encodeHeartbeat(hb('stopped', ctx.rnd.bytes(8).readBigUInt64BE(), 1n << 40n, Date.now() + 60000), wrongKey), // "I stopped", new boot, wrong key
      encodeHeartbeat(hb('active', ctx.rnd.bytes(8).readBigUInt64BE(), 1n, Date.now()), undefined), // unauthenticated
      Buffer.from([0xbd, 0xda, 0xbd, 0xad]), // pulse "stopped" (little-endian)
      Buffer.from([0xad, 0xbd, 0xda, 0xbd]), // pulse "stopped" (big-endian)
      ctx.rnd.bytes(between(ctx, 1, 120)), // noise
    ];
    for (const p of payloads) frames.push(udpFrame(mac, clientMac, addressOf(from), addressOf(to), 539, p));
  }
  await sendFrames(ctx, frames.map(block), frames.length * 2);
  return { target: 'both', detail: `${frames.length * 2} forged heartbeats (wrong key, keyless, pulse "stopped", noise) from each peer's address`, end: Date.now(), quiet: true };
}

async function standbyflood(ctx: SoakContext): Promise<FaultOutcome> {
  const holders = ctx.mon.holders();
  if (holders.length !== 1) return { target: '-', detail: 'skipped: no single VIP holder', end: Date.now(), quiet: false };
  const active = holders[0];
  const standby = peerOf(active);
  const frozen = between(ctx, 2000, 2500);
  const from = Date.now();
  ctx.seed.director(standby).signal('SIGSTOP');
  await sleep(frozen);
  ctx.seed.director(standby).signal('SIGCONT');
  const cont = Date.now();
  ctx.notLive[standby].push({ from, to: cont });
  // As the soak between faults: both answer, the holder is still the one forwarding; then deadtime + 0.5 s.
  await waitFor('whole after the SIGCONT', async () => {
    const s = await ctx.seed.director(standby).status().catch(() => undefined);
    return s !== undefined && !s.ha.forwarding && ctx.mon.holders().length === 1 && (await ctx.seed.director(active).status()).ha.forwarding;
  }, 30000, 100).catch(() => undefined);
  const whole = Date.now() - cont;
  await sleep(FAST_TIMINGS.global.deadtime * 1000 + 500);
  const mac = await ctx.seed.lab.macOf(active);
  await sendFrames(ctx, [synFloodConfig(mac, SEED.vip, 3306)], FLOOD_SYNS);
  return { target: active, detail: `SIGSTOP ${standby} (standby) ${frozen} ms, whole ${whole} ms after SIGCONT, then ${FLOOD_SYNS} SYNs via ${active}`, end: Date.now(), quiet: true };
}

export const FAULTS: Record<FaultKind, (ctx: SoakContext) => Promise<FaultOutcome>> = { kill, stop, link, partition, reload, flood, replay, forge, standbyflood };
