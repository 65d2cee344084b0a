// The scale-out lab: a router namespace running BIRD with ECMP into its kernel, N directors each running BIRD +
// directord (announcing the VIP over BGP, BFD on), real servers with the VIP on lo, and a client behind the router.
// Everything lives in the lab's namespaces and one temporary directory, removed by destroy().
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { Lab, waitFor, type HostSpec } from '../lab/lab';
import { DirectorProcess } from '../lab/director-process';
import { ensureLabBuilt, paths } from '../lab/build-lab';
import { execIn } from '../lab/ns-exec';

export const BGP_LAB = {
  router: '10.0.0.1',
  routerClientSide: '10.1.0.1',
  client: '10.1.0.10',
  vip: '10.2.0.100',
  port: 8080,
  routerAs: 65000,
  directorAs: 65001,
  director: (i: number) => `10.0.0.${10 + i}`,
  server: (i: number) => `10.0.0.${20 + i}`,
};

export interface BgpLabOptions {
  directors: number;
  /** Real servers (default 2). */
  servers?: number;
  /** BFD interval in seconds (both sides); 0 = BFD off. */
  bfdInterval?: number;
  bfdMultiplier?: number;
  /** Extra lvs.cf global lines for every director (e.g. scale_out = 1). */
  globalExtra?: (i: number) => string[];
  /** Extra daemon arguments (e.g. --metrics). */
  daemonArgs?: (i: number) => string[];
  /** scale_out = 1 with every director in sync_peers (default); false: each director its own primary, no backup. */
  scaleOut?: boolean;
  /** The directors listed in sync_peers (default 1..directors); [] = scale-out without connection sync. */
  syncPeers?: number[];
  scheduler?: string;
  /** Real servers: 'greet' (name once, then echo; default) or 'name-each-line' (test/ha/flows.ts echo: answers every line with its name). */
  serversAnswer?: 'greet' | 'name-each-line';
}

/** The router side: what docs/deploy.md shows, with one BGP session per director and ECMP into the kernel. */
export function routerBirdConf(o: { directors: number; bfdInterval: number; bfdMultiplier: number; log: string }): string {
  const bfd = o.bfdInterval > 0;
  return [
    `router id ${BGP_LAB.router};`,
    `log "${o.log}" all;`,
    'protocol device {}',
    '# ECMP: every equal BGP path becomes one next hop of a multipath kernel route.',
    'protocol kernel { ipv4 { import none; export all; }; merge paths on; }',
    ...(bfd ? [`protocol bfd { interface "*" { interval ${Math.round(o.bfdInterval * 1000)} ms; multiplier ${o.bfdMultiplier}; }; }`] : []),
    ...Array.from({ length: o.directors }, (_, k) => [
      `protocol bgp d${k + 1} {`,
      `  local ${BGP_LAB.router} as ${BGP_LAB.routerAs};`,
      `  neighbor ${BGP_LAB.director(k + 1)} as ${BGP_LAB.directorAs};`,
      // The router waits for the directors to connect: no retries and error back-off toward absent directors.
      '  passive on;',
      '  error wait time 1, 10;',
      ...(bfd ? ['  bfd on;'] : []),
      '  ipv4 { import where net = ' + `${BGP_LAB.vip}/32; export none; };`,
      '}',
    ].join('\n')),
    '',
  ].join('\n');
}

export class BgpLab {
  readonly dir: string;
  readonly directors = new Map<number, DirectorProcess>();
  readonly birds = new Map<string, ChildProcess>();
  private constructor(readonly lab: Lab, readonly o: BgpLabOptions) {
    this.dir = mkdtempSync(join(tmpdir(), `dd${process.pid}-bgp-`));
  }

  static async create(o: BgpLabOptions): Promise<BgpLab> {
    ensureLabBuilt();
    const hosts: HostSpec[] = [
      { name: 'router', address: `${BGP_LAB.router}/24` },
      ...Array.from({ length: o.directors }, (_, k) => ({ name: `d${k + 1}`, address: `${BGP_LAB.director(k + 1)}/24` })),
      ...Array.from({ length: o.servers ?? 2 }, (_, k) => ({ name: `s${k + 1}`, address: `${BGP_LAB.server(k + 1)}/24`, vipsOnLo: [BGP_LAB.vip] })),
      { name: 'client', address: `${BGP_LAB.client}/24` },
    ];
    const lab = await Lab.create(hosts, { tag: 'bgp' });
    const b = new BgpLab(lab, o);
    try {
      await b.wire();
    } catch (e) {
      await b.destroy();
      throw e;
    }
    return b;
  }

  private async wire(): Promise<void> {
    const l = this.lab;
    // The client sits in its own subnet on the same wire: the router forwards both ways (no redirects, ECMP by L4 hash).
    await l.sh('router', [
      `ip addr add ${BGP_LAB.routerClientSide}/24 dev eth0`,
      'sysctl -qw net.ipv4.ip_forward=1 net.ipv4.fib_multipath_hash_policy=1 net.ipv4.conf.all.send_redirects=0 net.ipv4.conf.eth0.send_redirects=0 net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.eth0.rp_filter=0',
    ].join(' && '));
    await l.sh('client', `ip route add default via ${BGP_LAB.routerClientSide}`);
    for (let k = 1; k <= (this.o.servers ?? 2); k++) {
      await l.sh(`s${k}`, `ip route add default via ${BGP_LAB.router}`);
      // A tiny TCP service: greets with its name, then echoes (long-lived connections stay open until closed).
      if (this.o.serversAnswer === 'name-each-line') {
        l.spawn(`s${k}`, [process.execPath, join(paths.root, 'dist', 'test', 'ha', 'flows.js'), 'echo', `s${k}`, String(BGP_LAB.port)], { stdio: 'ignore' });
        continue;
      }
      const js = `require('net').createServer((s)=>{s.on('error',()=>{});s.write('s${k}\\n');s.pipe(s);}).listen(${BGP_LAB.port},'0.0.0.0')`;
      l.spawn(`s${k}`, ['node', '-e', js], { stdio: 'ignore' });
    }
    await this.startBird('router', routerBirdConf({ directors: 4, bfdInterval: this.o.bfdInterval ?? 0.05, bfdMultiplier: this.o.bfdMultiplier ?? 3, log: join(this.dir, 'router-bird.log') }));
    for (let k = 1; k <= (this.o.servers ?? 2); k++) {
      await waitFor(`s${k} listening`, async () => (await execIn(l, `s${k}`, ['sh', '-c', `ss -ltn | grep -q :${BGP_LAB.port}`])).code === 0, 10000, 100);
    }
  }

  sock(host: string): string {
    return join(this.dir, `${host}-bird.ctl`);
  }

  private async startBird(host: string, conf: string): Promise<void> {
    const old = this.birds.get(host);
    if (old && old.exitCode === null && old.signalCode === null) {
      const gone = new Promise((r) => old.once('exit', r));
      old.kill('SIGKILL');
      await gone;
    }
    const file = join(this.dir, `${host}-bird.conf`);
    writeFileSync(file, conf);
    const child = this.lab.spawn(host, ['bird', '-f', '-c', file, '-s', this.sock(host), '-P', join(this.dir, `${host}-bird.pid`)], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr!.on('data', (d) => (err += d));
    this.birds.set(host, child);
    await waitFor(`bird on ${host}`, async () => {
      if (child.exitCode !== null) throw new Error(`bird on ${host} exited: ${err}`);
      return (await this.birdc(host, ['show', 'status'])).includes('Daemon is up');
    }, 10000, 100);
  }

  birdc(host: string, args: string[]): Promise<string> {
    return execIn(this.lab, host, ['birdc', '-s', this.sock(host), ...args]).then((r) => r.stdout + r.stderr);
  }

  /** bgp_hold_time for the directors (the router takes the lower of both): the no-BFD baseline of the bench. */
  holdTime?: number;

  lvsCf(i: number): string {
    const inc = join(this.dir, `d${i}-directord.conf`);
    const bfd = (this.o.bfdInterval ?? 0.05) > 0;
    const peers = this.o.syncPeers ?? Array.from({ length: this.o.directors }, (_, k) => k + 1);
    const servers = Array.from({ length: this.o.servers ?? 2 }, (_, k) => [
      `  server s${k + 1} {`, `    address = ${BGP_LAB.server(k + 1)}`, '    active = 1', '    weight = 1', '  }',
    ]).flat();
    return [
      'serial_no = 1',
      ...(this.o.scaleOut === false
        ? [`primary = ${BGP_LAB.director(i)}`]
        : ['scale_out = 1', ...(peers.length ? [`sync_peers = ${peers.map((k) => BGP_LAB.director(k)).join(' ')}`, `heartbeat_key_file = ${this.keyFile()}`] : [])]),
      'service = lvs',
      'network = direct',
      'keepalive = 0.2',
      'deadtime = 0.6',
      `bgp_local_as = ${BGP_LAB.directorAs}`,
      `bgp_peer = ${BGP_LAB.router}`,
      `bgp_peer_as = ${BGP_LAB.routerAs}`,
      `bgp_bfd = ${bfd ? 1 : 0}`,
      ...(bfd ? [`bgp_bfd_interval = ${this.o.bfdInterval ?? 0.05}`, `bgp_bfd_multiplier = ${this.o.bfdMultiplier ?? 3}`] : []),
      ...(this.holdTime ? [`bgp_hold_time = ${this.holdTime}`] : []),
      `bgp_include_file = ${inc}`,
      `bgp_birdc_socket = ${this.sock(`d${i}`)}`,
      ...(this.o.globalExtra?.(i) ?? []),
      'virtual web {',
      '  active = 1',
      `  address = ${BGP_LAB.vip} eth0:6`,
      '  vip_nmask = 255.255.255.255',
      `  port = ${BGP_LAB.port}`,
      '  protocol = tcp',
      `  scheduler = ${this.o.scheduler ?? 'mh'}`,
      '  timeout = 1',
      '  interval = 0.3',
      '  rise = 1',
      '  fall = 1',
      ...servers,
      '}',
      '',
    ].join('\n');
  }

  keyFile(): string {
    const f = join(this.dir, 'sync.key');
    writeFileSync(f, 'bgp-lab-sync-key-0123456789abcdef\n', { mode: 0o600 });
    return f;
  }

  configFile(i: number): string {
    return join(this.dir, `d${i}-lvs.cf`);
  }

  /** bird first (with an empty include, as at boot before directord), then directord, which fills it in. */
  async startDirector(i: number): Promise<DirectorProcess> {
    const host = `d${i}`;
    writeFileSync(join(this.dir, `${host}-directord.conf`), '');
    await this.startBird(host, `router id ${BGP_LAB.director(i)};\nlog "${join(this.dir, `${host}-bird.log`)}" all;\nprotocol device {}\ninclude "${join(this.dir, `${host}-directord.conf`)}";\n`);
    writeFileSync(this.configFile(i), this.lvsCf(i));
    const d = new DirectorProcess(this.lab, host, { config: this.configFile(i), socket: join(this.dir, `${host}.sock`), args: this.o.daemonArgs?.(i) });
    await d.start();
    this.directors.set(i, d);
    return d;
  }

  /** The router's kernel next hops for the VIP (sorted), [] when there is no route. */
  async nextHops(): Promise<string[]> {
    const r = await execIn(this.lab, 'router', ['ip', '-j', 'route', 'show', `${BGP_LAB.vip}/32`]);
    const routes = JSON.parse(r.stdout || '[]') as { gateway?: string; nexthops?: { gateway: string }[] }[];
    const hops = routes.flatMap((x) => (x.nexthops ? x.nexthops.map((n) => n.gateway) : x.gateway ? [x.gateway] : []));
    return hops.sort();
  }

  waitNextHops(want: number[], timeoutMs = 30000): Promise<string[]> {
    const expect = want.map((i) => BGP_LAB.director(i)).sort();
    return waitFor(`router next hops ${expect.join(',') || '(none)'}`, async () => {
      const h = await this.nextHops();
      return JSON.stringify(h) === JSON.stringify(expect) ? h : undefined;
    }, timeoutMs, 20).catch(async (e: Error) => {
      throw new Error(`${e.message}\n${await this.diagnose()}`);
    });
  }

  /** What the router and each director's bird say, for a failure message. */
  async diagnose(): Promise<string> {
    const out = [`router: ${await this.birdc('router', ['show', 'protocols', 'all'])}`, `router route: ${await this.birdc('router', ['show', 'route', 'all'])}`];
    for (const i of this.directors.keys()) {
      out.push(`d${i}: ${await this.birdc(`d${i}`, ['show', 'protocols', 'all'])}`);
      out.push(`d${i} directord: ${(await this.directors.get(i)!.ctl(['status'])).stdout}`);
    }
    return out.join('\n');
  }

  /**
   * A director dies as a host does: its link goes silent first (no FIN, no BGP notification can leave), then its
   * bird and directord are killed -9. Only BFD (or the BGP hold time) can tell the router.
   */
  async killDirector(i: number): Promise<void> {
    await this.lab.sh('sw', `ip link set ${this.lab.switchPort(`d${i}`)} down`);
    const bird = this.birds.get(`d${i}`);
    if (bird?.pid) process.kill(bird.pid, 'SIGKILL');
    const d = this.directors.get(i);
    if (d?.pid) process.kill(d.pid, 'SIGKILL');
  }

  async destroy(): Promise<void> {
    await this.lab.destroy();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
