// Shared helpers for config tests: deterministic resolvers and a small config builder with known line numbers.
import { builtinServiceResolver, mapHostResolver, type ParseOptions, type ValidateOptions } from '../../src/config';
import { readHeartbeatKey } from '../../src/ha/key';

/** The examples' key file lives on the director, not on the test machine: stand it in; any other path is read. */
export const EXAMPLE_KEY_FILE = '/etc/directord/heartbeat.key';

export const parseOpts: ParseOptions & ValidateOptions = {
  resolveHost: mapHostResolver({ 'sql1.example.com': '10.0.0.4', 'director-a': '10.0.0.1', 'director-b': '10.0.0.2' }),
  resolveService: builtinServiceResolver,
  readKey: (file) => (file === EXAMPLE_KEY_FILE ? Buffer.alloc(32, 7) : readHeartbeatKey(file)),
};

export interface Extra {
  /** Replaces line 2 (`network = direct`); null drops it (the line is then blank). */
  network?: string | null;
  global?: string[];
  virtual?: string[];
  server?: string[];
  /** Text appended after the virtual block. */
  tail?: string[];
}

/**
 * A valid config; with one extra line each, the extras land on known lines:
 * global extra → line 3 (column 1), virtual extra → line 6 (column 3), server extra → line 9 (column 5).
 */
export function mk(x: Extra = {}): string {
  const g = x.global ?? [];
  const v = (x.virtual ?? []).map((l) => `  ${l}`);
  const s = (x.server ?? []).map((l) => `    ${l}`);
  const network = x.network === undefined ? 'network = direct' : x.network === null ? '' : x.network;
  return [
    'primary = 10.0.0.1',
    network,
    ...g,
    'virtual v {',
    '  active = 1',
    '  address = 10.0.0.3 eth0:1',
    ...v,
    '  server s {',
    '    address = 10.0.0.4',
    '    active = 1',
    ...s,
    '  }',
    '}',
    ...(x.tail ?? []),
  ].join('\n') + '\n';
}
