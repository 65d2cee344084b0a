// The VIP device's VLAN id (lvs.cf `address = VIP eth0.100:1`), as the data plane is started with it.
import t from 'tap';
import { deviceVlan } from '../../src/config/values';
import { checkConfig, parseConfig } from '../../src/config';
import { mk, parseOpts } from './helpers';

t.test('PARENT.VID names a VLAN; anything else is untagged', async (t) => {
  const rows: [string, ReturnType<typeof deviceVlan>][] = [
    ['eth0:1', { parent: 'eth0', vlan: 0 }],
    ['eth0', { parent: 'eth0', vlan: 0 }],
    ['eth0.100:1', { parent: 'eth0', vlan: 100 }],
    ['eth0.100', { parent: 'eth0', vlan: 100 }],
    ['bond0.0100:2', { parent: 'bond0', vlan: 100 }],
    ['eth0.1', { parent: 'eth0', vlan: 1 }],
    ['eth0.4094', { parent: 'eth0', vlan: 4094 }],
    ['br.lan', { parent: 'br.lan', vlan: 0 }],
  ];
  for (const [dev, want] of rows) t.same(deviceVlan(dev), want, dev);
  for (const bad of ['eth0.0', 'eth0.4095', 'eth0.99999', 'eth0.00001']) t.match(deviceVlan(bad), { error: /1\.\.4094/ }, bad);
});

t.test('virtuals on different VLANs: a warning (the data plane serves the first one\'s)', async (t) => {
  const second = ['virtual w {', '  active = 1', '  address = 10.0.0.9 eth0.200:1', '  server s {', '    address = 10.0.0.4', '    active = 1', '  }', '}'];
  const warnings = (text: string) => checkConfig(parseConfig(text, 'lvs.cf', parseOpts), parseOpts).warnings.filter((w) => /VLAN/.test(w.message));
  const w = warnings(mk({ tail: second }).replace('eth0:1', 'eth0.100:1'));
  t.equal(w.length, 1);
  t.match(w[0], { code: 'W_CONFIG_NOT_IMPLEMENTED', message: /VLAN 200.*one VLAN.*VLAN 100/ });
  t.same(warnings(mk({ tail: second }).replace('eth0:1', 'eth0.200:2')), [], 'same VLAN: no warning');
});
