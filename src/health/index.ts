// The health subsystem's public face: the monitor the director wires to the data plane, and its types.
export { HealthMonitor, systemClock } from './monitor';
export type { HealthChange, CheckEvent, ServerHealth, AdminMode, Clock, HealthMonitorOptions } from './monitor';
export type { ProbeResult, Probe } from './probe';
export type { ProbeFactory } from './probe-factory';
export { defaultProbeFactory } from './probe-factory';
export { checkerSpec, checkerSpecs } from './spec';
export { setReadOnly } from './mysql';
export type { MysqlObservation } from './mysql-positions';
export type { CheckerSpec, ProbeSpec, ProbeKind } from './spec';
