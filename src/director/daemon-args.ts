// directord's command line, parsed purely (fixture-tested); defaults come from one object.
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
  help: boolean;
  version: boolean;
  /** --check-config -q: nothing on success (errors still go to stderr); for ExecStartPre. */
  quiet: boolean;
  /** --check-config --strict: warnings fail the check. */
  strict: boolean;
}

export const DAEMON_USAGE = `usage: directord [--config FILE] [--socket PATH] [--metrics ADDR:PORT] [--log-level LEVEL]
                 [--dataplane afpacket|afxdp|fake] [--interface IF] [--busy-poll-us N]
                 [--read-only-socket] [--foreground]
       directord --check-config|-t [--config FILE | -f FILE | FILE] [--json] [-q] [--strict]
       directord --version | --help
       directord --cleanup [--config FILE] [--socket PATH] [--interface IF]
defaults: --config ${defaultOptions.configFile}  --socket ${defaultOptions.controlSocket} (in a named netns: /run/directord/netns/NAME/directord.sock)  --metrics off
          --log-level from lvs.cf debug_level (NONE/LOW → info, else debug)  --dataplane ${defaultOptions.dataplaneBackend}
          --busy-poll-us ${defaultOptions.busyPollUs} (0..${MAX_BUSY_POLL_US}: how long a packet thread spins for the next frame before it sleeps)
          --read-only-socket: also listen on PATH.ro.sock (mode 0666) for read-only commands from any local user
          --cleanup: remove the VIPs, nftables table and XDP program a killed directord left; for ExecStopPost
          -f FILE = --config FILE and -t = --check-config, as keepalived's -f and -t
          -q: no output when the file is valid (for ExecStartPre)   --strict: warnings fail the check (exit 1)
signals:  SIGHUP reloads (only the difference is applied), SIGTERM/SIGINT stop cleanly (the VIP is released first)
`;

function usage(msg: string): DirectordError {
  return new DirectordError('E_DAEMON_USAGE', `${msg}\n${DAEMON_USAGE}`);
}

export function parseDaemonArgs(argv: string[]): DaemonArgs {
  const a: DaemonArgs = {
    configFile: defaultOptions.configFile, socket: defaultControlSocket(), metrics: defaultOptions.metricsAddress,
    checkConfig: false, cleanup: false, json: false, foreground: false, dataplane: defaultOptions.dataplaneBackend, busyPollUs: defaultOptions.busyPollUs, help: false,
    version: false, quiet: false, strict: false,
  };
  let readOnly: boolean = defaultOptions.readOnlySocket;
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const w = argv[i];
    const eq = w.indexOf('=');
    const name = w.startsWith('--') && eq > 0 ? w.slice(0, eq) : w;
    const value = (): string => {
      const v = w.startsWith('--') && eq > 0 ? w.slice(eq + 1) : argv[++i];
      if (v === undefined || v === '') throw usage(`${name} needs a value`);
      return v;
    };
    switch (name) {
      case '--config': case '-f': a.configFile = value(); break;
      case '--socket': a.socket = value(); break;
      case '--metrics': a.metrics = value(); break;
      case '--interface': a.interface = value(); break;
      case '--log-level': {
        const v = value();
        if (!(LEVELS as readonly string[]).includes(v)) throw usage(`--log-level must be one of ${LEVELS.join(', ')}`);
        a.logLevel = v as LogLevel;
        break;
      }
      case '--dataplane': {
        const v = value();
        if (v !== 'afpacket' && v !== 'afxdp' && v !== 'fake') throw usage('--dataplane must be afpacket, afxdp or fake');
        a.dataplane = v;
        break;
      }
      case '--busy-poll-us': {
        const v = value();
        if (!/^\d+$/.test(v) || Number(v) > MAX_BUSY_POLL_US) throw usage(`--busy-poll-us must be an integer from 0 to ${MAX_BUSY_POLL_US}`);
        a.busyPollUs = Number(v);
        break;
      }
      case '--check-config': case '-t': a.checkConfig = true; break;
      case '--cleanup': a.cleanup = true; break;
      case '--json': a.json = true; break;
      case '--foreground': a.foreground = true; break;
      case '--read-only-socket': readOnly = true; break;
      case '--no-read-only-socket': readOnly = false; break; // the default now; kept for old unit files
      case '--help': case '-h': a.help = true; break;
      case '--version': case '-v': a.version = true; break;
      case '--quiet': case '-q': a.quiet = true; break;
      case '--strict': a.strict = true; break;
      default:
        if (w.startsWith('-')) throw usage(`unknown option '${w}'`);
        positional.push(w);
    }
  }
  if (positional.length > 0) {
    if (!a.checkConfig || positional.length > 1) throw usage(`unexpected argument '${positional[0]}'`);
    a.configFile = positional[0];
  }
  if (a.cleanup && a.checkConfig) throw usage('--cleanup and --check-config exclude each other');
  if ((a.quiet || a.strict) && !a.checkConfig) throw usage('-q and --strict go with --check-config');
  if (readOnly) a.readOnlySocket = readOnlySocketPathFor(a.socket);
  return a;
}
