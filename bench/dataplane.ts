// Data-plane benchmark: builds its own namespace lab (client, director, one real server) and measures, in one run,
// the direct path (client → real server) and the AF_PACKET director path: 64-byte frames/s (trafgen), TCP
// throughput (iperf3, client offloads on and off), new TCP connections/s, added RTT p50/p99, director CPU per
// frame, the forwarded rate at 2x offered load, and the connection table's lookup cost at 1k and 1M entries.
// Run as root: node -r @isaacs/ts-node-temp-fork-for-pr-2009/register/transpile-only bench/dataplane.ts
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import readline from 'node:readline';
import { Lab, waitFor } from '../test/lab/lab';
import { ensureHarness, harnessJs } from '../test/dataplane/dplab';
import { loadNative } from '../src/dataplane/native';

const VIP = '10.61.0.100';
const CLI_MAC = '02:61:00:00:01:01';
const DIR_MAC = '02:61:00:00:00:02';
const RS_MAC = '02:61:00:00:00:11';
const RS = '10.61.0.11';
const WINDOW_S = 5;
const RX_RING = process.env.RX_RING ?? 'v3';

const sh = (lab: Lab, host: string, script: string): string =>
  execFileSync('ip', ['netns', 'exec', lab.ns(host), 'sh', '-c', script], { encoding: 'utf8', timeout: 60000 });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function counter(lab: Lab, host: string, name: string): number {
  return Number(sh(lab, host, `cat /sys/class/net/eth0/statistics/${name}`).trim());
}

function cpuTicks(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return Number(rest[11]) + Number(rest[12]); // utime + stime
}

const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());

/** trafgen 60-byte UDP frames to :9 (fixed ports: one connection), `cpus` sender processes, WINDOW_S seconds. */
async function pps(lab: Lab, dstMac: string, dstIp: string, cpus: number, dirPid?: number): Promise<{ fwd: number; offered: number; cpuUsPerPkt?: number }> {
  const conf = `{ eth(da=${dstMac}, sa=${CLI_MAC}), ipv4(saddr=10.61.1.1, daddr=${dstIp}, ttl=64), udp(sp=4000, dp=9), fill(0x41, 18) }`;
  const tg = lab.spawn('cli', ['trafgen', '-o', 'eth0', '-P', String(cpus), '-n', String(6_000_000), '-C', '--no-sock-mem', '-Q', conf]);
  await sleep(1000);
  const rx0 = counter(lab, 'rs1', 'rx_packets'), tx0 = counter(lab, 'cli', 'tx_packets');
  const c0 = dirPid ? cpuTicks(dirPid) : 0;
  const t0 = Date.now();
  await sleep(WINDOW_S * 1000);
  const rx1 = counter(lab, 'rs1', 'rx_packets'), tx1 = counter(lab, 'cli', 'tx_packets');
  const c1 = dirPid ? cpuTicks(dirPid) : 0;
  const secs = (Date.now() - t0) / 1000;
  // trafgen forks one sender per CPU: end every trafgen of this lab's client namespace, by PID.
  tg.kill('SIGKILL');
  for (const pid of execFileSync('ip', ['netns', 'pids', lab.ns('cli')], { encoding: 'utf8' }).split('\n').filter(Boolean)) {
    try {
      if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'trafgen') process.kill(Number(pid), 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  await sleep(1000);
  const fwd = (rx1 - rx0) / secs;
  return { fwd, offered: (tx1 - tx0) / secs, cpuUsPerPkt: dirPid ? (((c1 - c0) / CLK_TCK) * 1e6) / Math.max(1, rx1 - rx0) : undefined };
}

async function iperf(lab: Lab, target: string, offloads: boolean): Promise<number> {
  sh(lab, 'cli', `ethtool -K eth0 tx ${offloads ? 'on' : 'off'} tso ${offloads ? 'on' : 'off'} gso ${offloads ? 'on' : 'off'} >/dev/null 2>&1 || true`);
  const r = await lab.exec('cli', ['iperf3', '-c', target, '-t', String(WINDOW_S), '-J'], { timeoutMs: 30000 });
  let j: { end?: { sum_received?: { bits_per_second: number } } } = {};
  try {
    j = JSON.parse(r.stdout);
  } catch {
    console.error(`iperf3 to ${target} failed: ${r.stdout.slice(0, 300)} ${r.stderr.slice(0, 300)}`);
  }
  return (j.end?.sum_received?.bits_per_second ?? 0) / 1e9;
}

// 32 connects in flight, each reset right after connect (no TIME_WAIT), for WINDOW_S seconds.
const CONNRATE_JS = `
const net = require('net'); const [host, secs] = process.argv.slice(1); let done = 0, errs = 0; const end = Date.now() + Number(secs) * 1000;
function one() { if (Date.now() > end) return; const s = net.connect({ host, port: 5001 });
  s.on('connect', () => { done++; s.resetAndDestroy(); one(); }); s.on('error', () => { errs++; one(); }); }
for (let i = 0; i < 32; i++) one(); setTimeout(() => { console.log(JSON.stringify({ rate: done / Number(secs), errs })); process.exit(0); }, Number(secs) * 1000 + 200);
`;

async function connRate(lab: Lab, target: string): Promise<number> {
  const r = await lab.exec('cli', [process.execPath, '-e', CONNRATE_JS, target, String(WINDOW_S)], { timeoutMs: 30000 });
  return (JSON.parse(r.stdout) as { rate: number }).rate;
}

// Sequential UDP round trips to the echo server on :7; prints p50/p99 in µs.
const RTT_JS = `
const d = require('dgram').createSocket('udp4'); const [host, n] = process.argv.slice(1); const xs = []; let t0;
d.on('message', () => { xs.push(Number(process.hrtime.bigint() - t0) / 1000); if (xs.length === Number(n)) { xs.sort((a, b) => a - b);
  console.log(JSON.stringify({ p50: xs[Math.floor(xs.length * 0.5)], p99: xs[Math.floor(xs.length * 0.99)] })); process.exit(0); } else send(); });
function send() { t0 = process.hrtime.bigint(); d.send('x', 7, host); } d.bind(0, send);
`;

async function rtt(lab: Lab, target: string): Promise<{ p50: number; p99: number }> {
  const r = await lab.exec('cli', [process.execPath, '-e', RTT_JS, target, '3000'], { timeoutMs: 60000 });
  return JSON.parse(r.stdout) as { p50: number; p99: number };
}

async function main(): Promise<void> {
  ensureHarness();
  const lab = await Lab.create([
    { name: 'cli', address: '10.61.1.1/20', mac: CLI_MAC },
    { name: 'dir', address: '10.61.0.2/20', mac: DIR_MAC },
    { name: 'rs1', address: `${RS}/20`, mac: RS_MAC, vipsOnLo: [VIP] },
  ], { tag: 'dpbench' });
  try {
    sh(lab, 'dir', `ip addr add ${VIP}/32 dev eth0`);
    sh(lab, 'rs1', `nft -f - <<'E'
table netdev sink {
  chain ing {
    type filter hook ingress device eth0 priority 0; policy accept;
    udp dport 9 drop
  }
}
E`);
    lab.spawn('rs1', ['iperf3', '-s']);
    lab.spawn('rs1', [process.execPath, '-e', "require('net').createServer(s=>{s.on('error',()=>{});s.destroy()}).listen(5001)"]);
    lab.spawn('rs1', [process.execPath, '-e', "const u=require('dgram').createSocket('udp4');u.on('message',(m,r)=>u.send(m,r.port,r.address));u.bind(7)"]);
    const h = lab.spawn('dir', ['taskset', '-c', '1', process.execPath, harnessJs, '--harness', 'afpacket', 'eth0', '1', String(1 << 18), RX_RING], { stdio: ['pipe', 'pipe', 'pipe'] });
    const rl = readline.createInterface({ input: h.stdout! });
    const lines: string[] = [];
    rl.on('line', (l) => lines.push(l));
    await waitFor('harness started', () => lines.length > 0, 15000);
    const svc = (port: number, protocol: 'tcp' | 'udp') => ({ vip: VIP, port, protocol, fwmark: 0, scheduler: 'wlc', persistent: 0, pmask: '255.255.255.255',
      expireQuiescentTemplate: false, expireNodestConn: false, dests: [{ address: RS, port, weight: 1 }] });
    h.stdin!.write(JSON.stringify({ id: 1, op: 'setServices', arg: [svc(9, 'udp'), svc(7, 'udp'), svc(5201, 'tcp'), svc(5001, 'tcp')] }) + '\n');
    await sleep(300);
    sh(lab, 'cli', `ping -c 1 -W 1 ${RS} >/dev/null; ping -c 1 -W 1 ${VIP} >/dev/null || true`);
    sh(lab, 'dir', `ping -c 1 -W 1 ${RS} >/dev/null`);
    await sleep(1500);
    const dirPid = Number(sh(lab, 'dir', `pgrep -f harness.js | head -1`).trim());

    const res: Record<string, { direct: number; dr: number; unit: string }> = {};
    const put = (k: string, direct: number, dr: number, unit: string) => {
      res[k] = { direct, dr, unit };
      console.error(`${k}: direct ${direct.toFixed(2)} DR ${dr.toFixed(2)} ${unit} (x${(dr / direct).toFixed(2)})`);
    };
    const pd = await pps(lab, RS_MAC, RS, 1);
    const pr = await pps(lab, DIR_MAC, VIP, 1, dirPid);
    put('64-byte frames/s (1 sender core)', pd.fwd, pr.fwd, 'pps');
    const ov = await pps(lab, DIR_MAC, VIP, 2, dirPid);
    const tcpOnD = await iperf(lab, RS, true);
    const tcpOnR = await iperf(lab, VIP, true);
    put('TCP, client offloads on', tcpOnD, tcpOnR, 'Gbit/s');
    const tcpOffD = await iperf(lab, RS, false);
    const tcpOffR = await iperf(lab, VIP, false);
    put('TCP, client offloads off', tcpOffD, tcpOffR, 'Gbit/s');
    sh(lab, 'cli', 'ethtool -K eth0 tx on tso on gso on >/dev/null 2>&1 || true');
    put('new TCP connections/s', await connRate(lab, RS), await connRate(lab, VIP), 'conn/s');
    const rd = await rtt(lab, RS), rr = await rtt(lab, VIP);
    const native = loadNative();
    const small = native.benchLookup(1 << 11, 1000, 2_000_000);
    const big = native.benchLookup(1 << 21, 1_000_000, 2_000_000);
    const stats = (() => {
      h.stdin!.write(JSON.stringify({ id: 2, op: 'stats' }) + '\n');
      return waitFor('stats', () => lines.find((l) => l.includes('"id":2')), 5000).then((l) => JSON.parse(l).result);
    })();
    const st = await stats;
    const rows = [
      ...Object.entries(res).map(([k, v]) => `| ${k} | ${fmt(v.direct)} | ${fmt(v.dr)} | **${(v.dr / v.direct).toFixed(2)}x** |`),
      `| UDP round trip p50 (µs) | ${rd.p50.toFixed(0)} | ${rr.p50.toFixed(0)} | ${signed(rr.p50 - rd.p50)} µs added |`,
      `| UDP round trip p99 (µs) | ${rd.p99.toFixed(0)} | ${rr.p99.toFixed(0)} | ${signed(rr.p99 - rd.p99)} µs added |`,
      `| director CPU per forwarded frame | – | ${pr.cpuUsPerPkt?.toFixed(2)} µs | (at ${fmt(pr.fwd)} fps) |`,
      `| 2x overload (2 sender cores): forwarded | offered ${fmt(ov.offered)} | ${fmt(ov.fwd)} | **${(ov.fwd / pr.fwd).toFixed(2)}x of its 1-sender peak** |`,
      `| conn-table lookup, 1k connections | – | ${small.lookupNs.toFixed(0)} ns | insert ${small.insertNs.toFixed(0)} ns |`,
      `| conn-table lookup, 1M connections | – | ${big.lookupNs.toFixed(0)} ns | insert ${big.insertNs.toFixed(0)} ns, ${(big.lookupNs / small.lookupNs).toFixed(1)}x the 1k cost |`,
      `| memory per connection slot | – | ${native.layout().connBytes} B | (table preallocated: size x ${native.layout().connBytes} B) |`,
    ];
    const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
    console.log(`| figure | direct | AF_PACKET director | ratio |\n|---|---:|---:|---:|\n${rows.join('\n')}`);
    console.log(`\nRX ring ${RX_RING}; load average at the end: ${load}; director drops: ${JSON.stringify(st.drops)}`);
  } finally {
    await lab.destroy();
  }
}

function signed(n: number): string {
  return `${n >= 0 ? '+' : '−'}${Math.abs(n).toFixed(0)}`;
}

function fmt(n: number): string {
  return n >= 1000 ? `${(n / 1000).toFixed(1)}k` : n.toFixed(2);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
