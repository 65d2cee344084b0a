// check = icmp: one ICMP echo per probe, the reply checked (nanny sends one but never looks at the answer).
// One raw socket shared by all ICMP probes of the process, replies matched on identifier and sequence.
import type { Probe, ProbeResult } from './probe';
import type { ProbeSpec } from './spec';
import type { CheckReason } from './reasons';

// raw-socket has no type declarations; only the few calls used here are typed.
interface RawSocket {
  on(ev: 'message', cb: (buf: Buffer, source: string) => void): void;
  on(ev: 'error', cb: (e: Error) => void): void;
  send(buf: Buffer, offset: number, length: number, address: string, cb: (e: Error | null) => void): void;
  close(): void;
}
interface RawModule {
  createSocket(opts: { protocol: number }): RawSocket;
  createChecksum(buf: Buffer): number;
  writeChecksum(buf: Buffer, offset: number, sum: number): void;
  Protocol: { ICMP: number };
}

type Waiter = (source: string) => void;
let shared: { sock: RawSocket; users: number; waiters: Map<number, Waiter> } | undefined;
const identifier = process.pid & 0xffff;
let sequence = 0;

function acquire(): NonNullable<typeof shared> {
  if (shared) {
    shared.users++;
    return shared;
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const raw = require('raw-socket') as RawModule;
  const sock = raw.createSocket({ protocol: raw.Protocol.ICMP });
  const waiters = new Map<number, Waiter>();
  sock.on('message', (buf, source) => {
    const ihl = (buf[0] & 0x0f) * 4;
    if (buf.length < ihl + 8 || buf[ihl] !== 0) return; // echo reply only
    if (buf.readUInt16BE(ihl + 4) !== identifier) return;
    waiters.get(buf.readUInt16BE(ihl + 6))?.(source);
  });
  sock.on('error', () => undefined);
  shared = { sock, users: 1, waiters };
  return shared;
}

function release(): void {
  if (!shared) return;
  if (--shared.users > 0) return;
  shared.sock.close();
  shared = undefined;
}

/** An ICMP echo request (type 8) with our identifier/sequence and a 56-byte payload, as ping sends. */
export function echoRequest(id: number, seq: number): Buffer {
  const buf = Buffer.alloc(64);
  buf[0] = 8;
  buf.writeUInt16BE(id, 4);
  buf.writeUInt16BE(seq, 6);
  buf.write('directord', 8);
  let sum = 0;
  for (let i = 0; i < buf.length; i += 2) sum += buf.readUInt16BE(i);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  buf.writeUInt16BE(~sum & 0xffff, 2);
  return buf;
}

export function icmpProbe(spec: ProbeSpec): Probe {
  let held = false;
  return {
    run: () =>
      new Promise<ProbeResult>((resolve) => {
        const started = performance.now();
        let s: NonNullable<typeof shared>;
        try {
          s = shared && held ? shared : acquire();
          held = true;
        } catch (e) {
          resolve({ ok: false, reason: 'icmp_unavailable', detail: (e as Error).message, durationMs: 0 });
          return;
        }
        const seq = (sequence = (sequence + 1) & 0xffff);
        const finish = (ok: boolean, reason: CheckReason, detail?: string): void => {
          clearTimeout(timer);
          s.waiters.delete(seq);
          resolve({ ok, reason, detail, durationMs: performance.now() - started });
        };
        const timer = setTimeout(() => finish(false, 'icmp_timeout', `no echo reply in ${spec.timeoutMs} ms`), spec.timeoutMs);
        s.waiters.set(seq, (source) => (source === spec.address ? finish(true, 'ok') : undefined));
        const req = echoRequest(identifier, seq);
        s.sock.send(req, 0, req.length, spec.address, (e) => (e ? finish(false, 'send_failed', e.message) : undefined));
      }),
    close: async () => {
      if (held) release();
      held = false;
    },
  };
}
