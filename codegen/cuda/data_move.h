/* The CUDA backend's data-movement, typed elementwise and index emitters (data_move.c,
 * elementwise_dtypes.c, index_ops.c), and the helpers they share. The lead folds these
 * declarations into cu.h at merge. */
#ifndef SLIMC_CODEGEN_CUDA_DATA_MOVE_H
#define SLIMC_CODEGEN_CUDA_DATA_MOVE_H

#include "codegen/cuda/cu.h"

/* ---- shared by the three files (data_move.c) ---- */

/* The index type of node id's kernels: "int" when every shape it touches is static with
 * fewer than 2^30 elements (32-bit division is several times cheaper on a GPU), else
 * "int64_t". */
const char *cu_dm_index_type(CgCtx *c, NodeId id);
/* Opens a grid-stride kernel of node id over `total` output elements: the kernel's
 * signature, `const T *x_i` for the inputs named in names[0..n_in) (NULL: skipped),
 * `T *out`, and the loop head `for (IT f = ...; f < n; ...) {` (IT from
 * cu_dm_index_type); returns the kernel's index. Close with cu_dm_loop_end. */
int cu_dm_loop_begin(CgCtx *c, NodeId id, const char *const *names, int n_in, const char *total);
/* Closes the loop and the kernel and records its launch (one thread an element, 256 a
 * block, at most 65536 blocks). */
void cu_dm_loop_end(CgCtx *c, NodeId id, int k, const char *total, const char *what);
/* The flat element index, over operand strides st[i] (C expressions, "0" for a dim the
 * operand does not vary along), of the output element at flat index f of shape os. */
const char *cu_dm_gather_index(CgCtx *c, const Shape *os, const char *const *st, const char *f);
/* The element strides of operand shape in over out's dims (numpy broadcasting: "0" where
 * broadcast). */
void cu_dm_bcast_strides(CgCtx *c, const Shape *out, const Shape *in, const char **st);
/* Prints, once per file, the device helpers the kernels below use: slimc_cu_f2i64 (a
 * double to int64 as x86-64 converts it), slimc_cu_f2h / slimc_cu_f2b (float to f16 /
 * bf16 bits with the CPU's NaNs). Call before cu_kernel_begin. */
void cu_dm_helpers(CgCtx *c);
/* A float literal for CUDA C (SLIMC_INF / SLIMC_NAN for the non-finite ones). */
const char *cu_dm_float(CgCtx *c, double v);
/* Element expr of a tensor of dtype t as a number: f16/bf16 through slimc_h2f/slimc_b2f. */
const char *cu_dm_load(CgCtx *c, DType t, const char *expr);
/* The checks of CU_CHECK_ANY, for an emitter whose row is CU_CHECK_OWN: inputs from `from`
 * on unpacked and unquantized, no epilogue; reports with cg_error and returns false. */
bool cu_dm_check_plain(CgCtx *c, NodeId id, int from);
/* The checks of CU_CHECK_F32 (f32 inputs from `from` on, output and epilogue operands). */
bool cu_dm_check_f32(CgCtx *c, NodeId id, int from);

/* ---- data_move.c ---- */
void cu_emit_cast(CgCtx *c, NodeId id);
void cu_emit_compare(CgCtx *c, NodeId id);
void cu_emit_where(CgCtx *c, NodeId id);
void cu_emit_gather_copy(CgCtx *c, NodeId id); /* permute, expand */
void cu_emit_slice(CgCtx *c, NodeId id);
void cu_emit_pad(CgCtx *c, NodeId id);
void cu_emit_concat(CgCtx *c, NodeId id);
void cu_emit_index_select(CgCtx *c, NodeId id);
void cu_emit_embedding(CgCtx *c, NodeId id);
void cu_emit_resize(CgCtx *c, NodeId id);

/* ---- elementwise_dtypes.c ---- */
/* The elementwise ops in f64, f16, bf16 and the integers (ir_node_is_typed_elementwise),
 * the bitwise ops and shifts; elementwise.c forwards such nodes here. */
void cu_emit_elementwise_typed(CgCtx *c, NodeId id);
void cu_emit_mod(CgCtx *c, NodeId id);

/* ---- index_ops.c ---- */
void cu_emit_argreduce(CgCtx *c, NodeId id); /* argmax, argmin */
void cu_emit_gather_elements(CgCtx *c, NodeId id);
void cu_emit_scatter_elements(CgCtx *c, NodeId id);
void cu_emit_cumsum(CgCtx *c, NodeId id);
void cu_emit_gather_nd(CgCtx *c, NodeId id);
void cu_emit_scatter_nd(CgCtx *c, NodeId id);

#endif
