/* Shape inference of the index ops (argmax, argmin, gather_elements, scatter_elements,
 * cumsum, mod): the functions named in the last column of their ops.def rows. Like
 * ir/shape.c, each sets the output type or reports the user's error naming the node, the
 * shapes and where each operand came from. reduce_prod shares ir/shape.c's reduce. */
#include "ir/checked.h"
#include "ir/graph.h"
#include "ir/index_ops.h"
#include "ir/resize_taps.h"

#include <stdio.h>
#include <string.h>

#define SHAPE_FN(name) bool ir_shape_##name(Graph *g, Node *n, Diag *d)
SHAPE_FN(argreduce);
SHAPE_FN(gather_elements);
SHAPE_FN(scatter_elements);
SHAPE_FN(cumsum);
SHAPE_FN(mod);
SHAPE_FN(resize_axis);
SHAPE_FN(grid_sample);
SHAPE_FN(topk);
SHAPE_FN(pool_nd);
SHAPE_FN(gather_nd);
SHAPE_FN(scatter_nd);
SHAPE_FN(roi_align);

static const Type *ty(Graph *g, const Node *n, int i)
{
    return &g->values[n->inputs[i]].type;
}

static void set_out(Graph *g, const Node *n, DType dt, const Shape *s)
{
    Value *v = &g->values[n->outputs[0]];
    v->type.dtype = dt;
    v->type.shape = *s;
}

/* "'x' (f32[2, 3], from m.slim:1:9)" into buf. */
static const char *describe(Graph *g, ValueId v, char *buf, size_t size)
{
    char t[160];
    const Value *val = &g->values[v];
    ir_type_str(g, &val->type, t, sizeof t);
    if (val->loc.file && val->loc.line)
        snprintf(buf, size, "'%s' (%s, from %s:%d:%d)", val->name, t, val->loc.file, val->loc.line,
                 val->loc.col);
    else
        snprintf(buf, size, "'%s' (%s)", val->name, t);
    return buf;
}

/* Error about operand i of n: "OP 'NAME': WHAT: OPERAND". */
static bool fail(Graph *g, Node *n, int i, Diag *d, const char *what)
{
    char b[256];
    ir_diag_error(d, n->loc, "%s '%s': %s: %s", ir_ops[n->op].name, n->name, what,
                  describe(g, n->inputs[i], b, sizeof b));
    return false;
}

bool ir_index_dtype_plain(DType t)
{
    switch (t) {
    case IR_F64:
    case IR_F32:
    case IR_F16:
    case IR_BF16:
    case IR_I64:
    case IR_I32:
    case IR_I16:
    case IR_I8:
    case IR_U8:
    case IR_BOOL: return true;
    default: { /* the wider unsigned integers, where this build has them */
        const char *name = ir_dtype_name(t);
        return !strcmp(name, "u16") || !strcmp(name, "u32") || !strcmp(name, "u64");
    }
    }
}

/* Operand i's dtype is one the index kernels handle: plain, not quantized; with
 * arithmetic (arith) not f16/bf16/bool either (mod takes f16/bf16). */
static bool dtype_ok(Graph *g, Node *n, int i, bool arith, Diag *d)
{
    const Type *t = ty(g, n, i);
    DType dt = t->dtype;
    if (!ir_index_dtype_plain(dt) || t->quant ||
        (arith && (dt == IR_F16 || dt == IR_BF16 || dt == IR_BOOL) && n->op != IR_OP_MOD))
        return fail(g, n, i, d, "this dtype is not supported by this op");
    return true;
}

/* The attribute axis normalized into [0, rank) (rank 0 takes axis 0 or -1). */
static bool axis_ok(Graph *g, Node *n, int i, int64_t *axis, Diag *d)
{
    int r = ty(g, n, i)->shape.rank;
    int64_t a = ir_attr_axis(n);
    int64_t lim = r ? r : 1;
    if (a < -lim || a >= lim) {
        char msg[64];
        snprintf(msg, sizeof msg, "axis %lld is out of range", (long long)a);
        return fail(g, n, i, d, msg);
    }
    *axis = a < 0 ? a + lim : a;
    return true;
}

/* Off the axis, the indices (operand 1) must fit in the data (operand 0): each dim no larger,
 * provably (equal, or both fixed), so that no position maps outside the data. */
static bool index_fits(Graph *g, Node *n, int64_t ax, Diag *d)
{
    const Shape *x = &ty(g, n, 0)->shape, *is = &ty(g, n, 1)->shape;
    for (int i = 0; i < x->rank; i++)
        if (i != ax && !ir_dim_eq(is->d[i], x->d[i]) &&
            !(ir_dim_static(is->d[i]) && ir_dim_static(x->d[i]) && is->d[i].c <= x->d[i].c))
            return fail(g, n, 1, d, "the indices must be no larger than the data off the axis");
    return true;
}

static bool index_dtype_ok(Graph *g, Node *n, int i, Diag *d)
{
    DType dt = ty(g, n, i)->dtype;
    return dt == IR_I64 || dt == IR_I32 || fail(g, n, i, d, "indices must be i64 or i32");
}

SHAPE_FN(argreduce)
{
    int64_t ax = 0;
    if (!dtype_ok(g, n, 0, true, d) || !axis_ok(g, n, 0, &ax, d))
        return false;
    const Shape *x = &ty(g, n, 0)->shape;
    if (x->rank == 0)
        return fail(g, n, 0, d, "needs an operand of rank 1 or more");
    bool keep = ir_attr_keepdim_or(n, 1) != 0;
    Shape out = {0, {{0}}};
    for (int i = 0; i < x->rank; i++) {
        if (i != ax)
            out.d[out.rank++] = x->d[i];
        else if (keep)
            out.d[out.rank++] = ir_dim(1);
    }
    set_out(g, n, IR_I64, &out);
    return true;
}

SHAPE_FN(gather_elements)
{
    int64_t ax = 0;
    if (!dtype_ok(g, n, 0, false, d) || !index_dtype_ok(g, n, 1, d) || !axis_ok(g, n, 0, &ax, d))
        return false;
    const Shape *x = &ty(g, n, 0)->shape, *ix = &ty(g, n, 1)->shape;
    if (ix->rank != x->rank || x->rank == 0)
        return fail(g, n, 1, d, "indices must have the data's rank (1 or more)");
    if (!index_fits(g, n, ax, d))
        return false;
    set_out(g, n, ty(g, n, 0)->dtype, ix);
    return true;
}

SHAPE_FN(scatter_elements)
{
    int64_t ax = 0, red = ir_attr_reduction(n);
    if (!dtype_ok(g, n, 0, red != 0, d) || !index_dtype_ok(g, n, 1, d) || !axis_ok(g, n, 0, &ax, d))
        return false;
    const Type *x = ty(g, n, 0), *ix = ty(g, n, 1), *up = ty(g, n, 2);
    if (red < 0 || red > 4)
        return fail(g, n, 0, d, "reduction must be 0 (none), 1 (add), 2 (mul), 3 (max) or 4 (min)");
    if (ix->shape.rank != x->shape.rank || x->shape.rank == 0)
        return fail(g, n, 1, d, "indices must have the data's rank (1 or more)");
    if (!ir_shape_eq(&ix->shape, &up->shape)) {
        char a[256], b[256];
        ir_diag_error(d, n->loc, "%s '%s': updates %s must have the shape of the indices %s",
                      ir_ops[n->op].name, n->name, describe(g, n->inputs[2], a, sizeof a),
                      describe(g, n->inputs[1], b, sizeof b));
        return false;
    }
    if (up->dtype != x->dtype)
        return fail(g, n, 2, d, "updates must have the data's dtype");
    if (!index_fits(g, n, ax, d))
        return false;
    set_out(g, n, x->dtype, &x->shape);
    return true;
}

SHAPE_FN(cumsum)
{
    int64_t ax = 0;
    if (!dtype_ok(g, n, 0, true, d) || !axis_ok(g, n, 0, &ax, d))
        return false;
    if (ty(g, n, 0)->shape.rank == 0)
        return fail(g, n, 0, d, "needs an operand of rank 1 or more");
    set_out(g, n, ty(g, n, 0)->dtype, &ty(g, n, 0)->shape);
    return true;
}

/* numpy broadcasting of a and b into out; false if they do not broadcast. */
static bool broadcast(const Shape *a, const Shape *b, Shape *out)
{
    int r = a->rank > b->rank ? a->rank : b->rank;
    out->rank = r;
    for (int i = 0; i < r; i++) {
        int ia = i - (r - a->rank), ib = i - (r - b->rank);
        Dim da = ia >= 0 ? a->d[ia] : ir_dim(1), db = ib >= 0 ? b->d[ib] : ir_dim(1);
        if (ir_dim_eq(da, db) || (db.c == 1 && db.syms == 0))
            out->d[i] = da;
        else if (da.c == 1 && da.syms == 0)
            out->d[i] = db;
        else
            return false;
    }
    return true;
}

SHAPE_FN(mod)
{
    if (!dtype_ok(g, n, 0, true, d) || !dtype_ok(g, n, 1, true, d))
        return false;
    const Type *a = ty(g, n, 0), *b = ty(g, n, 1);
    if (a->dtype == IR_BOOL)
        return fail(g, n, 0, d, "bool has no remainder");
    Shape out;
    if (a->dtype != b->dtype || !broadcast(&a->shape, &b->shape, &out)) {
        char x[256], y[256];
        ir_diag_error(d, n->loc, "%s '%s': operands must have one dtype and broadcast: %s and %s",
                      ir_ops[n->op].name, n->name, describe(g, n->inputs[0], x, sizeof x),
                      describe(g, n->inputs[1], y, sizeof y));
        return false;
    }
    set_out(g, n, a->dtype, &out);
    return true;
}

/* An antialiased resize of the symbolic length len (c * S) to size: its taps widen with
 * len / size, so S is bounded to keep the scale >= IR_RESIZE_AA_MIN_SCALE (the least the
 * static form takes), checked when the inputs bind S. False for a length of other form. */
static bool resize_aa_bound(Graph *g, const Node *n, Dim len, int64_t size)
{
    int64_t most;
    if (len.c < 1 || !len.syms || (len.syms & (len.syms - 1)) || !ir_ckd_mul_i64(size, 16, &most) ||
        most / len.c < 1)
        return false;
    ir_sym_bound(g, __builtin_ctz(len.syms), most / len.c,
                 ir_arena_printf(g->arena, "antialiased resize '%s'", n->name ? n->name : "?"));
    return true;
}

SHAPE_FN(resize_axis)
{
    int64_t ax = 0;
    const Type *x = ty(g, n, 0);
    if (x->dtype != IR_F32 || x->quant)
        return fail(g, n, 0, d, "the operand must be f32 in this version of slimc");
    if (!axis_ok(g, n, 0, &ax, d))
        return false;
    if (x->shape.rank == 0)
        return fail(g, n, 0, d, "the resized dimension must be a fixed size");
    int64_t size = ir_attr_size_1d(n), mode = ir_attr_mode(n);
    int64_t coord = ir_attr_coord(n), nearest = ir_attr_nearest(n);
    double scale = ir_attr_scale(n);
    bool antialias = ir_attr_antialias(n) != 0 && mode != 0; /* nearest: no effect */
    const int64_t ss = ir_attr_size_sym(n);
    if (ss >= 0) { /* to a symbol's length, the scale when it runs */
        if (ss >= g->n_syms || scale != 0 || antialias || !ir_resize_sym((int)mode, (int)coord) ||
            nearest < 0 || nearest > 3)
            return fail(g, n, 0, d,
                        "a resize to a symbolic size needs a symbol of the model and nearest, "
                        "linear or cubic with half_pixel, asymmetric, align_corners or "
                        "pytorch_half_pixel coordinates, without antialias");
        Shape out = x->shape;
        out.d[ax] = (Dim){1, 1u << ss};
        set_out(g, n, IR_F32, &out);
        return true;
    }
    if (!ir_dim_static(x->shape.d[ax])) {
        /* k x a symbolic length: an upsample; or taps computed when it runs (ir_resize_sym):
         * a constant size, or floor(len * m / div) */
        int64_t k =
            ir_resize_upsample_factor((int)mode, (int)coord, (int)nearest, scale, antialias);
        int64_t m, div;
        Shape out = x->shape;
        bool ok;
        if (k)
            ok = ir_ckd_mul_i64(out.d[ax].c, k, &out.d[ax].c);
        else if (!ir_resize_sym((int)mode, (int)coord) || nearest < 0 || nearest > 3)
            ok = false;
        else if (size >= 1) {
            ok = scale == 0 && size <= INT32_MAX &&
                 (!antialias || resize_aa_bound(g, n, x->shape.d[ax], size));
            out.d[ax] = ir_dim(size);
        } else
            ok = (!antialias || scale >= IR_RESIZE_AA_MIN_SCALE) &&
                 ir_resize_scale_dyadic(scale, &m, &div) &&
                 ir_dim_derive(g, x->shape.d[ax], ir_dim(m), ir_dim(0), 0, div, &out.d[ax]);
        if (!ok)
            return fail(g, n, 0, d,
                        "a symbolic dimension is resized only by nearest, linear or cubic with "
                        "half_pixel, asymmetric, align_corners or pytorch_half_pixel "
                        "coordinates, to a constant size (antialiased: from a dim of one symbol) "
                        "or by a scale m/2^k (antialiased: at least 1/16); fix it with --dim or "
                        "--shape");
        set_out(g, n, IR_F32, &out);
        return true;
    }
    if (size < 1 || size > INT32_MAX || x->shape.d[ax].c > INT32_MAX)
        return fail(g, n, 0, d, "the output size must be from 1 to 2^31 - 1");
    if (mode < 0 || mode > 2 || coord < 0 || coord > 5 || nearest < 0 || nearest > 3)
        return fail(g, n, 0, d, "mode, coord or nearest is out of range");
    if (!(scale > 0) || (antialias && scale < 1.0 / 16))
        return fail(g, n, 0, d, "the scale must be positive (at least 1/16 with antialias)");
    Shape out = x->shape;
    out.d[ax] = ir_dim(size);
    set_out(g, n, IR_F32, &out);
    return true;
}

SHAPE_FN(grid_sample)
{
    const Type *x = ty(g, n, 0), *gr = ty(g, n, 1);
    if (x->dtype != IR_F32 || x->quant)
        return fail(g, n, 0, d, "the input must be f32 in this version of slimc");
    if (gr->dtype != IR_F32 || gr->quant)
        return fail(g, n, 1, d, "the grid must be f32");
    int s = x->shape.rank - 2;
    if (s < 1 || s > 3)
        return fail(g, n, 0, d, "the input must be [N, C, D1..DS] with 1 to 3 spatial dims");
    if (gr->shape.rank != s + 2 || !ir_dim_eq(gr->shape.d[s + 1], ir_dim(s)) ||
        !ir_dim_eq(gr->shape.d[0], x->shape.d[0])) {
        char a[256], b[256];
        ir_diag_error(d, n->loc, "%s '%s': the grid %s must be [N, O1..O%d, %d] for the input %s",
                      ir_ops[n->op].name, n->name, describe(g, n->inputs[1], b, sizeof b), s, s,
                      describe(g, n->inputs[0], a, sizeof a));
        return false;
    }
    int64_t mode = ir_attr_mode_or(n, 1), pad = ir_attr_padding_mode(n);
    if (mode < 0 || mode > 2 || pad < 0 || pad > 2)
        return fail(g, n, 0, d, "mode or padding is out of range");
    Shape out = x->shape;
    for (int i = 0; i < s; i++)
        out.d[2 + i] = gr->shape.d[1 + i];
    set_out(g, n, IR_F32, &out);
    return true;
}

SHAPE_FN(topk)
{
    int64_t ax = 0;
    if (!dtype_ok(g, n, 0, true, d) || !axis_ok(g, n, 0, &ax, d))
        return false;
    const Type *x = ty(g, n, 0);
    int64_t k = ir_attr_k(n);
    if (x->shape.rank == 0 || !ir_dim_static(x->shape.d[ax]) || k < 1 || k > x->shape.d[ax].c) {
        char msg[96];
        snprintf(msg, sizeof msg, "k = %lld must be from 1 to the (fixed) length of the axis",
                 (long long)k);
        return fail(g, n, 0, d, msg);
    }
    Shape out = x->shape;
    out.d[ax] = ir_dim(k);
    set_out(g, n, ir_attr_indices(n) ? IR_I64 : x->dtype, &out);
    return true;
}

SHAPE_FN(pool_nd)
{
    const Type *x = ty(g, n, 0);
    if (x->dtype != IR_F32 || x->quant)
        return fail(g, n, 0, d, "the input must be f32 in this version of slimc");
    int s = x->shape.rank - 2;
    if (s < 1 || s > 3)
        return fail(g, n, 0, d, "the input must be [N, C, D1..DS] with 1 to 3 spatial dims");
    int64_t k[3], st[3], dil[3], pads[6];
    const Attr *ka = ir_node_attr_id(n, IR_A_kernel);
    if (!ka || ka->n_ints != s)
        return fail(g, n, 0, d, "needs one kernel size per spatial dim");
    ir_attr_kernel(n, k, s);
    ir_attr_stride(n, st, s);
    ir_attr_dilation(n, dil, s);
    ir_attr_pads(n, pads, 2 * s);
    bool ceil_mode = ir_attr_ceil_mode(n) != 0;
    int64_t mode = ir_attr_mode(n);
    if (ir_attr_p(n) < 1 || mode < 0 || mode > 3)
        return fail(g, n, 0, d,
                    "p must be 1 or more, mode 0 (lp), 1 (max), 2 (average) or 3 (argmax)");
    Shape out = x->shape;
    for (int i = 0; i < s; i++) {
        if (!ir_dim_static(x->shape.d[2 + i]))
            return fail(g, n, 0, d, "the spatial dims must be fixed sizes");
        int64_t in = x->shape.d[2 + i].c, span, reach;
        if (k[i] < 1 || st[i] < 1 || dil[i] < 1 || pads[i] < 0 || pads[s + i] < 0 ||
            !ir_ckd_add_i64(in, pads[i], &span) || !ir_ckd_add_i64(span, pads[s + i], &span) ||
            !ir_ckd_mul_i64(k[i] - 1, dil[i], &reach) || span - reach - 1 < 0)
            return fail(g, n, 0, d, "a bad kernel, stride, dilation or padding for this input");
        span = span - reach - 1; /* both >= 0 and span < 2^63: no overflow */
        int64_t o = (ceil_mode ? span / st[i] + (span % st[i] != 0) : span / st[i]) + 1;
        int64_t last; /* in + pads[i] <= the span's sum above: no overflow */
        if (ceil_mode && (!ir_ckd_mul_i64(o - 1, st[i], &last) || last >= in + pads[i]))
            o--; /* the last window must start inside the input or its begin padding */
        out.d[2 + i] = ir_dim(o);
    }
    set_out(g, n, mode == 3 ? IR_I64 : IR_F32, &out);
    return true;
}

/* The tuple length k of ND indices (operand 1): their last dim, fixed, from 1 to max. */
static bool nd_tuple(Graph *g, Node *n, int max, int64_t *k, Diag *d)
{
    const Shape *is = &ty(g, n, 1)->shape;
    if (is->rank < 1 || !ir_dim_static(is->d[is->rank - 1]) || is->d[is->rank - 1].c < 1 ||
        is->d[is->rank - 1].c > max) {
        char msg[96];
        snprintf(msg, sizeof msg, "the indices' last dim must be a fixed size from 1 to %d", max);
        return fail(g, n, 1, d, msg);
    }
    *k = is->d[is->rank - 1].c;
    return true;
}

SHAPE_FN(gather_nd)
{
    if (!dtype_ok(g, n, 0, false, d) || !index_dtype_ok(g, n, 1, d))
        return false;
    const Shape *x = &ty(g, n, 0)->shape, *is = &ty(g, n, 1)->shape;
    int64_t b = ir_attr_batch_dims(n), k = 0;
    if (b < 0 || b >= x->rank || b >= is->rank)
        return fail(g, n, 1, d, "batch_dims must be below the ranks of the data and the indices");
    if (!nd_tuple(g, n, x->rank - (int)b, &k, d))
        return false;
    for (int i = 0; i < b; i++)
        if (!ir_dim_eq(x->d[i], is->d[i]))
            return fail(g, n, 1, d, "the batch dims of the data and the indices differ");
    Shape out = {0, {{0}}};
    if (is->rank - 1 + x->rank - b - k > IR_MAX_RANK)
        return fail(g, n, 1, d, "the output would have too many dims");
    for (int i = 0; i < is->rank - 1; i++)
        out.d[out.rank++] = is->d[i];
    for (int i = (int)(b + k); i < x->rank; i++)
        out.d[out.rank++] = x->d[i];
    set_out(g, n, ty(g, n, 0)->dtype, &out);
    return true;
}

SHAPE_FN(scatter_nd)
{
    int64_t red = ir_attr_reduction(n), k = 0;
    if (!dtype_ok(g, n, 0, red != 0, d) || !index_dtype_ok(g, n, 1, d))
        return false;
    if (red < 0 || red > 4)
        return fail(g, n, 0, d, "reduction must be 0 (none), 1 (add), 2 (mul), 3 (max) or 4 (min)");
    const Type *x = ty(g, n, 0), *up = ty(g, n, 2);
    const Shape *is = &ty(g, n, 1)->shape;
    if (!nd_tuple(g, n, x->shape.rank, &k, d))
        return false;
    Shape want = {0, {{0}}};
    for (int i = 0; i < is->rank - 1; i++)
        want.d[want.rank++] = is->d[i];
    for (int i = (int)k; i < x->shape.rank && want.rank < IR_MAX_RANK; i++)
        want.d[want.rank++] = x->shape.d[i];
    if (up->dtype != x->dtype || !ir_shape_eq(&up->shape, &want))
        return fail(g, n, 2, d,
                    "updates must be the indices' leading dims then the data's "
                    "trailing ones, in the data's dtype");
    set_out(g, n, x->dtype, &x->shape);
    return true;
}

SHAPE_FN(roi_align)
{
    const Type *x = ty(g, n, 0), *rois = ty(g, n, 1);
    const Shape *bs = &ty(g, n, 2)->shape;
    if (x->dtype != IR_F32 || x->quant || x->shape.rank != 4)
        return fail(g, n, 0, d, "the input must be f32 [N, C, H, W]");
    if (rois->dtype != IR_F32 || rois->shape.rank != 2 || !ir_dim_eq(rois->shape.d[1], ir_dim(4)))
        return fail(g, n, 1, d, "the rois must be f32 [R, 4]");
    if (!index_dtype_ok(g, n, 2, d))
        return false;
    if (bs->rank != 1 || !ir_dim_eq(bs->d[0], rois->shape.d[0]))
        return fail(g, n, 2, d, "the batch indices must be [R], one per roi");
    int64_t oh = ir_attr_out_h(n), ow = ir_attr_out_w(n);
    if (oh < 1 || ow < 1 || ir_attr_sampling_ratio(n) < 0 || ir_attr_mode(n) < 0 ||
        ir_attr_mode(n) > 1)
        return fail(g, n, 0, d, "bad output size, sampling ratio or mode");
    Shape out = {4, {rois->shape.d[0], x->shape.d[1], ir_dim(oh), ir_dim(ow)}};
    set_out(g, n, IR_F32, &out);
    return true;
}
