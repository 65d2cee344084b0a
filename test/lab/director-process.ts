// The compiled directord daemon running in a lab host, with its JSON log collected and directorctl at hand.
// /usr/local/bin is overlaid privately (ip netns exec gives each command its own mount namespace), never written.
import type { ChildProcess } from 'node:child_process';
import { Lab, waitFor, type ExecResult } from './lab';
import { paths } from './build-lab';
import { execIn } from './ns-exec';
import { onJsonLines } from './json-lines';
import type { StatusSnapshot } from '../../src/control/types';

export interface LogRecord {
  level?: number;
  time?: number;
  msg?: string;
  [k: string]: unknown;
}

export interface DirectorProcessOptions {
  config: string;
  socket: string;
  /** A directory laid over /usr/local/bin inside this process only (holds check_tcp_port.sh). */
  overlayBin?: string;
  logLevel?: string;
  /** More daemon arguments (e.g. ['--dataplane', 'afxdp']). */
  args?: string[];
}

export class DirectorProcess {
  readonly records: LogRecord[] = [];
  /** Raw stdout/stderr lines that were not JSON (kept for error messages). */
  readonly otherLines: string[] = [];
  private child: ChildProcess | undefined;
  startedAt = 0;

  constructor(
    readonly lab: Lab,
    readonly host: string,
    readonly opts: DirectorProcessOptions,
  ) {}

  get pid(): number | undefined {
    return this.running ? this.child!.pid : undefined;
  }

  get running(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  private argv(): string[] {
    const daemon = ['node', paths.directord, '--config', this.opts.config, '--socket', this.opts.socket];
    if (this.opts.logLevel) daemon.push('--log-level', this.opts.logLevel);
    if (this.opts.args) daemon.push(...this.opts.args);
    if (!this.opts.overlayBin) return daemon;
    const mount = `mount -t overlay overlay -o lowerdir=${this.opts.overlayBin}:/usr/local/bin /usr/local/bin && exec "$@"`;
    return ['sh', '-c', mount, 'sh', ...daemon];
  }

  /** Start and wait until the control socket answers `status`. */
  async start(timeoutMs = 20000): Promise<void> {
    if (this.running) return;
    this.startedAt = Date.now();
    // DIRECTORD_LAB_OWN_SESSION=1: the daemon in a session of its own, so (with kernel.sched_autogroup_enabled) it gets
    // a CPU share of its own as a systemd service does, instead of sharing the test's with the load it generates.
    const own = process.env.DIRECTORD_LAB_OWN_SESSION === '1';
    const child = this.lab.spawn(this.host, this.argv(), { stdio: ['ignore', 'pipe', 'pipe'], ...(own ? { detached: true } : {}) });
    this.child = child;
    onJsonLines<LogRecord>(child.stdout!, (r) => this.records.push(r), (l) => this.otherLines.push(l));
    child.stderr!.on('data', (d) => this.otherLines.push(...String(d).split('\n').filter(Boolean)));
    const outcome = await waitFor(`directord on ${this.host} to answer on its control socket`, async () => {
      if (!this.running) return 'exited';
      return (await this.ctl(['status'])).code === 0 ? 'up' : undefined;
    }, timeoutMs, 200).catch((e: Error) => {
      throw new Error(`${e.message}\n${this.tail()}`);
    });
    if (outcome === 'exited') {
      await new Promise((r) => setTimeout(r, 100)); // let the last output arrive
      throw new Error(`directord on ${this.host} exited (${this.child?.exitCode ?? this.child?.signalCode}): ${this.tail()}`);
    }
  }

  /** The last lines of output, for failure messages. */
  tail(n = 15): string {
    const recs = this.records.slice(-n).map((r) => JSON.stringify(r));
    return [...recs, ...this.otherLines.slice(-n)].join('\n');
  }

  /** Run directorctl against this daemon, inside its namespace. */
  ctl(args: string[], timeoutMs = 10000): Promise<ExecResult> {
    return execIn(this.lab, this.host, ['node', paths.directorctl, '--socket', this.opts.socket, ...args], timeoutMs);
  }

  /** `directorctl --json status`, parsed; throws with the CLI's stderr when the daemon does not answer. */
  async status(): Promise<StatusSnapshot> {
    const r = await this.ctl(['--json', 'status']);
    if (r.code !== 0) throw new Error(`directorctl status on ${this.host}: exit ${r.code}: ${r.stderr.trim() || r.stdout.trim()}`);
    const answer = JSON.parse(r.stdout) as { ok: boolean; result?: StatusSnapshot; error?: unknown };
    if (!answer.ok || !answer.result) throw new Error(`directorctl status on ${this.host}: ${r.stdout.trim()}`);
    return answer.result;
  }

  /** Wait until this director forwards for the VIP (HA active), or until it stops forwarding. */
  waitForwarding(forwarding: boolean, timeoutMs = 30000): Promise<StatusSnapshot> {
    return waitFor(`${this.host} forwarding ${forwarding ? 'on' : 'off'}`, async () => {
      const s = await this.status();
      return s.ha.forwarding === forwarding ? s : undefined;
    }, timeoutMs, 200);
  }

  /** Log records whose message matches (e.g. the nanny lines "[ active ] making … available"). */
  messages(re: RegExp, since = 0): string[] {
    return this.records.slice(since).map((r) => String(r.msg ?? '')).filter((m) => re.test(m));
  }

  /** Wait for a log record matching the predicate (records already seen count). */
  waitLog(what: string, pred: (r: LogRecord) => boolean, timeoutMs = 30000, since = 0): Promise<LogRecord> {
    return waitFor(`log on ${this.host}: ${what}`, () => this.records.slice(since).find(pred), timeoutMs, 50);
  }

  /** Send a signal by PID; for SIGTERM/SIGKILL wait for the exit. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 10000): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    process.kill(child.pid!, 'SIGCONT');
    process.kill(child.pid!, signal);
    const t = setTimeout(() => this.running && process.kill(child.pid!, 'SIGKILL'), timeoutMs);
    await exited;
    clearTimeout(t);
  }

  signal(signal: NodeJS.Signals): void {
    if (this.pid) process.kill(this.pid, signal);
  }
}
