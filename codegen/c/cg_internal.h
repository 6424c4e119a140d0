/* Private to the C emitter: the per-op-family emitters (the files of this folder), which
 * the op table (op_table.c) and the C backend (emit.c) call. Each family file includes
 * this header for the text helpers (codegen/c/text.h) and the shared helpers of other
 * families it uses (cg_bcast_loop, cg_unary_expr, cg_emit_elementwise_typed); none calls
 * the op table or emit.c. */
#ifndef SLIMC_CODEGEN_C_CG_INTERNAL_H
#define SLIMC_CODEGEN_C_CG_INTERNAL_H

#include "codegen/c/cg.h"
#include "codegen/c/text.h"

/* Per-op-family emitters: each writes the body of node id and fills k. The op table
 * (codegen/c/op_table.c) maps each op kind to one of them. */
/* gemm.c */
void cg_emit_linear(CgCtx *c, NodeId id, CgKernel *k);
void cg_emit_matmul(CgCtx *c, NodeId id, CgKernel *k);
/* conv.c */
void cg_emit_conv2d(CgCtx *c, NodeId id, CgKernel *k);
/* conv2d over a symbolic image height or width (codegen/c/conv_sym.c). */
void cg_emit_conv2d_sym(CgCtx *c, NodeId id, const int64_t *stride, const int64_t *pad,
                        const int64_t *dil, int64_t groups, bool depthwise, CgKernel *k);
void cg_emit_conv_transpose2d(CgCtx *c, NodeId id, CgKernel *k);
/* elementwise.c (f32; other dtypes are forwarded to elementwise_dtypes.c) */
void cg_emit_elementwise(CgCtx *c, NodeId id, CgKernel *k);
/* elementwise_dtypes.c: elementwise ops and reductions in dtypes other than f32 */
void cg_emit_elementwise_typed(CgCtx *c, NodeId id, CgKernel *k);
/* Emits a loop over the flat output positions [f0, f0 + len) of a tensor of shape out,
 * reading n_ops operands broadcast (numpy rules) to it. For each element, stmt is called
 * to print the statement: `o` is the flat output index expression, `x[k]` the value
 * expression of operand k. Operand k's pointer is the C name ptrs[k]. */
typedef void (*CgStmtFn)(CgCtx *c, void *arg, const char *o, const char *const *x);
void cg_bcast_loop(CgCtx *c, int indent, const Shape *out, int n_ops, const Shape *const *ops,
                   const char *const *ptrs, const char *f0, const char *len, CgStmtFn stmt,
                   void *arg);
/* elementwise_mod.c */
void cg_emit_mod(CgCtx *c, NodeId id, CgKernel *k);
/* pool.c */
void cg_emit_pool(CgCtx *c, NodeId id, CgKernel *k);
void cg_emit_adaptive_pool(CgCtx *c, NodeId id, CgKernel *k);
void cg_emit_pool_nd(CgCtx *c, NodeId id, CgKernel *k);
/* norm.c */
void cg_emit_softmax(CgCtx *c, NodeId id, CgKernel *k);
void cg_emit_batch_norm(CgCtx *c, NodeId id, CgKernel *k);
void cg_emit_layer_norm(CgCtx *c, NodeId id, CgKernel *k);
void cg_emit_group_norm(CgCtx *c, NodeId id, CgKernel *k);
/* attention.c */
void cg_emit_attention(CgCtx *c, NodeId id, CgKernel *k);
/* rnn.c */
void cg_emit_rnn(CgCtx *c, NodeId id, CgKernel *k);
/* data.c */
void cg_emit_embedding(CgCtx *c, NodeId id, CgKernel *k);
/* data_move.c */
void cg_emit_compare(CgCtx *c, NodeId id, CgKernel *k);
void cg_emit_where(CgCtx *c, NodeId id, CgKernel *k);
void cg_emit_cast(CgCtx *c, NodeId id, CgKernel *k);
void cg_emit_gather_copy(CgCtx *c, NodeId id, CgKernel *k); /* permute, expand */
void cg_emit_slice(CgCtx *c, NodeId id, CgKernel *k);
void cg_emit_pad(CgCtx *c, NodeId id, CgKernel *k);
void cg_emit_concat(CgCtx *c, NodeId id, CgKernel *k);
void cg_emit_index_select(CgCtx *c, NodeId id, CgKernel *k);
/* reduce.c */
void cg_emit_reduce(CgCtx *c, NodeId id, CgKernel *k);
void cg_emit_reduce_prod(CgCtx *c, NodeId id, CgKernel *k);
/* resize.c */
void cg_emit_resize(CgCtx *c, NodeId id, CgKernel *k);
void cg_emit_resize_axis(CgCtx *c, NodeId id, CgKernel *k);
/* index_ops.c */
void cg_emit_argreduce(CgCtx *c, NodeId id, CgKernel *k); /* argmax, argmin */
void cg_emit_gather_elements(CgCtx *c, NodeId id, CgKernel *k);
void cg_emit_scatter_elements(CgCtx *c, NodeId id, CgKernel *k);
void cg_emit_cumsum(CgCtx *c, NodeId id, CgKernel *k);
void cg_emit_grid_sample(CgCtx *c, NodeId id, CgKernel *k);
void cg_emit_topk(CgCtx *c, NodeId id, CgKernel *k);
void cg_emit_gather_nd(CgCtx *c, NodeId id, CgKernel *k);
void cg_emit_scatter_nd(CgCtx *c, NodeId id, CgKernel *k);
void cg_emit_roi_align(CgCtx *c, NodeId id, CgKernel *k);
/* The dtypes of the index ops and of reduce_prod, mod, pool_nd, resize_axis: plain ones,
 * no epilogue; reports as cg_error does and returns false otherwise. */
bool cg_index_supported(CgCtx *c, const Node *n);
/* quant.c: the int8 ops */
void cg_emit_qdq(CgCtx *c, NodeId id, CgKernel *k); /* quantize, dequantize */
void cg_emit_qadd(CgCtx *c, NodeId id, CgKernel *k);
void cg_emit_qlinear(CgCtx *c, NodeId id, CgKernel *k);
void cg_emit_qconv2d(CgCtx *c, NodeId id, CgKernel *k);
void cg_emit_wlinear(CgCtx *c, NodeId id, CgKernel *k);
void cg_emit_dqlinear(CgCtx *c, NodeId id, CgKernel *k);
/* grad.c: the training ops that are not elementwise */
void cg_emit_pool_grad(CgCtx *c, NodeId id, CgKernel *k); /* max, avg, adaptive avg */
void cg_emit_conv2d_weight_grad(CgCtx *c, NodeId id, CgKernel *k);
void cg_emit_embedding_grad(CgCtx *c, NodeId id, CgKernel *k);
void cg_emit_class_loss(CgCtx *c, NodeId id, CgKernel *k); /* cross_entropy, nll, distill */
void cg_emit_mse(CgCtx *c, NodeId id, CgKernel *k);
void cg_emit_fake_quant(CgCtx *c, NodeId id, CgKernel *k); /* and fake_quant_grad */
void cg_emit_batch_norm_train(CgCtx *c, NodeId id, CgKernel *k);
/* Writes the epilogue function epi_node_NAME of a node that has one. */
void cg_emit_epilogue_fn(CgCtx *c, NodeId id);

/* The C expression of a unary op applied to x, or of x OP y. */
const char *cg_unary_expr(CgCtx *c, OpKind op, const char *x);
const char *cg_binary_expr(CgCtx *c, OpKind op, const char *x, const char *y);

#endif
