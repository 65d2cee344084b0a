// The metrics subsystem's public face.
export { createMetricsRegistry, type MetricsSource } from './registry';
export { startMetricsServer, parseListenAddress } from './http';
