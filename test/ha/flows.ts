// Lab helper processes for the scale-out lab: `echo NAME PORT` (a real server answering every line with its name)
// and `client VIP PORT N [SRC…]` (N long-lived connections sending a line every 250 ms; on a "check" line on stdin it
// reports, as one JSON line, how many answered after the check began, how many did not, and how many changed server).
import { createServer, connect, type Socket } from 'node:net';
import { createInterface } from 'node:readline';

function echo(name: string, port: number): void {
  createServer((s) => {
    s.on('error', () => undefined);
    createInterface({ input: s }).on('line', (l) => s.write(`${name} ${l}\n`));
  }).listen(port, '0.0.0.0');
}

interface Flow { sock: Socket; server?: string; lastReply: number; closed: boolean; changed: boolean }

function client(vip: string, port: number, n: number, sources: string[]): void {
  const flows: Flow[] = [];
  for (let i = 0; i < n; i++) {
    const localAddress = sources.length ? sources[i % sources.length] : undefined;
    const f: Flow = { sock: connect({ host: vip, port, localAddress }), lastReply: 0, closed: false, changed: false };
    f.sock.setNoDelay(true);
    f.sock.on('error', () => void (f.closed = true));
    f.sock.on('close', () => void (f.closed = true));
    createInterface({ input: f.sock }).on('line', (l) => {
      const server = l.split(' ')[0];
      if (f.server && f.server !== server) f.changed = true;
      f.server ??= server;
      f.lastReply = Date.now();
    });
    flows.push(f);
  }
  // FLOWS_INTERVAL_MS: a line per connection this often (default 250 ms; the bench's throughput part sends faster).
  setInterval(() => { for (const f of flows) if (!f.closed) f.sock.write('ping\n'); }, Number(process.env.FLOWS_INTERVAL_MS ?? 250));
  const report = (since: number, wait: number): void => {
    const deadline = Date.now() + wait;
    const tick = (): void => {
      const alive = flows.filter((f) => !f.closed && f.lastReply > since).length;
      if (alive < n && Date.now() < deadline) return void setTimeout(tick, 100);
      const servers: Record<string, number> = {};
      for (const f of flows) if (f.server) servers[f.server] = (servers[f.server] ?? 0) + 1;
      // Which flows did not answer (client address:port), so the caller can say whether their state had been synced.
      const brokenFlows = flows.filter((f) => f.closed || f.lastReply <= since).map((f) => `${f.sock.localAddress}:${f.sock.localPort}`);
      process.stdout.write(JSON.stringify({ alive, broken: n - alive, closed: flows.filter((f) => f.closed).length, changed: flows.filter((f) => f.changed).length, servers, brokenFlows }) + '\n');
    };
    tick();
  };
  createInterface({ input: process.stdin }).on('line', (l) => {
    const [cmd, arg] = l.split(' ');
    if (cmd === 'check') report(Date.now(), Number(arg ?? 5000));
  });
}

const [mode, ...a] = process.argv.slice(2);
if (mode === 'echo') echo(a[0], Number(a[1]));
else if (mode === 'client') client(a[0], Number(a[1]), Number(a[2]), a.slice(3));
else {
  process.stderr.write('usage: flows.js echo NAME PORT | client VIP PORT N [SRC...]\n');
  process.exit(2);
}
