/* The CUDA backend's op table (codegen/cuda/op_table.h): one row per op kind, by family. A
 * new kernel adds its row here and IR_BE_CUDA to its ops.def row. */
#include "codegen/cuda/op_table.h"
#include "codegen/cuda/gemm.h"
#include "codegen/cuda/norm.h"
#include "codegen/cuda/data_move.h"
#include "codegen/cuda/quant.h"
#include "codegen/cuda/attention.h"

/* Views (squeeze, unsqueeze, flatten, reshape) have no kernel: the host half aliases the
 * buffer (emit.c never calls this; the row says the op is implemented). */
static void emit_view(CgCtx *c, NodeId id)
{
    (void)c, (void)id;
}

#define ANY .check = CU_CHECK_ANY
#define OWN .check = CU_CHECK_OWN

const CuOpEmitter cu_ops[IR_NUM_OPS] = {
/* elementwise.c: every op whose ops.def row has a scalar expression, E(...); f32 there,
 * other dtypes forwarded to elementwise_dtypes.c (so each checks its own dtypes) */
#define CU_ROW_IF_1(e) [IR_OP_##e] = {.emit = cu_emit_elementwise, .check = CU_CHECK_OWN},
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
    /* elementwise_dtypes.c */
    [IR_OP_BITWISE_AND] = {.emit = cu_emit_elementwise_typed, OWN},
    [IR_OP_BITWISE_OR] = {.emit = cu_emit_elementwise_typed, OWN},
    [IR_OP_BITWISE_XOR] = {.emit = cu_emit_elementwise_typed, OWN},
    [IR_OP_BITWISE_NOT] = {.emit = cu_emit_elementwise_typed, OWN},
    [IR_OP_BITSHIFT_LEFT] = {.emit = cu_emit_elementwise_typed, OWN},
    [IR_OP_BITSHIFT_RIGHT] = {.emit = cu_emit_elementwise_typed, OWN},
    [IR_OP_MOD] = {.emit = cu_emit_mod, OWN},
    /* data_move.c */
    [IR_OP_EQ] = {.emit = cu_emit_compare, OWN},
    [IR_OP_NE] = {.emit = cu_emit_compare, OWN},
    [IR_OP_LT] = {.emit = cu_emit_compare, OWN},
    [IR_OP_LE] = {.emit = cu_emit_compare, OWN},
    [IR_OP_GT] = {.emit = cu_emit_compare, OWN},
    [IR_OP_GE] = {.emit = cu_emit_compare, OWN},
    [IR_OP_WHERE] = {.emit = cu_emit_where, ANY},
    [IR_OP_CAST] = {.emit = cu_emit_cast, OWN},
    [IR_OP_PERMUTE] = {.emit = cu_emit_gather_copy, ANY},
    [IR_OP_EXPAND] = {.emit = cu_emit_gather_copy, ANY},
    [IR_OP_SLICE] = {.emit = cu_emit_slice, ANY},
    [IR_OP_PAD] = {.emit = cu_emit_pad, ANY},
    [IR_OP_CONCAT] = {.emit = cu_emit_concat, ANY},
    [IR_OP_INDEX_SELECT] = {.emit = cu_emit_index_select, ANY},
    [IR_OP_EMBEDDING] = {.emit = cu_emit_embedding, OWN},
    [IR_OP_RESIZE] = {.emit = cu_emit_resize},
    [IR_OP_RESIZE_AXIS] = {.emit = cu_emit_resize_axis, OWN},
    /* index_ops.c */
    [IR_OP_ARGMAX] = {.emit = cu_emit_argreduce, OWN},
    [IR_OP_ARGMIN] = {.emit = cu_emit_argreduce, OWN},
    [IR_OP_GATHER_ELEMENTS] = {.emit = cu_emit_gather_elements, OWN},
    [IR_OP_SCATTER_ELEMENTS] = {.emit = cu_emit_scatter_elements, OWN},
    [IR_OP_CUMSUM] = {.emit = cu_emit_cumsum, OWN},
    [IR_OP_GATHER_ND] = {.emit = cu_emit_gather_nd, OWN},
    [IR_OP_SCATTER_ND] = {.emit = cu_emit_scatter_nd, OWN},
    [IR_OP_TOPK] = {.emit = cu_emit_topk, OWN},
    [IR_OP_GRID_SAMPLE] = {.emit = cu_emit_grid_sample, OWN},
    [IR_OP_ROI_ALIGN] = {.emit = cu_emit_roi_align, OWN},
    /* views: no code */
    [IR_OP_SQUEEZE] = {.emit = emit_view, ANY},
    [IR_OP_UNSQUEEZE] = {.emit = emit_view, ANY},
    [IR_OP_DROPOUT] = {.emit = emit_view, ANY},
    [IR_OP_FLATTEN] = {.emit = emit_view, ANY},
    [IR_OP_RESHAPE] = {.emit = emit_view, ANY},
    /* a copy between the CPU and the GPU: the host half's rt->to_host / rt->to_device
     * (emit.c), no kernel */
    [IR_OP_TRANSFER] = {.emit = emit_view, ANY},
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
    [IR_OP_ATTENTION] = {.emit = cu_emit_attention_op}, /* attention.c */
    [IR_OP_GROUP_NORM] = {.emit = cu_emit_group_norm},
    /* reduce.c (f32, and the other dtypes of their ops.def rows: the emitter checks) */
    [IR_OP_REDUCE_SUM] = {.emit = cu_emit_reduce, OWN},
    [IR_OP_REDUCE_MEAN] = {.emit = cu_emit_reduce, OWN},
    [IR_OP_REDUCE_MAX] = {.emit = cu_emit_reduce, OWN},
    [IR_OP_REDUCE_MIN] = {.emit = cu_emit_reduce, OWN},
    [IR_OP_REDUCE_PROD] = {.emit = cu_emit_reduce},
    /* quant.c: the int8 path (u8 activations, s8 / s4 weights; the emitters check dtypes) */
    [IR_OP_QUANTIZE] = {.emit = cu_emit_qdq, OWN},
    [IR_OP_DEQUANTIZE] = {.emit = cu_emit_qdq, OWN},
    [IR_OP_QLINEAR] = {.emit = cu_emit_qlinear, OWN},
    [IR_OP_QCONV2D] = {.emit = cu_emit_qconv2d, OWN},
    [IR_OP_DQLINEAR] = {.emit = cu_emit_dqlinear, OWN},
    [IR_OP_WLINEAR] = {.emit = cu_emit_wlinear, OWN},
};
