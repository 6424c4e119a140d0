/* The CUDA driver API as slimc uses it (runtime/cuda_driver.c): libcuda.so.1 loaded with
 * dlopen, one device, its primary context, one stream, a module of the model's kernels,
 * device memory, asynchronous copies, events for timing, and a CUDA graph captured per
 * input shape so that a run is one launch. Plain C and libc only, ASCII, no ir/: `slimc
 * build --device cuda` can paste this header and cuda_driver.c into an executable after
 * runtime/slimc_cuda_abi.h (SLIMC_CUDA_DRIVER_EMBEDDED; functions static with
 * SLIMC_CUDA_DRIVER_STATIC), as it pastes runtime/model_io.c.
 *
 * Errors are returned as non-zero codes with the message in rt_cu_error(dev) (or msg for
 * rt_cu_open); nothing here prints or exits. */
#ifndef SLIMC_RUNTIME_CUDA_DRIVER_H
#define SLIMC_RUNTIME_CUDA_DRIVER_H

#ifndef SLIMC_CUDA_DRIVER_EMBEDDED
#include "runtime/slimc_cuda_abi.h"
#endif

#include <stddef.h>
#include <stdint.h>

#ifdef SLIMC_CUDA_DRIVER_STATIC
#define RT_CU_FN static __attribute__((unused))
#else
#define RT_CU_FN
#endif

#define RT_CU_MAX_GRAPH_KEY 40 /* int64 words of a graph's key (symbols, pointers) */

typedef struct RtCuDevice RtCuDevice;

/* Loads the driver and initializes it: the number of devices, or 0 with msg[cap] ("no CUDA
 * driver (libcuda.so.1: ...)", "no CUDA-capable device (...)"). Makes no context. */
RT_CU_FN int rt_cu_probe(char *msg, size_t cap);
/* Loads the driver, initializes it and opens device ordinal (0: the first) with its
 * primary context, a stream and two events. NULL with msg[cap]: "no CUDA driver
 * (libcuda.so.1: ...)", "no CUDA-capable device (...)", "CUDA device 1 not found (...)". */
RT_CU_FN RtCuDevice *rt_cu_open(int ordinal, char *msg, size_t cap);
RT_CU_FN void rt_cu_close(RtCuDevice *d);
/* "NVIDIA H100 80GB HBM3"; the compute capability as 90 for 9.0. */
RT_CU_FN const char *rt_cu_name(const RtCuDevice *d);
RT_CU_FN int rt_cu_arch(const RtCuDevice *d);
/* The last error's message. */
RT_CU_FN const char *rt_cu_error(const RtCuDevice *d);

/* Loads a PTX (NUL-terminated) or cubin image and looks up each kernel of the NULL-terminated
 * names (P_cuda_kernels); replaces the module loaded before. 0, or non-zero (error). */
RT_CU_FN int rt_cu_load(RtCuDevice *d, const void *image, const char *const *kernels);
/* As rt_cu_load, from a file compiled in n_images parts (SLIMC_CU_PARTS, runtime/
 * slimc_cuda_abi.h): kernel k is looked up in images[groups[k] % n_images] (P_cuda_kernel_groups;
 * NULL: k % n_images). */
#define RT_CU_MAX_IMAGES 32
RT_CU_FN int rt_cu_load_parts(RtCuDevice *d, const void *const *images, int n_images,
                              const char *const *kernels, const int *groups);

/* Device memory. alloc: NULL with the error set ("out of GPU memory: 812.0 MiB asked,
 * 310.5 MiB free of 81559.0 MiB"). */
RT_CU_FN void *rt_cu_alloc(RtCuDevice *d, size_t bytes);
RT_CU_FN void rt_cu_free(RtCuDevice *d, void *p);
/* Copies on the stream (asynchronous; host memory must stay until rt_cu_sync). */
RT_CU_FN int rt_cu_upload(RtCuDevice *d, void *dst, const void *src, size_t bytes);
RT_CU_FN int rt_cu_download(RtCuDevice *d, void *dst, const void *src, size_t bytes);
/* Waits for the stream; a kernel that faulted is reported here. */
RT_CU_FN int rt_cu_sync(RtCuDevice *d);

/* What the generated code launches through (launch: cuLaunchKernel on the stream with
 * kernelParams = {&a}; copy: device to device; zero: memset 0), err set to err_dev. */
RT_CU_FN slimc_cuda_rt rt_cu_rt(RtCuDevice *d, int *err_dev);

/* Runs seq(arg) -- a sequence of launches through rt_cu_rt -- as a CUDA graph: captured
 * the first time key[0..nkey) is seen, replayed after (a few graphs are kept, least
 * recently used dropped). *seq_rc gets seq's return; a sequence that returns non-zero is
 * not kept. $SLIMC_CUDA_GRAPHS=0 runs seq directly. Events bracket the run (rt_cu_last_ms).
 * 0, or non-zero on a driver error. */
RT_CU_FN int rt_cu_run(RtCuDevice *d, const int64_t *key, int nkey, int (*seq)(void *arg),
                       void *arg, int *seq_rc);
/* Drops every captured graph (the buffers they point into moved). */
RT_CU_FN void rt_cu_forget_graphs(RtCuDevice *d);
/* GPU time of the last rt_cu_run in ms (valid after rt_cu_sync). */
RT_CU_FN double rt_cu_last_ms(RtCuDevice *d);

#endif
