// The generated include: its content, and that BIRD 2 itself accepts it (`bird -p`, parse only, no daemon).
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { birdInclude } from '../../src/bgp/bird-conf';
import type { BgpSettings } from '../../src/bgp/settings';
import { haveTool, skipUnless } from '../lab/needs';

const base: BgpSettings = { localAs: 65001, peers: ['10.0.0.254'], peerAs: 65000, bfd: false, bfdInterval: 0.1, bfdMultiplier: 3, holdTime: 0, includeFile: '/x/inc.conf', birdcSocket: '/x/s' };

t.test('one /32 per VIP, sorted and unique, in directord\'s own table; import none; next hop self', async (t) => {
  const text = birdInclude(base, ['10.2.0.100', '10.2.0.5', '10.2.0.100'], 'lvs.cf');
  t.same(text.match(/route \S+ blackhole/g), ['route 10.2.0.5/32 blackhole', 'route 10.2.0.100/32 blackhole']);
  t.match(text, /ipv4 table directord4;/);
  t.match(text, /protocol bgp directord_peer1 \{[^}]*local as 65001;[^}]*neighbor 10\.0\.0\.254 as 65000;[^]*import none;[^]*next hop self;/);
  t.notMatch(text, /bfd|hold time/);
});

t.test('no VIP: the sessions stay, nothing is exported', async (t) => {
  const text = birdInclude(base, [], 'lvs.cf');
  t.notMatch(text, /route /);
  t.match(text, /protocol bgp directord_peer1/);
});

t.test('BFD and hold time, one session per peer', async (t) => {
  const text = birdInclude({ ...base, peers: ['10.0.0.254', '10.0.0.253'], bfd: true, bfdInterval: 0.05, bfdMultiplier: 4, holdTime: 9 }, ['10.2.0.1'], 'lvs.cf');
  t.match(text, /protocol bfd directord_bfd \{\n  interface "\*" \{ interval 50 ms; multiplier 4; \};/);
  t.equal(text.match(/  bfd on;/g)?.length, 2);
  t.equal(text.match(/  hold time 9;/g)?.length, 2);
  t.match(text, /protocol bgp directord_peer2 \{[^}]*neighbor 10\.0\.0\.253 as 65000;/);
});

const haveBird = haveTool('bird', ['--version']);
t.test('BIRD accepts every variant', { skip: skipUnless(haveBird, 'bird (Debian bird2) not installed') }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ddbird-'));
  const variants: [BgpSettings, string[]][] = [
    [base, []],
    [base, ['10.2.0.1', '10.2.0.2']],
    [{ ...base, peers: ['10.0.0.254', '10.0.0.253'], bfd: true, bfdInterval: 0.01, bfdMultiplier: 255, holdTime: 65535, localAs: 4294967295 }, ['10.2.0.1']],
  ];
  for (const [i, [s, vips]] of variants.entries()) {
    writeFileSync(join(dir, `inc${i}.conf`), birdInclude(s, vips, 'lvs.cf'));
    writeFileSync(join(dir, `main${i}.conf`), `router id 10.0.0.11;\nprotocol device {}\ninclude "${join(dir, `inc${i}.conf`)}";\n`);
    const r = spawnSync('bird', ['-p', '-c', join(dir, `main${i}.conf`)], { encoding: 'utf8' });
    t.equal(r.status, 0, `variant ${i}: ${r.stderr}`);
  }
});
