// directorctl commands that need no daemon: check-config [FILE] and where --config FILE CLIENT[:PORT].
// They call the config subsystem and the scheduler's simulator directly.
import { DirectordError } from '../errors';
import { runCheckConfig } from '../config';
import { defaultOptions } from '../defaults';
import type { CliIo } from './run';

export interface OfflineCommand {
  name: string;
  usage: string;
  summary: string;
  /** `where` is offline only with --config; otherwise it asks the daemon. */
  applies(words: string[]): boolean;
  run(words: string[], io: CliIo, json: boolean): Promise<number>;
}

function notWired(what: string): never {
  throw new DirectordError('E_CTL_UNAVAILABLE', `${what} is not wired into this build yet (its subsystem is missing)`);
}

export const offlineCommands: OfflineCommand[] = [
  {
    name: 'check-config', usage: 'check-config [FILE]', summary: 'validate lvs.cf and print the effective configuration (as directord --check-config)',
    applies: () => true,
    run: async (words, io, json) => {
      const files = words.filter((w) => !w.startsWith('--'));
      const unknown = words.filter((w) => w.startsWith('--') && w !== '--show-secrets');
      if (files.length > 1 || unknown.length) throw new DirectordError('E_CLI_USAGE', 'usage: directorctl check-config [FILE] [--json]');
      const r = runCheckConfig({ file: files[0] ?? defaultOptions.configFile, json, showSecrets: words.includes('--show-secrets') });
      io.out(r.stdout);
      if (r.stderr) io.err(r.stderr);
      return r.exitCode;
    },
  },
  {
    name: 'where', usage: 'where --config FILE CLIENT_IP[:PORT]', summary: 'which real server a client would get, from the configuration alone',
    applies: (words) => words.some((w) => w === '--config' || w.startsWith('--config=')),
    run: async () => notWired('where --config'),
  },
];
