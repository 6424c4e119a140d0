/* The API layer's side of pipelines (api/pipeline.h): the file arguments of passes are
 * read here, with frontend/npy.c's checked reader, and handed to the passes as arrays on
 * the arguments (PassArg.file), so that no pass opens a file. Every file argument is read
 * before the pipeline runs; a read that fails is reported only when the pass asks for
 * that data (as when the pass read its files itself: quantize on a model with nothing to
 * quantize never looks at its calibrate= file). */
#include "api/pipeline.h"

#include "frontend/npy.h"

#include <stdlib.h>
#include <string.h>

/* Resolves path against the model file's folder when the step came from the model (its
 * place is in the file; a `--passes` string is placed in the pseudo-file "--passes"). */
static const char *resolve_path(Graph *g, const PassArgs *step, const char *path)
{
    if (path[0] == '/' || step->loc.line <= 0 || !g->source || !step->loc.file ||
        strcmp(step->loc.file, "--passes") == 0)
        return path;
    const char *slash = strrchr(g->source, '/');
    if (!slash)
        return path;
    return ir_arena_printf(g->arena, "%.*s%s", (int)(slash - g->source + 1), g->source, path);
}

/* Reads file argument a; a failure is kept on it (PassFile.error) for the pass to report
 * if it needs the data. */
static void load_file(Graph *g, const PassArgs *step, PassArg *a)
{
    NpyArray arr;
    const char *path = resolve_path(g, step, a->text);
    PassFile *f = ir_arena_alloc(g->arena, sizeof *f);
    memset(f, 0, sizeof *f);
    f->path = path;
    a->file = f;
    Diag *why = malloc(sizeof *why);
    SLIMC_ASSERT(why);
    ir_diag_init(why);
    if (!fe_npy_read(path, &arr, why)) {
        f->error = why; /* api_pipeline_release frees it */
        return;
    }
    ir_diag_fini(why);
    free(why);
    f->dtype = arr.dtype;
    f->ndim = arr.ndim;
    memcpy(f->shape, arr.shape, sizeof f->shape);
    f->data = arr.data; /* malloc'd: api_pipeline_release frees it */
    f->nbytes = arr.nbytes;
}

void api_pipeline_load(Graph *g, const PassPipeline *src, PassPipeline *out)
{
    out->n = src->n;
    out->steps = ir_arena_alloc(g->arena, sizeof(PassArgs) * (size_t)(src->n + 1));
    for (int i = 0; i < src->n; i++) {
        PassArgs *s = &out->steps[i];
        *s = src->steps[i];
        s->args = ir_arena_alloc(g->arena, sizeof(PassArg) * (size_t)(s->n + 1));
        if (s->n)
            memcpy(s->args, src->steps[i].args, sizeof(PassArg) * (size_t)s->n);
    }
    for (int i = 0; i < out->n; i++) {
        PassArgs *s = &out->steps[i];
        for (int k = 0; k < s->n; k++) {
            PassArg *a = &s->args[k];
            a->file = NULL;
            if (!pass_file_arg(s->name, a->key) ||
                (a->kind != PASS_ARG_STRING && a->kind != PASS_ARG_NAME))
                continue; /* a value of another kind: the pass says what it wants */
            load_file(g, s, a);
        }
    }
}

void api_pipeline_release(PassPipeline *p)
{
    for (int i = 0; i < p->n; i++)
        for (int k = 0; k < p->steps[i].n; k++) {
            PassArg *a = &p->steps[i].args[k];
            if (a->file) {
                free((void *)(uintptr_t)a->file->data);
                if (a->file->error) {
                    ir_diag_fini(a->file->error);
                    free(a->file->error);
                }
                a->file = NULL;
            }
        }
}

bool api_pipeline_run(Graph *g, const PassPipeline *p, const PassRunOptions *o, Diag *d)
{
    PassPipeline run;
    if (!pass_pipeline_check(p, d))
        return false;
    api_pipeline_load(g, p, &run);
    bool ok = pass_pipeline_exec(g, &run, o, d);
    api_pipeline_release(&run);
    return ok;
}

bool api_pipeline_run_text(Graph *g, const char *text, const PassRunOptions *o, Diag *d)
{
    PassPipeline p;
    return pass_pipeline_parse(g, text, (SrcLoc){0}, &p, d) && api_pipeline_run(g, &p, o, d);
}
