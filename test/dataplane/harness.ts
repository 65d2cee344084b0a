// Runs inside the lab's director namespace: drives a real DataPlane from JSON lines on stdin (one reply line each),
// standing in for the daemon so data-plane tests do not depend on it.
import { execFileSync } from 'node:child_process';
import readline from 'node:readline';
import { createRootLogger, subsystemLogger } from '../../src/log';
import { AfPacketDataPlane, AfXdpDataPlane, createDataPlane, type BackendName } from '../../src/dataplane';
import { loadNative } from '../../src/dataplane/native';

interface Command {
  id: number;
  op: 'setServices' | 'setTimeouts' | 'setForwarding' | 'stats' | 'connections' | 'drainSync' | 'applySync' | 'xdpInfo' | 'stop';
  arg?: unknown;
}

/** True unless this process runs inside a named network namespace (a lab's, entered with `ip netns exec`). */
function inRootNetns(): boolean {
  try {
    return execFileSync('ip', ['netns', 'identify', String(process.pid)], { encoding: 'utf8' }).trim() === '';
  } catch {
    return true;
  }
}

async function main(): Promise<void> {
  // Only ever inside a lab namespace, and only when asked: a test runner that picks this file up must do nothing.
  if (process.argv[2] !== '--harness') return;
  if (inRootNetns()) {
    process.stderr.write('harness: refusing to run in the root network namespace\n');
    process.exit(2);
  }
  const [backend = 'afpacket', iface = 'eth0', vnet = '1', tableSize = String(1 << 16), rxRing = '', bpfObject = '', xdpAttach = '', busyPollUs = '0', vlan = '0', packetThreads = '0'] = process.argv.slice(3);
  const logger = subsystemLogger(createRootLogger({ level: 'info', destination: process.stderr as unknown as NodeJS.WritableStream & { write: (s: string) => boolean } }), 'dataplane');
  const opts = { backend: backend as BackendName, interface: iface, connTableSize: Number(tableSize), logger, vnetHdr: vnet === '1', ...(rxRing ? { rxRing: rxRing as 'v2' | 'v3' } : {}), ...(bpfObject ? { bpfObject } : {}), ...(xdpAttach ? { xdpAttach: xdpAttach as 'native' | 'skb' } : {}), busyPollUs: Number(busyPollUs), vlan: Number(vlan), ...(Number(packetThreads) ? { packetThreads: Number(packetThreads) } : {}) };
  // DD_HARNESS_ADDON: AF_PACKET on another build of the native addon (bench/dataplane.ts's "+alt" path: a
  // before/after pair in the same paired rounds).
  const alt = process.env.DD_HARNESS_ADDON;
  const dp = alt && backend === 'afpacket' ? new AfPacketDataPlane({ ...opts, binding: loadNative(alt) }) : createDataPlane(opts);
  await dp.start();
  process.stdout.write(JSON.stringify({ id: 0, ok: true, result: 'started', backend: dp.backend }) + '\n');
  const rl = readline.createInterface({ input: process.stdin });
  for await (const line of rl) {
    if (!line.trim()) continue;
    const cmd = JSON.parse(line) as Command;
    let result: unknown = null;
    try {
      switch (cmd.op) {
        case 'setServices': dp.setServices(cmd.arg as never); break;
        case 'setTimeouts': dp.setTimeouts(cmd.arg as never); break;
        case 'setForwarding': dp.setForwarding(Boolean(cmd.arg)); break;
        case 'stats': result = dp.stats(); break;
        case 'connections': result = dp.connections(); break;
        case 'drainSync': result = dp.drainSyncUpdates(); break;
        case 'applySync': dp.applySyncUpdates(cmd.arg as never); break;
        case 'xdpInfo': result = dp instanceof AfXdpDataPlane ? dp.xdpInfo() ?? null : null; break;
        case 'stop': await dp.stop(); break;
      }
      process.stdout.write(JSON.stringify({ id: cmd.id, ok: true, result }) + '\n');
    } catch (e) {
      process.stdout.write(JSON.stringify({ id: cmd.id, ok: false, error: String(e) }) + '\n');
    }
    if (cmd.op === 'stop') break;
  }
  process.exit(0);
}

main().catch((e) => {
  process.stderr.write(`harness failed: ${String((e as Error).stack ?? e)}\n`);
  process.exit(1);
});
