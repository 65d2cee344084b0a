// End to end on a namespace lab: a SYN flood fills the director's connection table (4096 entries here) and an
// established connection keeps forwarding while new clients are still admitted (embryonic entries are evicted).
import { rmSync, writeFileSync } from 'node:fs';
import readline from 'node:readline';
import t from 'tap';
import { labAvailable, within } from '../lab/lab';
import { DataPlaneLab, HOLD_CLIENT_JS, VIP, dests, service, synFloodConfig } from './dplab';

const TABLE = 4096;
const FLOOD = 20_000; // frames: five times the table

t.test('a SYN flood that fills the table costs neither established connections nor new clients', { skip: !labAvailable() && 'needs root and ip netns' }, async (t) => {
  const d = await DataPlaneLab.create(2);
  const cfg = `/tmp/directord-synflood-test-${process.pid}.cfg`;
  t.teardown(async () => {
    rmSync(cfg, { force: true });
    await d.destroy();
  });
  d.startServers(80, 2);
  d.dropFlood(2);
  await d.startHarness(true, 'v2', 'afpacket', '', '', 0, TABLE);
  await d.call('setServices', [service({ scheduler: 'rr', dests: dests(2) })]);
  await d.waitForMacs();

  const held = d.lab.spawn('cli', [process.execPath, '-e', HOLD_CLIENT_JS, VIP, '80'], { stdio: ['pipe', 'pipe', 'pipe'] });
  const lines = readline.createInterface({ input: held.stdout! })[Symbol.asyncIterator]();
  const next = async (): Promise<string> => {
    const r = await within(lines.next(), 10_000, { value: 'timeout' });
    return String(r.value);
  };
  const server = await next();
  t.match(server, /^rs[12]$/, 'the held connection is established');

  writeFileSync(cfg, synFloodConfig());
  const tg = await d.lab.exec('cli', ['trafgen', '-o', 'eth0', '-P', '1', '-n', String(FLOOD), '-i', cfg, '-q'], { timeoutMs: 60_000 });
  t.equal(tg.code, 0, `trafgen sent ${FLOOD} SYNs`);

  const st = await d.call<{ evictions: number; drops: Record<string, number>; services: { dests: { activeConns: number; inactConns: number }[] }[] }>('stats');
  const live = st.services[0].dests.reduce((n, x) => n + x.activeConns + x.inactConns, 0);
  t.equal(live, TABLE, 'the flood filled the table');
  t.ok(st.evictions > 0, `embryonic entries evicted (${st.evictions})`);
  t.equal(st.drops.table_full ?? 0, 0, 'no SYN refused');

  held.stdin!.write('ping\n');
  t.equal(await next(), server, 'the established connection still forwards, to the same server');
  const fresh = await d.clients(80, 'tcp', Array(6).fill('10.61.1.1'), 'name', 5000);
  t.same(fresh.slice().sort(), ['rs1', 'rs1', 'rs1', 'rs2', 'rs2', 'rs2'], 'new clients are admitted');
  held.stdin!.end();
});
