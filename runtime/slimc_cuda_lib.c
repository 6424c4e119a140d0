/* The API of a static library that `slimc build --device cuda --lib` writes (declared by
 * the NAME.h it writes beside it), over the model object of runtime/slimc_cuda_aot.c,
 * pasted before this file with SLIMC_CUDA_LIB defined as NAME. The NAME object owns the
 * GPU's context (the device's primary context, which the CUDA runtime API shares), the
 * weights on the GPU and the device arena; one call at a time per object. */
#include <errno.h>

#define SLIMC_CUDA_CAT_(a, b) a##_##b
#define SLIMC_CUDA_CAT(a, b)  SLIMC_CUDA_CAT_(a, b)
#define SLIMC_CUDA_API(fn)    SLIMC_CUDA_CAT(SLIMC_CUDA_LIB, fn)

struct SLIMC_CUDA_LIB {
    SlimcCudaModel m;
};

static char slimc_cuda_lib_msg[1200]; /* why the last NAME_init failed */

const char *SLIMC_CUDA_API(error)(const SLIMC_CUDA_LIB *m)
{
    return m ? m->m.msg : slimc_cuda_lib_msg;
}

SLIMC_CUDA_LIB *SLIMC_CUDA_API(init)(const char *weights_path)
{
    (void)weights_path; /* the weights are embedded */
    SLIMC_CUDA_LIB *m = calloc(1, sizeof *m);
    if (!m) {
        snprintf(slimc_cuda_lib_msg, sizeof slimc_cuda_lib_msg, "out of memory");
        errno = ENOMEM;
        return NULL;
    }
    if (slimc_cuda_model_open(&m->m) != 0) {
        snprintf(slimc_cuda_lib_msg, sizeof slimc_cuda_lib_msg, "%s", m->m.msg);
        slimc_cuda_model_close(&m->m);
        free(m);
        errno = ENODEV;
        return NULL;
    }
    return m;
}

void SLIMC_CUDA_API(free)(SLIMC_CUDA_LIB *m)
{
    if (!m)
        return;
    slimc_cuda_model_close(&m->m);
    free(m);
}

size_t SLIMC_CUDA_API(arena_bytes)(const int64_t *syms)
{
    return SLIMC_CUDA_ARENA_BYTES(syms);
}

int SLIMC_CUDA_API(run_device)(SLIMC_CUDA_LIB *m, const int64_t *syms, const void *const *inputs,
                               void *const *outputs)
{
    for (int s = 0; s < SLIMC_N_SYMS; s++)
        if (syms[s] < 1)
            return 1;
    return slimc_cuda_model_run_on(&m->m, syms, inputs, outputs);
}

/* The bytes of an input or output for the symbol values; 0 when they overflow. */
static int slimc_cuda_io_bytes(const RtIoDesc *t, const int64_t *syms, size_t *out)
{
    int64_t count = 1, v;
    for (int j = 0; j < t->rank; j++)
        if (!rt_dim_eval(t->dims[j], syms, &v) || v < 0 || __builtin_mul_overflow(count, v, &count))
            return 0;
    return rt_dtype_bytes(t->dtype, count, out);
}

int SLIMC_CUDA_API(run)(SLIMC_CUDA_LIB *m, const int64_t *syms, const void *const *inputs,
                        void *const *outputs, int nthreads)
{
    m->m.nthreads = nthreads > 0 ? nthreads : 1; /* a mixed-device model's CPU nodes */
    size_t in_bytes[SLIMC_N_INPUTS + 1], out_bytes[SLIMC_N_OUTPUTS + 1];
    for (int s = 0; s < SLIMC_N_SYMS; s++)
        if (syms[s] < 1)
            return 1;
    for (int i = 0; i < SLIMC_N_INPUTS; i++)
        if (!slimc_cuda_io_bytes(&slimc_inputs[i], syms, &in_bytes[i]))
            return 4;
    for (int j = 0; j < SLIMC_N_OUTPUTS; j++)
        if (!slimc_cuda_io_bytes(&slimc_outputs[j], syms, &out_bytes[j]))
            return 4;
    return slimc_cuda_model_run_host(&m->m, syms, inputs, in_bytes, outputs, out_bytes);
}
