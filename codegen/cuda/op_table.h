/* The CUDA backend's op table: for each op kind, the emitter that writes a node's kernels
 * and the check of its dtypes the backend runs first. Indexed by OpKind; an op without an
 * emitter has no CUDA kernel (tests/unit/test_backend.c checks the rows against
 * cg_backend_cuda.claims, which is ops.def's IR_BE_CUDA column). */
#ifndef SLIMC_CODEGEN_CUDA_OP_TABLE_H
#define SLIMC_CODEGEN_CUDA_OP_TABLE_H

#include "codegen/cuda/cu.h"

typedef enum CuCheck {
    CU_CHECK_F32, /* f32 inputs and output, unquantized; f32 epilogue operands (the default) */
    CU_CHECK_ANY, /* data movement: any unpacked dtype of 8 bits or more, no epilogue */
    CU_CHECK_OWN, /* the emitter checks (int8 ops, index ops, typed elementwise) */
} CuCheck;

typedef struct CuOpEmitter {
    CuEmitFn emit;
    CuCheck check;
} CuOpEmitter;

extern const CuOpEmitter cu_ops[IR_NUM_OPS];

#endif
