// Captures frames with the `pcap` package inside a lab namespace: argv = device, BPF filter, max frames, ms.
// Prints one JSON line per frame ({ ts, kts, hex }: ts = delivery to us, kts = the kernel's receive time, both ms
// since the epoch) and exits; run via lab.spawn/exec.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const pcap = require('pcap') as {
  createSession(dev: string, opts: Record<string, unknown>): { on(ev: 'packet', cb: (p: { buf: Buffer; header: Buffer }) => void): void; close(): void };
};

const [device, filter, maxStr, msStr] = process.argv.slice(2);
// tap also loads every file under test/: without an explicit device this is a helper, not a test, and must not
// open any interface (above all not the root namespace's default one).
if (!device || !filter) {
  process.stdout.write('1..0 # SKIP helper: run by the HA lab tests with a device inside a namespace\n');
  process.exit(0);
}
const max = Number(maxStr ?? 10);
let n = 0;
const session = pcap.createSession(device, { filter, buffer_timeout: 10, snap_length: 256 });
const done = (): void => {
  session.close();
  process.exit(0);
};
session.on('packet', (p) => {
  const caplen = p.header.readUInt32LE(8);
  // The pcap header's timeval is when the frame arrived, not when libpcap's buffer reached us (up to 10 ms later).
  const kts = p.header.readUInt32LE(0) * 1000 + p.header.readUInt32LE(4) / 1000;
  process.stdout.write(JSON.stringify({ ts: Date.now(), kts, hex: p.buf.subarray(0, caplen).toString('hex') }) + '\n');
  if (++n >= max) done();
});
process.stdout.write(JSON.stringify({ ready: true }) + '\n');
setTimeout(done, Number(msStr ?? 5000));
