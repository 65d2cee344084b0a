// The addon's layout is checked at load against the TypeScript side's constants: limits and the scheduler list; the
// benchmark/test entries are in the separate bench addon, not in the one the daemon loads.
import t from 'tap';
import { loadBench, loadNative, NativeTable, type NativeBinding } from '../../src/dataplane/native';
import { SCHEDULER_NAMES } from '../../src/config/schema';
import { decodeConnRecords, encodeConnRecords } from '../../src/dataplane/native-layout';

const real = loadNative();

function withLayout(patch: Record<string, unknown>): NativeBinding {
  return { ...real, layout: () => ({ ...real.layout(), ...patch }) } as NativeBinding;
}

t.test('the built addon names the same schedulers as SCHEDULER_NAMES', async (t) => {
  t.same([...real.layout().schedulers].sort(), [...SCHEDULER_NAMES].sort());
  t.doesNotThrow(() => new NativeTable(16, real));
});

t.test('an addon with another scheduler list or other limits is refused with E_DATAPLANE_ABI', async (t) => {
  t.throws(() => new NativeTable(16, withLayout({ schedulers: ['wlc', 'lc', 'rr', 'wrr', 'sh', 'mh'] })), { code: 'E_DATAPLANE_ABI' });
  t.throws(() => new NativeTable(16, withLayout({ schedulers: ['wlc', 'lc', 'rr', 'wrr', 'sh', 'mh', 'dh'] })), { code: 'E_DATAPLANE_ABI' });
  t.throws(() => new NativeTable(16, withLayout({ maxServices: 128 })), { code: 'E_DATAPLANE_ABI' });
});

t.test('the benchmark and hash-key entries live only in directord_bench.node, not in the addon the daemon loads', async (t) => {
  const benchOnly = ['benchLookup', 'benchExpire', 'benchFlood', 'benchBatch', 'tableHash', 'tableSetHashKey', 'tableForwardBatch'];
  t.same(Object.keys(real).filter((k) => benchOnly.includes(k)), [], 'directord_native.node exports none of them');
  const bench = loadBench();
  t.same(benchOnly.filter((k) => typeof (bench as unknown as Record<string, unknown>)[k] !== 'function'), [], 'directord_bench.node exports them all');
  t.equal(bench.abiVersion(), real.abiVersion(), 'same ABI as the main addon');
  t.ok(bench.benchLookup(1 << 11, 100, 1000).lookupNs > 0, 'and they run');
  t.throws(() => loadBench('/nonexistent/directord_bench.node'), { code: 'E_DATAPLANE_NO_ADDON' });
});

t.test('connection records: packed and unpacked with the addon\'s layout; an unknown state is E_DATAPLANE_SYNC', async (t) => {
  const L = real.layout();
  const entries = [
    { protocol: 'tcp' as const, caddr: '11.0.0.1', cport: 40000, vaddr: '10.61.0.100', vport: 80, daddr: '10.61.0.11', dport: 80, state: 'ESTABLISHED', expiresMs: 900_000, template: false },
    { protocol: 'udp' as const, caddr: '11.0.0.2', cport: 0, vaddr: '10.61.0.100', vport: 53, daddr: '10.61.0.12', dport: 53, state: 'NONE', expiresMs: 360_000, template: true },
  ];
  const b = encodeConnRecords(L, entries);
  t.equal(b.length, 2 * L.conn.size);
  t.same(decodeConnRecords(L, b), entries);
  t.throws(() => encodeConnRecords(L, [{ ...entries[0], state: 'BOGUS' }]), { code: 'E_DATAPLANE_SYNC' });
});
