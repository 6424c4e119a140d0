/* Input shapes and symbolic dims fixed at load (slimc_fix_shape, slimc_fix_dim; the CLI's
 * --shape and --dim). The context keeps them (names copied) and hands them to the front
 * ends, which apply them while they make the graph's inputs (frontend/dim_fix.h). */
#include "api/api_internal.h"
#include "frontend/dim_fix.h"

#include <stdlib.h>
#include <string.h>

#define MAX_FIXED_DIM (INT64_C(1) << 40) /* a sanity bound; sizes are checked again later */

static char *copy_string(const char *s, size_t n)
{
    char *r = malloc(n + 1);
    SLIMC_ASSERT(r);
    memcpy(r, s, n);
    r[n] = 0;
    return r;
}

static FeFixes *fixes_of(SlimcContext *ctx)
{
    if (!ctx->fixes) {
        ctx->fixes = calloc(1, sizeof *ctx->fixes);
        SLIMC_ASSERT(ctx->fixes);
    }
    return ctx->fixes;
}

void slimc_clear_fixes(SlimcContext *ctx)
{
    FeFixes *f = ctx->fixes;
    if (!f)
        return;
    for (int i = 0; i < f->n_shapes; i++)
        free((char *)f->shapes[i].input);
    for (int i = 0; i < f->n_dims; i++)
        free((char *)f->dims[i].symbol);
    free(f);
    ctx->fixes = NULL;
}

static bool check_value(SlimcContext *ctx, const char *flag, const char *what, int64_t v)
{
    if (v >= 1 && v <= MAX_FIXED_DIM)
        return true;
    ir_diag_error(&ctx->diag, (SrcLoc){0},
                  "%s %s: a dim is a whole number from 1 to %lld, not %lld", flag, what,
                  (long long)MAX_FIXED_DIM, (long long)v);
    return false;
}

static bool check_name(SlimcContext *ctx, const char *flag, const char *name)
{
    if (name && *name)
        return true;
    ir_diag_error(&ctx->diag, (SrcLoc){0}, "%s: the name is empty", flag);
    return false;
}

SlimcStatus slimc_fix_shape(SlimcContext *ctx, const char *input, int ndim, const int64_t *dims)
{
    if (!check_name(ctx, "--shape", input))
        return SLIMC_ERROR;
    if (ndim < 0 || ndim > SLIMC_MAX_RANK) {
        ir_diag_error(&ctx->diag, (SrcLoc){0}, "--shape %s: %d dims (at most %d)", input, ndim,
                      SLIMC_MAX_RANK);
        return SLIMC_ERROR;
    }
    for (int i = 0; i < ndim; i++)
        if (!check_value(ctx, "--shape", input, dims[i]))
            return SLIMC_ERROR;
    FeFixes *f = fixes_of(ctx);
    FeShapeFix *s = NULL;
    for (int i = 0; i < f->n_shapes && !s; i++)
        if (strcmp(f->shapes[i].input, input) == 0)
            s = &f->shapes[i]; /* the last one given wins */
    if (!s && f->n_shapes == FE_MAX_FIXES) {
        ir_diag_error(&ctx->diag, (SrcLoc){0}, "--shape: more than %d inputs fixed", FE_MAX_FIXES);
        return SLIMC_ERROR;
    }
    if (!s) {
        s = &f->shapes[f->n_shapes++];
        s->input = copy_string(input, strlen(input));
    }
    s->rank = ndim;
    for (int i = 0; i < ndim; i++)
        s->dims[i] = dims[i];
    return SLIMC_OK;
}

SlimcStatus slimc_fix_dim(SlimcContext *ctx, const char *symbol, int64_t value)
{
    if (!check_name(ctx, "--dim", symbol) || !check_value(ctx, "--dim", symbol, value))
        return SLIMC_ERROR;
    FeFixes *f = fixes_of(ctx);
    for (int i = 0; i < f->n_dims; i++)
        if (strcmp(f->dims[i].symbol, symbol) == 0) {
            f->dims[i].value = value;
            return SLIMC_OK;
        }
    if (f->n_dims == FE_MAX_FIXES) {
        ir_diag_error(&ctx->diag, (SrcLoc){0}, "--dim: more than %d symbols fixed", FE_MAX_FIXES);
        return SLIMC_ERROR;
    }
    f->dims[f->n_dims].symbol = copy_string(symbol, strlen(symbol));
    f->dims[f->n_dims++].value = value;
    return SLIMC_OK;
}

int slimc_fix_inputs_to(SlimcContext *ctx, const SlimcModel *m, const SlimcTensor *in, int n)
{
    const Graph *g = m->g;
    int fixed = 0;
    for (int i = 0; i < g->n_inputs && i < n; i++) {
        const Value *v = &g->values[g->inputs[i]];
        if (ir_shape_static(&v->type.shape) || in[i].ndim != v->type.shape.rank)
            continue;
        if (slimc_fix_shape(ctx, v->name, in[i].ndim, in[i].shape) == SLIMC_OK)
            fixed++;
    }
    return fixed;
}

/* One decimal number from *p (advanced past it) into *v; false when there is none. */
static bool parse_number(const char **p, int64_t *v)
{
    const char *s = *p;
    bool neg = *s == '-';
    if (neg)
        s++;
    if (*s < '0' || *s > '9')
        return false;
    int64_t r = 0;
    for (; *s >= '0' && *s <= '9'; s++)
        r = r > MAX_FIXED_DIM ? r : r * 10 + (*s - '0');
    *v = neg ? -r : r;
    *p = s;
    return true;
}

/* NAME=VALUE split at the last '=' (names from ONNX files may hold one). */
static const char *split(SlimcContext *ctx, const char *flag, const char *arg, const char *form)
{
    const char *eq = strrchr(arg, '=');
    if (!eq || eq == arg) {
        ir_diag_error(&ctx->diag, (SrcLoc){0}, "%s takes %s, not '%s'", flag, form, arg);
        return NULL;
    }
    return eq;
}

SlimcStatus slimc_fix_shape_arg(SlimcContext *ctx, const char *arg)
{
    const char *form = "NAME=D0,D1,... (an input's name or position, then its dims)";
    const char *eq = split(ctx, "--shape", arg, form);
    if (!eq)
        return SLIMC_ERROR;
    int64_t dims[SLIMC_MAX_RANK];
    int n = 0;
    const char *p = eq + 1;
    while (*p) {
        int64_t v;
        if (n == SLIMC_MAX_RANK || !parse_number(&p, &v) || (*p && *p != ',') ||
            (*p == ',' && !p[1])) {
            ir_diag_error(&ctx->diag, (SrcLoc){0}, "--shape takes %s, not '%s'%s", form, arg,
                          n == SLIMC_MAX_RANK ? " (too many dims)" : "");
            return SLIMC_ERROR;
        }
        if (*p == ',')
            p++;
        dims[n++] = v;
    }
    char *name = copy_string(arg, (size_t)(eq - arg));
    SlimcStatus st = slimc_fix_shape(ctx, name, n, dims);
    free(name);
    return st;
}

SlimcStatus slimc_fix_dim_arg(SlimcContext *ctx, const char *arg)
{
    const char *form = "SYMBOL=N (a symbolic dim's name and its value)";
    const char *eq = split(ctx, "--dim", arg, form);
    if (!eq)
        return SLIMC_ERROR;
    const char *p = eq + 1;
    int64_t v;
    if (!parse_number(&p, &v) || *p) {
        ir_diag_error(&ctx->diag, (SrcLoc){0}, "--dim takes %s, not '%s'", form, arg);
        return SLIMC_ERROR;
    }
    char *name = copy_string(arg, (size_t)(eq - arg));
    SlimcStatus st = slimc_fix_dim(ctx, name, v);
    free(name);
    return st;
}
