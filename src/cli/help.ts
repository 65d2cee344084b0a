// directorctl's help texts: the overview and `directorctl COMMAND --help`, both from the one command table
// (src/control/commands.ts) plus the CLI-only commands and display options, so they cannot drift from what runs.
import { commandTable, findCommand, usageLine } from '../control/commands';
import { offlineCommands } from './offline';

const EXIT_LINE = 'exit status: 0 ok, 1 command failed, 2 usage, 3 daemon not running, 4 permission denied, 5 no answer';
const GLOBALS = 'global options: --socket PATH  --json  --timeout MS  --version  --help';

/** Options directorctl itself handles for a live command (display, filtering), beyond the request's arguments. */
const displayOptions: Record<string, [string, string][]> = {
  status: [
    ['--stats', 'counters, as ipvsadm -Ln --stats'],
    ['--rate', 'rates, as ipvsadm -Ln --rate'],
    ['--connections', 'the connection table, as ipvsadm -lnc'],
    ['--nosort', 'kernel list order (newest first), as ipvsadm --nosort'],
    ['-t VIP:PORT', 'only this TCP virtual service, as ipvsadm -L -t (-u VIP:PORT for UDP, -f MARK for a fwmark service)'],
  ],
};

const LOGS_USAGE = 'logs [-f] [-n N] [--since T] [-p PRIO] | logs -';

export const STATUS_USAGE = 'status [--stats | --rate | --connections] [--nosort] [-t|-u VIP:PORT | -f MARK]';

export function helpText(): string {
  const lines = ['usage: directorctl [--socket PATH] [--json] [--timeout MS] COMMAND [ARGS]', '       directorctl COMMAND --help | --version', '', 'commands (live, ask the daemon):'];
  for (const c of commandTable) {
    if (c.name === 'ping') continue;
    const shown = c.name === 'status' ? STATUS_USAGE : usageLine(c);
    lines.push(`  ${shown.padEnd(44)} ${c.summary}${c.mutating ? '' : ' (read-only)'}`);
  }
  lines.push(`  ${'wait-ready [--timeout MS]'.padEnd(44)} wait until the daemon has started (for scripts)`);
  lines.push(`  ${LOGS_USAGE.padEnd(44)} the daemon's log for people (journalctl, or stdin with -)`);
  lines.push('', 'commands (offline, from a configuration file):');
  for (const c of offlineCommands) lines.push(`  ${c.usage.padEnd(44)} ${c.summary}`);
  lines.push('', EXIT_LINE);
  return lines.join('\n') + '\n';
}

/** `directorctl COMMAND --help`; undefined for an unknown command. */
export function commandHelp(name: string): string | undefined {
  const out: string[] = [];
  const offline = offlineCommands.filter((c) => c.name === name);
  const spec = findCommand(name);
  if (name === 'logs') {
    out.push(`usage: directorctl ${LOGS_USAGE}`, '', "directord's JSON log lines as `TIME LEVEL [subsystem] message key=value`, from", '`journalctl -u directord -o cat` (the options are passed on) or, with -, from stdin (a saved log file).');
  } else if (name === 'wait-ready') {
    out.push('usage: directorctl wait-ready [--timeout MS]', '', 'Waits until the daemon answers status (it does once fully started); for scripts.', 'The global --timeout bounds the wait.');
  } else if (spec && spec.name !== 'ping') {
    out.push(`usage: directorctl ${spec.name === 'status' ? STATUS_USAGE : usageLine(spec)}`, '', `${spec.summary} (${spec.mutating ? 'mutating: needs the full socket, root or group directord' : 'read-only'}).`);
    const args = spec.args.filter((a) => !(spec.name === 'status' && a.name === 'connections'));
    const opts = [...args.map((a): [string, string] => [a.positional ? a.name.toUpperCase() : `--${a.name}${a.type === 'boolean' ? '' : ` ${a.type === 'integer' ? 'N' : 'VALUE'}`}`, a.help]), ...(displayOptions[spec.name] ?? [])];
    if (opts.length) out.push('', 'arguments and options:', ...opts.map(([o, h]) => `  ${o.padEnd(22)} ${h}`));
  }
  for (const c of offline) {
    if (out.length) out.push('');
    out.push(`usage: directorctl ${c.usage}`, '', `${c.summary} (offline: no daemon needed).`);
  }
  if (!out.length) return undefined;
  out.push('', GLOBALS, EXIT_LINE);
  return out.join('\n') + '\n';
}
