// Connection sync over UDP unicast on sync_port: the active director drains the data plane every SYNC_INTERVAL_MS (a
// bounded slice per turn of the event loop, sync-drain.ts) and sends; the standby applies what it receives. A node
// whose table may be behind (start, partner heard again) fetches the whole table with a paced bulk transfer.
import { createSocket, type Socket } from 'node:dgram';
import type { DataPlane, ServiceSpec } from '../dataplane/types';
import { DirectordError } from '../errors';
import type { Logger } from '../log';
import { ReplayGuard } from './heartbeat-codec';
import { newBootId } from './heartbeat-io';
import { decodeSyncPacket, encodeSyncBatches, encodeSyncPacket, type BulkBlock, type SyncBatch, type SyncRejectReason } from './sync-codec';
import { SyncDrain, type SyncSlice } from './sync-drain';
import { decodeSyncRecords, encodeSyncRecordBatches } from './sync-records';
import { SyncFetchGate } from './sync-fetch-gate';
import { BULK_LIMITS, BulkReceiver, BulkSender, type BulkProgress, type ReceiverAction } from './sync-transfer';
import { decodeWriterRecord, encodeWriterRecords, isWriterRecord, type WriterDecisionRecord, type WriterRecord } from './writer-record';

export const SYNC_INTERVAL_MS = 150;
/** Writer decisions go out when they change (within one SYNC_INTERVAL_MS) and at least this often (loss, a new standby). */
export const WRITER_RESEND_MS = 1000;

/** Writer mode's hook (docs/writer.md, Two directors): the active sends its decisions, a standby adopts them. */
export interface WriterSync {
  decisions(): WriterDecisionRecord[];
  adopt(rec: WriterRecord, from: string): void;
}

/**
 * Bind without SO_REUSEADDR: with it, any local user could bind the same address and port (sync_port is above
 * 1024, no privilege needed) and receive the peer's datagrams in our place. Without it that bind fails with
 * EADDRINUSE; a squatter that bound first makes ours fail loudly (E_HA_BIND) instead of sharing the port.
 */
export function bindSyncSocket(address: string, port: number, onMessage: (msg: Buffer, from: string) => void): Promise<Socket> {
  return new Promise((resolve, reject) => {
    // A larger receive buffer (capped by net.core.rmem_max) absorbs a bulk transfer while the event loop is busy.
    const s = createSocket({ type: 'udp4', reuseAddr: false, recvBufferSize: 4 << 20 });
    s.once('error', (e) => {
      s.close();
      reject(new DirectordError('E_HA_BIND', `cannot bind UDP ${address}:${port} for connection sync: ${e.message}`, { cause: e, details: { address, port } }));
    });
    s.on('message', (msg, rinfo) => onMessage(msg, rinfo.address));
    s.bind({ address, port, exclusive: true }, () => {
      s.removeAllListeners('error');
      s.on('error', () => undefined); // send errors (peer unreachable) are transient
      resolve(s);
    });
  });
}

export interface SyncStatus {
  entriesSent: number;
  entriesApplied: number;
  entriesSkipped: number;
  /** Entries received and authenticated that the data plane did not take (no such service or real server here). */
  entriesNotApplied: number;
  /** Datagrams of the peer's current boot that never arrived (gaps in its sequence: socket overflow, loss). */
  datagramsLost: number;
  rejected: Record<string, number>;
  /** Whether this node's table is known to hold the peer's (see BulkReceiver). */
  synced: boolean;
  transfer: BulkProgress;
  transfersServed: number;
  /** Writer-decision datagrams sent (active) and adopted (standby). */
  writerRecordsSent: number;
  writerRecordsReceived: number;
}

export class SyncChannel {
  private sock?: Socket;
  private timer?: NodeJS.Timeout;
  private readonly bootId: bigint;
  private pacer?: NodeJS.Timeout;
  private receiverTimer?: NodeJS.Timeout;
  private seq = 0n;
  private readonly guard: ReplayGuard;
  private sending = false;
  private readonly bulkOut = new BulkSender();
  private readonly bulkIn = new BulkReceiver(newBootId);
  readonly rejected: Partial<Record<SyncRejectReason, number>> = {};
  entriesSent = 0;
  entriesApplied = 0;
  entriesSkipped = 0;
  entriesNotApplied = 0;
  datagramsLost = 0;
  /** The peer's boot and highest sequence seen, for datagramsLost. */
  private seqSeen?: { bootId: bigint; seq: bigint };
  writerRecordsSent = 0;
  writerRecordsReceived = 0;
  private writerSig = '';
  private writerSentAt = -Infinity;
  private readonly gate: SyncFetchGate;

  constructor(
    private readonly opts: {
      local: string; peer: string; port: number; key?: Buffer; dataplane: DataPlane; log: Logger;
      /** The heartbeat boot id; a sender boot is trusted only once the heartbeats proved it (no replay across restarts). */
      bootId?: bigint; proveBoot?: (bootId: bigint) => boolean;
      /** The table became synced (transfer done, or given up): a held failback may proceed. */
      onSynced?: () => void;
      /** Whether every real server has had its first health check: a standby fetches the table only then. */
      checksSettled?: () => boolean;
      now?: () => number;
      writers?: WriterSync;
      /**
       * Scale-out mesh (sync-mesh.ts): one shared socket sends for us, the mesh pumps the data plane for every peer,
       * the peer's stream is applied while we are active too, and with no heartbeats a peer boot is proven by
       * answering one of our table requests (its fresh random transfer id, under the HMAC) before it counts.
       */
      mesh?: { send: (msg: Buffer, address: string, port: number) => void };
    },
  ) {
    this.bootId = opts.bootId ?? newBootId();
    const proveBoot = opts.mesh ? (b: bigint): boolean => this.proven.includes(b) : opts.proveBoot;
    this.guard = new ReplayGuard(undefined, { proveBoot });
    this.gate = new SyncFetchGate({ checksSettled: opts.checksSettled, fetch: (r) => this.fetch(r), log: opts.log, peer: opts.peer });
    this.drain = new SyncDrain(opts.dataplane, (s) => this.sendSlice(s));
  }

  private readonly drain: SyncDrain;

  /** Mesh: boots of the peer that answered a transfer id of ours (the last few: bounded). */
  private readonly proven: bigint[] = [];

  private now(): number {
    return this.opts.now ? this.opts.now() : performance.now();
  }

  async open(): Promise<void> {
    if (this.opts.mesh) return;
    this.gate.seed(this.opts.dataplane.stats().services);
    this.sock = await bindSyncSocket(this.opts.local, this.opts.port, (msg, from) => this.receive(msg, from));
    this.timer = setInterval(() => this.pump(), SYNC_INTERVAL_MS);
  }

  /** Mesh: a datagram the shared socket received from this channel's peer. */
  deliver(msg: Buffer, from: string): void {
    this.receive(msg, from);
  }

  /** A slice of the data plane's changes (the mesh drains once for every peer): sent while active, else dropped. */
  sendSlice(s: SyncSlice): void {
    if (!this.sending || (!this.sock && !this.opts.mesh)) return;
    const o = { key: this.opts.key, bootId: this.bootId, nextSeq: () => ++this.seq };
    const r = 'records' in s ? encodeSyncRecordBatches(s.layout, s.records, o) : encodeSyncBatches(s.entries, o);
    this.entriesSkipped += r.skipped;
    for (const p of r.packets) this.transmit(p);
    this.entriesSent += r.sent;
  }

  private transmit(msg: Buffer): void {
    if (this.opts.mesh) this.opts.mesh.send(msg, this.opts.peer, this.opts.port);
    else this.sock?.send(msg, this.opts.port, this.opts.peer);
  }

  /** A reload may change heartbeat_key_file; the channel shares the heartbeat key. */
  setKey(key: Buffer | undefined): void {
    this.opts.key = key;
  }

  /** Active: stream changes to the peer, and our table is the truth. Standby: drain and drop (the peer's echoes). */
  setSending(on: boolean): void {
    this.sending = on;
    this.writerSig = ''; // an activation sends the decisions at once
    if (on) {
      this.bulkIn.stop(true);
      this.armReceiverTimer();
    }
  }

  get synced(): boolean {
    return this.bulkIn.synced;
  }

  /** Why failback and takeover wait while not synced, for the operator (E_HA_NOT_SYNCED, the hold's log). */
  waitReason(): string {
    if (this.gate.waiting) return "this node's first health checks have not all reported yet; the connection table is fetched from the peer after them";
    const p = this.bulkIn.progress();
    return `the connection table is still being fetched from the peer (${p.entriesReceived}${p.total === null ? '' : ` of ${p.total}`} entries, attempt ${p.attempt})`;
  }

  /**
   * Standby whose table may be behind the peer's (we started, or the partner is heard again): fetch it all. Active
   * (a partition healed, or we resumed from a pause and win the split brain): merge the peer's table into ours, since
   * it served connections we never saw; one merge at a time.
   */
  requestTable(reason: string): void {
    if (this.sending && this.bulkIn.inProgress) return;
    if (this.gate.mayFetch(reason, !this.sending && !this.opts.mesh)) this.fetch(reason);
  }

  private fetch(reason: string): void {
    this.opts.log.info({ peer: this.opts.peer, reason }, 'asking the peer for its whole connection table; failback and takeover wait for it');
    this.act(this.bulkIn.begin(this.now(), reason));
  }

  /** The partner is dead: nothing to fetch (the deadtime rule takes over at once, synced or not). */
  peerLost(): void {
    this.gate.peerLost();
    this.bulkIn.stop(false);
    this.bulkOut.cancel();
    this.armReceiverTimer();
  }

  /**
   * Our policy table was replaced, or a health check reported. A standby waiting for its first checks fetches now; one
   * that dropped entries of the peer because their real server was not in its table fetches again when a server
   * enters (SyncFetchGate). IPVS keeps such entries unbound instead (ip_vs_try_bind_dest); our table holds only
   * entries it can forward. Scale-out watches its own table (scale-out.ts).
   */
  tableChanged(services: readonly ServiceSpec[]): void {
    this.gate.tableChanged(services, !this.sending && !this.opts.mesh);
  }

  /** Push the whole table, paced (after our activation: the peer may have missed the last changes). */
  sendFullTable(): void {
    if (!this.sending) return;
    this.serve(newBootId(), 'activation');
  }

  pump(): void {
    this.drain.pump();
    if (this.sending && this.opts.writers) this.pumpWriters();
  }

  private pumpWriters(): void {
    const decisions = this.opts.writers!.decisions();
    if (!decisions.length || !this.sock) return;
    const sig = JSON.stringify(decisions.map((d) => [d.service, d.writer, d.switches, d.reason]));
    const t = this.now();
    if (sig === this.writerSig && t - this.writerSentAt < WRITER_RESEND_MS) return;
    this.writerSig = sig;
    this.writerSentAt = t;
    for (const p of encodeWriterRecords({ by: this.opts.local, decisions }, { key: this.opts.key, bootId: this.bootId, nextSeq: () => ++this.seq })) {
      this.sock.send(p, this.opts.port, this.opts.peer);
      this.writerRecordsSent++;
    }
  }

  /** A writer record: authenticated and replay-checked like the rest; adopted only while we are not active. */
  private receiveWriters(msg: Buffer, from: string, bad: (reason: SyncRejectReason, detail: string) => void): void {
    const r = decodeWriterRecord(msg, this.opts.key);
    if (!r.ok) return bad(r.reason, r.detail);
    const g = this.guard.check({ nodeId: from, bootId: r.bootId, seq: r.seq });
    if (!g.ok) return bad(g.reason, g.detail);
    this.noteSeq(r.bootId, r.seq);
    if (this.sending || !this.opts.writers) return;
    this.writerRecordsReceived++;
    this.opts.writers.adopt(r.record, from);
  }

  status(): SyncStatus {
    return {
      entriesSent: this.entriesSent, entriesApplied: this.entriesApplied, entriesSkipped: this.entriesSkipped,
      entriesNotApplied: this.entriesNotApplied, datagramsLost: this.datagramsLost,
      rejected: { ...this.rejected } as Record<string, number>, synced: this.bulkIn.synced, transfer: this.bulkIn.progress(),
      transfersServed: this.bulkOut.transfers, writerRecordsSent: this.writerRecordsSent, writerRecordsReceived: this.writerRecordsReceived,
    };
  }

  private sendControl(batch: Omit<SyncBatch, 'bootId' | 'seq'>): void {
    this.transmit(encodeSyncPacket({ ...batch, bootId: this.bootId, seq: ++this.seq }, this.opts.key));
  }

  /** Answer a bulk request (or push after activation): one snapshot, sent BULK_LIMITS.burst datagrams per tick. */
  private serve(transferId: bigint, why: string): void {
    const dp = this.opts.dataplane;
    this.bulkOut.start(transferId, dp.connectionSnapshot ? dp.connectionSnapshot() : dp.connections());
    this.opts.log.info({ peer: this.opts.peer, why }, 'sending the whole connection table to the peer');
    if (this.pacer) return;
    const tick = (): void => {
      for (const c of this.bulkOut.next()) {
        this.sendControl(c);
        this.entriesSent += c.entries.length;
      }
      if (!this.bulkOut.busy && this.pacer) {
        clearInterval(this.pacer);
        this.pacer = undefined;
      }
    };
    this.pacer = setInterval(tick, BULK_LIMITS.pacingMs);
    tick();
  }

  private act(actions: ReceiverAction[]): void {
    for (const a of actions) {
      if (a.kind === 'request') {
        if (a.attempt > 1) this.opts.log.warn({ peer: this.opts.peer, attempt: a.attempt, reason: a.reason }, 'connection table transfer incomplete: asking again');
        this.sendControl({ entries: [], bulk: { kind: 'request', transferId: a.transferId, index: 0, total: 0 } });
      } else if (a.kind === 'synced') {
        this.opts.log.info({ peer: this.opts.peer, entries: a.entries, ms: a.ms }, 'connection table synced from the peer');
        this.opts.onSynced?.();
      } else {
        this.opts.log.error(
          { peer: this.opts.peer, reason: a.reason },
          '!!! CONNECTION TABLE NOT SYNCED FROM THE PEER: failback and takeover proceed with what this node has; established connections the peer holds may be reset !!!',
        );
        this.opts.onSynced?.();
      }
    }
    this.armReceiverTimer();
  }

  private armReceiverTimer(): void {
    if (this.receiverTimer) clearTimeout(this.receiverTimer);
    this.receiverTimer = undefined;
    const at = this.bulkIn.nextTimerMs();
    if (at === undefined || (!this.sock && !this.opts.mesh)) return;
    this.receiverTimer = setTimeout(() => this.act(this.bulkIn.tick(this.now())), Math.max(1, Math.ceil(at - this.now())));
  }

  private receive(msg: Buffer, from: string): void {
    const bad = (reason: SyncRejectReason, detail: string) => {
      const n = (this.rejected[reason] = (this.rejected[reason] ?? 0) + 1);
      if (n <= 5 || n % 100 === 0) this.opts.log.warn({ reason, from, detail, count: n }, 'sync datagram rejected');
    };
    if (from !== this.opts.peer) return bad('unexpected_source', from);
    if (isWriterRecord(msg)) return this.receiveWriters(msg, from, bad);
    // The data plane's own records where it takes them (no object per connection), entries otherwise (the fake).
    const raw = this.opts.dataplane.syncRecords;
    const r = raw ? decodeSyncRecords(raw.layout, msg, this.opts.key) : decodeSyncPacket(msg, this.opts.key);
    if (!r.ok) return bad(r.reason, r.detail);
    const bulk = r.batch.bulk;
    if (this.opts.mesh) this.noteProof(r.batch);
    const g = this.guard.check({ nodeId: from, bootId: r.batch.bootId, seq: r.batch.seq });
    if (!g.ok) {
      if (this.opts.mesh && g.reason === 'unproven') {
        // Serving a table changes nothing here; asking for the peer's proves its boot (its answer carries our id).
        if (bulk?.kind === 'request') this.serve(bulk.transferId, 'requested by a peer boot not yet proven');
        if (!this.bulkIn.inProgress) this.requestTable('a new boot of the peer: its answer proves it');
      }
      return bad(g.reason, g.detail);
    }
    this.noteSeq(r.batch.bootId, r.batch.seq);
    if (bulk?.kind === 'request') return this.serve(bulk.transferId, 'requested by the peer');
    if (bulk?.kind === 'end') return this.act(this.bulkIn.onEnd(bulk, this.now()));
    // Active: the peer's incremental stream is older than our view, but a table we asked for (a merge) is applied.
    // In a mesh every director is active and each stream is the truth of the flows its sender forwards.
    if (this.sending && !this.opts.mesh && !(bulk?.kind === 'data' && bulk.transferId === this.bulkIn.currentTransfer)) return;
    const b = r.batch;
    const took = 'records' in b ? raw!.applySyncRecords(b.records) : this.opts.dataplane.applySyncUpdates(b.entries);
    const n = 'records' in b ? b.count : b.entries.length;
    this.entriesApplied += typeof took === 'number' ? took : n;
    if (typeof took === 'number' && took < n) {
      this.entriesNotApplied += n - took;
      this.gate.noteDropped();
    }
    if (bulk?.kind === 'data') this.act(this.bulkIn.onData(bulk, n, this.now()));
  }

  /**
   * The guard passed, so seq is above every earlier one of this boot: a jump means the datagrams in between never
   * came (receive buffer overflow, loss; a late one would be refused as replayed). A new boot starts afresh.
   */
  private noteSeq(bootId: bigint, seq: bigint): void {
    const s = this.seqSeen;
    if (s && s.bootId === bootId && seq > s.seq + 1n) this.datagramsLost += Number(seq - s.seq - 1n);
    this.seqSeen = { bootId, seq };
  }

  /** An authenticated answer carrying the transfer id we are waiting for cannot be a replay: its boot is live. */
  private noteProof(b: { bootId: bigint; bulk?: BulkBlock }): void {
    const t = this.bulkIn.currentTransfer;
    if (!b.bulk || b.bulk.kind === 'request' || t === undefined || b.bulk.transferId !== t || this.proven.includes(b.bootId)) return;
    this.proven.push(b.bootId);
    if (this.proven.length > 4) this.proven.shift();
  }

  close(): void {
    this.drain.close();
    this.gate.close();
    for (const t of [this.timer, this.pacer]) if (t) clearInterval(t);
    if (this.receiverTimer) clearTimeout(this.receiverTimer);
    this.timer = this.pacer = this.receiverTimer = undefined;
    try {
      this.sock?.close();
    } catch {
      /* closed */
    }
    this.sock = undefined;
  }
}
