// Children the daemon runs for the operator (send_program checks, active_cmd/inactive_cmd) must not inherit its
// capabilities. Under systemd the daemon holds CAP_NET_ADMIN/CAP_NET_RAW as *ambient* capabilities, which pass to
// every exec'd program; Node cannot call prctl(), so such children are started through setpriv(1) with the ambient
// and inheritable sets cleared (the exec then leaves them no capability at all, as for any unprivileged user).
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { Logger } from '../log';

/** A capability set from /proc/PID/status (CapAmb, CapEff…) as a bigint; 0n when it cannot be read. */
export function capabilitySet(name: 'CapAmb' | 'CapEff' | 'CapPrm' | 'CapInh', status?: string): bigint {
  let text = status;
  try {
    text ??= readFileSync('/proc/self/status', 'utf8');
  } catch {
    return 0n;
  }
  const m = new RegExp(`^${name}:\\s*([0-9a-f]+)$`, 'm').exec(text);
  return m ? BigInt(`0x${m[1]}`) : 0n;
}

function findInPath(bin: string, path = process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin'): string | undefined {
  for (const d of [...path.split(delimiter), '/usr/bin', '/bin']) {
    const f = join(d, bin);
    try {
      accessSync(f, constants.X_OK);
      return f;
    } catch {
      /* next */
    }
  }
  return undefined;
}

export interface DropPlan {
  /** The argv prefix (setpriv and its options), empty when there is nothing to drop. */
  prefix: string[];
  /** Why children keep capabilities anyway (setpriv missing), for one warning. */
  warning?: string;
}

/** Decided once per process: the daemon's capabilities do not change after start. */
export function dropPlan(ambient = capabilitySet('CapAmb'), setpriv: string | null = findInPath('setpriv') ?? null): DropPlan {
  if (ambient === 0n) return { prefix: [] };
  if (!setpriv) return { prefix: [], warning: 'setpriv(1) not found: check programs and active_cmd/inactive_cmd inherit CAP_NET_ADMIN/CAP_NET_RAW (install util-linux)' };
  return { prefix: [setpriv, '--inh-caps=-all', '--ambient-caps=-all', '--'] };
}

let plan: DropPlan | undefined;
let warned = false;

/** Why children would keep capabilities here (setpriv missing while the daemon holds ambient ones), for the start log. */
export function childCapabilityWarning(): string | undefined {
  plan ??= dropPlan();
  return plan.warning;
}

/** spawn(argv[0], argv[1..]) without the daemon's ambient capabilities. */
export function spawnUnprivileged(argv: string[], options: SpawnOptions, log?: Logger): ChildProcess {
  plan ??= dropPlan();
  if (plan.warning && !warned && log) {
    warned = true;
    log.warn(plan.warning);
  }
  const full = [...plan.prefix, ...argv];
  return spawn(full[0], full.slice(1), options);
}
