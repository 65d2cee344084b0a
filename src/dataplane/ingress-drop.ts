// Keeps the director's own kernel from answering for a virtual service (no RST to a SYN for VIP:port): an nftables
// netdev ingress drop in a named table. AF_PACKET ETH_P_ALL taps run before ingress, so the forwarder still sees
// every frame. Replacing the table is one atomic nft transaction, which also removes one left by a crash.
import { execFile } from 'node:child_process';
import { DirectordError } from '../errors';
import type { ServiceSpec } from './types';

export const NFT_TABLE = 'directord';

export function ingressRuleset(ifname: string, services: ServiceSpec[]): string {
  const rules = new Set<string>();
  for (const s of services) {
    if (s.fwmark || s.port === 0) rules.add(`    ip daddr ${s.vip} meta l4proto { tcp, udp } drop`);
    else rules.add(`    ip daddr ${s.vip} ${s.protocol} dport ${s.port} drop`);
    rules.add(`    ip daddr ${s.vip} ip frag-off & 0x3fff != 0 drop`);
    // Relayed to the real server of the flow: the director's own stack has no such flow to learn from.
    rules.add(`    ip daddr ${s.vip} icmp type { destination-unreachable, source-quench, time-exceeded } drop`);
  }
  // "table ...; delete table ..." first: creates-then-deletes any stale table in the same transaction.
  return [
    `table netdev ${NFT_TABLE} {}`,
    `delete table netdev ${NFT_TABLE}`,
    `table netdev ${NFT_TABLE} {`,
    `  chain ingress {`,
    `    type filter hook ingress device "${ifname}" priority -500; policy accept;`,
    ...rules,
    `  }`,
    `}`,
    '',
  ].join('\n');
}

/** nft answers in milliseconds; one that hangs (a stuck netlink lock) is killed after this long. */
export const NFT_TIMEOUT_MS = 10_000;

export interface NftOptions {
  /** Tests: another binary in place of nft. */
  binary?: string;
  timeoutMs?: number;
}

/**
 * Run `nft -f -` with the ruleset on stdin. Every failure (nft missing, exiting early so stdin gets EPIPE, hanging
 * past the timeout) rejects with E_DATAPLANE_NFT; none of them throws out of an event handler.
 */
export function runNft(input: string, opts: NftOptions = {}): Promise<void> {
  return new Promise((resolve, reject) => {
    let stdinError: Error | undefined;
    const child = execFile(opts.binary ?? 'nft', ['-f', '-'], { timeout: opts.timeoutMs ?? NFT_TIMEOUT_MS, killSignal: 'SIGKILL' }, (err, _stdout, stderr) => {
      if (!err && !stdinError) return resolve();
      if (!err) return reject(new DirectordError('E_DATAPLANE_NFT', `nft exited before reading the whole ruleset (stdin: ${stdinError!.message})`));
      const why = err.killed ? `killed after ${opts.timeoutMs ?? NFT_TIMEOUT_MS} ms` : String(stderr).trim() || err.message;
      reject(new DirectordError('E_DATAPLANE_NFT', `nft failed: ${why}${stdinError ? ` (stdin: ${stdinError.message})` : ''}`, { cause: err }));
    });
    // EPIPE when nft exits without reading everything: its exit status (above) tells what went wrong.
    child.stdin!.on('error', (e) => void (stdinError = e));
    child.stdin!.end(input);
  });
}

export function installIngressDrop(ifname: string, services: ServiceSpec[], opts: NftOptions = {}): Promise<void> {
  return runNft(ingressRuleset(ifname, services), opts);
}

/** Idempotent: creating the table first makes the delete succeed whether or not one was there. */
export async function removeIngressDrop(opts: NftOptions = {}): Promise<void> {
  await runNft(`table netdev ${NFT_TABLE} {}\ndelete table netdev ${NFT_TABLE}\n`, opts);
}
