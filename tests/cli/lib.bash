# Shared by the CLI tests (sourced; not a test itself).
set -uo pipefail
: "${SLIMC:?run through ctest}" "${SLIMC_SOURCE_DIR:?}" "${TEST_TMP:?}"
S=$SLIMC_SOURCE_DIR/samples
rm -rf "$TEST_TMP" && mkdir -p "$TEST_TMP"
cd "$TEST_TMP"
failures=0
passes=0

ok() { passes=$((passes + 1)); echo "ok: $*"; }
bad() { failures=$((failures + 1)); echo "FAIL: $*"; }

# expect_fail NAME PATTERN CMD...: CMD must exit 1 and print PATTERN (grep -E) on stderr.
expect_fail() {
  local name=$1 pattern=$2; shift 2
  "$@" >out.txt 2>err.txt
  local rc=$?
  if [ $rc -ne 1 ]; then bad "$name: exit status $rc, not 1"; cat err.txt; return; fi
  if ! grep -qE -- "$pattern" err.txt; then bad "$name: stderr lacks /$pattern/"; cat err.txt; return; fi
  if grep -qiE "sanitizer|segmentation|internal error" err.txt; then bad "$name: crashed"; cat err.txt; return; fi
  ok "$name"
}

# expect_ok NAME CMD...: CMD must exit 0.
expect_ok() {
  local name=$1; shift
  if "$@" >out.txt 2>err.txt; then ok "$name"; else bad "$name: exit $?"; cat err.txt out.txt; fi
}

finish() {
  echo "$passes passed, $failures failed"
  [ $failures -eq 0 ]
}
