#!/bin/sh
# Builds and runs bench/kernels.c (the runtime's GEMM/conv kernels, one thread) with the
# compiler and flags the JIT uses, once per instruction set the kernels can dispatch to.
# Usage: bench/kernels.sh [cc]   (from the repository root, after a build: runtime/slimc_rt.h
# is generated in the build directory, $BUILD or build/)
set -eu
CC=${1:-${CC:-cc}}
BUILD=${BUILD:-build}
[ -f "$BUILD/runtime/slimc_rt.h" ] || { echo "bench/kernels.sh: no $BUILD/runtime/slimc_rt.h: build slimc first" >&2; exit 1; }
out=${TMPDIR:-/tmp}/slimc_kbench.$$
trap 'rm -f "$out"' EXIT
$CC -std=c11 -O2 -march=native -I"$BUILD" bench/kernels.c -o "$out" -lm -lpthread
for isa in avx512 avx2 generic; do
    SLIMC_MAX_ISA=$isa "$out"
    echo
done
