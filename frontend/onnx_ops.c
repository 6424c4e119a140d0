/* ONNX ops to IR ops: one function per ONNX op (or family), with the attribute defaults
 * of each opset version. IR ops are looked up by name, so an ONNX op whose IR op is not
 * in ir/ops.def is reported as unsupported (naming the missing IR op) instead of failing
 * the build. Shape subgraphs on constants are evaluated here at import (ox_fold). */
#ifdef SLIMC_WITH_ONNX
#include "frontend/onnx_internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* ---- helpers ---- */

bool ox_wants(const OxNode *n, int i)
{
    return i < n->n_out && *n->out[i];
}

/* A new IR node of op (by name) on ins; IR_NONE when the IR has no such op. */
NodeId ox_mk(OxImporter *im, const OxNode *n, const char *op, const ValueId *ins, int k)
{
    OpKind kind;
    if (!ir_op_lookup(op, &kind))
        return IR_NONE;
    return ir_node_new(im->g, kind, n->ir_name, n->loc, ins, k, 1);
}

/* Infers the node's types; its output (unknown, rank -1, after an error). */
ValueId ox_done(OxImporter *im, NodeId id)
{
    ir_infer_node(im->g, id, im->d);
    return im->g->nodes[id].outputs[0];
}

OxResult ox_no_ir_op(OxImporter *im, const OxNode *n, const char *op)
{
    return ox_unsupported(im, n, "slimc's IR has no '%s' op yet", op);
}

/* Unary IR op on v. */
ValueId ox_un(OxImporter *im, const OxNode *n, const char *op, ValueId v)
{
    NodeId id = ox_mk(im, n, op, &v, 1);
    return id == IR_NONE ? IR_NONE : ox_done(im, id);
}

ValueId ox_bin(OxImporter *im, const OxNode *n, const char *op, ValueId a, ValueId b)
{
    ValueId ins[2] = {a, b};
    NodeId id = ox_mk(im, n, op, ins, 2);
    return id == IR_NONE ? IR_NONE : ox_done(im, id);
}

/* A 0-d constant of dtype dt holding v. */
ValueId ox_scalar(OxImporter *im, const OxNode *n, DType dt, double v)
{
    OxConst c;
    ox_const_make(im, &c, dt, 0, NULL);
    ox_const_set(&c, 0, v);
    Type t = {dt, {0, {{0}}}, NULL};
    return ir_const_new(im->g, ir_arena_printf(im->g->arena, "%s.k", n->ir_name), t, c.data,
                        c.nbytes, n->loc);
}

OxResult ox_out(OxImporter *im, const OxNode *n, ValueId v)
{
    if (v == IR_NONE)
        return OX_ERROR;
    ox_bind_value(im, n->out[0], v);
    return OX_OK;
}

static bool norm_axis(int64_t axis, int rank, int64_t *outp)
{
    if (axis < 0)
        axis += rank;
    *outp = axis;
    return axis >= 0 && axis < (rank ? rank : 1);
}

/* The reshape attribute for target: sizes, -(1000+i) for a bare symbol, -1 once for
 * anything else symbolic; false when that cannot describe it. */
static bool reshape_attr(const Shape *target, int64_t *attr)
{
    bool used_infer = false;
    for (int i = 0; i < target->rank; i++) {
        Dim dd = target->d[i];
        if (dd.syms == 0)
            attr[i] = dd.c;
        else if (dd.c == 1 && (dd.syms & (dd.syms - 1)) == 0) {
            int s = 0;
            while (!(dd.syms & (1u << s)))
                s++;
            attr[i] = -(1000 + s);
        } else if (!used_infer) {
            attr[i] = -1;
            used_infer = true;
        } else
            return false;
    }
    return true;
}

/* Binds output 0 to x reshaped to target: a constant stays a constant (its data seen
 * with another shape); otherwise a reshape node. */
static OxResult bind_reshaped(OxImporter *im, const OxNode *n, const Shape *target);

ValueId ox_reshape_to(OxImporter *im, const OxNode *n, ValueId v, const Shape *target)
{
    int64_t attr[IR_MAX_RANK];
    if (!reshape_attr(target, attr))
        return IR_NONE;
    NodeId id = ox_mk(im, n, "reshape", &v, 1);
    ir_node_set_ints(im->g, id, "shape", attr, target->rank);
    return ox_done(im, id);
}

static OxResult bind_reshaped(OxImporter *im, const OxNode *n, const Shape *target)
{
    OxEntry *e = n->in[0];
    if (e->is_const && ir_shape_static(target)) {
        OxConst c = e->c;
        c.rank = target->rank;
        for (int i = 0; i < target->rank; i++)
            c.shape[i] = target->d[i].c;
        if (ox_const_numel(&c) == ox_const_numel(&e->c)) {
            ox_bind_const(im, n->out[0], &c);
            return OX_OK;
        }
    }
    ValueId v = ox_reshape_to(im, n, ox_value(im, e), target);
    return v == IR_NONE ? ox_unsupported(im, n, "shape too symbolic") : ox_out(im, n, v);
}

/* An integer list from constant input i (or the ints attribute name when the opset
 * still had it as an attribute). Returns the count, -1 when absent, -2 when not constant. */
/* Constant input i that the mapping needs: NULL (and the caller told) when not constant. */
const OxConst *ox_need_const(OxImporter *im, const OxNode *n, int i)
{
    const OxConst *c = ox_const_in(n, i);
    if (!c && ox_has_in(n, i))
        ox_needs_constant(im, n->in[i]);
    return c;
}

int ox_ints_input(OxImporter *im, const OxNode *n, int i, int64_t *vals, int max)
{
    if (!ox_has_in(n, i))
        return -1;
    const OxConst *c = ox_need_const(im, n, i);
    if (!c)
        return -2;
    int64_t k = ox_const_numel(c);
    for (int64_t j = 0; j < k && j < max; j++)
        vals[j] = ox_const_get_i(c, j);
    return (int)k;
}

/* ---- op families ---- */

static OxResult op_unary(OxImporter *im, OxNode *n, const char *irop)
{
    ValueId v = ox_un(im, n, irop, ox_in(im, n, 0));
    return v == IR_NONE ? ox_no_ir_op(im, n, irop) : ox_out(im, n, v);
}

static OxResult op_binary(OxImporter *im, OxNode *n, const char *irop)
{
    if (n->n_in < 2 || !ox_has_in(n, 0) || !ox_has_in(n, 1))
        return ox_unsupported(im, n, "needs two inputs");
    ValueId b = ox_in(im, n, 1);
    DType da = ox_ty(im, ox_in(im, n, 0))->dtype;
    if (!strcmp(irop, "pow") && ox_ty(im, b)->dtype != da) { /* Pow's Y may have another type */
        NodeId id = ox_mk(im, n, "cast", &b, 1);
        if (id == IR_NONE)
            return ox_no_ir_op(im, n, "cast");
        ir_node_set_int(im->g, id, "dtype", da);
        b = ox_done(im, id);
    }
    ValueId v = ox_bin(im, n, irop, ox_in(im, n, 0), b);
    return v == IR_NONE ? ox_no_ir_op(im, n, irop) : ox_out(im, n, v);
}

/* Sum, Max, Min, Mean: a chain of binary ops over any number of inputs. */
static OxResult op_variadic(OxImporter *im, OxNode *n, const char *irop, bool mean)
{
    if (n->n_in < 1 || !ox_has_in(n, 0))
        return ox_unsupported(im, n, "needs at least one input");
    ValueId acc = ox_in(im, n, 0);
    for (int i = 1; i < n->n_in; i++) {
        acc = ox_bin(im, n, irop, acc, ox_in(im, n, i));
        if (acc == IR_NONE)
            return ox_no_ir_op(im, n, irop);
    }
    if (mean && n->n_in > 1)
        acc = ox_bin(im, n, "mul", acc, ox_scalar(im, n, ox_ty(im, acc)->dtype, 1.0 / n->n_in));
    else if (n->n_in == 1) {
        /* one input: a copy, so that the output is a computed value */
        acc = ox_bin(im, n, irop, acc, acc);
        if (strcmp(irop, "add") == 0)
            acc = ox_bin(im, n, "mul", acc, ox_scalar(im, n, ox_ty(im, acc)->dtype, 0.5));
    }
    return ox_out(im, n, acc);
}

/* Spatial attributes of Conv / pools for 2-D: symmetric pads, or auto_pad. */
typedef struct Window {
    int64_t k[2], s[2], p[2], dil[2];
    int64_t pads[4]; /* begin h, begin w, end h, end w */
    bool asym;
    bool bad; /* auto_pad's sizes cannot be computed: reported as an error */
} Window;

static bool window_attrs(OxImporter *im, const OxNode *n, ValueId x, const int64_t *kernel,
                         Window *w)
{
    const Type *t = ox_ty(im, x);
    w->bad = false;
    for (int i = 0; i < 2; i++) {
        w->k[i] = kernel[i];
        w->s[i] = 1;
        w->dil[i] = 1;
    }
    int64_t tmp[8];
    int k = ox_attr_ints(n, "strides", tmp, 8);
    if (k == 2) {
        w->s[0] = tmp[0];
        w->s[1] = tmp[1];
    }
    if (k == 1)
        w->s[1] = tmp[0]; /* 1-D, lifted to [1, L] */
    k = ox_attr_ints(n, "dilations", tmp, 8);
    if (k == 2) {
        w->dil[0] = tmp[0];
        w->dil[1] = tmp[1];
    }
    if (k == 1)
        w->dil[1] = tmp[0];
    memset(w->pads, 0, sizeof w->pads);
    k = ox_attr_ints(n, "pads", tmp, 8);
    if (k == 4)
        memcpy(w->pads, tmp, sizeof w->pads);
    if (k == 2) {
        w->pads[1] = tmp[0];
        w->pads[3] = tmp[1];
    }
    const char *ap = ox_attr_string(im, n, "auto_pad", "NOTSET");
    if (!strcmp(ap, "SAME_UPPER") || !strcmp(ap, "SAME_LOWER")) {
        for (int i = 0; i < 2; i++) {
            Dim dd = t->shape.d[2 + i];
            if (!ir_dim_static(dd))
                return false;
            /* total = (o - 1) * s + (k - 1) * dil + 1 - in, o = ceil(in / s) */
            bool fits = w->s[i] >= 1 && w->k[i] >= 1 && w->dil[i] >= 1;
            int64_t o = fits ? dd.c / w->s[i] + (dd.c % w->s[i] != 0) : 0, total, reach;
            if (!fits || !ir_ckd_mul_i64(o - 1, w->s[i], &total) ||
                !ir_ckd_mul_i64(w->k[i] - 1, w->dil[i], &reach) ||
                !ir_ckd_add_i64(total, reach, &total) || !ir_ckd_sub_i64(total, dd.c - 1, &total)) {
                ir_diag_error(im->d, n->loc,
                              "node '%s': auto_pad %s needs strides, kernel and dilations >= 1 "
                              "whose window size fits in 64 bits",
                              n->name, ap);
                w->bad = true;
                return false;
            }
            if (total < 0)
                total = 0;
            int64_t small = total / 2, big = total - small;
            w->pads[i] = !strcmp(ap, "SAME_UPPER") ? small : big;
            w->pads[2 + i] = !strcmp(ap, "SAME_UPPER") ? big : small;
        }
    } else if (!strcmp(ap, "VALID"))
        memset(w->pads, 0, sizeof w->pads);
    w->asym = w->pads[0] != w->pads[2] || w->pads[1] != w->pads[3];
    w->p[0] = w->pads[0];
    w->p[1] = w->pads[1];
    return true;
}

/* Pads x explicitly by the window's pads (constant value) and zeroes them. */
static ValueId pad_explicit(OxImporter *im, const OxNode *n, ValueId x, Window *w, double value)
{
    NodeId id = ox_mk(im, n, "pad", &x, 1);
    if (id == IR_NONE)
        return IR_NONE;
    int64_t pads[4] = {w->pads[1], w->pads[3], w->pads[0], w->pads[2]}; /* last dim first */
    ir_node_set_ints(im->g, id, "pads", pads, 4);
    ir_node_set_int(im->g, id, "mode", 0);
    ir_node_set_float(im->g, id, "value", value);
    w->p[0] = w->p[1] = 0;
    w->asym = false;
    return ox_done(im, id);
}

/* [N, C, L] as [N, C, 1, L] (1-D ops run as 2-D ones). */
static ValueId lift_1d(OxImporter *im, const OxNode *n, ValueId x)
{
    const Shape *s = &ox_ty(im, x)->shape;
    Shape t = {4, {s->d[0], s->d[1], ir_dim(1), s->d[2]}};
    return ox_reshape_to(im, n, x, &t);
}

/* [N, C, 1, L] back to [N, C, L]. */
static ValueId drop_1d(OxImporter *im, const OxNode *n, ValueId y)
{
    const Shape *s = &ox_ty(im, y)->shape;
    if (s->rank != 4)
        return y; /* an error was reported */
    Shape t = {3, {s->d[0], s->d[1], s->d[3]}};
    return ox_reshape_to(im, n, y, &t);
}

static OxResult op_conv(OxImporter *im, OxNode *n)
{
    ValueId x = ox_in(im, n, 0), wv = ox_in(im, n, 1);
    const Type *wt = ox_ty(im, wv);
    bool one_d = ox_ty(im, x)->shape.rank == 3 && wt->shape.rank == 3;
    if (one_d) {
        x = lift_1d(im, n, x);
        wv = lift_1d(im, n, wv);
        wt = ox_ty(im, wv);
    }
    if (ox_ty(im, x)->shape.rank != 4 || wt->shape.rank != 4)
        return ox_unsupported(im, n, "only 1-D and 2-D convolutions are supported");
    int64_t kernel[2] = {wt->shape.d[2].c, wt->shape.d[3].c};
    Window w;
    if (!window_attrs(im, n, x, kernel, &w))
        return w.bad ? OX_ERROR : ox_unsupported(im, n, "auto_pad SAME on a symbolic spatial size");
    if (w.asym && (x = pad_explicit(im, n, x, &w, 0.0)) == IR_NONE)
        return ox_unsupported(im, n, "asymmetric pads need the IR op 'pad'");
    ValueId ins[3] = {x, wv, ox_in(im, n, 2)};
    NodeId id = ox_mk(im, n, "conv2d", ins, ox_has_in(n, 2) ? 3 : 2);
    ir_node_set_ints(im->g, id, "stride", w.s, 2);
    ir_node_set_ints(im->g, id, "padding", w.p, 2);
    ir_node_set_ints(im->g, id, "dilation", w.dil, 2);
    ir_node_set_int(im->g, id, "groups", ox_attr_int(n, "group", 1));
    ValueId y = ox_done(im, id);
    return ox_out(im, n, one_d ? drop_1d(im, n, y) : y);
}

static OxResult op_conv_transpose(OxImporter *im, OxNode *n)
{
    ValueId x = ox_in(im, n, 0), wv = ox_in(im, n, 1);
    const Type *wt = ox_ty(im, wv);
    if (ox_ty(im, x)->shape.rank != 4 || wt->shape.rank != 4)
        return ox_unsupported(im, n, "only 2-D transposed convolutions are supported");
    if (ox_attr(n, "output_shape"))
        return ox_unsupported(im, n, "the output_shape attribute is not supported");
    const char *ap = ox_attr_string(im, n, "auto_pad", "NOTSET");
    if (strcmp(ap, "NOTSET") != 0 && strcmp(ap, "VALID") != 0)
        return ox_unsupported(im, n, "auto_pad %s is not supported", ap);
    int64_t kernel[2] = {wt->shape.d[2].c, wt->shape.d[3].c};
    Window w;
    window_attrs(im, n, x, kernel, &w);
    if (w.asym)
        return ox_unsupported(im, n, "asymmetric pads are not supported");
    int64_t op[2] = {0, 0}, tmp[4];
    if (ox_attr_ints(n, "output_padding", tmp, 4) == 2) {
        op[0] = tmp[0];
        op[1] = tmp[1];
    }
    ValueId ins[3] = {x, wv, ox_in(im, n, 2)};
    NodeId id = ox_mk(im, n, "conv_transpose2d", ins, ox_has_in(n, 2) ? 3 : 2);
    if (id == IR_NONE)
        return ox_no_ir_op(im, n, "conv_transpose2d");
    ir_node_set_ints(im->g, id, "stride", w.s, 2);
    ir_node_set_ints(im->g, id, "padding", w.p, 2);
    ir_node_set_ints(im->g, id, "output_padding", op, 2);
    ir_node_set_ints(im->g, id, "dilation", w.dil, 2);
    ir_node_set_int(im->g, id, "groups", ox_attr_int(n, "group", 1));
    return ox_out(im, n, ox_done(im, id));
}

static OxResult op_pool(OxImporter *im, OxNode *n, bool is_max)
{
    ValueId x = ox_in(im, n, 0);
    OxResult nd;
    if (ox_pool_ext(im, n, is_max, &nd)) /* frontend/onnx_ops_ext.c: 3-D, Indices, averages */
        return nd;
    if (ox_wants(n, 1))
        return ox_unsupported(im, n, "the Indices output is not supported");
    bool one_d = ox_ty(im, x)->shape.rank == 3;
    int64_t kernel[4];
    int nk = ox_attr_ints(n, "kernel_shape", kernel, 4);
    if (one_d && nk == 1) {
        x = lift_1d(im, n, x);
        kernel[1] = kernel[0];
        kernel[0] = 1;
        nk = 2;
    }
    if (ox_ty(im, x)->shape.rank != 4)
        return ox_unsupported(im, n, "only 1-D and 2-D pooling are supported");
    if (nk != 2)
        return ox_unsupported(im, n, "kernel_shape must have 2 entries");
    Window w;
    if (!window_attrs(im, n, x, kernel, &w))
        return w.bad ? OX_ERROR : ox_unsupported(im, n, "auto_pad SAME on a symbolic spatial size");
    int64_t cip = ox_attr_int(n, "count_include_pad", 0);
    /* pads over half the kernel (PyTorch's limit, not ONNX's): pad explicitly */
    bool big = w.pads[0] > w.k[0] / 2 || w.pads[1] > w.k[1] / 2 || w.pads[2] > w.k[0] / 2 ||
               w.pads[3] > w.k[1] / 2; /* 2 * pad > k, without overflow */
    if (w.asym || (big && (is_max || cip))) {
        if (!is_max && !cip)
            return ox_unsupported(im, n, "asymmetric pads without count_include_pad");
        if ((x = pad_explicit(im, n, x, &w, is_max ? -INFINITY : 0.0)) == IR_NONE)
            return ox_unsupported(im, n, "asymmetric pads need the IR op 'pad'");
    }
    if (!is_max && (w.dil[0] != 1 || w.dil[1] != 1))
        return ox_unsupported(im, n, "dilated average pooling");
    NodeId id = ox_mk(im, n, is_max ? "max_pool2d" : "avg_pool2d", &x, 1);
    ir_node_set_ints(im->g, id, "kernel", w.k, 2);
    ir_node_set_ints(im->g, id, "stride", w.s, 2);
    ir_node_set_ints(im->g, id, "padding", w.p, 2);
    if (is_max)
        ir_node_set_ints(im->g, id, "dilation", w.dil, 2);
    else
        ir_node_set_int(im->g, id, "count_include_pad", cip);
    ir_node_set_int(im->g, id, "ceil_mode", ox_attr_int(n, "ceil_mode", 0));
    ValueId y = ox_done(im, id);
    return ox_out(im, n, one_d ? drop_1d(im, n, y) : y);
}

static OxResult op_global_pool(OxImporter *im, OxNode *n, const char *irop)
{
    ValueId x = ox_in(im, n, 0);
    int r = ox_ty(im, x)->shape.rank;
    if (r < 3)
        return ox_unsupported(im, n, "the input must have spatial dims");
    int64_t axes[IR_MAX_RANK];
    for (int i = 2; i < r; i++)
        axes[i - 2] = i;
    NodeId id = ox_mk(im, n, irop, &x, 1);
    if (id == IR_NONE)
        return ox_no_ir_op(im, n, irop);
    ir_node_set_ints(im->g, id, "axes", axes, r - 2);
    ir_node_set_int(im->g, id, "keepdim", 1);
    return ox_out(im, n, ox_done(im, id));
}

ValueId ox_permute(OxImporter *im, const OxNode *n, ValueId x, const int64_t *perm, int r)
{
    NodeId id = ox_mk(im, n, "permute", &x, 1);
    if (id == IR_NONE)
        return IR_NONE;
    ir_node_set_ints(im->g, id, "perm", perm, r);
    return ox_done(im, id);
}

static OxResult op_gemm(OxImporter *im, OxNode *n)
{
    float alpha = ox_attr_float(n, "alpha", 1.0f), beta = ox_attr_float(n, "beta", 1.0f);
    int64_t ta = ox_attr_int(n, "transA", 0), tb = ox_attr_int(n, "transB", 0);
    ValueId a = ox_in(im, n, 0), b = ox_in(im, n, 1);
    int64_t swap[2] = {1, 0};
    if (ta && (a = ox_permute(im, n, a, swap, 2)) == IR_NONE)
        return ox_no_ir_op(im, n, "permute");
    ValueId y;
    const OxConst *cc = ox_const_in(n, 2);
    bool fold_bias = cc && cc->rank == 1 && alpha == 1.0f && beta == 1.0f && cc->dtype == IR_F32;
    if (tb) {
        /* linear's weight is [out, in]: B as given; a vector C is its bias */
        ValueId ins[3] = {a, b, fold_bias ? ox_in(im, n, 2) : IR_NONE};
        NodeId id = ox_mk(im, n, "linear", ins, fold_bias ? 3 : 2);
        y = ox_done(im, id);
        if (fold_bias)
            return ox_out(im, n, y);
    } else {
        y = ox_bin(im, n, "matmul", a, b);
    }
    if (alpha != 1.0f)
        y = ox_bin(im, n, "mul", y, ox_scalar(im, n, IR_F32, alpha));
    if (ox_has_in(n, 2) && beta != 0.0f) {
        ValueId c = ox_in(im, n, 2);
        if (beta != 1.0f)
            c = ox_bin(im, n, "mul", c, ox_scalar(im, n, IR_F32, beta));
        y = ox_bin(im, n, "add", y, c);
    }
    return ox_out(im, n, y);
}

static OxResult op_softmax(OxImporter *im, OxNode *n, const char *irop)
{
    ValueId x = ox_in(im, n, 0);
    const Shape *s = &ox_ty(im, x)->shape;
    int64_t axis = ox_attr_int(n, "axis", im->opset >= 13 ? -1 : 1), ax;
    if (!norm_axis(axis, s->rank, &ax))
        return ox_unsupported(im, n, "axis %lld out of range", (long long)axis);
    if (im->opset >= 13 || ax == s->rank - 1) {
        NodeId id = ox_mk(im, n, irop, &x, 1);
        ir_node_set_int(im->g, id, "axis", ax);
        return ox_out(im, n, ox_done(im, id));
    }
    /* before opset 13: the input is coerced to 2-D [prod(:axis), prod(axis:)] */
    Shape two = {2, {ir_dim(1), ir_dim(1)}};
    for (int i = 0; i < s->rank; i++)
        if (!ir_dim_static(s->d[i]))
            return ox_unsupported(im, n, "coerced softmax on a symbolic shape");
        else
            two.d[i < ax ? 0 : 1].c *= s->d[i].c;
    ValueId f = ox_reshape_to(im, n, x, &two);
    NodeId id = ox_mk(im, n, irop, &f, 1);
    ir_node_set_int(im->g, id, "axis", 1);
    return ox_out(im, n, ox_reshape_to(im, n, ox_done(im, id), s));
}

static OxResult op_flatten(OxImporter *im, OxNode *n)
{
    ValueId x = ox_in(im, n, 0);
    const Shape *s = &ox_ty(im, x)->shape;
    int64_t axis = ox_attr_int(n, "axis", 1);
    if (axis < 0)
        axis += s->rank;
    if (axis < 0 || axis > s->rank)
        return ox_unsupported(im, n, "axis out of range");
    Shape two = {2, {ir_dim(1), ir_dim(1)}};
    for (int i = 0; i < s->rank; i++) {
        Dim *dd = &two.d[i < axis ? 0 : 1];
        if (!ir_dim_mul(*dd, s->d[i], dd))
            return ox_unsupported(im, n, "symbolic shape");
    }
    (void)x;
    return bind_reshaped(im, n, &two);
}

static OxResult op_reshape(OxImporter *im, OxNode *n)
{
    ValueId x = ox_in(im, n, 0);
    const Shape *s = &ox_ty(im, x)->shape;
    int64_t want[IR_MAX_RANK];
    int k;
    if (im->opset < 5)
        k = ox_attr_ints(n, "shape", want, IR_MAX_RANK);
    else
        k = ox_ints_input(im, n, 1, want, IR_MAX_RANK);
    if (k == -2)
        return ox_unsupported(im, n, "the target shape is computed at run time");
    if (k < 0 || k > IR_MAX_RANK)
        return ox_unsupported(im, n, "bad target shape");
    bool allowzero = ox_attr_int(n, "allowzero", 0) != 0;
    Shape target = {k, {{0}}};
    int infer = -1;
    Dim known = ir_dim(1);
    for (int i = 0; i < k; i++) {
        if (want[i] == 0 && !allowzero) {
            if (i >= s->rank)
                return ox_unsupported(im, n, "0 copies a dim the input lacks");
            target.d[i] = s->d[i];
        } else if (want[i] == -1) {
            infer = i;
            continue;
        } else if (want[i] < 0)
            return ox_unsupported(im, n, "bad target size %lld", (long long)want[i]);
        else
            target.d[i] = ir_dim(want[i]);
        if (!ir_dim_mul(known, target.d[i], &known))
            return ox_unsupported(im, n, "symbolic shape");
    }
    if (infer >= 0) {
        Dim total;
        if (!ir_shape_numel(s, &total))
            return ox_unsupported(im, n, "symbolic shape");
        if ((known.syms & ~total.syms) || known.c == 0 || total.c % known.c)
            return ox_unsupported(im, n, "cannot infer the -1 dim");
        target.d[infer] = (Dim){total.c / known.c, total.syms & ~known.syms};
    }
    (void)x;
    return bind_reshaped(im, n, &target);
}

/* Squeeze / Unsqueeze as reshapes to the computed shape. */
static OxResult op_squeeze(OxImporter *im, OxNode *n, bool un_)
{
    ValueId x = ox_in(im, n, 0);
    const Shape *s = &ox_ty(im, x)->shape;
    int64_t axes[IR_MAX_RANK];
    int k = im->opset >= 13 ? ox_ints_input(im, n, 1, axes, IR_MAX_RANK)
                            : ox_attr_ints(n, "axes", axes, IR_MAX_RANK);
    if (k == -2)
        return ox_unsupported(im, n, "axes computed at run time");
    if (k > IR_MAX_RANK)
        return ox_unsupported(im, n, "too many axes");
    Shape t = {0, {{0}}};
    if (un_) {
        int r = s->rank + (k > 0 ? k : 0);
        if (k <= 0 || r > IR_MAX_RANK)
            return ox_unsupported(im, n, "bad axes");
        bool mark[IR_MAX_RANK] = {false};
        for (int i = 0; i < k; i++) {
            int64_t a;
            if (!norm_axis(axes[i], r, &a) || mark[a])
                return ox_unsupported(im, n, "bad axis %lld", (long long)axes[i]);
            mark[a] = true;
        }
        int j = 0;
        for (int i = 0; i < r; i++)
            t.d[t.rank++] = mark[i] ? ir_dim(1) : s->d[j++];
    } else {
        bool mark[IR_MAX_RANK] = {false};
        for (int i = 0; i < k; i++) {
            int64_t a;
            if (!norm_axis(axes[i], s->rank, &a))
                return ox_unsupported(im, n, "bad axis %lld", (long long)axes[i]);
            mark[a] = true;
        }
        for (int i = 0; i < s->rank; i++) {
            bool one = ir_dim_eq(s->d[i], ir_dim(1));
            if (k <= 0 ? one : mark[i]) {
                if (!one)
                    return ox_unsupported(im, n, "squeezing a dim that is not 1");
                continue;
            }
            t.d[t.rank++] = s->d[i];
        }
    }
    (void)x;
    return bind_reshaped(im, n, &t);
}

static OxResult op_transpose(OxImporter *im, OxNode *n)
{
    ValueId x = ox_in(im, n, 0);
    int r = ox_ty(im, x)->shape.rank;
    int64_t perm[IR_MAX_RANK];
    int k = ox_attr_ints(n, "perm", perm, IR_MAX_RANK);
    if (k > IR_MAX_RANK) /* only IR_MAX_RANK were read */
        return ox_unsupported(im, n, "a perm of %d entries", k);
    if (k == 0) {
        k = r;
        for (int i = 0; i < r; i++)
            perm[i] = r - 1 - i;
    }
    ValueId v = ox_permute(im, n, x, perm, k);
    return v == IR_NONE ? ox_no_ir_op(im, n, "permute") : ox_out(im, n, v);
}

static OxResult op_concat(OxImporter *im, OxNode *n)
{
    ValueId x = ox_in(im, n, 0);
    int64_t ax;
    if (!norm_axis(ox_attr_int(n, "axis", 0), ox_ty(im, x)->shape.rank, &ax))
        return ox_unsupported(im, n, "axis out of range");
    ValueId acc = IR_NONE;
    for (int i = 0; i < n->n_in;) {
        ValueId ins[8];
        int k = 0;
        if (acc != IR_NONE)
            ins[k++] = acc;
        while (k < 8 && i < n->n_in)
            ins[k++] = ox_in(im, n, i++);
        NodeId id = ox_mk(im, n, "concat", ins, k);
        if (id == IR_NONE)
            return ox_no_ir_op(im, n, "concat");
        ir_node_set_int(im->g, id, "axis", ax);
        acc = ox_done(im, id);
    }
    return ox_out(im, n, acc);
}

ValueId ox_slice1(OxImporter *im, const OxNode *n, ValueId x, int64_t axis, int64_t st, int64_t en,
                  int64_t step)
{
    NodeId id = ox_mk(im, n, "slice", &x, 1);
    if (id == IR_NONE)
        return IR_NONE;
    const int64_t big = INT64_MAX / 4;
    ir_node_set_int(im->g, id, "axis", axis);
    ir_node_set_int(im->g, id, "start", st > big ? big : st < -big ? -big : st);
    ir_node_set_int(im->g, id, "end", en > big ? big : en < -big ? -big : en);
    ir_node_set_int(im->g, id, "step", step);
    return ox_done(im, id);
}

static OxResult op_slice(OxImporter *im, OxNode *n)
{
    ValueId x = ox_in(im, n, 0);
    int r = ox_ty(im, x)->shape.rank;
    int64_t st[IR_MAX_RANK], en[IR_MAX_RANK], axes[IR_MAX_RANK], steps[IR_MAX_RANK];
    int k, ka, ks = -1;
    if (im->opset < 10) {
        k = ox_attr_ints(n, "starts", st, IR_MAX_RANK);
        if (ox_attr_ints(n, "ends", en, IR_MAX_RANK) != k)
            return ox_unsupported(im, n, "starts and ends differ in length");
        ka = ox_attr_ints(n, "axes", axes, IR_MAX_RANK);
        if (ka == 0)
            ka = -1;
    } else {
        /* every input asked for before failing: the caller binds them all at once */
        k = ox_ints_input(im, n, 1, st, IR_MAX_RANK);
        int ke = ox_ints_input(im, n, 2, en, IR_MAX_RANK);
        ka = ox_ints_input(im, n, 3, axes, IR_MAX_RANK);
        ks = ox_ints_input(im, n, 4, steps, IR_MAX_RANK);
        if (k < 0 || ke != k)
            return ox_unsupported(im, n, "starts/ends computed at run time");
        if (ka == -2 || ks == -2)
            return ox_unsupported(im, n, "axes/steps computed at run time");
    }
    if (k > IR_MAX_RANK)
        return ox_unsupported(im, n, "too many axes");
    if ((ka >= 0 && ka != k) || (ks >= 0 && ks != k)) { /* as ORT: one entry per start */
        bool bad_axes = ka >= 0 && ka != k;
        ir_diag_error(im->d, n->loc, "node '%s' (Slice): %s has %d entries for %d starts", n->name,
                      bad_axes ? "axes" : "steps", bad_axes ? ka : ks, k);
        return OX_ERROR;
    }
    ValueId v = x;
    for (int i = 0; i < k; i++) {
        int64_t a = ka >= 0 ? axes[i] : i, step = ks >= 0 ? steps[i] : 1;
        if (!norm_axis(a, r, &a))
            return ox_unsupported(im, n, "axis out of range");
        if (step < 1)
            return ox_unsupported(im, n, "negative steps (the IR's slice takes step >= 1)");
        v = ox_slice1(im, n, v, a, st[i], en[i], step);
        if (v == IR_NONE)
            return ox_no_ir_op(im, n, "slice");
    }
    if (v == x)
        v = ox_un(im, n, "relu", x) == IR_NONE ? IR_NONE : ox_slice1(im, n, x, 0, 0, INT64_MAX, 1);
    return ox_out(im, n, v);
}

/* Split sizes as ONNX Runtime takes them: none negative, adding up to the length len of
 * axis ax; false after an error naming the node. */
static bool split_sizes_fit(OxImporter *im, const OxNode *n, const int64_t *sizes, int k,
                            int64_t ax, int64_t len)
{
    int64_t sum = 0;
    for (int i = 0; i < k; i++) {
        if (sizes[i] < 0) {
            ir_diag_error(im->d, n->loc, "node '%s' (Split): split size %lld is negative", n->name,
                          (long long)sizes[i]);
            return false;
        }
        if (__builtin_add_overflow(sum, sizes[i], &sum))
            sum = INT64_MAX;
    }
    if (sum != len) {
        ir_diag_error(im->d, n->loc,
                      "node '%s' (Split): the split sizes add up to %lld, but dim %lld is %lld",
                      n->name, (long long)sum, (long long)ax, (long long)len);
        return false;
    }
    return true;
}

static OxResult op_split(OxImporter *im, OxNode *n)
{
    ValueId x = ox_in(im, n, 0);
    const Shape *s = &ox_ty(im, x)->shape;
    int64_t ax;
    if (!norm_axis(ox_attr_int(n, "axis", 0), s->rank, &ax) || !ir_dim_static(s->d[ax]))
        return ox_unsupported(im, n, "axis out of range or symbolic");
    int64_t sizes[64];
    int k =
        im->opset >= 13 ? ox_ints_input(im, n, 1, sizes, 64) : ox_attr_ints(n, "split", sizes, 64);
    if (k == -2)
        return ox_unsupported(im, n, "split sizes computed at run time");
    int nout = n->n_out;
    if (nout > 64)
        return ox_unsupported(im, n, "too many outputs");
    if (k <= 0 && im->opset < 18 && s->d[ax].c % nout != 0) { /* ORT refuses it too */
        ir_diag_error(im->d, n->loc,
                      "node '%s' (Split): dim %lld (%lld) does not split evenly into %d outputs",
                      n->name, (long long)ax, (long long)s->d[ax].c, nout);
        return OX_ERROR;
    }
    if (k <= 0) {
        int64_t len = s->d[ax].c, parts = nout;
        int64_t chunk = (len + parts - 1) / parts;
        for (int i = 0; i < nout; i++) {
            int64_t b = chunk * i;
            sizes[i] = b >= len ? 0 : (b + chunk > len ? len - b : chunk);
        }
    } else if (k != nout)
        return ox_unsupported(im, n, "split sizes do not match the outputs");
    else if (!split_sizes_fit(im, n, sizes, k, ax, s->d[ax].c))
        return OX_ERROR;
    int64_t b = 0;
    for (int i = 0; i < nout; i++) {
        ValueId v = ox_slice1(im, n, x, ax, b, b + sizes[i], 1);
        if (v == IR_NONE)
            return ox_no_ir_op(im, n, "slice");
        b += sizes[i];
        ox_bind_value(im, n->out[i], v);
    }
    return OX_OK;
}

static OxResult op_pad(OxImporter *im, OxNode *n)
{
    ValueId x = ox_in(im, n, 0);
    int r = ox_ty(im, x)->shape.rank;
    int64_t pads[2 * IR_MAX_RANK], axes[IR_MAX_RANK];
    const char *mode = ox_attr_string(im, n, "mode", "constant");
    double value = 0;
    int k, ka = -1;
    if (im->opset < 11) {
        k = ox_attr_ints(n, "pads", pads, 2 * IR_MAX_RANK);
        value = ox_attr_float(n, "value", 0.0f);
    } else {
        k = ox_ints_input(im, n, 1, pads, 2 * IR_MAX_RANK);
        const OxConst *cv = ox_need_const(im, n, 2); /* asked for too before failing */
        ka = ox_ints_input(im, n, 3, axes, IR_MAX_RANK);
        if (k < 0)
            return ox_unsupported(im, n, "pads computed at run time");
        if (ox_has_in(n, 2) && !cv)
            return ox_unsupported(im, n, "constant_value computed at run time");
        if (cv)
            value = ox_const_get(cv, 0);
        if (ka == -2)
            return ox_unsupported(im, n, "axes computed at run time");
    }
    int na = ka >= 0 ? ka : r;
    if (k != 2 * na)
        return ox_unsupported(im, n, "pads has %d entries for %d axes", k, na);
    int64_t full[2 * IR_MAX_RANK] = {0}; /* begin[r], end[r] */
    for (int i = 0; i < na; i++) {
        int64_t a = ka >= 0 ? axes[i] : i;
        if (!norm_axis(a, r, &a))
            return ox_unsupported(im, n, "axis out of range");
        full[a] = pads[i];
        full[r + a] = pads[na + i];
    }
    int64_t irp[2 * IR_MAX_RANK];
    for (int i = 0; i < r; i++) {
        if (full[i] < 0 || full[r + i] < 0)
            return ox_unsupported(im, n, "negative pads (cropping)");
        irp[2 * (r - 1 - i)] = full[i];
        irp[2 * (r - 1 - i) + 1] = full[r + i];
    }
    int m = !strcmp(mode, "constant")  ? 0
            : !strcmp(mode, "reflect") ? 1
            : !strcmp(mode, "edge")    ? 2
                                       : -1;
    if (m < 0)
        return ox_unsupported(im, n, "pad mode '%s'", mode);
    NodeId id = ox_mk(im, n, "pad", &x, 1);
    if (id == IR_NONE)
        return ox_no_ir_op(im, n, "pad");
    ir_node_set_ints(im->g, id, "pads", irp, 2 * r);
    ir_node_set_int(im->g, id, "mode", m);
    ir_node_set_float(im->g, id, "value", value);
    return ox_out(im, n, ox_done(im, id));
}

/* ReduceX; pre/post are decompositions (ReduceL2 = sqrt(sum(x*x))...). */
static OxResult op_reduce(OxImporter *im, OxNode *n, const char *irop, const char *pre,
                          const char *post)
{
    ValueId x = ox_in(im, n, 0);
    int r = ox_ty(im, x)->shape.rank;
    int64_t axes[IR_MAX_RANK];
    const char *op = n->p->op_type;
    bool axes_input = im->opset >= 18 || (!strcmp(op, "ReduceSum") && im->opset >= 13);
    int k = axes_input ? ox_ints_input(im, n, 1, axes, IR_MAX_RANK)
                       : ox_attr_ints(n, "axes", axes, IR_MAX_RANK);
    if (k == -2)
        return ox_unsupported(im, n, "axes computed at run time");
    if (k > IR_MAX_RANK)
        return ox_unsupported(im, n, "too many axes");
    if (k <= 0 && ox_attr_int(n, "noop_with_empty_axes", 0)) {
        ValueId v = x;
        if (pre)
            v = !strcmp(pre, "square") ? ox_bin(im, n, "mul", x, x) : ox_un(im, n, pre, x);
        if (post)
            v = ox_un(im, n, post, v);
        if (v == x)
            v = ox_slice1(im, n, x, 0, 0, INT64_MAX, 1);
        return v == IR_NONE ? ox_no_ir_op(im, n, "slice") : ox_out(im, n, v);
    }
    for (int i = 0; i < k; i++)
        if (!norm_axis(axes[i], r, &axes[i]))
            return ox_unsupported(im, n, "axis out of range");
    if (pre) {
        x = !strcmp(pre, "square") ? ox_bin(im, n, "mul", x, x) : ox_un(im, n, pre, x);
        if (x == IR_NONE)
            return ox_no_ir_op(im, n, pre);
    }
    NodeId id = ox_mk(im, n, irop, &x, 1);
    if (id == IR_NONE)
        return ox_no_ir_op(im, n, irop);
    if (k > 0)
        ir_node_set_ints(im->g, id, "axes", axes, k);
    ir_node_set_int(im->g, id, "keepdim", ox_attr_int(n, "keepdims", 1) == 1); /* as ORT */
    ValueId v = ox_done(im, id);
    if (post && (v = ox_un(im, n, post, v)) == IR_NONE)
        return ox_no_ir_op(im, n, post);
    return ox_out(im, n, v);
}

static OxResult op_gather(OxImporter *im, OxNode *n)
{
    ValueId x = ox_in(im, n, 0);
    const Shape *s = &ox_ty(im, x)->shape;
    int64_t ax;
    if (!norm_axis(ox_attr_int(n, "axis", 0), s->rank, &ax))
        return ox_unsupported(im, n, "axis out of range");
    ValueId idx;
    const OxConst *ci = ox_const_in(n, 1);
    Shape ishape;
    if (ci) {
        /* normalize negative indices at import */
        if (!ir_dim_static(s->d[ax]))
            return ox_unsupported(im, n, "symbolic gathered dim");
        OxConst c;
        if (!ox_const_make(im, &c, IR_I64, ci->rank, ci->shape))
            return OX_ERROR;
        for (int64_t i = 0; i < ox_const_numel(ci); i++) {
            int64_t v = ox_const_get_i(ci, i);
            ox_const_set(&c, i, (double)(v < 0 ? v + s->d[ax].c : v));
        }
        ishape.rank = c.rank;
        for (int i = 0; i < c.rank; i++)
            ishape.d[i] = ir_dim(c.shape[i]);
        int64_t k = ox_const_numel(&c);
        Type t = {IR_I64, {1, {ir_dim(k)}}, NULL};
        idx = ir_const_new(im->g, ir_arena_printf(im->g->arena, "%s.idx", n->ir_name), t, c.data,
                           c.nbytes, n->loc);
    } else {
        idx = ox_in(im, n, 1);
        ishape = ox_ty(im, idx)->shape;
        if (ishape.rank != 1) {
            Dim k;
            if (!ir_shape_numel(&ishape, &k))
                return ox_unsupported(im, n, "symbolic indices");
            Shape flat = {1, {k}};
            idx = ox_reshape_to(im, n, idx, &flat);
        }
    }
    ValueId ins[2] = {x, idx};
    NodeId id = ox_mk(im, n, "index_select", ins, 2);
    if (id == IR_NONE)
        return ox_no_ir_op(im, n, "index_select");
    ir_node_set_int(im->g, id, "axis", ax);
    ValueId v = ox_done(im, id);
    if (ishape.rank != 1) {
        if (s->rank - 1 + ishape.rank > IR_MAX_RANK)
            return ox_unsupported(im, n, "result rank too high");
        Shape t = {0, {{0}}};
        for (int i = 0; i < s->rank; i++) {
            if (i == ax)
                for (int j = 0; j < ishape.rank; j++)
                    t.d[t.rank++] = ishape.d[j];
            else
                t.d[t.rank++] = s->d[i];
        }
        v = ox_reshape_to(im, n, v, &t);
    }
    return ox_out(im, n, v);
}

static OxResult op_expand(OxImporter *im, OxNode *n)
{
    ValueId x = ox_in(im, n, 0);
    const Shape *s = &ox_ty(im, x)->shape;
    int64_t want[IR_MAX_RANK];
    int k = ox_ints_input(im, n, 1, want, IR_MAX_RANK);
    if (k < 0 || k > IR_MAX_RANK)
        return ox_unsupported(im, n, "shape computed at run time");
    int r = k > s->rank ? k : s->rank;
    int64_t attr[IR_MAX_RANK];
    for (int i = 0; i < r; i++) {
        int iw = i - (r - k), is = i - (r - s->rank);
        int64_t w = iw >= 0 ? want[iw] : 1;
        Dim dd = is >= 0 ? s->d[is] : ir_dim(1);
        if (w == 1)
            attr[i] = is >= 0 ? -1 : 1;
        else if (ir_dim_eq(dd, ir_dim(1)) || ir_dim_eq(dd, ir_dim(w)))
            attr[i] = w;
        else
            return ox_unsupported(im, n, "shapes do not broadcast");
    }
    NodeId id = ox_mk(im, n, "expand", &x, 1);
    if (id == IR_NONE)
        return ox_no_ir_op(im, n, "expand");
    ir_node_set_ints(im->g, id, "shape", attr, r);
    return ox_out(im, n, ox_done(im, id));
}

static OxResult op_cast(OxImporter *im, OxNode *n)
{
    int64_t to = ox_attr_int(n, "to", 0);
    DType dt;
    switch (to) {
    case 1: dt = IR_F32; break;
    case 2: dt = IR_U8; break;
    case 3: dt = IR_I8; break;
    case 5: dt = IR_I16; break;
    case 6: dt = IR_I32; break;
    case 7: dt = IR_I64; break;
    case 9: dt = IR_BOOL; break;
    case 10: dt = IR_F16; break;
    case 11: dt = IR_F64; break;
    case 16: dt = IR_BF16; break;
    case 4: dt = IR_U16; break;
    case 12: dt = IR_U32; break;
    case 13: dt = IR_U64; break;
    case 17: dt = IR_F8E4M3FN; break;
    case 18: dt = IR_F8E4M3FNUZ; break;
    case 19: dt = IR_F8E5M2; break;
    case 20: dt = IR_F8E5M2FNUZ; break;
    case 21: dt = IR_U4; break;
    case 22: dt = IR_I4; break;
    case 23: dt = IR_F4E2M1; break;
    case 24: dt = IR_F8E8M0; break;
    case 25: dt = IR_U2; break;
    case 26: dt = IR_I2; break;
    default: return ox_unsupported(im, n, "cast to ONNX type %lld", (long long)to);
    }
    ValueId x = ox_in(im, n, 0);
    NodeId id = ox_mk(im, n, "cast", &x, 1);
    if (id == IR_NONE)
        return ox_no_ir_op(im, n, "cast");
    ir_node_set_int(im->g, id, "dtype", dt);
    if (!ox_attr_int(n, "saturate", 1)) /* float8 targets: out of range is inf or NaN */
        ir_node_set_int(im->g, id, "saturate", 0);
    const char *rm = ox_attr_string(im, n, "round_mode", "up"); /* f8e8m0 targets */
    if (strcmp(rm, "up"))
        ir_node_set_int(im->g, id, "round_mode", !strcmp(rm, "down") ? 1 : 2);
    return ox_out(im, n, ox_done(im, id));
}

static OxResult op_cast_like(OxImporter *im, OxNode *n)
{
    if (!ox_has_in(n, 1))
        return ox_unsupported(im, n, "needs the target_type input");
    ValueId x = ox_in(im, n, 0);
    NodeId id = ox_mk(im, n, "cast", &x, 1);
    if (id == IR_NONE)
        return ox_no_ir_op(im, n, "cast");
    ir_node_set_int(im->g, id, "dtype", ox_ty(im, ox_in(im, n, 1))->dtype);
    if (!ox_attr_int(n, "saturate", 1))
        ir_node_set_int(im->g, id, "saturate", 0);
    return ox_out(im, n, ox_done(im, id));
}

/* Not, And, Or, Xor on bools through comparisons and where. */
static OxResult op_logical(OxImporter *im, OxNode *n, const char *op)
{
    ValueId a = ox_in(im, n, 0), v = IR_NONE;
    if (!strcmp(op, "Not"))
        v = ox_bin(im, n, "eq", a, ox_scalar(im, n, IR_BOOL, 0));
    else {
        if (!ox_has_in(n, 1))
            return ox_unsupported(im, n, "needs two inputs");
        ValueId b = ox_in(im, n, 1);
        if (!strcmp(op, "Xor"))
            v = ox_bin(im, n, "ne", a, b);
        else {
            bool is_and = !strcmp(op, "And");
            ValueId ins[3] = {a, is_and ? b : ox_scalar(im, n, IR_BOOL, 1),
                              is_and ? ox_scalar(im, n, IR_BOOL, 0) : b};
            NodeId id = ox_mk(im, n, "where", ins, 3);
            if (id != IR_NONE)
                v = ox_done(im, id);
        }
    }
    return v == IR_NONE ? ox_unsupported(im, n, "needs the IR ops eq/ne/where") : ox_out(im, n, v);
}

static OxResult op_clip(OxImporter *im, OxNode *n)
{
    double lo = -INFINITY, hi = INFINITY;
    if (im->opset < 11) {
        lo = ox_attr_float(n, "min", -INFINITY);
        hi = ox_attr_float(n, "max", INFINITY);
    } else {
        bool lo_missing = ox_has_in(n, 1) && !ox_need_const(im, n, 1); /* both asked for, */
        bool hi_missing = ox_has_in(n, 2) && !ox_need_const(im, n, 2); /* so both are named */
        if (lo_missing || hi_missing)
            return ox_unsupported(im, n, "min/max computed at run time");
        if (ox_const_in(n, 1))
            lo = ox_const_get(ox_const_in(n, 1), 0);
        if (ox_const_in(n, 2))
            hi = ox_const_get(ox_const_in(n, 2), 0);
    }
    if (lo > hi)
        lo = hi; /* ONNX: every element becomes max */
    ValueId x = ox_in(im, n, 0);
    NodeId id = ox_mk(im, n, "clip", &x, 1);
    if (id == IR_NONE)
        return ox_no_ir_op(im, n, "clip");
    ir_node_set_float(im->g, id, "min", lo);
    ir_node_set_float(im->g, id, "max", hi);
    return ox_out(im, n, ox_done(im, id));
}

static OxResult op_batch_norm(OxImporter *im, OxNode *n)
{
    if (ox_attr_int(n, "training_mode", 0) || ox_wants(n, 1) || ox_wants(n, 2))
        return ox_unsupported(im, n, "training mode");
    if (im->opset < 9 && ox_attr_int(n, "spatial", 1) == 0)
        return ox_unsupported(im, n, "spatial=0");
    ValueId ins[5] = {ox_in(im, n, 0), ox_in(im, n, 3), ox_in(im, n, 4), ox_in(im, n, 1),
                      ox_in(im, n, 2)};
    NodeId id = ox_mk(im, n, "batch_norm", ins, 5);
    ir_node_set_float(im->g, id, "eps", ox_attr_float(n, "epsilon", 1e-5f));
    return ox_out(im, n, ox_done(im, id));
}

/* reduce_mean over axes [ax, r) keeping dims. */
static ValueId mean_from(OxImporter *im, const OxNode *n, ValueId x, int64_t ax, int r)
{
    int64_t axes[IR_MAX_RANK];
    for (int64_t i = ax; i < r; i++)
        axes[i - ax] = i;
    NodeId id = ox_mk(im, n, "reduce_mean", &x, 1);
    if (id == IR_NONE)
        return IR_NONE;
    ir_node_set_ints(im->g, id, "axes", axes, (int)(r - ax));
    ir_node_set_int(im->g, id, "keepdim", 1);
    return ox_done(im, id);
}

/* LayerNormalization written out, for when its Mean / InvStdDev outputs are wanted:
 * mean = E[x], inv = 1/sqrt(E[(x-mean)^2] + eps), y = (x-mean)*inv*scale + bias. */
static OxResult layer_norm_decomposed(OxImporter *im, OxNode *n, ValueId x, int64_t ax, int r)
{
    ValueId mean = mean_from(im, n, x, ax, r);
    if (mean == IR_NONE)
        return ox_no_ir_op(im, n, "reduce_mean");
    ValueId c = ox_bin(im, n, "sub", x, mean);
    ValueId var = mean_from(im, n, ox_bin(im, n, "mul", c, c), ax, r);
    ValueId inv = ox_un(
        im, n, "rsqrt",
        ox_bin(im, n, "add", var, ox_scalar(im, n, IR_F32, ox_attr_float(n, "epsilon", 1e-5f))));
    if (inv == IR_NONE)
        return ox_no_ir_op(im, n, "rsqrt");
    ValueId y = ox_bin(im, n, "mul", ox_bin(im, n, "mul", c, inv), ox_in(im, n, 1));
    if (ox_has_in(n, 2))
        y = ox_bin(im, n, "add", y, ox_in(im, n, 2));
    ox_bind_value(im, n->out[0], y);
    if (ox_wants(n, 1))
        ox_bind_value(im, n->out[1], mean);
    if (ox_wants(n, 2))
        ox_bind_value(im, n->out[2], inv);
    return OX_OK;
}

static OxResult op_rms_norm(OxImporter *im, OxNode *n)
{
    ValueId x = ox_in(im, n, 0);
    int r = ox_ty(im, x)->shape.rank;
    int64_t ax;
    if (!norm_axis(ox_attr_int(n, "axis", -1), r, &ax))
        return ox_unsupported(im, n, "axis out of range");
    ValueId ms = mean_from(im, n, ox_bin(im, n, "mul", x, x), ax, r);
    if (ms == IR_NONE)
        return ox_no_ir_op(im, n, "reduce_mean");
    ValueId inv = ox_un(
        im, n, "rsqrt",
        ox_bin(im, n, "add", ms, ox_scalar(im, n, IR_F32, ox_attr_float(n, "epsilon", 1e-5f))));
    if (inv == IR_NONE)
        return ox_no_ir_op(im, n, "rsqrt");
    return ox_out(im, n, ox_bin(im, n, "mul", ox_bin(im, n, "mul", x, inv), ox_in(im, n, 1)));
}

/* LpNormalization: x / ||x||_p along axis (p 1 or 2). */
static OxResult op_lp_norm(OxImporter *im, OxNode *n)
{
    ValueId x = ox_in(im, n, 0);
    int r = ox_ty(im, x)->shape.rank;
    int64_t ax, p = ox_attr_int(n, "p", 2);
    if (!norm_axis(ox_attr_int(n, "axis", -1), r, &ax) || (p != 1 && p != 2))
        return ox_unsupported(im, n, "p must be 1 or 2 and the axis in range");
    ValueId t = p == 1 ? ox_un(im, n, "abs", x) : ox_bin(im, n, "mul", x, x);
    NodeId id = ox_mk(im, n, "reduce_sum", &t, 1);
    if (id == IR_NONE || t == IR_NONE)
        return ox_no_ir_op(im, n, "reduce_sum");
    ir_node_set_ints(im->g, id, "axes", &ax, 1);
    ir_node_set_int(im->g, id, "keepdim", 1);
    ValueId norm = ox_done(im, id);
    if (p == 2)
        norm = ox_un(im, n, "sqrt", norm);
    return ox_out(im, n, ox_bin(im, n, "div", x, norm));
}

/* MeanVarianceNormalization: (x - E[x]) / sqrt(E[(x - E[x])^2]) over axes (default 0, 2, 3),
 * as the ONNX function body computes it (no epsilon). */
static OxResult op_mvn(OxImporter *im, OxNode *n)
{
    ValueId x = ox_in(im, n, 0);
    int r = ox_ty(im, x)->shape.rank;
    int64_t axes[IR_MAX_RANK] = {0, 2, 3};
    int k = ox_attr_ints(n, "axes", axes, IR_MAX_RANK);
    if (k == 0)
        k = 3;
    for (int i = 0; i < k; i++)
        if (k > IR_MAX_RANK || !norm_axis(axes[i], r, &axes[i]))
            return ox_unsupported(im, n, "axis out of range");
    NodeId a = ox_mk(im, n, "reduce_mean", &x, 1);
    if (a == IR_NONE)
        return ox_no_ir_op(im, n, "reduce_mean");
    ir_node_set_ints(im->g, a, "axes", axes, k);
    ir_node_set_int(im->g, a, "keepdim", 1);
    ValueId c = ox_bin(im, n, "sub", x, ox_done(im, a));
    ValueId sq = ox_bin(im, n, "mul", c, c);
    NodeId b = ox_mk(im, n, "reduce_mean", &sq, 1);
    ir_node_set_ints(im->g, b, "axes", axes, k);
    ir_node_set_int(im->g, b, "keepdim", 1);
    return ox_out(im, n, ox_bin(im, n, "div", c, ox_un(im, n, "sqrt", ox_done(im, b))));
}

static OxResult op_layer_norm(OxImporter *im, OxNode *n)
{
    ValueId x = ox_in(im, n, 0);
    int r = ox_ty(im, x)->shape.rank;
    int64_t ax;
    if (!norm_axis(ox_attr_int(n, "axis", -1), r, &ax))
        return ox_unsupported(im, n, "axis out of range");
    if (ox_wants(n, 1) || ox_wants(n, 2))
        return layer_norm_decomposed(im, n, x, ax, r);
    ValueId ins[3] = {x, ox_in(im, n, 1), ox_in(im, n, 2)};
    NodeId id = ox_mk(im, n, "layer_norm", ins, ox_has_in(n, 2) ? 3 : 2);
    ir_node_set_int(im->g, id, "normalized_ndim", r - ax);
    ir_node_set_float(im->g, id, "eps", ox_attr_float(n, "epsilon", 1e-5f));
    return ox_out(im, n, ox_done(im, id));
}

static OxResult op_instance_norm(OxImporter *im, OxNode *n)
{
    ValueId x = ox_in(im, n, 0);
    const Shape *s = &ox_ty(im, x)->shape;
    if (s->rank < 3 || !ir_dim_static(s->d[1]))
        return ox_unsupported(im, n, "needs a static channel dim");
    ValueId ins[3] = {x, ox_in(im, n, 1), ox_in(im, n, 2)};
    NodeId id = ox_mk(im, n, "group_norm", ins, 3);
    if (id == IR_NONE)
        return ox_no_ir_op(im, n, "group_norm");
    ir_node_set_int(im->g, id, "num_groups", s->d[1].c);
    ir_node_set_float(im->g, id, "eps", ox_attr_float(n, "epsilon", 1e-5f));
    return ox_out(im, n, ox_done(im, id));
}

static OxResult op_group_norm(OxImporter *im, OxNode *n)
{
    if (im->opset < 21)
        return ox_unsupported(im, n,
                              "opset-18 GroupNormalization (per-group scale) is not supported");
    ValueId ins[3] = {ox_in(im, n, 0), ox_in(im, n, 1), ox_in(im, n, 2)};
    NodeId id = ox_mk(im, n, "group_norm", ins, 3);
    if (id == IR_NONE)
        return ox_no_ir_op(im, n, "group_norm");
    ir_node_set_int(im->g, id, "num_groups", ox_attr_int(n, "num_groups", 1));
    ir_node_set_float(im->g, id, "eps", ox_attr_float(n, "epsilon", 1e-5f));
    return ox_out(im, n, ox_done(im, id));
}

static OxResult op_constant(OxImporter *im, OxNode *n)
{
    OxConst c;
    const Onnx__AttributeProto *a;
    if ((a = ox_attr(n, "value")) && a->t) {
        if (!ox_tensor_to_const(im, a->t, ir_arena_printf(im->g->arena, "node '%s'", n->name), &c))
            return OX_ERROR;
    } else if ((a = ox_attr(n, "value_float")) && a->has_f) {
        ox_const_make(im, &c, IR_F32, 0, NULL);
        ox_const_set(&c, 0, a->f);
    } else if ((a = ox_attr(n, "value_int")) && a->has_i) {
        ox_const_make(im, &c, IR_I64, 0, NULL);
        ox_const_set(&c, 0, (double)a->i);
    } else if ((a = ox_attr(n, "value_floats"))) {
        int64_t k = (int64_t)a->n_floats;
        if (!ox_const_make(im, &c, IR_F32, 1, &k))
            return OX_ERROR;
        if (a->n_floats) /* an empty list has a NULL array */
            memcpy((void *)c.data, a->floats, 4 * a->n_floats);
    } else if ((a = ox_attr(n, "value_ints"))) {
        int64_t k = (int64_t)a->n_ints;
        if (!ox_const_make(im, &c, IR_I64, 1, &k))
            return OX_ERROR;
        if (a->n_ints)
            memcpy((void *)c.data, a->ints, 8 * a->n_ints);
    } else
        return ox_unsupported(im, n, "only tensor, float(s) and int(s) values");
    ox_bind_const(im, n->out[0], &c);
    return OX_OK;
}

/* Elementwise ops written as a few IR ops. */
static OxResult op_decomposed(OxImporter *im, OxNode *n, const char *op)
{
    ValueId x = ox_in(im, n, 0), v = IR_NONE;
    DType dt = ox_ty(im, x)->dtype;
#define K(val) ox_scalar(im, n, dt, (val))
    if (!strcmp(op, "Reciprocal"))
        v = ox_bin(im, n, "div", K(1.0), x);
    else if (!strcmp(op, "Softsign"))
        v = ox_bin(im, n, "div", x, ox_bin(im, n, "add", ox_un(im, n, "abs", x), K(1.0)));
    else if (!strcmp(op, "Softplus"))
        v = ox_un(im, n, "log", ox_bin(im, n, "add", ox_un(im, n, "exp", x), K(1.0)));
    else if (!strcmp(op, "HardSigmoid")) {
        ValueId y =
            ox_bin(im, n, "add", ox_bin(im, n, "mul", x, K(ox_attr_float(n, "alpha", 0.2f))),
                   K(ox_attr_float(n, "beta", 0.5f)));
        NodeId id = ox_mk(im, n, "clip", &y, 1);
        if (id != IR_NONE) {
            ir_node_set_float(im->g, id, "min", 0.0);
            ir_node_set_float(im->g, id, "max", 1.0);
            v = ox_done(im, id);
        }
    } else if (!strcmp(op, "Elu") || !strcmp(op, "Selu") || !strcmp(op, "Celu")) {
        bool selu = !strcmp(op, "Selu"), celu = !strcmp(op, "Celu");
        double alpha = ox_attr_float(n, "alpha", selu ? 1.67326319217681884765625f : 1.0f);
        double gamma = selu ? ox_attr_float(n, "gamma", 1.05070102214813232421875f) : 1.0;
        ValueId e =
            celu ? ox_un(im, n, "exp", ox_bin(im, n, "div", x, K(alpha))) : ox_un(im, n, "exp", x);
        ValueId neg = ox_bin(im, n, "mul", ox_bin(im, n, "sub", e, K(1.0)), K(alpha));
        ValueId ins[3] = {ox_bin(im, n, "gt", x, K(0.0)), x, neg};
        NodeId id = ox_mk(im, n, "where", ins, 3);
        if (id != IR_NONE && ins[0] != IR_NONE && neg != IR_NONE) {
            v = ox_done(im, id);
            if (selu)
                v = ox_bin(im, n, "mul", v, K(gamma));
        }
    } else if (!strcmp(op, "ThresholdedRelu")) {
        ValueId ins[3] = {ox_bin(im, n, "gt", x, K(ox_attr_float(n, "alpha", 1.0f))), x, K(0.0)};
        NodeId id = ox_mk(im, n, "where", ins, 3);
        if (id != IR_NONE && ins[0] != IR_NONE)
            v = ox_done(im, id);
    } else if (!strcmp(op, "PRelu")) {
        ValueId slope = ox_in(im, n, 1);
        ValueId ins[3] = {ox_bin(im, n, "lt", x, K(0.0)), ox_bin(im, n, "mul", x, slope), x};
        NodeId id = ox_mk(im, n, "where", ins, 3);
        if (id != IR_NONE && ins[0] != IR_NONE && ins[1] != IR_NONE)
            v = ox_done(im, id);
    } else if (!strcmp(op, "Mish")) {
        ValueId sp = ox_un(im, n, "log", ox_bin(im, n, "add", ox_un(im, n, "exp", x), K(1.0)));
        v = ox_bin(im, n, "mul", x, ox_un(im, n, "tanh", sp));
    } else if (!strcmp(op, "Cosh") || !strcmp(op, "Sinh")) {
        ValueId ep = ox_un(im, n, "exp", x), en = ox_un(im, n, "exp", ox_un(im, n, "neg", x));
        v = ox_bin(im, n, "mul", ox_bin(im, n, !strcmp(op, "Cosh") ? "add" : "sub", ep, en),
                   K(0.5));
    } else if (!strcmp(op, "Atanh")) {
        v = ox_bin(im, n, "mul",
                   ox_un(im, n, "log",
                         ox_bin(im, n, "div", ox_bin(im, n, "add", K(1.0), x),
                                ox_bin(im, n, "sub", K(1.0), x))),
                   K(0.5));
    } else if (!strcmp(op, "Asinh") || !strcmp(op, "Acosh")) {
        ValueId r = ox_un(im, n, "sqrt",
                          ox_bin(im, n, !strcmp(op, "Asinh") ? "add" : "sub",
                                 ox_bin(im, n, "mul", x, x), K(1.0)));
        v = ox_un(im, n, "log", ox_bin(im, n, "add", x, r));
    } else if (!strcmp(op, "IsNaN")) {
        v = ox_bin(im, n, "ne", x, x);
    } else if (!strcmp(op, "IsInf")) {
        bool pos = ox_attr_int(n, "detect_positive", 1) != 0,
             neg = ox_attr_int(n, "detect_negative", 1) != 0;
        if (pos && neg)
            v = ox_bin(im, n, "eq", ox_un(im, n, "abs", x), K(INFINITY));
        else if (pos || neg)
            v = ox_bin(im, n, "eq", x, K(pos ? INFINITY : -INFINITY));
        else
            v = ox_bin(im, n, "eq", x, K(NAN)); /* detects nothing: all false */
    } else if (!strcmp(op, "Sign")) {
        ValueId i0[3] = {ox_bin(im, n, "lt", x, K(0.0)), K(-1.0), K(0.0)};
        NodeId a = ox_mk(im, n, "where", i0, 3);
        if (a != IR_NONE && i0[0] != IR_NONE) {
            ValueId i1[3] = {ox_bin(im, n, "gt", x, K(0.0)), K(1.0), ox_done(im, a)};
            NodeId b = ox_mk(im, n, "where", i1, 3);
            if (b != IR_NONE && i1[0] != IR_NONE)
                v = ox_done(im, b);
        }
    } else if (!strcmp(op, "Shrink")) {
        double lambd = ox_attr_float(n, "lambd", 0.5f), bias = ox_attr_float(n, "bias", 0.0f);
        ValueId i0[3] = {ox_bin(im, n, "gt", x, K(lambd)), ox_bin(im, n, "sub", x, K(bias)),
                         K(0.0)};
        NodeId a = ox_mk(im, n, "where", i0, 3);
        if (a != IR_NONE && i0[0] != IR_NONE) {
            ValueId i1[3] = {ox_bin(im, n, "lt", x, K(-lambd)), ox_bin(im, n, "add", x, K(bias)),
                             ox_done(im, a)};
            NodeId b = ox_mk(im, n, "where", i1, 3);
            if (b != IR_NONE && i1[0] != IR_NONE)
                v = ox_done(im, b);
        }
    } else if (!strcmp(op, "Swish")) {
        v = ox_bin(
            im, n, "mul", x,
            ox_un(im, n, "sigmoid", ox_bin(im, n, "mul", x, K(ox_attr_float(n, "alpha", 1.0f)))));
    }
#undef K
    return v == IR_NONE ? ox_unsupported(im, n, "a needed IR op is missing") : ox_out(im, n, v);
}

static OxResult op_depth_space(OxImporter *im, OxNode *n, bool to_space)
{
    ValueId x = ox_in(im, n, 0);
    const Shape *s = &ox_ty(im, x)->shape;
    int64_t b = ox_attr_int(n, "blocksize", 0);
    if (s->rank != 4 || b < 1 || !ir_shape_static(s))
        return ox_unsupported(im, n, "needs a static 4-D input");
    int64_t N = s->d[0].c, C = s->d[1].c, H = s->d[2].c, W = s->d[3].c;
    Shape s6 = {6, {{0}}}, s4 = {4, {{0}}};
    int64_t perm[6];
    if (to_space) {
        bool crd = !strcmp(ox_attr_string(im, n, "mode", "DCR"), "CRD");
        int64_t bb;
        if (!ir_ckd_mul_i64(b, b, &bb))
            return ox_unsupported(im, n, "blocksize %lld", (long long)b);
        int64_t c = C / bb;
        int64_t d6[6] = {N, b, b, c, H, W}, c6[6] = {N, c, b, b, H, W};
        int64_t pd[6] = {0, 3, 4, 1, 5, 2}, pc[6] = {0, 1, 4, 2, 5, 3};
        for (int i = 0; i < 6; i++) {
            s6.d[i] = ir_dim(crd ? c6[i] : d6[i]);
            perm[i] = crd ? pc[i] : pd[i];
        }
        int64_t o4[4] = {N, c, 0, 0};
        if (!ir_ckd_mul_i64(H, b, &o4[2]) || !ir_ckd_mul_i64(W, b, &o4[3]))
            return ox_unsupported(im, n, "blocksize %lld", (long long)b);
        for (int i = 0; i < 4; i++)
            s4.d[i] = ir_dim(o4[i]);
    } else {
        int64_t d6[6] = {N, C, H / b, b, W / b, b}, p6[6] = {0, 3, 5, 1, 2, 4};
        for (int i = 0; i < 6; i++) {
            s6.d[i] = ir_dim(d6[i]);
            perm[i] = p6[i];
        }
        int64_t o4[4] = {N, 0, H / b, W / b};
        if (!ir_ckd_mul_i64(C, b, &o4[1]) || !ir_ckd_mul_i64(o4[1], b, &o4[1]))
            return ox_unsupported(im, n, "blocksize %lld", (long long)b);
        for (int i = 0; i < 4; i++)
            s4.d[i] = ir_dim(o4[i]);
    }
    ValueId v = ox_permute(im, n, ox_reshape_to(im, n, x, &s6), perm, 6);
    if (v == IR_NONE)
        return ox_no_ir_op(im, n, "permute");
    return ox_out(im, n, ox_reshape_to(im, n, v, &s4));
}

static OxResult op_resize(OxImporter *im, OxNode *n)
{
    ValueId x = ox_in(im, n, 0);
    const Shape *s = &ox_ty(im, x)->shape;
    if (s->rank != 4 || !ir_dim_static(s->d[2]) || !ir_dim_static(s->d[3]))
        return ox_unsupported(im, n, "only 4-D inputs with static spatial dims");
    const char *op = n->p->op_type;
    const char *mode = ox_attr_string(im, n, "mode", "nearest");
    const char *ctm =
        ox_attr_string(im, n, "coordinate_transformation_mode",
                       !strcmp(op, "Upsample") || im->opset < 11 ? "asymmetric" : "half_pixel");
    const char *nm = ox_attr_string(im, n, "nearest_mode", "round_prefer_floor");
    double scales[4] = {1, 1, 1, 1};
    int64_t sizes[4] = {0};
    bool have_scales = false, have_sizes = false;
    const OxConst *cs = NULL, *cz = NULL;
    if (!strcmp(op, "Upsample")) {
        float f[4];
        const Onnx__AttributeProto *a = ox_attr(n, "scales");
        if (a && a->n_floats == 4) {
            memcpy(f, a->floats, sizeof f);
            for (int i = 0; i < 4; i++)
                scales[i] = f[i];
            have_scales = true;
        } else
            cs = ox_need_const(im, n, 1);
    } else if (im->opset < 11)
        cs = ox_need_const(im, n, 1);
    else {
        cs = ox_need_const(im, n, 2);
        cz = ox_need_const(im, n, 3);
        if ((ox_has_in(n, 2) && !cs) || (ox_has_in(n, 3) && !cz))
            return ox_unsupported(im, n, "scales/sizes computed at run time");
    }
    if (cs && ox_const_numel(cs) == 4) {
        for (int i = 0; i < 4; i++)
            scales[i] = ox_const_get(cs, i);
        have_scales = true;
    }
    if (cz && ox_const_numel(cz) == 4) {
        for (int i = 0; i < 4; i++)
            sizes[i] = ox_const_get_i(cz, i);
        have_sizes = true;
    }
    if (!have_scales && !have_sizes)
        return ox_unsupported(im, n, "needs 4 scales or sizes");
    if (ox_attr(n, "axes") || ox_attr_int(n, "antialias", 0) ||
        strcmp(ox_attr_string(im, n, "keep_aspect_ratio_policy", "stretch"), "stretch") != 0)
        return ox_unsupported(im, n, "axes / antialias / keep_aspect_ratio_policy");
    if (!have_sizes)
        for (int i = 0; i < 4; i++) {
            if (!ir_ckd_from_double(floor((double)s->d[i].c * scales[i]), &sizes[i]))
                return ox_unsupported(im, n, "scale %g", scales[i]);
        }
    if (sizes[0] != s->d[0].c || sizes[1] != s->d[1].c)
        return ox_unsupported(im, n, "resizing the batch or channel dims");
    int64_t m, ac = 0;
    if (!strcmp(mode, "nearest")) {
        if (strcmp(ctm, "asymmetric") != 0 ||
            (strcmp(nm, "floor") != 0 && strcmp(op, "Upsample") != 0 && im->opset >= 11))
            return ox_unsupported(im, n, "nearest with %s/%s (slimc has asymmetric/floor)", ctm,
                                  nm);
        m = 0;
    } else if (!strcmp(mode, "linear") || !strcmp(mode, "bilinear")) {
        if (!strcmp(ctm, "align_corners")) {
            ac = 1;
            /* ONNX maps with the unrounded length in*scale; PyTorch with the output size */
            for (int i = 2; i < 4 && !have_sizes; i++)
                if ((double)s->d[i].c * scales[i] != (double)sizes[i])
                    return ox_unsupported(im, n, "align_corners with a fractional output length");
        } else if (strcmp(ctm, "half_pixel") != 0 && strcmp(ctm, "pytorch_half_pixel") != 0)
            return ox_unsupported(im, n, "linear with coordinate_transformation_mode %s", ctm);
        /* ONNX's pytorch_half_pixel maps an output of length 1 to 0, PyTorch to the center */
        if (!strcmp(ctm, "pytorch_half_pixel") &&
            ((sizes[2] == 1 && s->d[2].c > 1) || (sizes[3] == 1 && s->d[3].c > 1)))
            return ox_unsupported(im, n, "pytorch_half_pixel with an output length of 1");
        m = 1;
    } else
        return ox_unsupported(im, n, "mode %s", mode);
    NodeId id = ox_mk(im, n, "resize", &x, 1);
    if (id == IR_NONE)
        return ox_no_ir_op(im, n, "resize");
    int64_t sz[2] = {sizes[2], sizes[3]};
    ir_node_set_ints(im->g, id, "size", sz, 2);
    ir_node_set_int(im->g, id, "mode", m);
    ir_node_set_int(im->g, id, "align_corners", ac);
    /* the coordinate map uses the scale when one is given (align_corners: never) */
    bool use_scale = !have_sizes && !ac;
    ir_node_set_float(im->g, id, "scale_h", use_scale ? scales[2] : 0.0);
    ir_node_set_float(im->g, id, "scale_w", use_scale ? scales[3] : 0.0);
    return ox_out(im, n, ox_done(im, id));
}

static OxResult op_identity(OxImporter *im, OxNode *n)
{
    OxEntry *e = n->in[0];
    if (!e)
        return ox_unsupported(im, n, "no input");
    bool dropout = !strcmp(n->p->op_type, "Dropout");
    if (dropout && ox_has_in(n, 2)) {
        /* training mode drops nothing only with a ratio of 0 */
        const OxConst *tm = ox_need_const(im, n, 2), *ratio = ox_need_const(im, n, 1);
        if (!tm || (ox_const_get(tm, 0) != 0 && (!ratio || ox_const_get(ratio, 0) != 0)))
            return ox_unsupported(im, n, "training mode (random dropout)");
    }
    if (ox_wants(n, 1)) {
        /* the mask of a dropout that keeps everything: all true, for a static shape */
        const Shape *s = e->is_const ? NULL : &ox_ty(im, ox_value(im, e))->shape;
        if (!dropout || !s || !ir_shape_static(s))
            return ox_unsupported(im, n, "the mask output");
        int64_t shape[IR_MAX_RANK];
        for (int i = 0; i < s->rank; i++)
            shape[i] = s->d[i].c;
        OxConst m;
        if (!ox_const_make(im, &m, IR_BOOL, s->rank, shape))
            return OX_ERROR;
        for (int64_t i = 0; i < ox_const_numel(&m); i++)
            ox_const_set(&m, i, 1.0);
        ox_bind_const(im, n->out[1], &m);
    }
    if (e->is_const) {
        ox_bind_const(im, n->out[0], &e->c);
        return OX_OK;
    }
    /* a graph input passed straight through still needs a node computing the output */
    if (im->g->values[e->v].kind != IR_VALUE_TEMP) {
        ValueId v = ox_slice1(im, n, e->v, 0, 0, INT64_MAX, 1);
        return v == IR_NONE ? ox_no_ir_op(im, n, "slice") : ox_out(im, n, v);
    }
    ox_bind_value(im, n->out[0], e->v);
    return OX_OK;
}

/* ---- dispatch ---- */

static const struct {
    const char *onnx, *ir;
} unary_ops[] = {
    {"Relu", "relu"},   {"Sigmoid", "sigmoid"},
    {"Tanh", "tanh"},   {"Exp", "exp"},
    {"Log", "log"},     {"Sqrt", "sqrt"},
    {"Neg", "neg"},     {"Abs", "abs"},
    {"Erf", "erf"},     {"HardSwish", "hardswish"},
    {"Floor", "floor"}, {"Ceil", "ceil"},
    {"Round", "round"}, {"Sin", "sin"},
    {"Cos", "cos"},     {"Rsqrt", "rsqrt"},
};

static const struct {
    const char *onnx, *ir;
} binary_ops[] = {
    {"Add", "add"},        {"Sub", "sub"},           {"Mul", "mul"},       {"Div", "div"},
    {"Pow", "pow"},        {"Equal", "eq"},          {"Less", "lt"},       {"Greater", "gt"},
    {"LessOrEqual", "le"}, {"GreaterOrEqual", "ge"}, {"MatMul", "matmul"},
};

/* Every ONNX op this file maps (for nodes whose inputs failed: are they unsupported too?). */
static const char *const known_ops[] = {
    "Cosh",
    "Sinh",
    "Atanh",
    "Asinh",
    "Acosh",
    "IsNaN",
    "IsInf",
    "Shrink",
    "LpNormalization",
    "MeanVarianceNormalization",
    "Abs",
    "Add",
    "And",
    "AveragePool",
    "BatchNormalization",
    "BitShift",
    "BitwiseAnd",
    "BitwiseNot",
    "BitwiseOr",
    "BitwiseXor",
    "Cast",
    "CastLike",
    "Ceil",
    "Celu",
    "Clip",
    "Concat",
    "Constant",
    "ConstantOfShape",
    "Conv",
    "ConvTranspose",
    "Cos",
    "DepthToSpace",
    "Div",
    "Dropout",
    "Elu",
    "Equal",
    "Erf",
    "Exp",
    "Expand",
    "Flatten",
    "Floor",
    "Gather",
    "Gelu",
    "Gemm",
    "GlobalAveragePool",
    "GlobalMaxPool",
    "Greater",
    "GreaterOrEqual",
    "GroupNormalization",
    "HardSigmoid",
    "HardSwish",
    "Identity",
    "InstanceNormalization",
    "LayerNormalization",
    "LeakyRelu",
    "Less",
    "LessOrEqual",
    "Log",
    "LogSoftmax",
    "MatMul",
    "Max",
    "MaxPool",
    "Mean",
    "Min",
    "Mish",
    "Mul",
    "Neg",
    "Not",
    "Or",
    "PRelu",
    "Pad",
    "Pow",
    "RMSNormalization",
    "Range",
    "Reciprocal",
    "ReduceLogSum",
    "ReduceLogSumExp",
    "ReduceMax",
    "ReduceMean",
    "ReduceMin",
    "ReduceSum",
    "ReduceSumSquare",
    "Relu",
    "Reshape",
    "Resize",
    "Round",
    "Rsqrt",
    "Selu",
    "Shape",
    "Sigmoid",
    "Sign",
    "Sin",
    "Size",
    "Slice",
    "Softmax",
    "Softplus",
    "Softsign",
    "SpaceToDepth",
    "Split",
    "Sqrt",
    "Squeeze",
    "Sub",
    "Sum",
    "Swish",
    "Tanh",
    "ThresholdedRelu",
    "Transpose",
    "Unsqueeze",
    "Upsample",
    "Where",
    "Xor",
};

bool ox_op_known(const char *op)
{
    for (size_t i = 0; i < sizeof known_ops / sizeof known_ops[0]; i++)
        if (!strcmp(known_ops[i], op))
            return true;
    return ox_op_known_nn(op) || ox_op_known_ext(op) || ox_op_known_quant(op);
}

OxResult ox_import_node(OxImporter *im, OxNode *n)
{
    const char *op = n->p->op_type;
    if (n->p->domain && *n->p->domain && strcmp(n->p->domain, "ai.onnx") != 0)
        return ox_unsupported(im, n, "operator domain '%s' is not supported", n->p->domain);
    /* the recurrent ops (onnx_ops_nn.c) may leave Y unused and want Y_h */
    bool recurrent = !strcmp(op, "RNN") || !strcmp(op, "GRU") || !strcmp(op, "LSTM");
    if (n->n_out < 1 || (!*n->out[0] && !recurrent))
        return ox_unsupported(im, n, "a node without a first output");
    if (!strcmp(op, "Constant"))
        return op_constant(im, n);
    /* required inputs, window attributes, Range's count... (frontend/onnx_check.c) */
    if (!ox_check_node(im, n))
        return OX_ERROR;
    if (ox_fold(im, n))
        return OX_OK;
    /* every remaining op needs its first input */
    if (!ox_has_in(n, 0))
        return ox_unsupported(im, n, "the first input is missing or unsupported here");
    for (size_t i = 0; i < sizeof unary_ops / sizeof unary_ops[0]; i++)
        if (!strcmp(op, unary_ops[i].onnx))
            return op_unary(im, n, unary_ops[i].ir);
    for (size_t i = 0; i < sizeof binary_ops / sizeof binary_ops[0]; i++)
        if (!strcmp(op, binary_ops[i].onnx))
            return op_binary(im, n, binary_ops[i].ir);
    if (!strcmp(op, "BitShift")) {
        bool right = !strcmp(ox_attr_string(im, n, "direction", ""), "RIGHT");
        return op_binary(im, n, right ? "bitshift_right" : "bitshift_left");
    }
    if (!strcmp(op, "BitwiseAnd"))
        return op_binary(im, n, "bitwise_and");
    if (!strcmp(op, "BitwiseOr"))
        return op_binary(im, n, "bitwise_or");
    if (!strcmp(op, "BitwiseXor"))
        return op_binary(im, n, "bitwise_xor");
    if (!strcmp(op, "BitwiseNot"))
        return op_unary(im, n, "bitwise_not");
    if (!strcmp(op, "Sum"))
        return op_variadic(im, n, "add", false);
    if (!strcmp(op, "Mean"))
        return op_variadic(im, n, "add", true);
    if (!strcmp(op, "Max"))
        return op_variadic(im, n, "maximum", false);
    if (!strcmp(op, "Min"))
        return op_variadic(im, n, "minimum", false);
    if (!strcmp(op, "Identity") || !strcmp(op, "Dropout"))
        return op_identity(im, n);
    if (!strcmp(op, "Conv"))
        return op_conv(im, n);
    if (!strcmp(op, "ConvTranspose"))
        return op_conv_transpose(im, n);
    if (!strcmp(op, "MaxPool"))
        return op_pool(im, n, true);
    if (!strcmp(op, "AveragePool"))
        return op_pool(im, n, false);
    if (!strcmp(op, "GlobalAveragePool"))
        return op_global_pool(im, n, "reduce_mean");
    if (!strcmp(op, "GlobalMaxPool"))
        return op_global_pool(im, n, "reduce_max");
    if (!strcmp(op, "Gemm"))
        return op_gemm(im, n);
    if (!strcmp(op, "Softmax"))
        return op_softmax(im, n, "softmax");
    if (!strcmp(op, "LogSoftmax"))
        return op_softmax(im, n, "log_softmax");
    if (!strcmp(op, "Flatten"))
        return op_flatten(im, n);
    if (!strcmp(op, "Reshape"))
        return op_reshape(im, n);
    if (!strcmp(op, "Squeeze"))
        return op_squeeze(im, n, false);
    if (!strcmp(op, "Unsqueeze"))
        return op_squeeze(im, n, true);
    if (!strcmp(op, "Transpose"))
        return op_transpose(im, n);
    if (!strcmp(op, "Concat"))
        return op_concat(im, n);
    if (!strcmp(op, "Slice"))
        return op_slice(im, n);
    if (!strcmp(op, "Split"))
        return op_split(im, n);
    if (!strcmp(op, "Pad"))
        return op_pad(im, n);
    if (!strcmp(op, "ReduceMean"))
        return op_reduce(im, n, "reduce_mean", NULL, NULL);
    if (!strcmp(op, "ReduceSum"))
        return op_reduce(im, n, "reduce_sum", NULL, NULL);
    if (!strcmp(op, "ReduceMax"))
        return op_reduce(im, n, "reduce_max", NULL, NULL);
    if (!strcmp(op, "ReduceMin"))
        return op_reduce(im, n, "reduce_min", NULL, NULL);
    if (!strcmp(op, "ReduceSumSquare"))
        return op_reduce(im, n, "reduce_sum", "square", NULL);
    if (!strcmp(op, "ReduceL2"))
        return op_reduce(im, n, "reduce_sum", "square", "sqrt");
    if (!strcmp(op, "ReduceL1"))
        return op_reduce(im, n, "reduce_sum", "abs", NULL);
    if (!strcmp(op, "ReduceLogSum"))
        return op_reduce(im, n, "reduce_sum", NULL, "log");
    if (!strcmp(op, "ReduceLogSumExp"))
        return op_reduce(im, n, "reduce_sum", "exp", "log");
    if (!strcmp(op, "Gather"))
        return op_gather(im, n);
    if (!strcmp(op, "Expand"))
        return op_expand(im, n);
    if (!strcmp(op, "Cast"))
        return op_cast(im, n);
    if (!strcmp(op, "CastLike"))
        return op_cast_like(im, n);
    if (!strcmp(op, "Not") || !strcmp(op, "And") || !strcmp(op, "Or") || !strcmp(op, "Xor"))
        return op_logical(im, n, op);
    if (!strcmp(op, "RMSNormalization"))
        return op_rms_norm(im, n);
    if (!strcmp(op, "Clip"))
        return op_clip(im, n);
    if (!strcmp(op, "BatchNormalization"))
        return op_batch_norm(im, n);
    if (!strcmp(op, "LayerNormalization"))
        return op_layer_norm(im, n);
    if (!strcmp(op, "InstanceNormalization"))
        return op_instance_norm(im, n);
    if (!strcmp(op, "GroupNormalization"))
        return op_group_norm(im, n);
    if (!strcmp(op, "Where")) {
        ValueId ins[3] = {ox_in(im, n, 0), ox_in(im, n, 1), ox_in(im, n, 2)};
        NodeId id = ox_mk(im, n, "where", ins, 3);
        return id == IR_NONE ? ox_no_ir_op(im, n, "where") : ox_out(im, n, ox_done(im, id));
    }
    if (!strcmp(op, "LeakyRelu")) {
        ValueId x = ox_in(im, n, 0);
        NodeId id = ox_mk(im, n, "leaky_relu", &x, 1);
        if (id == IR_NONE)
            return ox_no_ir_op(im, n, "leaky_relu");
        ir_node_set_float(im->g, id, "negative_slope", ox_attr_float(n, "alpha", 0.01f));
        return ox_out(im, n, ox_done(im, id));
    }
    if (!strcmp(op, "Gelu")) {
        const char *ap = ox_attr_string(im, n, "approximate", "none");
        return op_unary(im, n, !strcmp(ap, "tanh") ? "gelu_tanh" : "gelu");
    }
    if (!strcmp(op, "Reciprocal") || !strcmp(op, "Softsign") || !strcmp(op, "Softplus") ||
        !strcmp(op, "HardSigmoid") || !strcmp(op, "Elu") || !strcmp(op, "Selu") ||
        !strcmp(op, "Celu") || !strcmp(op, "ThresholdedRelu") || !strcmp(op, "PRelu") ||
        !strcmp(op, "Mish") || !strcmp(op, "Swish") || !strcmp(op, "Cosh") || !strcmp(op, "Sinh") ||
        !strcmp(op, "Atanh") || !strcmp(op, "Asinh") || !strcmp(op, "Acosh") ||
        !strcmp(op, "IsNaN") || !strcmp(op, "IsInf") || !strcmp(op, "Sign") ||
        !strcmp(op, "Shrink"))
        return op_decomposed(im, n, op);
    if (!strcmp(op, "LpNormalization"))
        return op_lp_norm(im, n);
    if (!strcmp(op, "MeanVarianceNormalization"))
        return op_mvn(im, n);
    if (!strcmp(op, "DepthToSpace"))
        return op_depth_space(im, n, true);
    if (!strcmp(op, "SpaceToDepth"))
        return op_depth_space(im, n, false);
    if (!strcmp(op, "Resize") && im->opset >= 11)
        return ox_import_resize(im, n); /* frontend/onnx_ops_ext.c */
    if (!strcmp(op, "Resize") || !strcmp(op, "Upsample"))
        return op_resize(im, n);
    OxResult nn_res;
    if (ox_import_nn(im, n, &nn_res))
        return nn_res;
    OxResult ext;
    if (ox_import_ext(im, n, &ext)) /* frontend/onnx_ops_ext.c */
        return ext;
    OxResult quant;
    if (ox_import_quant(im, n, &quant)) /* frontend/onnx_ops_quant.c */
        return quant;
    return ox_unsupported(im, n, "no mapping to slimc's IR");
}

#endif
