/* ONNX's quantization ops to IR ops: QuantizeLinear, DequantizeLinear,
 * DynamicQuantizeLinear, QLinearConv, QLinearMatMul, ConvInteger, MatMulInteger
 * (docs/onnx.md, "Quantized models").
 *
 * Integer types: u8 and s8 (and i32 for DequantizeLinear's input, the bias of QDQ
 * models); int4/uint4, int16/uint16 and the float8/float4 types are reported as
 * unsupported. Formulas (ONNX's):
 *
 *   QuantizeLinear    y = saturate(round_half_even(x / scale) + zero_point)
 *   DequantizeLinear  y = (x - zero_point) * scale
 *
 * with scale and zero point per tensor, per axis (a 1-D scale along `axis`) or blocked
 * (`block_size` elements of `axis` share one scale; constant scales only). The lowering:
 *
 *   - a constant input is evaluated here (biases...), except an s8 weight with zero point
 *     0, kept as mul(cast(w), scale) for passes/qdq.c (`fold` evaluates it otherwise);
 *   - per tensor, constant parameters, u8: DequantizeLinear is the IR op `dequantize`
 *     (the same f32 arithmetic); QuantizeLinear is `div` then `quantize` {scale=1} (the
 *     IR op multiplies by the reciprocal of its scale, which is x / scale only when the
 *     scale is a power of two; then `quantize` alone); s8 goes through the u8 code of
 *     zero point + 128 (quantize_op), which DequantizeLinear reads back (u8_code_of);
 *   - otherwise f32 math: cast, sub, mul for dequantizing; div, clamp to
 *     [qmin - zp, qmax - zp], round half to even (t + 1.5*2^23 - 1.5*2^23, exact for the
 *     clamped |t| < 2^22), add zp, cast for quantizing.
 *
 * The integer ops (ConvInteger, MatMulInteger, QLinearConv, QLinearMatMul) subtract the
 * zero points in f32 and run conv2d / matmul in f32: every product and partial sum is an
 * integer, exact while the sums stay below 2^24 in magnitude (e.g. K <= 258 taps of
 * full-range u8 x s8 values; real activations are far from that bound, but very long
 * reductions may round where ONNX Runtime's i32 accumulation does not). */
#ifdef SLIMC_WITH_ONNX
#include "frontend/onnx_internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* ---- helpers (as in onnx_ops.c) ---- */

static NodeId q_mk(OxImporter *im, const OxNode *n, const char *op, const ValueId *ins, int k)
{
    OpKind kind;
    if (!ir_op_lookup(op, &kind))
        return IR_NONE;
    return ir_node_new(im->g, kind, n->ir_name, n->loc, ins, k, 1);
}

static ValueId q_done(OxImporter *im, NodeId id)
{
    if (id == IR_NONE)
        return IR_NONE;
    ir_infer_node(im->g, id, im->d);
    return im->g->nodes[id].outputs[0];
}

static ValueId q_un(OxImporter *im, const OxNode *n, const char *op, ValueId v)
{
    if (v == IR_NONE)
        return IR_NONE;
    return q_done(im, q_mk(im, n, op, &v, 1));
}

static ValueId q_bin(OxImporter *im, const OxNode *n, const char *op, ValueId a, ValueId b)
{
    if (a == IR_NONE || b == IR_NONE)
        return IR_NONE;
    ValueId ins[2] = {a, b};
    return q_done(im, q_mk(im, n, op, ins, 2));
}

static ValueId cast_to(OxImporter *im, const OxNode *n, ValueId v, DType dt)
{
    if (v == IR_NONE || ox_ty(im, v)->dtype == dt)
        return v;
    NodeId id = q_mk(im, n, "cast", &v, 1);
    if (id == IR_NONE)
        return IR_NONE;
    ir_node_set_int(im->g, id, "dtype", dt);
    return q_done(im, id);
}

/* An IR constant of c's data named after the node. */
static ValueId const_value(OxImporter *im, const OxNode *n, const char *what, const OxConst *c)
{
    Type t = {c->dtype, {c->rank, {{0}}}, NULL};
    for (int i = 0; i < c->rank; i++)
        t.shape.d[i] = ir_dim(c->shape[i]);
    return ir_const_new(im->g, ir_arena_printf(im->g->arena, "%s.%s", n->ir_name, what), t, c->data,
                        c->nbytes, n->loc);
}

/* A 0-d f32 constant. */
static ValueId scalar_f(OxImporter *im, const OxNode *n, double v)
{
    OxConst c;
    ox_const_make(im, &c, IR_F32, 0, NULL);
    ox_const_set(&c, 0, v);
    return const_value(im, n, "k", &c);
}

/* The ONNX element types the quantized ops handle. */
static bool onnx_qtype(int64_t t, DType *dt)
{
    switch (t) {
    case 2: *dt = IR_U8; return true;
    case 3: *dt = IR_I8; return true;
    case 6: *dt = IR_I32; return true;
    default: return false;
    }
}

static const char *onnx_type_name(int64_t t)
{
    switch (t) {
    case 4: return "uint16";
    case 5: return "int16";
    case 17: return "float8e4m3fn";
    case 18: return "float8e4m3fnuz";
    case 19: return "float8e5m2";
    case 20: return "float8e5m2fnuz";
    case 21: return "uint4";
    case 22: return "int4";
    case 23: return "float4e2m1";
    case 25: return "uint2";
    case 26: return "int2";
    default: return "this type";
    }
}

static void qrange(DType dt, double *lo, double *hi)
{
    *lo = dt == IR_I8 ? -128.0 : dt == IR_I32 ? -2147483648.0 : 0.0;
    *hi = dt == IR_I8 ? 127.0 : dt == IR_I32 ? 2147483647.0 : 255.0;
}

/* ---- quantization parameters ---- */

/* Scale and zero point as f32 values broadcastable against x (rank r); pt_const when
 * both are constant and per tensor (s0, z0 then hold them). */
typedef struct QParams {
    ValueId s, z; /* z is IR_NONE when there is no zero point (0) */
    bool pt_const;
    float s0;
    int32_t z0;
    /* constant forms (f32, bshape) for import-time evaluation; NULL when not constant */
    const OxConst *sc, *zc;
    OxConst sbuf, zbuf;
    int axis; /* -1 per tensor */
} QParams;

/* Index into a broadcast constant of shape bs (same rank as xs, 1 or xs's dim) of flat
 * element i of a tensor of shape xs. */
static int64_t bcast_index(const int64_t *xs, const OxConst *b, int rank, int64_t i)
{
    if (b->rank == 0)
        return 0;
    int64_t idx = 0, stride = 1;
    for (int d = rank - 1; d >= 0; d--) {
        int64_t coord = i % xs[d];
        i /= xs[d];
        if (b->shape[d] != 1)
            idx += coord * stride;
        stride *= b->shape[d];
    }
    return idx;
}

/* Input k (scale or zero point) in the broadcast shape for x (shape xs, rank r): per
 * tensor stays 0-d; a 1-D tensor goes along axis; a blocked one (block > 0, same rank as
 * x) is repeated block times along axis. Constant inputs become f32 constants in *buf
 * (and *cst points at it); others are cast to f32 and reshaped. */
static bool param_value(OxImporter *im, OxNode *n, int k, const Shape *xs, int axis, int64_t block,
                        ValueId *v, OxConst *buf, const OxConst **cst)
{
    const int r = xs->rank;
    const OxConst *c = ox_const_in(n, k);
    *cst = NULL;
    if (c) {
        int64_t numel = ox_const_numel(c), shape[IR_MAX_RANK];
        int rank = 0;
        if (numel != 1 || block > 0) {
            if (axis < 0 || axis >= r || xs->d[axis].syms)
                return false;
            rank = r;
            for (int i = 0; i < r; i++)
                shape[i] = 1;
            shape[axis] = xs->d[axis].c;
            if (block > 0) {
                if (c->rank != r)
                    return false;
                for (int i = 0; i < r; i++)
                    if (i != axis)
                        shape[i] = c->shape[i];
                    else if (c->shape[i] != xs->d[i].c / block + (xs->d[i].c % block != 0))
                        return false;
            } else if (c->rank != 1 || c->shape[0] != shape[axis])
                return false;
        }
        if (!ox_const_make(im, buf, IR_F32, rank, shape))
            return false;
        int64_t total = ox_const_numel(buf);
        for (int64_t i = 0; i < total; i++) {
            int64_t src = i;
            if (block > 0) {
                /* coordinates in buf -> the block's element of c */
                int64_t rest = i, idx = 0, stride = 1;
                for (int d = rank - 1; d >= 0; d--) {
                    int64_t coord = rest % shape[d];
                    rest /= shape[d];
                    if (d == axis)
                        coord /= block;
                    idx += coord * stride;
                    stride *= c->shape[d];
                }
                src = idx;
            }
            ox_const_set(buf, i, ox_const_get(c, src));
        }
        *cst = buf;
        *v = const_value(im, n, ir_arena_printf(im->g->arena, "q%d", k), buf);
        return true;
    }
    if (block > 0)
        return false;
    ValueId p = cast_to(im, n, ox_in(im, n, k), IR_F32);
    const Shape *ps = &ox_ty(im, p)->shape;
    if (ps->rank == 1 && !(ps->d[0].syms == 0 && ps->d[0].c == 1)) {
        if (axis < 0 || axis >= r || ps->d[0].syms)
            return false;
        int64_t attr[IR_MAX_RANK];
        for (int i = 0; i < r; i++)
            attr[i] = 1;
        attr[axis] = ps->d[0].c;
        NodeId id = q_mk(im, n, "reshape", &p, 1);
        ir_node_set_ints(im->g, id, "shape", attr, r);
        p = q_done(im, id);
    } else if (ps->rank > 0) {
        int64_t none[1] = {0};
        NodeId id = q_mk(im, n, "reshape", &p, 1);
        ir_node_set_ints(im->g, id, "shape", none, 0);
        p = q_done(im, id);
    }
    *v = p;
    return true;
}

/* Scale (input 1) and zero point (input 2) of a QuantizeLinear / DequantizeLinear node
 * for x of shape xs; false (reported) when unsupported. */
static bool qparams(OxImporter *im, OxNode *n, const Shape *xs, QParams *q, OxResult *res)
{
    memset(q, 0, sizeof *q);
    q->z = IR_NONE;
    const int r = xs->rank;
    int64_t axis = ox_attr_int(n, "axis", 1), block = ox_attr_int(n, "block_size", 0);
    if (axis < 0)
        axis += r;
    const OxConst *sc = ox_const_in(n, 1);
    const bool needs_axis =
        block > 0 || (sc ? ox_const_numel(sc) != 1
                         : ox_has_in(n, 1) && ox_ty(im, ox_in(im, n, 1))->shape.rank >= 1);
    if (needs_axis && (axis < 0 || axis >= r)) {
        *res = ox_unsupported(im, n, "axis %lld is out of range for rank %d",
                              (long long)ox_attr_int(n, "axis", 1), r);
        return false;
    }
    q->axis = needs_axis ? (int)axis : -1;
    if (block > 0 && (!ox_const_in(n, 1) || (ox_has_in(n, 2) && !ox_const_in(n, 2)))) {
        ox_needs_constant(im, n->in[1]); /* the conformance runner fixes them and retries */
        if (ox_has_in(n, 2))
            ox_needs_constant(im, n->in[2]);
    }
    if (block < 0 || (block > 0 && !ox_const_in(n, 1))) {
        *res = ox_unsupported(im, n, "blocked quantization needs a constant scale");
        return false;
    }
    if (!param_value(im, n, 1, xs, q->axis, block, &q->s, &q->sbuf, &q->sc)) {
        *res =
            ox_unsupported(im, n, "the scale's shape does not match axis %d of the input", q->axis);
        return false;
    }
    if (ox_has_in(n, 2)) {
        const OxConst *zc = ox_const_in(n, 2);
        bool zero = zc != NULL;
        for (int64_t i = 0; zc && i < ox_const_numel(zc); i++)
            zero = zero && ox_const_get(zc, i) == 0.0;
        if (!zero && !param_value(im, n, 2, xs, q->axis, block, &q->z, &q->zbuf, &q->zc)) {
            *res = ox_unsupported(
                im, n, "the zero point's shape does not match axis %d of the input", q->axis);
            return false;
        }
    }
    if (q->sc && q->sc->rank == 0 && (q->z == IR_NONE || (q->zc && q->zc->rank == 0))) {
        q->pt_const = true;
        q->s0 = (float)ox_const_get(q->sc, 0);
        q->z0 = q->zc ? (int32_t)ox_const_get(q->zc, 0) : 0;
    }
    if (q->s == IR_NONE) {
        *res = OX_ERROR;
        return false;
    }
    return true;
}

/* ---- quantizing and dequantizing f32 values ---- */

/* round_half_even(t) in f32 for |t| < 2^22. */
static ValueId round_even(OxImporter *im, const OxNode *n, ValueId t)
{
    const double magic = 12582912.0; /* 1.5 * 2^23 */
    return q_bin(im, n, "sub", q_bin(im, n, "add", t, scalar_f(im, n, magic)),
                 scalar_f(im, n, magic));
}

/* saturate(round_half_even(t) + z) as dt, t already divided by the scale; z an f32 value
 * broadcastable to t (IR_NONE for 0) or, when zc, the constant z0. */
/* The IR op quantize {scale, zero_point} on x: u8, or s8 as the u8 code of zero point
 * z0 + 128 moved down by 128, cast(add(cast(q u8, f32), -128), s8), which dequantize_f32
 * recognises (u8_code_of) to dequantize the u8 code directly. */
static ValueId quantize_op(OxImporter *im, const OxNode *n, ValueId x, double scale, int32_t z0,
                           DType dt)
{
    NodeId id = q_mk(im, n, "quantize", &x, 1);
    if (id == IR_NONE)
        return IR_NONE;
    ir_node_set_float(im->g, id, "scale", scale);
    ir_node_set_int(im->g, id, "zero_point", dt == IR_I8 ? z0 + 128 : z0);
    ValueId q = q_done(im, id);
    if (dt == IR_U8)
        return q;
    ValueId f = q_bin(im, n, "add", cast_to(im, n, q, IR_F32), scalar_f(im, n, -128.0));
    return cast_to(im, n, f, IR_I8);
}

/* The u8 code q behind an s8 value v that quantize_op made, or IR_NONE. */
static ValueId u8_code_of(OxImporter *im, ValueId v)
{
    const Graph *g = im->g;
    const Node *p[3];
    static const OpKind ops[3] = {IR_OP_CAST, IR_OP_ADD, IR_OP_CAST};
    for (int i = 0; i < 3; i++) {
        if (g->values[v].kind != IR_VALUE_TEMP || g->values[v].producer == IR_NONE)
            return IR_NONE;
        p[i] = &g->nodes[g->values[v].producer];
        if (p[i]->op != ops[i])
            return IR_NONE;
        v = p[i]->inputs[0];
    }
    const Value *k = &g->values[p[1]->inputs[1]];
    if (k->kind != IR_VALUE_CONST || !k->data || k->type.dtype != IR_F32 ||
        k->type.shape.rank != 0 || *(const float *)k->data != -128.0f)
        return IR_NONE;
    if (g->values[v].type.dtype != IR_U8 || g->values[v].kind != IR_VALUE_TEMP ||
        g->values[v].producer == IR_NONE || g->nodes[g->values[v].producer].op != IR_OP_QUANTIZE)
        return IR_NONE;
    return v;
}

static ValueId quantize_t(OxImporter *im, const OxNode *n, ValueId t, ValueId z, bool zc,
                          int32_t z0, DType dt)
{
    double lo, hi;
    qrange(dt, &lo, &hi);
    /* the IR op: clamp(round_half_even(t * 1) + z0, 0, 255) */
    if ((dt == IR_U8 || dt == IR_I8) && (z == IR_NONE || zc))
        return quantize_op(im, n, t, 1.0, zc ? z0 : 0, dt);
    if (z == IR_NONE || zc) {
        NodeId id = q_mk(im, n, "clip", &t, 1);
        if (id == IR_NONE)
            return IR_NONE;
        ir_node_set_float(im->g, id, "min", lo - z0);
        ir_node_set_float(im->g, id, "max", hi - z0);
        t = round_even(im, n, q_done(im, id));
        if (z0)
            t = q_bin(im, n, "add", t, scalar_f(im, n, z0));
    } else {
        t = q_bin(im, n, "maximum", t, q_bin(im, n, "sub", scalar_f(im, n, lo), z));
        t = q_bin(im, n, "minimum", t, q_bin(im, n, "sub", scalar_f(im, n, hi), z));
        t = q_bin(im, n, "add", round_even(im, n, t), z);
    }
    return cast_to(im, n, t, dt);
}

/* 1.0f / s is exact (s a power of two), so x * (1 / s) == x / s. */
static bool pow2(float s)
{
    int e;
    return s > 0.0f && isfinite(s) && frexpf(s, &e) == 0.5f && e > -125 && e < 126;
}

/* x (f32) quantized to dt with q. */
static ValueId quantize_f32(OxImporter *im, const OxNode *n, ValueId x, const QParams *q, DType dt)
{
    if (q->pt_const && pow2(q->s0))
        return quantize_op(im, n, x, q->s0, q->z0, dt);
    ValueId t = q->pt_const && q->s0 == 1.0f ? x : q_bin(im, n, "div", x, q->s);
    return quantize_t(im, n, t, q->z, q->pt_const, q->z0, dt);
}

/* x (any integer type) dequantized with q, in f32. */
static ValueId dequantize_f32(OxImporter *im, const OxNode *n, ValueId x, const QParams *q)
{
    /* an s8 value made by quantize_op: (q_s8 - zp) * s = (q_u8 - (zp + 128)) * s */
    ValueId code = q->pt_const && ox_ty(im, x)->dtype == IR_I8 ? u8_code_of(im, x) : IR_NONE;
    if (q->pt_const && (ox_ty(im, x)->dtype == IR_U8 || code != IR_NONE)) {
        NodeId id = q_mk(im, n, "dequantize", code != IR_NONE ? &code : &x, 1);
        if (id == IR_NONE)
            return IR_NONE;
        ir_node_set_float(im->g, id, "scale", q->s0);
        ir_node_set_int(im->g, id, "zero_point", code != IR_NONE ? q->z0 + 128 : q->z0);
        return q_done(im, id);
    }
    ValueId y = cast_to(im, n, x, IR_F32);
    if (q->z != IR_NONE)
        y = q_bin(im, n, "sub", y, q->z);
    return q_bin(im, n, "mul", y, q->s);
}

static OxResult bind_out(OxImporter *im, const OxNode *n, int i, ValueId v)
{
    if (v == IR_NONE)
        return OX_ERROR;
    if (i < n->n_out && *n->out[i])
        ox_bind_value(im, n->out[i], v);
    return OX_OK;
}

/* ---- QuantizeLinear / DequantizeLinear ---- */

static bool x_shape(OxImporter *im, OxNode *n, Shape *s, int64_t *xs)
{
    const OxConst *c = ox_const_in(n, 0);
    if (c) {
        s->rank = c->rank;
        for (int i = 0; i < c->rank; i++) {
            s->d[i] = ir_dim(c->shape[i]);
            xs[i] = c->shape[i];
        }
        return true;
    }
    *s = ox_ty(im, ox_in(im, n, 0))->shape;
    return s->rank >= 0;
}

static OxResult op_quantize_linear(OxImporter *im, OxNode *n)
{
    if (!ox_has_in(n, 1))
        return ox_unsupported(im, n, "needs y_scale");
    /* the output type: the zero point's, else output_dtype (opset 21), else u8 */
    int64_t ot = 2;
    if (ox_has_in(n, 2)) {
        const OxConst *zc = ox_const_in(n, 2);
        DType zd = zc ? zc->dtype : ox_ty(im, ox_in(im, n, 2))->dtype;
        ot = zd == IR_U8 ? 2 : zd == IR_I8 ? 3 : -1;
        if (ot < 0)
            return ox_unsupported(im, n, "zero points of type %s (u8 and s8 are supported)",
                                  ir_dtype_name(zd));
    } else
        ot = ox_attr_int(n, "output_dtype", 0) ? ox_attr_int(n, "output_dtype", 0) : 2;
    DType dt;
    if (!onnx_qtype(ot, &dt) || dt == IR_I32)
        return ox_unsupported(im, n, "quantizing to %s (u8 and s8 are supported)",
                              onnx_type_name(ot));
    if (ox_attr_int(n, "precision", 0) != 0 && ox_attr_int(n, "precision", 0) != 1)
        return ox_unsupported(im, n, "a precision other than float32");
    Shape xsh;
    int64_t xs[IR_MAX_RANK] = {0};
    if (!x_shape(im, n, &xsh, xs))
        return OX_ERROR;
    QParams q;
    OxResult res;
    if (!qparams(im, n, &xsh, &q, &res))
        return res;
    const OxConst *xc = ox_const_in(n, 0);
    if (xc && q.sc && (q.z == IR_NONE || q.zc)) {
        /* a constant (a weight): quantized here, as ONNX Runtime does it, in f32 */
        double lo, hi;
        qrange(dt, &lo, &hi);
        OxConst y;
        if (!ox_const_make(im, &y, dt, xc->rank, xc->shape))
            return OX_ERROR;
        int64_t total = ox_const_numel(xc);
        for (int64_t i = 0; i < total; i++) {
            float s = (float)ox_const_get(q.sc, bcast_index(xs, q.sc, xc->rank, i));
            float z = q.zc ? (float)ox_const_get(q.zc, bcast_index(xs, q.zc, xc->rank, i)) : 0.0f;
            float t = nearbyintf((float)ox_const_get(xc, i) / s) + z;
            ox_const_set(&y, i, isnan(t) ? 0.0 : t < lo ? lo : t > hi ? hi : t);
        }
        ox_bind_const(im, n->out[0], &y);
        return OX_OK;
    }
    ValueId x = cast_to(im, n, ox_in(im, n, 0), IR_F32);
    return bind_out(im, n, 0, quantize_f32(im, n, x, &q, dt));
}

/* An s8 weight with a zero point of 0, per tensor or per output channel (axis 0; axis 1 of
 * a [K, N] matrix, a MatMul's weight): kept as mul(cast(w), scale), which `fold` evaluates,
 * so that passes/qdq.c can still see the int8 weight and its scales when the weight feeds a
 * conv2d, linear or matmul. */
static bool weight_like(const OxConst *xc, const QParams *q)
{
    return xc->dtype == IR_I8 && q->z == IR_NONE && q->sc && xc->rank >= 1 &&
           (q->sc->rank == 0 || (q->axis == 0 && ox_const_numel(q->sc) == xc->shape[0]) ||
            (q->axis == 1 && xc->rank == 2 && ox_const_numel(q->sc) == xc->shape[1]));
}

static OxResult op_dequantize_linear(OxImporter *im, OxNode *n)
{
    if (!ox_has_in(n, 1))
        return ox_unsupported(im, n, "needs x_scale");
    const OxConst *xc = ox_const_in(n, 0);
    DType xd = xc ? xc->dtype : ox_ty(im, ox_in(im, n, 0))->dtype;
    if (xd != IR_U8 && xd != IR_I8 && xd != IR_I32)
        return ox_unsupported(im, n, "dequantizing %s (u8, s8 and i32 are supported)",
                              ir_dtype_name(xd));
    const OxConst *sc0 = ox_const_in(n, 1);
    DType sd = sc0 ? sc0->dtype : ox_ty(im, ox_in(im, n, 1))->dtype;
    if (sd != IR_F32 && sd != IR_F16 && sd != IR_BF16)
        return ox_unsupported(im, n, "scales of type %s", ir_dtype_name(sd));
    int64_t od = ox_attr_int(n, "output_dtype", 0);
    if (od != 0 && od != 1 && od != 10 && od != 16)
        return ox_unsupported(im, n, "output_dtype %lld", (long long)od);
    DType out_dt = od == 1 ? IR_F32 : od == 10 ? IR_F16 : od == 16 ? IR_BF16 : sd;
    Shape xsh;
    int64_t xs[IR_MAX_RANK] = {0};
    if (!x_shape(im, n, &xsh, xs))
        return OX_ERROR;
    QParams q;
    OxResult res;
    if (!qparams(im, n, &xsh, &q, &res))
        return res;
    if (xc && out_dt == IR_F32 && weight_like(xc, &q))
        return bind_out(im, n, 0,
                        q_bin(im, n, "mul", cast_to(im, n, ox_in(im, n, 0), IR_F32), q.s));
    if (xc && q.sc && (q.z == IR_NONE || q.zc) && out_dt == IR_F32) {
        /* a constant (a bias, a weight of another kind): dequantized here, (x - zp) * scale in f32
         */
        OxConst y;
        if (!ox_const_make(im, &y, IR_F32, xc->rank, xc->shape))
            return OX_ERROR;
        int64_t total = ox_const_numel(xc);
        for (int64_t i = 0; i < total; i++) {
            float s = (float)ox_const_get(q.sc, bcast_index(xs, q.sc, xc->rank, i));
            int64_t z = q.zc ? ox_const_get_i(q.zc, bcast_index(xs, q.zc, xc->rank, i)) : 0;
            ox_const_set(&y, i, (double)((float)(ox_const_get_i(xc, i) - z) * s));
        }
        ox_bind_const(im, n->out[0], &y);
        return OX_OK;
    }
    ValueId y = dequantize_f32(im, n, ox_in(im, n, 0), &q);
    return bind_out(im, n, 0, cast_to(im, n, y, out_dt));
}

/* ---- DynamicQuantizeLinear ---- */

/* scale = (max(x, 0) - min(x, 0)) / 255, zp = saturate(round(0 - min / scale)),
 * y = saturate(round(x / scale) + zp), all u8. */
static OxResult op_dynamic_quantize(OxImporter *im, OxNode *n)
{
    ValueId x = ox_in(im, n, 0);
    if (ox_ty(im, x)->dtype != IR_F32)
        return ox_unsupported(im, n, "inputs of type %s", ir_dtype_name(ox_ty(im, x)->dtype));
    ValueId zero = scalar_f(im, n, 0.0);
    ValueId mx = q_bin(im, n, "maximum", q_un(im, n, "reduce_max", x), zero);
    ValueId mn = q_bin(im, n, "minimum", q_un(im, n, "reduce_min", x), zero);
    ValueId s = q_bin(im, n, "div", q_bin(im, n, "sub", mx, mn), scalar_f(im, n, 255.0));
    ValueId zf = q_bin(im, n, "sub", zero, q_bin(im, n, "div", mn, s));
    NodeId id = q_mk(im, n, "clip", &zf, 1);
    if (id == IR_NONE)
        return ox_unsupported(im, n, "slimc's IR has no 'clip' op");
    ir_node_set_float(im->g, id, "min", 0.0);
    ir_node_set_float(im->g, id, "max", 255.0);
    zf = round_even(im, n, q_done(im, id));
    ValueId y = quantize_t(im, n, q_bin(im, n, "div", x, s), zf, false, 0, IR_U8);
    OxResult r = bind_out(im, n, 0, y);
    if (r == OX_OK)
        r = bind_out(im, n, 1, s);
    if (r == OX_OK)
        r = bind_out(im, n, 2, cast_to(im, n, zf, IR_U8));
    return r;
}

/* ---- integer matmul and conv ---- */

/* x (u8/s8) minus its zero point (input k, optional), in f32. A 1-D zero point of more
 * than one element lies along axis of x (rank r): per row of a matmul's A, per output
 * channel of a conv's weight. */
static ValueId centered(OxImporter *im, OxNode *n, int xi, int k, int axis, OxResult *res)
{
    ValueId x = ox_in(im, n, xi);
    DType xd = ox_ty(im, x)->dtype;
    if (xd != IR_U8 && xd != IR_I8) {
        *res = ox_unsupported(im, n, "input %d of type %s (u8 and s8 are supported)", xi,
                              ir_dtype_name(xd));
        return IR_NONE;
    }
    ValueId y = cast_to(im, n, x, IR_F32);
    if (!ox_has_in(n, k))
        return y;
    const OxConst *zc = ox_const_in(n, k);
    if (zc) {
        bool zero = true;
        for (int64_t i = 0; i < ox_const_numel(zc); i++)
            zero = zero && ox_const_get(zc, i) == 0.0;
        if (zero)
            return y;
    }
    const Shape *xs = &ox_ty(im, x)->shape;
    ValueId z;
    OxConst buf;
    const OxConst *cst;
    if (!param_value(im, n, k, xs, axis, 0, &z, &buf, &cst) || z == IR_NONE) {
        *res = ox_unsupported(im, n, "zero point %d does not match the input's shape", k);
        return IR_NONE;
    }
    return q_bin(im, n, "sub", y, z);
}

/* Runs ONNX Conv (n's attributes) on f32 x, w, b (b may be IR_NONE) through
 * onnx_ops.c's mapping (pads, auto_pad, 1-D). */
static ValueId conv_f32(OxImporter *im, OxNode *n, ValueId x, ValueId w, ValueId b)
{
    Onnx__NodeProto p = *n->p;
    p.op_type = (char *)"Conv";
    p.n_input = b == IR_NONE ? 2 : 3;
    OxEntry ex = {0}, ew = {0}, eb = {0};
    ex.v = x;
    ew.v = w;
    eb.v = b;
    ex.name = ew.name = eb.name = "";
    OxEntry *ins[3] = {&ex, &ew, b == IR_NONE ? NULL : &eb};
    const char *outs[1] = {ir_arena_printf(im->g->arena,
                                           "%s\x1f"
                                           "conv",
                                           n->name)};
    OxNode c = *n;
    c.p = &p;
    c.n_in = b == IR_NONE ? 2 : 3;
    c.in = ins;
    c.n_out = 1;
    c.out = outs;
    if (ox_import_node(im, &c) != OX_OK)
        return IR_NONE;
    OxEntry *e = ox_lookup(im, outs[0]);
    return e ? e->v : IR_NONE;
}

static int rank_of(OxImporter *im, ValueId v)
{
    return v == IR_NONE ? -1 : ox_ty(im, v)->shape.rank;
}

/* ConvInteger(x, w, x_zero_point, w_zero_point) -> i32. */
static OxResult op_conv_integer(OxImporter *im, OxNode *n)
{
    OxResult res = OX_ERROR;
    ValueId x = centered(im, n, 0, 2, -1, &res);
    if (x == IR_NONE)
        return res;
    ValueId w = centered(im, n, 1, 3, 0, &res);
    if (w == IR_NONE)
        return res;
    ValueId y = conv_f32(im, n, x, w, IR_NONE);
    return y == IR_NONE ? OX_ERROR : bind_out(im, n, 0, cast_to(im, n, y, IR_I32));
}

/* MatMulInteger(a, b, a_zero_point, b_zero_point) -> i32. */
static OxResult op_matmul_integer(OxImporter *im, OxNode *n)
{
    OxResult res = OX_ERROR;
    int ra = rank_of(im, ox_in(im, n, 0)), rb = rank_of(im, ox_in(im, n, 1));
    ValueId a = centered(im, n, 0, 2, ra >= 2 ? ra - 2 : 0, &res);
    if (a == IR_NONE)
        return res;
    ValueId b = centered(im, n, 1, 3, rb - 1, &res);
    if (b == IR_NONE)
        return res;
    return bind_out(im, n, 0, cast_to(im, n, q_bin(im, n, "matmul", a, b), IR_I32));
}

/* The requantizing multiplier x_scale * w_scale / y_scale (f32 math, as the ONNX
 * reference; inputs 1, 4, 6) for acc: a 1-D x_scale lies along axis ax_x of acc, a 1-D
 * w_scale along ax_w (-1: scalars only). */
static ValueId multiplier(OxImporter *im, OxNode *n, ValueId acc, int ax_x, int ax_w, OxResult *res)
{
    const Shape *s = &ox_ty(im, acc)->shape;
    static const int idx[3] = {1, 4, 6};
    const int ax[3] = {ax_x, ax_w, -1};
    ValueId sv[3];
    for (int j = 0; j < 3; j++) {
        OxConst buf;
        const OxConst *cst;
        if (!ox_has_in(n, idx[j])) {
            *res = ox_unsupported(im, n, "input %d (a scale) is required", idx[j]);
            return IR_NONE;
        }
        if (!param_value(im, n, idx[j], s, ax[j], 0, &sv[j], &buf, &cst)) {
            *res = ox_unsupported(im, n, "scale input %d must be a scalar%s", idx[j],
                                  ax[j] >= 0 ? " or a 1-D tensor along the output's axis" : "");
            return IR_NONE;
        }
    }
    return q_bin(im, n, "div", q_bin(im, n, "mul", sv[0], sv[1]), sv[2]);
}

static DType qout_type(OxImporter *im, OxNode *n, int zp_i, int x_i)
{
    if (ox_has_in(n, zp_i)) {
        const OxConst *c = ox_const_in(n, zp_i);
        return c ? c->dtype : ox_ty(im, ox_in(im, n, zp_i))->dtype;
    }
    return ox_ty(im, ox_in(im, n, x_i))->dtype;
}

/* y = saturate(round(acc * multiplier) + y_zero_point) (input zi). */
static OxResult requantize(OxImporter *im, OxNode *n, ValueId acc, ValueId m, int zi, DType dt)
{
    if (dt != IR_U8 && dt != IR_I8)
        return ox_unsupported(im, n, "outputs of type %s (u8 and s8 are supported)",
                              ir_dtype_name(dt));
    ValueId t = q_bin(im, n, "mul", acc, m);
    const OxConst *zc = ox_const_in(n, zi);
    if (!ox_has_in(n, zi) || (zc && ox_const_numel(zc) == 1))
        return bind_out(
            im, n, 0,
            quantize_t(im, n, t, IR_NONE, true, zc ? (int32_t)ox_const_get(zc, 0) : 0, dt));
    /* a zero point known at run time (a scalar) */
    ValueId z;
    OxConst buf;
    const OxConst *cst;
    if (!param_value(im, n, zi, &ox_ty(im, t)->shape, -1, 0, &z, &buf, &cst))
        return ox_unsupported(im, n, "y_zero_point must be a scalar");
    return bind_out(im, n, 0, quantize_t(im, n, t, z, false, 0, dt));
}

/* QLinearConv(x, x_scale, x_zp, w, w_scale, w_zp, y_scale, y_zp, B). */
static OxResult op_qlinear_conv(OxImporter *im, OxNode *n)
{
    OxResult res = OX_ERROR;
    if (!ox_has_in(n, 3))
        return ox_unsupported(im, n, "needs w");
    ValueId x = centered(im, n, 0, 2, -1, &res);
    if (x == IR_NONE)
        return res;
    ValueId w = centered(im, n, 3, 5, 0, &res);
    if (w == IR_NONE)
        return res;
    ValueId b = IR_NONE;
    if (ox_has_in(n, 8))
        b = cast_to(im, n, ox_in(im, n, 8), IR_F32);
    ValueId acc = conv_f32(im, n, x, w, b);
    if (acc == IR_NONE)
        return OX_ERROR;
    ValueId m = multiplier(im, n, acc, -1, 1, &res);
    if (m == IR_NONE)
        return res;
    return requantize(im, n, acc, m, 7, qout_type(im, n, 7, 0));
}

/* QLinearMatMul(a, a_scale, a_zp, b, b_scale, b_zp, y_scale, y_zp). */
static OxResult op_qlinear_matmul(OxImporter *im, OxNode *n)
{
    OxResult res = OX_ERROR;
    if (!ox_has_in(n, 3))
        return ox_unsupported(im, n, "needs b");
    int ra = rank_of(im, ox_in(im, n, 0)), rb = rank_of(im, ox_in(im, n, 3));
    ValueId a = centered(im, n, 0, 2, ra >= 2 ? ra - 2 : 0, &res);
    if (a == IR_NONE)
        return res;
    ValueId b = centered(im, n, 3, 5, rb - 1, &res);
    if (b == IR_NONE)
        return res;
    ValueId acc = q_bin(im, n, "matmul", a, b);
    int r = rank_of(im, acc);
    if (r < 0)
        return OX_ERROR; /* the matmul's shape error is reported */
    if (r < 1)
        return ox_unsupported(im, n, "a 1-D a times a 1-D b (a scalar result)");
    ValueId m = multiplier(im, n, acc, r >= 2 ? r - 2 : -1, r - 1, &res);
    if (m == IR_NONE)
        return res;
    return requantize(im, n, acc, m, 7, qout_type(im, n, 7, 0));
}

/* ---- dispatch ---- */

static const char *const quant_ops[] = {
    "QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear", "QLinearConv",
    "QLinearMatMul",  "MatMulInteger",    "ConvInteger",
};

bool ox_op_known_quant(const char *op)
{
    for (size_t i = 0; i < sizeof quant_ops / sizeof quant_ops[0]; i++)
        if (!strcmp(quant_ops[i], op))
            return true;
    return false;
}

bool ox_import_quant(OxImporter *im, OxNode *n, OxResult *r)
{
    const char *op = n->p->op_type;
    if (!ox_op_known_quant(op))
        return false;
    if (!ox_has_in(n, 0) || (strstr(op, "Integer") && !ox_has_in(n, 1))) {
        *r = ox_unsupported(im, n, "missing a required input");
        return true;
    }
    if (!strcmp(op, "QuantizeLinear"))
        *r = op_quantize_linear(im, n);
    else if (!strcmp(op, "DequantizeLinear"))
        *r = op_dequantize_linear(im, n);
    else if (!strcmp(op, "DynamicQuantizeLinear"))
        *r = op_dynamic_quantize(im, n);
    else if (!strcmp(op, "QLinearConv"))
        *r = op_qlinear_conv(im, n);
    else if (!strcmp(op, "QLinearMatMul"))
        *r = op_qlinear_matmul(im, n);
    else if (!strcmp(op, "MatMulInteger"))
        *r = op_matmul_integer(im, n);
    else
        *r = op_conv_integer(im, n);
    return true;
}

#endif
