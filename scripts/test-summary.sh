#!/usr/bin/env bash
# The closing lines of scripts/test.sh, read from a TAP log: the counts, then every skip and failed file by name.
set -euo pipefail
log=${1:?usage: test-summary.sh TAP-LOG}
summary=$(grep -aE '^# \{ total:' "$log" | tail -1 || true)
count() { sed -nE "s/.*[{ ]$1: ([0-9]+).*/\\1/p" <<<"$summary"; }
pass=$(count pass); fail=$(count fail); skip=$(count skip)
# Each skipped test point under the test file it belongs to (top-level "# Subtest: <file>").
skips=$(awk '
  /^# Subtest: / { file = substr($0, 12) }
  /^ *ok [0-9]+ - .* # SKIP/ {
    line = $0; sub(/^ *ok [0-9]+ - /, "", line)
    i = index(line, " # SKIP"); name = substr(line, 1, i - 1); why = substr(line, i + 7); sub(/^ +/, "", why)
    printf "  SKIP %s: %s%s\n", file, name, (why == "" ? "" : " (" why ")")
  }' "$log")
failed=$(grep -aE '^not ok [0-9]+ - ' "$log" | sed -E 's/^not ok [0-9]+ - ([^#]*[^ #]).*/  FAIL \1/' || true)
[ -n "$skips" ] && printf 'skipped:\n%s\n' "$skips"
[ -n "$failed" ] && printf 'failed:\n%s\n' "$failed"
echo "tests: ${pass:-0} passed, ${fail:-0} failed, ${skip:-0} skipped"
