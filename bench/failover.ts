// Director failover under load on the seed lab (real directord, real MariaDB multi-master): N MySQL sessions through
// the VIP (half idle, half querying every 100 ms, every 10th query an INSERT the client records) plus a sysbench
// write workload; then the active director is SIGKILLed, SIGSTOPped, or its link goes down. Counts broken sessions,
// the longest stall (next to deadtime: the baseline), acknowledged commits missing on a server, differing tables.
// Run as root after the build: node dist/bench/failover.js [--conns 1000] [--faults kill,stop,link] [--timings fast,seed]
import { readFileSync } from 'node:fs';
import { SeedLab, SEED, SEED_USERS, seedVariant, FAST_TIMINGS, type Director } from '../test/lab/seed';
import { waitCaughtUp, type MariaDbServer } from '../test/lab/mariadb';
import { waitFor } from '../test/lab/lab';
import { Sessions, SESSIONS_TABLE_SQL } from '../test/lab/sessions';
import { paths } from '../test/lab/build-lab';

const argOf = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const CONNS = Number(argOf('--conns', '1000'));
const FAULTS = argOf('--faults', 'kill,stop,link').split(',') as Fault[];
const TIMINGS = argOf('--timings', 'fast,seed').split(',') as Timing[];
const SYSBENCH_THREADS = Number(argOf('--sysbench-threads', '2'));
const HOLD_S = Number(argOf('--hold', '6'));
const WARMUP_S = 3;
/** Optional client-side cap on TCP's retransmission backoff (net.ipv4.tcp_rto_max_ms, Linux 6.15+, 1000 at least), client namespace only. */
const CLIENT_RTO_MAX_MS = Number(argOf('--client-rto-max-ms', '0'));

type Fault = 'kill' | 'stop' | 'link';
type Timing = 'fast' | 'seed';

interface Row {
  timing: Timing;
  fault: Fault;
  deadtimeS: number;
  takeoverMs: number;
  broken: number;
  maxStallMs: number;
  stallPerDeadtime: number;
  queries: number;
  acked: number;
  lost: number;
  idleAlive: number;
  sessionsOverGoal: number;
  /** sysbench: tps over the run, ignored errors, reconnects, longest run of seconds with 0 transactions. */
  sysbench: { tps: number; errors: number; reconnects: number; exit: number; zeroTpsS: number; notes: string[] };
  differing: string[];
}

const log = (s: string): void => void process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${s}\n`);

function configFor(timing: Timing): { text: string; deadtime: number } {
  const seed = readFileSync(paths.seedConfig, 'utf8');
  if (timing === 'seed') return { text: seed, deadtime: 18 };
  return { text: seedVariant(seed, { ...FAST_TIMINGS.global }, { ...FAST_TIMINGS.virtual }), deadtime: FAST_TIMINGS.global.deadtime };
}

/** Both directors fresh: lb1 active, lb2 standby with the table synced and both servers checked. */
async function freshPair(seed: SeedLab, cfg: string): Promise<void> {
  for (const h of ['lb1', 'lb2'] as Director[]) {
    const d = seed.directors.get(h);
    if (d) {
      d.signal('SIGCONT');
      await d.stop('SIGKILL');
    }
  }
  await seed.run('sw', ['ip', 'link', 'set', seed.lab.switchPort('lb1'), 'up']);
  // One after the other: started together on a loaded machine, lb2 may reach its deadtime before lb1 says a word.
  await seed.startDirector('lb1', cfg);
  await seed.director('lb1').waitForwarding(true, 60000);
  await seed.startDirector('lb2', cfg);
  await waitFor('lb1 active, lb2 standby and synced, both servers in both tables', async () => {
    const [a, b] = [await seed.director('lb1').status(), await seed.director('lb2').status()];
    return a.ha.forwarding && !b.ha.forwarding && b.ha.sync?.synced && [a, b].every((s) => s.health.filter((x) => x.inTable).length === 2);
  }, 90000, 250).catch(async (e: Error) => {
    const st = async (h: Director) => JSON.stringify((await seed.director(h).status().catch(() => undefined))?.ha);
    throw new Error(`${e.message}\nlb1 ${await st('lb1')}\n${seed.director('lb1').tail(30)}\nlb2 ${await st('lb2')}\n${seed.director('lb2').tail(30)}`);
  });
}

async function sysbench(seed: SeedLab, phase: 'prepare' | 'run', seconds: number): Promise<Row['sysbench']> {
  const host = phase === 'prepare' ? SEED.sql1 : SEED.vip;
  const argv = ['sysbench', 'oltp_write_only', '--db-driver=mysql', `--mysql-host=${host}`, `--mysql-user=${SEED_USERS.nova.user}`,
    `--mysql-password=${SEED_USERS.nova.password}`, '--mysql-db=sbtest', '--tables=2', '--table-size=10000', `--threads=${SYSBENCH_THREADS}`,
    `--time=${seconds}`, '--mysql-ignore-errors=all', '--rand-seed=1', '--report-interval=1', phase];
  const r = await seed.run('client', argv, (seconds + 120) * 1000);
  const num = (re: RegExp): number => Number(re.exec(r.stdout)?.[1] ?? NaN);
  if (phase === 'prepare' && r.code !== 0) throw new Error(`sysbench prepare: ${r.stderr || r.stdout.slice(-400)}`);
  // What the ignored errors were (a deadlock between sysbench's own threads is not a failover loss).
  const notes = [...new Set((r.stdout + r.stderr).split('\n').filter((l) => /error|warning|fatal/i.test(l) && !/ignored errors:/.test(l)).map((l) => l.trim().slice(0, 160)))].slice(0, 5);
  let zeroTpsS = 0;
  let run = 0;
  for (const m of r.stdout.matchAll(/^\[ *\d+s \] thds: \d+ tps: ([\d.]+)/gm)) {
    run = Number(m[1]) === 0 ? run + 1 : 0;
    zeroTpsS = Math.max(zeroTpsS, run);
  }
  return { tps: num(/transactions:\s+\d+\s+\(([\d.]+) per sec/), errors: num(/ignored errors:\s+(\d+)/), reconnects: num(/reconnects:\s+(\d+)/), exit: r.code, zeroTpsS, notes };
}

async function checksums(s: MariaDbServer): Promise<Map<string, string>> {
  const rows = await s.query('CHECKSUM TABLE sbtest.sbtest1, sbtest.sbtest2, test.sessions');
  return new Map(rows.map(([t, c]) => [t, c]));
}

async function fault(seed: SeedLab, f: Fault): Promise<void> {
  const lb1 = seed.director('lb1');
  if (f === 'kill') await lb1.stop('SIGKILL');
  else if (f === 'stop') lb1.signal('SIGSTOP');
  else await seed.must('sw', ['ip', 'link', 'set', seed.lab.switchPort('lb1'), 'down']);
}

async function heal(seed: SeedLab, f: Fault): Promise<void> {
  if (f === 'stop') seed.director('lb1').signal('SIGCONT'); // the master comes back and wins the split brain
  if (f === 'link') await seed.must('sw', ['ip', 'link', 'set', seed.lab.switchPort('lb1'), 'up']);
}

async function scenario(seed: SeedLab, timing: Timing, f: Fault): Promise<Row> {
  const { text, deadtime } = configFor(timing);
  log(`${timing}/${f}: fresh director pair`);
  await freshPair(seed, text);
  const sessions = new Sessions(seed.lab, 'client', {
    host: SEED.vip, user: SEED_USERS.nova.user, password: SEED_USERS.nova.password, count: CONNS, active: Math.floor(CONNS / 2),
    intervalMs: 100, writeEvery: 10, queryTimeoutMs: (deadtime * 4 + 30) * 1000, connectConcurrency: 20, stallGoalMs: (deadtime + 0.5) * 1000,
  });
  try {
    log(`${timing}/${f}: opening ${CONNS} sessions through lb1`);
    await sessions.open(300000);
    const sbSeconds = WARMUP_S + Math.ceil(deadtime * 2) + HOLD_S + 2;
    log(`${timing}/${f}: sysbench oltp_write_only ${SYSBENCH_THREADS} threads ${sbSeconds} s; fault after ${WARMUP_S} s`);
    const sb = sysbench(seed, 'run', sbSeconds);
    await new Promise((r) => setTimeout(r, WARMUP_S * 1000));
    await waitFor('lb2 synced', async () => (await seed.director('lb2').status()).ha.sync?.synced, 10000, 100);
    const lb2 = seed.director('lb2');
    const since = lb2.records.length;
    const t0 = Date.now();
    await fault(seed, f);
    // From lb2's own log (its 'forwarding on' record), not from polling its status.
    const on = await lb2.waitLog('forwarding on', (r) => r.msg === 'forwarding on', (deadtime + 10) * 1000, since);
    const takeoverMs = Date.parse(String(on.time)) - t0;
    log(`${timing}/${f}: lb2 forwarding after ${takeoverMs} ms`);
    await new Promise((r) => setTimeout(r, Math.max(HOLD_S, deadtime * 2) * 1000));
    await heal(seed, f);
    const sbr = await sb;
    await new Promise((r) => setTimeout(r, 2000));
    const idleAlive = await sessions.checkIdle((deadtime * 4 + 30) * 1000);
    const rep = await sessions.finish(120000);
    await waitCaughtUp(seed.sql2, seed.sql1, 120000);
    await waitCaughtUp(seed.sql1, seed.sql2, 120000);
    const acked = Object.entries(rep.committed).flatMap(([c, ns]) => ns.map((n) => `${c}:${n}`));
    let lost = 0;
    for (const s of [seed.sql1, seed.sql2]) {
      const rows = new Set((await s.query('SELECT conn, n FROM test.sessions')).map(([c, n]) => `${c}:${n}`));
      lost = Math.max(lost, acked.filter((k) => !rows.has(k)).length);
    }
    const [c1, c2] = [await checksums(seed.sql1), await checksums(seed.sql2)];
    const differing = [...c1.keys()].filter((k) => c1.get(k) !== c2.get(k));
    await seed.sql1.query('DELETE FROM test.sessions');
    return {
      timing, fault: f, deadtimeS: deadtime, takeoverMs, broken: rep.broken, maxStallMs: rep.maxStallMs, stallPerDeadtime: rep.maxStallMs / (deadtime * 1000),
      queries: rep.queries, sessionsOverGoal: rep.sessionsOverGoal, acked: acked.length, lost, idleAlive, sysbench: sbr, differing,
    };
  } finally {
    sessions.kill();
  }
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  const seed = await SeedLab.create();
  try {
    for (const s of [seed.sql1, seed.sql2]) await s.query('SET GLOBAL max_connections = 2000');
    // A capped backoff spends tcp_retries2 (15) much sooner: 15 resends 1 s apart abort a connection before an 18 s
    // deadtime ends, so the cap comes with more retries (the client then gives up after about the same time).
    if (CLIENT_RTO_MAX_MS) await seed.must('client', ['sysctl', '-w', `net.ipv4.tcp_rto_max_ms=${CLIENT_RTO_MAX_MS}`, 'net.ipv4.tcp_retries2=40']);
    await seed.sql1.query('CREATE DATABASE IF NOT EXISTS sbtest');
    await seed.sql1.query(SESSIONS_TABLE_SQL);
    await waitCaughtUp(seed.sql2, seed.sql1);
    await sysbench(seed, 'prepare', 10);
    await waitCaughtUp(seed.sql2, seed.sql1, 120000);
    for (const timing of TIMINGS) {
      for (const f of FAULTS) {
        const r = await scenario(seed, timing, f);
        rows.push(r);
        console.log(JSON.stringify(r));
      }
    }
  } finally {
    await seed.destroy();
  }
  console.log(`\nconns ${CONNS} (half idle, half querying every 100 ms), sysbench oltp_write_only ${SYSBENCH_THREADS} threads${CLIENT_RTO_MAX_MS ? `, client tcp_rto_max_ms = ${CLIENT_RTO_MAX_MS}` : ''}`);
  console.log('| timing | fault | deadtime | takeover ms | broken | longest stall ms | stall / deadtime | sessions over deadtime + 0.5 s | acked commits | lost | idle alive | sysbench tps / errors / reconnects / longest 0-tps s | tables differing |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    console.log(`| ${r.timing} | ${r.fault} | ${r.deadtimeS} s | ${r.takeoverMs} | ${r.broken} | ${r.maxStallMs} | ${r.stallPerDeadtime.toFixed(2)} | ${r.sessionsOverGoal}/${Math.floor(CONNS / 2)} | ${r.acked} | ${r.lost} | ${r.idleAlive}/${CONNS - Math.floor(CONNS / 2)} | ${r.sysbench.tps} / ${r.sysbench.errors} / ${r.sysbench.reconnects} / ${r.sysbench.zeroTpsS} | ${r.differing.join(', ') || 'none'} |`);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
