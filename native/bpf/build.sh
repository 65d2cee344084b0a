#!/bin/sh
# Compiles the AF_XDP backend's XDP program into build/Release (run by `npm run build:native` after node-gyp).
# Without clang or the BPF headers it says so and exits 0: the AF_PACKET backend does not need it.
set -e
cd "$(dirname "$0")/../.."
out=build/Release/directord_xdp.bpf.o
if ! command -v clang >/dev/null 2>&1 || [ ! -f /usr/include/bpf/bpf_helpers.h ]; then
  echo "native/bpf: clang or libbpf headers missing; AF_XDP backend not built (AF_PACKET only)" >&2
  exit 0
fi
mkdir -p build/Release
multiarch=$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
clang -O2 -g -Wall -target bpf -I/usr/include/"$multiarch" -Inative/include -c native/bpf/directord_xdp.bpf.c -o "$out"
echo "native/bpf: built $out"
