/* ONNX ops to IR ops: one function per ONNX op (or family), with the attribute defaults
 * of each opset version. IR ops are looked up by name, so an ONNX op whose IR op is not
 * in ir/ops.def is reported as unsupported (naming the missing IR op) instead of failing
 * the build. Shape subgraphs on constants are evaluated here at import (ox_fold). The
 * layers (conv, pools, norms) are onnx_ops_conv.c's, the shape and data-movement ops
 * onnx_ops_shape.c's; the dispatch below names them all. */
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

/* Infers the node's types; its output (unknown, rank -1, after an error). When an input's
 * shape has a derived dim, a mismatch may hold only for some sizes (a UNet's skip concat of h and
 * 2 * ((h + 1) // 2), equal for even h): a note says so, and the import's symbolic note then
 * offers --dim / --shape (run and bench retry with the inputs' shapes fixed). */
ValueId ox_done(OxImporter *im, NodeId id)
{
    if (!ir_infer_node(im->g, id, im->d)) {
        const Node *nd = &im->g->nodes[id];
        for (int i = 0; i < nd->n_inputs; i++) {
            const Shape *s =
                nd->inputs[i] == IR_NONE ? NULL : &im->g->values[nd->inputs[i]].type.shape;
            uint32_t syms = 0; /* derived symbols only: plain ones are never unequal by chance */
            for (int k = 0; s && k < s->rank; k++)
                syms |= s->d[k].syms & im->g->derived_syms;
            if (syms) {
                ir_diag_note(im->d, nd->loc,
                             "the sizes above are symbolic: they may agree for some input "
                             "shapes only");
                break;
            }
        }
    }
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

bool ox_norm_axis(int64_t axis, int rank, int64_t *outp)
{
    if (axis < 0)
        axis += rank;
    *outp = axis;
    return axis >= 0 && axis < (rank ? rank : 1);
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
    if (!ox_norm_axis(axis, s->rank, &ax))
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
        if (!ox_norm_axis(axes[i], r, &axes[i]))
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
    if (im->f16_as_f32 && (dt == IR_F16 || dt == IR_BF16)) {
        /* computing in f32: round to the half type and come back */
        NodeId h = ox_mk(im, n, "cast", &x, 1);
        if (h == IR_NONE)
            return ox_no_ir_op(im, n, "cast");
        ir_node_set_int(im->g, h, "dtype", dt);
        x = ox_done(im, h);
        dt = IR_F32;
    }
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
        /* the mask of a dropout that keeps everything: all true; a constant for a static
         * shape, else where(x == x, x == x, x != x), true for NaN too, and removed when unused */
        const Shape *s = e->is_const ? NULL : &ox_ty(im, ox_value(im, e))->shape;
        if (!dropout || !s)
            return ox_unsupported(im, n, "the mask output");
        if (!ir_shape_static(s)) {
            ValueId x = ox_value(im, e), eq = ox_bin(im, n, "eq", x, x);
            ValueId ins[3] = {eq, eq, ox_bin(im, n, "ne", x, x)};
            NodeId id =
                eq == IR_NONE || ins[2] == IR_NONE ? IR_NONE : ox_mk(im, n, "where", ins, 3);
            if (id == IR_NONE)
                return ox_unsupported(im, n, "the mask output of a symbolic shape");
            ox_bind_value(im, n->out[1], ox_done(im, id));
        } else {
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
    {"Tan", "tan"},     {"Asin", "asin"},
    {"Acos", "acos"},   {"Atan", "atan"},
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
    "Tan",
    "Asin",
    "Acos",
    "Atan",
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
    OxResult sym;
    if (ox_symshape(im, n, &sym)) /* shapes over symbolic dims: frontend/onnx_symshape.c */
        return sym;
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
        return ox_op_conv(im, n);
    if (!strcmp(op, "ConvTranspose"))
        return ox_op_conv_transpose(im, n);
    if (!strcmp(op, "MaxPool"))
        return ox_op_pool(im, n, true);
    if (!strcmp(op, "AveragePool"))
        return ox_op_pool(im, n, false);
    if (!strcmp(op, "GlobalAveragePool"))
        return ox_op_global_pool(im, n, "reduce_mean");
    if (!strcmp(op, "GlobalMaxPool"))
        return ox_op_global_pool(im, n, "reduce_max");
    if (!strcmp(op, "Gemm"))
        return op_gemm(im, n);
    if (!strcmp(op, "Softmax"))
        return op_softmax(im, n, "softmax");
    if (!strcmp(op, "LogSoftmax"))
        return op_softmax(im, n, "log_softmax");
    if (!strcmp(op, "Flatten"))
        return ox_op_flatten(im, n);
    if (!strcmp(op, "Reshape"))
        return ox_op_reshape(im, n);
    if (!strcmp(op, "Squeeze"))
        return ox_op_squeeze(im, n, false);
    if (!strcmp(op, "Unsqueeze"))
        return ox_op_squeeze(im, n, true);
    if (!strcmp(op, "Transpose"))
        return ox_op_transpose(im, n);
    if (!strcmp(op, "Concat"))
        return ox_op_concat(im, n);
    if (!strcmp(op, "Slice"))
        return ox_op_slice(im, n);
    if (!strcmp(op, "Split"))
        return ox_op_split(im, n);
    if (!strcmp(op, "Pad"))
        return ox_op_pad(im, n);
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
        return ox_op_gather(im, n);
    if (!strcmp(op, "Expand"))
        return ox_op_expand(im, n);
    if (!strcmp(op, "Cast"))
        return op_cast(im, n);
    if (!strcmp(op, "CastLike"))
        return op_cast_like(im, n);
    if (!strcmp(op, "Not") || !strcmp(op, "And") || !strcmp(op, "Or") || !strcmp(op, "Xor"))
        return op_logical(im, n, op);
    if (!strcmp(op, "RMSNormalization"))
        return ox_op_rms_norm(im, n);
    if (!strcmp(op, "Clip"))
        return op_clip(im, n);
    if (!strcmp(op, "BatchNormalization"))
        return ox_op_batch_norm(im, n);
    if (!strcmp(op, "LayerNormalization"))
        return ox_op_layer_norm(im, n);
    if (!strcmp(op, "InstanceNormalization"))
        return ox_op_instance_norm(im, n);
    if (!strcmp(op, "GroupNormalization"))
        return ox_op_group_norm(im, n);
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
    if (!strcmp(op, "Softsign"))
        return op_unary(im, n, "softsign");
    if (!strcmp(op, "Reciprocal") || !strcmp(op, "Softplus") || !strcmp(op, "HardSigmoid") ||
        !strcmp(op, "Elu") || !strcmp(op, "Selu") || !strcmp(op, "Celu") ||
        !strcmp(op, "ThresholdedRelu") || !strcmp(op, "PRelu") || !strcmp(op, "Mish") ||
        !strcmp(op, "Swish") || !strcmp(op, "Cosh") || !strcmp(op, "Sinh") ||
        !strcmp(op, "Atanh") || !strcmp(op, "Asinh") || !strcmp(op, "Acosh") ||
        !strcmp(op, "IsNaN") || !strcmp(op, "IsInf") || !strcmp(op, "Sign") ||
        !strcmp(op, "Shrink"))
        return op_decomposed(im, n, op);
    if (!strcmp(op, "LpNormalization"))
        return ox_op_lp_norm(im, n);
    if (!strcmp(op, "MeanVarianceNormalization"))
        return ox_op_mvn(im, n);
    if (!strcmp(op, "DepthToSpace"))
        return ox_op_depth_space(im, n, true);
    if (!strcmp(op, "SpaceToDepth"))
        return ox_op_depth_space(im, n, false);
    if (!strcmp(op, "Resize") && im->opset >= 11)
        return ox_import_resize(im, n); /* frontend/onnx_ops_ext.c */
    if (!strcmp(op, "Resize") || !strcmp(op, "Upsample"))
        return ox_op_resize(im, n);
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
