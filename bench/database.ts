// Database workload benchmark on the seed lab: sysbench OLTP through directord's VIP vs directly to the same real
// server vs HAProxy (TCP mode) on lb1, in the same run; then failover timings (dead real server, director takeover).
// Run as root after the build: node dist/bench/database.js [--seconds 10] [--rounds 5]
import { mkdtempSync, writeFileSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SeedLab, SEED, SEED_USERS, seedVariant, FAST_TIMINGS, type Director } from '../test/lab/seed';
import { waitCaughtUp } from '../test/lab/mariadb';
import { waitFor } from '../test/lab/lab';
import { Workload, WORKLOAD_TABLE_SQL } from '../test/lab/workload';
import { paths } from '../test/lab/build-lab';

interface SysbenchResult {
  qps: number;
  tps: number;
  p95: number;
  errors: number;
}

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
}

const SECONDS = arg('--seconds', 10);
const ROUNDS = arg('--rounds', 5);
const THREADS = 4;

function parseSysbench(out: string): SysbenchResult {
  const num = (re: RegExp): number => {
    const m = re.exec(out);
    if (!m) throw new Error(`sysbench output without ${re}: ${out.slice(-800)}`);
    return Number(m[1]);
  };
  return {
    qps: num(/queries:\s+\d+\s+\(([\d.]+) per sec/),
    tps: num(/transactions:\s+\d+\s+\(([\d.]+) per sec/),
    p95: num(/95th percentile:\s+([\d.]+)/),
    errors: num(/ignored errors:\s+(\d+)/),
  };
}

async function sysbench(seed: SeedLab, test: string, host: string, port: number, phase: 'prepare' | 'run'): Promise<string> {
  const argv = ['sysbench', test, '--db-driver=mysql', `--mysql-host=${host}`, `--mysql-port=${port}`,
    `--mysql-user=${SEED_USERS.nova.user}`, `--mysql-password=${SEED_USERS.nova.password}`, '--mysql-db=sbtest',
    '--tables=2', '--table-size=20000', `--threads=${THREADS}`, `--time=${SECONDS}`, '--percentile=95', '--rand-seed=1', phase];
  const r = await seed.run('client', argv, (SECONDS + 60) * 1000);
  if (r.code !== 0) throw new Error(`sysbench ${test} ${phase} via ${host}:${port}: ${r.stderr.trim() || r.stdout.slice(-500)}`);
  return r.stdout;
}

/** HAProxy in TCP mode on lb1, forwarding to one real server: what a user would run instead of LVS-DR. */
function startHaproxy(seed: SeedLab, backend: string): { port: number; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'ddhaproxy-'));
  const cfg = [
    'global', '  maxconn 2000', 'defaults', '  mode tcp', '  timeout connect 5s', '  timeout client 60s', '  timeout server 60s',
    'listen mysql', `  bind ${SEED.lb1}:3307`, `  server db ${backend}:3306`, '',
  ].join('\n');
  writeFileSync(join(dir, 'haproxy.cfg'), cfg);
  seed.lab.spawn('lb1', ['haproxy', '-db', '-f', join(dir, 'haproxy.cfg')], { stdio: ['ignore', 'ignore', 'ignore'] });
  return { port: 3307, dir };
}

function stats(xs: number[]): { median: number; max: number } {
  const s = [...xs].sort((a, b) => a - b);
  return { median: s[Math.floor((s.length - 1) / 2)], max: s[s.length - 1] };
}

async function throughput(seed: SeedLab): Promise<string[]> {
  const backend = await seed.waitServedBy('any');
  const backendIp = backend === 'sql1' ? SEED.sql1 : SEED.sql2;
  await seed.sql1.query('CREATE DATABASE IF NOT EXISTS sbtest');
  await waitCaughtUp(seed.sql2, seed.sql1);
  await sysbench(seed, 'oltp_read_write', SEED.sql1, 3306, 'prepare');
  await waitCaughtUp(seed.sql2, seed.sql1, 120000);
  const hap = startHaproxy(seed, backendIp);
  await waitFor('haproxy listening', async () => (await seed.run('client', ['nc', '-z', '-w1', SEED.lb1, String(hap.port)])).code === 0, 10000, 100);
  const lines: string[] = [];
  try {
    for (const test of ['oltp_read_only', 'oltp_read_write']) {
      const res: Record<string, SysbenchResult> = {};
      // Interleaved, same run: direct (baseline), VIP, HAProxy.
      res.direct = parseSysbench(await sysbench(seed, test, backendIp, 3306, 'run'));
      res.vip = parseSysbench(await sysbench(seed, test, SEED.vip, 3306, 'run'));
      res.haproxy = parseSysbench(await sysbench(seed, test, SEED.lb1, hap.port, 'run'));
      for (const [path, r] of Object.entries(res)) {
        lines.push(`| ${test} | ${path} | ${r.qps.toFixed(0)} | ${(r.qps / res.direct.qps).toFixed(2)} | ${r.p95.toFixed(2)} | ${(r.p95 / res.direct.p95).toFixed(2)} | ${r.errors} |`);
      }
      console.error(`${test}: done`);
    }
  } finally {
    rmSync(hap.dir, { recursive: true, force: true });
  }
  return [`backend: ${backend} (the server the VIP's persistence picked; direct and HAProxy runs target the same one)`,
    '| test | path | QPS | QPS / direct | p95 ms | p95 / direct | errors |', '|---|---|---|---|---|---|---|', ...lines];
}

async function failovers(seed: SeedLab): Promise<string[]> {
  await seed.sql1.query(WORKLOAD_TABLE_SQL);
  await waitCaughtUp(seed.sql2, seed.sql1);
  const w = new Workload(seed.lab, 'client', { host: SEED.vip, ...SEED_USERS.nova, intervalMs: 10, connectTimeoutMs: 1000, queryTimeoutMs: 1000 });
  w.start();
  const detect: number[] = [];
  const reroute: number[] = [];
  const takeover: number[] = [];
  try {
    await waitFor('workload running', () => w.committed.length > 5, 20000, 50);
    const activeDirector = (): Promise<Director> =>
      waitFor('one forwarding director', async () => {
        for (const h of ['lb1', 'lb2'] as const) if (seed.directors.get(h)?.running && (await seed.director(h).status()).ha.forwarding) return h;
        return undefined;
      }, 20000, 50);
    for (let i = 0; i < ROUNDS; i++) {
      const victim = await seed.waitServedBy('any');
      const db = victim === 'sql1' ? seed.sql1 : seed.sql2;
      const lb = seed.director(await activeDirector());
      const mark = lb.records.length;
      const t0 = Date.now();
      await db.kill();
      const rec = await lb.waitLog('inactive', (r) => String(r.msg).startsWith('[inactive]') && String(r.msg).includes(db.address), 30000, mark);
      detect.push(Date.parse(String(rec.time)) - t0);
      reroute.push(await waitFor('commit after the kill', () => w.recoveryMs(t0), 30000, 20));
      await db.start();
      await lb.waitLog('active', (r) => String(r.msg).startsWith('[ active ]') && String(r.msg).includes(db.address), 30000, mark);
      await waitCaughtUp(db, db === seed.sql1 ? seed.sql2 : seed.sql1);
      console.error(`real server round ${i + 1}: detect ${detect[i]} ms, reroute ${reroute[i]} ms`);
    }
    const config = readFileSync(seed.configPath('lb1'), 'utf8');
    for (let i = 0; i < ROUNDS; i++) {
      const was = await activeDirector();
      const t0 = Date.now();
      await seed.director(was).stop('SIGKILL');
      takeover.push(await waitFor('commit after the director kill', () => w.recoveryMs(t0), 30000, 20));
      await seed.startDirector(was, config);
      await new Promise((r) => setTimeout(r, 2000));
      console.error(`director round ${i + 1}: ${takeover[i]} ms`);
    }
  } finally {
    await w.stop();
  }
  const d = stats(detect);
  const r = stats(reroute);
  const k = stats(takeover);
  return [
    `| figure (${ROUNDS} rounds each) | median ms | max ms | configured |`, '|---|---|---|---|',
    `| dead real server (SIGKILL mysqld): kill → "[inactive]" logged | ${d.median} | ${d.max} | timeout = ${FAST_TIMINGS.virtual.timeout} s |`,
    `| dead real server: kill → first new connection committed on the other | ${r.median} | ${r.max} | |`,
    `| director killed (SIGKILL directord): kill → first new connection committed via the backup | ${k.median} | ${k.max} | deadtime = ${FAST_TIMINGS.global.deadtime} s |`,
    `raw: detect ${detect.join(', ')}; reroute ${reroute.join(', ')}; takeover ${takeover.join(', ')}`,
  ];
}

async function main(): Promise<void> {
  const seed = await SeedLab.create();
  try {
    const config = seedVariant(readFileSync(paths.seedConfig, 'utf8'), { ...FAST_TIMINGS.global }, { ...FAST_TIMINGS.virtual, expire_quiescent_template: 1 });
    await seed.startDirector('lb1', config);
    await seed.director('lb1').waitForwarding(true, 15000);
    await seed.startDirector('lb2', config);
    await waitFor('both servers in the table', async () => (await seed.director('lb1').status()).health.filter((h) => h.inTable).length === 2, 15000, 100);
    const out = [`sysbench ${THREADS} threads, ${SECONDS} s per run, 2 tables x 20000 rows`, ...(await throughput(seed)), '', ...(await failovers(seed))];
    console.log(out.join('\n'));
  } finally {
    await seed.destroy();
  }
}

if (require.main === module) {
  main().then(
    () => process.exit(0),
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
}

