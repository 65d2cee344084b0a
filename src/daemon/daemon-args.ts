// directord's command line, parsed by node:util parseArgs (fixture-tested); defaults come from one object.
import { parseArgs } from 'node:util';
import { DirectordError } from '../errors';
import { defaultOptions } from '../defaults';
import { defaultControlSocket, readOnlySocketPathFor } from '../control/socket-path';

const MAX_BUSY_POLL_US = defaultOptions.busyPollMaxUs;

export type Backend = 'afpacket' | 'afxdp' | 'fake';
const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LEVELS)[number];

export interface DaemonArgs {
  configFile: string;
  socket: string;
  /** undefined = no read-only socket (the default: --read-only-socket opts in). */
  readOnlySocket?: string;
  metrics?: string;
  /** undefined = from lvs.cf's debug_level. */
  logLevel?: LogLevel;
  checkConfig: boolean;
  /** --cleanup: remove what a killed directord left (VIPs, nft table, XDP program), then exit. */
  cleanup: boolean;
  json: boolean;
  foreground: boolean;
  dataplane: Backend;
  /** The interface facing clients and real servers; default: the base device of the first active virtual. */
  interface?: string;
  /** Packet-thread busy-poll budget in µs (0: sleep as soon as the ring is empty). */
  busyPollUs: number;
  /** AF_PACKET packet threads; undefined: defaultPacketThreads() (CPUs the daemon may use, minus one). */
  packetThreads?: number;
  help: boolean;
  version: boolean;
  /** --check-config -q: nothing on success (errors still go to stderr); for ExecStartPre. */
  quiet: boolean;
  /** --check-config --strict: warnings fail the check. */
  strict: boolean;
}

export const DAEMON_USAGE = `usage: directord [--config FILE] [--socket PATH] [--metrics ADDR:PORT] [--log-level LEVEL]
                 [--dataplane afpacket|afxdp|fake] [--interface IF] [--busy-poll-us N]
                 [--packet-threads N] [--read-only-socket] [--foreground]
       directord --check-config|-t [--config FILE | -f FILE | FILE] [--json] [-q] [--strict]
       directord --version | --help
       directord --cleanup [--config FILE] [--socket PATH] [--interface IF]
defaults: --config ${defaultOptions.configFile}  --socket ${defaultOptions.controlSocket} (in a named netns: /run/directord/netns/NAME/directord.sock)  --metrics off
          --log-level from lvs.cf debug_level (NONE/LOW → info, else debug)  --dataplane ${defaultOptions.dataplaneBackend}
          --busy-poll-us ${defaultOptions.busyPollUs} (0..${MAX_BUSY_POLL_US}: how long a packet thread spins for the next frame before it sleeps)
          --packet-threads: CPUs the daemon may use minus one, at least 1 (1..${defaultOptions.packetThreadsMax}; AF_PACKET threads in one PACKET_FANOUT group)
          --read-only-socket: also listen on PATH.ro.sock (mode 0666) for read-only commands from any local user
          --cleanup: remove the VIPs, nftables table and XDP program a killed directord left; for ExecStopPost
          -f FILE = --config FILE and -t = --check-config, as keepalived's -f and -t
          -q: no output when the file is valid (for ExecStartPre)   --strict: warnings fail the check (exit 1)
signals:  SIGHUP reloads (only the difference is applied), SIGTERM/SIGINT stop cleanly (the VIP is released first)
`;

function usage(msg: string): DirectordError {
  return new DirectordError('E_DAEMON_USAGE', `${msg}\n${DAEMON_USAGE}`);
}

/** The options, for node:util parseArgs; -f and -t are keepalived's (--use-file, --config-test). */
const OPTIONS = {
  config: { type: 'string', short: 'f' }, socket: { type: 'string' }, metrics: { type: 'string' }, interface: { type: 'string' },
  'log-level': { type: 'string' }, dataplane: { type: 'string' }, 'busy-poll-us': { type: 'string' }, 'packet-threads': { type: 'string' },
  'check-config': { type: 'boolean', short: 't' }, cleanup: { type: 'boolean' }, json: { type: 'boolean' }, foreground: { type: 'boolean' },
  'read-only-socket': { type: 'boolean' }, 'no-read-only-socket': { type: 'boolean' }, // the latter is the default now; kept for old unit files
  help: { type: 'boolean', short: 'h' }, version: { type: 'boolean', short: 'v' }, quiet: { type: 'boolean', short: 'q' }, strict: { type: 'boolean' },
} as const;

/** parseArgs' errors in this program's words (and code). */
function parsed(argv: string[]): ReturnType<typeof parseArgs<{ args: string[]; options: typeof OPTIONS; allowPositionals: true; tokens: true }>> {
  try {
    return parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, tokens: true });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const opt = /(--[\w-]+)/.exec(err.message)?.[1] ?? /'(-[^' ,]+)/.exec(err.message)?.[1] ?? '';
    if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') throw usage(`unknown option '${opt}'`);
    if (err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      throw usage(/ambiguous/.test(err.message) ? `${opt} needs a value (one starting with '-' is written ${opt}=VALUE)` : `${opt} needs a value`);
    }
    throw usage(err.message);
  }
}

export function parseDaemonArgs(argv: string[]): DaemonArgs {
  const { values: v, positionals: positional, tokens } = parsed(argv);
  for (const t of tokens) {
    if (t.kind === 'option' && OPTIONS[t.name as keyof typeof OPTIONS].type === 'string' && !t.value) throw usage(`${t.rawName} needs a value`);
  }
  const a: DaemonArgs = {
    configFile: v.config ?? defaultOptions.configFile, socket: v.socket ?? defaultControlSocket(), metrics: v.metrics ?? defaultOptions.metricsAddress,
    interface: v.interface, checkConfig: v['check-config'] === true, cleanup: v.cleanup === true, json: v.json === true, foreground: v.foreground === true,
    dataplane: defaultOptions.dataplaneBackend, busyPollUs: defaultOptions.busyPollUs, help: v.help === true,
    version: v.version === true, quiet: v.quiet === true, strict: v.strict === true,
  };
  if (v['log-level'] !== undefined) {
    if (!(LEVELS as readonly string[]).includes(v['log-level'])) throw usage(`--log-level must be one of ${LEVELS.join(', ')}`);
    a.logLevel = v['log-level'] as LogLevel;
  }
  if (v.dataplane !== undefined) {
    if (v.dataplane !== 'afpacket' && v.dataplane !== 'afxdp' && v.dataplane !== 'fake') throw usage('--dataplane must be afpacket, afxdp or fake');
    a.dataplane = v.dataplane;
  }
  const busy = v['busy-poll-us'];
  if (busy !== undefined) {
    if (!/^\d+$/.test(busy) || Number(busy) > MAX_BUSY_POLL_US) throw usage(`--busy-poll-us must be an integer from 0 to ${MAX_BUSY_POLL_US}`);
    a.busyPollUs = Number(busy);
  }
  const threads = v['packet-threads'];
  if (threads !== undefined) {
    if (!/^\d+$/.test(threads) || Number(threads) < 1 || Number(threads) > defaultOptions.packetThreadsMax) {
      throw usage(`--packet-threads must be an integer from 1 to ${defaultOptions.packetThreadsMax}`);
    }
    a.packetThreads = Number(threads);
  }
  // --read-only-socket / --no-read-only-socket: the last one given wins.
  let readOnly: boolean = defaultOptions.readOnlySocket;
  for (const t of tokens) if (t.kind === 'option' && (t.name === 'read-only-socket' || t.name === 'no-read-only-socket')) readOnly = t.name === 'read-only-socket';
  if (positional.length > 0) {
    if (!a.checkConfig || positional.length > 1) throw usage(`unexpected argument '${positional[0]}'`);
    a.configFile = positional[0];
  }
  if (a.cleanup && a.checkConfig) throw usage('--cleanup and --check-config exclude each other');
  if ((a.quiet || a.strict) && !a.checkConfig) throw usage('-q and --strict go with --check-config');
  if (readOnly) a.readOnlySocket = readOnlySocketPathFor(a.socket);
  return a;
}
