// NetlinkIo and VipManager on their failure paths, with a stand-in rtnetlink socket: a socket error is logged (not
// thrown), a kernel that never answers is a timeout, a VIP whose removal fails stays held and is retried, and every
// VIP is recorded in the state file before it is added.
import t from 'tap';
import { EventEmitter } from 'node:events';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RtNetlinkSocket } from 'netlink';
import { NetlinkIo } from '../../src/ha/netlink-io';
import { VipManager, readVipState } from '../../src/ha/vip-manager';
import type { GarpSender } from '../../src/ha/garp-sender';
import { createRootLogger } from '../../src/log';

function recorder() {
  const records: { level: string; msg: string; [k: string]: unknown }[] = [];
  const log = createRootLogger({ level: 'debug', destination: { write: (l: string) => void records.push(JSON.parse(l)) } });
  return { log, records };
}

/** A stand-in socket: answers from `addrs`; `hang` makes every request wait forever. */
function fakeSocket(opts: { hang?: boolean; addrs?: { ip: number[]; index: number }[]; failDel?: () => boolean } = {}) {
  const socket = new EventEmitter();
  const addrs = opts.addrs ?? [];
  const never = new Promise<never>(() => undefined);
  const s = Object.assign(new EventEmitter(), {
    socket,
    addMembership: () => undefined,
    getLinks: async () => (opts.hang ? never : [{ data: { index: 2, flags: { up: true, running: true } }, attrs: { ifname: 'eth0', address: Buffer.alloc(6) } }]),
    getAddresses: async () => (opts.hang ? never : addrs.map((a) => ({ data: { family: 2, index: a.index, prefixlen: 24 }, attrs: { local: Buffer.from(a.ip), label: 'eth0:1' } }))),
    newAddress: async (_d: unknown, a: { local: Buffer }) => {
      if (opts.hang) return never;
      addrs.push({ ip: [...a.local], index: 2 });
      return [];
    },
    delAddress: async (_d: unknown, a: { local: Buffer }) => {
      if (opts.failDel?.()) throw new Error('Request rejected: EBUSY');
      const i = addrs.findIndex((x) => Buffer.from(x.ip).equals(a.local));
      if (i >= 0) addrs.splice(i, 1);
      return [];
    },
  });
  return { sock: s as unknown as RtNetlinkSocket, addrs, socket };
}

const garp = { burst: () => undefined, cancel: () => undefined, close: () => undefined } as unknown as GarpSender;
const VIP = { address: '10.64.9.100', device: 'eth0', label: 'eth0:1', prefixlen: 24 };
const GARP = { count: 1, intervalMs: 0, refreshMs: 0 };

t.test('an error on either rtnetlink socket is logged, not thrown', async (t) => {
  const { log, records } = recorder();
  const socks = [fakeSocket(), fakeSocket()];
  let n = 0;
  const io = new NetlinkIo(log, { create: () => socks[n++].sock });
  io.watchLinks(() => undefined);
  t.doesNotThrow(() => socks[0].socket.emit('error', new Error('recvmsg ENOBUFS')));
  t.doesNotThrow(() => socks[1].socket.emit('error', new Error('recvmsg ENOBUFS')));
  t.match(records.filter((r) => r.msg === 'rtnetlink socket error'), [{ level: 'error', socket: 'requests' }, { level: 'error', socket: 'link monitor' }]);
});

t.test('lost link notifications: every link is read again and reported', async (t) => {
  const socks = [fakeSocket(), fakeSocket()];
  let n = 0;
  const io = new NetlinkIo(recorder().log, { create: () => socks[n++].sock });
  const seen: string[] = [];
  io.watchLinks((i, name, up) => seen.push(`${i}:${name}:${up}`));
  socks[1].socket.emit('error', new Error('recvmsg ENOBUFS'));
  await new Promise((r) => setTimeout(r, 20));
  t.same(seen, ['2:eth0:true']);
});

t.test('a request the kernel never answers times out with E_HA_NETLINK_TIMEOUT', async (t) => {
  const { sock } = fakeSocket({ hang: true });
  const io = new NetlinkIo(recorder().log, { create: () => sock, timeoutMs: 100 });
  const started = Date.now();
  await t.rejects(io.interfaces(), { code: 'E_HA_NETLINK_TIMEOUT' });
  await t.rejects(io.removeVip(VIP.address), { code: 'E_HA_NETLINK_TIMEOUT' });
  t.ok(Date.now() - started < 2000, 'bounded');
});

t.test('releaseAll keeps a VIP whose removal failed, retries it, and records it until it is gone', async (t) => {
  const { log, records } = recorder();
  let failures = 2;
  const f = fakeSocket({ failDel: () => failures-- > 0 });
  const io = new NetlinkIo(log, { create: () => f.sock });
  const stateFile = join(mkdtempSync(join(tmpdir(), 'ddvip-')), 'directord.vips');
  const vips = new VipManager(io, garp, log, { stateFile, retryMs: 30 });
  t.teardown(() => vips.close());
  await vips.hold([VIP], GARP, 'test');
  t.same(readVipState(stateFile).map((v) => v.address), [VIP.address], 'recorded while held');
  t.same(f.addrs.length, 1);
  const still = await vips.releaseAll();
  t.same(still, [VIP.address], 'reported as still up');
  t.same(vips.heldAddresses(), [VIP.address], 'not forgotten');
  t.same(readVipState(stateFile).map((v) => v.address), [VIP.address], 'still recorded');
  t.match(records.filter((r) => r.level === 'error'), [{ msg: /cannot remove VIP: still held, retrying/, vip: VIP.address }]);
  await new Promise((r) => setTimeout(r, 300));
  t.same(vips.heldAddresses(), [], 'removed by a retry');
  t.same(f.addrs.length, 0);
  t.same(readVipState(stateFile), [], 'record cleared');
});

t.test('the state file is written before the VIP is added', async (t) => {
  const f = fakeSocket();
  const stateFile = join(mkdtempSync(join(tmpdir(), 'ddvip-')), 'directord.vips');
  const io = new NetlinkIo(recorder().log, { create: () => f.sock });
  let recordedFirst: string[] = [];
  const orig = f.sock.newAddress.bind(f.sock);
  (f.sock as unknown as { newAddress: typeof orig }).newAddress = (...a: Parameters<typeof orig>) => {
    recordedFirst = readVipState(stateFile).map((v) => v.address);
    return orig(...a);
  };
  const vips = new VipManager(io, garp, recorder().log, { stateFile });
  t.teardown(() => vips.close());
  await vips.hold([VIP], GARP, 'test');
  t.same(recordedFirst, [VIP.address]);
  t.match(readFileSync(stateFile, 'utf8'), /"label":"eth0:1"/);
});

t.test('readVipState never throws', async (t) => {
  t.same(readVipState('/nonexistent/x'), []);
  const dir = mkdtempSync(join(tmpdir(), 'ddvip-'));
  t.same(readVipState(dir), []);
});
