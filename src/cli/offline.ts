// directorctl commands that need no daemon: check-config [FILE] and where --config FILE CLIENT[:PORT].
// They call the config subsystem and the scheduler's simulator directly.
import { DirectordError } from '../errors';
import { loadConfig, runCheckConfig } from '../config';
import { servicesFromConfig, whereAll } from '../scheduler';
import { defaultOptions } from '../defaults';
import type { CliIo } from './io';

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
      const m = rest.length === 1 ? /^(\d{1,3}(?:\.\d{1,3}){3})(?::(\d{1,5}))?$/.exec(rest[0]) : null;
      if (!file || !m) throw new DirectordError('E_CLI_USAGE', 'usage: directorctl where --config FILE CLIENT_IP[:PORT]');
      const cfg = loadConfig(file);
      const answers = whereAll(servicesFromConfig(cfg), m[1], m[2] === undefined ? undefined : Number(m[2]));
      const result = answers.map((a) => ({
        client: m[1], clientPort: m[2] === undefined ? undefined : Number(m[2]), virtual: a.service.name ?? `${a.service.vip}:${a.service.port}`,
        vip: a.service.vip, port: a.service.port, destination: a.dest ? { address: a.dest.address, port: a.dest.port, server: a.dest.name } : undefined, reason: a.reason,
      }));
      if (json) io.out(JSON.stringify({ ok: true, result }) + '\n');
      else {
        for (const w of result) {
          const dest = w.destination ? `${w.destination.address}:${w.destination.port}${w.destination.server ? ` (${w.destination.server})` : ''}` : 'no real server';
          io.out(`${rest[0]} → ${w.virtual} ${w.vip}:${w.port} → ${dest}\n  because: ${w.reason}\n`);
        }
      }
      return 0;
    },
  },
];
