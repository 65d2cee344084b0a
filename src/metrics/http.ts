// The optional /metrics HTTP listener (off unless --metrics ADDR:PORT is given).
import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';
import { DirectordError } from '../errors';

export function parseListenAddress(s: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:]+)\]|([^:]+)):(\d{1,5})$/.exec(s);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port < 0 || port > 65535) {
    throw new DirectordError('E_METRICS_ADDRESS', `--metrics '${s}' is not ADDR:PORT (e.g. 127.0.0.1:9539)`);
  }
  return { host: m[1] ?? m[2], port };
}

export async function startMetricsServer(registry: Registry, listen: string): Promise<{ server: Server; port: number; close(): Promise<void> }> {
  const { host, port } = parseListenAddress(listen);
  const server = createServer((req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD' }).end();
      return;
    }
    if (req.url === '/metrics' || req.url?.startsWith('/metrics?')) {
      registry.metrics().then(
        (body) => res.writeHead(200, { 'Content-Type': registry.contentType }).end(req.method === 'HEAD' ? undefined : body),
        (e: Error) => res.writeHead(500, { 'Content-Type': 'text/plain' }).end(`collecting metrics failed: ${e.message}\n`),
      );
      return;
    }
    res.writeHead(404, { 'Content-Type': 'text/plain' }).end('directord: see /metrics\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e) => reject(new DirectordError('E_METRICS_LISTEN', `cannot listen on ${listen} for /metrics: ${e.message}`, { cause: e })));
    server.listen(port, host, () => resolve());
  });
  const addr = server.address();
  return {
    server,
    port: typeof addr === 'object' && addr ? addr.port : port,
    // close() alone waits for every open connection, even one that never sent a request: cut them all.
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}
