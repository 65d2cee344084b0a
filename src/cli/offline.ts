// directorctl commands that need no daemon: check-config [FILE] and where --config FILE CLIENT[:PORT].
// They call the config subsystem and the scheduler's simulator directly.
import { DirectordError } from '../errors';
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
    run: async () => notWired('check-config'),
  },
  {
    name: 'where', usage: 'where --config FILE CLIENT_IP[:PORT]', summary: 'which real server a client would get, from the configuration alone',
    applies: (words) => words.some((w) => w === '--config' || w.startsWith('--config=')),
    run: async () => notWired('where --config'),
  },
];
