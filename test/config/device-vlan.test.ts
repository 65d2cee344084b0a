// The VIP device's VLAN id (lvs.cf `address = VIP eth0.100:1`), as the data plane is started with it.
import t from 'tap';
import { deviceVlan } from '../../src/config/values';

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
