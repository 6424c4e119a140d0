/* Running the CUDA backend's code (codegen/cuda/, ABI in runtime/slimc_cuda_abi.h): NVRTC
 * (runtime/nvrtc.c) compiles the device half to PTX or cubin, the driver API
 * (runtime/cuda_driver.c) or the CPU emulation (runtime/cuda_emu.h) runs it, and
 * runtime/cuda_exec.c binds a model to it the way runtime/exec.c does for C code.
 * Nothing here links against CUDA: NVRTC and libcuda.so.1 are loaded with dlopen, so
 * slimc builds and runs where no CUDA is installed (docs/cuda.md). */
#ifndef SLIMC_RUNTIME_CUDA_H
#define SLIMC_RUNTIME_CUDA_H

#include "runtime/exec.h"
#include "runtime/jit.h"

#include <stdbool.h>
#include <stddef.h>

/* ---- NVRTC (runtime/nvrtc.c) ----
 *
 * The library is looked for, first found wins, in: $SLIMC_NVRTC (a file), then by soname
 * libnvrtc.so.13, libnvrtc.so.12, libnvrtc.so (the loader's path: LD_LIBRARY_PATH,
 * ldconfig), then /usr/local/cuda/lib64/, then a pip install's nvidia-cuda-nvrtc wheel
 * next to python (nvidia/cu13/lib/ and nvidia/cuda_nvrtc/lib/ under $VIRTUAL_ENV, ~/.local
 * and the system's site-packages / dist-packages of python3.*). */

typedef enum RtCuImageKind {
    RT_CU_PTX,   /* text, for compute_XX: the driver JIT-compiles it for the GPU present */
    RT_CU_CUBIN, /* machine code for exactly sm_XX */
} RtCuImageKind;

/* A compiled device half. data is malloc'd (PTX is NUL-terminated, len excludes the NUL). */
typedef struct RtCuImage {
    RtCuImageKind kind;
    int arch; /* 75: compute_75 / sm_75 */
    unsigned char *data;
    size_t len;
} RtCuImage;

/* Options of a compile beyond the arch. The defaults: --std=c++17, fmad on (the kernels
 * whose results must match the CPU bit for bit -- the int8 epilogues -- call __fmul_rn and
 * friends through slimc_fmul_rn, which NVRTC never contracts), no -lineinfo, no
 * -default-device (the file marks its kernels __global__ and hides its host half). */
enum { RT_NVRTC_NO_FMAD = 1u << 0 /* -fmad=false for the whole file */ };
/* Flags that compile part i of n (1 <= n <= 255): -DSLIMC_CU_PARTS=n -DSLIMC_CU_PART=i, only
 * the kernels of that part (runtime/slimc_cuda_abi.h); part of the cache key like every option. */
#define RT_NVRTC_PART(i, n) (((unsigned)(i) << 16) | ((unsigned)(n) << 24))

/* Loads NVRTC (once per process). false with why[cap] = what was tried. */
bool rt_nvrtc_available(char *why, size_t cap);
/* The library loaded and its version ("13.0"); NULL before a successful load. */
const char *rt_nvrtc_path(void);
const char *rt_nvrtc_version(void);
/* The archs NVRTC compiles for (75, 80, ...), ascending: how many were written to out. */
int rt_nvrtc_archs(int *out, int cap);
/* Compiles the CUDA source src[len] for arch to kind, through the compile cache (key: the
 * source, NVRTC's version, arch, kind and options; entries KEY.ptx / KEY.cubin). A failure
 * is a slimc bug: the error carries NVRTC's log and the path where the source is kept
 * (CACHE/failed/KEY.cu, or a temp file without a cache). */
bool rt_nvrtc_compile(const char *src, size_t len, int arch, RtCuImageKind kind, unsigned flags,
                      const RtOptions *o, RtCuImage *out, Diag *d);
void rt_cu_image_free(RtCuImage *img);
/* Runs ptxas (/usr/local/cuda/bin/ptxas, or $SLIMC_PTXAS) on a PTX image for sm_arch:
 * 1 it assembles, 0 it does not (the error has ptxas's output), -1 no ptxas found, or one
 * older than the PTX (a pip NVRTC beside an older toolkit). */
int rt_ptxas_check(const RtCuImage *ptx, int arch, Diag *d);

/* ---- a model on a CUDA device (runtime/cuda_exec.c) ---- */

/* Whether runs are emulated on the CPU: opt (an option) or $SLIMC_CUDA_EMULATE=1. */
bool rt_cuda_emulated(bool opt);
/* Whether a CUDA device can be used (always, when emulated). false with why[cap]: "no
 * CUDA driver (libcuda.so.1: ...)", "no CUDA-capable device", ... The probe runs once. */
bool rt_cuda_device_available(bool emulate, char *why, size_t cap);

typedef struct RtCudaExec RtCudaExec;

/* The weights, indexed by value id (NULL: not a constant): bytes[v] of data[v], uploaded
 * to the GPU at load; bytes[v] 0 is not uploaded (an empty one, or in a mixed-device model
 * one only the CPU reads: P_run reads data[v] as rt->host_consts[v] there). */
typedef struct RtCudaConsts {
    int n;
    const void *const *data;
    const size_t *bytes;
} RtCudaConsts;

/* Compiles the generated file src[len] (prefix P; NULL: "slimc_model") for the device and
 * binds it to desc and consts (which must outlive the exec; owned, if not NULL, is freed
 * with it). Emulated: the file with "#define SLIMC_CUDA_EMULATE 1" and runtime/cuda_emu.h
 * in front, by rt_compile. A GPU: the host half by rt_compile, the device half by NVRTC
 * (cubin for the GPU's sm_XX, or PTX where NVRTC does not know it), the weights uploaded.
 * NULL with a diagnostic (no device, no NVRTC, a failed compile, out of GPU memory). */
RtCudaExec *rt_cuda_exec_new(const char *src, size_t len, const char *prefix,
                             const RtModelDesc *desc, RtCudaConsts consts, void *owned,
                             bool emulate, const RtOptions *o, Diag *d);
void rt_cuda_exec_set_check(RtCudaExec *e, RtExecCheck check, void *ctx);
void rt_cuda_exec_free(RtCudaExec *e);
/* As rt_exec_run: binds and checks the inputs, allocates the outputs (host memory, owned
 * by the caller), copies the inputs in, runs (a CUDA graph per input shape on a GPU),
 * copies the outputs back. The messages are exec.c's, plus "a kernel launch failed". */
/* Threads for the CPU's nodes of a mixed-device model (1 by default). */
void rt_cuda_exec_set_threads(RtCudaExec *e, int nthreads);
bool rt_cuda_exec_run(RtCudaExec *e, const RtTensor *inputs, int n_inputs, RtTensor *outputs,
                      int n_outputs, Diag *d);
/* The device as messages name it: "NVIDIA H100 (sm_90)", "emulated CUDA device (CPU)". */
const char *rt_cuda_exec_device(const RtCudaExec *e);
/* GPU time of the last run in ms, from events around it (0 when emulated). */
double rt_cuda_exec_last_ms(const RtCudaExec *e);

#endif
