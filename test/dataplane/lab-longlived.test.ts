// Long-lived flows on real frames (the 100k-flow, to-the-millisecond version is long-lived.test.ts on a fake clock):
// 2000 TCP connections through a director with 2 packet threads and a 2 s ESTABLISHED timeout. Half of them send an
// ACK every 0.5 s for 6 s (three timeouts) and must never expire: every one of those ACKs is forwarded. The other
// half go idle: after the hold their ACKs find no connection (no_conn, exactly one per flow), and once the active
// half stops too the table empties within its timeout.
import t from 'tap';
import { labAvailable, waitFor } from '../lab/lab';
import type { DataPlaneStats } from '../../src/dataplane/types';
import { DataPlaneLab, DIR_MAC, INJECT_PY, VIP, dests, service, type Frame, nonZeroDrops } from './dplab';

const skip = !labAvailable() && 'needs root and ip netns';
const FLOWS = 2000;
const TIMEOUT_S = 2;
const HOLD_MS = 6000;
const EVERY_MS = 500;

const src = (i: number) => `10.62.${1 + (i >> 8)}.${i & 255}`;
const ack = (i: number): Frame => [src(i), 40000, 80, 6, 0x10, 0];

function frames(): { list: Frame[]; forwarded: number } {
  const list: Frame[] = [];
  for (let i = 0; i < FLOWS; i++) list.push([src(i), 40000, 80, 6, 0x02, 0], ack(i));
  let forwarded = 2 * FLOWS;
  for (let ms = EVERY_MS; ms <= HOLD_MS; ms += EVERY_MS) {
    list.push(['', 0, 0, 0, 0, EVERY_MS]);
    for (let i = 0; i < FLOWS; i += 2) list.push(ack(i));
    forwarded += FLOWS / 2;
  }
  for (let i = 1; i < FLOWS; i += 2) list.push(ack(i));   // the idle half, long after its timeout
  return { list, forwarded };
}

t.test(`${FLOWS} flows, ${TIMEOUT_S} s ESTABLISHED timeout, half active for ${HOLD_MS / 1000} s: none of those expires, the idle half does`, { skip }, async (t) => {
  const d = await DataPlaneLab.create(2, { queues: 4 });
  t.teardown(() => d.destroy());
  d.dropFlood(2);
  await d.startHarness(true, '', 'afpacket', '', '', 0, 1 << 16, 0, 2);
  await d.call('setServices', [service({ scheduler: 'rr', dests: dests(2, 80) })]);
  await d.call('setTimeouts', { tcp: TIMEOUT_S, tcpfin: 0, udp: 0 });
  await d.waitForMacs();
  const { list, forwarded } = frames();
  const send = await d.lab.exec('cli', ['taskset', '-c', '0', 'python3', '-c', INJECT_PY, DIR_MAC, '02:61:00:00:01:01', VIP], { input: JSON.stringify(list), timeoutMs: 60000 });
  t.equal(send.code, 0, `injector: ${send.stderr}`);
  const sent = list.filter((f) => f[3] !== 0).length;
  await waitFor('every frame decided', async () => (await d.call<DataPlaneStats>('stats')).rxFrames >= sent, 10000, 100);
  const st = await d.call<DataPlaneStats>('stats');
  t.equal(st.rxFrames, sent, `${sent} frames received`);
  t.equal(st.txFrames, forwarded, 'every SYN, ACK and keep-alive ACK of an active flow forwarded: none found its entry expired');
  t.same(nonZeroDrops(st.drops), { no_conn: FLOWS / 2 }, 'each idle flow, back after the hold, finds its entry expired (no_conn)');
  const left = await d.call<{ caddr: string; state: string }[]>('connections');
  t.equal(left.length, FLOWS / 2, 'the active half is in the table');
  t.ok(left.every((c) => c.state === 'ESTABLISHED' && Number(c.caddr.split('.')[3]) % 2 === 0), 'all of them active flows, ESTABLISHED');
  await waitFor('the active half expires once idle', async () => (await d.call<unknown[]>('connections')).length === 0, TIMEOUT_S * 1000 + 3000, 100);
  t.pass(`table empty within ${TIMEOUT_S} s (+ scheduling) of the last packet`);
});
