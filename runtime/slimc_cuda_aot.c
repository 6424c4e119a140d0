/* A model built ahead of time for CUDA (`slimc build --device cuda`, executable or --lib):
 * the GPU, its kernels, the weights on it, the device arena and a run. The executable's
 * main() (runtime/slimc_cuda_main.c, runtime/slimc_main.c) and the library's API
 * (runtime/slimc_cuda_lib.c) are built on it. Plain C, libc and libdl only, ASCII.
 *
 * slimc pastes it after: the CUDA backend's file (its host half), runtime/model_desc.h
 * and model_io.c, the descriptor (SLIMC_N_VALUES, SLIMC_N_INPUTS, slimc_inputs[], ...),
 * runtime/cuda_driver.h and cuda_driver.c (static), and the build's table:
 *   SLIMC_CUDA_BLOB             the blob symbol: the weights, then the kernel images
 *   SLIMC_CUDA_RUN, SLIMC_CUDA_ARENA_BYTES, SLIMC_CUDA_KERNELS   the host half's entries
 *   SLIMC_WEIGHTS_BYTES         the weights' bytes at the start of the blob
 *   slimc_cuda_consts[]         {value id, offset in the blob}, ending with id -1
 *   slimc_cuda_images[SLIMC_N_CUDA_IMAGES]  {cubin?, arch, offset, bytes}: PTX for
 *                               compute_75/80/90 (NUL-terminated), cubin for sm_75/80/90
 *                               where ptxas was found when it was built
 * Every name here starts with slimc_cuda_ or SLIMC_CUDA_ and is static: two models'
 * libraries link into one program. */

typedef struct SlimcCudaModel {
    RtCuDevice *dev;
    void *weights;                          /* device: the blob's weights, uploaded once */
    const void *consts[SLIMC_N_VALUES + 1]; /* device pointers into weights */
    void *arena;                            /* device scratch, grown to the largest run */
    size_t arena_cap;
    void *io; /* device: a host run's inputs and outputs */
    size_t io_cap;
    int *err;       /* device: the kernels' error flag */
    char msg[1200]; /* the last error */
#ifdef SLIMC_CUDA_HOST_ARENA_BYTES
    /* a mixed-device model: some nodes run on the CPU (their code is in the host half) */
    const void *hconsts[SLIMC_N_VALUES + 1]; /* the weights in host memory: the blob's */
    void *harena;                            /* the CPU's arena */
    size_t harena_cap;
#endif
    int nthreads; /* threads for the CPU's nodes of a mixed-device model */
} SlimcCudaModel;

static int slimc_cuda_fail(SlimcCudaModel *m, const char *what)
{
    snprintf(m->msg, sizeof m->msg, "%s%s%s", what, m->dev ? ": " : "",
             m->dev ? rt_cu_error(m->dev) : "");
    return 5;
}

/* The embedded image for a GPU of compute capability arch (75 for 7.5): the cubin for
 * exactly that sm, else the newest PTX not newer than it; -1 when none fits. */
static int slimc_cuda_pick_image(int arch)
{
    int best = -1;
    for (int i = 0; i < SLIMC_N_CUDA_IMAGES; i++) {
        if (slimc_cuda_images[i].arch > arch)
            continue;
        if (slimc_cuda_images[i].cubin) {
            if (slimc_cuda_images[i].arch == arch)
                return i;
            continue;
        }
        if (best < 0 || slimc_cuda_images[i].arch > slimc_cuda_images[best].arch)
            best = i;
    }
    return best;
}

/* Opens the first GPU, loads the kernels, uploads the weights. 0, or non-zero with the
 * message in m->msg ("no CUDA device found (...)", ...); slimc_cuda_model_close it either way. */
static int slimc_cuda_model_open(SlimcCudaModel *m)
{
    char why[600];
    memset(m, 0, sizeof *m);
    m->dev = rt_cu_open(0, why, sizeof why);
    if (!m->dev) {
        snprintf(m->msg, sizeof m->msg, "no CUDA device found (%s)", why);
        return 1;
    }
    const int arch = rt_cu_arch(m->dev);
    const int img = slimc_cuda_pick_image(arch);
    if (img < 0) {
        snprintf(m->msg, sizeof m->msg,
                 "%s (sm_%d) is older than every GPU the model was built for (compute_75 on)",
                 rt_cu_name(m->dev), arch);
        return 1;
    }
    if (rt_cu_load(m->dev, SLIMC_CUDA_BLOB + slimc_cuda_images[img].offset, SLIMC_CUDA_KERNELS)) {
        char what[400];
        snprintf(what, sizeof what, "%s (sm_%d): cannot load the kernels (%s_%d)",
                 rt_cu_name(m->dev), arch, slimc_cuda_images[img].cubin ? "sm" : "compute",
                 slimc_cuda_images[img].arch);
        return slimc_cuda_fail(m, what);
    }
#ifdef SLIMC_CUDA_HOST_ARENA_BYTES
    /* a mixed model: the weights its kernels read, each uploaded at its own place */
    size_t total = 0;
    for (int c = 0; slimc_cuda_consts[c].id >= 0; c++)
        if (slimc_cuda_consts[c].gpu)
            total += (slimc_cuda_consts[c].bytes + 255) / 256 * 256;
    if (total > 0) {
        if (!(m->weights = rt_cu_alloc(m->dev, total)))
            return slimc_cuda_fail(m, "uploading the weights");
        size_t at = 0;
        for (int c = 0; slimc_cuda_consts[c].id >= 0; c++) {
            if (!slimc_cuda_consts[c].gpu)
                continue;
            m->consts[slimc_cuda_consts[c].id] = (const char *)m->weights + at;
            if (rt_cu_upload(m->dev, (char *)m->weights + at,
                             SLIMC_CUDA_BLOB + slimc_cuda_consts[c].offset,
                             slimc_cuda_consts[c].bytes))
                return slimc_cuda_fail(m, "uploading the weights");
            at += (slimc_cuda_consts[c].bytes + 255) / 256 * 256;
        }
        if (rt_cu_sync(m->dev))
            return slimc_cuda_fail(m, "uploading the weights");
    }
#else
    if (SLIMC_WEIGHTS_BYTES > 0) {
        m->weights = rt_cu_alloc(m->dev, SLIMC_WEIGHTS_BYTES);
        if (!m->weights || rt_cu_upload(m->dev, m->weights, SLIMC_CUDA_BLOB, SLIMC_WEIGHTS_BYTES) ||
            rt_cu_sync(m->dev))
            return slimc_cuda_fail(m, "uploading the weights");
    }
    for (int c = 0; slimc_cuda_consts[c].id >= 0; c++)
        m->consts[slimc_cuda_consts[c].id] = (const char *)m->weights + slimc_cuda_consts[c].offset;
#endif
    if (!(m->err = rt_cu_alloc(m->dev, 256)))
        return slimc_cuda_fail(m, "device memory");
#ifdef SLIMC_CUDA_HOST_ARENA_BYTES
    for (int c = 0; slimc_cuda_consts[c].id >= 0; c++)
        m->hconsts[slimc_cuda_consts[c].id] = SLIMC_CUDA_BLOB + slimc_cuda_consts[c].offset;
#endif
    m->nthreads = 1;
    return 0;
}

static void slimc_cuda_model_close(SlimcCudaModel *m)
{
#ifdef SLIMC_CUDA_HOST_ARENA_BYTES
    free(m->harena);
    m->harena = NULL;
    m->harena_cap = 0;
#endif
    if (!m->dev)
        return;
    if (m->err)
        rt_cu_free(m->dev, m->err);
    if (m->io)
        rt_cu_free(m->dev, m->io);
    if (m->arena)
        rt_cu_free(m->dev, m->arena);
    if (m->weights)
        rt_cu_free(m->dev, m->weights);
    rt_cu_close(m->dev);
    m->dev = NULL;
}

/* Grows a device buffer to bytes (the captured graphs point into the old one). */
static int slimc_cuda_grow(SlimcCudaModel *m, void **buf, size_t *cap, size_t bytes)
{
    if (bytes <= *cap)
        return 0;
    rt_cu_forget_graphs(m->dev);
    if (*buf)
        rt_cu_free(m->dev, *buf);
    *cap = 0;
    if (!(*buf = rt_cu_alloc(m->dev, bytes)))
        return slimc_cuda_fail(m, "device memory");
    *cap = bytes;
    return 0;
}

/* A run's launch sequence (captured as a CUDA graph the first time its key is seen). */
typedef struct SlimcCudaSeq {
    SlimcCudaModel *m;
    slimc_cuda_rt rt;
    const void *const *in;
    void *const *out;
    const int64_t *syms;
} SlimcCudaSeq;

static int slimc_cuda_seq(void *arg)
{
    SlimcCudaSeq *s = arg;
    if (s->rt.zero(s->rt.ctx, s->rt.err, sizeof(int)) != 0)
        return 5;
    return SLIMC_CUDA_RUN(&s->rt, s->m->consts, s->in, s->out, s->syms, s->m->arena);
}

/* Runs on device pointers (inputs in, outputs written) and waits for the GPU. 0; 1..4 the host
 * half's status (3: a kernel saw an index out of range); 5 a device error (m->msg); -1 the arena
 * overflows. */
static int slimc_cuda_model_run_on(SlimcCudaModel *m, const int64_t *syms, const void *const *in,
                                   void *const *out)
{
#ifdef SLIMC_CUDA_HOST_ARENA_BYTES
    (void)syms, (void)in, (void)out;
    snprintf(m->msg, sizeof m->msg,
             "the model runs partly on the CPU (placement): run it on host buffers, not device "
             "pointers");
    return 5;
#else
    size_t need = SLIMC_CUDA_ARENA_BYTES(syms);
    if (need > (size_t)RT_MAX_TENSOR_BYTES) {
        snprintf(m->msg, sizeof m->msg, "the model's working memory overflows for these inputs");
        return -1;
    }
    if (slimc_cuda_grow(m, &m->arena, &m->arena_cap, (need + 255) / 256 * 256 + 256))
        return 5;
    int64_t key[RT_MAX_SYMS + 2 * (SLIMC_N_INPUTS + SLIMC_N_OUTPUTS) + 4];
    int nkey = 0, rc = 0, flag = 0;
    for (int s = 0; s < SLIMC_N_SYMS; s++)
        key[nkey++] = syms[s];
    for (int i = 0; i < SLIMC_N_INPUTS; i++)
        key[nkey++] = (int64_t)(uintptr_t)in[i];
    for (int j = 0; j < SLIMC_N_OUTPUTS; j++)
        key[nkey++] = (int64_t)(uintptr_t)out[j];
    key[nkey++] = (int64_t)(uintptr_t)m->arena;
    /* (a key over RT_CU_MAX_GRAPH_KEY words: rt_cu_run runs the launches directly) */
    SlimcCudaSeq seq = {m, rt_cu_rt(m->dev, m->err), in, out, syms};
    if (rt_cu_run(m->dev, key, nkey, slimc_cuda_seq, &seq, &rc) ||
        (!rc && rt_cu_download(m->dev, &flag, m->err, sizeof flag)) || rt_cu_sync(m->dev))
        return slimc_cuda_fail(m, "running the model");
    if (rc == 5)
        return slimc_cuda_fail(m, "a kernel launch failed");
    return rc ? rc : flag ? 3 : 0;
#endif
}

#ifdef SLIMC_CUDA_HOST_ARENA_BYTES
/* A mixed-device model's run: P_run takes the host buffers (its transfer nodes copy to and
 * from the GPU) and runs the CPU's nodes between the launches, so nothing is captured as a
 * CUDA graph. */
static int slimc_cuda_model_run_mixed(SlimcCudaModel *m, const int64_t *syms, const void *const *in,
                                      void *const *out)
{
    size_t need = SLIMC_CUDA_ARENA_BYTES(syms), hneed = SLIMC_CUDA_HOST_ARENA_BYTES(syms);
    if (need > (size_t)RT_MAX_TENSOR_BYTES || hneed > (size_t)RT_MAX_TENSOR_BYTES) {
        snprintf(m->msg, sizeof m->msg, "the model's working memory overflows for these inputs");
        return -1;
    }
    if (slimc_cuda_grow(m, &m->arena, &m->arena_cap, (need + 255) / 256 * 256 + 256))
        return 5;
    if (hneed > m->harena_cap) {
        free(m->harena);
        m->harena_cap = 0;
        if (!(m->harena = malloc(hneed))) {
            snprintf(m->msg, sizeof m->msg, "out of memory (%zu bytes for the CPU's part)", hneed);
            return 5;
        }
        m->harena_cap = hneed;
    }
    slimc_cuda_rt rt = rt_cu_rt(m->dev, m->err);
    rt.host_arena = m->harena;
    rt.host_consts = m->hconsts;
    rt.nthreads = m->nthreads;
    int rc = 0, flag = 0;
    if (rt.zero(rt.ctx, rt.err, sizeof(int)))
        return slimc_cuda_fail(m, "running the model");
    rc = SLIMC_CUDA_RUN(&rt, m->consts, in, out, syms, m->arena);
    if (rc == 5)
        return slimc_cuda_fail(m, "a kernel launch or a copy failed");
    if ((!rc && rt_cu_download(m->dev, &flag, m->err, sizeof flag)) || rt_cu_sync(m->dev))
        return slimc_cuda_fail(m, "running the model");
    return rc ? rc : flag ? 3 : 0;
}
#endif

/* As slimc_cuda_model_run_on with host pointers: in_bytes / out_bytes of each. */
static int slimc_cuda_model_run_host(SlimcCudaModel *m, const int64_t *syms, const void *const *in,
                                     const size_t *in_bytes, void *const *out,
                                     const size_t *out_bytes)
{
#ifdef SLIMC_CUDA_HOST_ARENA_BYTES
    (void)in_bytes, (void)out_bytes;
    return slimc_cuda_model_run_mixed(m, syms, in, out);
#endif
    size_t at = 0, offs[SLIMC_N_INPUTS + SLIMC_N_OUTPUTS + 1];
    for (int i = 0; i < SLIMC_N_INPUTS + SLIMC_N_OUTPUTS; i++) {
        size_t n = i < SLIMC_N_INPUTS ? in_bytes[i] : out_bytes[i - SLIMC_N_INPUTS];
        offs[i] = at;
        if (n > (size_t)RT_MAX_TENSOR_BYTES ||
            __builtin_add_overflow(at, (n + 255) / 256 * 256, &at))
            return -1;
    }
    if (slimc_cuda_grow(m, &m->io, &m->io_cap, at + 256))
        return 5;
    char *base = m->io;
    const void *din[SLIMC_N_INPUTS + 1];
    void *dout[SLIMC_N_OUTPUTS + 1];
    for (int i = 0; i < SLIMC_N_INPUTS; i++) {
        din[i] = base + offs[i];
        if (rt_cu_upload(m->dev, base + offs[i], in[i], in_bytes[i]))
            return slimc_cuda_fail(m, "copying the inputs");
    }
    for (int j = 0; j < SLIMC_N_OUTPUTS; j++)
        dout[j] = base + offs[SLIMC_N_INPUTS + j];
    int rc = slimc_cuda_model_run_on(m, syms, din, dout);
    for (int j = 0; j < SLIMC_N_OUTPUTS && !rc; j++)
        if (rt_cu_download(m->dev, out[j], dout[j], out_bytes[j]))
            return slimc_cuda_fail(m, "copying the outputs");
    if (!rc && rt_cu_sync(m->dev))
        return slimc_cuda_fail(m, "copying the outputs");
    return rc;
}
