// The shared heartbeat/sync key from heartbeat_key_file: read once per (re)configuration, never logged.
import { readFileSync, statSync } from 'node:fs';
import { DirectordError } from '../errors';

export const MIN_KEY_BYTES = 16;

export function loadHeartbeatKey(file: string): Buffer {
  return readHeartbeatKey(file, (mode) => {
    // Not fatal (packaging may differ), but worth saying: a world-readable key lets anyone forge heartbeats.
    if ((mode & 0o077) !== 0) process.emitWarning(`heartbeat key file ${file} is readable by group/others`, { code: 'W_HA_KEY_MODE' });
  });
}

/** The same checks without the mode warning: `--check-config` and every reload validate the key file with it. */
export function readHeartbeatKey(file: string, onMode: (mode: number) => void = () => undefined): Buffer {
  let raw: Buffer;
  try {
    onMode(statSync(file).mode);
    raw = readFileSync(file);
  } catch (e) {
    throw new DirectordError('E_HA_KEY_READ', `cannot read heartbeat key file ${file}: ${(e as Error).message}`, { cause: e, details: { file } });
  }
  const key = Buffer.from(raw.toString('latin1').replace(/[\r\n]+$/, ''), 'latin1');
  if (key.length < MIN_KEY_BYTES) {
    throw new DirectordError('E_HA_KEY_TOO_SHORT', `heartbeat key in ${file} has ${key.length} bytes, at least ${MIN_KEY_BYTES} required`, { details: { file } });
  }
  return key;
}
