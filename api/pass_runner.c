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
     * the data to copy (a graph input: NULL too, its index in input_of, else -1) */
    const void **fixed;
    int *input_of;
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
    free(e->input_of);
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
    e->input_of = calloc((size_t)n_watch + 1, sizeof(int));
    e->fixed_bytes = calloc((size_t)n_watch + 1, sizeof(size_t));
    if (!e->fixed || !e->input_of || !e->fixed_bytes) {
        release(e);
        return NULL;
    }
    /* value ids change in the passes below (dce compacts): remember what each watch is */
    for (int i = 0; i < n_watch; i++) {
        const Value *v = &g->values[watch[i]];
        e->input_of[i] = -1;
        if (v->kind == IR_VALUE_TEMP) {
            ir_output_add(e->g, watch[i]);
        } else if (v->kind == IR_VALUE_INPUT) {
            for (int j = 0; j < g->n_inputs; j++)
                if (g->inputs[j] == watch[i])
                    e->input_of[i] = j;
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
    /* run() takes one tensor per input of g: the copy keeps every input, in order */
    SLIMC_ASSERT(e->g->n_inputs == g->n_inputs);
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

static bool run(PassExec *e, const PassTensor *inputs, void **outs, Diag *d)
{
    const Graph *g = e->g;
    const int n_in = g->n_inputs;
    RtTensor *in = calloc((size_t)n_in + 1, sizeof(RtTensor));
    RtTensor *out = calloc((size_t)g->n_outputs + 1, sizeof(RtTensor));
    bool ok = in && out;
    for (int j = 0; ok && j < n_in; j++) {
        const PassTensor *t = &inputs[j];
        size_t n = 1;
        in[j].dtype = (int)t->dtype;
        in[j].ndim = t->ndim;
        in[j].data = (void *)(uintptr_t)t->data;
        for (int i = 0; i < t->ndim; i++) {
            in[j].shape[i] = t->shape[i];
            n *= (size_t)t->shape[i];
        }
        in[j].nbytes = ir_dtype_bytes(t->dtype, (int64_t)n);
    }
    ok = ok && rt_exec_run(e->ex, in, n_in, out, g->n_outputs, 1, d);
    int k = e->out0;
    for (int i = 0; ok && i < e->n_watch; i++) {
        if (e->input_of[i] < 0 && !e->fixed[i]) {
            outs[i] = out[k].data;
            out[k++].data = NULL;
            continue;
        }
        /* an input itself (or a constant) is watched: a copy */
        const RtTensor *t = e->input_of[i] >= 0 ? &in[e->input_of[i]] : NULL;
        const size_t bytes = t ? t->nbytes : e->fixed_bytes[i];
        outs[i] = malloc(bytes ? bytes : 1);
        if (outs[i])
            memcpy(outs[i], t ? t->data : e->fixed[i], bytes);
        ok = outs[i] != NULL;
    }
    for (int i = 0; out && i < g->n_outputs; i++)
        free(out[i].data);
    free(out);
    free(in);
    return ok;
}

static const PassRunner jit_runner = {compile, run, release};

void api_install_pass_runner(void)
{
    pass_set_runner(&jit_runner);
}
