#!/usr/bin/env bash
# Installs what the tests need, builds slimc with warnings as errors and runs the whole
# test suite; then again under AddressSanitizer + UndefinedBehaviorSanitizer.
# The first build has the in-process Clang/LLVM JIT (SLIMC_WITH_LLVM, on when LLVM 14 is
# installed); the sanitizer build is configured with SLIMC_WITH_LLVM=OFF, so that CI
# runs both configurations (the system-compiler path there) without another build. The
# LLVM path also passes under the sanitizers (its RSS test then defers to LeakSanitizer).
# Last, the libFuzzer harnesses of tests/fuzz are built (build-fuzz, clang-14) and each runs
# for SLIMC_FUZZ_SECONDS (default 20) from its seeds and tests/data/hostile/ (scripts/fuzz.sh).
# The Python package is pip-installed into a fresh venv and tested there
# (scripts/python_test.sh; its CMake build is kept in build-pip/).
#   scripts/test.sh            all of it
#   scripts/test.sh --quick    the default build and the Python package only
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
jobs=$(nproc)

echo "== formatting (.clang-format)"
# shellcheck disable=SC2046
clang-format --dry-run --Werror $(git ls-files '*.c' '*.h' '*.cpp' | grep -v '^tests/data/')

echo "== build (warnings are errors)"
cmake -S . -B build-test -DSLIMC_WERROR=ON -DSLIMC_WITH_LLVM=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-test -j"$jobs"
echo "== tests"
ctest --test-dir build-test -j"$jobs" --output-on-failure

echo "== the Python package: pip install . in a fresh venv, its tests, pip wheel ."
scripts/python_test.sh

if [ "${1:-}" != "--quick" ]; then
  echo "== sanitizer build (address + undefined)"
  cmake -S . -B build-asan -DSLIMC_WERROR=ON -DSLIMC_SANITIZE=ON -DSLIMC_WITH_LLVM=OFF -DCMAKE_BUILD_TYPE=Debug >/dev/null
  cmake --build build-asan -j"$jobs"
  echo "== tests under the sanitizers"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-asan -j"$jobs" --output-on-failure
  echo "== fuzzing (libFuzzer, ${SLIMC_FUZZ_SECONDS:-20} s per target)"
  scripts/fuzz.sh "${SLIMC_FUZZ_SECONDS:-20}"
fi
