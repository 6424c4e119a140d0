/* slimc_cuda_abi.h - what code from slimc's CUDA backend (codegen/cuda/) and the runtime that
 * runs it (runtime/cuda*.c) agree on. The generated file carries this text verbatim, so it
 * stands alone; no other header is needed by either half of it.
 *
 * A generated file has two halves in one translation unit:
 *   the device half  (#if SLIMC_CU_DEVICE): the kernels, compiled by NVRTC for the GPU, or
 *                    as C on the CPU with runtime/cuda_emu.h when SLIMC_CUDA_EMULATE is set
 *   the host half    (#if SLIMC_CU_HOST): the entry points, C compiled like the C backend's
 *                    code (in-process Clang, or the AOT build); they compute each launch's
 *                    grid from the symbol values and launch through a slimc_cuda_rt.
 *
 * Every kernel takes one slimc_kargs by value, as a body function of the C backend takes a
 * slimc_args: its inputs, its output, its epilogue operands, the error flag, the symbols.
 *
 * Entry points, for a prefix P (codegen/cuda/emit.c writes them):
 *   const char *const P_cuda_kernels[]   the kernels' names, NULL-terminated; a launch
 *                                        names a kernel by its index here
 *   const int P_cuda_kernel_groups[]     each kernel's group (SLIMC_CU_IN_PART below)
 *   size_t P_arena_bytes(const int64_t *syms)   device scratch bytes (SIZE_MAX: overflows)
 *   int P_run(const slimc_cuda_rt *rt, const void *const *consts, const void *const *inputs,
 *             void *const *outputs, const int64_t *syms, void *arena)
 *       all pointers are device pointers (but in a mixed-device model, below); returns 0, or 1 a
 * symbol is not positive, 2 a reshape does not fit, 3 an index out of range (read from rt->err
 * after the run: the caller checks it), 4 a size overflows, 5 a launch or copy failed (rt's error)
 * and, in a mixed-device model (the place pass put some nodes on the CPU: their C code is in
 * the host half, and transfer nodes copy values between the devices through rt->to_host and
 * rt->to_device, which wait for the stream):
 *   size_t P_host_arena_bytes(const int64_t *syms)   the CPU's scratch bytes (rt->host_arena)
 *       P_run's inputs and outputs are then HOST pointers (the model's transfers upload and
 *       download them), the launches cannot be captured as a CUDA graph, and rt's to_host,
 *       to_device, host_arena, host_consts and nthreads must be set;
 * and, when compiled with SLIMC_CUDA_EMULATE:
 *   int P_cuda_emu_launch(int kernel, const unsigned grid[3], const unsigned block[3],
 *                         const slimc_kargs *a)   runs a kernel on the CPU (cuda_emu.h) */
#ifndef SLIMC_CUDA_ABI_H
#define SLIMC_CUDA_ABI_H

#if defined(__CUDACC_RTC__) || defined(__CUDACC__)
#define SLIMC_CU_DEVICE 1
#define SLIMC_CU_HOST   0
#if !defined(__CUDACC_RTC__)
#include <stdint.h> /* nvcc (a check by hand: nvcc -x cu --ptx FILE) */
#else
/* NVRTC has no libc headers: the fixed-width types the kernels use. */
typedef signed char int8_t;
typedef unsigned char uint8_t;
typedef short int16_t;
typedef unsigned short uint16_t;
typedef int int32_t;
typedef unsigned int uint32_t;
typedef long long int64_t;
typedef unsigned long long uint64_t;
#endif
#else
/* The host half's C runtime (the thread pool's clock) needs POSIX: define it before the
 * first system header of the file, which is this one. */
#if !defined(_POSIX_C_SOURCE) && !defined(_GNU_SOURCE)
#define _POSIX_C_SOURCE 200809L
#endif
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#if defined(SLIMC_CUDA_EMULATE)
#define SLIMC_CU_DEVICE 1
#else
#define SLIMC_CU_DEVICE 0
#endif
#define SLIMC_CU_HOST 1
#endif

/* A cold start compiles the device half in parts, in parallel: NVRTC compiles the file once per
 * part with -DSLIMC_CU_PARTS=n -DSLIMC_CU_PART=i, and kernel k is in part P_cuda_kernel_groups[k]
 * % n (each kernel is wrapped in #if SLIMC_CU_IN_PART(its group); the kernels of one node form
 * a group, so that __device__ data they share stays in one module). One part, all kernels,
 * by default. */
#ifndef SLIMC_CU_PARTS
#define SLIMC_CU_PARTS 1
#define SLIMC_CU_PART  0
#endif
#define SLIMC_CU_IN_PART(k) ((k) % SLIMC_CU_PARTS == SLIMC_CU_PART)

#define SLIMC_CU_MAX_IN   8  /* inputs of a node */
#define SLIMC_CU_MAX_EP   8  /* epilogue operands of a node */
#define SLIMC_CU_MAX_SYMS 16 /* = IR_MAX_SYMS */

/* A kernel's one argument (passed by value: 280 bytes of the 4 KB parameter space). */
typedef struct slimc_kargs {
    const void *in[SLIMC_CU_MAX_IN]; /* the node's inputs (NULL: an absent optional one) */
    void *out;                       /* its output */
    const void *ep[SLIMC_CU_MAX_EP]; /* its epilogue operands (NULL for unary ops) */
    int *err;                        /* set to 1 on bad data (an index out of range) */
    int64_t syms[SLIMC_CU_MAX_SYMS]; /* symbol values */
} slimc_kargs;

#if SLIMC_CU_HOST
/* What runs the launches: the CUDA driver (runtime/cuda_driver.c) or the CPU emulation.
 * Every call is asynchronous on the runtime's stream and returns 0, or non-zero when the
 * driver refused it (the runtime keeps the message). */
typedef struct slimc_cuda_rt {
    void *ctx;
    int (*launch)(void *ctx, int kernel, const unsigned grid[3], const unsigned block[3],
                  const slimc_kargs *a);
    int (*copy)(void *ctx, void *dst, const void *src, size_t bytes); /* device to device */
    int (*zero)(void *ctx, void *dst, size_t bytes);
    int *err; /* device pointer: the int the kernels' slimc_kargs.err points to */
    /* A mixed-device model (one with P_host_arena_bytes: the place pass put some nodes on
     * the CPU) also needs these; the others leave them unset. */
    int (*to_host)(void *ctx, void *dst, const void *src, size_t bytes);   /* waits for it */
    int (*to_device)(void *ctx, void *dst, const void *src, size_t bytes); /* waits too */
    void *host_arena;               /* the CPU's scratch: P_host_arena_bytes(syms) bytes */
    const void *const *host_consts; /* per value id: the weights in host memory */
    int nthreads;                   /* threads for the CPU's nodes */
} slimc_cuda_rt;
#endif

#endif
