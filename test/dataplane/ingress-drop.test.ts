// nft's failures end as E_DATAPLANE_NFT rejections: an nft that exits without reading its stdin (EPIPE on our
// side), one that is missing, one that hangs. None may throw out of an event handler (that would end the daemon).
import t from 'tap';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ingressRuleset, runNft } from '../../src/dataplane/ingress-drop';

const dir = mkdtempSync(join(tmpdir(), 'ddnft-'));
const fake = (name: string, body: string): string => {
  const f = join(dir, name);
  writeFileSync(f, `#!/bin/sh\n${body}\n`);
  chmodSync(f, 0o755);
  return f;
};

t.test('nft exiting without reading stdin (EPIPE): a rejection, not a crash', async (t) => {
  const early = fake('nft-early', 'echo "Error: no netlink" >&2; exit 1');
  const big = 'x'.repeat(4 * 1024 * 1024); // far past the pipe buffer, so the write must hit EPIPE
  for (let i = 0; i < 3; i++) {
    await t.rejects(runNft(big, { binary: early }), { code: 'E_DATAPLANE_NFT', message: /no netlink/ });
  }
});

t.test('nft that reads nothing but exits 0 is still a failure', async (t) => {
  const quiet = fake('nft-quiet', 'exit 0');
  await t.rejects(runNft('y'.repeat(4 * 1024 * 1024), { binary: quiet }), { code: 'E_DATAPLANE_NFT', message: /before reading the whole ruleset/ });
});

t.test('nft missing', async (t) => {
  await t.rejects(runNft(ingressRuleset('eth0', []), { binary: join(dir, 'absent') }), { code: 'E_DATAPLANE_NFT' });
});

t.test('nft hanging is killed at the timeout', async (t) => {
  const hang = fake('nft-hang', 'exec sleep 30');
  const started = Date.now();
  await t.rejects(runNft('table netdev x {}\n', { binary: hang, timeoutMs: 300 }), { code: 'E_DATAPLANE_NFT', message: /killed after 300 ms/ });
  t.ok(Date.now() - started < 5000, 'bounded');
});

t.test('a well-behaved nft succeeds', async (t) => {
  const ok = fake('nft-ok', 'cat > /dev/null');
  await runNft(ingressRuleset('eth0', []), { binary: ok });
  t.pass();
});
