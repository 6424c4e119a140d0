/* The CUDA backend's normalization, softmax, reduction and pooling family (norm.c, reduce.c,
 * pool.c) and the row helpers they share. The lead folds these declarations into cu.h.
 *
 * A "row" kernel gives each row (a softmax row, a layer_norm row, one (batch, group) of a
 * group_norm, one output element of a reduction over the innermost dims) to one warp or one
 * block of CU_ROW_THREADS threads and combines the threads' partial results with warp
 * shuffles (and, for a block, one shared slot per warp):
 *   CU_ROW_WARP   CU_ROW_WARPS rows per block, a warp each: rows up to 1024 elements
 *                 (static), where a block per row would leave most threads idle;
 *   CU_ROW_BLOCK  one row per block: long or symbolic rows. */
#ifndef SLIMC_CODEGEN_CUDA_NORM_H
#define SLIMC_CODEGEN_CUDA_NORM_H

#include "codegen/cuda/cu.h"

#define CU_ROW_THREADS 256
#define CU_ROW_WARPS   (CU_ROW_THREADS / 32)

typedef enum CuRowMode { CU_ROW_WARP, CU_ROW_BLOCK } CuRowMode;

/* The mode for rows of len elements. */
CuRowMode cu_row_mode(Dim len);
/* Prints, right after cu_kernel_begin, the block's shared scratch (block mode) and the
 * locals `tid` (the thread's index among its row's), `row` (the row it computes, int64),
 * and returns from the kernel when row >= rows (a whole warp or block at once). */
void cu_row_begin(CgCtx *c, CuRowMode m, const char *rows);
/* The number of threads on one row: "32" or CU_ROW_THREADS. */
const char *cu_row_lanes(CuRowMode m);
/* Prints statements after which every thread of the row holds the combination of all its
 * threads' float `var`: kind '+' (sum), '*' (product), 'M' (max), 'm' (min; both let NaN
 * win, as the reference's reductions). Every thread of the row must reach it. */
void cu_row_allreduce(CgCtx *c, CuRowMode m, int indent, const char *var, char kind);
/* Records the launch of row kernel k over rows rows. */
void cu_row_launch(CgCtx *c, NodeId id, int k, CuRowMode m, const char *rows, const char *what);

/* norm.c */
void cu_emit_softmax(CgCtx *c, NodeId id);
void cu_emit_layer_norm(CgCtx *c, NodeId id);
void cu_emit_group_norm(CgCtx *c, NodeId id);
void cu_emit_batch_norm(CgCtx *c, NodeId id);
/* reduce.c */
void cu_emit_reduce(CgCtx *c, NodeId id);
/* pool.c */
void cu_emit_pool(CgCtx *c, NodeId id);
void cu_emit_adaptive_pool(CgCtx *c, NodeId id);
void cu_emit_pool_nd(CgCtx *c, NodeId id);

#endif
