// The config subsystem's public face: load, parse, validate, diff and print lvs.cf (Piranha's format).
export * from './schema';
export { loadConfig, runCheckConfig, type CheckConfigOptions, type CheckConfigResult } from './check';
export { parseConfig, type ParseOptions } from './parser';
export { validateConfig, checkConfig, serviceIdentity, type ValidationResult, type ValidateOptions } from './validate';
export { diffConfigs, diffGlobal, type ConfigDiff, type VirtualChange, type ServerChange, type ServersDiff, type GlobalDiff } from './diff';
export { formatEffectiveConfig, configToJSON, type PrintOptions } from './print';
export { hostsFileResolver, servicesFileResolver, mapHostResolver, builtinServiceResolver, type HostResolver, type ServiceResolver } from './resolve';
export { locationOf, type KeyLocation } from './locations';
export { GLOBAL_KEYS, VIRTUAL_KEYS, SERVER_KEYS, type KeyDef } from './keys';
