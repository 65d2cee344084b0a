// directord's argv: fixture table of accepted and refused command lines; defaults from one object.
import t from 'tap';
import { parseDaemonArgs } from '../../src/daemon/daemon-args';
import { defaultOptions } from '../../src/defaults';

t.test('defaults', async (t) => {
  const a = parseDaemonArgs([]);
  t.equal(a.configFile, defaultOptions.configFile);
  t.equal(a.socket, defaultOptions.controlSocket);
  t.equal(a.readOnlySocket, undefined, 'the read-only socket is opt-in');
  t.equal(a.cleanup, false);
  t.equal(a.metrics, undefined, 'metrics off by default');
  t.equal(a.dataplane, defaultOptions.dataplaneBackend);
  t.equal(a.busyPollUs, 0, 'packet threads sleep at once unless asked');
  t.equal(a.logLevel, undefined, 'from debug_level unless given');
});

t.test('accepted', async (t) => {
  const cases: [string[], Partial<ReturnType<typeof parseDaemonArgs>>][] = [
    [['--config', '/x.cf'], { configFile: '/x.cf' }],
    [['--config=/x.cf'], { configFile: '/x.cf' }],
    [['--check-config', '/y.cf', '--json'], { checkConfig: true, configFile: '/y.cf', json: true }],
    [['-t'], { checkConfig: true }],
    [['-t', '-f', '/k.cf', '-q', '--strict'], { checkConfig: true, configFile: '/k.cf', quiet: true, strict: true }],
    [['--check-config', '--quiet', '/k.cf'], { checkConfig: true, configFile: '/k.cf', quiet: true, strict: false }],
    [['--version'], { version: true }],
    [['-v'], { version: true }],
    [['--socket', '/tmp/d.sock'], { socket: '/tmp/d.sock', readOnlySocket: undefined }],
    [['--socket', '/tmp/d.sock', '--read-only-socket'], { socket: '/tmp/d.sock', readOnlySocket: '/tmp/d.ro.sock' }],
    [['--socket', '/tmp/d.sock', '--no-read-only-socket'], { readOnlySocket: undefined }],
    [['--cleanup', '--config', '/x.cf', '--socket', '/tmp/d.sock'], { cleanup: true, configFile: '/x.cf', socket: '/tmp/d.sock' }],
    [['--metrics', '127.0.0.1:9539'], { metrics: '127.0.0.1:9539' }],
    [['--log-level', 'debug', '--foreground'], { logLevel: 'debug', foreground: true }],
    [['--dataplane', 'fake', '--interface', 'eth1'], { dataplane: 'fake', interface: 'eth1' }],
    [['--busy-poll-us', '50'], { busyPollUs: 50 }],
    [['--busy-poll-us=10000'], { busyPollUs: 10000 }],
    [['--packet-threads', '4'], { packetThreads: 4 }],
    [['--packet-threads=64'], { packetThreads: 64 }],
    [[], { packetThreads: undefined }],
  ];
  for (const [argv, want] of cases) t.match(parseDaemonArgs(argv), want, argv.join(' '));
});

t.test('refused with E_DAEMON_USAGE', async (t) => {
  const cases: [string[], RegExp][] = [
    [['--config'], /--config needs a value/],
    [['--log-level', 'loud'], /--log-level must be one of/],
    [['--dataplane', 'dpdk'], /--dataplane must be/],
    [['--busy-poll-us', '10001'], /--busy-poll-us must be an integer from 0 to 10000/],
    [['--busy-poll-us', '-5'], /--busy-poll-us needs a value \(one starting with '-' is written --busy-poll-us=VALUE\)/],
    [['--busy-poll-us=-5'], /--busy-poll-us must be an integer/],
    [['--config='], /--config needs a value/],
    [['-x'], /unknown option '-x'/],
    [['--busy-poll-us', '1.5'], /--busy-poll-us must be an integer/],
    [['--packet-threads', '0'], /--packet-threads must be an integer from 1 to 64/],
    [['--packet-threads', '65'], /--packet-threads must be an integer from 1 to 64/],
    [['--packet-threads', 'all'], /--packet-threads must be an integer/],
    [['--frobnicate'], /unknown option/],
    [['/etc/lvs.cf'], /unexpected argument/],
    [['--check-config', 'a', 'b'], /unexpected argument/],
    [['--cleanup', '--check-config'], /exclude each other/],
    [['--cleanup', '/x.cf'], /unexpected argument/],
    [['-q'], /-q and --strict go with --check-config/],
    [['--strict', '--config', '/x.cf'], /-q and --strict go with --check-config/],
  ];
  for (const [argv, re] of cases) t.throws(() => parseDaemonArgs(argv), { code: 'E_DAEMON_USAGE', message: re }, argv.join(' '));
});
