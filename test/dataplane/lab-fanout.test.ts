// More than one packet thread, on real frames: veths with 4 RX/TX queues, the AF_PACKET backend with N = 1, 2, 4
// threads (v2 ring; and 2 with the v3 ring) in one PACKET_FANOUT_HASH group. The client injects a fixed scenario of
// TCP and UDP frames from 150 clients (several ports each, so one client's flows land on different threads but share
// one persistence template); the director's connections, per-dest counters, drops by reason and frame counters must
// equal the reference model (ConnTableModel) fed the same frames in the order they were sent, exactly, and every
// thread must have taken frames.
import t from 'tap';
import { labAvailable, waitFor } from '../lab/lab';
import { ConnTableModel, type PacketSummary } from '../../src/scheduler';
import type { DataPlaneStats, ServiceSpec } from '../../src/dataplane/types';
import { DataPlaneLab, DIR_MAC, INJECT_PY, VIP, dests, service, type Frame, nonZeroDrops } from './dplab';

const skip = !labAvailable() && 'needs root and ip netns';
const CLIENTS = 150;
const PORTS = 3;


/** The scenario, interleaved across clients so frames of different flows alternate while each flow stays in order. */
function scenario(): Frame[] {
  const client = (i: number) => `10.62.${1 + (i >> 8)}.${i & 255}`;
  const steps: Frame[][] = [[], [], [], [], []];
  for (let i = 0; i < CLIENTS; i++) {
    for (let j = 0; j < PORTS; j++) {
      const [src, sport, dport] = [client(i), 20000 + j, 1000 + 7 * j];
      steps[0].push([src, sport, dport, 6, 0x02, 0]);                     // SYN
      steps[1].push([src, sport, dport, 6, 0x10, 0]);                     // ACK: ESTABLISHED
      steps[2].push([src, sport, dport, 6, 0x18, 100]);                   // data
      if (j % 2 === 0) steps[3].push([src, sport, dport, 6, 0x11, 0]);    // FIN: FIN_WAIT
    }
    steps[1].push([client(i), 5353, 53, 17, 0, 20]);                      // UDP, twice
    steps[3].push([client(i), 5353, 53, 17, 0, 30]);
    steps[4].push([client(i), 30000, 4000, 6, 0x10, 0]);                  // ACK without a connection: no_conn
  }
  return steps.flat();
}

const services: ServiceSpec[] = [
  service({ port: 0, scheduler: 'sh', persistent: 300, dests: dests(2, 80) }),   // every TCP port, one template per client
  service({ port: 53, protocol: 'udp', scheduler: 'mh', dests: dests(2, 53) }),
];

/** What the model says the director must hold and count after `frames`, in send order. */
function model(frames: Frame[]): { conns: string[]; dests: unknown; drops: Record<string, number>; forwarded: number; rxBytes: number } {
  const m = new ConnTableModel({ capacity: 1 << 16 });
  m.setServices(services.map((s) => ({ ...s, dests: s.dests.map((d) => ({ ...d, mac: '02:00:00:00:00:01' })) })));
  const drops: Record<string, number> = {};
  let forwarded = 0, rxBytes = 0;
  for (const [saddr, sport, dport, proto, flags, pay] of frames) {
    const len = 20 + (proto === 6 ? 20 : 8) + pay;
    rxBytes += 14 + len;
    const f = { fin: !!(flags & 1), syn: !!(flags & 2), rst: !!(flags & 4), ack: !!(flags & 16) };
    const pkt: PacketSummary = { protocol: proto === 6 ? 'tcp' : 'udp', saddr, sport, daddr: VIP, dport, flags: f, len };
    const d = m.process(pkt, 1_000_000);
    if (d.verdict === 'forward') forwarded++;
    else drops[d.reason ?? d.verdict] = (drops[d.reason ?? d.verdict] ?? 0) + 1;
  }
  return { conns: m.connections(1_000_000).map(connKey).sort(), dests: destRows(m.stats()), drops, forwarded, rxBytes };
}

function connKey(c: { template: boolean; protocol: string; caddr: string; cport: number; vaddr: string; vport: number; daddr: string; dport: number; state: string }): string {
  return `${c.template ? 'T' : 'C'} ${c.protocol} ${c.caddr}:${c.cport} ${c.vaddr}:${c.vport} ${c.daddr}:${c.dport} ${c.state}`;
}

function destRows(svcs: DataPlaneStats['services']): unknown {
  return svcs.map((s) => s.dests.map((d) => [d.address, d.activeConns, d.inactConns, d.persistConns, d.conns, d.inPkts, d.inBytes]));
}

const frames = scenario();
const want = model(frames);

for (const [threads, ring] of [[1, 'v2'], [2, 'v2'], [4, 'v2'], [2, 'v3']] as const) {
  t.test(`${threads} packet thread(s), RX ring ${ring}, on 4-queue veths: table, counters and drops equal the model`, { skip }, async (t) => {
    const d = await DataPlaneLab.create(2, { queues: 4 });
    t.teardown(() => d.destroy());
    d.dropFlood(2);   // the real servers never answer the 10.62/16 clients
    t.equal(d.sh('dir', 'ls /sys/class/net/eth0/queues | grep -c rx-').trim(), '4', 'the director has 4 RX queues');
    await d.startHarness(true, ring, 'afpacket', '', '', 0, 1 << 16, 0, threads);
    await d.call('setServices', services);
    await d.waitForMacs();
    const before = await d.call<DataPlaneStats>('stats');
    t.equal(before.threadFrames?.length, threads, `${threads} packet threads running`);
    const send = await d.lab.exec('cli', ['taskset', '-c', '0', 'python3', '-c', INJECT_PY, DIR_MAC, '02:61:00:00:01:01', VIP], { input: JSON.stringify(frames), timeoutMs: 60000 });
    t.equal(send.code, 0, `injector: ${send.stderr}`);
    await waitFor('every frame decided', async () => (await d.call<DataPlaneStats>('stats')).rxFrames - before.rxFrames >= frames.length, 10000, 100);
    const st = await d.call<DataPlaneStats>('stats');
    t.equal(st.rxFrames - before.rxFrames, frames.length, `rxFrames exact: ${frames.length}`);
    t.equal(st.txFrames - before.txFrames, want.forwarded, `txFrames exact: ${want.forwarded} forwarded`);
    t.same(nonZeroDrops(st.drops), want.drops, `drops by reason exact: ${JSON.stringify(want.drops)}`);
    t.same(destRows(st.services), want.dests, 'per-dest ActiveConn/InActConn/persistent/conns/inPkts/inBytes equal the model');
    const conns = (await d.call<{ template: boolean; protocol: string; caddr: string; cport: number; vaddr: string; vport: number; daddr: string; dport: number; state: string }[]>('connections')).map(connKey).sort();
    t.equal(conns.filter((c) => c.startsWith('T')).length, CLIENTS, 'one persistence template per client, whichever threads its ports hashed to');
    t.same(conns, want.conns, `connections and templates equal the model (${want.conns.length})`);
    const per = st.threadFrames ?? [];
    t.equal(per.reduce((a, b) => a + b, 0), st.rxFrames, `the threads' frames add up to rxFrames: ${JSON.stringify(per)}`);
    if (threads > 1) t.ok(per.every((n) => n > 0), 'the fanout hash gave every thread frames');
    t.comment(`lock: taken ${st.lockTaken}, contended ${st.lockContended}, waited ${((st.lockWaitNs ?? 0) / 1e3).toFixed(0)} µs, held ${((st.lockHoldNs ?? 0) / 1e3).toFixed(0)} µs`);
  });
}
