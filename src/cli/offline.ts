// directorctl commands that need no daemon: check-config [FILE] and where --config FILE CLIENT[:PORT].
// They call the config subsystem and the scheduler's simulator directly.
import { DirectordError } from '../errors';
import { loadConfig, runCheckConfig } from '../config';
import { servicesFromConfig, whereAll } from '../scheduler';
import { defaultOptions } from '../defaults';
import type { CliIo } from './io';
import type { WhereResult } from '../control/types';
import { parseWhereClient, renderWhere } from '../control/where';

export interface OfflineCommand {
  name: string;
  usage: string;
  summary: string;
  /** `where` is offline only with --config; otherwise it asks the daemon. */
  applies(words: string[]): boolean;
  run(words: string[], io: CliIo, json: boolean): Promise<number>;
}

export const offlineCommands: OfflineCommand[] = [
  {
    name: 'check-config', usage: 'check-config [FILE] [-q] [--strict] [--show-secrets]', summary: 'validate lvs.cf and print the effective configuration (as directord --check-config)',
    applies: () => true,
    run: async (words, io, json) => {
      const flags = ['--show-secrets', '-q', '--quiet', '--strict'];
      const files = words.filter((w) => !w.startsWith('-'));
      const unknown = words.filter((w) => w.startsWith('-') && !flags.includes(w));
      if (files.length > 1 || unknown.length) throw new DirectordError('E_CLI_USAGE', 'usage: directorctl check-config [FILE] [--json] [-q] [--strict] [--show-secrets]');
      const r = runCheckConfig({
        file: files[0] ?? defaultOptions.configFile, json, showSecrets: words.includes('--show-secrets'),
        quiet: words.includes('-q') || words.includes('--quiet'), strict: words.includes('--strict'),
      });
      io.out(r.stdout);
      if (r.stderr) io.err(r.stderr);
      return r.exitCode;
    },
  },
  {
    name: 'where', usage: 'where --config FILE CLIENT_IP[:PORT]', summary: 'which real server a client would get, from the configuration alone',
    applies: (words) => words.some((w) => w === '--config' || w.startsWith('--config=')),
    run: async (words, io, json) => {
      let file: string | undefined;
      const rest: string[] = [];
      for (let i = 0; i < words.length; i++) {
        if (words[i] === '--config') file = words[++i];
        else if (words[i].startsWith('--config=')) file = words[i].slice(9);
        else rest.push(words[i]);
      }
      if (!file || rest.length !== 1) throw new DirectordError('E_CLI_USAGE', 'usage: directorctl where --config FILE CLIENT_IP[:PORT]');
      const { ip, port } = parseWhereClient(rest[0]);
      const cfg = loadConfig(file);
      // The live answer's shape (src/control/where.ts), so scripts read one envelope whichever way it was computed.
      const result: WhereResult = {
        client: ip, ...(port === undefined ? {} : { clientPort: port }), source: 'config',
        answers: whereAll(servicesFromConfig(cfg), ip, port).map((a) => ({
          virtual: a.service.name ?? `${a.service.vip}:${a.service.port}`, vip: a.service.vip, port: a.service.port, protocol: a.service.protocol,
          destination: a.dest ? { address: a.dest.address, port: a.dest.port, server: a.dest.name } : null, decidedBy: 'scheduler', reason: a.reason,
        })),
      };
      io.out(json ? JSON.stringify({ ok: true, result }) + '\n' : renderWhere(result));
      return 0;
    },
  },
];
