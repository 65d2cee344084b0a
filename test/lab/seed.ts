// The seed deployment on one machine: client, lb1, lb2, sql1, sql2 namespaces on one bridge with the seed's addresses,
// the ARP-problem fix on the real servers, multi-master MariaDB, and directord on lb1/lb2 running the seed's lvs.cf.
import { mkdtempSync, mkdirSync, writeFileSync, rmSync, existsSync, readdirSync, copyFileSync, chmodSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Lab, waitFor, type ExecResult } from './lab';
import { MariaDbServer, setupMultiMaster, waitCaughtUp } from './mariadb';
import { DirectorProcess } from './director-process';
import { execIn } from './ns-exec';
import { Workload, WORKLOAD_TABLE_SQL } from './workload';
import { paths } from './build-lab';

export const SEED = {
  lb1: '10.0.0.1',
  lb2: '10.0.0.2',
  vip: '10.0.0.3',
  sql1: '10.0.0.4',
  sql2: '10.0.0.5',
  client: '10.0.0.10',
  prefix: 20,
} as const;

/** The seed's users: replication (§2 step 5), nova (§2 step 17, §3 step 6) and a monitor user for `check = mysql`. */
export const SEED_USERS = {
  replication: { user: 'replication', password: 'secret_pw' },
  nova: { user: 'nova', password: 'nova_pw' },
  monitor: { user: 'monitor', password: 'monitor_pw' },
} as const;

/** The seed's §3 step 5 table in ipvsadm 1.26's exact columns (reference §5.1), for given connection counters. */
export function seedIpvsadmTable(counts: Array<{ active: number; inact: number }> = [{ active: 0, inact: 0 }, { active: 0, inact: 0 }]): string {
  const dest = (addr: string, c: { active: number; inact: number }): string =>
    `  -> ${`${addr}:3306`.padEnd(28)} ${'Route'.padEnd(7)} ${'1'.padEnd(6)} ${String(c.active).padEnd(10)} ${String(c.inact).padEnd(10)}`;
  return [
    'IP Virtual Server version 1.2.1 (size=4096)',
    'Prot LocalAddress:Port Scheduler Flags',
    '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn',
    `TCP  ${SEED.vip}:3306 wlc persistent 60 mask 255.255.240.0`,
    dest(SEED.sql1, counts[0]),
    dest(SEED.sql2, counts[1]),
    '',
  ].join('\n');
}

/**
 * The seed's lvs.cf with some values replaced (keys that already exist keep their line; new keys are added to the
 * global section or the virtual block). Used for the failure scenarios, where the seed's 5 s/10 s/18 s would make
 * the suite slow: e.g. { timeout: 1, reentry: 2, keepalive: 0.2, deadtime: 0.6 }.
 */
export function seedVariant(seedText: string, global: Record<string, string | number>, virtual: Record<string, string | number> = {}): string {
  let text = seedText;
  const replaceOrAdd = (key: string, value: string | number, anchor: RegExp, indent: string): void => {
    const re = new RegExp(`^(\\s*)${key} = .*$`, 'm');
    if (re.test(text)) text = text.replace(re, `$1${key} = ${value}`);
    else text = text.replace(anchor, (m) => `${m}\n${indent}${key} = ${value}`);
  };
  for (const [k, v] of Object.entries(global)) replaceOrAdd(k, v, /^network = .*$/m, '');
  for (const [k, v] of Object.entries(virtual)) replaceOrAdd(k, v, /^\s*quiesce_server = .*$/m, '  ');
  return text;
}

/** The fast variant the failure scenarios run (documented in docs/demo.md): same topology, shorter clocks. */
export const FAST_TIMINGS = {
  global: { keepalive: 0.2, deadtime: 0.6 },
  virtual: { timeout: 1, reentry: 2 },
} as const;

export type SeedHost = 'lb1' | 'lb2' | 'sql1' | 'sql2' | 'client';
export type Director = 'lb1' | 'lb2';

/** /etc/hosts of every host: the seed names its machines *.example.com; the grants use those names. */
export const SEED_HOSTS_FILE = [
  '127.0.0.1 localhost',
  `${SEED.lb1} lb1.example.com lb1`,
  `${SEED.lb2} lb2.example.com lb2`,
  `${SEED.vip} sql.example.com sql`,
  `${SEED.sql1} sql1.example.com sql1`,
  `${SEED.sql2} sql2.example.com sql2`,
  `${SEED.client} client.example.com client`,
  '',
].join('\n');

/** The repaired check script (written by the health work); the seed's lvs.cf names it /usr/local/bin/check_tcp_port.sh. */
export function checkScriptPath(): string {
  const p = join(paths.root, 'config', 'check_tcp_port.sh');
  if (!existsSync(p)) throw new Error(`${p} is missing: the seed's send_program cannot run`);
  return p;
}

export interface SeedLabOptions {
  /** max_connect_errors on both servers (seed: 1000). */
  maxConnectErrors?: number;
  /** Progress lines for a human (the demo); tests leave it out. */
  progress?: (line: string) => void;
}

function removeStaleEtcNetns(): void {
  if (!existsSync('/etc/netns')) return;
  for (const d of readdirSync('/etc/netns')) {
    const m = /^dd(\d+)[a-z]?-/.exec(d);
    if (!m) continue;
    try {
      process.kill(Number(m[1]), 0);
    } catch {
      rmSync(join('/etc/netns', d), { recursive: true, force: true });
    }
  }
}

export class SeedLab {
  readonly dirs: { root: string; bin: string };
  readonly directors = new Map<Director, DirectorProcess>();
  sql1!: MariaDbServer;
  sql2!: MariaDbServer;
  private etcNetns: string[] = [];

  private constructor(readonly lab: Lab, private readonly progress: (line: string) => void) {
    this.dirs = { root: mkdtempSync(join(tmpdir(), 'ddseed-')), bin: '' };
    this.dirs.bin = join(this.dirs.root, 'usr-local-bin');
    mkdirSync(this.dirs.bin);
  }

  /** Namespaces, addresses, ARP fix, /etc/hosts, MariaDB multi-master and the seed's users. No directord yet. */
  static async create(opts: SeedLabOptions = {}): Promise<SeedLab> {
    removeStaleEtcNetns();
    const progress = opts.progress ?? (() => undefined);
    progress('creating namespaces client, lb1, lb2, sql1, sql2 on one bridge (10.0.0.0/20)');
    const lab = await Lab.create([
      { name: 'lb1', address: `${SEED.lb1}/${SEED.prefix}` },
      { name: 'lb2', address: `${SEED.lb2}/${SEED.prefix}` },
      // The seed's "ARP problem" fix: arp_ignore=1, arp_announce=2 and the VIP on lo (its lo:3).
      { name: 'sql1', address: `${SEED.sql1}/${SEED.prefix}`, vipsOnLo: [SEED.vip] },
      { name: 'sql2', address: `${SEED.sql2}/${SEED.prefix}`, vipsOnLo: [SEED.vip] },
      { name: 'client', address: `${SEED.client}/${SEED.prefix}` },
    ], { tag: 'seed' });
    const seed = new SeedLab(lab, progress);
    // Lab and MariaDB clean their own parts on exit; this removes the files only the seed lab creates.
    process.on('exit', () => seed.removeFiles());
    try {
      await seed.build(opts);
    } catch (e) {
      await seed.destroy();
      throw e;
    }
    return seed;
  }

  private async build(opts: SeedLabOptions): Promise<void> {
    // `ip netns exec` bind-mounts /etc/netns/<ns>/* over /etc/*: each host gets the seed's names and no outside DNS.
    for (const h of this.lab.hosts.keys()) {
      const d = join('/etc/netns', this.lab.ns(h));
      mkdirSync(d, { recursive: true });
      this.etcNetns.push(d);
      writeFileSync(join(d, 'hosts'), SEED_HOSTS_FILE);
      writeFileSync(join(d, 'resolv.conf'), '# lab: names come from /etc/hosts only\noptions timeout:1 attempts:1\n');
    }
    this.progress('starting MariaDB on sql1 and sql2 (seed my.cnf: server_id, auto_increment 1/2 step 10, log-bin, log-slave-updates)');
    const [sql1, sql2] = await Promise.all([
      MariaDbServer.create(this.lab, 'sql1', { name: 'sql1', serverId: 1, autoIncrementOffset: 1, maxConnectErrors: opts.maxConnectErrors }),
      MariaDbServer.create(this.lab, 'sql2', { name: 'sql2', serverId: 2, autoIncrementOffset: 2, maxConnectErrors: opts.maxConnectErrors }),
    ]);
    this.sql1 = sql1;
    this.sql2 = sql2;
    this.progress("multi-master replication: grants to 'replication'@'sql1/sql2.example.com', CHANGE MASTER TO each other");
    await setupMultiMaster(sql1, sql2, {
      ...SEED_USERS.replication,
      grantHosts: ['sql1.example.com', 'sql2.example.com'],
    });
    // Users created on sql1 reach sql2 through replication, as an operator would do after step 17.
    await sql1.createUser(SEED_USERS.nova.user, SEED_USERS.nova.password, { replicate: true });
    await sql1.createUser(SEED_USERS.monitor.user, SEED_USERS.monitor.password, { replicate: true, privileges: 'REPLICATION CLIENT, REPLICA MONITOR', on: '*.*' });
    await waitCaughtUp(sql2, sql1);
  }

  /** The lvs.cf path a director runs (a copy in the lab dir, so tests can rewrite it and reload). */
  configPath(host: Director): string {
    return join(this.dirs.root, `${host}-lvs.cf`);
  }

  /** The workload client (nova) through the VIP, once test.workload exists on both servers; the caller waits for commits. */
  async startWorkload(opts: { intervalMs: number; timeoutMs: number }): Promise<Workload> {
    await this.sql1.query(WORKLOAD_TABLE_SQL);
    await waitCaughtUp(this.sql2, this.sql1);
    const w = new Workload(this.lab, 'client', { host: SEED.vip, ...SEED_USERS.nova, intervalMs: opts.intervalMs, connectTimeoutMs: opts.timeoutMs, queryTimeoutMs: opts.timeoutMs });
    w.start();
    return w;
  }

  /** Start directord in lb1/lb2 with a private /usr/local/bin overlay that holds check_tcp_port.sh. */
  async startDirector(host: Director, lvsCf: string = readFileSync(paths.seedConfig, 'utf8'), opts: { logLevel?: string; args?: string[] } = {}): Promise<DirectorProcess> {
    const script = join(this.dirs.bin, 'check_tcp_port.sh');
    if (!existsSync(script)) {
      copyFileSync(checkScriptPath(), script);
      chmodSync(script, 0o755);
    }
    writeFileSync(this.configPath(host), lvsCf);
    const d = new DirectorProcess(this.lab, host, {
      config: this.configPath(host),
      socket: join(this.dirs.root, `${host}.sock`),
      overlayBin: this.dirs.bin,
      logLevel: opts.logLevel,
      args: opts.args,
    });
    this.directors.set(host, d);
    await d.start();
    return d;
  }

  director(host: Director): DirectorProcess {
    const d = this.directors.get(host);
    if (!d) throw new Error(`directord not started on ${host}`);
    return d;
  }

  /**
   * Run a command that reads no input in a host (stdin closed): lab.exec feeds stdin, which can fail with EPIPE
   * when a quick command (ip, nft, ping) exits first.
   */
  run(host: string, argv: string[], timeoutMs = 15000): Promise<ExecResult> {
    return execIn(this.lab, host, argv, timeoutMs);
  }

  /** run() that throws with stderr on a non-zero exit. */
  async must(host: string, argv: string[]): Promise<string> {
    const r = await this.run(host, argv);
    if (r.code !== 0) throw new Error(`[${host}] ${argv.join(' ')}: exit ${r.code}: ${r.stderr.trim()}`);
    return r.stdout;
  }

  /**
   * The director the client's packets for the VIP go to: the MAC of the client's EXISTING neighbour entry, read
   * without flushing it. After a failover that entry moves only through the new director's gratuitous ARPs (a killed
   * director's kernel still holds the VIP and would answer a fresh request): a flush and a new ARP request would
   * measure who wins that race instead. A client with no entry yet resolves one now, which is unambiguous only while
   * a single director holds the VIP, so that case throws when both do.
   */
  async vipOwner(): Promise<Director | undefined> {
    let mac = await this.clientVipMac();
    if (!mac) {
      const holders: Director[] = [];
      for (const h of ['lb1', 'lb2'] as const) {
        if ((await this.run(h, ['ip', '-4', '-o', 'addr', 'show', 'dev', 'eth0'])).stdout.includes(` ${SEED.vip}/`)) holders.push(h);
      }
      if (holders.length > 1) throw new Error(`vipOwner: the client has no neighbour entry for ${SEED.vip} and both directors hold it`);
      await this.run('client', ['ping', '-c1', '-W1', SEED.vip]);
      mac = await this.clientVipMac();
    }
    for (const h of ['lb1', 'lb2'] as const) if (mac && (await this.lab.macOf(h)) === mac) return h;
    return undefined;
  }

  private clientVipMac(): Promise<string | undefined> {
    return this.lab.neighbourMac('client', SEED.vip);
  }

  /** `mariadb -h 10.0.0.3` from the client, as nova (the seed's §3 step 6). */
  clientSql(sql: string, opts: { address?: string; connectTimeout?: number } = {}): Promise<ExecResult> {
    const argv = ['mariadb', '--no-defaults', '-h', opts.address ?? SEED.vip, '-u', SEED_USERS.nova.user, `-p${SEED_USERS.nova.password}`,
      '--batch', '--skip-column-names', `--connect-timeout=${opts.connectTimeout ?? 3}`];
    return execIn(this.lab, 'client', [...argv, '-e', sql], 20000);
  }

  /** The server_id that answers through the VIP: 1 = sql1, 2 = sql2. */
  async servedBy(): Promise<'sql1' | 'sql2' | undefined> {
    const r = await this.clientSql('SELECT @@server_id');
    const id = r.stdout.trim();
    return id === '1' ? 'sql1' : id === '2' ? 'sql2' : undefined;
  }

  async waitServedBy(which: 'sql1' | 'sql2' | 'any', timeoutMs = 30000): Promise<'sql1' | 'sql2'> {
    return waitFor(`the VIP to be served by ${which}`, async () => {
      const s = await this.servedBy();
      return s && (which === 'any' || s === which) ? s : undefined;
    }, timeoutMs, 200);
  }

  /** Stop directors, MariaDB and the namespaces; remove every temp dir and /etc/netns entry. */
  async destroy(): Promise<void> {
    for (const d of this.directors.values()) await d.stop('SIGKILL').catch(() => undefined);
    for (const s of [this.sql1, this.sql2]) if (s) await s.destroy().catch(() => undefined);
    await this.lab.destroy();
    this.removeFiles();
  }

  private removeFiles(): void {
    for (const d of this.etcNetns) rmSync(d, { recursive: true, force: true });
    try {
      if (existsSync('/etc/netns') && readdirSync('/etc/netns').length === 0) rmSync('/etc/netns', { recursive: true });
    } catch {
      /* another lab uses it */
    }
    rmSync(this.dirs.root, { recursive: true, force: true });
  }
}
