// The seam between directord and a BGP speaker: announce/withdraw a VIP, flush, read the sessions. BirdAnnouncer
// is BIRD 2 through a generated include file + `birdc configure`; an FRR (vtysh) or GoBGP (gRPC) one fits the same.
import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { DirectordError } from '../errors';
import { dropPlan } from '../util/child';
import { BIRD_NAMES, birdInclude, peerProtocol } from './bird-conf';
import { parseBfdSessions, parseProtocols, parseRoutes } from './birdc-parse';
import type { BgpSettings } from './settings';

export interface PeerView {
  peer: string;
  /** The speaker's name for the session (BIRD protocol name). */
  protocol: string;
  /** BGP FSM state (Idle … Established), or the speaker's protocol state when it has none. */
  state: string;
  established: boolean;
  since?: string;
  /** Routes the speaker exports on this session now. */
  exported?: number;
  lastError?: string;
  /** BFD session state (Up, Down, Init…), when BFD is on. */
  bfd?: string;
}

export interface SpeakerStatus {
  /** False when the speaker cannot be asked (socket absent, bird not running); `error` says why. */
  reachable: boolean;
  error?: string;
  peers: PeerView[];
  /** VIPs the speaker holds for export right now (its own table, not what directord asked for). */
  exporting: string[];
}

/** What the BGP subsystem needs from a speaker. Calls are serialised by the caller. */
export interface Announcer {
  readonly kind: string;
  announce(vip: string): void;
  withdraw(vip: string): void;
  /** Push the announce/withdraw set to the speaker; throws a DirectordError (E_BGP_*) when it refused or was absent. */
  flush(): Promise<void>;
  status(): Promise<SpeakerStatus>;
}

export type Run = (argv: string[], timeoutMs: number) => Promise<{ code: number; stdout: string; stderr: string }>;

let prefix: string[] | undefined;

/** birdc, like every program the daemon runs, without the daemon's ambient capabilities (src/util/child.ts). */
export const runCommand: Run = (command, timeoutMs) =>
  new Promise((resolve) => {
    const argv = [...(prefix ??= dropPlan().prefix), ...command];
    execFile(argv[0], argv.slice(1), { timeout: timeoutMs, encoding: 'utf8' }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 127) : 0;
      resolve({ code, stdout: String(stdout ?? ''), stderr: String(stderr ?? '') || (err && !stdout ? String(err.message) : '') });
    });
  });

export interface BirdOptions {
  settings: BgpSettings;
  /** The lvs.cf path, named in the generated file's header. */
  source: string;
  birdc?: string;
  run?: Run;
  timeoutMs?: number;
  writeFile?: (file: string, text: string) => void;
}

/** Atomic: bird may re-read the include (its own `configure`) at any moment and must never see half a file. */
export function writeFileAtomic(file: string, text: string): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.tmp${process.pid}`;
  writeFileSync(tmp, text);
  // bird runs as its own user: readable by all whatever the unit's UMask=0007 made of the create mode.
  chmodSync(tmp, 0o644);
  renameSync(tmp, file);
}

export class BirdAnnouncer implements Announcer {
  readonly kind = 'bird';
  private readonly wanted = new Set<string>();
  private applied: string | undefined;
  private settings: BgpSettings;

  constructor(private readonly o: BirdOptions) {
    this.settings = o.settings;
  }

  /** A reload changed the bgp_* keys: the next flush rewrites the file with them. */
  setSettings(s: BgpSettings): void {
    this.settings = s;
  }

  announce(vip: string): void {
    this.wanted.add(vip);
  }

  withdraw(vip: string): void {
    this.wanted.delete(vip);
  }

  /** The file's text for the current set (what flush writes). */
  text(): string {
    return birdInclude(this.settings, [...this.wanted], this.o.source);
  }

  private birdc(args: string[]): ReturnType<Run> {
    return (this.o.run ?? runCommand)([this.o.birdc ?? 'birdc', '-s', this.settings.birdcSocket, ...args], this.o.timeoutMs ?? 5000);
  }

  async flush(): Promise<void> {
    const text = this.text();
    if (text === this.applied) return;
    try {
      (this.o.writeFile ?? writeFileAtomic)(this.settings.includeFile, text);
    } catch (e) {
      throw new DirectordError('E_BGP_INCLUDE_WRITE', `cannot write ${this.settings.includeFile}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
    }
    const r = await this.birdc(['configure']);
    const out = `${r.stdout}\n${r.stderr}`;
    // birdc exits 0 whatever bird answered: the answer text says whether the new config is in force.
    if (!/Reconfigured|Reconfiguration in progress|Reconfiguration already in progress/.test(out)) {
      const why = out.split('\n').map((l) => l.trim()).filter((l) => l && !/^BIRD \S+ ready\.$/.test(l)).join('; ') || `birdc exit ${r.code}`;
      const code = /Unable to connect|No such file|Connection refused|ENOENT/.test(out) || r.code === 127 ? 'E_BGP_UNREACHABLE' : 'E_BGP_CONFIGURE';
      throw new DirectordError(code, `birdc configure (${this.settings.birdcSocket}): ${why}`);
    }
    this.applied = text;
  }

  /** Forget what was applied, so the next flush writes and configures again (bird restarted, or a flush failed). */
  invalidate(): void {
    this.applied = undefined;
  }

  async status(): Promise<SpeakerStatus> {
    const p = await this.birdc(['show', 'protocols', 'all']);
    if (!/Name\s+Proto\s+Table\s+State/.test(p.stdout)) {
      const why = `${p.stdout}\n${p.stderr}`.split('\n').map((l) => l.trim()).filter(Boolean).join('; ') || `birdc exit ${p.code}`;
      return { reachable: false, error: why, peers: [], exporting: [] };
    }
    const protos = parseProtocols(p.stdout);
    const routes = parseRoutes((await this.birdc(['show', 'route', 'table', BIRD_NAMES.table, 'protocol', BIRD_NAMES.vips])).stdout);
    const bfd = this.settings.bfd ? parseBfdSessions((await this.birdc(['show', 'bfd', 'sessions'])).stdout) : [];
    const peers = this.settings.peers.map((peer, i): PeerView => {
      const name = peerProtocol(i);
      const pr = protos.find((x) => x.name === name);
      const b = bfd.find((x) => x.address === peer);
      return {
        peer, protocol: name, state: pr?.bgpState ?? pr?.state ?? 'absent', established: pr?.bgpState === 'Established',
        ...(pr ? { since: pr.since } : {}), ...(pr?.routes ? { exported: pr.routes.exported } : {}), ...(pr?.lastError ? { lastError: pr.lastError } : {}),
        ...(this.settings.bfd ? { bfd: b?.state ?? 'none' } : {}),
      };
    });
    return { reachable: true, peers, exporting: routes.map((r) => r.prefix.replace(/\/32$/, '')) };
  }
}
