/* The device layer of an executable that `slimc build --device cuda` writes: the
 * slimc_dev_* functions runtime/slimc_main.c calls (pasted right after this file, with
 * SLIMC_MAIN_CUDA defined), over the model object of runtime/slimc_cuda_aot.c (pasted
 * before it). The GPU is opened before any input is read: without one the executable
 * says "no CUDA device found (why)" and exits with status 1. --threads means nothing on a
 * GPU and is ignored; --bench times each run with its copies. */

#define SLIMC_DEV_FAILED (-1) /* a device error, already printed */

static SlimcCudaModel slimc_dev_model;

static int slimc_dev_open(const char *argv0, const void **consts)
{
    if (slimc_cuda_model_open(&slimc_dev_model) != 0) {
        fprintf(stderr, "%s: error: %s\n", argv0, slimc_dev_model.msg);
        return 0;
    }
    (void)consts; /* the model object holds the device pointers */
    return 1;
}

/* The arena is the model object's (grown by a run): main() gets a token for it. */
static void *slimc_dev_alloc(const char *argv0, size_t bytes)
{
    (void)argv0, (void)bytes;
    return &slimc_dev_model;
}

static void slimc_dev_free(void *p)
{
    (void)p;
}

static void slimc_dev_close(void)
{
    slimc_cuda_model_close(&slimc_dev_model);
}

static int slimc_dev_run(const char *argv0, const void *const *consts, const void *const *in,
                         const size_t *in_bytes, void *const *out, const size_t *out_bytes,
                         const int64_t *syms, void *arena, int threads)
{
    (void)consts, (void)arena;
    slimc_dev_model.nthreads = threads > 0 ? threads : 1; /* a mixed model's CPU nodes */
    int rc = slimc_cuda_model_run_host(&slimc_dev_model, syms, in, in_bytes, out, out_bytes);
    if (rc == 5 || rc < 0) {
        fprintf(stderr, "%s: error: %s\n", argv0, slimc_dev_model.msg);
        return SLIMC_DEV_FAILED;
    }
    return rc;
}
