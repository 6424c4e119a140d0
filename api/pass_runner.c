/* The JIT as the passes' graph runner (passes/pass.h: PassRunner): calibration and the
 * accuracy guard of quantize run the fp32 model, or a quantized candidate, through
 * compiled code instead of the plain-loop evaluator. The graph is copied, the watched
 * values become outputs, and the copy goes through dce, layout and memplan (no fusion,
 * which could fold a watched value into an epilogue), C with the shared kernels, and
 * rt_compile without the cache (the code is used once); one thread. */
#include "api/api_internal.h"

#include "codegen/backend.h"
#include "passes/pass.h"
#include "codegen/c/desc.h"
#include "runtime/jit.h"

#include <stdlib.h>
#include <string.h>

struct PassExec {
    Graph *g; /* the copy, with the watched values as outputs from out0 on */
    RtModule *mod;
    RtExec *ex;
    int n_watch, out0;
    /* per watched value: NULL when it is an output of the copy (in order from out0), else
     * the data to copy (the input: NULL too, flagged by is_input) */
    const void **fixed;
    bool *is_input;
    size_t *fixed_bytes;
};

static void release(PassExec *e)
{
    if (!e)
        return;
    rt_exec_free(e->ex);
    rt_module_free(e->mod);
    ir_graph_free(e->g);
    free(e->fixed);
    free(e->is_input);
    free(e->fixed_bytes);
    free(e);
}

static PassExec *compile(const Graph *g, const ValueId *watch, int n_watch, Diag *d)
{
    PassExec *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->g = ir_graph_clone(g);
    /* calibration runs on the CPU (the C backend below) wherever the model will run: a
     * model placed on CUDA (--device cuda) is quantized for CUDA's int8 kernels too */
    ir_graph_place_all(e->g, IR_DEVICE_CPU);
    e->n_watch = n_watch;
    e->out0 = g->n_outputs;
    e->fixed = calloc((size_t)n_watch + 1, sizeof(void *));
    e->is_input = calloc((size_t)n_watch + 1, sizeof(bool));
    e->fixed_bytes = calloc((size_t)n_watch + 1, sizeof(size_t));
    if (!e->fixed || !e->is_input || !e->fixed_bytes) {
        release(e);
        return NULL;
    }
    /* value ids change in the passes below (dce compacts): remember what each watch is */
    for (int i = 0; i < n_watch; i++) {
        const Value *v = &g->values[watch[i]];
        if (v->kind == IR_VALUE_TEMP) {
            ir_output_add(e->g, watch[i]);
        } else if (v->kind == IR_VALUE_INPUT) {
            e->is_input[i] = true;
        } else {
            e->fixed[i] = v->data;
            e->fixed_bytes[i] = v->data_bytes;
        }
    }
    PassRunOptions ro = {.verify = false};
    if (!pass_pipeline_run(e->g, "dce,layout,memplan", (SrcLoc){0}, &ro, d)) {
        release(e);
        return NULL;
    }
    char *src = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&src, &len);
    CgOptions co = {.prefix = NULL, .source_name = "calibration", .shared_kernels = true};
    bool ok = f && cg_emit(&cg_backend_c, e->g, &co, f, d);
    if (f)
        fclose(f);
    RtOptions o;
    rt_options_default(&o);
    o.no_cache = true;
    if (ok)
        e->mod = rt_compile(src, len, &o, d);
    free(src);
    if (e->mod)
        e->ex = cg_exec_new(e->g, e->mod, NULL, d);
    if (!e->ex) {
        release(e);
        return NULL;
    }
    return e;
}

static bool run(PassExec *e, const float *input, int ndim, const int64_t *shape, float **outs,
                Diag *d)
{
    const Graph *g = e->g;
    RtTensor in = {.dtype = IR_F32, .ndim = ndim, .data = (void *)(uintptr_t)input};
    size_t n = 1;
    for (int i = 0; i < ndim; i++) {
        in.shape[i] = shape[i];
        n *= (size_t)shape[i];
    }
    in.nbytes = n * sizeof(float);
    RtTensor *out = calloc((size_t)g->n_outputs + 1, sizeof(RtTensor));
    if (!out)
        return false;
    bool ok = rt_exec_run(e->ex, &in, 1, out, g->n_outputs, 1, d);
    int k = e->out0;
    for (int i = 0; ok && i < e->n_watch; i++) {
        if (!e->is_input[i] && !e->fixed[i]) {
            outs[i] = out[k].data;
            out[k++].data = NULL;
            continue;
        }
        /* the input itself (or a constant) is watched: a copy */
        const size_t bytes = e->is_input[i] ? in.nbytes : e->fixed_bytes[i];
        outs[i] = malloc(bytes ? bytes : 1);
        if (outs[i])
            memcpy(outs[i], e->is_input[i] ? (const void *)input : e->fixed[i], bytes);
        ok = outs[i] != NULL;
    }
    for (int i = 0; i < g->n_outputs; i++)
        free(out[i].data);
    free(out);
    return ok;
}

static const PassRunner jit_runner = {compile, run, release};

void api_install_pass_runner(void)
{
    pass_set_runner(&jit_runner);
}
