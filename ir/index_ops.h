/* Shared by the index ops' shape functions (ir/shape_index.c), reference (ir/eval_index.c)
 * and kernels (codegen/c/index_ops.c). */
#ifndef SLIMC_IR_INDEX_OPS_H
#define SLIMC_IR_INDEX_OPS_H

#include "ir/types.h"

/* The dtypes the index ops take: whole bytes with a plain C type (f64 f32 f16 bf16, the
 * signed and unsigned integers of 8 to 64 bits, bool); not the packed 4-bit or the 8-bit
 * float formats. */
bool ir_index_dtype_plain(DType t);

#endif
