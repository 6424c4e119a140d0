/* Which dtypes the elementwise ops compute in besides f32 (the fast path every op has):
 * f64 in double, f16 and bf16 through float, and the integers (i8..i64, u8..u64) in their
 * own type with C's semantics (wrapping add/sub/mul, division truncating toward zero).
 * One rule for shape inference, the reference evaluator and the C emitter. */
#ifndef SLIMC_IR_DTYPE_OPS_H
#define SLIMC_IR_DTYPE_OPS_H

#include "ir/graph.h"

bool ir_dtype_is_float(DType t);    /* f64 f32 f16 bf16 */
bool ir_dtype_is_int(DType t);      /* i8..i64, u8..u64 (not i4, not bool) */
bool ir_dtype_is_unsigned(DType t); /* u8 u16 u32 u64, and bool (as u8) */
/* The storage dtypes only cast computes with: float8, and those of fewer than 8 bits (i4,
 * u4, f4e2m1, i2, u2), packed from the low bits of each byte up. */
bool ir_dtype_is_narrow(DType t);
/* The range of an integer dtype, as int64 (u64's max does not fit: callers use the
 * unsigned form for it). */
int64_t ir_dtype_int_min(DType t);
uint64_t ir_dtype_uint_max(DType t);
/* clip's bounds (its f64 attributes, -inf and +inf when absent) as integers of dtype t,
 * rounded inward and clamped to t's range, in the 64-bit form of ir/eval_dtypes.c
 * (signed values sign-extended). */
void ir_clip_bounds_int(const Node *n, DType t, uint64_t *lo, uint64_t *hi);

/* True when op accepts operands of dtype t (the shape functions' rule): every op takes f32
 * but the bitwise ones, which take integers only. */
bool ir_op_takes_dtype(OpKind op, DType t);
/* True when node n of an elementwise or reduce op computes in a dtype other than f32, or
 * is a cast from or to a narrow dtype (the typed paths of ir/eval_dtypes.c and
 * codegen/c/elementwise_dtypes.c). */
bool ir_node_is_typed_elementwise(const Graph *g, const Node *n);

#endif
