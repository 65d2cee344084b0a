// Check kind → probe implementation. The monitor takes this as an injectable factory (unit tests pass fakes).
import type { Probe } from './probe';
import type { ProbeSpec } from './spec';
import { tcpProbe, udpProbe } from './tcp';
import { programProbe } from './program';
import { mysqlProbe } from './mysql';
import { icmpProbe } from './icmp';

export type ProbeFactory = (spec: ProbeSpec) => Probe;

export const defaultProbeFactory: ProbeFactory = (spec) => {
  switch (spec.kind) {
    case 'tcp':
      return tcpProbe(spec);
    case 'udp':
      return udpProbe(spec);
    case 'program':
      return programProbe(spec);
    case 'mysql':
      return mysqlProbe(spec);
    case 'icmp':
      return icmpProbe(spec);
  }
};
