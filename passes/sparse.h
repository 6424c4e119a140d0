/* The sparse pass (passes/sparse.c): measures the density of every conv2d / linear weight at
 * compile time (Value.sparsity), so a model pruned elsewhere (zeros stored densely) is
 * treated as one pruned by slimc, and gives each CPU linear or one-group conv2d whose weight the
 * cost model (passes/cost_model.h) predicts faster sparse a copy of its weight in the sparse format
 * predicted fastest — CSR (w_sparse=1) or N:M (w_sparse=2, 2:4 and the like) — as input 3 of
 * the linear (u8, runtime/slimc_abi.h's layouts), which the C backend's emitter reads.
 * Each linear it considered carries the annotation sparse_gain (predicted dense time over
 * sparse time; the smaller of batch 1 and 64 when the batch is symbolic). `inspect
 * --sparsity` shows the same plan (pass_sparse_plan). docs/pruning.md, "Sparse kernels". */
#ifndef SLIMC_PASSES_SPARSE_H
#define SLIMC_PASSES_SPARSE_H

#include "ir/graph.h"
#include "passes/cost_model.h"
#include "passes/pass.h"

/* The predicted speed-up below which a layer stays dense: the cost model's roofline is
 * rough, and a kernel predicted barely faster may well be slower. */
#define SPARSE_MIN_GAIN 1.2

/* The kernels a linear (a conv2d: dense or CSR) may run on (its w_sparse attribute). */
typedef enum SparseKernel {
    SPARSE_DENSE = 0, /* the dense GEMM */
    SPARSE_CSR = 1,   /* runtime/kernels/sparse.c; input 3 the CSR blob */
    SPARSE_NM = 2,    /* runtime/kernels/sparse_nm.c; input 3 the N:M blob */
    SPARSE_Q8 = 3,    /* a qlinear's or one-group qconv2d's: runtime/kernels/qsparse.c; input 5
                       * the int8 block-CSR blob */
} SparseKernel;

/* What the pass decides for one layer. */
typedef struct SparsePlan {
    bool candidate;      /* a CPU linear with a static 2-D f32 constant weight, or a one-group
                          * f32 conv2d: a kernel exists (conv2d: CSR only) */
    const char *why_not; /* !candidate: why there is no sparse kernel for it (static text) */
    int64_t numel, nnz;
    double density;     /* nnz / numel */
    char pattern[64];   /* pass_prune_pattern's words: dense, unstructured, n:m 2:4, ...
                         * (over half nonzero: dense or unstructured, no N:M possible) */
    double dense_ms;    /* predicted for `kernel` (the best sparse one), at the point where it */
    double sparse_ms;   /* gains least */
    double gain;        /* dense_ms / sparse_ms (candidates only) */
    int64_t at_batch;   /* the symbols' value of that point (1 or 64) */
    double dense_bytes; /* the weight's bytes as stored, as CSR, and as N:M */
    double csr_bytes;
    SparseKernel kernel; /* the sparse kernel predicted fastest: SPARSE_CSR or SPARSE_NM */
    bool choose;         /* gain >= SPARSE_MIN_GAIN: `kernel` is used */
    /* N:M: the weight has at most nm_n nonzeros in every group of nm_m along K (1:4, 2:4 or
     * 4:8, the sparsest that holds), else nm_n = 0; the N:M kernel's bytes and predicted
     * gain (at its own worst point), and the CSR kernel's, for the reason inspect gives */
    int nm_n, nm_m;
    double nm_bytes, nm_gain, csr_gain;
    /* a qlinear or qconv2d (int8, after prune then quantize): its weight cut along K (a conv's
     * C kh kw) into blocks of 4,
     * q8_kept of q8_blocks holding a nonzero; the block-CSR blob's bytes; kernel SPARSE_Q8,
     * weighed against the dense int8 GEMM (dense_bytes: the i8 weight's) */
    bool q8;
    int64_t q8_blocks, q8_kept;
    double q8_bytes;
} SparsePlan;

/* The plan of node id of g with profile p (NULL: the built-in one). False when the node is
 * no conv2d / linear with an f32 constant weight (nothing measured). */
bool pass_sparse_plan(const Graph *g, NodeId id, const CostProfile *p, SparsePlan *out);

/* The same for qlinear node id (its i8 weight [O, K] as it is or packed by the layout pass) or
 * qconv2d node id (its i8 weight [O, C, kh, kw] read as [O, C kh kw]): false when it is neither
 * with a constant i8 weight. */
bool pass_sparse_plan_q8(const Graph *g, NodeId id, const CostProfile *p, SparsePlan *out);

/* The i8 weight of qlinear or qconv2d n as W [O, K] (malloc'd; NULL when n has no constant i8
 * weight it can read), read through the layout pass's packing when w_packed. */
int8_t *pass_sparse_q8_weight(const Graph *g, const Node *n, int64_t *O, int64_t *K);

/* sparse(mode=auto|csr|nm|q8|dense): auto chooses by cost; csr gives every f32 candidate with
 * a zero the CSR kernel; nm every candidate with an N:M pattern the N:M kernel; q8 every qlinear
 * and one-group qconv2d with an all-zero block of 4 the int8 block-sparse kernel; dense none
 * (density is still measured). */
bool pass_sparse(Graph *g, const PassArgs *args, Diag *d);

#endif
