// Every cell of the DR input-only table, transcribed independently from the kernel's compact rows, plus flag
// priority, timeouts and the active-state sets.
import t from 'tap';
import {
  ACTIVE_STATES_CURRENT, ACTIVE_STATES_LEGACY, DEFAULT_TIMEOUTS_S, DR_INPUT_ONLY_TABLE, TCP_STATES, nextTcpState, tcpEvent,
  tcpFlagByte, tcpFlagsOf, timeoutTableMs, type TcpState,
} from '../../src/scheduler';

// ip_vs_proto_tcp.c tcp_states[], INPUT-ONLY block, columns sNO sES sSS sSR sFW sTW sCL sCW sLA sLI sSA.
const ABBR: Record<string, TcpState> = {
  sNO: 'NONE', sES: 'ESTABLISHED', sSS: 'SYN_SENT', sSR: 'SYN_RECV', sFW: 'FIN_WAIT', sTW: 'TIME_WAIT',
  sCL: 'CLOSE', sCW: 'CLOSE_WAIT', sLA: 'LAST_ACK', sLI: 'LISTEN', sSA: 'SYNACK',
};
const KERNEL_ROWS = {
  syn: 'sSR, sES, sES, sSR, sSR, sSR, sSR, sSR, sSR, sSR, sSR',
  fin: 'sCL, sFW, sSS, sTW, sFW, sTW, sCL, sCW, sLA, sLI, sTW',
  ack: 'sES, sES, sSS, sES, sFW, sTW, sCL, sCW, sCL, sLI, sES',
  rst: 'sCL, sCL, sCL, sSR, sCL, sCL, sCL, sCL, sLA, sLI, sCL',
};
const FLAGS = { syn: { syn: true }, fin: { fin: true }, ack: { ack: true }, rst: { rst: true } };

t.test('input-only table: all 44 cells', async (t) => {
  t.same([...TCP_STATES], Object.values(ABBR), 'state numbering follows the kernel enum');
  for (const [ev, row] of Object.entries(KERNEL_ROWS) as [keyof typeof KERNEL_ROWS, string][]) {
    const next = row.split(', ').map((a) => ABBR[a]);
    TCP_STATES.forEach((from, i) => {
      t.equal(nextTcpState(from, { syn: false, ack: false, fin: false, rst: false, ...FLAGS[ev] }), next[i], `${from} --${ev}--> ${next[i]}`);
      t.equal(DR_INPUT_ONLY_TABLE[ev][from], next[i]);
    });
  }
});

t.test('flag priority rst > syn > fin > ack; no flag → CLOSE', async (t) => {
  const f = (o: Partial<Record<'syn' | 'ack' | 'fin' | 'rst', boolean>>) => ({ syn: false, ack: false, fin: false, rst: false, ...o });
  t.equal(tcpEvent(f({ syn: true, ack: true, fin: true, rst: true })), 'rst');
  t.equal(tcpEvent(f({ syn: true, ack: true, fin: true })), 'syn');
  t.equal(tcpEvent(f({ ack: true, fin: true })), 'fin');
  t.equal(tcpEvent(f({ ack: true })), 'ack');
  t.equal(tcpEvent(f({})), null);
  t.equal(nextTcpState('ESTABLISHED', f({})), 'CLOSE', 'tcp_state_idx < 0 → new_state stays IP_VS_TCP_S_CLOSE');
  t.equal(nextTcpState('SYN_RECV', f({ syn: true, rst: true })), 'SYN_RECV', 'rst row for SYN_RECV');
  t.equal(nextTcpState('ESTABLISHED', f({ fin: true, ack: true })), 'FIN_WAIT');
});

t.test('timeouts: IPVS defaults, tcp/tcpfin/udp overrides, 0 keeps', async (t) => {
  t.same(DEFAULT_TIMEOUTS_S, {
    NONE: 2, ESTABLISHED: 900, SYN_SENT: 120, SYN_RECV: 60, FIN_WAIT: 120, TIME_WAIT: 120, CLOSE: 10, CLOSE_WAIT: 60,
    LAST_ACK: 30, LISTEN: 120, SYNACK: 120, UDP: 300,
  });
  const d = timeoutTableMs();
  t.equal(d.ESTABLISHED, 900_000);
  const o = timeoutTableMs({ tcp: 3600, tcpfin: 30, udp: 0 });
  t.same([o.ESTABLISHED, o.FIN_WAIT, o.UDP, o.TIME_WAIT], [3_600_000, 30_000, 300_000, 120_000]);
});

t.test('active states: current kernels vs ESTABLISHED-only', async (t) => {
  t.same([...ACTIVE_STATES_CURRENT].sort(), ['ESTABLISHED', 'SYNACK', 'SYN_RECV', 'SYN_SENT']);
  t.same([...ACTIVE_STATES_LEGACY], ['ESTABLISHED']);
});

t.test('TCP flag byte ↔ flags, as the native table takes them', async (t) => {
  for (let b = 0; b < 32; b++) t.equal(tcpFlagByte(tcpFlagsOf(b)), b & 0x17, `byte ${b}`);
  t.same(tcpFlagsOf(0x12), { fin: false, syn: true, rst: false, ack: true });
  t.equal(tcpFlagByte(undefined), 0);
});
