// End to end on one namespace lab with three real servers: persistence with a /20 pmask, weights with wlc, a
// quiesce mid-stream, a capture proving only the MACs change, replies bypassing the director, TCP with the
// client's offloads on, and the director's kernel never answering for a service. Run for both backends: AF_PACKET
// (nftables ingress drop) and AF_XDP (an XDP program takes VIP frames before the kernel; the ingress drop stays
// behind it for the frames it passes up to the AF_PACKET path).
import { join } from 'node:path';
import t from 'tap';
import { paths } from '../lab/build';
import { labAvailable, waitFor } from '../lab/lab';
import { DIR_MAC, DataPlaneLab, HOLD_CLIENT_JS, VIP, dests, rsMac, service } from './dplab';

const skip = !labAvailable() && 'needs root and ip netns';

const xdpProgId = (d: DataPlaneLab): string | undefined => /prog\/xdp id (\d+) name directord_xdp/.exec(d.sh('dir', 'ip -d link show dev eth0'))?.[1];

/** True when the TCP checksum of an Ethernet/IPv4 frame (hex) is valid. */
function tcpChecksumOk(hex: string): boolean {
  const f = Buffer.from(hex, 'hex');
  const ihl = (f[14] & 0x0f) * 4;
  const seg = f.subarray(14 + ihl, 14 + f.readUInt16BE(16));
  let sum = f.readUInt16BE(26) + f.readUInt16BE(28) + f.readUInt16BE(30) + f.readUInt16BE(32) + 6 + seg.length;
  for (let i = 0; i < seg.length; i += 2) sum += (seg[i] << 8) | (seg[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum === 0xffff;
}

/** The IP/TCP bytes of a frame (hex) with the TCP checksum field blanked. */
function withoutTcpChecksum(hex: string): string {
  const ihl = (parseInt(hex.slice(29, 30), 16)) * 4;
  const at = (14 + ihl + 16) * 2;
  return hex.slice(24, at) + '----' + hex.slice(at + 4);
}

for (const backend of ['afpacket', 'afxdp'] as const) t.test(`data plane features on a lab (${backend})`, { skip }, async (t) => {
  const d = await DataPlaneLab.create(3, { extraClientAddrs: ['10.61.2.2', '10.61.3.3'] });
  t.teardown(() => d.destroy());
  d.startServers(80, 3);
  d.startServers(81, 3);
  d.startServers(8080, 1);
  let staleXdp: string | undefined;
  if (backend === 'afpacket') {
    // A table left by a crashed run, with a rule that would drop everything: start() must replace it.
    d.sh('dir', `nft -f - <<'E'
table netdev directord {
  chain stale {
    type filter hook ingress device "eth0" priority 0; policy drop;
  }
}
E`);
  } else {
    // Our XDP program left attached by a crashed run (no socket behind it: it would drop every VIP frame).
    d.sh('dir', `ip link set dev eth0 xdp obj ${join(paths.root, 'build', 'Release', 'directord_xdp.bpf.o')} sec xdp.frags`);
    staleXdp = xdpProgId(d);
    t.ok(staleXdp, `a stale directord_xdp program is attached (id ${staleXdp})`);
  }
  await d.startHarness(true, '', backend);
  t.equal(d.backend, backend, `the ${backend} path is running${d.backend !== backend ? `: ${d.stderr.slice(-600)}` : ''}`);
  if (backend === 'afpacket') {
    const ruleset = d.sh('dir', 'nft list table netdev directord');
    t.notMatch(ruleset, /chain stale/, 'the stale table from a crash was replaced');
  } else {
    const id = xdpProgId(d);
    t.ok(id && id !== staleXdp, `the stale XDP program was replaced (now id ${id})`);
    t.match(d.stderr, /removed a directord XDP program left by an earlier run/, 'and the removal was logged');
    t.match(d.sh('dir', 'nft list tables'), /table netdev directord/, 'the ingress drop behind it, for the frames it passes up');
  }
  const single = service({ port: 8080, dests: dests(1, 8080) });

  await t.test('persistence with a /20 pmask: every client in the /20 gets the same server', async (t) => {
    await d.call('setServices', [service({ persistent: 60, pmask: '255.255.240.0', dests: dests(3) }), single]);
    await d.waitForMacs();
    const got = await d.clients(80, 'tcp', ['10.61.1.1', '10.61.2.2', '10.61.3.3', '10.61.1.1', '10.61.2.2', '10.61.3.3']);
    t.equal(new Set(got).size, 1, `one server for the whole /20: ${got.join(' ')}`);
    const st = await d.call<any>('stats');
    t.equal(st.services[0].dests.reduce((n: number, x: any) => n + x.persistConns, 0), 1, 'one template');
    const conns = await d.call<any[]>('connections');
    t.ok(conns.some((c) => c.template && c.caddr === '10.61.0.0' && c.cport === 0), 'template keyed on the masked client address');
    // A /24 pmask separates the three client networks; rr spreads their (new) templates over all three servers.
    await d.call('setServices', [service({ persistent: 60, pmask: '255.255.255.0', scheduler: 'rr', dests: dests(3) }), single]);
    const by24 = await d.clients(80, 'tcp', ['10.61.1.1', '10.61.2.2', '10.61.3.3', '10.61.1.1', '10.61.2.2', '10.61.3.3']);
    t.same(by24.slice(3), by24.slice(0, 3), 'each /24 sticks to its server');
    t.equal(new Set(by24).size, 3, `clients outside each other's mask spread: ${by24.join(' ')}`);
  });

  await t.test('weights with wlc: connections split in proportion 1:2:3', async (t) => {
    // A service of its own (port 81), so no older connection weighs on the overheads.
    await d.call('setServices', [service({ port: 81, scheduler: 'wlc', dests: dests(3, 81, [1, 2, 3]) }), single]);
    await d.waitForMacs();
    const before = (await d.call<any>('stats')).services[0].dests.map((x: any) => x.conns);
    const got = await d.clients(81, 'tcp', Array(60).fill('10.61.1.1'));
    const after = (await d.call<any>('stats')).services[0].dests.map((x: any) => x.conns);
    const split = after.map((n: number, i: number) => n - before[i]);
    // A client port reused while its old entry is still in FIN_WAIT follows that entry (IPVS reuses it: no new
    // connection is counted), so replies and counters may differ by such reuses.
    const replies = ['rs1', 'rs2', 'rs3'].map((n) => got.filter((g) => g === n).length);
    t.equal(replies.reduce((a, b) => a + b, 0), 60, `every connection answered (others: ${got.filter((g) => !/^rs\d$/.test(g)).join(' ')})`);
    replies.forEach((n, i) => t.ok(n >= split[i] && n - split[i] <= 3, `rs${i + 1}: ${n} replies, ${split[i]} new connections counted`));
    [10, 20, 30].forEach((want, i) => t.ok(Math.abs(split[i] - want) <= 3, `rs${i + 1}: ${split[i]} ≈ ${want}`));
  });

  await t.test('quiesce mid-stream: the open connection keeps its server, new ones go elsewhere', async (t) => {
    await d.call('setServices', [service({ dests: dests(3) }), single]);
    const hold = d.lab.spawn('cli', [process.execPath, '-e', HOLD_CLIENT_JS, VIP, '80'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    hold.stdout!.on('data', (x) => (out += x));
    const first = await waitFor('held connection answered', () => out.split('\n')[0] || undefined, 5000);
    const idx = Number(first.replace('rs', ''));
    await d.call('setServices', [service({ dests: dests(3, 80, [1, 2, 3].map((i) => (i === idx ? 0 : 1))) }), single]);
    hold.stdin!.write('ping\n');
    await waitFor('reply on the held connection', () => out.split('\n').filter(Boolean).length >= 2, 5000);
    t.equal(out.split('\n')[1], first, 'the established flow still reaches the quiesced server');
    const fresh = await d.clients(80, 'tcp', Array(6).fill('10.61.1.1'));
    t.notOk(fresh.includes(first), `new connections avoid ${first}: ${fresh.join(' ')}`);
    hold.stdin!.end();
    hold.kill('SIGKILL');
  });

  await t.test('closeConns mid-stream (writer_demote = close): the held connection is reset by the director at its next segment', async (t) => {
    await d.call('setServices', [service({ dests: dests(3) }), single]);
    const hold = d.lab.spawn('cli', [process.execPath, '-e', HOLD_CLIENT_JS, VIP, '80'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    hold.stdout!.on('data', (x) => (out += x));
    t.teardown(() => void hold.kill('SIGKILL'));
    const first = await waitFor('held connection answered', () => out.split('\n')[0] || undefined, 5000);
    const idx = Number(first.replace('rs', ''));
    const before = await d.call<any>('stats');
    await d.call('setServices', [service({ dests: dests(3, 80, [1, 2, 3].map((i) => (i === idx ? 0 : 1))).map((x, i) => (i + 1 === idx ? { ...x, failed: true, closeConns: true } : x)) }), single]);
    const t0 = Date.now();
    hold.stdin!.write('ping\n');
    const end = await waitFor('the held connection ends', () => out.split('\n').find((l) => l.startsWith('error:') || l === 'closed'), 5000, 10);
    t.equal(end, 'error:ECONNRESET', `reset ${Date.now() - t0} ms after its next segment`);
    const st = await d.call<any>('stats');
    t.equal(st.drops.dest_closed - (before.drops.dest_closed ?? 0), 1, 'counted as dest_closed');
    t.equal(st.resetsSent - (before.resetsSent ?? 0), 1, 'one RST written by the data plane');
    const fresh = await d.clients(80, 'tcp', Array(4).fill('10.61.1.1'));
    t.notOk(fresh.includes(first), `new connections avoid ${first}: ${fresh.join(' ')}`);
  });

  await t.test('capture on the real server: MACs rewritten, IP and TCP bytes untouched', async (t) => {
    const rsCap = d.capture('rs1', 'tcp port 8080', 3000);
    const cliCap = d.capture('cli', 'tcp dst port 8080', 3000);
    await Promise.all([rsCap.ready, cliCap.ready]);
    t.same(await d.clients(8080, 'tcp', ['10.61.1.1']), ['rs1']);
    const [atRs, atCli] = await Promise.all([rsCap, cliCap]);
    const inbound = atRs.filter((h) => h.slice(0, 12) === rsMac(1).replace(/:/g, ''));
    t.ok(inbound.length >= 3, `${inbound.length} frames from the director seen on rs1`);
    for (const h of inbound) {
      t.equal(h.slice(12, 24), DIR_MAC.replace(/:/g, ''), 'source MAC is the director');
      if (backend === 'afpacket') t.ok(atCli.some((c) => c.slice(24) === h.slice(24)), 'the same IP/TCP bytes left the client');
      else {
        // XDP has no skb: a checksum the client left to offload (veth) is completed by the director, nothing else.
        t.ok(atCli.some((c) => withoutTcpChecksum(c) === withoutTcpChecksum(h)), 'the same IP/TCP bytes (checksum field aside) left the client');
        t.ok(tcpChecksumOk(h), 'the TCP checksum arriving at the server is valid');
      }
    }
    t.ok(atCli.every((c) => c.slice(0, 12) === DIR_MAC.replace(/:/g, '')), 'the client sent them to the director MAC');
  });

  await t.test('replies bypass the director; bulk TCP with the client offloads on', async (t) => {
    const dir0 = await d.ifStats('dir');
    const rs0 = await d.ifStats('rs1');
    t.same(await d.clients(8080, 'tcp', ['10.61.1.1'], 'down 4000000'), ['bytes 4000000'], 'download of 4 MB');
    const dir1 = await d.ifStats('dir');
    const rs1 = await d.ifStats('rs1');
    t.ok(rs1.txBytes - rs0.txBytes > 4000000, 'the server sent 4 MB');
    t.ok(dir1.rxBytes - dir0.rxBytes < 1000000, `the director received only ${dir1.rxBytes - dir0.rxBytes} bytes (client ACKs)`);
    t.same(await d.clients(8080, 'tcp', ['10.61.1.1'], 'up 4000000'), ['rs1 4000000'], 'upload of 4 MB through the director (GSO frames, partial checksums)');
  });

  await t.test("the director's own kernel never answers for a service", async (t) => {
    t.match(d.sh('dir', 'nft list tables'), /table netdev directord/);
    if (backend === 'afxdp') t.ok(xdpProgId(d), 'the XDP program is attached');
    await d.call('setForwarding', false);
    t.same(await d.clients(80, 'tcp', ['10.61.1.1'], 'name', 1500), ['timeout'], 'no RST from the director (the VIP is on its eth0)');
    const st = await d.call<any>('stats');
    t.ok(st.drops.not_active > 0, 'frames counted as not_active');
    await d.call('setForwarding', true);
    t.same((await d.clients(80, 'tcp', ['10.61.1.1']))[0].startsWith('rs'), true, 'forwarding resumes');
    await d.call('stop');
    t.notMatch(d.sh('dir', 'nft list tables'), /directord/, 'the ingress drop is removed on stop');
    if (backend === 'afxdp') t.notOk(xdpProgId(d), 'the XDP program is detached on stop');
  });
});

// --busy-poll-us: a packet thread that spins for the next frame does not go to sleep between close frames, so the
// kernel need not wake it (loopWakeups). Sequential UDP requests arrive a few hundred µs apart: without a budget
// the thread sleeps between them; with a 10 ms budget it sleeps less. How much less, per frame, is a figure for
// bench/dataplane.ts (BUSY_POLL_US, its "wake-ups per forwarded frame" row), not a threshold for a test.
for (const backend of ['afpacket', 'afxdp'] as const) t.test(`busy-poll budget (${backend}): fewer sleeps, same forwarding`, { skip }, async (t) => {
  const d = await DataPlaneLab.create(1);
  t.teardown(() => d.destroy());
  d.startServers(53, 1);
  const perFrame = async (busyPollUs: number): Promise<number> => {
    await d.startHarness(true, '', backend, '', '', busyPollUs);
    t.equal(d.backend, backend);
    await d.call('setServices', [service({ port: 53, protocol: 'udp', dests: dests(1, 53) })]);
    await d.waitForMacs();
    await d.clients(53, 'udp', ['10.61.1.1']);
    const s0 = (await d.call('stats')) as { loopWakeups: number; rxFrames: number };
    t.same(await d.clients(53, 'udp', Array(100).fill('10.61.1.1')), Array(100).fill('rs1'), `100 requests answered (busy-poll ${busyPollUs} µs)`);
    const s1 = (await d.call('stats')) as { loopWakeups: number; rxFrames: number };
    await d.call('stop');
    return (s1.loopWakeups - s0.loopWakeups) / (s1.rxFrames - s0.rxFrames);
  };
  const none = await perFrame(0);
  const spin = await perFrame(10000);
  t.ok(none > 0, `without a budget the thread sleeps between spaced requests (${none.toFixed(2)} sleeps per frame)`);
  t.ok(spin < none, `a 10 ms budget means fewer sleeps (${spin.toFixed(2)} vs ${none.toFixed(2)} per frame)`);
});
