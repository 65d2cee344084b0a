#!/usr/bin/env bash
# The README's test command: install what is needed, build, run every test (unit, fuzz, namespace-lab e2e).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
echo "== running tests"
set +e
npx tap "$@" 2>&1 | tee /tmp/directord-test.log
rc=${PIPESTATUS[0]}
set -e
# One plain closing line that any CI reader understands.
summary=$(grep -aE '^# \{ total:' /tmp/directord-test.log | tail -1)
pass=$(sed -nE 's/.*pass: ([0-9]+).*/\1/p' <<<"$summary"); fail=$(sed -nE 's/.*fail: ([0-9]+).*/\1/p' <<<"$summary")
skip=$(sed -nE 's/.*skip: ([0-9]+).*/\1/p' <<<"$summary")
echo "tests: ${pass:-0} passed, ${fail:-0} failed, ${skip:-0} skipped"
exit "$rc"
