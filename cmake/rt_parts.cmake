# The files runtime/slimc_rt.h is generated from (cmake/rt_header.cmake), in this order.
# PUBLIC: what every generated C file sees (the JIT's code too, with SLIMC_RT_EXTERN);
# BODIES: the kernels, inside `#ifndef SLIMC_RT_EXTERN` (AOT output and `slimc emit` carry
# them as static code; libslimc_kernels.so is built from them with external linkage).
# A file needs only what comes before it; the `#include "..."` lines that make each one
# compile on its own are dropped when they are pasted.
set(SLIMC_RT_PARTS_PUBLIC
  runtime/kernels/base.h
  runtime/kernels/vmath.h
  runtime/slimc_abi.h
  runtime/kernels/threadpool.c
  runtime/kernels/kernels.h)
set(SLIMC_RT_PARTS_BODIES
  runtime/kernels/internal.h
  runtime/kernels/cpu.c
  runtime/kernels/amx.h
  runtime/kernels/gemm.c
  runtime/kernels/conv.c
  runtime/kernels/depthwise.c
  runtime/kernels/rows.c
  runtime/kernels/attention.c
  runtime/kernels/rnn.c
  runtime/kernels/pool.c
  runtime/kernels/quant.c
  runtime/kernels/qconv.c
  runtime/kernels/qconv_taps.c
  runtime/kernels/qdw_avx2.c
  runtime/kernels/qdw.c
  runtime/kernels/qpacked.c
  runtime/kernels/bf16.c
  runtime/kernels/lowbit.c
  runtime/kernels/sparse.c
  runtime/kernels/sparse_nm.c
  runtime/kernels/sparse_conv.c
  runtime/kernels/qsparse.c)
