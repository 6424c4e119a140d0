/* The C backend's op table (codegen/c/op_table.h): one row per op kind, by family. A new op
 * adds its row here; tests/unit/test_backend.c fails while an op the backend claims has no
 * row. */
#include "codegen/c/op_table.h"
#include "codegen/c/cg_internal.h"

/* Views (squeeze, unsqueeze, flatten, reshape) have no body: the entry aliases the buffer
 * (emit.c never calls this; it is the row that says the op is implemented). */
static void emit_view(CgCtx *c, NodeId id, CgKernel *k)
{
    (void)c, (void)id, (void)k;
}

#define PLAIN .check = CG_CHECK_PLAIN
#define QUANT .check = CG_CHECK_QUANT

const CgOpEmitter cg_c_ops[IR_NUM_OPS] = {
    /* gemm.c, conv.c */
    [IR_OP_LINEAR] = {cg_emit_linear},
    [IR_OP_MATMUL] = {cg_emit_matmul},
    [IR_OP_CONV2D] = {cg_emit_conv2d},
    [IR_OP_CONV_TRANSPOSE2D] = {cg_emit_conv_transpose2d},
/* elementwise.c (f32; other dtypes forwarded to elementwise_dtypes.c): every op whose
 * ops.def row has a scalar expression, E(...), so a new elementwise row needs no line here */
#define CG_ROW_IF_1(e) [IR_OP_##e] = {cg_emit_elementwise},
#define CG_ROW_IF_0(e)
#define CG_ROW_CAT_(a, b) a##b
#define CG_ROW_CAT(a, b)  CG_ROW_CAT_(a, b)
#define E(...)            1
#define NOEXPR            0
#define OP(e, name, fam, mn, mx, flags, cost, bytes, be, shape, attrs, expr)                       \
    CG_ROW_CAT(CG_ROW_IF_, expr)(e)
#include "ir/ops.def"
#undef OP
#undef E
#undef NOEXPR
#undef CG_ROW_CAT
#undef CG_ROW_CAT_
#undef CG_ROW_IF_0
#undef CG_ROW_IF_1
    /* elementwise_dtypes.c */
    [IR_OP_BITWISE_AND] = {cg_emit_elementwise_typed},
    [IR_OP_BITWISE_OR] = {cg_emit_elementwise_typed},
    [IR_OP_BITWISE_XOR] = {cg_emit_elementwise_typed},
    [IR_OP_BITWISE_NOT] = {cg_emit_elementwise_typed},
    [IR_OP_BITSHIFT_LEFT] = {cg_emit_elementwise_typed},
    [IR_OP_BITSHIFT_RIGHT] = {cg_emit_elementwise_typed},
    /* elementwise_mod.c */
    [IR_OP_MOD] = {cg_emit_mod, PLAIN},
    /* data_move.c */
    [IR_OP_EQ] = {cg_emit_compare},
    [IR_OP_NE] = {cg_emit_compare},
    [IR_OP_LT] = {cg_emit_compare},
    [IR_OP_LE] = {cg_emit_compare},
    [IR_OP_GT] = {cg_emit_compare},
    [IR_OP_GE] = {cg_emit_compare},
    [IR_OP_WHERE] = {cg_emit_where},
    [IR_OP_CAST] = {cg_emit_cast},
    [IR_OP_PERMUTE] = {cg_emit_gather_copy},
    [IR_OP_EXPAND] = {cg_emit_gather_copy},
    [IR_OP_SLICE] = {cg_emit_slice},
    [IR_OP_PAD] = {cg_emit_pad},
    [IR_OP_CONCAT] = {cg_emit_concat},
    [IR_OP_INDEX_SELECT] = {cg_emit_index_select},
    /* views: no code */
    [IR_OP_SQUEEZE] = {emit_view},
    [IR_OP_UNSQUEEZE] = {emit_view},
    [IR_OP_FLATTEN] = {emit_view},
    [IR_OP_RESHAPE] = {emit_view},
    /* data.c */
    [IR_OP_EMBEDDING] = {cg_emit_embedding},
    /* pool.c */
    [IR_OP_MAX_POOL2D] = {cg_emit_pool},
    [IR_OP_AVG_POOL2D] = {cg_emit_pool},
    [IR_OP_ADAPTIVE_AVG_POOL2D] = {cg_emit_adaptive_pool},
    [IR_OP_POOL_ND] = {cg_emit_pool_nd, PLAIN},
    /* norm.c */
    [IR_OP_SOFTMAX] = {cg_emit_softmax},
    [IR_OP_LOG_SOFTMAX] = {cg_emit_softmax},
    [IR_OP_BATCH_NORM] = {cg_emit_batch_norm},
    [IR_OP_LAYER_NORM] = {cg_emit_layer_norm},
    [IR_OP_GROUP_NORM] = {cg_emit_group_norm},
    /* reduce.c */
    [IR_OP_REDUCE_SUM] = {cg_emit_reduce},
    [IR_OP_REDUCE_MEAN] = {cg_emit_reduce},
    [IR_OP_REDUCE_MAX] = {cg_emit_reduce},
    [IR_OP_REDUCE_MIN] = {cg_emit_reduce},
    [IR_OP_REDUCE_PROD] = {cg_emit_reduce_prod, PLAIN},
    /* resize.c */
    [IR_OP_RESIZE] = {cg_emit_resize},
    [IR_OP_RESIZE_AXIS] = {cg_emit_resize_axis, PLAIN},
    /* index_ops.c */
    [IR_OP_ARGMAX] = {cg_emit_argreduce, PLAIN},
    [IR_OP_ARGMIN] = {cg_emit_argreduce, PLAIN},
    [IR_OP_GATHER_ELEMENTS] = {cg_emit_gather_elements, PLAIN},
    [IR_OP_SCATTER_ELEMENTS] = {cg_emit_scatter_elements, PLAIN},
    [IR_OP_CUMSUM] = {cg_emit_cumsum, PLAIN},
    [IR_OP_GRID_SAMPLE] = {cg_emit_grid_sample, PLAIN},
    [IR_OP_TOPK] = {cg_emit_topk, PLAIN},
    [IR_OP_GATHER_ND] = {cg_emit_gather_nd, PLAIN},
    [IR_OP_SCATTER_ND] = {cg_emit_scatter_nd, PLAIN},
    [IR_OP_ROI_ALIGN] = {cg_emit_roi_align, PLAIN},
    /* quant.c */
    [IR_OP_QUANTIZE] = {cg_emit_qdq, QUANT},
    [IR_OP_DEQUANTIZE] = {cg_emit_qdq, QUANT},
    [IR_OP_QLINEAR] = {cg_emit_qlinear, QUANT},
    [IR_OP_QCONV2D] = {cg_emit_qconv2d, QUANT},
    [IR_OP_WLINEAR] = {cg_emit_wlinear, QUANT},
    [IR_OP_DQLINEAR] = {cg_emit_dqlinear, QUANT},
};
