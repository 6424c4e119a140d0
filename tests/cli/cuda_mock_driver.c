/* A stand-in for libcuda.so.1 that runs the kernels of one model on the CPU, so that
 * tests/cli/cuda_build.sh can run what `slimc build --device cuda` makes -- its driver
 * layer, its choice of image, its copies, its CUDA graphs, its error flag -- without a GPU.
 * The test builds it as a shared object with the model's CUDA file compiled for the
 * emulation (runtime/cuda_emu.h) included below as "mock_model.c" (prefix slimc_model),
 * and points SLIMC_LIBCUDA at it. Device memory is host memory; a launch runs the kernel
 * of that name through slimc_model_cuda_emu_launch; stream capture records the launches,
 * copies and memsets, and a graph launch replays them.
 *
 * $MOCK_CC: the compute capability it reports (default 90; 86 means 8.6). It prints
 * "mock: loaded PTX compute_XX" / "mock: loaded cubin sm_XX" to stderr when a module is
 * loaded, and checks that the image is one (PTX text with .target, or an ELF cubin). */
#include "mock_model.c"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MOCK_API __attribute__((visibility("default")))
typedef int CUresult;
typedef unsigned long long CUdeviceptr;
typedef void *CUhandle;

/* what a capture records, and a graph replays */
typedef struct MockOp {
    int kind; /* 0 launch, 1 copy, 2 memset */
    int kernel;
    unsigned grid[3], block[3];
    slimc_kargs args;
    void *dst;
    const void *src;
    size_t bytes;
} MockOp;

typedef struct MockGraph {
    MockOp *ops;
    int n, cap;
} MockGraph;

static MockGraph *capturing;
static int mock_failed; /* a launch the emulation refused */

static int mock_cc(void)
{
    const char *e = getenv("MOCK_CC");
    return e && *e ? atoi(e) : 90;
}

static void run_op(const MockOp *op)
{
    if (op->kind == 0)
        mock_failed |= slimc_model_cuda_emu_launch(op->kernel, op->grid, op->block, &op->args);
    else if (op->kind == 1)
        memmove(op->dst, op->src, op->bytes);
    else
        memset(op->dst, 0, op->bytes);
}

static CUresult do_op(const MockOp *op)
{
    if (!capturing) {
        run_op(op);
        return mock_failed ? 719 : 0; /* CUDA_ERROR_LAUNCH_FAILED */
    }
    if (capturing->n == capturing->cap) {
        capturing->cap = capturing->cap ? 2 * capturing->cap : 16;
        capturing->ops = realloc(capturing->ops, sizeof *capturing->ops * (size_t)capturing->cap);
        if (!capturing->ops)
            abort();
    }
    capturing->ops[capturing->n++] = *op;
    return 0;
}

MOCK_API CUresult cuInit(unsigned flags)
{
    (void)flags;
    return 0;
}
MOCK_API CUresult cuDriverGetVersion(int *v)
{
    *v = 13000;
    return 0;
}
MOCK_API CUresult cuGetErrorString(CUresult r, const char **s)
{
    *s = r == 719 ? "mock: a kernel failed under the emulation" : "mock: error";
    return 0;
}
MOCK_API CUresult cuDeviceGetCount(int *n)
{
    *n = 1;
    return 0;
}
MOCK_API CUresult cuDeviceGet(int *d, int ordinal)
{
    *d = ordinal;
    return 0;
}
MOCK_API CUresult cuDeviceGetName(char *name, int len, int dev)
{
    (void)dev;
    snprintf(name, (size_t)len, "Mock GPU");
    return 0;
}
MOCK_API CUresult cuDeviceGetAttribute(int *v, int attr, int dev)
{
    (void)dev;
    *v = attr == 75 ? mock_cc() / 10 : attr == 76 ? mock_cc() % 10 : 0;
    return 0;
}
MOCK_API CUresult cuDevicePrimaryCtxRetain(CUhandle *ctx, int dev)
{
    (void)dev;
    *ctx = (CUhandle)1;
    return 0;
}
MOCK_API CUresult cuDevicePrimaryCtxRelease_v2(int dev)
{
    (void)dev;
    return 0;
}
MOCK_API CUresult cuCtxSetCurrent(CUhandle ctx)
{
    (void)ctx;
    return 0;
}
MOCK_API CUresult cuModuleLoadData(CUhandle *mod, const void *image)
{
    const char *p = image;
    const char *t = strstr(p, ".target sm_");
    if (!memcmp(p,
                "\x7f"
                "ELF",
                4))
        fprintf(stderr, "mock: loaded cubin\n"); /* the arch is in e_flags; not checked */
    else if (!memcmp(p, "//", 2) && t)
        fprintf(stderr, "mock: loaded PTX compute_%d\n", atoi(t + 11));
    else
        return 200; /* CUDA_ERROR_INVALID_IMAGE */
    *mod = (CUhandle)1;
    return 0;
}
MOCK_API CUresult cuModuleGetFunction(CUhandle *fn, CUhandle mod, const char *name)
{
    (void)mod;
    for (int k = 0; slimc_model_cuda_kernels[k]; k++)
        if (!strcmp(slimc_model_cuda_kernels[k], name)) {
            *fn = (CUhandle)(uintptr_t)(k + 1);
            return 0;
        }
    return 500; /* CUDA_ERROR_NOT_FOUND */
}
MOCK_API CUresult cuModuleUnload(CUhandle mod)
{
    (void)mod;
    return 0;
}
MOCK_API CUresult cuMemAlloc_v2(CUdeviceptr *p, size_t bytes)
{
    void *m = aligned_alloc(256, (bytes + 255) / 256 * 256);
    *p = (CUdeviceptr)(uintptr_t)m;
    return m ? 0 : 2;
}
MOCK_API CUresult cuMemFree_v2(CUdeviceptr p)
{
    free((void *)(uintptr_t)p);
    return 0;
}
MOCK_API CUresult cuMemGetInfo_v2(size_t *free_b, size_t *total)
{
    *free_b = *total = (size_t)1 << 30;
    return 0;
}
MOCK_API CUresult cuMemcpyHtoDAsync_v2(CUdeviceptr dst, const void *src, size_t n, CUhandle s)
{
    (void)s;
    MockOp op = {.kind = 1, .dst = (void *)(uintptr_t)dst, .src = src, .bytes = n};
    return do_op(&op);
}
MOCK_API CUresult cuMemcpyDtoHAsync_v2(void *dst, CUdeviceptr src, size_t n, CUhandle s)
{
    (void)s;
    MockOp op = {.kind = 1, .dst = dst, .src = (const void *)(uintptr_t)src, .bytes = n};
    return do_op(&op);
}
MOCK_API CUresult cuMemcpyDtoDAsync_v2(CUdeviceptr dst, CUdeviceptr src, size_t n, CUhandle s)
{
    (void)s;
    MockOp op = {
        .kind = 1, .dst = (void *)(uintptr_t)dst, .src = (const void *)(uintptr_t)src, .bytes = n};
    return do_op(&op);
}
MOCK_API CUresult cuMemsetD8Async(CUdeviceptr dst, unsigned char v, size_t n, CUhandle s)
{
    (void)s;
    if (v != 0)
        return 1; /* slimc only zeroes */
    MockOp op = {.kind = 2, .dst = (void *)(uintptr_t)dst, .bytes = n};
    return do_op(&op);
}
MOCK_API CUresult cuStreamCreate(CUhandle *s, unsigned flags)
{
    (void)flags;
    *s = (CUhandle)1;
    return 0;
}
MOCK_API CUresult cuStreamDestroy_v2(CUhandle s)
{
    (void)s;
    return 0;
}
MOCK_API CUresult cuStreamSynchronize(CUhandle s)
{
    (void)s;
    return mock_failed ? 719 : 0;
}
MOCK_API CUresult cuLaunchKernel(CUhandle f, unsigned gx, unsigned gy, unsigned gz, unsigned bx,
                                 unsigned by, unsigned bz, unsigned shmem, CUhandle s,
                                 void **params, void **extra)
{
    (void)shmem, (void)s, (void)extra;
    MockOp op = {.kind = 0, .kernel = (int)(uintptr_t)f - 1};
    const unsigned g[3] = {gx, gy, gz}, b[3] = {bx, by, bz};
    memcpy(op.grid, g, sizeof g);
    memcpy(op.block, b, sizeof b);
    memcpy(&op.args, params[0], sizeof op.args); /* copied at the launch, as CUDA does */
    return do_op(&op);
}
MOCK_API CUresult cuEventCreate(CUhandle *e, unsigned flags)
{
    (void)flags;
    *e = (CUhandle)1;
    return 0;
}
MOCK_API CUresult cuEventRecord(CUhandle e, CUhandle s)
{
    (void)e, (void)s;
    return 0;
}
MOCK_API CUresult cuEventSynchronize(CUhandle e)
{
    (void)e;
    return 0;
}
MOCK_API CUresult cuEventElapsedTime_v2(float *ms, CUhandle a, CUhandle b)
{
    (void)a, (void)b;
    *ms = 0.001f;
    return 0;
}
MOCK_API CUresult cuEventDestroy_v2(CUhandle e)
{
    (void)e;
    return 0;
}
MOCK_API CUresult cuStreamBeginCapture_v2(CUhandle s, int mode)
{
    (void)s, (void)mode;
    capturing = calloc(1, sizeof *capturing);
    return capturing ? 0 : 2;
}
MOCK_API CUresult cuStreamEndCapture(CUhandle s, CUhandle *graph)
{
    (void)s;
    *graph = capturing;
    capturing = NULL;
    fprintf(stderr, "mock: captured a graph\n");
    return 0;
}
MOCK_API CUresult cuGraphInstantiateWithFlags(CUhandle *exec, CUhandle graph,
                                              unsigned long long flags)
{
    (void)flags;
    MockGraph *g = graph, *copy = calloc(1, sizeof *copy);
    if (!copy)
        return 2;
    copy->n = copy->cap = g->n;
    copy->ops = malloc(sizeof *copy->ops * (size_t)(g->n + 1));
    if (!copy->ops)
        return 2;
    memcpy(copy->ops, g->ops, sizeof *copy->ops * (size_t)g->n);
    *exec = copy;
    return 0;
}
MOCK_API CUresult cuGraphLaunch(CUhandle exec, CUhandle s)
{
    (void)s;
    const MockGraph *g = exec;
    for (int i = 0; i < g->n; i++)
        run_op(&g->ops[i]);
    return mock_failed ? 719 : 0;
}
static void graph_free(MockGraph *g)
{
    if (g) {
        free(g->ops);
        free(g);
    }
}
MOCK_API CUresult cuGraphExecDestroy(CUhandle exec)
{
    graph_free(exec);
    return 0;
}
MOCK_API CUresult cuGraphDestroy(CUhandle graph)
{
    graph_free(graph);
    return 0;
}
