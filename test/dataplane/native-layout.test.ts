// The addon's layout is checked at load against the TypeScript side's constants: limits and the scheduler list.
import t from 'tap';
import { loadNative, NativeTable, type NativeBinding } from '../../src/dataplane/native';
import { SCHEDULER_NAMES } from '../../src/config/schema';

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
