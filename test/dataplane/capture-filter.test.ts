// The capture filter's fixed-offset form accepts exactly the frames its plain libpcap form (kept here as the
// reference) accepts: both compiled by libpcap and run by tcpdump over the same generated frames.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { captureFilter } from '../../src/dataplane/validate';
import type { ServiceSpec } from '../../src/dataplane/types';
import { frame } from './frames';
import { haveTool, skipUnless } from '../lab/needs';
import { mulberry32 } from '../ha/fuzz-seed';

const OUR_MAC = '02:61:00:00:00:02';
// libpcap compiles and runs both filters through tcpdump (scripts/install-deps.sh installs it).
const skip = skipUnless(haveTool('tcpdump'), 'no tcpdump');

/** The filter before the fixed-offset branch: every term through libpcap's IHL-relative loads. */
function referenceFilter(ourMac: string, services: ServiceSpec[]): string {
  const terms = new Set<string>();
  for (const s of services) {
    if (s.fwmark || s.port === 0) terms.add(`(ip dst host ${s.vip})`);
    else terms.add(`(ip dst host ${s.vip} and ${s.protocol} dst port ${s.port})`);
  }
  for (const s of services) {
    terms.add(`(ip dst host ${s.vip} and ip[6:2] & 0x3fff != 0)`);
    terms.add(`(ip dst host ${s.vip} and icmp and (icmp[icmptype] == icmp-unreach or icmp[icmptype] == icmp-sourcequench or icmp[icmptype] == icmp-timxceed))`);
  }
  if (terms.size === 0) return `ether dst ${ourMac} and less 1`;
  return `ether dst ${ourMac} and (${[...terms].join(' or ')})`;
}

const svc = (vip: string, port: number, protocol: 'tcp' | 'udp', fwmark = 0): ServiceSpec => ({
  vip, port, protocol, fwmark, scheduler: 'wlc', persistent: 0, pmask: '255.255.255.255',
  expireQuiescentTemplate: false, expireNodestConn: false, dests: [],
});

const CONFIGS: Record<string, ServiceSpec[]> = {
  // bench/forwarders.ts
  bench: [svc('10.61.0.100', 9, 'udp'), svc('10.61.0.100', 7, 'udp'), svc('10.61.0.100', 5201, 'tcp'), svc('10.61.0.100', 5001, 'tcp')],
  // the seed's lvs.cf
  seed: [svc('10.0.0.3', 3306, 'tcp')],
  // one port on both protocols, a whole-VIP (fwmark) service, a port-0 service after a port service on one VIP,
  // a VIP with the top bit set (its hex constant must stay unsigned)
  mixed: [svc('10.61.0.100', 80, 'tcp'), svc('10.61.0.100', 80, 'udp'), svc('10.61.0.101', 0, 'tcp', 7),
    svc('10.61.0.102', 443, 'tcp'), svc('10.61.0.102', 0, 'udp'), svc('10.61.0.103', 65535, 'udp'),
    svc('192.168.200.7', 53, 'udp')],
};


const macBytes = (m: string) => Buffer.from(m.split(':').map((h) => parseInt(h, 16)));

/** An IPv4 frame with every header byte the filters read set by hand. IP options repeat the destination port, so
 * a filter reading the port at the 20-byte header's offset would match on them. */
function ipFrame(o: { mac: string; first: number; tos: number; ttl: number; dst: string; proto: number; frag: number; dport: number }): Buffer {
  const ihl = o.first & 0xf;
  const optWords = Math.max(0, ihl - 5);
  const f = frame({ dst: o.dst, proto: o.proto === 6 || o.proto === 17 ? o.proto : 17, ipOptions: optWords, fragOff: o.frag, dport: o.dport });
  macBytes(o.mac).copy(f, 0);
  f[14] = o.first;
  f[15] = o.tos;
  f[22] = o.ttl;
  f[23] = o.proto;
  for (let i = 0; i < optWords * 4; i += 2) f.writeUInt16BE(o.dport, 34 + i);
  if (o.proto === 1) f[14 + 20 + optWords * 4] = o.dport & 0xff; // the ICMP type
  return f;
}

function frames(services: ServiceSpec[], seed: number): Buffer[] {
  const out: Buffer[] = [];
  const vips = [...new Set(services.map((s) => s.vip)), '10.61.0.200'];
  const ports = [...new Set(services.flatMap((s) => [s.port, s.port + 1, s.port - 1]).concat([0, 1, 53, 65535]).filter((p) => p >= 0 && p <= 65535))];
  const icmpTypes = [0, 3, 4, 5, 8, 11, 12];
  const firsts = [0x45, 0x46, 0x47, 0x4f, 0x44, 0x40, 0x65, 0x55];
  const frags = [0, 0x4000, 0x2000, 0x0001, 0x2001, 0x00b9, 0x8000, 0xffff];
  const ttls = [64, 17, 6, 1];
  let n = 0;
  const truncatable: Buffer[] = [];
  for (const mac of [OUR_MAC, '02:61:00:00:00:03', 'ff:ff:ff:ff:ff:ff']) {
    for (const first of mac === OUR_MAC ? firsts : [0x45, 0x46]) {
      for (const tos of [0, 0xb8]) {
        for (const dst of vips) {
          for (const proto of [17, 6, 1, 47]) {
            for (const frag of frags) {
              for (const dport of proto === 1 ? icmpTypes : proto === 47 ? [0] : ports) {
                const f = ipFrame({ mac, first, tos, ttl: ttls[n++ % ttls.length], dst, proto, frag, dport });
                out.push(f);
                if (mac === OUR_MAC && tos === 0 && dst !== '10.61.0.200' && (frag === 0 || frag === 0x2000 || frag === 0x0001)) truncatable.push(f);
              }
            }
          }
        }
      }
    }
  }
  // Cut short: every length up to the last byte either filter could read (ports or ICMP type behind options).
  for (const f of truncatable) for (let len = 0; len < Math.min(f.length, 14 + 60 + 4); len++) out.push(f.subarray(0, len));
  // Not untagged IPv4: ARP, IPv6, an inline VLAN tag (the kernel takes the tag out before the filter; a frame that
  // still carries one, QinQ, must fail), each with an IPv4-looking body.
  for (const s of services) {
    const body = ipFrame({ mac: OUR_MAC, first: 0x45, tos: 0, ttl: 64, dst: s.vip, proto: s.protocol === 'udp' ? 17 : 6, frag: 0, dport: s.port });
    for (const et of [0x0806, 0x86dd, 0x0801, 0x8800]) {
      const f = Buffer.from(body);
      f.writeUInt16BE(et, 12);
      out.push(f);
    }
    const tagged = frame({ vlan: true, dst: s.vip, proto: s.protocol === 'udp' ? 17 : 6, dport: s.port, fragOff: 0 });
    macBytes(OUR_MAC).copy(tagged, 0);
    out.push(tagged);
  }
  // Random mutations of accepted-looking frames: one to three header bytes changed, sometimes cut short.
  const rnd = mulberry32(seed);
  const pick = <T>(a: T[]): T => a[Math.floor(rnd() * a.length)];
  for (let i = 0; i < 20000; i++) {
    const s = pick(services);
    const proto = pick([17, 6, 1, s.protocol === 'udp' ? 17 : 6]);
    const f = ipFrame({ mac: OUR_MAC, first: pick([0x45, 0x45, 0x45, 0x46, 0x48]), tos: 0, ttl: 64, dst: s.vip, proto, frag: pick([0, 0x4000, 0x2000, 0x0001]), dport: proto === 1 ? pick(icmpTypes) : s.port });
    const k = 1 + Math.floor(rnd() * 3);
    for (let j = 0; j < k; j++) f[Math.floor(rnd() * Math.min(f.length, 60))] = pick([Math.floor(rnd() * 256), 0, 0x45, 0xff, 0x11, 0x06, 0x01]);
    out.push(rnd() < 0.2 ? f.subarray(0, Math.floor(rnd() * f.length)) : f);
  }
  return out;
}

/** pcap file, one record per frame, its index as the timestamp's seconds. */
function writePcap(file: string, fs: Buffer[]): void {
  const head = Buffer.alloc(24);
  head.writeUInt32LE(0xa1b2c3d4, 0);
  head.writeUInt16LE(2, 4);
  head.writeUInt16LE(4, 6);
  head.writeUInt32LE(262144, 16);
  head.writeUInt32LE(1, 20); // DLT_EN10MB
  const parts: Buffer[] = [head];
  fs.forEach((f, i) => {
    const rec = Buffer.alloc(16);
    rec.writeUInt32LE(i, 0);
    rec.writeUInt32LE(f.length, 8);
    rec.writeUInt32LE(f.length, 12);
    parts.push(rec, f);
  });
  writeFileSync(file, Buffer.concat(parts));
}

/** The indexes of the frames `expr` accepts, by libpcap's compiler and interpreter (tcpdump -r … -w …). */
function accepted(dir: string, input: string, expr: string, tag: string): number[] {
  const out = join(dir, `${tag}.pcap`);
  execFileSync('tcpdump', ['-r', input, '-w', out, expr], { stdio: ['ignore', 'ignore', 'pipe'] });
  const b = readFileSync(out);
  const idx: number[] = [];
  for (let o = 24; o + 16 <= b.length; o += 16 + b.readUInt32LE(o + 8)) idx.push(b.readUInt32LE(o));
  return idx;
}

for (const [name, services] of Object.entries(CONFIGS)) {
  t.test(`${name}: the fixed-offset filter accepts exactly what the reference accepts`, { skip }, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'dd-capfilter-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const fs = frames(services, 13);
    const input = join(dir, 'frames.pcap');
    writePcap(input, fs);
    const ref = accepted(dir, input, referenceFilter(OUR_MAC, services), 'ref');
    const got = accepted(dir, input, captureFilter(OUR_MAC, services), 'new');
    t.ok(ref.length > 1000 && ref.length < fs.length - 1000, `the frames exercise both outcomes (${ref.length} of ${fs.length} accepted)`);
    const refSet = new Set(ref);
    const gotSet = new Set(got);
    const diff = [...ref.filter((i) => !gotSet.has(i)).map((i) => `only reference accepts ${fs[i].toString('hex')}`),
      ...got.filter((i) => !refSet.has(i)).map((i) => `only fixed-offset accepts ${fs[i].toString('hex')}`)];
    t.same(diff.slice(0, 10), [], `same verdict on all ${fs.length} frames (${diff.length} differ)`);
  });
}

t.test('no services: both match nothing', async (t) => {
  t.equal(captureFilter(OUR_MAC, []), referenceFilter(OUR_MAC, []));
});

t.test('the common frame is decided by absolute loads only, in fewer instructions than the reference', { skip }, async (t) => {
  // Classic BPF as `tcpdump -dd` prints it, run just far enough to count the instructions of one frame's path.
  const program = (expr: string) => execFileSync('tcpdump', ['-dd', '-y', 'EN10MB', expr], { encoding: 'utf8' })
    .trim().split('\n').map((l) => l.replace(/[{}, ]+$/, '').replace(/^[{ ]+/, '').split(/\s*,\s*/).map(Number));
  const run = (prog: number[][], f: Buffer): { ret: number; steps: number; indirect: number } => {
    let a = 0, x = 0, pc = 0, steps = 0, indirect = 0;
    const load = (off: number, size: number) => (size === 4 ? f.readUInt32BE(off) : size === 2 ? f.readUInt16BE(off) : f[off]);
    for (;;) {
      const [code, jt, jf, k] = prog[pc++];
      steps++;
      const cls = code & 7, size = [4, 2, 1][(code >> 3) & 3], mode = code & 0xe0, src = code & 8;
      if (cls === 0) { // ld
        if (mode === 0x40) indirect++;
        a = mode === 0x00 ? k >>> 0 : load(mode === 0x40 ? x + k : k, size);
      } else if (cls === 1) { // ldx
        if (mode === 0xa0) { indirect++; x = 4 * (f[k] & 0xf); } else x = k;
      } else if (cls === 4) { // alu: only and is used by these filters
        if ((code & 0xf0) !== 0x50) throw new Error(`unexpected alu op ${code}`);
        a = (a & (src ? x : k)) >>> 0;
      } else if (cls === 5) { // jmp
        const op = code & 0xf0, v = src ? x : k >>> 0;
        if (op === 0) { pc += k; continue; }
        const c = op === 0x10 ? a === v : op === 0x20 ? a > v : op === 0x30 ? a >= v : (a & v) !== 0;
        pc += c ? jt : jf;
      } else if (cls === 6) return { ret: k, steps, indirect };
      else throw new Error(`unexpected instruction class ${cls}`);
    }
  };
  for (const [name, services] of Object.entries(CONFIGS)) {
    const ref = program(referenceFilter(OUR_MAC, services));
    const neu = program(captureFilter(OUR_MAC, services));
    for (const s of services) {
      const dport = s.port || 12345;
      const f = ipFrame({ mac: OUR_MAC, first: 0x45, tos: 0, ttl: 64, dst: s.vip, proto: s.protocol === 'udp' ? 17 : 6, frag: 0x4000, dport });
      const r = run(ref, f), n = run(neu, f);
      const what = `${name} ${s.vip} ${s.protocol}/${dport}: ${n.steps} instructions, reference ${r.steps} with ${r.indirect} IHL-relative loads`;
      t.ok(r.ret > 0 && n.ret > 0, `${what}: both accept`);
      t.equal(n.indirect, 0, `${what}: none in the fixed-offset filter`);
      // A whole-VIP service needs no port, so the reference had no IHL-relative load to save either: the combined
      // EtherType/IHL test costs it one instruction.
      if (r.indirect) t.ok(n.steps < r.steps, `${what}: fewer`);
      else t.ok(n.steps <= r.steps + 1, `${what}: at most one more`);
    }
  }
});
