// nanny's socket probes: TCP connect [+ send] [+ read expect], and UDP send + expect reply.
// TCP closes with FIN and drains what the server still sends, so probes never leave RSTs behind.
import net from 'node:net';
import dgram from 'node:dgram';
import type { Probe, ProbeResult } from './probe';
import type { ProbeSpec } from './spec';
import { bytesWanted, matchExpect } from './match';
import type { CheckFailureReason, CheckReason } from './reasons';

function errReason(e: NodeJS.ErrnoException): CheckFailureReason {
  switch (e.code) {
    case 'ECONNREFUSED':
      return 'connect_refused';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'unreachable';
    case 'ECONNRESET':
      return 'connection_reset';
    default:
      return 'connect_failed';
  }
}

/** Half-close, keep reading until the peer closes (bounded), then release: a FIN, never an RST. */
function closeGracefully(sock: net.Socket, graceMs: number): void {
  sock.removeAllListeners('data');
  sock.on('data', () => undefined);
  sock.on('error', () => undefined);
  const timer = setTimeout(() => sock.destroy(), graceMs);
  timer.unref();
  sock.once('close', () => clearTimeout(timer));
  sock.end();
}

export function tcpProbe(spec: ProbeSpec): Probe {
  return {
    run: () => runTcp(spec),
    close: async () => undefined,
  };
}

function runTcp(spec: ProbeSpec): Promise<ProbeResult> {
  const started = performance.now();
  return new Promise((resolve) => {
    let done = false;
    let phase: 'connect' | 'read' = 'connect';
    const chunks: Buffer[] = [];
    let got = 0;
    const want = spec.expect !== undefined ? bytesWanted(spec.expect, spec.useRegex) : 0;
    const sock = net.connect({ host: spec.address, port: spec.port });
    const finish = (ok: boolean, reason: CheckReason, detail?: string, graceful = true): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (graceful) closeGracefully(sock, spec.timeoutMs);
      else sock.destroy();
      resolve({ ok, reason, detail, durationMs: performance.now() - started });
    };
    const judge = (): void => {
      const buf = Buffer.concat(chunks);
      const v = matchExpect(spec.expect!, spec.useRegex, buf);
      if (v.ok) finish(true, 'ok');
      else finish(false, v.reason, v.detail);
    };
    // One timer for each phase, as nanny polls connect and read with `timeout` each.
    let timer = setTimeout(() => finish(false, 'connect_timeout', `no answer in ${spec.timeoutMs} ms`, false), spec.timeoutMs);
    sock.on('error', (e) => finish(false, errReason(e), e.message, false));
    sock.on('connect', () => {
      if (spec.send !== undefined && spec.send.length > 0) sock.write(Buffer.from(spec.send, 'latin1'));
      if (spec.expect === undefined) return finish(true, 'ok');
      phase = 'read';
      clearTimeout(timer);
      timer = setTimeout(() => (got > 0 && spec.useRegex ? judge() : finish(false, got > 0 ? 'read_too_short' : 'read_timeout', `${got} bytes in ${spec.timeoutMs} ms`)), spec.timeoutMs);
    });
    sock.on('data', (d: Buffer) => {
      if (phase !== 'read' || done) return;
      chunks.push(d);
      got += d.length;
      if (got >= want) return judge();
      // A regex may match before 254 bytes arrive: accept as soon as it does, judge the rest at the limit.
      if (spec.useRegex && matchExpect(spec.expect!, true, Buffer.concat(chunks)).ok) finish(true, 'ok');
    });
    // EOF ends nanny's single read: judge what came (nothing at all still passes `*`, as in nanny).
    sock.on('end', () => {
      if (phase !== 'read' || done) return;
      if (got > 0 || matchExpect(spec.expect!, spec.useRegex, Buffer.alloc(0)).ok) judge();
      else finish(false, 'read_too_short', 'closed before any data');
    });
  });
}

export function udpProbe(spec: ProbeSpec): Probe {
  return {
    run: () => runUdp(spec),
    close: async () => undefined,
  };
}

function runUdp(spec: ProbeSpec): Promise<ProbeResult> {
  const started = performance.now();
  return new Promise((resolve) => {
    let done = false;
    const sock = dgram.createSocket('udp4');
    const finish = (ok: boolean, reason: CheckReason, detail?: string): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      try {
        sock.close();
      } catch {
        /* already closed */
      }
      resolve({ ok, reason, detail, durationMs: performance.now() - started });
    };
    const timer = setTimeout(() => finish(false, 'read_timeout', `no reply in ${spec.timeoutMs} ms`), spec.timeoutMs);
    // ICMP port unreachable surfaces as ECONNREFUSED on a connected UDP socket.
    sock.on('error', (e: NodeJS.ErrnoException) => finish(false, errReason(e), e.message));
    sock.on('message', (msg) => {
      // nanny requires an expect for UDP (it crashes without one); directord accepts any reply then.
      if (spec.expect === undefined) return finish(true, 'ok');
      const v = matchExpect(spec.expect, spec.useRegex, msg);
      if (v.ok) finish(true, 'ok');
      else finish(false, v.reason, v.detail);
    });
    sock.connect(spec.port, spec.address, () => {
      sock.send(Buffer.from(spec.send ?? '', 'latin1'), (e) => {
        if (e) finish(false, 'send_failed', e.message);
      });
    });
  });
}
