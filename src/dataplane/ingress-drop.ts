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

function nft(input: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = execFile('nft', ['-f', '-'], (err, _stdout, stderr) => {
      if (err) reject(new DirectordError('E_DATAPLANE_NFT', `nft failed: ${stderr.trim() || err.message}`, { cause: err }));
      else resolve();
    });
    child.stdin!.end(input);
  });
}

export function installIngressDrop(ifname: string, services: ServiceSpec[]): Promise<void> {
  return nft(ingressRuleset(ifname, services));
}

export async function removeIngressDrop(): Promise<void> {
  await nft(`table netdev ${NFT_TABLE} {}\ndelete table netdev ${NFT_TABLE}\n`);
}
