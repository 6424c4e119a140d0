/* The API layer's side of pipelines (api/pipeline.h): the file arguments of passes are
 * read here, with frontend/npy.c's checked reader, and handed to the passes as arrays on
 * the arguments (PassArg.file), so that no pass opens a file. */
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
    return arena_printf(g->arena, "%.*s%s", (int)(slash - g->source + 1), g->source, path);
}

static bool load_file(Graph *g, const PassArgs *step, PassArg *a, Diag *d)
{
    NpyArray arr;
    const char *path = resolve_path(g, step, a->text);
    if (!fe_npy_read(path, &arr, d))
        return false;
    PassFile *f = arena_alloc(g->arena, sizeof *f);
    f->path = path;
    f->dtype = arr.dtype;
    f->ndim = arr.ndim;
    memcpy(f->shape, arr.shape, sizeof f->shape);
    f->data = arr.data; /* malloc'd: api_pipeline_release frees it */
    f->nbytes = arr.nbytes;
    a->file = f;
    return true;
}

bool api_pipeline_load(Graph *g, const PassPipeline *src, PassPipeline *out, Diag *d)
{
    out->n = src->n;
    out->steps = arena_alloc(g->arena, sizeof(PassArgs) * (size_t)(src->n + 1));
    for (int i = 0; i < src->n; i++) {
        PassArgs *s = &out->steps[i];
        *s = src->steps[i];
        s->args = arena_alloc(g->arena, sizeof(PassArg) * (size_t)(s->n + 1));
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
            if (!load_file(g, s, a, d)) {
                api_pipeline_release(out);
                return false;
            }
        }
    }
    return true;
}

void api_pipeline_release(PassPipeline *p)
{
    for (int i = 0; i < p->n; i++)
        for (int k = 0; k < p->steps[i].n; k++) {
            PassArg *a = &p->steps[i].args[k];
            if (a->file) {
                free((void *)(uintptr_t)a->file->data);
                a->file = NULL;
            }
        }
}

bool api_pipeline_run(Graph *g, const PassPipeline *p, const PassRunOptions *o, Diag *d)
{
    PassPipeline run;
    if (!pass_pipeline_check(p, d) || !api_pipeline_load(g, p, &run, d))
        return false;
    bool ok = pass_pipeline_exec(g, &run, o, d);
    api_pipeline_release(&run);
    return ok;
}

bool api_pipeline_run_text(Graph *g, const char *text, const PassRunOptions *o, Diag *d)
{
    PassPipeline p;
    return pass_pipeline_parse(g, text, (SrcLoc){0}, &p, d) && api_pipeline_run(g, &p, o, d);
}
