// The control subsystem's public face: protocol codec, command table, server (daemon) and client (directorctl).
export * from './protocol';
export * from './commands';
export * from './types';
export { ControlServer, dispatchLine, type ControlServerOptions } from './server';
export { request, connectError } from './client';
export { claimSocketPath, probeSocket, lookupGroupId, readOnlySocketPathFor, defaultControlSocket, currentNetnsName } from './socket-path';
