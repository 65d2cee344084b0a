// The data-plane lab: a client (offloads on), a director driven by harness.ts, and real servers with the VIP on lo.
// Addresses in 10.61.0.0/20. Servers answer TCP and UDP with their own name, so a client sees who served it.
import { execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import readline from 'node:readline';
import { Lab, waitFor, within, type HostSpec } from '../lab/lab';
import { ensureBuilt, paths } from '../lab/build';
import type { ServiceSpec } from '../../src/dataplane/types';

export const VIP = '10.61.0.100';
export const DIR_MAC = '02:61:00:00:00:02';
export const rsMac = (i: number): string => `02:61:00:00:00:${(0x10 + i).toString(16)}`;
export const rsAddr = (i: number): string => `10.61.0.${10 + i}`;

export const harnessJs = join(paths.root, 'dist', 'test', 'dataplane', 'harness.js');

/** dist/ must hold this directory's harness too (ensureBuilt only looks at src/). */
export function ensureHarness(): void {
  ensureBuilt();
  const src = join(paths.root, 'test', 'dataplane', 'harness.ts');
  if (!existsSync(harnessJs) || statSync(src).mtimeMs > statSync(harnessJs).mtimeMs) {
    execFileSync(join(paths.root, 'node_modules', '.bin', 'tsc'), ['-p', paths.root], { stdio: 'ignore' });
  }
}

// A server that answers every TCP connection and UDP datagram with its name. TCP requests are one line:
// "name" (reply, close), "hold" (reply to every line until the client closes), "up N" (read N bytes, reply the
// count), "down N" (send N bytes, close). A UDP datagram starting "size" is answered with the name and its length.
const SERVER_JS = `
const [name, port] = process.argv.slice(1);
const net = require('net'), dgram = require('dgram');
net.createServer((s) => { s.on('error', () => {}); let mode = '', buf = '', got = 0, want = 0;
  s.on('data', (d) => {
    if (mode === 'up') { got += d.length; if (got >= want) s.end(name + ' ' + got + '\\n'); return; }
    if (mode === 'hold') { s.write(name + '\\n'); return; }
    buf += d; const i = buf.indexOf('\\n'); if (i < 0) return;
    const [cmd, n] = buf.slice(0, i).split(' ');
    if (cmd === 'hold') { mode = 'hold'; s.write(name + '\\n'); }
    else if (cmd === 'up') { mode = 'up'; want = Number(n); got = Buffer.byteLength(buf.slice(i + 1)); if (got >= want) s.end(name + ' ' + got + '\\n'); }
    else if (cmd === 'down') { s.end(Buffer.alloc(Number(n), 120)); }
    else s.end(name + '\\n');
  }); }).listen(Number(port), '0.0.0.0');
const u = dgram.createSocket('udp4'); u.on('message', (m, r) => u.send(String(m).startsWith('size') ? name + ' ' + m.length : name, r.port, r.address)); u.bind(Number(port), '0.0.0.0');
`;

// Makes connections from given source addresses; prints a JSON array of the first line each server sent.
const CLIENT_JS = `
const net = require('net'), dgram = require('dgram');
const [vip, port, proto, sources, req, timeoutMs] = process.argv.slice(1);
const srcs = JSON.parse(sources); const tmo = Number(timeoutMs || 10000);
function tcp(src) { return new Promise((res) => { let buf = ''; const s = net.connect({ host: vip, port: Number(port), localAddress: src });
  const t = setTimeout(() => { s.destroy(); res('timeout'); }, tmo);
  s.on('connect', () => { const [c, n] = (req || 'name').split(' '); s.write(c + (n ? ' ' + n : '') + '\\n'); if (c === 'up') s.write(Buffer.alloc(Number(n), 121)); });
  s.on('data', (d) => { buf += d; if (buf.includes('\\n')) { clearTimeout(t); s.end(); res(buf.split('\\n')[0]); } });
  s.on('end', () => { clearTimeout(t); res(buf.includes('\\n') ? buf.split('\\n')[0] : 'bytes ' + buf.length); });
  s.on('error', (e) => { clearTimeout(t); res('error:' + e.code); }); }); }
function udp(src) { return new Promise((res) => { const u = dgram.createSocket('udp4'); const t = setTimeout(() => { u.close(); res('timeout'); }, 3000);
  u.on('message', (m) => { clearTimeout(t); u.close(); res(String(m)); }); u.bind(0, src, () => u.send('hi', Number(port), vip)); }); }
(async () => { const out = []; for (const s of srcs) out.push(await (proto === 'udp' ? udp(s) : tcp(s))); console.log(JSON.stringify(out)); })();
`;

// One long-lived connection: prints the server's name on connect, then one reply line per "ping" line on stdin.
export const HOLD_CLIENT_JS = `
const net = require('net'); const [vip, port] = process.argv.slice(1);
const s = net.connect({ host: vip, port: Number(port) }, () => s.write('hold\\n'));
s.on('data', (d) => process.stdout.write(String(d)));
s.on('error', (e) => { console.log('error:' + e.code); process.exit(1); });
s.on('close', () => { console.log('closed'); process.exit(0); });
process.stdin.on('data', () => s.write('ping\\n'));
`;

/** A frame for INJECT_PY: TCP (6) or UDP (17) to the VIP with these flags and payload bytes; proto 0: pause `payload` ms. */
export type Frame = [saddr: string, sport: number, dport: number, proto: 0 | 6 | 17, flags: number, payload: number];

// Sends the frames given as JSON Frame[] on stdin from eth0 with an AF_PACKET socket, in order, 64 at a time with a
// 2 ms pause (bounded: the director's rings never overflow, so every frame is decided). argv: dst MAC, src MAC, VIP.
/** Python for the frame injectors: the Internet checksum and a raw AF_PACKET socket `s` on eth0. */
export const PY_RAW_SOCKET = `def csum(b):
    if len(b) % 2: b += b'\\0'
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(('eth0', 0))`;

export const INJECT_PY = `
import json, socket, struct, sys, time
dst_mac, src_mac, vip = bytes.fromhex(sys.argv[1].replace(':', '')), bytes.fromhex(sys.argv[2].replace(':', '')), socket.inet_aton(sys.argv[3])
${PY_RAW_SOCKET}
for k, (src, sport, dport, proto, flags, pay) in enumerate(json.load(sys.stdin)):
    if proto == 0:
        time.sleep(pay / 1000)
        continue
    src = socket.inet_aton(src)
    if proto == 6:
        l4 = struct.pack('!HHIIBBHHH', sport, dport, 1000, 0, 0x50, flags, 65535, 0, 0) + b'x' * pay
        l4 = l4[:16] + struct.pack('!H', csum(src + vip + struct.pack('!BBH', 0, 6, len(l4)) + l4)) + l4[18:]
    else:
        l4 = struct.pack('!HHHH', sport, dport, 8 + pay, 0) + b'x' * pay
    ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(l4), k & 0xffff, 0x4000, 64, proto, 0, src, vip)
    ip = ip[:10] + struct.pack('!H', csum(ip)) + ip[12:]
    s.send(dst_mac + src_mac + b'\\x08\\x00' + ip + l4)
    if k % 64 == 63: time.sleep(0.002)
`;

/** A capture's frames, and `ready`: the capture session is open (send the traffic to catch only after it). */
export type Capture<T> = Promise<T> & { ready: Promise<void> };

// Prints a JSON array of the frames (hex), or with "lengths" of their lengths on the wire (headers only captured).
const CAPTURE_JS = `
const [mod, filter, ms, mode] = process.argv.slice(1); const pcap = require(mod); const lengths = mode === 'lengths';
const sess = pcap.createSession('eth0', { filter, buffer_timeout: 10, snap_length: lengths ? 128 : 65535 }); const frames = [];
sess.on('packet', (p) => frames.push(lengths ? p.header.readUInt32LE(12) : p.buf.subarray(0, p.header.readUInt32LE(8)).toString('hex')));
process.stderr.write('capturing\\n');
setTimeout(() => { sess.close(); process.stdout.write(JSON.stringify(frames) + '\\n', () => process.exit(0)); }, Number(ms));
`;

/** trafgen config: 54-byte SYNs to VIP:80 (or the given MAC, VIP and port: the fault soak) from random 10.62.x.y:port (outside every lab subnet, so nothing in the
 *  lab answers them; real servers should drop 10.62.0.0/16 at ingress, see dropFlood). Checksums per frame. */
export function synFloodConfig(dstMac = DIR_MAC, vip: string = VIP, port = 80): string {
  return `{
  ${dstMac.split(':').map((b) => `0x${b}`).join(', ')},
  0x02, 0x61, 0x00, 0x00, 0x01, 0x01, 0x08, 0x00,
  0x45, 0x00, const16(40), drnd(2), 0x40, 0x00, 64, 6, csumip(14, 33),
  10, 62, drnd(1), drnd(1), ${vip.split('.').join(', ')},
  drnd(2), const16(${port}), drnd(4), const32(0), 0x50, 0x02, const16(65535), csumtcp(14, 34), const16(0)
}`;
}

export class DataPlaneLab {
  readonly lab: Lab;
  private harness?: ChildProcess;
  private replies = new Map<number, (r: { ok: boolean; result?: unknown; error?: string }) => void>();
  private nextId = 1;
  stderr = '';
  exited?: string;
  private stopped = false;

  private constructor(lab: Lab) {
    this.lab = lab;
  }

  /** queues: RX and TX queues of every host's veth (multi-queue, as a real NIC; default 1). */
  static async create(servers = 2, opts: { clientOffloadsOff?: boolean; extraClientAddrs?: string[]; extraHosts?: HostSpec[]; queues?: number } = {}): Promise<DataPlaneLab> {
    ensureHarness();
    const q = opts.queues;
    const hosts = [
      { name: 'cli', address: '10.61.1.1/20', mac: '02:61:00:00:01:01', offloadsOff: opts.clientOffloadsOff, queues: q },
      { name: 'dir', address: '10.61.0.2/20', mac: DIR_MAC, queues: q },
    ];
    for (let i = 1; i <= servers; i++) hosts.push({ name: `rs${i}`, address: `${rsAddr(i)}/20`, mac: rsMac(i), vipsOnLo: [VIP], queues: q } as never);
    hosts.push(...((opts.extraHosts ?? []) as never[]));
    const lab = await Lab.create(hosts, { tag: 'dp' });
    const d = new DataPlaneLab(lab);
    d.sh('dir', `ip addr add ${VIP}/32 dev eth0`);
    for (const a of opts.extraClientAddrs ?? []) d.sh('cli', `ip addr add ${a}/20 dev eth0`);
    return d;
  }

  startServers(port: number, servers: number): void {
    for (let i = 1; i <= servers; i++) this.lab.spawn(`rs${i}`, [process.execPath, '-e', SERVER_JS, `rs${i}`, String(port)]);
  }

  /** PID of the running harness (the director process), for CPU accounting in benchmarks. */
  get harnessPid(): number | undefined {
    return this.harness?.pid;
  }

  /** Backend the harness runs after start() (an 'afxdp' request may have fallen back to 'afpacket'). */
  backend = '';

  async startHarness(vnet = true, rxRing: 'v2' | 'v3' | '' = '', backend: 'afpacket' | 'afxdp' = 'afpacket', bpfObject = '', xdpAttach: 'native' | 'skb' | '' = '', busyPollUs = 0, tableSize = 1 << 16, vlan = 0, packetThreads = 0): Promise<void> {
    this.exited = undefined;
    this.stopped = false;
    const child = this.lab.spawn('dir', [process.execPath, harnessJs, '--harness', backend, 'eth0', vnet ? '1' : '0', String(tableSize), rxRing, bpfObject, xdpAttach, String(busyPollUs), String(vlan), String(packetThreads)], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.harness = child;
    child.stderr!.on('data', (d) => (this.stderr += d));
    child.stdin!.on('error', () => undefined); // a write racing the harness's exit; the exit handler reports it
    child.once('exit', (code, signal) => {
      if (this.harness !== child) return; // an earlier harness, stopped before this one started
      this.exited = `harness exited (code ${code}, signal ${signal}): ${this.stderr.slice(-2000)}`;
      for (const [, cb] of this.replies) cb({ ok: false, error: this.exited });
      this.replies.clear();
    });
    const rl = readline.createInterface({ input: child.stdout! });
    const started = new Promise<void>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`harness exited ${code}: ${this.stderr}`)));
      this.replies.set(0, (r) => (r.ok ? resolve() : reject(new Error(r.error))));
    });
    rl.on('line', (line) => {
      const r = JSON.parse(line) as { id: number; ok: boolean; result?: unknown; error?: string; backend?: string };
      if (r.id === 0 && r.backend) this.backend = r.backend;
      this.replies.get(r.id)?.(r);
      this.replies.delete(r.id);
    });
    await started;
  }

  /** Kill the harness as a crash would (no stop(): whatever it installed stays behind). */
  async crashHarness(): Promise<void> {
    const h = this.harness!;
    const gone = new Promise((r) => h.once('exit', r));
    h.kill('SIGKILL');
    await gone;
  }

  call<T = unknown>(op: string, arg?: unknown): Promise<T> {
    const id = this.nextId++;
    if (this.exited) return Promise.reject(new Error(this.exited));
    if (op === 'stop') this.stopped = true;
    return new Promise<T>((resolve, reject) => {
      this.replies.set(id, (r) => (r.ok ? resolve(r.result as T) : reject(new Error(r.error))));
      this.harness!.stdin!.write(JSON.stringify({ id, op, arg }) + '\n');
    });
  }

  /** Wait until the director has a MAC for every dest (the neighbour resolver has done its work). */
  async waitForMacs(): Promise<void> {
    await waitFor('real-server MACs resolved', async () => {
      const st = await this.call<{ services: { dests: { unavailableReason?: string }[] }[] }>('stats');
      return st.services.length > 0 && st.services.every((s) => s.dests.every((d) => !d.unavailableReason));
    }, 10000, 100);
  }

  async clients(port: number, proto: 'tcp' | 'udp', sources: string[], request = 'name', timeoutMs = 10000): Promise<string[]> {
    const r = await this.lab.exec('cli', [process.execPath, '-e', CLIENT_JS, VIP, String(port), proto, JSON.stringify(sources), request, String(timeoutMs)], { timeoutMs: 120000 });
    if (r.code !== 0) throw new Error(`client failed: ${r.stderr}`);
    return JSON.parse(r.stdout) as string[];
  }

  /** A short command in a host's namespace (synchronous: lab.sh's stdin can race a fast exit into EPIPE). */
  sh(host: string, script: string): string {
    return execFileSync('ip', ['netns', 'exec', this.lab.ns(host), 'sh', '-c', script], { encoding: 'utf8', timeout: 10000 });
  }

  /** Real servers drop the SYN flood's sources (10.62.0.0/16) at ingress: no SYN-ACKs to addresses that do not exist. */
  dropFlood(servers: number): void {
    for (let i = 1; i <= servers; i++) {
      this.sh(`rs${i}`, `nft -f - <<'E'\ntable netdev flood {\n  chain ing {\n    type filter hook ingress device eth0 priority 0; policy accept;\n    ip saddr 10.62.0.0/16 drop\n  }\n}\nE`);
    }
  }

  /** Interface counters of a host's eth0 (from /sys). */
  async ifStats(host: string): Promise<{ rxBytes: number; txBytes: number; rxPackets: number; txPackets: number }> {
    const out = this.sh(host, 'cd /sys/class/net/eth0/statistics && cat rx_bytes tx_bytes rx_packets tx_packets');
    const [rxBytes, txBytes, rxPackets, txPackets] = out.trim().split('\n').map(Number);
    return { rxBytes, txBytes, rxPackets, txPackets };
  }

  /** Capture on a host's eth0 with the pcap package for ms milliseconds (from `ready`, the session open); frames as hex. */
  capture(host: string, filter: string, ms: number): Capture<string[]> {
    return this.captureRun(host, filter, ms, 'frames') as Capture<string[]>;
  }

  /** Like capture(), but only each frame's length on the wire. */
  captureLengths(host: string, filter: string, ms: number): Capture<number[]> {
    return this.captureRun(host, filter, ms, 'lengths') as Capture<number[]>;
  }

  private captureRun(host: string, filter: string, ms: number, mode: 'frames' | 'lengths'): Capture<unknown[]> {
    let open!: () => void;
    const ready = new Promise<void>((r) => (open = r));
    const frames = this.lab.exec(host, [process.execPath, '-e', CAPTURE_JS, require.resolve('pcap'), filter, String(ms), mode],
      { timeoutMs: ms + 10000, onStderr: (c) => c.includes('capturing') && open() }).then((r) => {
      open(); // a capture that failed to open is not waited for: its error is the frames' rejection
      if (r.code !== 0) throw new Error(`capture failed: ${r.stderr}`);
      return JSON.parse(r.stdout) as unknown[];
    });
    return Object.assign(frames, { ready });
  }

  async destroy(): Promise<void> {
    try {
      if (this.harness && !this.stopped && !this.exited) await within(this.call('stop'), 2000, undefined);
    } catch {
      /* the lab kills it anyway */
    }
    await this.lab.destroy();
  }
}

export function service(over: Partial<ServiceSpec> & { dests: ServiceSpec['dests'] }): ServiceSpec {
  return {
    vip: VIP,
    port: 80,
    protocol: 'tcp',
    fwmark: 0,
    scheduler: 'wlc',
    persistent: 0,
    pmask: '255.255.255.255',
    expireQuiescentTemplate: false,
    expireNodestConn: false,
    ...over,
  };
}

export function dests(n: number, port = 80, weights: number[] = []): ServiceSpec['dests'] {
  return Array.from({ length: n }, (_, i) => ({ address: rsAddr(i + 1), port, weight: weights[i] ?? 1 }));
}

/** The drop reasons that counted something: stats() lists every reason from the start, at 0 (for /metrics). */
export const nonZeroDrops = (drops: Record<string, number>): Record<string, number> =>
  Object.fromEntries(Object.entries(drops).filter(([, n]) => n !== 0));
