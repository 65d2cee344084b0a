// Runs inside a lab namespace (the "director"): a HealthMonitor or raw probes, driven by JSON lines on stdin,
// reporting JSON lines on stdout. Tests talk to it through remote.ts; nothing here touches the root namespace.
import net from 'node:net';
import { createInterface } from 'node:readline';
import { HealthMonitor, defaultProbeFactory, type ProbeSpec } from '../../src/health';
import { createRootLogger } from '../../src/log';

const out = (o: Record<string, unknown>): void => {
  process.stdout.write(JSON.stringify(o) + '\n');
};
const logger = createRootLogger({ level: 'debug', base: { type: 'log' } });
const mon = new HealthMonitor({ logger: logger.child({ subsystem: 'health' }) });
mon.on('change', (c) => out({ type: 'change', ...c }));
mon.on('check', (c) => out({ type: 'check', ...c }));

/** Run one probe kind `count` times, `concurrency` at a time; summarise by reason. */
async function probeLoop(spec: ProbeSpec, count: number, concurrency: number): Promise<Record<string, unknown>> {
  const probes = Array.from({ length: concurrency }, () => defaultProbeFactory(spec));
  const reasons: Record<string, number> = {};
  let next = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(
    probes.map(async (p) => {
      while (next < count) {
        next++;
        const r = await p.run();
        reasons[r.reason] = (reasons[r.reason] ?? 0) + 1;
      }
    }),
  );
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  await Promise.all(probes.map((p) => p.close()));
  return { reasons, wallMs, cpuUs: cpu.user + cpu.system, connects: probes.map((p) => (p as { connectsTotal?: number }).connectsTotal ?? null) };
}

/**
 * Classic L4 probes of a MySQL port, for comparison: connect, wait for the greeting, optionally write `send`
 * (nanny with a send string), then reset (`rst`) or close.
 */
async function rawLoop(address: string, port: number, count: number, send: string | undefined, rst: boolean): Promise<Record<string, unknown>> {
  let connected = 0;
  for (let i = 0; i < count; i++) {
    await new Promise<void>((resolve) => {
      const s = net.connect({ host: address, port });
      const t = setTimeout(() => {
        s.destroy();
        resolve();
      }, 5000);
      s.on('error', () => {
        clearTimeout(t);
        resolve();
      });
      s.on('connect', () => {
        connected++;
        // Wait for the greeting so the server has registered the connection, then reset it.
        s.once('data', () => {
          if (send !== undefined) s.write(send);
          setTimeout(() => {
            clearTimeout(t);
            if (rst) s.resetAndDestroy();
            else s.end();
            resolve();
          }, send !== undefined ? 200 : 0);
        });
      });
    });
  }
  return { connected };
}

const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  void (async () => {
    const m = JSON.parse(line);
    try {
      switch (m.op) {
        case 'configure':
          mon.configure(m.config);
          break;
        case 'start':
          mon.start();
          break;
        case 'stop':
          await mon.stop();
          break;
        case 'status':
          out({ type: 'reply', id: m.id, status: mon.status() });
          return;
        case 'admin':
          mon.setAdmin(m.virtual, m.server, m.mode);
          break;
        case 'probe':
          out({ type: 'reply', id: m.id, ...(await probeLoop(m.spec, m.count ?? 1, m.concurrency ?? 1)) });
          return;
        case 'rawloop':
          out({ type: 'reply', id: m.id, ...(await rawLoop(m.address, m.port, m.count, m.send, m.rst ?? true)) });
          return;
        case 'exit':
          await mon.stop();
          out({ type: 'reply', id: m.id });
          process.exit(0);
      }
      out({ type: 'reply', id: m.id });
    } catch (e) {
      out({ type: 'reply', id: m.id, error: String((e as Error).stack ?? e) });
    }
  })();
});
rl.on('close', () => void mon.stop().then(() => process.exit(0)));
out({ type: 'ready', pid: process.pid });
