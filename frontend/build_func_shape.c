/* The built-in functions of the model language that reshape or move data: reshape,
 * transpose/permute, the dims functions, squeeze/unsqueeze, slice, pad, concat/stack,
 * index_select and split. Each becomes one node (frontend/build_func.c dispatches). */
#include "frontend/build_func.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* reshape(x, d0, d1, ...) or reshape(x, [d0, d1, ...]): each size an integer, -1 (inferred)
 * or a symbolic dimension, stored as -(1000 + its index) (see ir/shape.c). */
Val fe_call_reshape(Builder *b, Scope *s, const AstExpr *e)
{
    int n = ast_len(e->args);
    Val *vals = ir_arena_alloc(b->arena, sizeof(Val) * (size_t)(n ? n : 1));
    bool ok = true;
    for (int i = 0; i < n; i++) {
        const AstArg *a = ast_at(e->args, i);
        vals[i] = fe_eval(b, s, a->value, NULL);
        if (a->key) {
            fe_error(b, a->loc, "reshape takes its sizes by position: reshape(x, d0, d1, ...)");
            ok = false;
        }
    }
    if (!ok)
        return fe_err_val(e->loc);
    if (n < 2) {
        fe_error(b, e->loc, "reshape needs a tensor and the new sizes: reshape(x, d0, d1, ...)");
        return fe_err_val(e->loc);
    }
    const Val *dims = vals + 1;
    int rank = n - 1;
    if (rank == 1 && vals[1].kind == VAL_LIST) {
        dims = vals[1].items;
        rank = vals[1].n;
    }
    if (rank < 1 || rank > IR_MAX_RANK) {
        fe_error(b, e->loc, "reshape to %d dimensions: a tensor has 1 to %d", rank, IR_MAX_RANK);
        return fe_err_val(e->loc);
    }
    int64_t shape[IR_MAX_RANK];
    int inferred = 0;
    for (int i = 0; i < rank; i++) {
        const Val *d = &dims[i];
        if (d->kind == VAL_SYMBOL) {
            shape[i] = -(1000 + d->i);
        } else if (d->kind == VAL_INT && (d->i >= 1 || d->i == -1)) {
            shape[i] = d->i;
            if (d->i == -1 && inferred++) {
                fe_error(b, d->loc, "only one size of a reshape may be -1");
                ok = false;
            }
        } else if (d->kind == VAL_INT) {
            fe_error(b, d->loc, "a reshape size is at least 1 (or -1 to infer it), not %lld",
                     (long long)d->i);
            ok = false;
        } else if (d->kind != VAL_ERROR) {
            char desc[200];
            fe_error(b, d->loc,
                     "a reshape size is an integer, -1 or a symbolic dimension such as N, not %s",
                     fe_describe(d, desc, sizeof desc));
            ok = false;
        } else {
            ok = false;
        }
    }
    ValueId x;
    if (!fe_to_tensor(b, &vals[0], &x) || !ok)
        return fe_err_val(e->loc);
    NodeId node = fe_node(b, IR_OP_RESHAPE, NULL, e->loc, &x, 1);
    if (node != IR_NONE)
        ir_node_set_ints(b->g, node, "shape", shape, rank);
    return fe_node_done(b, node, e->loc);
}

Val fe_call_transpose(Builder *b, Scope *s, const AstExpr *e, const FuncSig *f, const Val *a)
{
    (void)s;
    ValueId x;
    int64_t d0 = 0, d1 = 0;
    bool ok = fe_func_tensor_args(b, f, a, &x);
    ok &= fe_to_int(b, &a[1], fe_func_arg_name(b, f, 1), &d0);
    ok &= fe_to_int(b, &a[2], fe_func_arg_name(b, f, 2), &d1);
    if (!ok)
        return fe_err_val(e->loc);
    int r = b->g->values[x].type.shape.rank;
    if (r < 0)
        return fe_err_val(e->loc);
    if (d0 < -r || d0 >= r || d1 < -r || d1 >= r) {
        fe_error(b, e->loc, "transpose: dims %lld and %lld do not fit a tensor of rank %d",
                 (long long)d0, (long long)d1, r);
        return fe_err_val(e->loc);
    }
    int64_t perm[IR_MAX_RANK];
    for (int i = 0; i < r; i++)
        perm[i] = i;
    d0 = d0 < 0 ? d0 + r : d0;
    d1 = d1 < 0 ? d1 + r : d1;
    perm[d0] = d1;
    perm[d1] = d0;
    ValueId out = fe_permute(b, x, perm, r, NULL, e->loc);
    return out == IR_NONE ? fe_err_val(e->loc) : (Val){.kind = VAL_TENSOR, .loc = e->loc, .v = out};
}

/* permute(x, d0, d1, ...) and expand(x, s0, s1, ...), or with the list as one argument;
 * expand's sizes may be -1 (keep) or symbols. */
Val fe_call_dims(Builder *b, Scope *s, const AstExpr *e, const FuncSig *f, const Val *a)
{
    (void)a;
    int n = ast_len(e->args);
    Val *vals = ir_arena_alloc(b->arena, sizeof(Val) * (size_t)(n ? n : 1));
    bool ok = true;
    for (int i = 0; i < n; i++) {
        const AstArg *arg = ast_at(e->args, i);
        vals[i] = fe_eval(b, s, arg->value, NULL);
        if (arg->key) {
            fe_error(b, arg->loc, "%s takes its sizes by position: %s(x, d0, d1, ...)", f->name,
                     f->name);
            ok = false;
        }
    }
    if (!ok)
        return fe_err_val(e->loc);
    if (n < 2) {
        fe_error(b, e->loc, "%s needs a tensor and the dims: %s(x, d0, d1, ...)", f->name, f->name);
        return fe_err_val(e->loc);
    }
    const Val *dims = vals + 1;
    int rank = n - 1;
    if (rank == 1 && vals[1].kind == VAL_LIST) {
        dims = vals[1].items;
        rank = vals[1].n;
    }
    if (rank < 1 || rank > IR_MAX_RANK) {
        fe_error(b, e->loc, "%s with %d dims: a tensor has 1 to %d", f->name, rank, IR_MAX_RANK);
        return fe_err_val(e->loc);
    }
    int64_t out[IR_MAX_RANK];
    for (int i = 0; i < rank; i++) {
        if (f->op == IR_OP_EXPAND && dims[i].kind == VAL_SYMBOL)
            out[i] = -(1000 + dims[i].i);
        else if (!fe_to_int(b, &dims[i], ir_arena_printf(b->arena, "a dim of %s", f->name),
                            &out[i]))
            ok = false;
    }
    ValueId x;
    if (!fe_to_tensor(b, &vals[0], &x) || !ok)
        return fe_err_val(e->loc);
    NodeId id = fe_node(b, f->op, NULL, e->loc, &x, 1);
    if (id != IR_NONE)
        ir_node_set_ints(b->g, id, f->op == IR_OP_PERMUTE ? "perm" : "shape", out, rank);
    return fe_node_done(b, id, e->loc);
}

Val fe_call_squeeze(Builder *b, Scope *s, const AstExpr *e, const FuncSig *f, const Val *a)
{
    (void)s;
    ValueId x;
    int64_t axes[2 * IR_MAX_RANK];
    int n_axes = 0;
    bool ok = fe_func_tensor_args(b, f, a, &x);
    if (a[1].kind != VAL_NONE)
        ok &= f->op == IR_OP_UNSQUEEZE
                  ? fe_to_int(b, &a[1], fe_func_arg_name(b, f, 1), &axes[n_axes++])
                  : fe_int_list(b, &a[1], fe_func_arg_name(b, f, 1), axes, &n_axes);
    if (!ok)
        return fe_err_val(e->loc);
    NodeId id = fe_node(b, f->op, NULL, e->loc, &x, 1);
    if (id != IR_NONE) {
        if (f->op == IR_OP_UNSQUEEZE)
            ir_node_set_int(b->g, id, "axis", axes[0]);
        else if (n_axes)
            ir_node_set_ints(b->g, id, "axes", axes, n_axes);
    }
    return fe_node_done(b, id, e->loc);
}

Val fe_call_slice(Builder *b, Scope *s, const AstExpr *e, const FuncSig *f, const Val *a)
{
    (void)s;
    ValueId x;
    int64_t axis = 0, start = 0, end = INT64_MAX / 2, step = 1, end_sym = -1;
    bool ok = fe_func_tensor_args(b, f, a, &x);
    ok &= fe_to_int(b, &a[1], fe_func_arg_name(b, f, 1), &axis);
    if (a[2].kind != VAL_NONE)
        ok &= fe_to_int(b, &a[2], fe_func_arg_name(b, f, 2), &start);
    if (a[3].kind == VAL_SYMBOL && f->n_params == 5)
        end_sym = a[3].i; /* x[:T] of a fixed length: T bounded by it (ir/shape.c) */
    else if (a[3].kind != VAL_NONE)
        ok &= fe_to_int(b, &a[3], fe_func_arg_name(b, f, 3), &end);
    if (f->n_params == 5 && a[4].kind != VAL_NONE)
        ok &= fe_to_int(b, &a[4], fe_func_arg_name(b, f, 4), &step);
    if (ok && f->n_params == 4) { /* narrow(x, dim, start, length): start may not be clamped */
        int r = b->g->values[x].type.shape.rank;
        int64_t ax = axis < 0 ? axis + r : axis;
        const Shape *xs = &b->g->values[x].type.shape;
        if (r < 0)
            return fe_err_val(e->loc);
        int64_t len = ax >= 0 && ax < r && ir_dim_static(xs->d[ax]) ? xs->d[ax].c : -1;
        int64_t st = start < 0 && len >= 0 ? start + len : start;
        if (len < 0 || end < 0 || st < 0 || st + end > len) {
            fe_error(b, e->loc,
                     "narrow: start %lld and length %lld do not fit dim %lld of the input",
                     (long long)start, (long long)end, (long long)axis);
            return fe_err_val(e->loc);
        }
        start = st;
        end = st + end;
    }
    if (!ok)
        return fe_err_val(e->loc);
    if (step < 0) { /* Python's x[::-1]: from the last element to before the first */
        if (a[2].kind == VAL_NONE)
            start = IR_SLICE_TO_END;
        if (a[3].kind == VAL_NONE)
            end = -IR_SLICE_TO_END;
    }
    NodeId id = fe_node(b, IR_OP_SLICE, NULL, e->loc, &x, 1);
    if (id != IR_NONE) {
        ir_node_set_int(b->g, id, "axis", axis);
        ir_node_set_int(b->g, id, "start", start);
        ir_node_set_int(b->g, id, "end", end);
        ir_node_set_int(b->g, id, "step", step);
        if (end_sym >= 0)
            ir_node_set_int(b->g, id, "end_sym", end_sym);
    }
    return fe_node_done(b, id, e->loc);
}

Val fe_call_pad(Builder *b, Scope *s, const AstExpr *e, const FuncSig *f, const Val *a)
{
    (void)s;
    static const char *const modes[] = {"constant", "reflect", "replicate", "edge"};
    ValueId x;
    int64_t pads[2 * IR_MAX_RANK];
    int n_pads = 0, mode = 0;
    double value = 0;
    bool ok = fe_func_tensor_args(b, f, a, &x);
    ok &= fe_int_list(b, &a[1], fe_func_arg_name(b, f, 1), pads, &n_pads);
    ok &= fe_choice_arg(b, f, a, 2, modes, 4, &mode);
    if (a[3].kind != VAL_NONE)
        ok &= fe_to_float(b, &a[3], fe_func_arg_name(b, f, 3), &value);
    if (!ok)
        return fe_err_val(e->loc);
    NodeId id = fe_node(b, IR_OP_PAD, NULL, e->loc, &x, 1);
    if (id != IR_NONE) {
        ir_node_set_ints(b->g, id, "pads", pads, n_pads);
        ir_node_set_int(b->g, id, "mode", mode == 3 ? 2 : mode);
        ir_node_set_float(b->g, id, "value", value);
    }
    return fe_node_done(b, id, e->loc);
}

Val fe_call_concat(Builder *b, Scope *s, const AstExpr *e, const FuncSig *f, const Val *a)
{
    (void)s;
    int64_t axis = 0;
    bool ok = true;
    if (a[0].kind != VAL_LIST || a[0].n < 1 || a[0].n > 8) {
        char desc[200];
        fe_error(b, a[0].loc, "%s takes a list of 1 to 8 tensors ([a, b, ...]), not %s", f->name,
                 fe_describe(&a[0], desc, sizeof desc));
        return fe_err_val(e->loc);
    }
    ValueId in[8];
    for (int i = 0; i < a[0].n; i++)
        ok &= fe_to_tensor(b, &a[0].items[i], &in[i]);
    if (a[1].kind != VAL_NONE)
        ok &= fe_to_int(b, &a[1], fe_func_arg_name(b, f, 1), &axis);
    if (!ok)
        return fe_err_val(e->loc);
    NodeId id = fe_node(b, IR_OP_CONCAT, NULL, e->loc, in, a[0].n);
    if (id != IR_NONE)
        ir_node_set_int(b->g, id, "axis", axis);
    return fe_node_done(b, id, e->loc);
}

Val fe_call_index_select(Builder *b, Scope *s, const AstExpr *e, const FuncSig *f, const Val *a)
{
    (void)s;
    ValueId in[2];
    int64_t axis = 0;
    bool ok = fe_to_tensor(b, &a[0], &in[0]);
    ok &= fe_to_int(b, &a[1], fe_func_arg_name(b, f, 1), &axis);
    ok &= fe_to_tensor(b, &a[2], &in[1]);
    if (!ok)
        return fe_err_val(e->loc);
    NodeId id = fe_node(b, f->op, NULL, e->loc, in, 2); /* index_select, gather */
    if (id != IR_NONE)
        ir_node_set_int(b->g, id, "axis", axis);
    return fe_node_done(b, id, e->loc);
}

/* torch.split / torch.chunk: slices of x along dim, as a list. split's size gives pieces of
 * that size (the last one smaller); a list gives the sizes, which must add up to the dim;
 * chunk's count gives ceil(len / count)-sized pieces, so maybe fewer than count. */
Val fe_call_split(Builder *b, Scope *s, const AstExpr *e, const FuncSig *f, const Val *a)
{
    (void)s;
    const bool chunk = !strcmp(f->name, "chunk");
    ValueId x = IR_NONE;
    int64_t axis = 0, sizes[256];
    int n = 0;
    bool ok = fe_func_tensor_args(b, f, a, &x);
    if (a[2].kind != VAL_NONE)
        ok &= fe_to_int(b, &a[2], fe_func_arg_name(b, f, 2), &axis);
    if (!ok)
        return fe_err_val(e->loc);
    const Shape *xs = &b->g->values[x].type.shape;
    const int r = xs->rank;
    const int64_t ax = axis < 0 ? axis + r : axis;
    if (r < 0)
        return fe_err_val(e->loc);
    if (ax < 0 || ax >= r || !ir_dim_static(xs->d[ax])) {
        fe_error(b, e->loc, "%s: dim %lld is not a static dimension of the input (rank %d)",
                 f->name, (long long)axis, r);
        return fe_err_val(e->loc);
    }
    const int64_t len = xs->d[ax].c;
    if (a[1].kind == VAL_LIST && !chunk) {
        ok = fe_int_list(b, &a[1], fe_func_arg_name(b, f, 1), sizes, &n);
        int64_t total = 0;
        for (int i = 0; ok && i < n; i++) {
            ok = sizes[i] >= 0;
            total += sizes[i];
        }
        if (ok && total != len) {
            fe_error(b, a[1].loc, "split: the sizes add up to %lld, but dim %lld is %lld",
                     (long long)total, (long long)axis, (long long)len);
            return fe_err_val(e->loc);
        }
    } else {
        int64_t k = 0;
        ok = fe_to_int(b, &a[1], fe_func_arg_name(b, f, 1), &k);
        if (ok && k < 1) {
            fe_error(b, a[1].loc, "%s must be at least 1, not %lld", fe_func_arg_name(b, f, 1),
                     (long long)k);
            return fe_err_val(e->loc);
        }
        const int64_t piece = chunk ? (len + k - 1) / k : k;
        for (int64_t at = 0; ok && at < len && n < 256; at += piece)
            sizes[n++] = at + piece <= len ? piece : len - at;
        if (ok && len == 0)
            sizes[n++] = 0;
    }
    if (!ok)
        return fe_err_val(e->loc);
    if (n > 255 || n < 1) {
        fe_error(b, e->loc, "%s: %d pieces; between 1 and 255 are supported", f->name, n);
        return fe_err_val(e->loc);
    }
    Val list = {.kind = VAL_LIST, .loc = e->loc, .n = n};
    list.items = ir_arena_alloc(b->arena, sizeof(Val) * (size_t)n);
    int64_t at = 0;
    for (int i = 0; i < n; i++) {
        NodeId id = fe_node(b, IR_OP_SLICE, NULL, e->loc, &x, 1);
        if (id != IR_NONE) {
            ir_node_set_int(b->g, id, "axis", ax);
            ir_node_set_int(b->g, id, "start", at);
            ir_node_set_int(b->g, id, "end", at + sizes[i]);
            ir_node_set_int(b->g, id, "step", 1);
        }
        list.items[i] = fe_node_done(b, id, e->loc);
        if (list.items[i].kind == VAL_ERROR)
            return list.items[i];
        at += sizes[i];
    }
    return list;
}
