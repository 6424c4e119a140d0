/* The API layer's side of pipelines (api/pipeline.h): the file arguments of passes are
 * read here, with frontend/npy.c's checked reader, and handed to the passes as arrays on
 * the arguments (PassArg.file), so that no pass opens a file. Every file argument is read
 * before the pipeline runs; a read that fails is reported only when the pass asks for
 * that data (as when the pass read its files itself: quantize on a model with nothing to
 * quantize never looks at its calibrate= file). */
#include "api/pipeline.h"

#include "frontend/npy.h"
#include "frontend/npz.h"

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

/* Whether argument a of step s takes a set of named arrays, one per model input
 * (PassFile.parts): quantize's calibrate= and validate=. */
static bool takes_sets(const PassArgs *s, const PassArg *a)
{
    return strcmp(s->name, "quantize") == 0 && a->key &&
           (strcmp(a->key, "calibrate") == 0 || strcmp(a->key, "validate") == 0);
}

/* f's array from arr (its data now f's: api_pipeline_release frees it). */
static void take_array(PassFile *f, NpyArray *arr)
{
    f->dtype = arr->dtype;
    f->ndim = arr->ndim;
    memcpy(f->shape, arr->shape, sizeof f->shape);
    f->data = arr->data;
    f->nbytes = arr->nbytes;
}

/* "NAME=FILE.npy,NAME=FILE.npy" (spaces after a comma allowed) into f->parts, each file
 * read as a .npy; false with the reasons in why. */
static bool load_list(Graph *g, const PassArgs *step, const char *text, PassFile *f, Diag *why)
{
    int n = 1;
    for (const char *c = text; *c; c++)
        n += *c == ',';
    f->parts = ir_arena_alloc(g->arena, sizeof(PassFile) * (size_t)n);
    memset(f->parts, 0, sizeof(PassFile) * (size_t)n);
    bool ok = true;
    for (const char *c = text; ok && *c;) {
        while (*c == ' ')
            c++;
        const size_t len = strcspn(c, ","), eq = strcspn(c, "=");
        if (eq == 0 || eq + 1 >= len) {
            ir_diag_error(why, (SrcLoc){0},
                          "%s: '%.*s' is not NAME=FILE.npy (a list of arrays, one per model "
                          "input, is \"NAME=FILE.npy,NAME=FILE.npy\")",
                          step->name, (int)len, c);
            return false;
        }
        PassFile *p = &f->parts[f->n_parts++];
        NpyArray arr;
        p->key = ir_arena_printf(g->arena, "%.*s", (int)eq, c);
        p->path = resolve_path(g, step,
                               ir_arena_printf(g->arena, "%.*s", (int)(len - eq - 1), c + eq + 1));
        if (fe_npy_read(p->path, &arr, why))
            take_array(p, &arr);
        else
            ok = false;
        c += len;
        if (*c == ',')
            c++;
    }
    return ok;
}

/* A .npz's arrays (mapped image buf) into f->parts, keyed by entry name. */
static bool load_npz(Graph *g, const void *buf, size_t len, PassFile *f, Diag *why)
{
    NpzEntry *e;
    int n;
    if (!fe_npz_parse(f->path, buf, len, &e, &n, why))
        return false;
    f->parts = ir_arena_alloc(g->arena, sizeof(PassFile) * (size_t)n);
    memset(f->parts, 0, sizeof(PassFile) * (size_t)n);
    f->n_parts = n;
    for (int i = 0; i < n; i++) {
        f->parts[i].key = ir_arena_printf(g->arena, "%s", e[i].name);
        f->parts[i].path = ir_arena_printf(g->arena, "%s:%s.npy", f->path, e[i].name);
        take_array(&f->parts[i], &e[i].arr);
        e[i].arr.data = NULL; /* now the part's */
    }
    fe_npz_free(e, n);
    return true;
}

/* Reads file argument a; a failure is kept on it (PassFile.error) for the pass to report
 * if it needs the data. */
static void load_file(Graph *g, const PassArgs *step, PassArg *a)
{
    const bool sets = takes_sets(step, a);
    PassFile *f = ir_arena_alloc(g->arena, sizeof *f);
    memset(f, 0, sizeof *f);
    a->file = f;
    Diag *why = malloc(sizeof *why);
    SLIMC_ASSERT(why);
    ir_diag_init(why);
    bool ok;
    if (sets && strchr(a->text, '=')) {
        f->path = a->text;
        ok = load_list(g, step, a->text, f, why);
    } else {
        f->path = resolve_path(g, step, a->text);
        void *map = NULL;
        size_t len = 0;
        NpyArray arr;
        static const char empty[1];
        ok = fe_map_file(f->path, &map, &len, why);
        if (ok && sets && map && fe_is_zip(map, len))
            ok = load_npz(g, map, len, f, why);
        else if (ok && (ok = fe_npy_parse(f->path, map ? map : empty, len, &arr, why)))
            take_array(f, &arr);
        if (map)
            fe_unmap_file(map, len);
    }
    if (!ok) {
        f->error = why; /* api_pipeline_release frees it */
        return;
    }
    ir_diag_fini(why);
    free(why);
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
                for (int j = 0; j < a->file->n_parts; j++)
                    free((void *)(uintptr_t)a->file->parts[j].data);
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
