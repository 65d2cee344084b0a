// Scale-out connection sync: one UDP socket on sync_port, one SyncChannel per peer director (full mesh). The data
// plane's changes are drained once and sent to every peer; what a peer sends is applied. Each channel keeps its own
// replay guard, boot proof and transfer state, so the memory per peer is bounded and one peer cannot poison another's.
import type { Socket } from 'node:dgram';
import type { DataPlane } from '../dataplane/types';
import type { Logger } from '../log';
import { SyncDrain } from './sync-drain';
import { bindSyncSocket, SYNC_INTERVAL_MS, SyncChannel, type SyncStatus } from './sync-io';

export interface SyncMeshOptions {
  /** Address to bind (this director's address among sync_peers), or 0.0.0.0 when none of them is local. */
  local: string;
  peers: string[];
  port: number;
  key?: Buffer;
  dataplane: DataPlane;
  log: Logger;
}

export interface SyncMeshStatus {
  peers: Array<{ address: string } & SyncStatus>;
  /** Datagrams from an address that is not a configured peer. */
  unexpectedSource: number;
}

export class SyncMesh {
  private sock?: Socket;
  private timer?: NodeJS.Timeout;
  private readonly channels = new Map<string, SyncChannel>();
  unexpectedSource = 0;
  private readonly drain: SyncDrain;

  constructor(private readonly opts: SyncMeshOptions) {
    this.drain = new SyncDrain(opts.dataplane, (s) => {
      for (const ch of this.channels.values()) ch.sendSlice(s);
    });
  }

  async open(): Promise<void> {
    const o = this.opts;
    this.sock = await bindSyncSocket(o.local, o.port, (msg, from) => this.dispatch(msg, from));
    const send = (msg: Buffer, address: string, port: number): void => void this.sock?.send(msg, port, address);
    for (const peer of o.peers) {
      // Each channel its own boot id and sequence: a datagram sent to one peer (captured on the wire, or kept by that
      // peer) carries a boot the others never proved, so it cannot be replayed to them.
      const ch = new SyncChannel({ local: o.local, peer, port: o.port, key: o.key, dataplane: o.dataplane, log: o.log, mesh: { send } });
      await ch.open();
      ch.setSending(true);
      this.channels.set(peer, ch);
    }
    this.timer = setInterval(() => this.pump(), SYNC_INTERVAL_MS);
    // A director that joins (or restarts) has missed what its peers hold: fetch every peer's table.
    for (const ch of this.channels.values()) ch.requestTable('joining the scale-out mesh');
  }

  setKey(key: Buffer | undefined): void {
    this.opts.key = key;
    for (const ch of this.channels.values()) ch.setKey(key);
  }

  /** Drain the data plane once (a bounded slice per turn) and send the same changes to every peer. */
  pump(): void {
    this.drain.pump();
  }

  /** Fetch every peer's table again (entries for a server not yet in our table were dropped when they came). */
  requestTables(reason: string): void {
    for (const ch of this.channels.values()) ch.requestTable(reason);
  }

  /** Whether a table transfer from some peer is under way. */
  get transferring(): boolean {
    return [...this.channels.values()].some((c) => c.status().transfer.phase === 'transferring');
  }

  /** Whether every peer's table was fetched (or its transfer gave up, logged loudly). */
  get synced(): boolean {
    return [...this.channels.values()].every((c) => c.synced);
  }

  status(): SyncMeshStatus {
    return { peers: [...this.channels].map(([address, c]) => ({ address, ...c.status() })), unexpectedSource: this.unexpectedSource };
  }

  private dispatch(msg: Buffer, from: string): void {
    const ch = this.channels.get(from);
    if (ch) return ch.deliver(msg, from);
    if (++this.unexpectedSource <= 5 || this.unexpectedSource % 100 === 0) this.opts.log.warn({ from, count: this.unexpectedSource }, 'sync datagram from an address that is not in sync_peers: ignored');
  }

  close(): void {
    this.drain.close();
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    for (const ch of this.channels.values()) ch.close();
    this.channels.clear();
    try {
      this.sock?.close();
    } catch {
      /* closed */
    }
    this.sock = undefined;
  }
}
