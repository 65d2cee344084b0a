#!/usr/bin/env bash
# The README's test command: install what is needed, build, run every test (unit, fuzz, namespace-lab e2e).
# Under CI=true a test that cannot run here (no namespace lab, a missing tool) fails; elsewhere it is a skip,
# counted and listed by name at the end so that it cannot pass unnoticed.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
echo "== running tests"
log=/tmp/directord-test.log
set +e
# The TAP reporter: its "# SKIP" directives are what the closing lines below are read from.
npx tap --reporter=tap "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e
bash scripts/test-summary.sh "$log"
exit "$rc"
