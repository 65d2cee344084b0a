// Long-lived flows on the native table with a fake clock: 100k TCP connections under a short ESTABLISHED timeout
// (5 s). Half get a packet every 2 s for 20 s (four timeouts) and must never expire while they do (ip_vs_conn_put
// re-arms the timer on every packet); the other half go idle and must expire exactly one timeout after their last
// packet, not a millisecond earlier; later the active half goes idle and expires on time too.
import { tcpFlagsOf } from '../../src/scheduler';
import t from 'tap';
import { NativeTable } from '../../src/dataplane/native';
import { ipToInt } from '../../src/dataplane/validate';
import { VIP, dests, service } from './dplab';

const FLOWS = 100_000;
const TIMEOUT_S = 5;
const T0 = 10_000_000;

const addr = (i: number) => `10.${64 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;
const index = (a: string) => ipToInt(a) - ipToInt('10.64.0.0');
const flow = (i: number, flags: number) =>
  ({ saddr: addr(i), sport: 40000, daddr: VIP, dport: 80, protocol: 'tcp' as const, flags: tcpFlagsOf(flags), len: 52 });

t.test(`${FLOWS} flows held ${20 / TIMEOUT_S}x the ESTABLISHED timeout: active ones never expire, idle ones on time`, async (t) => {
  const tab = new NativeTable(1 << 18);
  tab.setServices([service({ scheduler: 'rr', dests: dests(2, 80).map((d, i) => ({ ...d, mac: `02:61:00:00:00:1${i + 1}` })) })]);
  tab.setTimeouts({ tcp: TIMEOUT_S, tcpfin: 0, udp: 0 });
  const live = (now: number) => tab.connections(1 << 18, now);
  let bad = 0;
  for (let i = 0; i < FLOWS; i++) {
    if (tab.processPacket(flow(i, 0x02), T0).verdict !== 'forward') bad++;
    if (tab.processPacket(flow(i, 0x10), T0).state !== 'ESTABLISHED') bad++;
  }
  t.equal(bad, 0, `${FLOWS} connections ESTABLISHED at T0`);
  const active = (i: number) => i % 2 === 0;   // even flows keep talking, odd ones go idle
  // Every 2 s for 20 s: the active half sends; just before and at each idle deadline, count what is left.
  let last = T0;
  for (let now = T0 + 2000; now <= T0 + 20_000; now += 2000) {
    let lost = 0;
    for (let i = 0; i < FLOWS; i += 2) if (tab.processPacket(flow(i, 0x10), now).verdict !== 'forward') lost++;
    if (lost) t.fail(`at +${now - T0} ms ${lost} active flows had expired`);
    last = now;
    if (now === T0 + 4000) {
      t.equal(live(T0 + TIMEOUT_S * 1000 - 1).length, FLOWS, 'idle flows still there 1 ms before their timeout');
      const left = live(T0 + TIMEOUT_S * 1000);
      t.equal(left.length, FLOWS / 2, 'idle flows gone exactly at their timeout');
      t.ok(left.every((c) => active(index(c.caddr))), 'only active flows are left');
    }
  }
  t.pass(`no active flow expired in ${(last - T0) / 1000} s of a ${TIMEOUT_S} s timeout`);
  const idle = tab.processPacket(flow(1, 0x10), last);
  t.equal(idle.verdict, 'no_conn', 'a packet of an expired idle flow finds no connection (IPVS hands it to the stack)');
  const st = tab.destStats();
  t.equal(st.reduce((n, d) => n + d.activeConns, 0), FLOWS / 2, 'ActiveConn counts the active half');
  t.equal(live(last + TIMEOUT_S * 1000 - 1).length, FLOWS / 2, 'the active half, now idle, lives until its last packet + timeout');
  t.equal(live(last + TIMEOUT_S * 1000).length, 0, 'and expires exactly then');
  t.equal(tab.destStats().reduce((n, d) => n + d.activeConns + d.inactConns, 0), 0, 'counters back to zero');
});
