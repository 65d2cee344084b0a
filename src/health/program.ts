// send_program: nanny's external check, run without a shell in its own process group, stdin/stderr on
// /dev/null, stdout compared with expect. The whole group is SIGKILLed at the timeout and after exit,
// so hung scripts (and their children, e.g. a stuck nc) never pile up.
import { spawnUnprivileged } from '../util/child';
import type { Probe, ProbeResult } from './probe';
import type { ProbeSpec } from './spec';
import { judgeProgram, programArgv, PROGRAM_OUTPUT_LIMIT } from './match';

function killGroup(pid: number | undefined): void {
  if (!pid) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    /* group already gone */
  }
}

export function programProbe(spec: ProbeSpec): Probe {
  const running = new Set<number>();
  return {
    run: () => runProgram(spec, running),
    close: async () => {
      for (const pid of running) killGroup(pid);
      running.clear();
    },
  };
}

function runProgram(spec: ProbeSpec, running: Set<number>): Promise<ProbeResult> {
  const started = performance.now();
  const argv = programArgv(spec.program ?? '', spec.address, spec.port);
  return new Promise((resolve) => {
    if (argv.length === 0) {
      resolve({ ok: false, reason: 'program_failed', detail: 'empty send_program', durationMs: 0 });
      return;
    }
    let done = false;
    let timedOut = false;
    let exitCode: number | null = null;
    let signal: string | null = null;
    let stdoutClosed = false;
    let exited = false;
    const out: Buffer[] = [];
    let outLen = 0;
    const child = spawnUnprivileged(argv, { detached: true, stdio: ['ignore', 'pipe', 'ignore'] });
    const pid = child.pid;
    if (pid) running.add(pid);
    const finish = (spawnError?: string): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      // Anything the script left behind in its group (a backgrounded nc) goes too.
      killGroup(pid);
      if (pid) running.delete(pid);
      const v = judgeProgram(spec.expect, { exitCode, signal, timedOut, stdout: Buffer.concat(out), spawnError }, spec.programNeedsExpect);
      resolve(v.ok ? { ok: true, reason: 'ok', durationMs: performance.now() - started } : { ok: false, reason: v.reason, detail: v.detail, durationMs: performance.now() - started });
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(pid);
      finish();
    }, spec.timeoutMs);
    child.on('error', (e) => finish(e.message));
    child.stdout!.on('data', (d: Buffer) => {
      if (outLen < PROGRAM_OUTPUT_LIMIT) {
        out.push(d);
        outLen += d.length;
      }
    });
    // Judge once the program exited AND its stdout is closed (all output read), or at the timeout.
    child.stdout!.on('close', () => {
      stdoutClosed = true;
      if (exited) finish();
    });
    child.on('exit', (code, sig) => {
      exited = true;
      exitCode = code;
      signal = sig;
      // A backgrounded child holding stdout open must not stretch the check to the timeout.
      killGroup(pid);
      if (stdoutClosed) finish();
    });
  });
}
