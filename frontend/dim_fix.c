/* Input shapes and symbolic dims fixed at import: frontend/dim_fix.h has the contract. */
#include "frontend/dim_fix.h"

#include "frontend/builder.h" /* fe_suggest */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static SrcLoc at(const FeFixer *x)
{
    return (SrcLoc){x->path, 0, 0};
}

/* "a, b, c" of names[0..n) into buf. */
static const char *name_list(const char *const *names, int n, char *buf, size_t size)
{
    size_t len = 0;
    buf[0] = 0;
    for (int i = 0; i < n && len + 1 < size; i++) {
        int w = snprintf(buf + len, size - len, "%s%s", i ? ", " : "", names[i]);
        if (w < 0)
            break;
        len += (size_t)w;
    }
    if (len >= size && size > 4)
        memcpy(buf + size - 4, "...", 4);
    return buf;
}

static bool is_position(const char *s, int *pos)
{
    if (!*s || strlen(s) > 6)
        return false;
    for (const char *p = s; *p; p++)
        if (*p < '0' || *p > '9')
            return false;
    *pos = atoi(s);
    return true;
}

void fe_fixer_init(FeFixer *x, const FeFixes *f, const char *const *names, int n_inputs,
                   const char *path, Diag *d)
{
    memset(x, 0, sizeof *x);
    x->f = f && (f->n_shapes || f->n_dims) ? f : NULL;
    x->path = path;
    x->d = d;
    x->ok = true;
    if (!x->f)
        return;
    for (int k = 0; k < f->n_shapes; k++) {
        const char *want = f->shapes[k].input;
        int found = -1, pos;
        for (int i = 0; i < n_inputs && found < 0; i++)
            if (strcmp(names[i], want) == 0)
                found = i;
        if (found < 0 && is_position(want, &pos) && pos < n_inputs)
            found = pos;
        for (int j = 0; j < k && found >= 0; j++)
            if (x->shape_of[j] == found &&
                (f->shapes[j].rank != f->shapes[k].rank ||
                 memcmp(f->shapes[j].dims, f->shapes[k].dims,
                        sizeof(int64_t) * (size_t)f->shapes[k].rank) != 0)) {
                ir_diag_error(d, at(x), "--shape: input '%s' is given twice, with other dims",
                              names[found]);
                x->ok = false;
            }
        x->shape_of[k] = found;
        if (found >= 0)
            continue;
        char list[512];
        const char *near = fe_suggest(want, names, n_inputs);
        if (is_position(want, &pos))
            ir_diag_error(d, at(x), "--shape: the model has %d input%s (positions 0 to %d), not %s",
                          n_inputs, n_inputs == 1 ? "" : "s", n_inputs - 1, want);
        else if (near)
            ir_diag_error(d, at(x), "--shape: no input named '%s'; did you mean '%s'?", want, near);
        else
            ir_diag_error(d, at(x), "--shape: no input named '%s' (the inputs: %s)", want,
                          name_list(names, n_inputs, list, sizeof list));
        x->ok = false;
    }
}

/* Records symbol name = value, learnt from --shape k; false after a conflict. */
static void learn(FeFixer *x, const char *name, int64_t value, int k)
{
    for (int i = 0; i < x->n_sym; i++)
        if (strcmp(x->sym[i], name) == 0) {
            if (x->val[i] != value) {
                ir_diag_error(x->d, at(x),
                              "--shape %s makes the symbolic dim '%s' %lld, but --shape %s made "
                              "it %lld",
                              x->f->shapes[k].input, name, (long long)value,
                              x->f->shapes[x->from[i]].input, (long long)x->val[i]);
                x->ok = false;
            }
            return;
        }
    for (int j = 0; j < x->f->n_dims; j++)
        if (strcmp(x->f->dims[j].symbol, name) == 0 && x->f->dims[j].value != value) {
            ir_diag_error(x->d, at(x),
                          "--shape %s makes the symbolic dim '%s' %lld, but --dim %s=%lld",
                          x->f->shapes[k].input, name, (long long)value, name,
                          (long long)x->f->dims[j].value);
            x->ok = false;
            return;
        }
    if (x->n_sym == FE_MAX_FIXES * IR_MAX_RANK)
        return;
    x->sym[x->n_sym] = name;
    x->val[x->n_sym] = value;
    x->from[x->n_sym++] = k;
}

void fe_fixer_learn(FeFixer *x, int input, int rank, const char *const *syms)
{
    if (!x->f)
        return;
    for (int k = 0; k < x->f->n_shapes; k++) {
        if (x->shape_of[k] != input)
            continue;
        const FeShapeFix *s = &x->f->shapes[k];
        if (s->rank != rank) {
            ir_diag_error(x->d, at(x), "--shape %s: the input has %d dim%s, not %d", s->input, rank,
                          rank == 1 ? "" : "s", s->rank);
            x->ok = false;
            x->shape_of[k] = -2; /* reported: apply leaves it alone */
            continue;
        }
        for (int i = 0; i < rank; i++)
            if (syms[i])
                learn(x, syms[i], s->dims[i], k);
    }
}

bool fe_fixer_symbol(FeFixer *x, const char *name, int64_t *value)
{
    if (!x->f)
        return false;
    bool seen = false;
    for (int i = 0; i < x->n_seen && !seen; i++)
        seen = strcmp(x->seen[i], name) == 0;
    if (!seen && x->n_seen < FE_MAX_FIXES * IR_MAX_RANK)
        x->seen[x->n_seen++] = name;
    for (int j = 0; j < x->f->n_dims; j++)
        if (strcmp(x->f->dims[j].symbol, name) == 0) {
            x->dim_used[j] = true;
            *value = x->f->dims[j].value;
            return true;
        }
    for (int i = 0; i < x->n_sym; i++)
        if (strcmp(x->sym[i], name) == 0) {
            *value = x->val[i];
            return true;
        }
    return false;
}

bool fe_fixer_symbol_seen(FeFixer *x, const char *name, int64_t *value)
{
    for (int i = 0; x->f && i < x->n_seen; i++)
        if (strcmp(x->seen[i], name) == 0)
            return fe_fixer_symbol(x, name, value);
    return false;
}

const FeShapeFix *fe_fixer_shape(const FeFixer *x, int input)
{
    if (!x->f)
        return NULL;
    for (int k = 0; k < x->f->n_shapes; k++)
        if (x->shape_of[k] == input)
            return &x->f->shapes[k];
    return NULL;
}

bool fe_fixer_apply(FeFixer *x, int input, const char *name, Shape *s)
{
    const FeShapeFix *f = fe_fixer_shape(x, input);
    if (!f)
        return true;
    if (f->rank != s->rank)
        return false; /* reported by fe_fixer_learn */
    bool ok = true;
    for (int i = 0; i < s->rank; i++) {
        if (ir_dim_static(s->d[i]) && s->d[i].c != f->dims[i]) {
            ir_diag_error(x->d, at(x),
                          "--shape %s: dim %d of input '%s' is %lld in the model, not %lld",
                          f->input, i, name, (long long)s->d[i].c, (long long)f->dims[i]);
            ok = false;
        }
        s->d[i] = ir_dim(f->dims[i]);
    }
    x->ok &= ok;
    return ok;
}

bool fe_fixer_finish(FeFixer *x)
{
    if (!x->f)
        return true;
    for (int j = 0; j < x->f->n_dims; j++) {
        if (x->dim_used[j])
            continue;
        const char *want = x->f->dims[j].symbol;
        const char *near = fe_suggest(want, x->seen, x->n_seen);
        char list[512];
        if (near)
            ir_diag_error(x->d, at(x), "--dim: no symbolic dim named '%s'; did you mean '%s'?",
                          want, near);
        else if (x->n_seen)
            ir_diag_error(x->d, at(x), "--dim: no symbolic dim named '%s' (the model's: %s)", want,
                          name_list(x->seen, x->n_seen, list, sizeof list));
        else
            ir_diag_error(x->d, at(x), "--dim: no symbolic dim named '%s' (the model has none)",
                          want);
        x->ok = false;
    }
    return x->ok;
}
