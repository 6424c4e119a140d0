/* libFuzzer harness for pass pipelines: a model and a pipeline string from the input,
 *   "passes:" PIPELINE '\n' MODEL    or    MODEL (then the default pipeline)
 * with MODEL a model file as fuzz_model.h reads it; an empty PIPELINE is the default one.
 * The pipeline must parse or fail with diagnostics (never crash); when the model parses
 * (else a fixed small model stands in, so that pipelines are fuzzed whatever the model
 * bytes are), the pipeline runs with the verifier after every pass and must succeed with a
 * graph ir_verify accepts, or fail with diagnostics. A pipeline whose passes would read a
 * file (quantize's calibrate=, validate=, labels=) is parsed but not run: the harness reads
 * no file. The model's own compress block is checked (as loading a model does), not run. */
#include "fuzz_model.h"
#include "passes/pass.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char fallback[] = "model fz(x: f32[N, 3, 8, 8], w: f32[3, 4, 3, 3]) -> f32[N, 4]\n"
                               "    h = relu(conv_transpose2d(x, w, padding=1)) * 2.0 + 1.0\n"
                               "    return mean(max_pool2d(h, 2), dim=[2, 3])\n";

static bool reads_files(const char *pipeline)
{
    return strstr(pipeline, "calibrate") || strstr(pipeline, "validate") ||
           strstr(pipeline, "labels");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char tag[] = "passes:";
    const size_t tlen = sizeof tag - 1;
    const uint8_t *model = data, *nl = NULL;
    size_t plen = 0;
    if (size >= tlen && memcmp(data, tag, tlen) == 0) {
        nl = memchr(data + tlen, '\n', size - tlen);
        plen = nl ? (size_t)(nl - data) - tlen : size - tlen;
        model = nl ? nl + 1 : data + size;
    }
    char *pipeline = malloc(plen + 1);
    if (!pipeline)
        return 0;
    memcpy(pipeline, data + (plen ? tlen : 0), plen);
    pipeline[plen] = 0; /* a NUL inside ends it early, as a C string would */
    const size_t msize = (size_t)(data + size - model);

    Diag d;
    ir_diag_init(&d);
    Graph *g = fuzz_graph(model, msize, &d);
    ir_diag_fini(&d);
    ir_diag_init(&d);
    if (!g && !nl && !plen) { /* no pipeline of its own: nothing more to try */
        ir_diag_fini(&d);
        free(pipeline);
        return 0;
    }
    if (!g) {
        g = fe_slim_parse("fallback.slim", fallback, strlen(fallback), &d);
        if (!g)
            __builtin_trap(); /* the stand-in model must parse */
    }
    if (g->compress) {
        bool ok = pass_pipeline_check(g->compress, &d);
        if (ok != (d.n_errors == 0))
            __builtin_trap();
        ir_diag_fini(&d);
        ir_diag_init(&d);
    }
    const char *p = pipeline[0] ? pipeline : pass_default_pipeline();
    PassPipeline parsed;
    bool ok = pass_pipeline_parse(g, p, (SrcLoc){0}, &parsed, &d);
    if (ok != (d.n_errors == 0))
        __builtin_trap(); /* a parse result that disagrees with the diagnostics */
    (void)ir_diag_text(&d);
    if (ok && !reads_files(p)) {
        ir_diag_fini(&d);
        ir_diag_init(&d);
        PassRunOptions ro = {.verify = true};
        ok = pass_pipeline_exec(g, &parsed, &ro, &d);
        if (ok != (d.n_errors == 0))
            __builtin_trap(); /* a pass failed without saying why, or erred and went on */
        if (ok && !ir_verify(g, &d))
            __builtin_trap();
        (void)ir_diag_text(&d);
    }
    ir_diag_fini(&d);
    ir_graph_free(g);
    free(pipeline);
    return 0;
}
