// Run a command in a lab host with stdin closed. Lab.exec feeds stdin, and a command that exits before reading it
// (a client that cannot connect, ip, nft) makes that write fail with an unhandled EPIPE; this never writes stdin.
import { spawn } from 'node:child_process';
import type { Lab, ExecResult } from './lab';

export function execIn(lab: Lab, host: string, argv: string[], timeoutMs = 15000): Promise<ExecResult> {
  return new Promise((resolve) => {
    const child = spawn('ip', ['netns', 'exec', lab.ns(host), ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve({ code: 127, stdout, stderr: stderr + String(e) });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr });
    });
  });
}
