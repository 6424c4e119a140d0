/* The reference semantics of the elementwise ops and reductions in dtypes other than f32
 * (ir/dtype_ops.h): f64, f16 and bf16 compute in double (f16/bf16 rounded once, on the
 * store); integers compute in 64 bits — signed ones wrapping through uint64_t, so that
 * overflow is defined as ONNX wants it — and are truncated to their type on the store.
 * Integer division truncates toward zero (x / 0 is 0 here, where C has no answer);
 * integer pow multiplies (a negative exponent gives 0 unless the base is 1 or -1).
 * codegen/c/elementwise_dtypes.c emits the same expressions. */
#include "ir/dtype_ops.h"
#include "ir/eval_internal.h"

#include <math.h>
#include <string.h>

/* ---- floats, in double ---- */

#define SC_SPELL_F64
#include "ir/scalar.h"
double ir_eval_scalar_f64(OpKind op, double x, double y, double p0, double p1)
{
    switch (op) {
#define E(...) return (__VA_ARGS__);
#define NOEXPR break;
#define OP(e, name, fam, mn, mx, flags, cost, bytes, be, shape, attrs, expr)                       \
    case IR_OP_##e:                                                                                \
        expr
#include "ir/ops.def"
#undef OP
#undef E
#undef NOEXPR
    case IR_NUM_OPS: break;
    }
    SLIMC_ASSERT(0 && "no scalar expression in ops.def");
}

/* ---- integers, in 64 bits ---- */

static uint64_t load_u(DType t, const void *p, int64_t i)
{
    switch (t) {
    case IR_I64: return (uint64_t)((const int64_t *)p)[i];
    case IR_I32: return (uint64_t)(int64_t)((const int32_t *)p)[i];
    case IR_I16: return (uint64_t)(int64_t)((const int16_t *)p)[i];
    case IR_I8: return (uint64_t)(int64_t)((const int8_t *)p)[i];
    case IR_U64: return ((const uint64_t *)p)[i];
    case IR_U32: return ((const uint32_t *)p)[i];
    case IR_U16: return ((const uint16_t *)p)[i];
    case IR_U8:
    case IR_BOOL: return ((const uint8_t *)p)[i];
    default: SLIMC_ASSERT(0 && "not an integer dtype");
    }
}

static void store_u(DType t, void *p, int64_t i, uint64_t v)
{
    switch (t) {
    case IR_I64: ((int64_t *)p)[i] = (int64_t)v; return;
    case IR_I32: ((int32_t *)p)[i] = (int32_t)(uint32_t)v; return;
    case IR_I16: ((int16_t *)p)[i] = (int16_t)(uint16_t)v; return;
    case IR_I8: ((int8_t *)p)[i] = (int8_t)(uint8_t)v; return;
    case IR_U64: ((uint64_t *)p)[i] = v; return;
    case IR_U32: ((uint32_t *)p)[i] = (uint32_t)v; return;
    case IR_U16: ((uint16_t *)p)[i] = (uint16_t)v; return;
    case IR_U8:
    case IR_BOOL: ((uint8_t *)p)[i] = (uint8_t)v; return;
    default: SLIMC_ASSERT(0 && "not an integer dtype");
    }
}

/* a < b in dtype t (both loaded by load_u). */
static bool less_i(DType t, uint64_t a, uint64_t b)
{
    return ir_dtype_is_unsigned(t) ? a < b : (int64_t)a < (int64_t)b;
}

/* base ** e by repeated squaring, wrapping. */
static uint64_t pow_u(uint64_t base, uint64_t e)
{
    uint64_t r = 1;
    while (e) {
        if (e & 1u)
            r *= base;
        base *= base;
        e >>= 1;
    }
    return r;
}

static uint64_t binary_i(OpKind op, DType t, uint64_t a, uint64_t b)
{
    bool u = ir_dtype_is_unsigned(t);
    int bits = ir_dtype_bits(t);
    /* the ops with IR_F_INTS or IR_F_INT_ONLY (ops.def); integer ops are no expressions */
    if (op == IR_OP_ADD)
        return a + b;
    if (op == IR_OP_SUB)
        return a - b;
    if (op == IR_OP_MUL)
        return a * b;
    if (op == IR_OP_DIV) {
        if (b == 0)
            return 0;
        if (u)
            return a / b;
        if ((int64_t)b == -1)
            return 0 - a;
        return (uint64_t)((int64_t)a / (int64_t)b);
    }
    if (op == IR_OP_MINIMUM)
        return less_i(t, a, b) ? a : b;
    if (op == IR_OP_MAXIMUM)
        return less_i(t, b, a) ? a : b;
    if (op == IR_OP_POW) {
        if (!u && (int64_t)b < 0)
            return (int64_t)a == 1 ? 1 : (int64_t)a == -1 ? ((b & 1u) ? a : 1) : 0;
        return pow_u(a, b);
    }
    if (op == IR_OP_BITWISE_AND)
        return a & b;
    if (op == IR_OP_BITWISE_OR)
        return a | b;
    if (op == IR_OP_BITWISE_XOR)
        return a ^ b;
    if (op == IR_OP_BITSHIFT_LEFT)
        return (!u && (int64_t)b < 0) || b >= (uint64_t)bits ? 0 : a << b;
    SLIMC_ASSERT(op == IR_OP_BITSHIFT_RIGHT && "not a binary op on integers");
    if ((!u && (int64_t)b < 0) || b >= (uint64_t)bits)
        return 0;
    /* the value's own width: unsigned shifts in zeros, signed copies the sign */
    return u ? a >> b : (uint64_t)((int64_t)a >> b);
}

static uint64_t unary_i(OpKind op, DType t, uint64_t x, uint64_t lo, uint64_t hi)
{
    bool neg = !ir_dtype_is_unsigned(t) && (int64_t)x < 0;
    if (op == IR_OP_RELU)
        return neg ? 0 : x;
    if (op == IR_OP_NEG)
        return 0 - x;
    if (op == IR_OP_ABS)
        return neg ? 0 - x : x;
    if (op == IR_OP_BITWISE_NOT)
        return ~x;
    SLIMC_ASSERT(op == IR_OP_CLIP && "not a unary op on integers");
    return less_i(t, x, lo) ? lo : less_i(t, hi, x) ? hi : x;
}

/* ---- the kernels ---- */

static void eval_binary(const EvalCtx *c, DType t)
{
    int64_t sa[IR_MAX_RANK], sb[IR_MAX_RANK];
    bcast_strides(&c->out_dims, &c->in_dims[0], sa);
    bcast_strides(&c->out_dims, &c->in_dims[1], sb);
    int64_t total = dims_numel(&c->out_dims);
    for (int64_t i = 0; i < total; i++) {
        int64_t ia = bcast_offset(&c->out_dims, sa, i), ib = bcast_offset(&c->out_dims, sb, i);
        if (ir_dtype_is_float(t)) {
            double v = ir_eval_scalar_f64(c->n->op, ir_eval_load_f(t, c->in[0], ia),
                                          ir_eval_load_f(t, c->in[1], ib), 0.0, 0.0);
            ir_eval_store_cast(t, c->out_raw, i, IR_F64, &v, 0);
        } else {
            store_u(t, c->out_raw, i,
                    binary_i(c->n->op, t, load_u(t, c->in[0], ia), load_u(t, c->in[1], ib)));
        }
    }
}

static void eval_unary(const EvalCtx *c, DType t)
{
    const Node *n = c->n;
    int64_t total = dims_numel(&c->out_dims);
    double p0 = n->op == IR_OP_CLIP ? ir_attr_min(n) : ir_attr_negative_slope(n);
    double p1 = ir_attr_max(n);
    uint64_t lo = 0, hi = 0;
    if (n->op == IR_OP_CLIP && !ir_dtype_is_float(t))
        ir_clip_bounds_int(n, t, &lo, &hi);
    for (int64_t i = 0; i < total; i++) {
        if (ir_dtype_is_float(t)) {
            double v = ir_eval_scalar_f64(n->op, ir_eval_load_f(t, c->in[0], i), 0.0, p0, p1);
            ir_eval_store_cast(t, c->out_raw, i, IR_F64, &v, 0);
        } else {
            store_u(t, c->out_raw, i, unary_i(n->op, t, load_u(t, c->in[0], i), lo, hi));
        }
    }
}

/* Reductions as ir_eval_reduce, accumulating in double (floats) or 64-bit integers. */
static void eval_reduce(const EvalCtx *c, DType t)
{
    const Dims *xs = &c->in_dims[0];
    const Attr *at = ir_node_attr_id(c->n, IR_A_axes);
    unsigned mask = 0;
    if (!at || at->n_ints == 0)
        mask = (1u << xs->rank) - 1;
    for (int i = 0; at && i < at->n_ints; i++)
        mask |= 1u << (at->ints[i] < 0 ? at->ints[i] + xs->rank : at->ints[i]);
    int64_t ost[IR_MAX_RANK], s = 1, count = 1;
    for (int i = xs->rank - 1; i >= 0; i--) {
        if (mask & (1u << i)) {
            ost[i] = 0;
            count *= xs->d[i];
        } else {
            ost[i] = s;
            s *= xs->d[i];
        }
    }
    int64_t total_out = dims_numel(&c->out_dims), total = dims_numel(xs);
    OpKind op = c->n->op;
    bool fl = ir_dtype_is_float(t);
    Arena *a = ir_arena_new();
    double *accf = ir_arena_alloc(a, sizeof(double) * (size_t)(total_out + 1));
    uint64_t *acci = ir_arena_alloc(a, sizeof(uint64_t) * (size_t)(total_out + 1));
    bool *seen = ir_arena_alloc(a, sizeof(bool) * (size_t)(total_out + 1));
    for (int64_t i = 0; i < total_out; i++) {
        accf[i] = op == IR_OP_REDUCE_MAX ? -INFINITY : op == IR_OP_REDUCE_MIN ? INFINITY : 0.0;
        acci[i] = 0;
        seen[i] = false;
    }
    for (int64_t i = 0; i < total; i++) {
        int64_t o = bcast_offset(xs, ost, i);
        if (fl) {
            double v = ir_eval_load_f(t, c->in[0], i);
            if (op == IR_OP_REDUCE_MAX)
                accf[o] = (v > accf[o] || isnan(v)) && !isnan(accf[o]) ? v : accf[o];
            else if (op == IR_OP_REDUCE_MIN)
                accf[o] = (v < accf[o] || isnan(v)) && !isnan(accf[o]) ? v : accf[o];
            else
                accf[o] += v;
            continue;
        }
        uint64_t v = load_u(t, c->in[0], i);
        if (op == IR_OP_REDUCE_SUM)
            acci[o] += v;
        else if (!seen[o] ||
                 (op == IR_OP_REDUCE_MAX ? less_i(t, acci[o], v) : less_i(t, v, acci[o])))
            acci[o] = v;
        seen[o] = true;
    }
    for (int64_t i = 0; i < total_out; i++) {
        if (fl) {
            double v = op == IR_OP_REDUCE_MEAN && count ? accf[i] / (double)count : accf[i];
            ir_eval_store_cast(t, c->out_raw, i, IR_F64, &v, 0);
        } else {
            /* an empty max/min is the dtype's lowest/highest value */
            uint64_t v = acci[i];
            if (!seen[i] && op == IR_OP_REDUCE_MAX)
                v = (uint64_t)ir_dtype_int_min(t);
            else if (!seen[i] && op == IR_OP_REDUCE_MIN)
                v = ir_dtype_uint_max(t);
            store_u(t, c->out_raw, i, v);
        }
    }
    ir_arena_free(a);
}

/* v toward zero as an int64, 0 for NaN and what does not fit (as the generated code). */
static int64_t f2i(double v)
{
    return v == v && fabs(v) < 9.2e18 ? (int64_t)v : 0;
}

/* cast from or to float8, f4e2m1, i4, u4, i2, u2: integers convert exactly (and wrap to
 * the packed width), floats through double (float to integer truncates toward zero). The
 * dtypes of fewer than 8 bits pack from the low bits of each byte up. */
static void eval_cast_narrow(const EvalCtx *c, DType from, DType to)
{
    bool saturate = ir_attr_saturate(c->n) != 0;
    int round_mode = (int)ir_attr_round_mode(c->n);
    bool int_src = !ir_dtype_is_float(from) && !ir_dtype_is_f8(from) && from != IR_F4E2M1;
    int fb = ir_dtype_bits(from), tb = ir_dtype_bits(to);
    unsigned fmask = (1u << (fb < 8 ? fb : 0)) - 1u, tmask = (1u << (tb < 8 ? tb : 0)) - 1u;
    int64_t total = dims_numel(&c->out_dims);
    const uint8_t *x = c->in[0];
    uint8_t *o = c->out_raw;
    if (tb < 8)
        memset(o, 0, ir_dtype_bytes(to, total));
    for (int64_t i = 0; i < total; i++) {
        uint64_t iv = 0;
        double v;
        if (fb < 8) {
            unsigned raw = (unsigned)(x[(i * fb) >> 3] >> ((i * fb) & 7)) & fmask;
            bool neg = (from == IR_I4 || from == IR_I2) && raw > fmask / 2;
            iv = neg ? (uint64_t)raw - (uint64_t)fmask - 1u : raw;
            v = from == IR_F4E2M1 ? ir_f4_value(raw) : (double)(int64_t)iv;
        } else if (ir_dtype_is_f8(from)) {
            v = from == IR_F8E8M0 ? ir_e8m0_value(x[i]) : ir_f8_value(from, x[i]);
        } else if (int_src) {
            iv = load_u(from, x, i);
            v = ir_dtype_is_unsigned(from) ? (double)iv : (double)(int64_t)iv;
        } else {
            v = ir_eval_load_f(from, x, i);
        }
        if (tb < 8) {
            uint64_t q = to == IR_F4E2M1 ? ir_f4_bits(v) : int_src ? iv : (uint64_t)f2i(v);
            o[(i * tb) >> 3] |= (uint8_t)((q & tmask) << ((i * tb) & 7));
        } else if (ir_dtype_is_f8(to)) {
            o[i] = to == IR_F8E8M0 ? ir_e8m0_bits(v, round_mode, saturate)
                                   : ir_f8_bits(to, v, saturate);
        } else if (int_src && to == IR_BOOL) {
            o[i] = iv != 0;
        } else if (int_src && ir_dtype_is_int(to)) {
            store_u(to, o, i, iv);
        } else {
            ir_eval_store_cast(to, o, i, IR_F64, &v, 0);
        }
    }
}

bool ir_eval_typed(const EvalCtx *c)
{
    const Node *n = c->n;
    DType t = c->g->values[n->inputs[0]].type.dtype;
    if (n->n_epilogue) {
        ir_diag_error(c->d, n->loc, "%s '%s': no reference implementation for an epilogue in %s",
                      ir_ops[n->op].name, n->name, ir_dtype_name(t));
        return false;
    }
    if (n->op == IR_OP_REDUCE_SUM || n->op == IR_OP_REDUCE_MEAN || n->op == IR_OP_REDUCE_MAX ||
        n->op == IR_OP_REDUCE_MIN) {
        eval_reduce(c, t);
        return true;
    }
    if (n->op == IR_OP_CAST) {
        eval_cast_narrow(c, t, c->g->values[n->outputs[0]].type.dtype);
        return true;
    }
    SLIMC_ASSERT(ir_op_is_elementwise(n->op));
    if (ir_ops[n->op].flags & IR_F_BINARY)
        eval_binary(c, t);
    else
        eval_unary(c, t);
    return true;
}
