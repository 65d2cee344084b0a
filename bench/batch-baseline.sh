#!/bin/sh
# Builds the baseline of bench/conntable.ts's batch figure (BATCH_BASELINE): the sources of REF (default 8ef826e, the
# last main without the prefetch pass) with this checkout's benchBatch (probes.c, forward.h, prefetch.h) laid over
# them and dd_process_hashed calling REF's dd_process, so the figure's "no pass" way runs the per-frame code before
# the pass. Usage: sh bench/batch-baseline.sh [dir] [REF] (dir default /tmp/dd-mainbatch); prints the path of the
# directord_bench.node it built.
set -e
repo=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-/tmp/dd-mainbatch}
ref=${2:-8ef826e}
rm -rf "$dir" && mkdir -p "$dir"
git -C "$repo" archive "$ref" native binding.gyp | tar -x -C "$dir"
cp "$repo/native/src/probes.c" "$repo/native/src/forward.h" "$repo/native/src/prefetch.h" "$dir/native/src/"
if ! grep -q dd_process_hashed "$dir/native/src/core.h"; then
  cat >> "$dir/native/src/core.h" <<'H'
void dd_process_hashed(struct dd_table *t, const struct dd_pkt *p, const uint32_t *hash, int64_t now, struct dd_decision *d);
H
  cat > "$dir/native/src/overlay.c" <<'C'
#include "core.h"
void dd_process_hashed(struct dd_table *t, const struct dd_pkt *p, const uint32_t *hash, int64_t now, struct dd_decision *d) {
  (void)hash;
  dd_process(t, p, now, d);
}
C
  sed -i 's|"native/src/probes.c",|"native/src/probes.c", "native/src/overlay.c",|' "$dir/binding.gyp"
fi
grep -A2 '"native/src/probes.c"' "$dir/binding.gyp" | grep -q frame.c || sed -i 's|"native/src/probes.c",|"native/src/probes.c", "native/src/frame.c",|' "$dir/binding.gyp"
(cd "$dir" && "$repo/node_modules/.bin/node-gyp" rebuild --nodedir=/usr >build.log 2>&1) || { tail -20 "$dir/build.log" >&2; exit 1; }
echo "$dir/build/Release/directord_bench.node"
