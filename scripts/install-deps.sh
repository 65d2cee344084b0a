#!/usr/bin/env bash
# Installs everything directord's build, tests, demo and benchmarks need on a fresh Debian 12 machine (as root),
# then the npm dependencies (install scripts approved in package.json "allowScripts") and the build.
set -euo pipefail
cd "$(dirname "$0")/.."
APT_PACKAGES=(
  build-essential python3 pkg-config libpcap-dev libbpf-dev libxdp-dev clang llvm
  iproute2 iputils-ping arping ethtool nftables netcat-openbsd tcpdump procps psmisc
  mariadb-server mariadb-client sysbench haproxy iperf3 netsniff-ng prometheus systemd
  lintian mmdebstrap dpkg-repack man-db bird2
)
missing=()
for p in "${APT_PACKAGES[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "== apt: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # Debian's maintainer scripts would start mariadb/haproxy/prometheus/bird in the root namespace: forbid that.
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  rm -f /usr/sbin/policy-rc.d
fi
command -v node >/dev/null || { echo "node 20 is required" >&2; exit 1; }
echo "== npm: installing dependencies"
if [ -f package-lock.json ]; then npm ci --no-audit --no-fund >/dev/null; else npm install --no-audit --no-fund >/dev/null; fi
echo "== building native addon and TypeScript"
log=$(mktemp)
if ! npm run build >"$log" 2>&1; then cat "$log" >&2; rm -f "$log"; echo "build failed" >&2; exit 1; fi
rm -f "$log"
