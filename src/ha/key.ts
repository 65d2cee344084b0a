// The shared heartbeat/sync key from heartbeat_key_file: read once per (re)configuration, never logged.
import { readFileSync, statSync } from 'node:fs';
import { DirectordError } from '../errors';

export const MIN_KEY_BYTES = 16;

export function loadHeartbeatKey(file: string): Buffer {
  let raw: Buffer;
  try {
    if ((statSync(file).mode & 0o077) !== 0) {
      // Not fatal (packaging may differ), but worth saying: a world-readable key lets anyone forge heartbeats.
      process.emitWarning(`heartbeat key file ${file} is readable by group/others`, { code: 'W_HA_KEY_MODE' });
    }
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
