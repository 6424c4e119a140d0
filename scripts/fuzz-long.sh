#!/usr/bin/env bash
# A long fuzzing run, by hand (for the record in docs/security.md): every harness of
# tests/fuzz for SECONDS each (default 3600), one at a time unless SLIMC_FUZZ_JOBS says
# otherwise, with a fresh scratch corpus per run (kept, and named at the end); prints the
# commit, the command and each target's final log lines.
#   scripts/fuzz-long.sh [SECONDS [TARGET...]]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-3600}
shift || true
export SLIMC_FUZZ_SCRATCH=${SLIMC_FUZZ_SCRATCH:-$(mktemp -d /tmp/slimc-fuzz-long.XXXXXX)}
export SLIMC_FUZZ_JOBS=${SLIMC_FUZZ_JOBS:-1}
echo "commit $(git rev-parse HEAD)$(git diff --quiet HEAD || echo ' (with local changes)')"
echo "command: nice -n 10 scripts/fuzz.sh $secs $* (SLIMC_FUZZ_JOBS=$SLIMC_FUZZ_JOBS)"
echo "scratch corpora: $SLIMC_FUZZ_SCRATCH"
mkdir -p build-fuzz
marker=$(mktemp build-fuzz/.fuzz-long-start.XXXXXX)
rc=0
nice -n 10 scripts/fuzz.sh "$secs" "$@" || rc=$?
for log in $(find build-fuzz -maxdepth 1 -name 'fuzz_*.log' -newer "$marker" | sort); do
  echo "== final lines of $log"
  grep -E '^(Done|stat::)|^#[0-9]+[[:space:]]+DONE' "$log" | tail -n 8
done
rm -f "$marker"
exit $rc
