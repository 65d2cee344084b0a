// Health-check throughput: 1,000 real servers checked every second by the HealthMonitor (TCP, then MySQL), inside a
// namespace lab, with a same-run baseline (a bare loop doing the same network work) and the CPU ratio.
// Run as root: node -r @isaacs/ts-node-temp-fork-for-pr-2009/register/transpile-only bench/health.ts [seconds]
import net from 'node:net';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2';
import { HealthMonitor } from '../src/health';
import type { LvsConfig, VirtualServiceConfig } from '../src/config/schema';

const SERVERS = 1000;
const WARMUP_MS = Number(process.env.WARMUP_MS ?? 5000);
// HEALTH_TIMEOUT_S: the checks' `timeout` (default 3; 1 reproduces the loaded-machine failures in docs/benchmarks.md).
const HEALTH_TIMEOUT_S = Number(process.env.HEALTH_TIMEOUT_S ?? 3);
const addresses = Array.from({ length: SERVERS }, (_, i) => `10.62.${8 + ((i + 1) >> 8)}.${(i + 1) & 0xff}`);

interface Figure {
  mode: string;
  probes: number;
  seconds: number;
  probesPerSec: number;
  cpuUsPerProbe: number;
  failures: number;
  reasons?: Record<string, number>;
}

function cpuWindow(): () => { cpuUs: number; ms: number } {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  return () => {
    const c = process.cpuUsage(c0);
    return { cpuUs: c.user + c.system, ms: performance.now() - t0 };
  };
}

function monitorConfig(check: 'tcp' | 'mysql', port: number): LvsConfig {
  const source = { file: 'bench', line: 1 };
  const v = {
    name: `bench_${check}`, active: true, address: '10.62.4.100', device: 'eth0', port, protocol: 'tcp', fwmark: 0, scheduler: 'wlc', persistent: 0,
    useRegex: false, loadMonitor: 'none', timeout: HEALTH_TIMEOUT_S, interval: 1, reentry: 1, quiesceServer: true, check, fall: 1, jitter: 1, slowStart: false,
    expireQuiescentTemplate: false, expireNodestConn: false, source,
    mysql: check === 'mysql' ? { user: 'monitor', password: 'mon_pw', checkReadOnly: true, checkReplication: true, maxLagSeconds: 10 } : undefined,
    servers: addresses.map((a, i) => ({ name: `rs${i}`, address: a, port, active: true, weight: 1, source })),
  } as VirtualServiceConfig;
  return { file: 'bench', global: {} as LvsConfig['global'], virtuals: [v] };
}

async function measureMonitor(check: 'tcp' | 'mysql', port: number, seconds: number): Promise<Figure> {
  const mon = new HealthMonitor();
  let probes = 0;
  let failures = 0;
  let counting = false;
  const reasons: Record<string, number> = {};
  mon.on('check', (c: { ok: boolean; reason: string }) => {
    if (!counting) return;
    probes++;
    if (!c.ok) failures++;
    reasons[c.reason] = (reasons[c.reason] ?? 0) + 1;
  });
  mon.configure(monitorConfig(check, port));
  mon.start();
  await sleep(WARMUP_MS);
  counting = true;
  const done = cpuWindow();
  await sleep(seconds * 1000);
  counting = false;
  const w = done();
  await mon.stop();
  return { mode: `monitor ${check}`, probes, seconds: w.ms / 1000, probesPerSec: probes / (w.ms / 1000), cpuUsPerProbe: w.cpuUs / Math.max(1, probes), failures, reasons };
}

/** Baseline TCP: per server, connect + FIN every second, no state machine, no events. */
function rawTcpOnce(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: address, port });
    s.setTimeout(1000, () => {
      s.destroy();
      resolve(false);
    });
    s.on('error', () => resolve(false));
    s.on('connect', () => {
      s.resume();
      s.end();
      resolve(true);
    });
  });
}

/** Baseline MySQL: one mysql2 connection per server, the same two queries every second. */
async function rawMysqlLoop(port: number, seconds: number): Promise<Figure> {
  const conns = await Promise.all(addresses.map((host) => new Promise<mysql.Connection>((resolve, reject) => {
    const c = mysql.createConnection({ host, port, user: 'monitor', password: 'mon_pw' });
    c.connect((e) => (e ? reject(e) : resolve(c)));
  })));
  const q = (c: mysql.Connection, sql: string) => new Promise<boolean>((r) => c.query(sql, (e) => r(!e)));
  const once = async (c: mysql.Connection) => (await q(c, 'SELECT 1 AS alive, @@global.read_only AS ro')) && (await q(c, 'SHOW SLAVE STATUS'));
  return loopEverySecond('baseline mysql (mysql2 loop)', seconds, (i) => once(conns[i])).finally(() => Promise.all(conns.map((c) => new Promise((r) => c.end(() => r(null))))));
}

async function loopEverySecond(mode: string, seconds: number, probe: (i: number) => Promise<boolean>): Promise<Figure> {
  let probes = 0;
  let failures = 0;
  let counting = false;
  let running = true;
  const loops = addresses.map(async (_, i) => {
    await sleep(Math.random() * 1000);
    while (running) {
      const ok = await probe(i);
      if (counting) {
        probes++;
        if (!ok) failures++;
      }
      await sleep(1000);
    }
  });
  await sleep(WARMUP_MS);
  counting = true;
  const done = cpuWindow();
  await sleep(seconds * 1000);
  counting = false;
  const w = done();
  running = false;
  await Promise.all(loops);
  return { mode, probes, seconds: w.ms / 1000, probesPerSec: probes / (w.ms / 1000), cpuUsPerProbe: w.cpuUs / Math.max(1, probes), failures };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Inside the director namespace: run one measurement, print it as JSON. */
async function inner(mode: string, seconds: number): Promise<void> {
  let f: Figure;
  if (mode === 'monitor-tcp') f = await measureMonitor('tcp', 7000, seconds);
  else if (mode === 'raw-tcp') f = await loopEverySecond('baseline tcp (connect+FIN loop)', seconds, (i) => rawTcpOnce(addresses[i], 7000));
  else if (mode === 'monitor-mysql') f = await measureMonitor('mysql', 3306, seconds);
  else f = await rawMysqlLoop(3306, seconds);
  process.stdout.write(JSON.stringify(f) + '\n');
  process.exit(0);
}

async function outer(seconds: number): Promise<void> {
  // Lab code lives with the tests; the bench only borrows it.
  const { Lab, labAvailable, waitFor } = await import('../test/lab/lab');
  const { MariaDbServer } = await import('../test/lab/mariadb');
  if (!labAvailable()) throw new Error('bench/health.ts needs root and ip netns');
  const lab = await Lab.create([{ name: 'dir', address: '10.62.4.1/20' }, { name: 'srv', address: '10.62.4.2/20' }], { tag: 'hbench' });
  const tmp = mkdtempSync(join(tmpdir(), 'ddhbench-'));
  let db: { destroy(): Promise<void> } | undefined;
  try {
    const batch = join(tmp, 'addrs');
    writeFileSync(batch, addresses.map((a) => `addr add ${a}/32 dev lo`).join('\n') + '\n');
    await lab.sh('srv', `ip -batch ${batch}`);
    await lab.sh('dir', 'ip route add 10.62.8.0/22 via 10.62.4.2');
    const listener = lab.spawn('srv', [process.execPath, '-e', `require('net').createServer(s=>{s.on('error',()=>{});s.resume()}).listen(7000,()=>console.log('up'))`]);
    await waitFor('listener', () => new Promise<boolean>((r) => listener.stdout!.once('data', () => r(true))), 10000);
    const server = await MariaDbServer.create(lab, 'srv', { name: 'bench', serverId: 1, autoIncrementOffset: 1, extra: { max_connections: 2100, 'skip-name-resolve': true } });
    db = server;
    await server.createUser('monitor', 'mon_pw', { privileges: 'SLAVE MONITOR' });
    const results: Figure[] = [];
    for (const mode of ['raw-tcp', 'monitor-tcp', 'raw-mysql', 'monitor-mysql']) {
      const r = await lab.exec('dir', ['env', '-u', 'NODE_OPTIONS', process.execPath, '-r', '@isaacs/ts-node-temp-fork-for-pr-2009/register/transpile-only', __filename, '--inner', mode, String(seconds)], { timeoutMs: (seconds + 60) * 1000 });
      if (r.code !== 0) throw new Error(`${mode}: ${r.stderr}`);
      results.push(JSON.parse(r.stdout.trim().split('\n').pop()!));
    }
    const row = (f: Figure) => `${f.mode.padEnd(34)} ${f.probesPerSec.toFixed(0).padStart(7)} probes/s ${f.cpuUsPerProbe.toFixed(1).padStart(8)} µs CPU/probe  failures ${f.failures}${f.reasons && f.failures ? ' ' + JSON.stringify(f.reasons) : ''}`;
    for (const f of results) console.log(row(f));
    console.log(`ratio CPU/probe monitor/baseline: tcp ${(results[1].cpuUsPerProbe / results[0].cpuUsPerProbe).toFixed(2)}x, mysql ${(results[3].cpuUsPerProbe / results[2].cpuUsPerProbe).toFixed(2)}x`);
    console.log(`(${SERVERS} servers, 1 s interval, ${seconds} s measured after ${WARMUP_MS / 1000} s warm-up; 2 cores shared with other builds/tests)`);
  } finally {
    if (db) await db.destroy();
    await lab.destroy();
    rmSync(tmp, { recursive: true, force: true });
  }
}

const args = process.argv.slice(2);
if (args[0] === '--inner') void inner(args[1], Number(args[2]));
else
  outer(Number(args[0] ?? 10)).catch((e) => {
    console.error(e);
    process.exit(1);
  });
