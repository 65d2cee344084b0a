// The README's demo: builds the seed deployment in namespaces, shows what the seed shows, narrates two failures,
// then removes everything (or, with --keep, stays running until SIGTERM). Started by scripts/demo.sh.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { SeedLab, SEED, SEED_USERS, seedIpvsadmTable } from './seed';
import { waitCaughtUp } from './mariadb';
import { waitFor } from './lab';
import { Workload, WORKLOAD_TABLE_SQL } from './workload';
import { paths } from './build-lab';

const DEMO_FLAG = 'DIRECTORD_DEMO';
const tty = process.stdout.isTTY;
const c = (code: string, s: string): string => (tty ? `\x1b[${code}m${s}\x1b[0m` : s);
const bold = (s: string): string => c('1', s);
const dim = (s: string): string => c('2', s);
const green = (s: string): string => c('32', s);
const red = (s: string): string => c('31', s);

function say(line = ''): void {
  process.stdout.write(line + '\n');
}

function indent(text: string, by = '      '): string {
  return text.replace(/\n$/, '').split('\n').map((l) => by + l).join('\n');
}

let stepNo = 0;
const TOTAL_STEPS = 10;

/** Run one narrated step; a failure names the step and stops the demo (cleanup follows). */
async function step<T>(title: string, fn: () => Promise<T>): Promise<T> {
  stepNo++;
  say(bold(`[${stepNo}/${TOTAL_STEPS}] ${title}`));
  const t0 = Date.now();
  try {
    const v = await fn();
    say(green(`      ok`) + dim(` (${((Date.now() - t0) / 1000).toFixed(1)} s)`));
    return v;
  } catch (e) {
    say(red(`      FAILED at step ${stepNo} "${title}": ${(e as Error).message}`));
    throw e;
  }
}

function sideBySide(leftTitle: string, left: string, rightTitle: string, right: string): string {
  const l = left.replace(/\n$/, '').split('\n');
  const r = right.replace(/\n$/, '').split('\n');
  const w = Math.max(leftTitle.length, ...l.map((x) => x.length)) + 3;
  const rows = [leftTitle.padEnd(w) + rightTitle, '-'.repeat(w - 3).padEnd(w) + '-'.repeat(rightTitle.length)];
  for (let i = 0; i < Math.max(l.length, r.length); i++) rows.push((l[i] ?? '').padEnd(w) + (r[i] ?? ''));
  return rows.join('\n');
}

async function showTester(seed: SeedLab): Promise<void> {
  const [a, b] = [await seed.sql1.query('select * from test.tester order by col1'), await seed.sql2.query('select * from test.tester order by col1')];
  const fmt = (rows: string[][]): string => ['col1 col2', ...rows.map((r) => `${r[0].padStart(4)} ${r[1].padStart(4)}`)].join('\n');
  say(indent(sideBySide('sql1> select * from test.tester', fmt(a), 'sql2> select * from test.tester', fmt(b))));
  if (JSON.stringify(a) !== JSON.stringify(b)) throw new Error('the two servers differ');
  say(indent(green('identical on both servers')));
}

function nannyLines(seed: SeedLab, host: 'lb1' | 'lb2', since = 0): string[] {
  return seed.director(host).messages(/\[ active \]|\[inactive\]/, since).map((m) => `${host}.example.com directord: ${m}`);
}

async function run(keep: boolean): Promise<void> {
  say(bold('directord demo: the RDO "MySQL Multi-Master Replication Active-Active HA" deployment on one machine'));
  say(dim('lb1/lb2 run directord with the seed\'s lvs.cf unchanged; sql1/sql2 run MariaDB multi-master; all in network namespaces.'));
  say();
  let seed: SeedLab | undefined;
  const workloads: Workload[] = [];
  try {
    seed = await step('Build the five hosts and the databases', () =>
      SeedLab.create({ progress: (l) => say(dim(`      ${l}`)) }));
    const s = seed;

    await step('Start directord on lb1, then lb2 (seed §3 step 4: pulse on lb1 first)', async () => {
      await s.startDirector('lb1');
      await s.director('lb1').waitForwarding(true, 60000);
      await s.startDirector('lb2');
      say(indent(dim(`config: ${paths.seedConfig} (byte for byte the seed's lvs.cf)`)));
    });

    await step('`directorctl status` on lb1 next to the seed\'s `ipvsadm -Ln`', async () => {
      await waitFor('both real servers in the table', async () => (await s.director('lb1').status()).health.filter((h) => h.inTable).length === 2, 30000, 200);
      const ours = (await s.director('lb1').ctl(['status'])).stdout;
      say(indent(sideBySide('seed document (ipvsadm -Ln on lb1)', seedIpvsadmTable(), 'directord (directorctl status on lb1)', ours)));
      say();
      say(indent(dim('log lines, as the seed tails /var/log/messages:')));
      say(indent(nannyLines(s, 'lb1').join('\n')));
    });

    await step('`mysql -u nova -h 10.0.0.3` from the client', async () => {
      const r = await s.clientSql('select @@server_id, user(), now()');
      if (r.code !== 0) throw new Error(r.stderr.trim());
      say(indent(`[root@client]# mysql -u nova -h ${SEED.vip} -e 'select @@server_id, user(), now()'`));
      say(indent(r.stdout.trim().replace(/\t/g, '  ')));
      say(indent(dim(`server_id ${r.stdout.trim().split('\t')[0]} answered through the VIP (1 = sql1, 2 = sql2)`)));
    });

    await step('test.tester rows inserted on each server, read back on both (seed §2 step 16)', async () => {
      await s.sql1.query('create table test.tester ( col1 int not null auto_increment, col2 int, primary key (col1) )');
      await s.sql1.query("use test; insert into tester (col2) values ('1'),('3'),('5')");
      await waitCaughtUp(s.sql2, s.sql1);
      await s.sql2.query("use test; insert into tester (col2) values ('2'),('4'),('6')");
      await waitCaughtUp(s.sql1, s.sql2);
      const via = await s.clientSql('insert into test.tester (col2) values (7); select @@server_id');
      if (via.code !== 0) throw new Error(via.stderr.trim());
      await waitCaughtUp(s.sql1, s.sql2);
      await waitCaughtUp(s.sql2, s.sql1);
      say(indent(dim(`col2 = 7 was inserted through the VIP (it reached server_id ${via.stdout.trim()})`)));
      await showTester(s);
    });

    await s.sql1.query(WORKLOAD_TABLE_SQL);
    await waitCaughtUp(s.sql2, s.sql1);
    const w = new Workload(s.lab, 'client', { host: SEED.vip, ...SEED_USERS.nova, intervalMs: 100 });
    workloads.push(w);
    w.start();

    await step("Reload under traffic: sql2's weight 1 -> 2 in lvs.cf", async () => {
      say(indent('Both directors reload a changed lvs.cf while the client keeps writing; only the difference is applied.'));
      const changed = readFileSync(paths.seedConfig, 'utf8').replace(/(server sql2\.example\.com \{\n\s*address = 10\.0\.0\.5\n\s*active = 1\n\s*weight = )1/, '$12');
      if (changed === readFileSync(paths.seedConfig, 'utf8')) throw new Error("the seed's sql2 block was not found");
      const failuresBefore = w.failures.length;
      for (const h of ['lb1', 'lb2'] as const) {
        writeFileSync(s.configPath(h), changed);
        const r = await s.director(h).ctl(['reload']);
        if (r.code !== 0) throw new Error(`${h}: directorctl reload: ${r.stderr.trim() || r.stdout.trim()}`);
        say(indent(`${h}# directorctl reload -> ${r.stdout.trim().split('\n').join(' ')}`));
      }
      await new Promise((r) => setTimeout(r, 1000));
      say(indent(`client: ${w.committed.length} rows committed so far, ${w.failures.length - failuresBefore} failures during the reload`));
    });

    await step("Failure 1: a real server's mysqld stops; traffic moves; it returns after reentry", async () => {
      const victim = await s.waitServedBy('any');
      const other = victim === 'sql1' ? 'sql2' : 'sql1';
      const db = victim === 'sql1' ? s.sql1 : s.sql2;
      say(indent(`the client is being served by ${victim}; it writes a numbered row through the VIP every 100 ms`));
      say(indent('persistent = 60 pins it there; quiesce_server = 1 keeps a failed server in the table at weight 0. IPVS would'));
      say(indent('keep sending the client to the dead server; directord invalidates its template (failed_server_keeps_templates = 0).'));
      const mark = s.director('lb1').records.length;
      const t0 = Date.now();
      await db.stop();
      say(indent(`${dim(new Date().toISOString().slice(11, 19))} service mysqld stop   (on ${victim})`));
      await s.director('lb1').waitLog(`${victim} shut down`, (r) => /\[inactive\]/.test(String(r.msg)) && String(r.msg).includes(db.address), 60000, mark);
      say(indent(nannyLines(s, 'lb1', mark).join('\n')));
      await waitFor(`a commit on ${other}`, () => { const ok = w.lastOk(); return ok && ok.at > t0 && ok.serverId === (other === 'sql1' ? 1 : 2); }, 60000, 200);
      say(indent(`the client's rows now land on ${other} (${((Date.now() - t0) / 1000).toFixed(1)} s after the stop; timeout = 5 s)`));
      const mark2 = s.director('lb1').records.length;
      await db.start();
      say(indent(`${dim(new Date().toISOString().slice(11, 19))} service mysqld start  (on ${victim}); reentry = 10 s of good checks`));
      await s.director('lb1').waitLog(`${victim} back`, (r) => /\[ active \]/.test(String(r.msg)) && String(r.msg).includes(db.address), 90000, mark2);
      say(indent(nannyLines(s, 'lb1', mark2).join('\n')));
      say(indent((await s.director('lb1').ctl(['status'])).stdout));
    });

    await step('Failure 2: lb1 dies; lb2 takes the VIP; the client keeps working', async () => {
      const t0 = Date.now();
      const committedBefore = w.committed.length;
      await s.director('lb1').stop('SIGKILL');
      await s.must('sw', ['ip', 'link', 'set', s.lab.switchPort('lb1'), 'down']);
      say(indent(`${dim(new Date().toISOString().slice(11, 19))} lb1 powered off (directord SIGKILLed, its link down)`));
      await s.director('lb2').waitForwarding(true, 60000);
      say(indent(`lb2 is active after ${((Date.now() - t0) / 1000).toFixed(1)} s (deadtime = 18 s)`));
      const gap = await waitFor('a commit through lb2', () => w.recoveryMs(t0), 60000, 200);
      say(indent(`the client's first commit after lb1 died: ${(gap / 1000).toFixed(1)} s; ${w.committed.length - committedBefore} commits since`));
      const r = await s.clientSql('select @@server_id');
      say(indent(`[root@client]# mysql -u nova -h ${SEED.vip} -> server_id ${r.stdout.trim()}`));
      say(indent((await s.director('lb2').ctl(['status'])).stdout));
    });

    await step('No committed row lost; both servers identical', async () => {
      await w.stop();
      await waitCaughtUp(s.sql1, s.sql2);
      await waitCaughtUp(s.sql2, s.sql1);
      const rows1 = (await s.sql1.query('select seq from test.workload order by seq')).map((r) => Number(r[0]));
      const rows2 = (await s.sql2.query('select seq from test.workload order by seq')).map((r) => Number(r[0]));
      const lost = w.committed.filter((n) => !rows1.includes(n) || !rows2.includes(n));
      say(indent(`${w.committed.length} transactions committed through the VIP, ${w.failures.length} attempts failed during the failovers`));
      say(indent(`sql1 holds ${rows1.length} rows, sql2 holds ${rows2.length}; committed but missing: ${lost.length}`));
      if (lost.length || JSON.stringify(rows1) !== JSON.stringify(rows2)) throw new Error('data differs');
    });

    if (keep) {
      await step('Repair lb1 (link up, directord restarted): it rejoins as standby', async () => {
        await s.must('sw', ['ip', 'link', 'set', s.lab.switchPort('lb1'), 'up']);
        await s.startDirector('lb1', readFileSync(s.configPath('lb1'), 'utf8'));
        await waitFor('lb1 to hear lb2', async () => (await s.director('lb1').status()).ha.lastHeartbeatAgeMs !== undefined, 60000, 200);
        say(indent((await s.director('lb1').ctl(['status'])).stdout.split('\n').filter((l) => /^(Node|Peer):/.test(l)).join('\n')));
      });
      say();
      say(bold('The lab stays up. Explore it:'));
      say(`  ip netns exec ${s.lab.ns('client')} mysql -u nova -pnova_pw -h ${SEED.vip}`);
      say(`  ip netns exec ${s.lab.ns('lb2')} node ${paths.directorctl} --socket ${s.director('lb2').opts.socket} status`);
      say(`  ip netns exec ${s.lab.ns('sql1')} mysql -S ${s.sql1.socket} -e 'show slave status\\G'`);
      say(`  bash scripts/demo.sh --down      # removes everything`);
      say('ready: lab is up');
      await new Promise<never>(() => undefined);
    }
    await step('Remove everything', async () => {
      const prefix = seed!.lab.prefix;
      const pids = [seed!.sql1.pid, seed!.sql2.pid, ...[...seed!.directors.values()].map((d) => d.pid)].filter((p): p is number => p !== undefined);
      await seed!.destroy();
      seed = undefined;
      const alive = pids.filter((p) => {
        try {
          process.kill(p, 0);
          return true;
        } catch {
          return false;
        }
      });
      if (alive.length) throw new Error(`processes left: ${alive.join(', ')}`);
      say(indent(dim(`stopped mariadbd and directord (pids ${pids.join(', ')}), removed namespaces ${prefix}-*, temp dirs and /etc/netns entries`)));
      const left = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n').filter((l) => l.startsWith(prefix));
      if (left.length) throw new Error(`namespaces left: ${left.join(', ')}`);
    });
  } finally {
    for (const w of workloads) await w.stop().catch(() => undefined);
    if (seed) await seed.destroy().catch(() => undefined);
  }
}

if (require.main === module && process.env[DEMO_FLAG] === '1') {
  const keep = process.argv.includes('--keep');
  run(keep).then(
    () => {
      say(bold(green('demo finished: no namespaces, no processes left')));
      process.exit(0);
    },
    () => process.exit(1),
  );
}
