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
  /** A second, world-connectable socket that answers read-only commands (status, where) only. */
  readOnlySocket: true,
  readOnlySocketMode: 0o666,
  controlMaxLineBytes: 64 * 1024,
  controlRequestTimeoutMs: 30_000,
  controlIdleTimeoutMs: 60_000,
  controlMaxConnections: 64,
  controlMaxPendingPerConnection: 16,
  /** A server removed by a reload keeps weight 0 until its connections are gone, at most this long. */
  drainTimeoutMs: 300_000,
  drainPollMs: 1_000,
  /** Rate estimator period (the kernel's is 2 s). */
  rateSampleMs: 2_000,
  cliTimeoutMs: 35_000,
});
