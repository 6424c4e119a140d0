#!/bin/sh
# Builds and runs bench/kernels.c (the runtime's GEMM/conv kernels, one thread) with the
# compiler and flags the JIT uses, once per instruction set the kernels can dispatch to.
# Usage: bench/kernels.sh [cc]   (from the repository root)
set -eu
CC=${1:-${CC:-cc}}
out=${TMPDIR:-/tmp}/slimc_kbench.$$
trap 'rm -f "$out"' EXIT
$CC -std=c11 -O2 -march=native -I. bench/kernels.c -o "$out" -lm -lpthread
for isa in avx512 avx2 generic; do
    SLIMC_MAX_ISA=$isa "$out"
    echo
done
