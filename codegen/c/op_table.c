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
    [IR_OP_LINEAR] = {.emit = cg_emit_linear},
    [IR_OP_MATMUL] = {.emit = cg_emit_matmul},
    [IR_OP_CONV2D] = {.emit = cg_emit_conv2d},
    [IR_OP_CONV_TRANSPOSE2D] = {.emit = cg_emit_conv_transpose2d},
/* elementwise.c (f32; other dtypes forwarded to elementwise_dtypes.c): every op whose
 * ops.def row has a scalar expression, E(...), so a new elementwise row needs no line here */
#define CG_ROW_IF_1(e) [IR_OP_##e] = {.emit = cg_emit_elementwise},
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
    [IR_OP_BITWISE_AND] = {.emit = cg_emit_elementwise_typed},
    [IR_OP_BITWISE_OR] = {.emit = cg_emit_elementwise_typed},
    [IR_OP_BITWISE_XOR] = {.emit = cg_emit_elementwise_typed},
    [IR_OP_BITWISE_NOT] = {.emit = cg_emit_elementwise_typed},
    [IR_OP_BITSHIFT_LEFT] = {.emit = cg_emit_elementwise_typed},
    [IR_OP_BITSHIFT_RIGHT] = {.emit = cg_emit_elementwise_typed},
    /* elementwise_mod.c */
    [IR_OP_MOD] = {.emit = cg_emit_mod, PLAIN},
    /* data_move.c */
    [IR_OP_EQ] = {.emit = cg_emit_compare},
    [IR_OP_NE] = {.emit = cg_emit_compare},
    [IR_OP_LT] = {.emit = cg_emit_compare},
    [IR_OP_LE] = {.emit = cg_emit_compare},
    [IR_OP_GT] = {.emit = cg_emit_compare},
    [IR_OP_GE] = {.emit = cg_emit_compare},
    [IR_OP_WHERE] = {.emit = cg_emit_where},
    [IR_OP_CAST] = {.emit = cg_emit_cast},
    [IR_OP_PERMUTE] = {.emit = cg_emit_gather_copy},
    [IR_OP_EXPAND] = {.emit = cg_emit_gather_copy},
    [IR_OP_SLICE] = {.emit = cg_emit_slice},
    [IR_OP_PAD] = {.emit = cg_emit_pad},
    [IR_OP_CONCAT] = {.emit = cg_emit_concat},
    [IR_OP_INDEX_SELECT] = {.emit = cg_emit_index_select},
    /* views: no code */
    [IR_OP_SQUEEZE] = {.emit = emit_view},
    [IR_OP_UNSQUEEZE] = {.emit = emit_view},
    [IR_OP_DROPOUT] = {.emit = emit_view},
    [IR_OP_FLATTEN] = {.emit = emit_view},
    [IR_OP_RESHAPE] = {.emit = emit_view},
    /* data.c */
    [IR_OP_EMBEDDING] = {.emit = cg_emit_embedding},
    /* pool.c */
    [IR_OP_MAX_POOL2D] = {.emit = cg_emit_pool},
    [IR_OP_AVG_POOL2D] = {.emit = cg_emit_pool},
    [IR_OP_ADAPTIVE_AVG_POOL2D] = {.emit = cg_emit_adaptive_pool},
    [IR_OP_POOL_ND] = {.emit = cg_emit_pool_nd, PLAIN},
    /* norm.c */
    [IR_OP_SOFTMAX] = {.emit = cg_emit_softmax},
    [IR_OP_LOG_SOFTMAX] = {.emit = cg_emit_softmax},
    [IR_OP_BATCH_NORM] = {.emit = cg_emit_batch_norm},
    [IR_OP_LAYER_NORM] = {.emit = cg_emit_layer_norm},
    [IR_OP_ATTENTION] = {.emit = cg_emit_attention}, /* attention.c */
    [IR_OP_RNN] = {.emit = cg_emit_rnn},             /* rnn.c: RNN, GRU, LSTM */
    [IR_OP_GROUP_NORM] = {.emit = cg_emit_group_norm},
    /* reduce.c */
    [IR_OP_REDUCE_SUM] = {.emit = cg_emit_reduce},
    [IR_OP_REDUCE_MEAN] = {.emit = cg_emit_reduce},
    [IR_OP_REDUCE_MAX] = {.emit = cg_emit_reduce},
    [IR_OP_REDUCE_MIN] = {.emit = cg_emit_reduce},
    [IR_OP_REDUCE_PROD] = {.emit = cg_emit_reduce_prod, PLAIN},
    /* resize.c */
    [IR_OP_RESIZE] = {.emit = cg_emit_resize},
    [IR_OP_RESIZE_AXIS] = {.emit = cg_emit_resize_axis, PLAIN},
    /* index_ops.c */
    [IR_OP_ARGMAX] = {.emit = cg_emit_argreduce, PLAIN},
    [IR_OP_ARGMIN] = {.emit = cg_emit_argreduce, PLAIN},
    [IR_OP_GATHER_ELEMENTS] = {.emit = cg_emit_gather_elements, PLAIN},
    [IR_OP_SCATTER_ELEMENTS] = {.emit = cg_emit_scatter_elements, PLAIN},
    [IR_OP_CUMSUM] = {.emit = cg_emit_cumsum, PLAIN},
    [IR_OP_GRID_SAMPLE] = {.emit = cg_emit_grid_sample, PLAIN},
    [IR_OP_TOPK] = {.emit = cg_emit_topk, PLAIN},
    [IR_OP_GATHER_ND] = {.emit = cg_emit_gather_nd, PLAIN},
    [IR_OP_SCATTER_ND] = {.emit = cg_emit_scatter_nd, PLAIN},
    [IR_OP_ROI_ALIGN] = {.emit = cg_emit_roi_align, PLAIN},
    /* quant.c */
    [IR_OP_QUANTIZE] = {.emit = cg_emit_qdq, QUANT},
    [IR_OP_QADD] = {.emit = cg_emit_qadd, QUANT},
    [IR_OP_DEQUANTIZE] = {.emit = cg_emit_qdq, QUANT},
    [IR_OP_QLINEAR] = {.emit = cg_emit_qlinear, QUANT},
    [IR_OP_QCONV2D] = {.emit = cg_emit_qconv2d, QUANT},
    [IR_OP_WLINEAR] = {.emit = cg_emit_wlinear, QUANT},
    [IR_OP_DQLINEAR] = {.emit = cg_emit_dqlinear, QUANT},
    /* grad.c: training (f32 but the labels and indices, which their shape functions check:
     * hence QUANT's check) */
    [IR_OP_MAX_POOL2D_GRAD] = {.emit = cg_emit_pool_grad},
    [IR_OP_AVG_POOL2D_GRAD] = {.emit = cg_emit_pool_grad},
    [IR_OP_ADAPTIVE_AVG_POOL2D_GRAD] = {.emit = cg_emit_pool_grad},
    [IR_OP_CONV2D_WEIGHT_GRAD] = {.emit = cg_emit_conv2d_weight_grad},
    [IR_OP_EMBEDDING_GRAD] = {.emit = cg_emit_embedding_grad, QUANT},
    [IR_OP_CROSS_ENTROPY] = {.emit = cg_emit_class_loss, QUANT},
    [IR_OP_CROSS_ENTROPY_GRAD] = {.emit = cg_emit_class_loss, QUANT},
    [IR_OP_NLL_LOSS] = {.emit = cg_emit_class_loss, QUANT},
    [IR_OP_NLL_LOSS_GRAD] = {.emit = cg_emit_class_loss, QUANT},
    [IR_OP_DISTILL_LOSS] = {.emit = cg_emit_class_loss, QUANT},
    [IR_OP_DISTILL_LOSS_GRAD] = {.emit = cg_emit_class_loss, QUANT},
    [IR_OP_MSE_LOSS] = {.emit = cg_emit_mse},
    [IR_OP_MSE_LOSS_GRAD] = {.emit = cg_emit_mse},
    [IR_OP_FAKE_QUANT] = {.emit = cg_emit_fake_quant},
    [IR_OP_FAKE_QUANT_GRAD] = {.emit = cg_emit_fake_quant},
    [IR_OP_BATCH_NORM_TRAIN] = {.emit = cg_emit_batch_norm_train},
};
