// The test side of driver.ts: start it in a lab host, send commands, collect changes/log records, wait on them.
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { Lab, waitFor } from '../lab/lab';

/** Without tap's NODE_OPTIONS loaders, which do not apply to this plain ts-node child. */
export function cleanEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  return env;
}

export type Line = Record<string, any>;
const root = join(__dirname, '..', '..');

export class RemoteMonitor {
  readonly lines: Line[] = [];
  private seq = 0;
  private buf = '';
  stderr = '';

  private constructor(readonly child: ChildProcess) {
    child.stdout!.on('data', (d) => {
      this.buf += String(d);
      let i;
      while ((i = this.buf.indexOf('\n')) >= 0) {
        const l = this.buf.slice(0, i);
        this.buf = this.buf.slice(i + 1);
        try {
          this.lines.push(JSON.parse(l));
        } catch {
          this.lines.push({ type: 'garbage', text: l });
        }
      }
    });
    child.stderr!.on('data', (d) => (this.stderr = (this.stderr + String(d)).slice(-4000)));
  }

  static async start(lab: Lab, host: string): Promise<RemoteMonitor> {
    const child = lab.spawn(host, ['env', '-u', 'NODE_OPTIONS', process.execPath, '-r', '@isaacs/ts-node-temp-fork-for-pr-2009/register/transpile-only', join(__dirname, 'driver.ts')], { cwd: root, stdio: ['pipe', 'pipe', 'pipe'], env: cleanEnv() });
    const r = new RemoteMonitor(child);
    await waitFor('health driver ready', () => r.lines.find((l) => l.type === 'ready') ?? (child.exitCode !== null ? Promise.reject(new Error(r.stderr)) : undefined), 30000);
    return r;
  }

  async call(op: Line, timeoutMs = 30000): Promise<Line> {
    const id = ++this.seq;
    this.child.stdin!.write(JSON.stringify({ ...op, id }) + '\n');
    const reply = await waitFor(`reply to ${op.op}`, () => this.lines.find((l) => l.type === 'reply' && l.id === id), timeoutMs, 20);
    if (reply.error) throw new Error(reply.error);
    return reply;
  }

  changes(): Line[] {
    return this.lines.filter((l) => l.type === 'change');
  }

  logs(): Line[] {
    return this.lines.filter((l) => l.type === 'log');
  }

  /** Wait for a change event after index `from` matching pred. */
  waitChange(what: string, pred: (c: Line) => boolean, timeoutMs = 20000, from = 0): Promise<Line> {
    return waitFor(what, () => this.changes().slice(from).find(pred), timeoutMs, 20);
  }

  async status(): Promise<Line[]> {
    return (await this.call({ op: 'status' })).status;
  }

  async exit(): Promise<void> {
    if (this.child.exitCode !== null) return;
    await this.call({ op: 'exit' }).catch(() => undefined);
  }
}
