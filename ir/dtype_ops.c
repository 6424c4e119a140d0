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
    double l = ceil(ir_attr_min(n));
    double h = floor(ir_attr_max(n));
    l = l == l ? l : -INFINITY; /* a NaN bound bounds nothing */
    h = h == h ? h : INFINITY;
    uint64_t tmin = (uint64_t)ir_dtype_int_min(t), tmax = ir_dtype_uint_max(t);
    double dmin = (double)ir_dtype_int_min(t), dmax = (double)tmax;
    bool u = ir_dtype_is_unsigned(t);
    *lo = l <= dmin ? tmin : l >= dmax ? tmax : u ? (uint64_t)l : (uint64_t)(int64_t)l;
    *hi = h <= dmin ? tmin : h >= dmax ? tmax : u ? (uint64_t)h : (uint64_t)(int64_t)h;
}

/* Which dtypes an op computes in beside f32: ops.def's IR_F_INTS, IR_F_FLOATS and
 * IR_F_INT_ONLY columns. */
static bool int_op(OpKind op)
{
    return (ir_ops[op].flags & IR_F_INTS) != 0;
}

static bool float_op(OpKind op)
{
    return (ir_ops[op].flags & IR_F_FLOATS) != 0;
}

static bool bitwise_op(OpKind op)
{
    return (ir_ops[op].flags & IR_F_INT_ONLY) != 0;
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
