// The one `where` answer, whether the daemon gives it from its live table or directorctl computes it from lvs.cf
// (where --config): the same client parsing and error, the same JSON envelope, the same lines for people.
import { DirectordError } from '../errors';
import { ControlErrorCode } from './protocol';
import type { WhereResult } from './types';
import { parseWhereClient as parseClient, type WhereClient } from '../scheduler';

/** CLIENT_IP[:PORT]; anything else is E_CTL_BAD_ARGS (exit 2), live and offline alike. */
export function parseWhereClient(client: string): WhereClient {
  const c = parseClient(client);
  if (!c) throw new DirectordError(ControlErrorCode.BadArgs, `where: '${client}' is not CLIENT_IP[:PORT] (e.g. 10.0.1.7:51000)`, { details: { client } });
  return c;
}

/** `CLIENT → virtual VIP:PORT → server` and the reason, one block per answer. */
export function renderWhere(r: WhereResult): string {
  const who = `${r.client}${r.clientPort !== undefined ? ':' + r.clientPort : ''}`;
  return r.answers
    .map((w) => {
      const dest = w.destination ? `${w.destination.address}:${w.destination.port}${w.destination.server ? ` (${w.destination.server})` : ''}` : 'no real server';
      return `${who} → ${w.virtual} ${w.vip}:${w.port} → ${dest}\n  because: ${w.reason}\n`;
    })
    .join('');
}
