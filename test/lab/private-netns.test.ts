// inPrivateNetns() itself: this file runs in the namespace it makes, not in the one its outer process (the parent,
// which tap started) is in; lo is up there and 127.0.0.x can be bound; nothing else is in it.
import { inPrivateNetns, PRIVATE_NETNS_ENV } from './private-netns';
inPrivateNetns(); // before tap loads
import t from 'tap';
import { readlinkSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { createSocket } from 'node:dgram';

t.test('a namespace of its own, with lo up and nothing else', async (t) => {
  const mine = readlinkSync('/proc/self/ns/net');
  const outer = process.env[PRIVATE_NETNS_ENV];
  t.ok(outer, 'the outer run named its namespace');
  t.equal(readlinkSync(`/proc/${process.ppid}/ns/net`), outer, 'the parent is the outer run, in the namespace it named');
  t.not(mine, outer, 'this run is elsewhere');
  const links = execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' }).trim().split('\n');
  t.equal(links.length, 1, 'one interface');
  t.match(links[0], /^1: lo: <LOOPBACK,UP,LOWER_UP>/, 'lo, up');
});

t.test('127.0.0.x binds and talks there', async (t) => {
  const a = createSocket('udp4');
  const b = createSocket('udp4');
  t.teardown(() => (a.close(), b.close()));
  await new Promise<void>((r) => a.bind(0, '127.0.0.5', r));
  await new Promise<void>((r) => b.bind(0, '127.0.0.6', r));
  const got = new Promise<string>((r) => b.once('message', (m, from) => r(`${m} from ${from.address}`)));
  a.send('hi', b.address().port, '127.0.0.6');
  t.equal(await got, 'hi from 127.0.0.5');
});
