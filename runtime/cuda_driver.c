/* The CUDA driver API through dlopen("libcuda.so.1") (see runtime/cuda_driver.h). The
 * entry points are declared here with the C types of cuda.h, under the names cuda.h maps
 * them to (cuMemAlloc is cuMemAlloc_v2, ...), so that no CUDA header is needed to build
 * it. ASCII only and libc only: `slimc build` may paste this file into an executable
 * (SLIMC_CUDA_DRIVER_EMBEDDED); every file-level name starts with rt_cu or RT_CU. */
#ifndef SLIMC_CUDA_DRIVER_EMBEDDED
#include "runtime/cuda_driver.h"
#endif

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the driver's types and entry points ---- */

typedef int RtCuResult; /* CUresult: 0 is CUDA_SUCCESS */
typedef int RtCuDev;    /* CUdevice */
typedef unsigned long long RtCuPtr;
typedef struct RtCuOpaque *RtCuHandle; /* CUcontext, CUmodule, CUfunction, CUstream, ... */

#define RT_CU_OUT_OF_MEMORY   2
#define RT_CU_NO_DEVICE       100
#define RT_CU_ATTR_CC_MAJOR   75 /* CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR */
#define RT_CU_ATTR_CC_MINOR   76
#define RT_CU_STREAM_NONBLOCK 1 /* CU_STREAM_NON_BLOCKING */
#define RT_CU_CAPTURE_THREAD  1 /* CU_STREAM_CAPTURE_MODE_THREAD_LOCAL */
#define RT_CU_GRAPHS          8 /* graphs kept per device */

static struct {
    void *handle;
    char why[512];
    RtCuResult (*init)(unsigned);
    RtCuResult (*driver_version)(int *);
    RtCuResult (*error_string)(RtCuResult, const char **);
    RtCuResult (*device_count)(int *);
    RtCuResult (*device_get)(RtCuDev *, int);
    RtCuResult (*device_name)(char *, int, RtCuDev);
    RtCuResult (*device_attr)(int *, int, RtCuDev);
    RtCuResult (*ctx_retain)(RtCuHandle *, RtCuDev);
    RtCuResult (*ctx_release)(RtCuDev);
    RtCuResult (*ctx_set)(RtCuHandle);
    RtCuResult (*module_load)(RtCuHandle *, const void *);
    RtCuResult (*module_function)(RtCuHandle *, RtCuHandle, const char *);
    RtCuResult (*module_unload)(RtCuHandle);
    RtCuResult (*mem_alloc)(RtCuPtr *, size_t);
    RtCuResult (*mem_free)(RtCuPtr);
    RtCuResult (*mem_info)(size_t *, size_t *);
    RtCuResult (*htod)(RtCuPtr, const void *, size_t, RtCuHandle);
    RtCuResult (*dtoh)(void *, RtCuPtr, size_t, RtCuHandle);
    RtCuResult (*dtod)(RtCuPtr, RtCuPtr, size_t, RtCuHandle);
    RtCuResult (*memset8)(RtCuPtr, unsigned char, size_t, RtCuHandle);
    RtCuResult (*stream_create)(RtCuHandle *, unsigned);
    RtCuResult (*stream_destroy)(RtCuHandle);
    RtCuResult (*stream_sync)(RtCuHandle);
    RtCuResult (*launch)(RtCuHandle, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned,
                         unsigned, RtCuHandle, void **, void **);
    RtCuResult (*event_create)(RtCuHandle *, unsigned);
    RtCuResult (*event_record)(RtCuHandle, RtCuHandle);
    RtCuResult (*event_sync)(RtCuHandle);
    RtCuResult (*event_elapsed)(float *, RtCuHandle, RtCuHandle);
    RtCuResult (*event_destroy)(RtCuHandle);
    RtCuResult (*capture_begin)(RtCuHandle, int);
    RtCuResult (*capture_end)(RtCuHandle, RtCuHandle *);
    RtCuResult (*graph_instantiate)(RtCuHandle *, RtCuHandle, unsigned long long);
    RtCuResult (*graph_launch)(RtCuHandle, RtCuHandle);
    RtCuResult (*graph_exec_destroy)(RtCuHandle);
    RtCuResult (*graph_destroy)(RtCuHandle);
} rt_cu_api;
static pthread_once_t rt_cu_once = PTHREAD_ONCE_INIT;

/* Binds the first of the names (cuda.h's current name first, then older ones) found. */
static int rt_cu_bind(void *h, void **slot, const char *name, const char *alt)
{
    *slot = dlsym(h, name);
    if (!*slot && alt)
        *slot = dlsym(h, alt);
    if (!*slot)
        snprintf(rt_cu_api.why, sizeof rt_cu_api.why, "libcuda.so.1 lacks %s (driver too old)",
                 name);
    return *slot != NULL;
}

static void rt_cu_load_driver(void)
{
    const char *env = getenv("SLIMC_LIBCUDA"); /* tests: a driver that is not there */
    const char *name = env && *env ? env : "libcuda.so.1";
    void *h = dlopen(name, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *e = dlerror();
        snprintf(rt_cu_api.why, sizeof rt_cu_api.why, "%s", e ? e : name);
        return;
    }
    int ok = 1;
#define RT_CU_BIND(field, name, alt) ok = ok && rt_cu_bind(h, (void **)&rt_cu_api.field, name, alt)
    RT_CU_BIND(init, "cuInit", NULL);
    RT_CU_BIND(driver_version, "cuDriverGetVersion", NULL);
    RT_CU_BIND(error_string, "cuGetErrorString", NULL);
    RT_CU_BIND(device_count, "cuDeviceGetCount", NULL);
    RT_CU_BIND(device_get, "cuDeviceGet", NULL);
    RT_CU_BIND(device_name, "cuDeviceGetName", NULL);
    RT_CU_BIND(device_attr, "cuDeviceGetAttribute", NULL);
    RT_CU_BIND(ctx_retain, "cuDevicePrimaryCtxRetain", NULL);
    RT_CU_BIND(ctx_release, "cuDevicePrimaryCtxRelease_v2", "cuDevicePrimaryCtxRelease");
    RT_CU_BIND(ctx_set, "cuCtxSetCurrent", NULL);
    RT_CU_BIND(module_load, "cuModuleLoadData", NULL);
    RT_CU_BIND(module_function, "cuModuleGetFunction", NULL);
    RT_CU_BIND(module_unload, "cuModuleUnload", NULL);
    RT_CU_BIND(mem_alloc, "cuMemAlloc_v2", NULL);
    RT_CU_BIND(mem_free, "cuMemFree_v2", NULL);
    RT_CU_BIND(mem_info, "cuMemGetInfo_v2", NULL);
    RT_CU_BIND(htod, "cuMemcpyHtoDAsync_v2", NULL);
    RT_CU_BIND(dtoh, "cuMemcpyDtoHAsync_v2", NULL);
    RT_CU_BIND(dtod, "cuMemcpyDtoDAsync_v2", NULL);
    RT_CU_BIND(memset8, "cuMemsetD8Async", NULL);
    RT_CU_BIND(stream_create, "cuStreamCreate", NULL);
    RT_CU_BIND(stream_destroy, "cuStreamDestroy_v2", NULL);
    RT_CU_BIND(stream_sync, "cuStreamSynchronize", NULL);
    RT_CU_BIND(launch, "cuLaunchKernel", NULL);
    RT_CU_BIND(event_create, "cuEventCreate", NULL);
    RT_CU_BIND(event_record, "cuEventRecord", NULL);
    RT_CU_BIND(event_sync, "cuEventSynchronize", NULL);
    RT_CU_BIND(event_elapsed, "cuEventElapsedTime_v2", "cuEventElapsedTime");
    RT_CU_BIND(event_destroy, "cuEventDestroy_v2", NULL);
    RT_CU_BIND(capture_begin, "cuStreamBeginCapture_v2", NULL);
    RT_CU_BIND(capture_end, "cuStreamEndCapture", NULL);
    RT_CU_BIND(graph_instantiate, "cuGraphInstantiateWithFlags", NULL);
    RT_CU_BIND(graph_launch, "cuGraphLaunch", NULL);
    RT_CU_BIND(graph_exec_destroy, "cuGraphExecDestroy", NULL);
    RT_CU_BIND(graph_destroy, "cuGraphDestroy", NULL);
#undef RT_CU_BIND
    if (!ok) {
        dlclose(h);
        return;
    }
    rt_cu_api.handle = h;
}

/* ---- the device ---- */

typedef struct RtCuGraph {
    int nkey;
    int64_t key[RT_CU_MAX_GRAPH_KEY];
    RtCuHandle exec;
    unsigned long long used;
} RtCuGraph;

struct RtCuDevice {
    RtCuDev dev;
    RtCuHandle ctx, stream, ev0, ev1;
    RtCuHandle modules[RT_CU_MAX_IMAGES]; /* the loaded images (rt_cu_load_parts) */
    int n_modules;
    RtCuHandle *fns; /* the kernels, in P_cuda_kernels order */
    int n_fns;
    int arch;
    int graphs_off; /* $SLIMC_CUDA_GRAPHS=0 */
    char name[256];
    char err[1024];
    RtCuGraph graphs[RT_CU_GRAPHS];
    unsigned long long tick;
    float last_ms;
};

/* Records the error of call (res != 0) in d->err; returns res. */
static RtCuResult rt_cu_fail(RtCuDevice *d, RtCuResult res, const char *call)
{
    if (res == 0)
        return 0;
    const char *s = NULL;
    if (rt_cu_api.error_string(res, &s) != 0 || !s)
        s = "unknown error";
    snprintf(d->err, sizeof d->err, "%s: %s (CUDA error %d)", call, s, res);
    return res;
}

RT_CU_FN int rt_cu_probe(char *msg, size_t cap)
{
    pthread_once(&rt_cu_once, rt_cu_load_driver);
    if (!rt_cu_api.handle) {
        snprintf(msg, cap, "no CUDA driver (%s)", rt_cu_api.why);
        return 0;
    }
    const char *s = NULL;
    RtCuResult res = rt_cu_api.init(0);
    int count = 0;
    if (res == 0)
        res = rt_cu_api.device_count(&count);
    if (res == 0 && count > 0)
        return count;
    if (res != 0 && rt_cu_api.error_string(res, &s) != 0)
        s = NULL;
    if (res == 0 || res == RT_CU_NO_DEVICE)
        snprintf(msg, cap, "no CUDA-capable device (the driver sees none)");
    else
        snprintf(msg, cap, "the CUDA driver failed to start: %s (CUDA error %d)",
                 s ? s : "unknown error", res);
    return 0;
}

RT_CU_FN RtCuDevice *rt_cu_open(int ordinal, char *msg, size_t cap)
{
    int count = rt_cu_probe(msg, cap);
    if (count == 0)
        return NULL;
    if (ordinal < 0 || ordinal >= count) {
        snprintf(msg, cap, "CUDA device %d not found (the driver sees %d)", ordinal, count);
        return NULL;
    }
    RtCuDevice *d = calloc(1, sizeof *d);
    if (!d) {
        snprintf(msg, cap, "out of memory");
        return NULL;
    }
    int major = 0, minor = 0;
    const char *env = getenv("SLIMC_CUDA_GRAPHS");
    d->graphs_off = env && !strcmp(env, "0");
    if (rt_cu_fail(d, rt_cu_api.device_get(&d->dev, ordinal), "cuDeviceGet") ||
        rt_cu_fail(d, rt_cu_api.device_name(d->name, (int)sizeof d->name, d->dev),
                   "cuDeviceGetName") ||
        rt_cu_fail(d, rt_cu_api.device_attr(&major, RT_CU_ATTR_CC_MAJOR, d->dev),
                   "cuDeviceGetAttribute") ||
        rt_cu_fail(d, rt_cu_api.device_attr(&minor, RT_CU_ATTR_CC_MINOR, d->dev),
                   "cuDeviceGetAttribute") ||
        rt_cu_fail(d, rt_cu_api.ctx_retain(&d->ctx, d->dev), "cuDevicePrimaryCtxRetain") ||
        rt_cu_fail(d, rt_cu_api.ctx_set(d->ctx), "cuCtxSetCurrent") ||
        rt_cu_fail(d, rt_cu_api.stream_create(&d->stream, RT_CU_STREAM_NONBLOCK),
                   "cuStreamCreate") ||
        rt_cu_fail(d, rt_cu_api.event_create(&d->ev0, 0), "cuEventCreate") ||
        rt_cu_fail(d, rt_cu_api.event_create(&d->ev1, 0), "cuEventCreate")) {
        snprintf(msg, cap, "cannot open CUDA device %d: %s", ordinal, d->err);
        rt_cu_close(d);
        return NULL;
    }
    d->arch = major * 10 + minor;
    return d;
}

RT_CU_FN void rt_cu_close(RtCuDevice *d)
{
    if (!d)
        return;
    if (d->ctx)
        rt_cu_api.ctx_set(d->ctx);
    rt_cu_forget_graphs(d);
    if (d->stream)
        rt_cu_api.stream_sync(d->stream);
    for (int i = 0; i < d->n_modules; i++)
        rt_cu_api.module_unload(d->modules[i]);
    if (d->ev0)
        rt_cu_api.event_destroy(d->ev0);
    if (d->ev1)
        rt_cu_api.event_destroy(d->ev1);
    if (d->stream)
        rt_cu_api.stream_destroy(d->stream);
    if (d->ctx)
        rt_cu_api.ctx_release(d->dev);
    free(d->fns);
    free(d);
}

RT_CU_FN const char *rt_cu_name(const RtCuDevice *d)
{
    return d->name;
}

RT_CU_FN int rt_cu_arch(const RtCuDevice *d)
{
    return d->arch;
}

RT_CU_FN const char *rt_cu_error(const RtCuDevice *d)
{
    return d->err;
}

RT_CU_FN int rt_cu_load(RtCuDevice *d, const void *image, const char *const *kernels)
{
    return rt_cu_load_parts(d, &image, 1, kernels, NULL);
}

RT_CU_FN int rt_cu_load_parts(RtCuDevice *d, const void *const *images, int n_images,
                              const char *const *kernels, const int *groups)
{
    rt_cu_api.ctx_set(d->ctx);
    rt_cu_forget_graphs(d);
    for (int i = 0; i < d->n_modules; i++)
        rt_cu_api.module_unload(d->modules[i]);
    d->n_modules = 0;
    free(d->fns);
    d->fns = NULL;
    d->n_fns = 0;
    if (n_images < 1 || n_images > RT_CU_MAX_IMAGES) {
        snprintf(d->err, sizeof d->err, "%d images (1 to %d)", n_images, RT_CU_MAX_IMAGES);
        return 1;
    }
    for (int i = 0; i < n_images; i++) {
        RtCuResult res =
            rt_cu_fail(d, rt_cu_api.module_load(&d->modules[i], images[i]), "cuModuleLoadData");
        if (res)
            return res;
        d->n_modules = i + 1;
    }
    int n = 0;
    while (kernels[n])
        n++;
    d->fns = calloc((size_t)n + 1, sizeof *d->fns);
    if (!d->fns) {
        snprintf(d->err, sizeof d->err, "out of memory");
        return 1;
    }
    for (int k = 0; k < n; k++) { /* in image group % n_images (SLIMC_CU_IN_PART) */
        const int part = (groups ? groups[k] : k) % n_images;
        RtCuResult res = rt_cu_api.module_function(&d->fns[k], d->modules[part], kernels[k]);
        if (res) {
            char what[200];
            snprintf(what, sizeof what, "cuModuleGetFunction(%.120s)", kernels[k]);
            return rt_cu_fail(d, res, what);
        }
    }
    d->n_fns = n;
    return 0;
}

/* ---- memory and copies ---- */

RT_CU_FN void *rt_cu_alloc(RtCuDevice *d, size_t bytes)
{
    RtCuPtr p = 0;
    rt_cu_api.ctx_set(d->ctx);
    RtCuResult res = rt_cu_api.mem_alloc(&p, bytes ? bytes : 1);
    if (res == RT_CU_OUT_OF_MEMORY) {
        size_t free_b = 0, total = 0;
        rt_cu_api.mem_info(&free_b, &total);
        snprintf(d->err, sizeof d->err,
                 "out of GPU memory: %.1f MiB asked, %.1f MiB free of %.1f MiB",
                 (double)bytes / 1048576.0, (double)free_b / 1048576.0, (double)total / 1048576.0);
        return NULL;
    }
    if (rt_cu_fail(d, res, "cuMemAlloc"))
        return NULL;
    return (void *)(uintptr_t)p;
}

RT_CU_FN void rt_cu_free(RtCuDevice *d, void *p)
{
    if (p) {
        rt_cu_api.ctx_set(d->ctx);
        rt_cu_api.mem_free((RtCuPtr)(uintptr_t)p);
    }
}

RT_CU_FN int rt_cu_upload(RtCuDevice *d, void *dst, const void *src, size_t bytes)
{
    if (!bytes)
        return 0;
    rt_cu_api.ctx_set(d->ctx); /* the calling thread may not be the one that opened d */
    return rt_cu_fail(d, rt_cu_api.htod((RtCuPtr)(uintptr_t)dst, src, bytes, d->stream),
                      "cuMemcpyHtoDAsync");
}

RT_CU_FN int rt_cu_download(RtCuDevice *d, void *dst, const void *src, size_t bytes)
{
    if (!bytes)
        return 0;
    rt_cu_api.ctx_set(d->ctx);
    return rt_cu_fail(d, rt_cu_api.dtoh(dst, (RtCuPtr)(uintptr_t)src, bytes, d->stream),
                      "cuMemcpyDtoHAsync");
}

RT_CU_FN int rt_cu_sync(RtCuDevice *d)
{
    rt_cu_api.ctx_set(d->ctx);
    return rt_cu_fail(d, rt_cu_api.stream_sync(d->stream), "cuStreamSynchronize");
}

/* ---- launching: slimc_cuda_rt ---- */

static int rt_cu_rt_launch(void *ctx, int kernel, const unsigned grid[3], const unsigned block[3],
                           const slimc_kargs *a)
{
    RtCuDevice *d = ctx;
    if (kernel < 0 || kernel >= d->n_fns) {
        snprintf(d->err, sizeof d->err, "kernel %d does not exist (the module has %d)", kernel,
                 d->n_fns);
        return 1;
    }
    void *params[1] = {(void *)(uintptr_t)a}; /* the one slimc_kargs, copied at the launch */
    char what[64];
    snprintf(what, sizeof what, "cuLaunchKernel(kernel %d)", kernel);
    return rt_cu_fail(d,
                      rt_cu_api.launch(d->fns[kernel], grid[0], grid[1], grid[2], block[0],
                                       block[1], block[2], 0, d->stream, params, NULL),
                      what);
}

static int rt_cu_rt_copy(void *ctx, void *dst, const void *src, size_t bytes)
{
    RtCuDevice *d = ctx;
    if (!bytes)
        return 0;
    return rt_cu_fail(
        d, rt_cu_api.dtod((RtCuPtr)(uintptr_t)dst, (RtCuPtr)(uintptr_t)src, bytes, d->stream),
        "cuMemcpyDtoDAsync");
}

static int rt_cu_rt_zero(void *ctx, void *dst, size_t bytes)
{
    RtCuDevice *d = ctx;
    if (!bytes)
        return 0;
    return rt_cu_fail(d, rt_cu_api.memset8((RtCuPtr)(uintptr_t)dst, 0, bytes, d->stream),
                      "cuMemsetD8Async");
}

/* A mixed model's copies (transfer nodes): queued on the stream, then waited for, so the
 * CPU's code reads finished data and may reuse the host buffer at once. */
static int rt_cu_rt_to_host(void *ctx, void *dst, const void *src, size_t bytes)
{
    RtCuDevice *d = ctx;
    return rt_cu_download(d, dst, src, bytes) || rt_cu_sync(d);
}

static int rt_cu_rt_to_device(void *ctx, void *dst, const void *src, size_t bytes)
{
    RtCuDevice *d = ctx;
    return rt_cu_upload(d, dst, src, bytes) || rt_cu_sync(d);
}

RT_CU_FN slimc_cuda_rt rt_cu_rt(RtCuDevice *d, int *err_dev)
{
    slimc_cuda_rt rt = {d,
                        rt_cu_rt_launch,
                        rt_cu_rt_copy,
                        rt_cu_rt_zero,
                        err_dev,
                        rt_cu_rt_to_host,
                        rt_cu_rt_to_device,
                        NULL,
                        NULL,
                        0};
    return rt;
}

/* ---- CUDA graphs, one per input shape ---- */

RT_CU_FN void rt_cu_forget_graphs(RtCuDevice *d)
{
    for (int i = 0; i < RT_CU_GRAPHS; i++)
        if (d->graphs[i].exec) {
            rt_cu_api.graph_exec_destroy(d->graphs[i].exec);
            memset(&d->graphs[i], 0, sizeof d->graphs[i]);
        }
}

/* The graph for key, or NULL. */
static RtCuGraph *rt_cu_graph_find(RtCuDevice *d, const int64_t *key, int nkey)
{
    for (int i = 0; i < RT_CU_GRAPHS; i++) {
        RtCuGraph *g = &d->graphs[i];
        if (g->exec && g->nkey == nkey && !memcmp(g->key, key, sizeof *key * (size_t)nkey))
            return g;
    }
    return NULL;
}

/* Captures seq(arg) on the stream into a new graph for key (the least recently used one
 * makes room). NULL when seq failed (*seq_rc) or the capture did (d->err, *res). */
static RtCuGraph *rt_cu_graph_capture(RtCuDevice *d, const int64_t *key, int nkey,
                                      int (*seq)(void *), void *arg, int *seq_rc, RtCuResult *res)
{
    RtCuHandle graph = NULL, exec = NULL;
    *res = rt_cu_fail(d, rt_cu_api.capture_begin(d->stream, RT_CU_CAPTURE_THREAD),
                      "cuStreamBeginCapture");
    if (*res)
        return NULL;
    *seq_rc = seq(arg);
    char seq_err[sizeof d->err];
    memcpy(seq_err, d->err, sizeof seq_err); /* a launch's message outlives EndCapture's */
    RtCuResult end = rt_cu_api.capture_end(d->stream, &graph);
    if (*seq_rc != 0) {
        memcpy(d->err, seq_err, sizeof seq_err);
        if (graph)
            rt_cu_api.graph_destroy(graph);
        return NULL;
    }
    if ((*res = rt_cu_fail(d, end, "cuStreamEndCapture")) != 0)
        return NULL;
    *res = rt_cu_fail(d, rt_cu_api.graph_instantiate(&exec, graph, 0), "cuGraphInstantiate");
    rt_cu_api.graph_destroy(graph);
    if (*res)
        return NULL;
    RtCuGraph *slot = &d->graphs[0];
    for (int i = 1; i < RT_CU_GRAPHS; i++)
        if (!d->graphs[i].exec || (slot->exec && d->graphs[i].used < slot->used))
            slot = &d->graphs[i];
    if (slot->exec)
        rt_cu_api.graph_exec_destroy(slot->exec);
    slot->exec = exec;
    slot->nkey = nkey;
    memcpy(slot->key, key, sizeof *key * (size_t)nkey);
    return slot;
}

RT_CU_FN int rt_cu_run(RtCuDevice *d, const int64_t *key, int nkey, int (*seq)(void *arg),
                       void *arg, int *seq_rc)
{
    rt_cu_api.ctx_set(d->ctx);
    *seq_rc = 0;
    d->last_ms = 0;
    RtCuResult res = rt_cu_fail(d, rt_cu_api.event_record(d->ev0, d->stream), "cuEventRecord");
    if (res)
        return res;
    if (d->graphs_off || nkey > RT_CU_MAX_GRAPH_KEY) {
        *seq_rc = seq(arg);
    } else {
        RtCuGraph *g = rt_cu_graph_find(d, key, nkey);
        if (!g)
            g = rt_cu_graph_capture(d, key, nkey, seq, arg, seq_rc, &res);
        if (!g)
            return res;
        g->used = ++d->tick;
        res = rt_cu_fail(d, rt_cu_api.graph_launch(g->exec, d->stream), "cuGraphLaunch");
        if (res)
            return res;
    }
    if (*seq_rc != 0)
        return 0;
    return rt_cu_fail(d, rt_cu_api.event_record(d->ev1, d->stream), "cuEventRecord");
}

RT_CU_FN double rt_cu_last_ms(RtCuDevice *d)
{
    float ms = 0;
    if (rt_cu_api.event_sync(d->ev1) == 0 && rt_cu_api.event_elapsed(&ms, d->ev0, d->ev1) == 0)
        d->last_ms = ms;
    return d->last_ms;
}
