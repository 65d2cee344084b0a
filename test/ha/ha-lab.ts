// Shared lab fixture for HA end-to-end tests and bench/takeover.ts: client, lb1, lb2 (+ attacker) on one bridge,
// HaNode runner processes on lb1/lb2, status files, ARP/ping helpers.
import { mkdtempSync, readFileSync, writeFileSync, rmSync, readdirSync, statSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { Lab, waitFor } from '../lab/lab';
import { ensureBuilt, paths } from '../lab/build';
import type { GlobalConfig, VirtualServiceConfig } from '../../src/config/schema';
import type { HaStatus } from '../../src/ha';
import { HA_LAB, haConfig } from './lab-config';

export type RunnerStatus = HaStatus & { pid: number; forwarding: boolean; connections: number };

export const runnerJs = join(paths.root, 'dist', 'test', 'ha', 'ha-runner.js');
export const captureJs = join(paths.root, 'dist', 'test', 'ha', 'capture.js');

/** ensureBuilt() only looks at src/: also rebuild when a test/ha helper is newer than its compiled runner. */
function ensureHaBuilt(): void {
  ensureBuilt();
  const dir = join(paths.root, 'test', 'ha');
  const newest = Math.max(...readdirSync(dir).map((f) => statSync(join(dir, f)).mtimeMs), ...readdirSync(join(paths.root, 'src', 'ha')).map((f) => statSync(join(paths.root, 'src', 'ha', f)).mtimeMs));
  let built = 0;
  try {
    built = Math.min(statSync(runnerJs).mtimeMs, statSync(captureJs).mtimeMs);
  } catch {
    built = 0;
  }
  if (newest <= built) return;
  try {
    execFileSync(join(paths.root, 'node_modules', '.bin', 'tsc'), ['-p', paths.root], { stdio: 'ignore' });
  } catch {
    /* type errors elsewhere still emit; a missing runner fails loudly when spawned */
  }
}

export class HaLab {
  readonly dir = mkdtempSync(join(tmpdir(), 'ddha-'));
  readonly procs = new Map<string, ChildProcess>();
  readonly logs = new Map<string, string[]>();
  readonly keyFile = join(this.dir, 'hb.key');

  private constructor(readonly lab: Lab) {
    writeFileSync(this.keyFile, 'lab-heartbeat-key-0123456789abcdef\n', { mode: 0o600 });
  }

  static async create(opts: { attacker?: boolean } = {}): Promise<HaLab> {
    ensureHaBuilt();
    const hosts = [
      { name: 'client', address: `${HA_LAB.client}/20` },
      { name: 'lb1', address: `${HA_LAB.lb1}/20`, mac: HA_LAB.lb1Mac },
      { name: 'lb2', address: `${HA_LAB.lb2}/20`, mac: HA_LAB.lb2Mac },
    ];
    // The attacker also holds lb1's address on lo (ARP-silent), so it can send heartbeats "from" lb1.
    if (opts.attacker) hosts.push({ name: 'attacker', address: `${HA_LAB.attacker}/20`, vipsOnLo: [HA_LAB.lb1] } as (typeof hosts)[0]);
    return new HaLab(await Lab.create(hosts, { tag: 'ha' }));
  }

  statusFile(name: string): string {
    return join(this.dir, `${name}.status.json`);
  }

  /** Write the runner's spec (config); `virtuals` replaces the default one-VIP list. */
  writeSpec(name: 'lb1' | 'lb2', over: Partial<GlobalConfig> = {}, extra: { syncConnections?: number; seedBurst?: number; seedBase?: number; virtuals?: VirtualServiceConfig[] } = {}): string {
    const { virtuals, ...rest } = extra;
    const keyed = 'heartbeatKeyFile' in over ? over : { heartbeatKeyFile: this.keyFile, ...over };
    const spec = { name, config: haConfig(keyed, virtuals), statusFile: this.statusFile(name), ...rest };
    const specFile = join(this.dir, `${name}.spec.json`);
    writeFileSync(specFile, JSON.stringify(spec));
    return specFile;
  }

  start(name: 'lb1' | 'lb2', over: Partial<GlobalConfig> = {}, extra: { syncConnections?: number; seedBurst?: number; seedBase?: number; virtuals?: VirtualServiceConfig[] } = {}): ChildProcess {
    const specFile = this.writeSpec(name, over, extra);
    rmSync(this.statusFile(name), { force: true });
    const child = this.lab.spawn(name, [process.execPath, runnerJs, specFile]);
    const lines: string[] = [];
    this.logs.set(name, lines);
    // A pipe chunk may end mid-line (a loaded machine splits them anywhere): keep the partial line for the next one.
    const collect = (stream: NodeJS.ReadableStream): void => {
      let partial = '';
      stream.on('data', (d) => {
        const parts = (partial + String(d)).split('\n');
        partial = parts.pop() ?? '';
        lines.push(...parts.filter(Boolean));
      });
      stream.on('end', () => partial && lines.push(partial));
    };
    collect(child.stdout!);
    collect(child.stderr!);
    this.procs.set(name, child);
    return child;
  }

  status(name: string): RunnerStatus | undefined {
    try {
      return JSON.parse(readFileSync(this.statusFile(name), 'utf8')) as RunnerStatus;
    } catch {
      return undefined;
    }
  }

  /** Log records of a runner, parsed. */
  records(name: string): Array<Record<string, unknown>> {
    return (this.logs.get(name) ?? []).flatMap((l) => {
      try {
        return [JSON.parse(l) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
  }

  async waitState(name: string, state: 'active' | 'standby' | 'fault', timeoutMs = 5000): Promise<RunnerStatus> {
    return waitFor(`${name} ${state}`, () => {
      const s = this.status(name);
      return s && s.state === state && (state !== 'active' || s.vipHeld.length > 0) ? s : undefined;
    }, timeoutMs, 20);
  }

  kill(name: string, signal: NodeJS.Signals): void {
    this.procs.get(name)?.kill(signal);
  }

  async waitExit(name: string): Promise<void> {
    const c = this.procs.get(name);
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    await new Promise<void>((r) => c.once('exit', () => r()));
  }

  /**
   * Run a command in a host's namespace with stdin closed. (Lab.exec writes to stdin, which can raise an
   * uncaught EPIPE when the command exits first.)
   */
  exec(host: string, argv: string[], timeoutMs = 10000): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      const c = spawn('ip', ['netns', 'exec', this.lab.ns(host), ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      c.stdout.on('data', (d) => (stdout += d));
      c.stderr.on('data', (d) => (stderr += d));
      const timer = setTimeout(() => c.kill('SIGKILL'), timeoutMs);
      c.on('error', (e) => resolve({ code: 127, stdout, stderr: String(e) }));
      c.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code: code ?? 128, stdout, stderr });
      });
    });
  }

  async sh(host: string, script: string): Promise<string> {
    const r = await this.exec(host, ['sh', '-c', script]);
    if (r.code !== 0) throw new Error(`[${host}] ${script}: exit ${r.code}: ${r.stderr.trim()}`);
    return r.stdout;
  }

  /** From the attacker namespace (which also holds lb1's address on lo), send UDP payloads with that source address. */
  async sendAs(source: string, payloads: Buffer[], to: { address: string; port: number } = { address: HA_LAB.lb2, port: 539 }): Promise<void> {
    const script = `const s=require('dgram').createSocket('udp4');s.bind({address:process.argv[1],port:0},async()=>{for(const h of process.argv.slice(2)){await new Promise(r=>s.send(Buffer.from(h,'hex'),${to.port},'${to.address}',r));}s.close();});`;
    const r = await this.exec('attacker', [process.execPath, '-e', script, source, ...payloads.map((p) => p.toString('hex'))]);
    if (r.code !== 0) throw new Error(`attacker send failed: ${r.stderr}`);
  }

  /** Capture one UDP payload matching the BPF filter on a host's eth0 (a real heartbeat, to replay later). */
  async captureUdp(host: string, filter: string, timeoutMs = 3000): Promise<Buffer> {
    const cap = await this.exec(host, [process.execPath, captureJs, 'eth0', filter, '1', String(timeoutMs)]);
    const frame = cap.stdout.split('\n').filter((l) => l.includes('hex')).map((l) => Buffer.from((JSON.parse(l) as { hex: string }).hex, 'hex'))[0];
    if (!frame) throw new Error(`nothing captured on ${host} for ${filter}`);
    const ihl = (frame[14] & 0x0f) * 4;
    return frame.subarray(14 + ihl + 8);
  }

  /** The client's ARP entry for the VIP (lladdr), or undefined. */
  async clientArp(): Promise<string | undefined> {
    const out = await this.exec('client', ['ip', 'neigh', 'show', HA_LAB.vip, 'dev', 'eth0']);
    return /lladdr ([0-9a-f:]{17})/.exec(out.stdout)?.[1];
  }

  async pingVip(timeoutS = 1): Promise<boolean> {
    const r = await this.exec('client', ['ping', '-c', '1', '-W', String(timeoutS), HA_LAB.vip]);
    return r.code === 0;
  }

  /** Which namespaces hold the VIP right now (ground truth, not what the runners say). */
  async vipHolders(): Promise<string[]> {
    const out: string[] = [];
    for (const n of ['lb1', 'lb2']) {
      const r = await this.exec(n, ['ip', '-o', '-4', 'addr', 'show', 'dev', 'eth0']);
      if (r.stdout.includes(`${HA_LAB.vip}/`)) out.push(n);
    }
    return out;
  }

  async destroy(): Promise<void> {
    await this.lab.destroy();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
