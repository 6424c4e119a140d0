/* Running a CUDA backend module (see runtime/cuda.h): like runtime/exec.c, with the model's
 * memory on a device. Two devices sit behind one small table of operations (CuDevOps):
 *   the GPU       runtime/cuda_driver.c: device memory, copies on a stream, a CUDA graph
 *                 per input shape; the host half compiled by rt_compile, the kernels by
 *                 NVRTC
 *   the emulation host memory, memcpy, the whole file compiled by rt_compile as C with
 *                 runtime/cuda_emu.h in front; launches call the module's P_cuda_emu_launch
 * A run: bind the inputs, compute the output shapes, lay out one device buffer (the arena
 * of P_arena_bytes, then the inputs, the outputs and the error flag, each 256-byte
 * aligned; grown only when a run needs more), copy the inputs in, run P_run, copy the
 * outputs and the flag back. */
#include "runtime/cuda.h"
#include "runtime/cuda_driver.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern const char slimc_cuda_emu_header[];
extern const size_t slimc_cuda_emu_header_len;

typedef size_t (*ArenaBytesFn)(const int64_t *syms);
typedef int (*CuRunFn)(const slimc_cuda_rt *rt, const void *const *consts,
                       const void *const *inputs, void *const *outputs, const int64_t *syms,
                       void *arena);
typedef int (*EmuLaunchFn)(int kernel, const unsigned grid[3], const unsigned block[3],
                           const slimc_kargs *a);

#define CU_ALIGN 256 /* every buffer of the device block starts at a multiple of this */

/* ---- the two devices ---- */

typedef struct CuDevOps {
    void *(*alloc)(void *dev, size_t bytes); /* NULL: error() says why */
    void (*release)(void *dev, void *p);
    int (*upload)(void *dev, void *dst, const void *src, size_t bytes);
    int (*download)(void *dev, void *dst, const void *src, size_t bytes);
    int (*sync)(void *dev);
    /* runs seq(arg) (a GPU: as the graph for key); *seq_rc gets seq's return */
    int (*run)(void *dev, const int64_t *key, int nkey, int (*seq)(void *), void *arg, int *seq_rc);
    void (*forget)(void *dev); /* the device block moved: captured graphs are stale */
    const char *(*error)(void *dev);
    double (*last_ms)(void *dev);
    void (*close)(void *dev);
} CuDevOps;

/* The GPU: runtime/cuda_driver.c as it is. */
static void *gpu_alloc(void *dev, size_t bytes)
{
    return rt_cu_alloc(dev, bytes);
}
static void gpu_release(void *dev, void *p)
{
    rt_cu_free(dev, p);
}
static int gpu_upload(void *dev, void *dst, const void *src, size_t bytes)
{
    return rt_cu_upload(dev, dst, src, bytes);
}
static int gpu_download(void *dev, void *dst, const void *src, size_t bytes)
{
    return rt_cu_download(dev, dst, src, bytes);
}
static int gpu_sync(void *dev)
{
    return rt_cu_sync(dev);
}
static int gpu_run(void *dev, const int64_t *key, int nkey, int (*seq)(void *), void *arg,
                   int *seq_rc)
{
    return rt_cu_run(dev, key, nkey, seq, arg, seq_rc);
}
static void gpu_forget(void *dev)
{
    rt_cu_forget_graphs(dev);
}
static const char *gpu_error(void *dev)
{
    return rt_cu_error(dev);
}
static double gpu_last_ms(void *dev)
{
    return rt_cu_last_ms(dev);
}
static void gpu_close(void *dev)
{
    rt_cu_close(dev);
}
static const CuDevOps gpu_ops = {gpu_alloc, gpu_release, gpu_upload, gpu_download, gpu_sync,
                                 gpu_run,   gpu_forget,  gpu_error,  gpu_last_ms,  gpu_close};

/* The emulation: host memory; launches go to the module's P_cuda_emu_launch, and
 * slimc_emu_error (runtime/cuda_emu.h) says why one failed, through the wrapper the runtime
 * appends to the file (EMU_ERROR_FN). */
#define EMU_ERROR_FN "slimc_rt_cuda_emu_error"
typedef struct EmuDev {
    EmuLaunchFn launch;
    const char *(*why)(void);
    const char *const *kernels;
    int n_kernels;
    char err[512];
} EmuDev;

static void *emu_alloc(void *dev, size_t bytes)
{
    void *p = aligned_alloc(CU_ALIGN, (bytes + CU_ALIGN - 1) / CU_ALIGN * CU_ALIGN + CU_ALIGN);
    if (!p)
        snprintf(((EmuDev *)dev)->err, sizeof((EmuDev *)dev)->err,
                 "out of memory (%.1f MiB for the emulated device)", (double)bytes / 1048576.0);
    return p;
}
static void emu_release(void *dev, void *p)
{
    (void)dev;
    free(p);
}
static int emu_copy(void *dev, void *dst, const void *src, size_t bytes)
{
    (void)dev;
    if (bytes)
        memmove(dst, src, bytes);
    return 0;
}
static int emu_sync(void *dev)
{
    (void)dev;
    return 0;
}
static int emu_run(void *dev, const int64_t *key, int nkey, int (*seq)(void *), void *arg,
                   int *seq_rc)
{
    (void)dev, (void)key, (void)nkey;
    *seq_rc = seq(arg);
    return 0;
}
static void emu_forget(void *dev)
{
    (void)dev;
}
static const char *emu_error(void *dev)
{
    return ((EmuDev *)dev)->err;
}
static double emu_last_ms(void *dev)
{
    (void)dev;
    return 0;
}
static void emu_close(void *dev)
{
    free(dev);
}
static const CuDevOps emu_ops = {emu_alloc, emu_release, emu_copy,  emu_copy,    emu_sync,
                                 emu_run,   emu_forget,  emu_error, emu_last_ms, emu_close};

static int emu_rt_launch(void *ctx, int kernel, const unsigned grid[3], const unsigned block[3],
                         const slimc_kargs *a)
{
    EmuDev *d = ctx;
    if (kernel < 0 || kernel >= d->n_kernels) {
        snprintf(d->err, sizeof d->err, "kernel %d does not exist (the module has %d)", kernel,
                 d->n_kernels);
        return 1;
    }
    int rc = d->launch(kernel, grid, block, a);
    if (rc != 0) {
        const char *why = d->why ? d->why() : "";
        snprintf(d->err, sizeof d->err,
                 "kernel '%.100s' (grid %u x %u x %u, block %u x %u x %u) "
                 "in the CPU emulation: %s%s%.300s",
                 d->kernels[kernel], grid[0], grid[1], grid[2], block[0], block[1], block[2],
                 rc == 1   ? "a zero or too large grid or block dimension"
                 : rc == 2 ? "a deadlock (threads wait at barriers that cannot complete)"
                 : rc == 3 ? "no memory for the threads' stacks"
                 : rc == 4 ? "another launch is running in this module"
                           : "the launch failed",
                 why && why[0] ? ": " : "", why ? why : "");
        return 1;
    }
    return 0;
}
static int emu_rt_copy(void *ctx, void *dst, const void *src, size_t bytes)
{
    return emu_copy(ctx, dst, src, bytes);
}
static int emu_rt_zero(void *ctx, void *dst, size_t bytes)
{
    (void)ctx;
    memset(dst, 0, bytes);
    return 0;
}

/* ---- finding a device ---- */

bool rt_cuda_emulated(bool opt)
{
    const char *e = getenv("SLIMC_CUDA_EMULATE");
    return opt || (e && *e && strcmp(e, "0") != 0);
}

static pthread_once_t probe_once = PTHREAD_ONCE_INIT;
static bool probe_found;
static char probe_why[600];

static void probe(void)
{
    probe_found = rt_cu_probe(probe_why, sizeof probe_why) > 0; /* no context: cheap */
}

bool rt_cuda_device_available(bool emulate, char *why, size_t cap)
{
    if (emulate)
        return true;
    pthread_once(&probe_once, probe);
    if (!probe_found && why && cap)
        snprintf(why, cap, "%s", probe_why);
    return probe_found;
}

/* ---- the exec ---- */

struct RtCudaExec {
    const RtModelDesc *m;
    void *owned;
    RtExecCheck check;
    void *check_ctx;
    RtModule *host; /* the host half (emulated: the whole file) */
    ArenaBytesFn arena_bytes;
    CuRunFn run;
    const CuDevOps *ops;
    void *dev; /* RtCuDevice or EmuDev */
    slimc_cuda_rt rt;
    void *weights;        /* one device block holding every constant (GPU only) */
    const void **dconsts; /* device pointer per value id */
    void *buf;            /* arena, inputs, outputs, error flag */
    size_t buf_cap;
    /* a mixed-device model (P_host_arena_bytes: some nodes run on the CPU) */
    ArenaBytesFn host_arena_bytes;
    const void *const *hconsts; /* the caller's weights in host memory (RtCudaConsts.data) */
    void *hbuf;                 /* the CPU's arena */
    size_t hbuf_cap;
    int nthreads;
    char device_name[320];
};

static SrcLoc model_loc(const RtModelDesc *m)
{
    return (SrcLoc){m->source, 0, 0};
}

static size_t align_up(size_t n)
{
    return (n + CU_ALIGN - 1) / CU_ALIGN * CU_ALIGN;
}

/* Looks up P_name in e->host. */
static void *entry(RtCudaExec *e, const char *prefix, const char *name)
{
    char sym[300];
    snprintf(sym, sizeof sym, "%s_%s", prefix, name);
    return rt_symbol(e->host, sym);
}

/* The emulation: the file as C after the emulation header. */
static bool open_emulated(RtCudaExec *e, const char *src, size_t len, const char *prefix,
                          const RtOptions *o, Diag *d)
{
    static const char define[] = "#define SLIMC_CUDA_EMULATE 1\n";
    /* a mixed model's first line, RT_SHARED_KERNELS, stays first (rt_compile looks there) */
    const size_t shared = strlen(RT_SHARED_KERNELS);
    const char *eol =
        len > shared && memcmp(src, RT_SHARED_KERNELS, shared) == 0 ? memchr(src, '\n', len) : NULL;
    const size_t head = eol ? (size_t)(eol - src) + 1 : 0;
    static const char tail[] = "\nconst char *" EMU_ERROR_FN "(void);\n"
                               "const char *" EMU_ERROR_FN "(void) { return slimc_emu_error(); }\n";
    size_t n = sizeof define - 1 + slimc_cuda_emu_header_len + 1 + len + sizeof tail - 1;
    char *full = malloc(n + 1);
    if (!full) {
        ir_diag_error(d, (SrcLoc){0}, "out of memory");
        return false;
    }
    size_t at = 0;
    memcpy(full + at, src, head);
    at += head;
    src += head;
    len -= head;
    memcpy(full + at, define, sizeof define - 1);
    at += sizeof define - 1;
    memcpy(full + at, slimc_cuda_emu_header, slimc_cuda_emu_header_len);
    at += slimc_cuda_emu_header_len;
    full[at++] = '\n';
    memcpy(full + at, src, len);
    at += len;
    memcpy(full + at, tail, sizeof tail); /* with the NUL */
    RtOptions ro = *o;
    ro.shared_kernels = false;
    e->host = rt_compile(full, n, &ro, d);
    free(full);
    if (!e->host)
        return false;
    EmuDev *dev = calloc(1, sizeof *dev);
    if (!dev) {
        ir_diag_error(d, (SrcLoc){0}, "out of memory");
        return false;
    }
    e->dev = dev;
    e->ops = &emu_ops;
    *(void **)&dev->launch = entry(e, prefix, "cuda_emu_launch");
    *(void **)&dev->why = rt_symbol(e->host, EMU_ERROR_FN);
    dev->kernels = entry(e, prefix, "cuda_kernels");
    if (!dev->launch || !dev->kernels) {
        ir_diag_error(d, (SrcLoc){0},
                      "compiled CUDA code has no entry point '%s_cuda_emu_launch' / "
                      "'%s_cuda_kernels'",
                      prefix, prefix);
        return false;
    }
    while (dev->kernels[dev->n_kernels])
        dev->n_kernels++;
    e->rt = (slimc_cuda_rt){dev,         emu_rt_launch, emu_rt_copy, emu_rt_zero, NULL,
                            emu_rt_copy, emu_rt_copy,   NULL,        NULL,        0};
    snprintf(e->device_name, sizeof e->device_name, "emulated CUDA device (CPU)");
    return true;
}

/* Which image NVRTC makes for a GPU of compute capability arch: cubin for sm_arch when
 * NVRTC knows it, else PTX for the newest compute_XX not above it (the driver JIT-compiles
 * that). 0 when NVRTC knows nothing as old as the GPU. */
static int pick_arch(int arch, RtCuImageKind *kind)
{
    int archs[64];
    int n = rt_nvrtc_archs(archs, 64), best = 0;
    *kind = RT_CU_PTX;
    for (int i = 0; i < n; i++) {
        if (archs[i] == arch)
            *kind = RT_CU_CUBIN;
        if (archs[i] <= arch && archs[i] > best)
            best = archs[i];
    }
    return best;
}

/* NVRTC's compile of the device half, on a thread of its own while the host half compiles
 * (its messages and time are merged after the join). */
typedef struct NvrtcJob {
    const char *src;
    size_t len;
    int arch;
    RtCuImageKind kind;
    unsigned flags; /* RT_NVRTC_PART(i, n) */
    RtOptions o;
    double ms;
    Diag d;
    RtCuImage img;
    bool ok;
} NvrtcJob;

static void *nvrtc_job(void *p)
{
    NvrtcJob *j = p;
    j->o.compile_ms = &j->ms;
    j->ok = rt_nvrtc_compile(j->src, j->len, j->arch, j->kind, j->flags, &j->o, &j->img, &j->d);
    return NULL;
}

/* In how many parts NVRTC compiles src at a cold start, each on its own thread: one per
 * group of kernels (a node's kernels, `#if SLIMC_CU_IN_PART(g)` in the file) up to the CPUs
 * online, at most RT_CU_MAX_IMAGES; $SLIMC_NVRTC_PARTS overrides (1: the whole file at
 * once). NVRTC's time is per kernel, so a cold start takes about the slowest part. */
static int nvrtc_parts(const char *src, size_t len)
{
    static const char mark[] = "\n#if SLIMC_CU_IN_PART(";
    const size_t m = sizeof mark - 1;
    int groups = 0, last = -1;
    for (size_t i = 0; i + m + 1 < len; i++) {
        if (src[i] != '\n' || memcmp(src + i, mark, m) != 0)
            continue;
        const int g = atoi(src + i + m); /* digits, then ')' */
        if (g != last)
            groups++, last = g;
    }
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    int n = groups < (int)(cpus > 0 ? cpus : 1) ? groups : (int)(cpus > 0 ? cpus : 1);
    const char *env = getenv("SLIMC_NVRTC_PARTS");
    if (env && *env)
        n = atoi(env);
    if (n > groups)
        n = groups;
    if (n > RT_CU_MAX_IMAGES)
        n = RT_CU_MAX_IMAGES;
    return n < 1 ? 1 : n;
}

/* A GPU: the host half by rt_compile and the kernels by NVRTC (in parts, at the same time),
 * loaded into the device. */
static bool open_gpu(RtCudaExec *e, const char *src, size_t len, const char *prefix,
                     const RtOptions *o, Diag *d)
{
    char why[600];
    RtCuDevice *dev = rt_cu_open(0, why, sizeof why);
    if (!dev) {
        ir_diag_error(d, (SrcLoc){0}, "no CUDA device found (%s)", why);
        return false;
    }
    e->dev = dev;
    e->ops = &gpu_ops;
    int arch = rt_cu_arch(dev);
    snprintf(e->device_name, sizeof e->device_name, "%s (sm_%d)", rt_cu_name(dev), arch);
    if (!rt_nvrtc_available(why, sizeof why)) {
        ir_diag_error(d, (SrcLoc){0},
                      "NVRTC (the CUDA runtime compiler) not found: %s (install the CUDA toolkit, "
                      "or `pip install nvidia-cuda-nvrtc`, or set SLIMC_NVRTC to libnvrtc.so)",
                      why);
        return false;
    }
    RtCuImageKind kind;
    const int use_arch = pick_arch(arch, &kind);
    if (!use_arch) {
        ir_diag_error(d, (SrcLoc){0}, "%s: NVRTC %s compiles for no GPU as old as sm_%d",
                      e->device_name, rt_nvrtc_version(), arch);
        return false;
    }
    const int n_parts = nvrtc_parts(src, len);
    NvrtcJob jobs[RT_CU_MAX_IMAGES];
    pthread_t threads[RT_CU_MAX_IMAGES];
    bool threaded[RT_CU_MAX_IMAGES];
    for (int i = 0; i < n_parts; i++) {
        jobs[i] = (NvrtcJob){.src = src, .len = len, .arch = use_arch, .kind = kind, .o = *o};
        jobs[i].flags = n_parts > 1 ? RT_NVRTC_PART(i, n_parts) : 0;
        ir_diag_init(&jobs[i].d);
        threaded[i] = pthread_create(&threads[i], NULL, nvrtc_job, &jobs[i]) == 0;
        if (!threaded[i])
            nvrtc_job(&jobs[i]);
    }
    RtOptions ro = *o;
    ro.shared_kernels = false;
    e->host = rt_compile(src, len, &ro, d);
    bool jobs_ok = true;
    double slowest = 0;
    for (int i = 0; i < n_parts; i++) {
        if (threaded[i])
            pthread_join(threads[i], NULL);
        slowest = jobs[i].ms > slowest ? jobs[i].ms : slowest;
        jobs_ok = jobs_ok && jobs[i].ok;
        ir_diag_append(d, &jobs[i].d);
        ir_diag_fini(&jobs[i].d);
    }
    if (o->compile_ms) /* the parts ran side by side: the wall time is the slowest */
        *o->compile_ms += slowest;
    const char *const *kernels = e->host ? entry(e, prefix, "cuda_kernels") : NULL;
    const int *groups = e->host ? entry(e, prefix, "cuda_kernel_groups") : NULL;
    if (e->host && !kernels)
        ir_diag_error(d, (SrcLoc){0}, "compiled CUDA code has no entry point '%s_cuda_kernels'",
                      prefix);
    bool ok = kernels && jobs_ok;
    if (ok) {
        const void *images[RT_CU_MAX_IMAGES];
        for (int i = 0; i < n_parts; i++)
            images[i] = jobs[i].img.data;
        ok = rt_cu_load_parts(dev, images, n_parts, kernels, groups) == 0;
        if (!ok)
            ir_diag_error(d, (SrcLoc){0}, "%s: cannot load the compiled kernels: %s",
                          e->device_name, rt_cu_error(dev));
    }
    for (int i = 0; i < n_parts; i++)
        rt_cu_image_free(&jobs[i].img);
    if (ok)
        e->rt = rt_cu_rt(dev, NULL);
    return ok;
}

/* The weights: as they are for the emulation; on a GPU, one block uploaded once. */
static bool place_weights(RtCudaExec *e, RtCudaConsts c, Diag *d)
{
    e->dconsts = calloc((size_t)c.n + 1, sizeof *e->dconsts);
    if (!e->dconsts) {
        ir_diag_error(d, (SrcLoc){0}, "out of memory");
        return false;
    }
    if (e->ops == &emu_ops) {
        for (int v = 0; v < c.n; v++)
            e->dconsts[v] = c.data[v];
        return true;
    }
    size_t total = 0;
    for (int v = 0; v < c.n; v++)
        if (c.data[v] && __builtin_add_overflow(total, align_up(c.bytes[v]), &total)) {
            ir_diag_error(d, (SrcLoc){0}, "the weights' size overflows");
            return false;
        }
    if (total) {
        e->weights = e->ops->alloc(e->dev, total);
        if (!e->weights) {
            ir_diag_error(d, (SrcLoc){0}, "%s: the weights (%.1f MiB): %s", e->device_name,
                          (double)total / 1048576.0, e->ops->error(e->dev));
            return false;
        }
    }
    size_t at = 0;
    for (int v = 0; v < c.n; v++) {
        if (!c.data[v] || !c.bytes[v])
            continue; /* an empty constant: no bytes to point at (NULL) */
        e->dconsts[v] = (char *)e->weights + at;
        if (e->ops->upload(e->dev, (char *)e->weights + at, c.data[v], c.bytes[v]) != 0) {
            ir_diag_error(d, (SrcLoc){0}, "%s: uploading the weights: %s", e->device_name,
                          e->ops->error(e->dev));
            return false;
        }
        at += align_up(c.bytes[v]);
    }
    if (e->ops->sync(e->dev) != 0) {
        ir_diag_error(d, (SrcLoc){0}, "%s: uploading the weights: %s", e->device_name,
                      e->ops->error(e->dev));
        return false;
    }
    return true;
}

RtCudaExec *rt_cuda_exec_new(const char *src, size_t len, const char *prefix,
                             const RtModelDesc *desc, RtCudaConsts consts, void *owned,
                             bool emulate, const RtOptions *o, Diag *d)
{
    const char *p = prefix ? prefix : "slimc_model";
    RtCudaExec *e = calloc(1, sizeof *e);
    if (!e) {
        free(owned);
        ir_diag_error(d, (SrcLoc){0}, "out of memory");
        return NULL;
    }
    e->m = desc;
    e->owned = owned;
    RtOptions dflt;
    if (!o) {
        rt_options_default(&dflt);
        o = &dflt;
    }
    bool ok = emulate ? open_emulated(e, src, len, p, o, d) : open_gpu(e, src, len, p, o, d);
    if (ok) {
        *(void **)&e->run = entry(e, p, "run");
        *(void **)&e->arena_bytes = entry(e, p, "arena_bytes");
        if (!e->run || !e->arena_bytes) {
            ir_diag_error(d, (SrcLoc){0},
                          "compiled CUDA code has no entry point '%s_run' / '%s_arena_bytes'", p,
                          p);
            ok = false;
        }
    }
    if (ok) {
        *(void **)&e->host_arena_bytes = entry(e, p, "host_arena_bytes");
        e->hconsts = consts.data;
        e->nthreads = 1;
        ok = place_weights(e, consts, d);
    }
    if (!ok) {
        rt_cuda_exec_free(e);
        return NULL;
    }
    return e;
}

void rt_cuda_exec_set_check(RtCudaExec *e, RtExecCheck check, void *ctx)
{
    e->check = check;
    e->check_ctx = ctx;
}

void rt_cuda_exec_set_threads(RtCudaExec *e, int nthreads)
{
    e->nthreads = nthreads > 0 ? nthreads : 1;
}

void rt_cuda_exec_free(RtCudaExec *e)
{
    if (!e)
        return;
    free(e->hbuf);
    if (e->dev) {
        e->ops->release(e->dev, e->buf);
        if (e->weights)
            e->ops->release(e->dev, e->weights);
        e->ops->close(e->dev);
    }
    rt_module_free(e->host);
    free(e->dconsts);
    free(e->owned);
    free(e);
}

const char *rt_cuda_exec_device(const RtCudaExec *e)
{
    return e->device_name;
}

double rt_cuda_exec_last_ms(const RtCudaExec *e)
{
    return e->ops->last_ms(e->dev);
}

/* ---- a run ---- */

/* What the launch sequence (captured as a graph on a GPU) needs. */
typedef struct Seq {
    RtCudaExec *e;
    const void **din;
    void **dout;
    const int64_t *syms;
    void *arena;
} Seq;

static int run_seq(void *arg)
{
    Seq *s = arg;
    RtCudaExec *e = s->e;
    if (e->rt.zero(e->rt.ctx, e->rt.err, sizeof(int)) != 0)
        return 5;
    return e->run(&e->rt, e->dconsts, s->din, s->dout, s->syms, s->arena);
}

/* Lays out the device block for this run (growing it when too small): the arena, then
 * each input and output, then the error flag. false with a diagnostic. */
static bool layout(RtCudaExec *e, const int64_t *syms, const RtTensor *in, const RtTensor *out,
                   const void **din, void **dout, void **arena, Diag *d)
{
    const RtModelDesc *m = e->m;
    size_t need = e->arena_bytes(syms), at = 0;
    bool ok = need <= (size_t)RT_MAX_TENSOR_BYTES;
    size_t offs_in[64], *offs = m->n_inputs + m->n_outputs <= 64
                                    ? offs_in
                                    : calloc((size_t)(m->n_inputs + m->n_outputs), sizeof *offs);
    if (!offs)
        ok = false;
    at = ok ? align_up(need) : 0;
    const bool mixed = e->host_arena_bytes != NULL; /* inputs, outputs: the caller's */
    for (int i = 0; ok && i < m->n_inputs + m->n_outputs; i++) {
        size_t n = mixed ? 0 : i < m->n_inputs ? in[i].nbytes : out[i - m->n_inputs].nbytes;
        offs[i] = at;
        ok = !__builtin_add_overflow(at, align_up(n), &at);
    }
    size_t err_at = at;
    ok = ok && !__builtin_add_overflow(at, (size_t)CU_ALIGN, &at);
    if (ok && at > e->buf_cap) {
        e->ops->forget(e->dev);
        e->ops->release(e->dev, e->buf);
        e->buf_cap = 0;
        e->buf = e->ops->alloc(e->dev, at);
        if (!e->buf) {
            ir_diag_error(d, model_loc(m), "model '%s' on %s: %s", m->name ? m->name : "?",
                          e->device_name, e->ops->error(e->dev));
            if (offs != offs_in)
                free(offs);
            return false;
        }
        e->buf_cap = at;
    }
    if (!ok)
        ir_diag_error(d, model_loc(m), "model '%s': the device memory for these inputs overflows",
                      m->name ? m->name : "?");
    for (int i = 0; ok && i < m->n_inputs + m->n_outputs; i++) {
        void *p = (char *)e->buf + offs[i];
        if (i < m->n_inputs)
            din[i] = mixed ? in[i].data : p;
        else
            dout[i - m->n_inputs] = mixed ? out[i - m->n_inputs].data : p;
    }
    if (ok && mixed) { /* the CPU's arena */
        size_t hneed = e->host_arena_bytes(syms);
        if (hneed > (size_t)RT_MAX_TENSOR_BYTES) {
            ir_diag_error(d, model_loc(m), "model '%s': the CPU memory for these inputs overflows",
                          m->name ? m->name : "?");
            ok = false;
        } else if (hneed > e->hbuf_cap) {
            free(e->hbuf);
            e->hbuf_cap = 0;
            e->hbuf = malloc(hneed);
            if (!e->hbuf) {
                ir_diag_error(d, model_loc(m), "model '%s': out of memory (%.1f MiB for the CPU)",
                              m->name ? m->name : "?", (double)hneed / 1048576.0);
                ok = false;
            } else
                e->hbuf_cap = hneed;
        }
        e->rt.host_arena = e->hbuf;
        e->rt.host_consts = e->hconsts;
        e->rt.nthreads = e->nthreads;
    }
    if (ok) {
        *arena = e->buf;
        e->rt.err = (int *)(void *)((char *)e->buf + err_at);
    }
    if (offs != offs_in)
        free(offs);
    return ok;
}

/* Copies in, runs, copies out. The return code of P_run (3 when the kernels raised the
 * error flag), or -1 after a device error reported to d. */
static int device_run(RtCudaExec *e, const RtTensor *in, RtTensor *out, const void **din,
                      void **dout, const int64_t *syms, void *arena, Diag *d)
{
    const RtModelDesc *m = e->m;
    const CuDevOps *ops = e->ops;
    int dev_rc = 0, rc = 0, flag = 0;
    const bool mixed = e->host_arena_bytes != NULL; /* the model's transfers copy in and out */
    for (int i = 0; !mixed && !dev_rc && i < m->n_inputs; i++)
        dev_rc = ops->upload(e->dev, (void *)(uintptr_t)din[i], in[i].data, in[i].nbytes);
    /* the key of the graph: the symbols and where the block is */
    int64_t key[RT_MAX_SYMS + 2];
    int nkey = 0;
    for (int s = 0; s < m->n_syms && s < RT_MAX_SYMS; s++)
        key[nkey++] = syms[s];
    key[nkey++] = (int64_t)(uintptr_t)e->buf;
    key[nkey++] = (int64_t)e->buf_cap;
    Seq seq = {e, din, dout, syms, arena};
    if (!dev_rc && mixed) /* CPU code between the launches: no CUDA graph */
        rc = run_seq(&seq);
    else if (!dev_rc)
        dev_rc = ops->run(e->dev, key, nkey, run_seq, &seq, &rc);
    for (int j = 0; !mixed && !dev_rc && !rc && j < m->n_outputs; j++)
        dev_rc = ops->download(e->dev, out[j].data, dout[j], out[j].nbytes);
    if (!dev_rc && !rc)
        dev_rc = ops->download(e->dev, &flag, e->rt.err, sizeof flag);
    if (!dev_rc)
        dev_rc = ops->sync(e->dev);
    if (dev_rc) {
        ir_diag_error(d, model_loc(m), "model '%s' failed on %s: %s", m->name ? m->name : "?",
                      e->device_name, ops->error(e->dev));
        return -1;
    }
    return rc ? rc : flag ? 3 : 0;
}

bool rt_cuda_exec_run(RtCudaExec *e, const RtTensor *inputs, int n_inputs, RtTensor *outputs,
                      int n_outputs, Diag *d)
{
    const RtModelDesc *m = e->m;
    if (n_inputs != m->n_inputs || n_outputs != m->n_outputs) {
        ir_diag_error(d, model_loc(m),
                      "model '%s' takes %d inputs and gives %d outputs (called with %d and %d)",
                      m->name ? m->name : "?", m->n_inputs, m->n_outputs, n_inputs, n_outputs);
        return false;
    }
    int64_t syms[RT_MAX_SYMS];
    if (!rt_bind_inputs(m, inputs, syms, d))
        return false;
    if (e->check && !e->check(e->check_ctx, syms, d))
        return false;
    if (!rt_exec_alloc_outputs(m, syms, outputs, d))
        return false;
    const void **din = calloc((size_t)n_inputs + 1, sizeof *din);
    void **dout = calloc((size_t)n_outputs + 1, sizeof *dout);
    void *arena = NULL;
    bool ok = din && dout;
    if (!ok)
        ir_diag_error(d, model_loc(m), "out of memory running model '%s'", m->name ? m->name : "?");
    ok = ok && layout(e, syms, inputs, outputs, din, dout, &arena, d);
    if (ok) {
        int rc = device_run(e, inputs, outputs, din, dout, syms, arena, d);
        if (rc > 0) {
            const char *why = e->ops->error(e->dev);
            ir_diag_error(d, model_loc(m), "model '%s' failed: %s%s%s", m->name ? m->name : "?",
                          rt_exec_status_text(rc), rc == 5 && why[0] ? ": " : "",
                          rc == 5 ? why : "");
        }
        ok = rc == 0;
    }
    if (!ok)
        for (int j = 0; j < n_outputs; j++) {
            free(outputs[j].data);
            outputs[j].data = NULL;
        }
    free(din);
    free(dout);
    return ok;
}
