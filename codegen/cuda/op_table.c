/* The CUDA backend's op table (codegen/cuda/op_table.h): one row per op kind, by family. A
 * new kernel adds its row here and IR_BE_CUDA to its ops.def row. */
#include "codegen/cuda/op_table.h"
#include "codegen/cuda/gemm.h"
#include "codegen/cuda/norm.h"

/* Views (squeeze, unsqueeze, flatten, reshape) have no kernel: the host half aliases the
 * buffer (emit.c never calls this; the row says the op is implemented). */
static void emit_view(CgCtx *c, NodeId id)
{
    (void)c, (void)id;
}

#define ANY .check = CU_CHECK_ANY
#define OWN .check = CU_CHECK_OWN

const CuOpEmitter cu_ops[IR_NUM_OPS] = {
/* elementwise.c: every op whose ops.def row has a scalar expression, E(...) */
#define CU_ROW_IF_1(e) [IR_OP_##e] = {.emit = cu_emit_elementwise},
#define CU_ROW_IF_0(e)
#define CU_ROW_CAT_(a, b) a##b
#define CU_ROW_CAT(a, b)  CU_ROW_CAT_(a, b)
#define E(...)            1
#define NOEXPR            0
#define OP(e, name, fam, mn, mx, flags, cost, bytes, be, shape, attrs, expr)                       \
    CU_ROW_CAT(CU_ROW_IF_, expr)(e)
#include "ir/ops.def"
#undef OP
#undef E
#undef NOEXPR
#undef CU_ROW_CAT
#undef CU_ROW_CAT_
#undef CU_ROW_IF_0
#undef CU_ROW_IF_1
    /* gemm.c, conv.c: GEMM and convolution (f32, or f16/bf16 tensor cores by precision) */
    [IR_OP_LINEAR] = {.emit = cu_emit_linear},
    [IR_OP_MATMUL] = {.emit = cu_emit_matmul},
    [IR_OP_CONV2D] = {.emit = cu_emit_conv2d},
    [IR_OP_CONV_TRANSPOSE2D] = {.emit = cu_emit_conv_transpose2d},
    /* views: no code */
    [IR_OP_SQUEEZE] = {.emit = emit_view, ANY},
    [IR_OP_UNSQUEEZE] = {.emit = emit_view, ANY},
    [IR_OP_FLATTEN] = {.emit = emit_view, ANY},
    [IR_OP_RESHAPE] = {.emit = emit_view, ANY},
    /* pool.c */
    [IR_OP_MAX_POOL2D] = {.emit = cu_emit_pool, OWN}, /* f32, or u8 codes (pool.c) */
    [IR_OP_AVG_POOL2D] = {.emit = cu_emit_pool},
    [IR_OP_ADAPTIVE_AVG_POOL2D] = {.emit = cu_emit_adaptive_pool},
    [IR_OP_POOL_ND] = {.emit = cu_emit_pool_nd, OWN}, /* f32, or i64 indices (pool.c) */
    /* norm.c */
    [IR_OP_SOFTMAX] = {.emit = cu_emit_softmax},
    [IR_OP_LOG_SOFTMAX] = {.emit = cu_emit_softmax},
    [IR_OP_BATCH_NORM] = {.emit = cu_emit_batch_norm},
    [IR_OP_LAYER_NORM] = {.emit = cu_emit_layer_norm},
    [IR_OP_GROUP_NORM] = {.emit = cu_emit_group_norm},
    /* reduce.c */
    [IR_OP_REDUCE_SUM] = {.emit = cu_emit_reduce},
    [IR_OP_REDUCE_MEAN] = {.emit = cu_emit_reduce},
    [IR_OP_REDUCE_MAX] = {.emit = cu_emit_reduce},
    [IR_OP_REDUCE_MIN] = {.emit = cu_emit_reduce},
    [IR_OP_REDUCE_PROD] = {.emit = cu_emit_reduce},
};
