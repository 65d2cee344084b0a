// Builds frame-fuzz*.c with the data plane's C sources under ASan/UBSan and runs it: a seeded fuzz of the frame parser
// and of dd_forward_frame (parse, dd_process, MAC rewrite) on exactly-sized heap frames. DD_FUZZ_SEED=N reproduces
// a run, DD_FUZZ_SECONDS=N runs longer. A copy of frame.c without one bound must fail: the harness can see overreads.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { skipUnless } from '../lab/needs';

const root = join(__dirname, '..', '..');
const SAN = ['-fsanitize=address,undefined', '-fno-sanitize-recover=all', '-fno-omit-frame-pointer'];
// The driver and cases, the frame generator, the oracle (they share frame-fuzz.h).
const HARNESS = ['frame-fuzz.c', 'frame-fuzz-gen.c', 'frame-fuzz-oracle.c'].map((f) => join(__dirname, f));
const dir = mkdtempSync(join(tmpdir(), 'ddfuzz-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

/** The data plane's C sources as binding.gyp builds them, without the N-API and socket files. */
function coreSources(): string[] {
  const gyp = JSON.parse(readFileSync(join(root, 'binding.gyp'), 'utf8')) as { targets: { target_name: string; sources: string[] }[] };
  const target = gyp.targets.find((x) => x.target_name === 'directord_native');
  if (!target) throw new Error('binding.gyp has no directord_native target');
  // Everything but the packet loop and the N-API glue (any source that includes node_api.h, itself or through
  // napi_util.h, as sdnotify.c does): the harness has no Node.
  return target.sources
    .filter((s) => !/\/afpacket(-filter)?\.c$/.test(s))
    .map((s) => join(root, s))
    .filter((f) => !/#include\s*[<"](node_api|napi_util)\.h[>"]/.test(readFileSync(f, 'utf8')));
}

/** The first of $CC, gcc, clang that links a sanitized program (clang needs its compiler-rt package for that). */
function sanitizingCompiler(): string | undefined {
  const probe = join(dir, 'probe.c');
  writeFileSync(probe, 'int main(void) { return 0; }\n');
  for (const cc of [process.env.CC, 'gcc', 'clang'].filter((x): x is string => !!x)) {
    if (spawnSync(cc, [...SAN, probe, '-o', join(dir, 'probe')], { stdio: 'ignore' }).status === 0) return cc;
  }
  return undefined;
}

function build(cc: string, sources: string[], out: string): { ok: boolean; log: string } {
  const r = spawnSync(cc, ['-std=gnu11', '-g', '-O1', '-Wall', '-Wextra', ...SAN, `-I${join(root, 'native', 'include')}`,
    `-I${join(root, 'native', 'src')}`, ...HARNESS, ...sources, '-o', out, '-lpthread'], { encoding: 'utf8' });
  return { ok: r.status === 0, log: r.stdout + r.stderr };
}

function run(bin: string, seed: string, iterations: number, seconds: number) {
  return spawnSync(bin, [seed, String(iterations), String(seconds)], {
    encoding: 'utf8', timeout: (seconds + 60) * 1000, env: { ...process.env, ASAN_OPTIONS: 'detect_leaks=1', UBSAN_OPTIONS: 'print_stacktrace=1' },
  });
}

function counts(out: string, label: string): Record<string, number> {
  const line = out.split('\n').find((l) => l.startsWith(`${label}:`)) ?? '';
  return Object.fromEntries([...line.matchAll(/(\w+)=(\d+)/g)].map((m) => [m[1], Number(m[2])]));
}

const cc = sanitizingCompiler();
const skip = skipUnless(!!cc, 'no C compiler that links -fsanitize=address,undefined (gcc with libasan, or clang with libclang-rt)');

t.test('frame parser and forward path under ASan/UBSan, seeded', { skip }, async (t) => {
  const bin = join(dir, 'frame-fuzz');
  const b = build(cc!, coreSources(), bin);
  t.ok(b.ok, `the harness builds with ${cc}${b.ok ? '' : `: ${b.log}`}`);
  if (!b.ok) return;
  const seed = process.env.DD_FUZZ_SEED ?? String(randomInt(2 ** 47));
  const seconds = Number(process.env.DD_FUZZ_SECONDS ?? 3);
  const r = run(bin, seed, 5_000_000, seconds);
  const again = `DD_FUZZ_SEED=${seed} DD_FUZZ_SECONDS=${seconds * 2} npx tap test/dataplane/frame-fuzz.test.ts`;
  t.equal(r.status, 0, r.status === 0 ? `frame-fuzz seed ${seed} passes` : `frame-fuzz seed ${seed} (reproduce: ${again}):\n${r.stdout}${r.stderr.slice(-6000)}`);
  if (r.status !== 0) return;
  const m = /(\d+) structured cases, (\d+) random frames, (\d+) checks/.exec(r.stdout);
  t.ok(m && Number(m[1]) >= 300, `structured cases ran: ${m?.[1]}`);
  t.ok(m && Number(m[2]) >= 10000, `random frames ran (seed ${seed}): ${m?.[2]}`);
  const parser = counts(r.stdout, 'parser verdicts');
  for (const v of ['forward', 'truncated', 'not_ipv4', 'vlan', 'bad_ihl', 'fragment', 'no_service']) t.ok(parser[v] > 0, `random frames reached parser verdict ${v}`);
  const table = counts(r.stdout, 'table verdicts');
  for (const v of ['forward', 'no_conn', 'no_dest', 'no_mac', 'not_active', 'truncated', 'icmp_no_conn', 'fragment', 'dest_closed']) t.ok(table[v] > 0, `the forward path reached ${v}`);
});

const BOUNDS = [
  ['its IPv4 header bound', '  if (len < l2 + 20) return DD_V_TRUNCATED;'],
  ['the bound of an ICMP error\'s quoted header', '  if (elen < eihl + 8) return DD_V_TRUNCATED;'],
  ['the bound of its 802.1Q tag', '    if (len < 18) return DD_V_TRUNCATED;'],
] as const;

for (const [what, bound] of BOUNDS) t.test(`the harness sees an overread: frame.c without ${what} fails`, { skip }, async (t) => {
  const frameC = join(root, 'native', 'src', 'frame.c');
  const src = readFileSync(frameC, 'utf8');
  t.ok(src.includes(bound), 'the bound this check removes is still in frame.c (update it if the parser changed)');
  const broken = join(dir, 'frame-broken.c');
  writeFileSync(broken, src.replace(bound, ''));
  const bin = join(dir, 'frame-fuzz-broken');
  const b = build(cc!, coreSources().map((s) => (s === frameC ? broken : s)), bin);
  t.ok(b.ok, `the broken copy builds${b.ok ? '' : `: ${b.log}`}`);
  if (!b.ok) return;
  const r = run(bin, '1', 100_000, 2);
  t.not(r.status, 0, 'the run fails');
  t.match(r.stderr, /heap-buffer-overflow/, 'ASan reports the overread');
  t.match(r.stderr, /reproduce with seed 1/, 'with the seed');
});
