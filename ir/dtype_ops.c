/* The dtypes elementwise ops compute in (ir/dtype_ops.h). */
#include "ir/dtype_ops.h"

#include <math.h>

bool ir_dtype_is_float(DType t)
{
    return t == IR_F64 || t == IR_F32 || t == IR_F16 || t == IR_BF16;
}

bool ir_dtype_is_unsigned(DType t)
{
    return t == IR_U8 || t == IR_U16 || t == IR_U32 || t == IR_U64 || t == IR_BOOL;
}

bool ir_dtype_is_narrow(DType t)
{
    return ir_dtype_is_f8(t) || ir_dtype_bits(t) < 8;
}

bool ir_dtype_is_int(DType t)
{
    return t == IR_I64 || t == IR_I32 || t == IR_I16 || t == IR_I8 || ir_dtype_is_unsigned(t);
}

int64_t ir_dtype_int_min(DType t)
{
    if (ir_dtype_is_unsigned(t))
        return 0;
    int bits = ir_dtype_bits(t);
    return bits >= 64 ? INT64_MIN : -((int64_t)1 << (bits - 1));
}

uint64_t ir_dtype_uint_max(DType t)
{
    int bits = t == IR_BOOL ? 1 : ir_dtype_bits(t);
    if (!ir_dtype_is_unsigned(t))
        bits--;
    return bits >= 64 ? UINT64_MAX : ((uint64_t)1 << bits) - 1;
}

void ir_clip_bounds_int(const Node *n, DType t, uint64_t *lo, uint64_t *hi)
{
    double l = ceil(ir_attr_float(n, "min", -INFINITY));
    double h = floor(ir_attr_float(n, "max", INFINITY));
    l = l == l ? l : -INFINITY; /* a NaN bound bounds nothing */
    h = h == h ? h : INFINITY;
    uint64_t tmin = (uint64_t)ir_dtype_int_min(t), tmax = ir_dtype_uint_max(t);
    double dmin = (double)ir_dtype_int_min(t), dmax = (double)tmax;
    bool u = ir_dtype_is_unsigned(t);
    *lo = l <= dmin ? tmin : l >= dmax ? tmax : u ? (uint64_t)l : (uint64_t)(int64_t)l;
    *hi = h <= dmin ? tmin : h >= dmax ? tmax : u ? (uint64_t)h : (uint64_t)(int64_t)h;
}

/* Ops that compute in integers as well as in floats. */
static bool int_op(OpKind op)
{
    switch (op) {
    case IR_OP_ADD:
    case IR_OP_SUB:
    case IR_OP_MUL:
    case IR_OP_DIV:
    case IR_OP_MINIMUM:
    case IR_OP_MAXIMUM:
    case IR_OP_POW:
    case IR_OP_RELU:
    case IR_OP_NEG:
    case IR_OP_ABS:
    case IR_OP_CLIP:
    case IR_OP_REDUCE_SUM:
    case IR_OP_REDUCE_MAX:
    case IR_OP_REDUCE_MIN: return true;
    default: return false;
    }
}

/* Elementwise ops (and reductions) that compute in f64, f16 and bf16 too. */
static bool float_op(OpKind op)
{
    switch (op) {
    case IR_OP_RELU:
    case IR_OP_SIGMOID:
    case IR_OP_TANH:
    case IR_OP_RELU6:
    case IR_OP_GELU:
    case IR_OP_GELU_TANH:
    case IR_OP_SILU:
    case IR_OP_HARDSWISH:
    case IR_OP_HARDSIGMOID:
    case IR_OP_EXP:
    case IR_OP_LOG:
    case IR_OP_SQRT:
    case IR_OP_RSQRT:
    case IR_OP_NEG:
    case IR_OP_ABS:
    case IR_OP_ERF:
    case IR_OP_LEAKY_RELU:
    case IR_OP_CLIP:
    case IR_OP_ADD:
    case IR_OP_SUB:
    case IR_OP_MUL:
    case IR_OP_DIV:
    case IR_OP_MINIMUM:
    case IR_OP_MAXIMUM:
    case IR_OP_POW:
    case IR_OP_REDUCE_SUM:
    case IR_OP_REDUCE_MEAN:
    case IR_OP_REDUCE_MAX:
    case IR_OP_REDUCE_MIN: return true;
    default: return false;
    }
}

static bool bitwise_op(OpKind op)
{
    switch (op) {
    case IR_OP_BITWISE_AND:
    case IR_OP_BITWISE_OR:
    case IR_OP_BITWISE_XOR:
    case IR_OP_BITWISE_NOT:
    case IR_OP_BITSHIFT_LEFT:
    case IR_OP_BITSHIFT_RIGHT: return true;
    default: return false;
    }
}

bool ir_op_takes_dtype(OpKind op, DType t)
{
    if (t == IR_BOOL) /* as u8 (0 or 1) */
        return op == IR_OP_REDUCE_MAX || op == IR_OP_REDUCE_MIN;
    if (bitwise_op(op))
        return ir_dtype_is_int(t);
    if (t == IR_F32)
        return true;
    if (ir_dtype_is_float(t))
        return float_op(op);
    return ir_dtype_is_int(t) && int_op(op);
}

bool ir_node_is_typed_elementwise(const Graph *g, const Node *n)
{
    if (n->n_inputs < 1 || n->inputs[0] == IR_NONE)
        return false;
    const Type *t = &g->values[n->inputs[0]].type;
    if (t->quant || t->shape.rank < 0)
        return false;
    if (bitwise_op(n->op))
        return true;
    if (n->op == IR_OP_CAST)
        return ir_dtype_is_narrow(t->dtype) ||
               ir_dtype_is_narrow(g->values[n->outputs[0]].type.dtype);
    return t->dtype != IR_F32 && (float_op(n->op) || int_op(n->op) || t->dtype == IR_BOOL) &&
           ir_op_takes_dtype(n->op, t->dtype);
}
