// The lab's compiled helpers (workload child, demo) share build.ts's freshness check; kept as a name for its importers.
export { ensureBuilt as ensureLabBuilt, paths } from './build';
