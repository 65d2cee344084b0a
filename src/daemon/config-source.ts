// Adapter from the config subsystem's index.ts (loadConfig, runCheckConfig, diffConfigs) to what the daemon needs.
import { loadConfig, runCheckConfig, diffConfigs, type ConfigDiff } from '../config';
import type { ConfigChangeSummary, ConfigSubsystem } from '../director/subsystems';

function summarize(d: ConfigDiff): ConfigChangeSummary {
  const lines: string[] = [];
  if (d.global.fields.length) lines.push(`global: ${d.global.fields.join(', ')}`);
  for (const v of d.added) lines.push(`virtual ${v.name} added`);
  for (const v of d.removed) lines.push(`virtual ${v.name} removed`);
  for (const c of d.changed) {
    const parts: string[] = [];
    if (c.fields.length) parts.push(c.fields.join(', '));
    if (c.servers.added.length) parts.push(`servers added: ${c.servers.added.map((s) => s.name).join(', ')}`);
    if (c.servers.removed.length) parts.push(`servers removed: ${c.servers.removed.map((s) => s.name).join(', ')}`);
    for (const s of c.servers.changed) parts.push(`${s.after.name}: ${[...s.fields, s.checkChanged ? 'check' : ''].filter(Boolean).join(', ')}`);
    lines.push(`virtual ${c.after.name} changed: ${parts.join('; ')}`);
  }
  return { empty: d.empty, haChanged: d.global.haChanged, timeoutsChanged: d.global.timeoutsChanged, lines };
}

export function configSubsystem(): ConfigSubsystem {
  return {
    load: (file) => loadConfig(file),
    diff: (a, b) => summarize(diffConfigs(a, b)),
  };
}

/** `directord --check-config [FILE] [--json]`: the config subsystem renders; we print and return its exit status. */
export function runCheckConfigCommand(file: string, json: boolean, opts: { quiet?: boolean; strict?: boolean } = {}): number {
  const r = runCheckConfig({ file, json, ...opts });
  process.stdout.write(r.stdout);
  process.stderr.write(r.stderr);
  return r.exitCode;
}
