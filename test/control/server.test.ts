// The control server over a real UNIX socket: dispatch, read-only socket, refusing a second daemon, stale sockets,
// and a fuzz run (malformed JSON, oversized, binary garbage, unknown commands, wrong types) after which it still answers.
import { inPrivateNetns } from '../lab/private-netns';
inPrivateNetns(); // before tap loads: this file runs in a network namespace of its own
import t from 'tap';
import { connect } from 'node:net';
import { mkdtempSync, writeFileSync, existsSync, statSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ControlServer, request } from '../../src/control';
import { Director } from '../../src/director';
import { createRootLogger, silentLogger } from '../../src/log';
import { FakeDataPlane } from '../../src/dataplane/fake';
import { config, server, virtual } from '../director/config-fixture';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

async function setup(t: { teardown(fn: () => unknown): void }, readOnly = true) {
  const dir = mkdtempSync(join(tmpdir(), 'ddctl-'));
  const dp = new FakeDataPlane();
  const cfg = config([virtual('mysql', '10.64.0.100', [server('sql1', '10.64.0.4'), server('sql2', '10.64.0.5')])]);
  const director = new Director({
    configFile: 'mem', logger: silentLogger, dataplane: dp, config: { load: () => cfg },
    drainTimeoutMs: 1000, drainPollMs: 50, rateSampleMs: 1000, bannerTableSize: 4096,
  });
  await director.start();
  const socketPath = join(dir, 'directord.sock');
  const srv = new ControlServer({
    socketPath, readOnlySocketPath: readOnly ? join(dir, 'directord.ro.sock') : null, mode: 0o660, readOnlyMode: 0o666, target: director,
    logger: silentLogger, maxLineBytes: 4096, requestTimeoutMs: 2000, idleTimeoutMs: 5000, maxConnections: 16, maxPendingPerConnection: 8,
  });
  await srv.start();
  t.teardown(async () => {
    await srv.stop();
    await director.stop();
  });
  return { dir, dp, director, srv, socketPath, roPath: join(dir, 'directord.ro.sock') };
}

/** Send raw bytes, collect reply lines until the server closes or `want` lines arrived. */
function raw(path: string, data: Buffer | string, want: number): Promise<{ lines: any[]; closed: boolean }> {
  return new Promise((resolve) => {
    const s = connect({ path });
    let buf = '';
    let closed = false;
    const done = () => {
      s.destroy();
      resolve({ lines: buf.split('\n').filter(Boolean).map((l) => JSON.parse(l)), closed });
    };
    const timer = setTimeout(done, 3000);
    s.on('data', (d) => {
      buf += d;
      if (buf.split('\n').filter(Boolean).length >= want) {
        clearTimeout(timer);
        done();
      }
    });
    s.on('close', () => {
      closed = true;
      clearTimeout(timer);
      done();
    });
    s.on('error', () => undefined);
    s.write(data);
  });
}

t.test('commands through the socket; socket mode 0660', async (t) => {
  const { socketPath, dp } = await setup(t);
  t.equal(statSync(socketPath).mode & 0o777, 0o660);
  t.same(await request(socketPath, 'ping'), { pong: true });
  const st: any = await request(socketPath, 'status');
  t.same(st.services[0].dests.map((d: any) => d.address), ['10.64.0.5', '10.64.0.4']);
  const before = Date.now();
  const drained: any = await request(socketPath, 'drain', { server: 'sql1' });
  t.match(drained, { servers: ['mysql/sql1'], override: { kind: 'drain', weight: 0 } });
  t.ok(Date.parse(drained.override.since) >= before && Date.parse(drained.override.since) <= Date.now(), `since is the time of the drain (${drained.override.since})`);
  t.same(dp.services[0].dests.map((d) => d.weight), [1, 0]);
  await request(socketPath, 'weight', { server: '10.64.0.4', weight: 9 });
  t.same(dp.services[0].dests.map((d) => d.weight), [1, 9]);
  await request(socketPath, 'enable', { server: 'mysql/sql1' });
  t.same(dp.services[0].dests.map((d) => d.weight), [1, 1]);
  await t.rejects(request(socketPath, 'drain', { server: 'sql9' }), { code: 'E_CTL_UNKNOWN_SERVER', message: /known: mysql\/sql1 \(10\.64\.0\.4:3306\), mysql\/sql2/ });
  await t.rejects(request(socketPath, 'takeover'), { code: 'E_CTL_UNAVAILABLE' });
});

t.test('read-only socket (when enabled) answers status but refuses mutating commands with E_CTL_PERMISSION', async (t) => {
  const { roPath } = await setup(t);
  t.equal(statSync(roPath).mode & 0o777, 0o666);
  t.ok(await request(roPath, 'status'));
  await t.rejects(request(roPath, 'drain', { server: 'sql1' }), { code: 'E_CTL_PERMISSION' });
  await t.rejects(request(roPath, 'reload'), { code: 'E_CTL_PERMISSION' });
});

t.test('a second server on a live socket is refused and the live socket survives; a stale one is replaced', async (t) => {
  const { socketPath, director } = await setup(t, false);
  const second = new ControlServer({
    socketPath, readOnlySocketPath: null, mode: 0o660, readOnlyMode: 0o666, target: director, logger: silentLogger,
    maxLineBytes: 4096, requestTimeoutMs: 1000, idleTimeoutMs: 1000, maxConnections: 4, maxPendingPerConnection: 4,
  });
  await t.rejects(second.start(), { code: 'E_CTL_ALREADY_RUNNING' });
  t.same(await request(socketPath, 'ping'), { pong: true }, 'first daemon still answers');

  // A stale socket: a listener that died without unlinking (simulated with a bound-then-closed fd is not possible
  // in Node, so use a path whose listener was closed by a process that kept the file).
  const dir = mkdtempSync(join(tmpdir(), 'ddstale-'));
  const stale = join(dir, 's.sock');
  // A crashed daemon: a child listens, is SIGKILLed, and leaves its socket file behind.
  const child = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(stale)}, () => console.log('up'))`], { stdio: ['ignore', 'pipe', 'ignore'] });
  await new Promise((r) => child.stdout!.once('data', r));
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  t.ok(existsSync(stale));
  await t.rejects(request(stale, 'ping'), { code: 'E_CTL_NOT_RUNNING' });
  const third = new ControlServer({
    socketPath: stale, readOnlySocketPath: null, mode: 0o600, readOnlyMode: 0o666, target: director, logger: silentLogger,
    maxLineBytes: 4096, requestTimeoutMs: 1000, idleTimeoutMs: 1000, maxConnections: 4, maxPendingPerConnection: 4,
  });
  await third.start();
  t.same(await request(stale, 'ping'), { pong: true }, 'stale socket replaced');
  await third.stop();

  const notSock = join(dir, 'file');
  writeFileSync(notSock, 'x');
  const fourth = new ControlServer({
    socketPath: notSock, readOnlySocketPath: null, mode: 0o600, readOnlyMode: 0o666, target: director, logger: silentLogger,
    maxLineBytes: 4096, requestTimeoutMs: 1000, idleTimeoutMs: 1000, maxConnections: 4, maxPendingPerConnection: 4,
  });
  await t.rejects(fourth.start(), { code: 'E_CTL_SOCKET_PATH' });
  t.ok(existsSync(notSock), 'a regular file is never removed');
});

t.test('client errors: daemon not running', async (t) => {
  await t.rejects(request('/nonexistent/directord.sock', 'status'), { code: 'E_CTL_NOT_RUNNING', message: /not running/ });
});

t.test('fuzz: every bad request gets a coded error and the daemon keeps answering', async (t) => {
  const { socketPath } = await setup(t);
  const fixed: [string | Buffer, string][] = [
    ['{\n', 'E_CTL_BAD_REQUEST'],
    ['[1,2]\n', 'E_CTL_BAD_REQUEST'],
    ['{"id":1,"cmd":"rm -rf"}\n', 'E_CTL_UNKNOWN_COMMAND'],
    ['{"id":1,"cmd":"weight","args":{"server":"sql1","weight":"heavy"}}\n', 'E_CTL_BAD_ARGS'],
    ['{"id":1,"cmd":"weight","args":{"server":["sql1"],"weight":1}}\n', 'E_CTL_BAD_ARGS'],
    ['{"id":1,"cmd":"status","args":{"__proto__":{"x":1}}}\n', 'E_CTL_BAD_ARGS'], // JSON.parse makes __proto__ an own key
    ['{"id":1,"cmd":"where","args":{"client":"999.1.1.1"}}\n', 'E_CTL_BAD_ARGS'],
    ['{"id":1,"cmd":"drain","args":{"server":"nobody"}}\n', 'E_CTL_UNKNOWN_SERVER'],
    [Buffer.from([0xff, 0xfe, 0x00, 0x0a]), 'E_CTL_BAD_REQUEST'],
  ];
  for (const [data, code] of fixed) {
    const { lines } = await raw(socketPath, data, 1);
    t.equal(lines.length, 1, `one reply for ${JSON.stringify(String(data)).slice(0, 40)}`);
    t.equal(lines[0].error?.code, code, String(data).slice(0, 40));
  }
  const big = await raw(socketPath, 'x'.repeat(10_000), 99);
  t.equal(big.lines[0]?.error?.code, 'E_CTL_TOO_LARGE');
  t.ok(big.closed, 'connection closed after an oversized line');

  const r = rng(42);
  const templates = [
    () => Buffer.from(Array.from({ length: Math.floor(r() * 300) }, () => Math.floor(r() * 256))),
    () => JSON.stringify({ id: r() < 0.5 ? 1 : 'z', cmd: ['status', 'drain', 'weight', 'where', 'x', '', 5][Math.floor(r() * 7)], args: [{}, { server: r() }, { weight: 'a' }, null, [], 'q'][Math.floor(r() * 6)] }),
    () => '{"id":1,"cmd":"status"'.slice(0, Math.floor(r() * 22)),
  ];
  let answered = 0;
  for (let i = 0; i < 150; i++) {
    const payload = templates[Math.floor(r() * templates.length)]();
    const { lines } = await raw(socketPath, Buffer.concat([Buffer.from(payload), Buffer.from('\n')]), 1);
    for (const l of lines) {
      t.type(l.ok, 'boolean');
      if (!l.ok) t.match(l.error.code, /^E_CTL_[A-Z_]+$/);
      answered++;
    }
  }
  t.ok(answered >= 100, `${answered} fuzz replies`);
  t.same(await request(socketPath, 'ping'), { pong: true }, 'still answering after the fuzz run');
  // Many requests pipelined on one connection: answered in order, excess refused as E_CTL_BUSY or answered.
  const burst = await raw(socketPath, Array.from({ length: 5 }, (_, i) => JSON.stringify({ id: i, cmd: 'ping' }) + '\n').join(''), 5);
  t.same(burst.lines.map((l) => l.id), [0, 1, 2, 3, 4]);
});

/** Pipeline `status` on a connection that never reads, for `ms`; the server's unsent bytes for it at the end. */
async function pipelineWithoutReading(path: string, srv: ControlServer, ms: number): Promise<{ unsent: number; destroyed: boolean }> {
  const s = connect({ path });
  s.on('error', () => undefined);
  s.pause(); // never read a reply
  await new Promise((r) => s.once('connect', r));
  const line = JSON.stringify({ id: 1, cmd: 'status' }) + '\n';
  const chunk = line.repeat(8); // within the 16-in-flight limit per write
  const stopAt = Date.now() + ms;
  while (Date.now() < stopAt) {
    if (!s.write(chunk)) await Promise.race([new Promise((r) => s.once('drain', r)), new Promise((r) => setTimeout(r, 20))]);
    await new Promise((r) => setImmediate(r));
  }
  const server = [...(srv as unknown as { sockets: Set<import('node:net').Socket> }).sockets];
  const unsent = server.reduce((n, x) => n + x.writableLength, 0);
  const destroyed = server.length === 0;
  s.destroy();
  return { unsent, destroyed };
}

t.test('a client that pipelines requests and never reads: output stays bounded (reading stops past the soft limit)', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ddctl-'));
  const cfg = config([virtual('mysql', '10.64.0.100', [server('sql1', '10.64.0.4'), server('sql2', '10.64.0.5')])]);
  const director = new Director({ configFile: 'mem', logger: silentLogger, dataplane: new FakeDataPlane(), config: { load: () => cfg }, drainTimeoutMs: 1000, drainPollMs: 50, rateSampleMs: 1000, bannerTableSize: 4096 });
  await director.start();
  const socketPath = join(dir, 'directord.sock');
  const soft = 64 * 1024;
  const srv = new ControlServer({
    socketPath, readOnlySocketPath: null, mode: 0o660, readOnlyMode: 0o666, target: director, logger: silentLogger, maxLineBytes: 4096,
    requestTimeoutMs: 2000, idleTimeoutMs: 30_000, maxConnections: 16, maxPendingPerConnection: 16, outputSoftLimitBytes: soft,
  });
  await srv.start();
  t.teardown(async () => {
    await srv.stop();
    await director.stop();
  });
  const replySize = Buffer.byteLength(JSON.stringify({ id: 1, ok: true, result: director.status({ connections: false, connectionLimit: 0 }) })) + 1;
  const { unsent } = await pipelineWithoutReading(socketPath, srv, 1500);
  // Bound: the soft limit, plus the reply that crossed it, plus the busy refusals of the chunks read meanwhile.
  t.ok(unsent <= soft + replySize + 256 * 1024, `unsent ${unsent} bytes (soft limit ${soft}, one reply ${replySize})`);
  t.equal(srv.droppedClients, 0, 'under the hard limit nobody is dropped');
  t.same(await request(socketPath, 'ping'), { pong: true }, 'other clients are still answered');
});

t.test('past the hard limit the client is dropped, counted and logged', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ddctl-'));
  const cfg = config([virtual('mysql', '10.64.0.100', [server('sql1', '10.64.0.4')])]);
  const director = new Director({ configFile: 'mem', logger: silentLogger, dataplane: new FakeDataPlane(), config: { load: () => cfg }, drainTimeoutMs: 1000, drainPollMs: 50, rateSampleMs: 1000, bannerTableSize: 4096 });
  await director.start();
  const records: { msg: string; level: string }[] = [];
  const logger = createRootLogger({ level: 'info', destination: { write: (l: string) => void records.push(JSON.parse(l)) } });
  const socketPath = join(dir, 'directord.sock');
  const srv = new ControlServer({
    socketPath, readOnlySocketPath: null, mode: 0o660, readOnlyMode: 0o666, target: director, logger, maxLineBytes: 4096,
    requestTimeoutMs: 2000, idleTimeoutMs: 30_000, maxConnections: 16, maxPendingPerConnection: 16, outputSoftLimitBytes: 1024, outputHardLimitBytes: 300 * 1024,
  });
  await srv.start();
  t.teardown(async () => {
    await srv.stop();
    await director.stop();
  });
  // A reply bigger than the kernel's socket buffers, so it stays unsent: status of 1000 connection entries.
  const s = connect({ path: socketPath });
  s.on('error', () => undefined);
  s.pause();
  await new Promise((r) => s.once('connect', r));
  const big = JSON.stringify({ id: 1, cmd: 'status', args: { connections: true, limit: 100000 } }) + '\n';
  const mem = director as unknown as { opts: { dataplane: FakeDataPlane } };
  mem.opts.dataplane.connections = () => Array.from({ length: 3000 }, (_, i) => ({ caddr: `10.1.${i >> 8}.${i & 255}`, cport: 40000 + i, vaddr: '10.64.0.100', vport: 3306, daddr: '10.64.0.4', dport: 3306, state: 'ESTABLISHED', template: false, expiresMs: 900000, protocol: 'tcp' })) as never;
  for (let i = 0; i < 8; i++) s.write(big);
  await new Promise((r) => setTimeout(r, 1500));
  t.equal(srv.droppedClients, 1, 'dropped once');
  t.match(records.find((r) => /control client dropped/.test(r.msg)), { level: 'warn' });
  s.destroy();
  t.same(await request(socketPath, 'ping'), { pong: true }, 'the daemon keeps answering');
});
