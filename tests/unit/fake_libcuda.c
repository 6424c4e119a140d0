/* A fake CUDA driver for tests/unit/test_cuda_rt.c (loaded through $SLIMC_LIBCUDA): the entry
 * points runtime/cuda_driver.c binds, over host memory, so that the GPU path of the runtime
 * (device open, module load, weights upload, the device block, copies, stream capture into
 * a graph and its replay, events, out of memory, no device) runs on a machine without a GPU.
 * It runs the two kernels of the test's model (node_axpb, node_check) in C on the launch's
 * slimc_kargs; any other kernel name, or one looked up in a module whose image does not hold
 * it (a file compiled in parts), is "not found". Module images must look like PTX (an
 * ".entry") or a cubin (ELF).
 *
 * Knobs (environment): FAKE_CUDA_DEVICES (default 1), FAKE_CUDA_MEM (bytes one allocation may
 * take; default 1 GiB). fake_cuda_stat(name) reads the counters. */
#include "runtime/slimc_cuda_abi.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int CUresult;
typedef unsigned long long CUptr;
typedef struct Op Op;

#define EXPORT __attribute__((visibility("default")))

enum { OP_LAUNCH, OP_COPY, OP_ZERO };
struct Op {
    int kind, fn;
    unsigned grid[3], block[3];
    slimc_kargs a; /* by value, as the driver copies kernelParams */
    void *dst;
    const void *src;
    size_t n;
};

typedef struct Graph {
    int n, cap;
    Op *ops;
} Graph;

static struct {
    long launches, captures, graph_launches, allocs, live, loads;
    int capturing;
    Graph *cur;
} st;

EXPORT long fake_cuda_stat(const char *name);
EXPORT long fake_cuda_stat(const char *name)
{
    return !strcmp(name, "launches")         ? st.launches
           : !strcmp(name, "captures")       ? st.captures
           : !strcmp(name, "graph_launches") ? st.graph_launches
           : !strcmp(name, "allocs")         ? st.allocs
           : !strcmp(name, "live")           ? st.live
           : !strcmp(name, "loads")          ? st.loads
                                             : -1;
}

static long env_long(const char *name, long dflt)
{
    const char *e = getenv(name);
    return e && *e ? strtol(e, NULL, 10) : dflt;
}

/* ---- the test model's kernels, in C ---- */

static void run_kernel(int fn, const unsigned grid[3], const unsigned block[3],
                       const slimc_kargs *a)
{
    int64_t total = (int64_t)grid[0] * block[0];
    for (int64_t i = 0; i < total; i++) {
        const float *x = (const float *)a->in[0];
        if (i >= a->syms[0])
            continue;
        if (fn == 0) {
            const float *w = (const float *)a->in[1];
            ((float *)a->out)[i] = x[i] * w[0] + w[1];
        } else if (x[i] < -1000.0f) {
            *a->err = 1;
        }
    }
    st.launches++;
}

static void do_op(const Op *op)
{
    if (op->kind == OP_LAUNCH)
        run_kernel(op->fn, op->grid, op->block, &op->a);
    else if (op->kind == OP_COPY)
        memmove(op->dst, op->src, op->n);
    else
        memset(op->dst, 0, op->n);
}

/* Runs op now, or records it while the stream is captured. */
static CUresult issue(const Op *op)
{
    if (!st.capturing) {
        do_op(op);
        return 0;
    }
    Graph *g = st.cur;
    if (g->n == g->cap) {
        g->cap = g->cap ? 2 * g->cap : 16;
        g->ops = realloc(g->ops, sizeof *g->ops * (size_t)g->cap);
    }
    g->ops[g->n++] = *op;
    return 0;
}

/* ---- the driver API ---- */

EXPORT CUresult cuInit(unsigned flags);
EXPORT CUresult cuInit(unsigned flags)
{
    (void)flags;
    return 0;
}
EXPORT CUresult cuDriverGetVersion(int *v);
EXPORT CUresult cuDriverGetVersion(int *v)
{
    *v = 13000;
    return 0;
}
EXPORT CUresult cuGetErrorString(CUresult r, const char **s);
EXPORT CUresult cuGetErrorString(CUresult r, const char **s)
{
    *s = r == 2 ? "out of memory" : r == 200 ? "device kernel image is invalid" : "fake error";
    return 0;
}
EXPORT CUresult cuDeviceGetCount(int *n);
EXPORT CUresult cuDeviceGetCount(int *n)
{
    *n = (int)env_long("FAKE_CUDA_DEVICES", 1);
    return 0;
}
EXPORT CUresult cuDeviceGet(int *d, int ordinal);
EXPORT CUresult cuDeviceGet(int *d, int ordinal)
{
    *d = ordinal;
    return 0;
}
EXPORT CUresult cuDeviceGetName(char *name, int len, int d);
EXPORT CUresult cuDeviceGetName(char *name, int len, int d)
{
    (void)d;
    snprintf(name, (size_t)len, "Fake GPU");
    return 0;
}
EXPORT CUresult cuDeviceGetAttribute(int *v, int attr, int d);
EXPORT CUresult cuDeviceGetAttribute(int *v, int attr, int d)
{
    (void)d;
    *v = attr == 75 ? 8 : 0; /* compute capability 8.0 */
    return 0;
}
EXPORT CUresult cuDevicePrimaryCtxRetain(void **ctx, int d);
EXPORT CUresult cuDevicePrimaryCtxRetain(void **ctx, int d)
{
    (void)d;
    *ctx = (void *)&st;
    return 0;
}
EXPORT CUresult cuDevicePrimaryCtxRelease_v2(int d);
EXPORT CUresult cuDevicePrimaryCtxRelease_v2(int d)
{
    (void)d;
    return 0;
}
EXPORT CUresult cuCtxSetCurrent(void *ctx);
EXPORT CUresult cuCtxSetCurrent(void *ctx)
{
    (void)ctx;
    return 0;
}
/* The bytes of a module image: a PTX's text, or a cubin's ELF up to its section headers. */
static size_t image_size(const unsigned char *img)
{
    if (memcmp(img, "\177ELF", 4) != 0)
        return strlen((const char *)img);
    uint64_t shoff;
    uint16_t shentsize, shnum;
    memcpy(&shoff, img + 0x28, 8);
    memcpy(&shentsize, img + 0x3a, 2);
    memcpy(&shnum, img + 0x3c, 2);
    return (size_t)(shoff + (uint64_t)shentsize * shnum);
}

static bool image_has(const unsigned char *img, size_t n, const char *name)
{
    const size_t k = strlen(name);
    for (size_t i = 0; i + k <= n; i++)
        if (!memcmp(img + i, name, k) && (i + k == n || img[i + k] == 0 || img[i + k] == ' ' ||
                                          img[i + k] == '(' || img[i + k] == '\n'))
            return true;
    return false;
}

/* Each module loaded: which of the two kernels its image holds (bit 0 node_axpb, bit 1
 * node_check), so that a lookup in the wrong module of a file compiled in parts fails. */
static unsigned modules[64];

EXPORT CUresult cuModuleLoadData(void **mod, const void *image);
EXPORT CUresult cuModuleLoadData(void **mod, const void *image)
{
    if (memcmp(image, "\177ELF", 4) != 0 && !strstr(image, ".entry"))
        return 200;
    const size_t n = image_size(image);
    const unsigned has = (image_has(image, n, "node_axpb") ? 1u : 0u) |
                         (image_has(image, n, "node_check") ? 2u : 0u);
    modules[st.loads % 64] = has;
    *mod = &modules[st.loads % 64];
    st.loads++;
    return 0;
}
EXPORT CUresult cuModuleGetFunction(void **fn, void *mod, const char *name);
EXPORT CUresult cuModuleGetFunction(void **fn, void *mod, const char *name)
{
    const unsigned has = *(const unsigned *)mod;
    if (!strcmp(name, "node_axpb") && (has & 1u))
        *fn = (void *)(uintptr_t)1;
    else if (!strcmp(name, "node_check") && (has & 2u))
        *fn = (void *)(uintptr_t)2;
    else
        return 500;
    return 0;
}
EXPORT CUresult cuModuleUnload(void *mod);
EXPORT CUresult cuModuleUnload(void *mod)
{
    (void)mod;
    return 0;
}
EXPORT CUresult cuMemAlloc_v2(CUptr *p, size_t n);
EXPORT CUresult cuMemAlloc_v2(CUptr *p, size_t n)
{
    if (n > (size_t)env_long("FAKE_CUDA_MEM", 1l << 30))
        return 2;
    void *m = malloc(n);
    if (!m)
        return 2;
    *p = (CUptr)(uintptr_t)m;
    st.allocs++;
    st.live++;
    return 0;
}
EXPORT CUresult cuMemFree_v2(CUptr p);
EXPORT CUresult cuMemFree_v2(CUptr p)
{
    free((void *)(uintptr_t)p);
    st.live--;
    return 0;
}
EXPORT CUresult cuMemGetInfo_v2(size_t *free_b, size_t *total);
EXPORT CUresult cuMemGetInfo_v2(size_t *free_b, size_t *total)
{
    *free_b = (size_t)env_long("FAKE_CUDA_MEM", 1l << 30);
    *total = 2 * *free_b;
    return 0;
}
EXPORT CUresult cuMemcpyHtoDAsync_v2(CUptr dst, const void *src, size_t n, void *s);
EXPORT CUresult cuMemcpyHtoDAsync_v2(CUptr dst, const void *src, size_t n, void *s)
{
    (void)s;
    Op op = {.kind = OP_COPY, .dst = (void *)(uintptr_t)dst, .src = src, .n = n};
    return issue(&op);
}
EXPORT CUresult cuMemcpyDtoHAsync_v2(void *dst, CUptr src, size_t n, void *s);
EXPORT CUresult cuMemcpyDtoHAsync_v2(void *dst, CUptr src, size_t n, void *s)
{
    (void)s;
    Op op = {.kind = OP_COPY, .dst = dst, .src = (const void *)(uintptr_t)src, .n = n};
    return issue(&op);
}
EXPORT CUresult cuMemcpyDtoDAsync_v2(CUptr dst, CUptr src, size_t n, void *s);
EXPORT CUresult cuMemcpyDtoDAsync_v2(CUptr dst, CUptr src, size_t n, void *s)
{
    (void)s;
    Op op = {.kind = OP_COPY,
             .dst = (void *)(uintptr_t)dst,
             .src = (const void *)(uintptr_t)src,
             .n = n};
    return issue(&op);
}
EXPORT CUresult cuMemsetD8Async(CUptr dst, unsigned char v, size_t n, void *s);
EXPORT CUresult cuMemsetD8Async(CUptr dst, unsigned char v, size_t n, void *s)
{
    (void)s, (void)v;
    Op op = {.kind = OP_ZERO, .dst = (void *)(uintptr_t)dst, .n = n};
    return issue(&op);
}
EXPORT CUresult cuStreamCreate(void **s, unsigned flags);
EXPORT CUresult cuStreamCreate(void **s, unsigned flags)
{
    (void)flags;
    *s = (void *)&st;
    return 0;
}
EXPORT CUresult cuStreamDestroy_v2(void *s);
EXPORT CUresult cuStreamDestroy_v2(void *s)
{
    (void)s;
    return 0;
}
EXPORT CUresult cuStreamSynchronize(void *s);
EXPORT CUresult cuStreamSynchronize(void *s)
{
    (void)s;
    return 0;
}
EXPORT CUresult cuLaunchKernel(void *f, unsigned gx, unsigned gy, unsigned gz, unsigned bx,
                               unsigned by, unsigned bz, unsigned shmem, void *s, void **params,
                               void **extra);
EXPORT CUresult cuLaunchKernel(void *f, unsigned gx, unsigned gy, unsigned gz, unsigned bx,
                               unsigned by, unsigned bz, unsigned shmem, void *s, void **params,
                               void **extra)
{
    (void)s, (void)shmem, (void)extra;
    if (!gx || !gy || !gz || !bx || !by || !bz || (unsigned long)bx * by * bz > 1024)
        return 1; /* CUDA_ERROR_INVALID_VALUE */
    Op op = {.kind = OP_LAUNCH,
             .fn = (int)(uintptr_t)f - 1,
             .grid = {gx, gy, gz},
             .block = {bx, by, bz},
             .a = *(const slimc_kargs *)params[0]};
    return issue(&op);
}
EXPORT CUresult cuEventCreate(void **e, unsigned flags);
EXPORT CUresult cuEventCreate(void **e, unsigned flags)
{
    (void)flags;
    *e = (void *)&st;
    return 0;
}
EXPORT CUresult cuEventRecord(void *e, void *s);
EXPORT CUresult cuEventRecord(void *e, void *s)
{
    (void)e, (void)s;
    return 0;
}
EXPORT CUresult cuEventSynchronize(void *e);
EXPORT CUresult cuEventSynchronize(void *e)
{
    (void)e;
    return 0;
}
EXPORT CUresult cuEventElapsedTime_v2(float *ms, void *a, void *b);
EXPORT CUresult cuEventElapsedTime_v2(float *ms, void *a, void *b)
{
    (void)a, (void)b;
    *ms = 0.25f;
    return 0;
}
EXPORT CUresult cuEventDestroy_v2(void *e);
EXPORT CUresult cuEventDestroy_v2(void *e)
{
    (void)e;
    return 0;
}
EXPORT CUresult cuStreamBeginCapture_v2(void *s, int mode);
EXPORT CUresult cuStreamBeginCapture_v2(void *s, int mode)
{
    (void)s, (void)mode;
    if (st.capturing)
        return 900; /* CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED */
    st.capturing = 1;
    st.cur = calloc(1, sizeof *st.cur);
    return 0;
}
EXPORT CUresult cuStreamEndCapture(void *s, void **graph);
EXPORT CUresult cuStreamEndCapture(void *s, void **graph)
{
    (void)s;
    st.capturing = 0;
    *graph = st.cur;
    st.cur = NULL;
    st.captures++;
    return 0;
}
EXPORT CUresult cuGraphInstantiateWithFlags(void **exec, void *graph, unsigned long long flags);
EXPORT CUresult cuGraphInstantiateWithFlags(void **exec, void *graph, unsigned long long flags)
{
    (void)flags;
    const Graph *g = graph;
    Graph *x = calloc(1, sizeof *x);
    x->n = x->cap = g->n;
    x->ops = malloc(sizeof *x->ops * (size_t)(g->n ? g->n : 1));
    memcpy(x->ops, g->ops, sizeof *x->ops * (size_t)g->n);
    *exec = x;
    return 0;
}
EXPORT CUresult cuGraphLaunch(void *exec, void *s);
EXPORT CUresult cuGraphLaunch(void *exec, void *s)
{
    (void)s;
    const Graph *g = exec;
    for (int i = 0; i < g->n; i++)
        do_op(&g->ops[i]);
    st.graph_launches++;
    return 0;
}
static void graph_free(Graph *g)
{
    if (g) {
        free(g->ops);
        free(g);
    }
}
EXPORT CUresult cuGraphExecDestroy(void *exec);
EXPORT CUresult cuGraphExecDestroy(void *exec)
{
    graph_free(exec);
    return 0;
}
EXPORT CUresult cuGraphDestroy(void *graph);
EXPORT CUresult cuGraphDestroy(void *graph)
{
    graph_free(graph);
    return 0;
}
