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
});
