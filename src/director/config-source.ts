// Adapter from the config subsystem's index.ts (loadConfig, runCheckConfig, diffConfigs) and the scheduler's
// where() simulator to what the daemon needs.
import { loadConfig, runCheckConfig, diffConfigs } from '../config';
import type { ConfigSubsystem, WhereFunction } from './subsystems';

export function configSubsystem(): ConfigSubsystem & { where?: WhereFunction } {
  return {
    load: (file) => loadConfig(file),
    describeDiff: (a, b) => diffConfigs(a, b).map((c: unknown) => (typeof c === 'string' ? c : JSON.stringify(c))),
  };
}

/** `directord --check-config [FILE] [--json]`: the config subsystem prints and returns the exit status. */
export function runCheckConfigCommand(file: string, json: boolean): number {
  return runCheckConfig(file, { json });
}
