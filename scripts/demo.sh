#!/usr/bin/env bash
# The README's first command: on a fresh Debian machine, as root, install what is needed and run the seed deployment
# (client, lb1, lb2, sql1, sql2 in network namespaces) with directord, narrating what happens.
#   bash scripts/demo.sh          run the demo, then remove everything
#   bash scripts/demo.sh --keep   leave the lab running to explore it
#   bash scripts/demo.sh --down   remove a lab left by --keep
set -euo pipefail
cd "$(dirname "$0")/.."
STATE=/run/directord-demo
mode=${1:-run}
[ "$(id -u)" = 0 ] || { echo "demo: run as root (it creates network namespaces)" >&2; exit 1; }

down() {
  if [ -f "$STATE.pid" ]; then
    pid=$(cat "$STATE.pid")
    if kill -0 "$pid" 2>/dev/null; then
      echo "== stopping the demo lab (pid $pid)"
      kill -TERM "$pid"
      for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
    rm -f "$STATE.pid" "$STATE.log"
    if ip netns list | grep -q "^dd${pid}[a-z]-seed-"; then echo "demo: namespaces still present:"; ip netns list | grep "^dd${pid}"; exit 1; fi
    echo "== demo lab removed"
  else
    echo "== no demo lab running"
  fi
}

case "$mode" in
  --down) down; exit 0 ;;
  --keep|run) ;;
  *) echo "usage: $0 [--keep|--down]" >&2; exit 2 ;;
esac

if [ -f "$STATE.pid" ] && kill -0 "$(cat "$STATE.pid")" 2>/dev/null; then
  echo "demo: a lab is already running (pid $(cat "$STATE.pid")); use $0 --down first" >&2; exit 1
fi

if [ "${DIRECTORD_DEMO_SKIP_INSTALL:-0}" != 1 ]; then   # set by developers whose tree is already installed
  echo "== installing dependencies and building (scripts/install-deps.sh)"
  bash scripts/install-deps.sh
fi
node_modules/.bin/tsc -p . >/dev/null || true   # test/lab (the demo) compiles with the rest; type errors still emit

export DIRECTORD_DEMO=1
if [ "$mode" = run ]; then
  exec node dist/test/lab/demo.js
fi

# --keep: the demo process owns the lab and stays alive in the background; show its narration until it is ready.
: >"$STATE.log"
setsid node dist/test/lab/demo.js --keep >"$STATE.log" 2>&1 </dev/null &
echo $! >"$STATE.pid"
shown=0
while :; do
  total=$(wc -l <"$STATE.log")
  if [ "$total" -gt "$shown" ]; then sed -n "$((shown + 1)),${total}p" "$STATE.log" | grep -v '^ready: ' || true; shown=$total; fi
  if grep -q '^ready: ' "$STATE.log"; then sed -n "$((shown + 1)),\$p" "$STATE.log" | grep -v '^ready: ' || true; break; fi
  if ! kill -0 "$(cat "$STATE.pid")" 2>/dev/null; then
    sed -n "$((shown + 1)),\$p" "$STATE.log"; rm -f "$STATE.pid"; echo "demo: failed (see above)" >&2; exit 1
  fi
  sleep 0.3
done
