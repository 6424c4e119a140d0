#!/usr/bin/env bash
# Builds the libFuzzer harnesses of tests/fuzz (build-fuzz: clang-14, address + undefined
# sanitizers, no LLVM JIT) and runs each for SECONDS, at most `nproc` at a time. Each gets a
# scratch corpus (written to), its committed seeds tests/fuzz/corpus/NAME (read only),
# tests/data/hostile/ when it exists, and tests/fuzz/NAME.dict when there is one. Exits 1
# if any target crashes, leaks, times out on one input (20 s) or runs out of memory (2 GB);
# the reproducer is left in build-fuzz/fuzz-artifacts/.
#   scripts/fuzz.sh [SECONDS [TARGET...]]    SECONDS default 20; targets: every harness
# Environment: SLIMC_FUZZ_SCRATCH (default build-fuzz/fuzz-scratch) holds the scratch
# corpora; SLIMC_FUZZ_JOBS (default nproc) how many targets run at once.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-20}
shift || true
scratch=${SLIMC_FUZZ_SCRATCH:-build-fuzz/fuzz-scratch}
jobs=${SLIMC_FUZZ_JOBS:-$(nproc)}

CC=clang-14 cmake -S . -B build-fuzz -DSLIMC_FUZZ=ON -DSLIMC_WITH_LLVM=OFF -DSLIMC_WERROR=ON \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
if [ $# -gt 0 ]; then
  targets=("$@")
else # every harness that this configuration builds (fuzz_onnx needs ONNX import)
  mapfile -t targets <build-fuzz/fuzz_targets.txt
fi
[ ${#targets[@]} -gt 0 ] || { echo "error: no fuzz targets configured" >&2; exit 1; }
cmake --build build-fuzz -j"$(nproc)" --target "${targets[@]}"

art=build-fuzz/fuzz-artifacts
mkdir -p "$art"
hostile=()
[ -d tests/data/hostile ] && hostile=(tests/data/hostile)
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

run_one() {
  local t=$1 short=${1#fuzz_}
  local dict=() log=build-fuzz/$t.log rc=0
  mkdir -p "$scratch/$short"
  [ -f "tests/fuzz/$short.dict" ] && dict=(-dict="tests/fuzz/$short.dict")
  "build-fuzz/tests/fuzz/$t" -max_total_time="$secs" -timeout=20 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$art/$t-" "${dict[@]}" \
    "$scratch/$short" "tests/fuzz/corpus/$short" "${hostile[@]}" >"$log" 2>&1 || rc=$?
  echo $rc >"build-fuzz/$t.rc"
}

echo "fuzzing ${targets[*]}: $secs s each, $jobs at a time"
failed=()
for t in "${targets[@]}"; do
  rm -f "build-fuzz/$t.rc"
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
  run_one "$t" &
done
wait
for t in "${targets[@]}"; do
  if [ "$(cat "build-fuzz/$t.rc" 2>/dev/null)" = 0 ]; then
    echo "== $t: ok ($(grep -oE 'Done [0-9]+ runs in [0-9]+ second' "build-fuzz/$t.log" | tail -1)s," \
      "corpus $(find "$scratch/${t#fuzz_}" -type f | wc -l) new files)"
  else
    failed+=("$t")
    echo "== $t: FAILED (log build-fuzz/$t.log; reproducer in $art/)"
    grep -m 24 -E 'ERROR|SUMMARY|fuzz_[a-z]+: |#[0-9]+ 0x' "build-fuzz/$t.log" || true
    grep -E 'Test unit written|SUMMARY' "build-fuzz/$t.log" || true
  fi
  tail -n 4 "build-fuzz/$t.log" | sed 's/^/    /'
done
echo "fuzzing: $((${#targets[@]} - ${#failed[@]})) passed, ${#failed[@]} failed"
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzzing failed: ${failed[*]}" >&2
  exit 1
fi
