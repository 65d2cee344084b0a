// The HA subsystem's only entry: pulse's job (heartbeats, failover, VIP + gratuitous ARP, link monitor, conn sync).
export * from './node';
