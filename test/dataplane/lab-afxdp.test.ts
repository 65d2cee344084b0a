// AF_XDP specifics on a namespace lab: a crash leaves the XDP program attached (VIP frames dropped, never answered
// by the kernel) and the next start replaces it; an XDP program that will not load falls back to AF_PACKET, logs
// why, and still forwards with the nftables ingress drop; the generic (skb) attach mode forwards too.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { labAvailable } from '../lab/lab';
import { DataPlaneLab, dests, service } from './dplab';

const skip = !labAvailable() && 'needs root and ip netns';
const xdpProgId = (d: DataPlaneLab): string | undefined => /prog\/xdp id (\d+) name directord_xdp/.exec(d.sh('dir', 'ip -d link show dev eth0'))?.[1];

t.test('after a crash the XDP program stays (VIP frames dropped, no RST) and the next start replaces it', { skip }, async (t) => {
  const d = await DataPlaneLab.create(2);
  t.teardown(() => d.destroy());
  d.startServers(80, 2);
  const svc = [service({ scheduler: 'rr', dests: dests(2, 80) })];
  await d.startHarness(true, '', 'afxdp');
  t.equal(d.backend, 'afxdp', `AF_XDP running${d.backend !== 'afxdp' ? `: ${d.stderr.slice(-600)}` : ''}`);
  await d.call('setServices', svc);
  await d.waitForMacs();
  t.same((await d.clients(80, 'tcp', ['10.61.1.1', '10.61.1.1'])).sort(), ['rs1', 'rs2']);
  const first = xdpProgId(d);
  await d.crashHarness();
  t.equal(xdpProgId(d), first, 'the program outlives the crashed process');
  t.same(await d.clients(80, 'tcp', ['10.61.1.1'], 'name', 1500), ['timeout'], 'no socket behind it: dropped, and the kernel does not answer');
  t.same(await d.clients(81, 'tcp', ['10.61.1.1'], 'name', 1500), ['error:ECONNREFUSED'], 'other ports still reach the kernel');
  d.stderr = '';
  await d.startHarness(true, '', 'afxdp');
  t.equal(d.backend, 'afxdp');
  t.match(d.stderr, /removed a directord XDP program left by an earlier run/);
  t.not(xdpProgId(d), first, 'a fresh program is attached');
  await d.call('setServices', svc);
  await d.waitForMacs();
  t.same((await d.clients(80, 'tcp', ['10.61.1.1', '10.61.1.1'])).sort(), ['rs1', 'rs2'], 'forwarding again');
  await d.call('stop');
  t.notOk(xdpProgId(d), 'detached on stop');
});

t.test('an XDP program that does not load falls back to AF_PACKET with the reason logged', { skip }, async (t) => {
  const bogus = join(tmpdir(), `directord-bogus-${process.pid}.bpf.o`);
  writeFileSync(bogus, 'not an ELF object\n');
  const d = await DataPlaneLab.create(2);
  t.teardown(() => d.destroy());
  d.startServers(80, 2);
  await d.startHarness(true, '', 'afxdp', bogus);
  t.equal(d.backend, 'afpacket', 'fell back');
  const rec = d.stderr.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>).find((r) => r.msg === 'data-plane backend fallback');
  t.match(rec, { level: 'warn', requested: 'afxdp', using: 'afpacket' });
  t.match(String(rec?.reason), /XDP object|XDP program/, `reason: ${rec?.reason}`);
  t.notOk(xdpProgId(d), 'nothing left attached');
  t.match(d.sh('dir', 'nft list tables'), /table netdev directord/, 'the AF_PACKET path installed its ingress drop');
  await d.call('setServices', [service({ scheduler: 'rr', dests: dests(2, 80) })]);
  await d.waitForMacs();
  t.same((await d.clients(80, 'tcp', ['10.61.1.1', '10.61.1.1'])).sort(), ['rs1', 'rs2'], 'forwarding through AF_PACKET');
});

// A stale XDP object (built from another struct dd_xdp_key) is refused at load: TS would pack keys the program reads
// differently. Built here from the real program with a 12-byte key (xdp_abi.h's asserts taken out).
t.test('an XDP object whose service key differs from the addon\'s is refused (fallback, reason logged)', { skip }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ddkey-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const root = join(__dirname, '..', '..');
  const abi = readFileSync(join(root, 'native', 'include', 'xdp_abi.h'), 'utf8').replace(/_Static_assert[^;]*;/g, '').replace('unsigned char pad;', 'unsigned char pad[5];');
  writeFileSync(join(dir, 'xdp_abi.h'), abi);
  const multiarch = execFileSync('gcc', ['-print-multiarch'], { encoding: 'utf8' }).trim() || 'x86_64-linux-gnu';
  const obj = join(dir, 'stale.bpf.o');
  execFileSync('clang', ['-O2', '-g', '-target', 'bpf', `-I/usr/include/${multiarch}`, `-I${dir}`, '-c', join(root, 'native', 'bpf', 'directord_xdp.bpf.c'), '-o', obj]);
  const d = await DataPlaneLab.create(1);
  t.teardown(() => d.destroy());
  await d.startHarness(true, '', 'afxdp', obj);
  t.equal(d.backend, 'afpacket', 'fell back');
  const rec = d.stderr.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>).find((r) => r.msg === 'data-plane backend fallback');
  t.match(String(rec?.reason), /service key is 12 bytes, this addon's struct dd_xdp_key 8/, `reason: ${rec?.reason}`);
  t.notOk(xdpProgId(d), 'nothing attached');
});

t.test('generic (skb) attach mode: TCP and UDP through the VIP with the client offloads off', { skip }, async (t) => {
  const d = await DataPlaneLab.create(2, { clientOffloadsOff: true });
  t.teardown(() => d.destroy());
  d.startServers(80, 2);
  d.startServers(53, 2);
  await d.startHarness(true, '', 'afxdp', '', 'skb');
  t.equal(d.backend, 'afxdp');
  t.match(d.sh('dir', 'ip -d link show dev eth0'), /prog\/xdp id \d+ name directord_xdp/);
  t.match(d.sh('dir', 'ip link show dev eth0'), /xdpgeneric/, 'attached in generic mode');
  await d.call('setServices', [service({ scheduler: 'rr', dests: dests(2, 80) }), service({ port: 53, protocol: 'udp', scheduler: 'rr', dests: dests(2, 53) })]);
  await d.waitForMacs();
  t.same((await d.clients(80, 'tcp', Array(4).fill('10.61.1.1'))).sort(), ['rs1', 'rs1', 'rs2', 'rs2']);
  t.same((await d.clients(53, 'udp', Array(2).fill('10.61.1.1'))).sort(), ['rs1', 'rs2']);
  t.match((await d.clients(80, 'tcp', ['10.61.1.1'], 'up 3000000'))[0], /^rs[12] 3000000$/, '3 MB upload in MTU-sized frames');
});

// With the client's offloads on, TCP arrives as 64 KB GSO super-frames. Generic (skb) mode sees them whole, as
// multi-buffer XDP frames: the frags-aware program passes them up and the AF_PACKET path behind it forwards each one
// whole with its virtio-net header, so the real server receives frames larger than the MTU. In native mode a veth
// strips GSO from its peer while any XDP program is attached (drivers/net/veth.c), so there the peer segments and
// every segment takes the AF_XDP socket: slower, but complete.
for (const attach of ['native', 'skb'] as const) {
  t.test(`${attach} attach with the client's offloads on: 8 MB uploads through the VIP`, { skip }, async (t) => {
    const d = await DataPlaneLab.create(2);
    t.teardown(() => d.destroy());
    d.startServers(80, 2);
    await d.startHarness(true, '', 'afxdp', '', attach);
    t.equal(d.backend, 'afxdp', `AF_XDP running${d.backend !== 'afxdp' ? `: ${d.stderr.slice(-600)}` : ''}`);
    await d.call('setServices', [service({ scheduler: 'rr', dests: dests(2, 80) })]);
    await d.waitForMacs();
    t.same((await d.clients(80, 'tcp', Array(2).fill('10.61.1.1'))).sort(), ['rs1', 'rs2'], 'small frames through the socket');
    const caps = [1, 2].map((i) => d.captureLengths(`rs${i}`, 'tcp dst port 80 and greater 1600', 4000));
    await Promise.all(caps.map((c) => c.ready));
    const big = Promise.all(caps);
    const up = await d.clients(80, 'tcp', ['10.61.1.1', '10.61.1.1'], 'up 8000000', 20000);
    t.same(up.map((l) => l.replace(/^rs[12] /, '')), ['8000000', '8000000'], '8 MB uploads complete');
    const frames = (await big).flat();
    if (attach === 'skb') t.ok(frames.length > 0, `the real servers received ${frames.length} frames above the MTU, up to ${Math.max(0, ...frames)} bytes (GSO forwarded whole)`);
    else t.same(frames, [], 'native mode on a veth: the peer segmented, only MTU-sized frames reached the real servers');
  });
}
