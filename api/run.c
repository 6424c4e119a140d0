/* The public API: tensors and .npy files, JIT compilation and running, AOT executables. */
#include "api/api_internal.h"

#include "frontend/npy.h"
#include "ir/limits.h"
#include "codegen/c/desc.h"
#include "runtime/cuda.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

extern const char slimc_main_source[];
extern const size_t slimc_main_source_len;

SlimcStatus slimc_npy_load(SlimcContext *ctx, const char *path, SlimcTensor *out)
{
    memset(out, 0, sizeof *out);
    NpyArray a;
    if (!fe_npy_read(path, &a, &ctx->diag))
        return SLIMC_ERROR;
    out->dtype = (SlimcDType)a.dtype;
    out->ndim = a.ndim;
    memcpy(out->shape, a.shape, sizeof(int64_t) * (size_t)a.ndim);
    out->data = a.data;
    out->nbytes = a.nbytes;
    return SLIMC_OK;
}

SlimcStatus slimc_npy_save(SlimcContext *ctx, const char *path, const SlimcTensor *t)
{
    return fe_npy_write(path, (DType)t->dtype, t->ndim, t->shape, t->data, &ctx->diag)
               ? SLIMC_OK
               : SLIMC_ERROR;
}

void slimc_tensor_free(SlimcTensor *t)
{
    if (!t)
        return;
    free(t->data);
    memset(t, 0, sizeof *t);
}

void api_rt_options(const SlimcOptions *o, RtOptions *ro, SlimcTimings *t)
{
    rt_options_default(ro);
    if (o) {
        if (o->cc)
            ro->cc = o->cc;
        ro->opt_level = o->opt_level;
        if (o->cpu)
            ro->cpu = o->cpu;
        if (o->cache_dir)
            ro->cache_dir = o->cache_dir;
        ro->no_cache = o->no_cache;
    }
    ro->compile_ms = &t->compile;
    ro->load_ms = &t->load;
}

SlimcStatus slimc_compile(SlimcContext *ctx, SlimcModel *m, const SlimcOptions *o, SlimcExec **out)
{
    *out = NULL;
    SlimcDevice want = o ? o->device : SLIMC_DEVICE_CPU;
    /* before the passes: no device is worth no minutes of optimizing */
    if (want == SLIMC_DEVICE_CUDA && !api_check_cuda_device(ctx, o))
        return SLIMC_ERROR;
    if (slimc_model_optimize(ctx, m, o) != SLIMC_OK)
        return SLIMC_ERROR;
    if (want != SLIMC_DEVICE_AUTO && (want == SLIMC_DEVICE_CUDA) != (m->device == IR_DEVICE_CUDA)) {
        ir_diag_error(&ctx->diag, (SrcLoc){m->g->source, 0, 0},
                      "model '%s' was optimized for the %s: load it again to compile it for the %s",
                      m->g->name, api_device_name(m->device),
                      want == SLIMC_DEVICE_CUDA ? "cuda" : "cpu");
        return SLIMC_ERROR;
    }
    if (m->device == IR_DEVICE_CUDA && o && o->profile) {
        ir_diag_error(&ctx->diag, (SrcLoc){m->g->source, 0, 0},
                      "--profile times the nodes of a model on the CPU; for one on a GPU use "
                      "Nsight Systems (nsys profile slimc run ...)");
        return SLIMC_ERROR;
    }
    if (m->device == IR_DEVICE_CUDA) {
        ApiCudaHold *hold;
        RtCudaExec *cu = api_cuda_exec_new(ctx, m, o, &hold);
        if (!cu)
            return SLIMC_ERROR;
        SlimcExec *e = calloc(1, sizeof *e);
        SLIMC_ASSERT(e);
        e->m = m;
        e->cu = cu;
        e->cu_hold = hold;
        e->threads = o && o->threads > 0 ? o->threads : slimc_default_threads();
        rt_cuda_exec_set_threads(cu, e->threads); /* a mixed model's CPU nodes */
        *out = e;
        return SLIMC_OK;
    }
    /* the code in one translation unit per CPU (for a large model), compiled at once */
    int jobs = rt_jit_jobs();
    const bool forced = jobs > 0;
    if (!forced)
        jobs = slimc_default_threads() < RT_MAX_PARTS ? slimc_default_threads() : RT_MAX_PARTS;
    size_t *lens;
    int n_parts;
    char **srcs = api_emit_jit_parts(ctx, m, o && o->profile, jobs, forced, &lens, &n_parts);
    if (!srcs)
        return SLIMC_ERROR;
    RtOptions ro;
    api_rt_options(o, &ro, &ctx->t);
    ro.shared_kernels = true;
    RtModule *mod = rt_compile_parts((const char *const *)srcs, lens, n_parts, &ro, &ctx->diag);
    api_free_parts(srcs, lens, n_parts);
    if (!mod)
        return SLIMC_ERROR;
    RtExec *ex = cg_exec_new(m->g, mod, NULL, &ctx->diag);
    if (!ex) {
        rt_module_free(mod);
        return SLIMC_ERROR;
    }
    SlimcExec *e = calloc(1, sizeof *e);
    SLIMC_ASSERT(e);
    e->m = m;
    e->mod = mod;
    e->ex = ex;
    e->threads = o && o->threads > 0 ? o->threads : slimc_default_threads();
    e->profile = o && o->profile;
    *out = e;
    return SLIMC_OK;
}

void slimc_exec_free(SlimcExec *e)
{
    if (!e)
        return;
    rt_exec_free(e->ex);
    rt_module_free(e->mod);
    rt_cuda_exec_free(e->cu);
    api_cuda_hold_free(e->cu_hold);
    free(e);
}

const char *slimc_exec_device(const SlimcExec *e)
{
    return e->cu ? rt_cuda_exec_device(e->cu) : "cpu";
}

double slimc_exec_bench_device_ms(const SlimcExec *e)
{
    return e->bench_device_ms;
}

/* An input of another float dtype than the model declares is converted (with a note);
 * anything else is left for rt_exec_run to refuse. Returns malloc'd data or NULL. */
static void *convert_float_input(SlimcContext *ctx, const SlimcModel *m, int i,
                                 const SlimcTensor *t, DType want)
{
    if (want != IR_F32 ||
        (t->dtype != SLIMC_F64 && t->dtype != SLIMC_F16 && t->dtype != SLIMC_BF16))
        return NULL;
    size_t n = t->nbytes / slimc_dtype_size(t->dtype);
    float *f = malloc(n * sizeof(float) + 1);
    SLIMC_ASSERT(f);
    /* runtime/model_io.c's conversion, which built executables use too */
    bool converted = rt_convert_to_f32((int)t->dtype, t->data, n, f);
    SLIMC_ASSERT(converted);
    ir_diag_note(&ctx->diag, (SrcLoc){0}, "input '%s': converted %s to f32",
                 slimc_model_input_name(m, i), slimc_dtype_name(t->dtype));
    return f;
}

SlimcStatus slimc_model_check_inputs(SlimcContext *ctx, const SlimcModel *m,
                                     const SlimcTensor *inputs, int n_inputs)
{
    const Graph *g = m->g;
    if (n_inputs != g->n_inputs) {
        ir_diag_error(&ctx->diag, (SrcLoc){g->source, 0, 0},
                      "model '%s' takes %d inputs (given %d)", g->name, g->n_inputs, n_inputs);
        return SLIMC_ERROR;
    }
    RtTensor *in = calloc((size_t)n_inputs + 1, sizeof *in);
    SLIMC_ASSERT(in);
    for (int i = 0; i < n_inputs; i++) {
        const SlimcTensor *t = &inputs[i];
        DType want = g->values[g->inputs[i]].type.dtype;
        bool converts = want == IR_F32 &&
                        (t->dtype == SLIMC_F64 || t->dtype == SLIMC_F16 || t->dtype == SLIMC_BF16);
        in[i].dtype = converts ? (int)IR_F32 : (int)t->dtype;
        in[i].ndim = t->ndim;
        memcpy(in[i].shape, t->shape, sizeof t->shape);
        in[i].data = t->data;
        in[i].nbytes = converts ? t->nbytes / slimc_dtype_size(t->dtype) * 4 : t->nbytes;
    }
    int64_t syms[IR_MAX_SYMS];
    bool ok = cg_bind_inputs(g, in, syms, &ctx->diag);
    free(in);
    if (ok && !m->optimized && g->n_syms) { /* the size --device auto places for */
        int64_t most = 1;
        for (int s = 0; s < g->n_syms; s++)
            most = syms[s] > most ? syms[s] : most;
        m->g->place.sym_value = most;
    }
    if (ok) {
        char what[300];
        snprintf(what, sizeof what, "model '%.200s': memory for these inputs (%s)", g->name,
                 g->planned ? "weights + arena + outputs" : "weights + outputs");
        ok = ir_check_memory(ir_model_bytes(g, syms), ctx->max_memory, what,
                             (SrcLoc){g->source, 0, 0}, &ctx->diag);
    }
    return ok ? SLIMC_OK : SLIMC_ERROR;
}

/* The inputs as the runtime takes them, in in[0..n): an input of another float dtype than
 * declared is converted into converted[i] (malloc'd, freed by free_converted). */
static void runtime_inputs(SlimcContext *ctx, SlimcExec *e, const SlimcTensor *inputs, int n_inputs,
                           RtTensor *in, void **converted)
{
    const Graph *g = e->m->g;
    for (int i = 0; i < n_inputs; i++) {
        const SlimcTensor *t = &inputs[i];
        in[i].dtype = (int)t->dtype;
        in[i].ndim = t->ndim;
        memcpy(in[i].shape, t->shape, sizeof t->shape);
        in[i].data = t->data;
        in[i].nbytes = t->nbytes;
        converted[i] = NULL;
        DType want = g->values[g->inputs[i]].type.dtype;
        if ((DType)t->dtype != want &&
            (converted[i] = convert_float_input(ctx, e->m, i, t, want))) {
            in[i].dtype = IR_F32;
            in[i].data = converted[i];
            in[i].nbytes = t->nbytes / slimc_dtype_size(t->dtype) * sizeof(float);
        }
    }
}

static bool run_counts_ok(SlimcContext *ctx, const Graph *g, int n_inputs, int n_outputs)
{
    if (n_inputs == g->n_inputs && n_outputs == g->n_outputs)
        return true;
    ir_diag_error(&ctx->diag, (SrcLoc){g->source, 0, 0},
                  "model '%s' takes %d inputs and gives %d outputs (called with %d and %d)",
                  g->name, g->n_inputs, g->n_outputs, n_inputs, n_outputs);
    return false;
}

/* Up to this many inputs and outputs are converted on the stack: no malloc per run. */
#define API_RUN_STACK_IO 8

/* The runtime's view of one run's tensors: inputs converted (runtime_inputs), room for the
 * outputs; on the stack for up to API_RUN_STACK_IO of each, else allocated. */
typedef struct {
    RtTensor in_stack[API_RUN_STACK_IO], out_stack[API_RUN_STACK_IO];
    void *conv_stack[API_RUN_STACK_IO];
    RtTensor *in, *out;
    void **converted;
    bool small;
} RunFrame;

static void run_frame_begin(RunFrame *f, SlimcContext *ctx, SlimcExec *e, const SlimcTensor *inputs,
                            int n_inputs, int n_outputs)
{
    f->small = n_inputs <= API_RUN_STACK_IO && n_outputs <= API_RUN_STACK_IO;
    f->in = f->small ? f->in_stack : calloc((size_t)n_inputs + 1, sizeof *f->in);
    f->out = f->small ? f->out_stack : calloc((size_t)n_outputs + 1, sizeof *f->out);
    f->converted = f->small ? f->conv_stack : calloc((size_t)n_inputs + 1, sizeof *f->converted);
    SLIMC_ASSERT(f->in && f->out && f->converted);
    runtime_inputs(ctx, e, inputs, n_inputs, f->in, f->converted);
}

static void run_frame_end(RunFrame *f, int n_inputs)
{
    for (int i = 0; i < n_inputs; i++)
        free(f->converted[i]);
    if (!f->small) {
        free(f->converted);
        free(f->in);
        free(f->out);
    }
}

SlimcStatus slimc_exec_run(SlimcContext *ctx, SlimcExec *e, const SlimcTensor *inputs, int n_inputs,
                           SlimcTensor *outputs, int n_outputs)
{
    Graph *g = e->m->g;
    g->max_memory = ctx->max_memory;
    if (!run_counts_ok(ctx, g, n_inputs, n_outputs))
        return SLIMC_ERROR;
    RunFrame f;
    run_frame_begin(&f, ctx, e, inputs, n_inputs, n_outputs);
    RtTensor *out = f.out;
    double t0 = api_now_ms();
    bool ok = e->cu ? rt_cuda_exec_run(e->cu, f.in, n_inputs, out, n_outputs, &ctx->diag)
                    : rt_exec_run(e->ex, f.in, n_inputs, out, n_outputs, e->threads, &ctx->diag);
    ctx->t.run += api_now_ms() - t0;
    for (int i = 0; i < n_outputs; i++) {
        memset(&outputs[i], 0, sizeof outputs[i]);
        if (!ok)
            continue;
        outputs[i].dtype = (SlimcDType)out[i].dtype;
        outputs[i].ndim = out[i].ndim;
        memcpy(outputs[i].shape, out[i].shape, sizeof out[i].shape);
        outputs[i].data = out[i].data;
        outputs[i].nbytes = out[i].nbytes;
    }
    run_frame_end(&f, n_inputs);
    return ok ? SLIMC_OK : SLIMC_ERROR;
}

/* On a GPU the CUDA exec allocates its host outputs: run, check the caller's buffers
 * (given) against them, copy, free. */
static bool run_into_cuda(SlimcContext *ctx, SlimcExec *e, const RtTensor *in, int n_inputs,
                          const RtTensor *given, int n_outputs)
{
    RtTensor *made = calloc((size_t)n_outputs + 1, sizeof *made);
    SLIMC_ASSERT(made);
    bool ok = rt_cuda_exec_run(e->cu, in, n_inputs, made, n_outputs, &ctx->diag);
    const Graph *g = e->m->g;
    for (int j = 0; ok && j < n_outputs; j++)
        ok = rt_output_matches(slimc_model_output_name(e->m, j), &made[j], &given[j],
                               (SrcLoc){g->source, 0, 0}, &ctx->diag);
    for (int j = 0; j < n_outputs; j++) {
        if (ok && made[j].nbytes)
            memcpy(given[j].data, made[j].data, made[j].nbytes);
        free(made[j].data);
    }
    free(made);
    return ok;
}

SlimcStatus slimc_exec_run_into(SlimcContext *ctx, SlimcExec *e, const SlimcTensor *inputs,
                                int n_inputs, const SlimcTensor *outputs, int n_outputs)
{
    Graph *g = e->m->g;
    g->max_memory = ctx->max_memory;
    if (!run_counts_ok(ctx, g, n_inputs, n_outputs))
        return SLIMC_ERROR;
    RunFrame f;
    run_frame_begin(&f, ctx, e, inputs, n_inputs, n_outputs);
    RtTensor *out = f.out;
    for (int j = 0; j < n_outputs; j++) {
        const SlimcTensor *t = &outputs[j];
        out[j].dtype = (int)t->dtype;
        out[j].ndim = t->ndim;
        memcpy(out[j].shape, t->shape, sizeof t->shape);
        out[j].data = t->data;
        out[j].nbytes = t->nbytes;
    }
    double t0 = api_now_ms();
    bool ok = e->cu
                  ? run_into_cuda(ctx, e, f.in, n_inputs, out, n_outputs)
                  : rt_exec_run_into(e->ex, f.in, n_inputs, out, n_outputs, e->threads, &ctx->diag);
    ctx->t.run += api_now_ms() - t0;
    run_frame_end(&f, n_inputs);
    return ok ? SLIMC_OK : SLIMC_ERROR;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

SlimcStatus slimc_exec_bench(SlimcContext *ctx, SlimcExec *e, const SlimcTensor *inputs,
                             int n_inputs, int runs, double *median_ms)
{
    SlimcBenchOptions o = {.warmup = 1, .runs = runs > 0 ? runs : 0};
    SlimcBenchStats s;
    SlimcStatus st = slimc_exec_bench_stats(ctx, e, inputs, n_inputs, &o, &s);
    if (st == SLIMC_OK && s.runs > 0)
        *median_ms = s.p50_ms;
    return st;
}

/* t[min(floor(p * n), n - 1)] of sorted t. */
static double percentile(const double *t, int n, double p)
{
    int k = (int)floor(p * n);
    return t[k < n ? k : n - 1];
}

SlimcStatus slimc_exec_bench_stats(SlimcContext *ctx, SlimcExec *e, const SlimcTensor *inputs,
                                   int n_inputs, const SlimcBenchOptions *o, SlimcBenchStats *out)
{
    SlimcBenchOptions def = {.warmup = 1, .runs = 100};
    if (!o)
        o = &def;
    memset(out, 0, sizeof *out);
    int n_out = e->m->g->n_outputs;
    int min_runs = o->runs > 0 ? o->runs : 0;
    int max_runs = o->max_runs > 0 ? o->max_runs : 10000000;
    if (min_runs > max_runs)
        min_runs = max_runs;
    double dur_ms = o->duration_s > 0 ? o->duration_s * 1e3 : 0;
    SlimcTensor *outs = calloc((size_t)n_out + 1, sizeof *outs);
    size_t cap = (size_t)(min_runs > 16 ? min_runs : 16);
    double *ms = malloc(cap * sizeof *ms);
    double *dev_ms = malloc(cap * sizeof *dev_ms);
    SLIMC_ASSERT(outs && ms && dev_ms);
    SlimcStatus st = SLIMC_OK;
    e->bench_device_ms = 0;
    /* Warm-up runs: page faults, thread start-up, caches. */
    for (int r = 0; r < o->warmup && st == SLIMC_OK; r++) {
        st = slimc_exec_run(ctx, e, inputs, n_inputs, outs, n_out);
        for (int k = 0; k < n_out; k++)
            slimc_tensor_free(&outs[k]);
        out->warmup = r + 1;
    }
    if (e->profile)
        api_exec_profile_reset(e); /* the timed runs alone */
    int n = 0;
    double start = api_now_ms(), now = start;
    while (st == SLIMC_OK && n < max_runs &&
           (n < min_runs || (dur_ms > 0 && now - start < dur_ms))) {
        if ((size_t)n == cap) {
            cap *= 2;
            ms = realloc(ms, cap * sizeof *ms);
            dev_ms = realloc(dev_ms, cap * sizeof *dev_ms);
            SLIMC_ASSERT(ms && dev_ms);
        }
        double t0 = api_now_ms();
        st = slimc_exec_run(ctx, e, inputs, n_inputs, outs, n_out);
        now = api_now_ms();
        ms[n] = now - t0;
        dev_ms[n] = e->cu ? rt_cuda_exec_last_ms(e->cu) : 0;
        for (int k = 0; k < n_out; k++)
            slimc_tensor_free(&outs[k]);
        if (st == SLIMC_OK)
            n++;
    }
    if (st == SLIMC_OK && n > 0) {
        double sum = 0, sq = 0;
        for (int r = 0; r < n; r++)
            sum += ms[r];
        out->mean_ms = sum / n;
        for (int r = 0; r < n; r++)
            sq += (ms[r] - out->mean_ms) * (ms[r] - out->mean_ms);
        out->std_ms = sqrt(sq / n);
        qsort(ms, (size_t)n, sizeof ms[0], cmp_double);
        qsort(dev_ms, (size_t)n, sizeof dev_ms[0], cmp_double);
        out->runs = n;
        out->total_ms = now - start;
        out->min_ms = ms[0];
        out->max_ms = ms[n - 1];
        out->p50_ms = percentile(ms, n, 0.50);
        out->p90_ms = percentile(ms, n, 0.90);
        out->p99_ms = percentile(ms, n, 0.99);
        out->inferences_per_s = out->total_ms > 0 ? n * 1e3 / out->total_ms : 0;
        out->gpu_median_ms = percentile(dev_ms, n, 0.50);
        e->bench_device_ms = out->gpu_median_ms;
    }
    free(ms);
    free(dev_ms);
    free(outs);
    return st;
}
