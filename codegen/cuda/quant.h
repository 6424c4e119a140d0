/* The int8 family of the CUDA backend (codegen/cuda/quant.c): quantize, dequantize,
 * qlinear, qconv2d, dqlinear (dynamic int8), wlinear (weight-only i8 / i4, f16 / bf16).
 * The lead folds these declarations into cu.h. */
#ifndef SLIMC_CODEGEN_CUDA_QUANT_H
#define SLIMC_CODEGEN_CUDA_QUANT_H

#include "codegen/cuda/cu.h"

/* quantize (f32 -> u8) and dequantize (u8 -> f32, with the node's epilogue) */
void cu_emit_qdq(CgCtx *c, NodeId id);
/* qlinear: u8 x s8 -> i32 (tensor cores or dp4a) -> f32 or requantized u8 */
void cu_emit_qlinear(CgCtx *c, NodeId id);
/* qconv2d: implicit GEMM (groups, stride, padding, dilation); depthwise: direct */
void cu_emit_qconv2d(CgCtx *c, NodeId id);
/* dqlinear: x's u8 parameters found on the GPU, then qlinear's GEMM */
void cu_emit_dqlinear(CgCtx *c, NodeId id);
/* wlinear: f32 tiles, the weight decoded as it is loaded */
void cu_emit_wlinear(CgCtx *c, NodeId id);

#endif
