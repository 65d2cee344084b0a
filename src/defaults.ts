// Every default of the daemon and CLI in one object, so documentation and code cannot drift apart.

export const defaultOptions = Object.freeze({
  configFile: '/etc/sysconfig/ha/lvs.cf',
  controlSocket: '/run/directord/directord.sock',
  controlSocketMode: 0o660,
  controlGroup: 'directord',
  metricsAddress: undefined as string | undefined,
  logLevel: 'info',
  /** Connection-table slots in the native data plane (power of two). */
  connTableSize: 1 << 20,
  /** ipvsadm prints this as "(size=4096)": the kernel's default conn hash size. */
  ipvsBannerTableSize: 4096,
  dataplaneBackend: 'afpacket' as 'afpacket' | 'afxdp' | 'fake',
  /** Packet threads sleep as soon as their ring is empty, as HAProxy does without `busy-polling`: an idle director
   * costs no CPU. --busy-poll-us trades CPU for fewer kernel wake-ups (docs/benchmarks.md). */
  busyPollUs: 0,
  /** The longest busy-poll budget; DD_MAX_SPIN_US in native/include/abi.h (the addon refuses more). */
  busyPollMaxUs: 10_000,
  /** AF_PACKET packet threads (one PACKET_FANOUT socket each); undefined: one per CPU the daemon may use minus one
   * for the control plane, at least 1 (defaultPacketThreads in src/dataplane/afpacket.ts). --packet-threads N. */
  packetThreads: undefined as number | undefined,
  /** DD_MAX_PACKET_THREADS in native/include/abi.h (the addon refuses more). */
  packetThreadsMax: 64,
  /** A second, world-connectable socket that answers read-only commands (status, where) only: opt-in
   * (--read-only-socket), since any local user may then connect (output per connection is bounded). */
  readOnlySocket: false,
  readOnlySocketMode: 0o666,
  controlMaxLineBytes: 64 * 1024,
  controlRequestTimeoutMs: 30_000,
  controlIdleTimeoutMs: 60_000,
  controlMaxConnections: 64,
  controlMaxPendingPerConnection: 16,
  /** Replies buffered for one client beyond which its requests are no longer read (until it reads). */
  controlOutputSoftLimitBytes: 1024 * 1024,
  /** Beyond this the client is dropped (counted, logged); above the largest reply (status of 100k connections). */
  controlOutputHardLimitBytes: 64 * 1024 * 1024,
  /** Each stop step (HA with the VIP, checks, data plane, metrics, control socket) is abandoned after this long… */
  stopStepTimeoutMs: 5_000,
  /** …and the process exits after this long whatever hangs (below the unit's TimeoutStopSec=30s). */
  stopHardDeadlineMs: 20_000,
  /** After an uncaught exception: the stop gets this long, then the process exits (ExecStopPost cleans up the rest). */
  fatalStopDeadlineMs: 5_000,
  /** A server removed by a reload keeps weight 0 until its connections are gone, at most this long. */
  drainTimeoutMs: 300_000,
  drainPollMs: 1_000,
  /** Rate estimator period (the kernel's is 2 s). */
  rateSampleMs: 2_000,
  cliTimeoutMs: 35_000,
});
