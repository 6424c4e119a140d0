/* The sparse pass (passes/sparse.c): measures the density of every conv2d / linear weight at
 * compile time (Value.sparsity), so a model pruned elsewhere (zeros stored densely) is
 * treated as one pruned by slimc, and gives each CPU linear whose weight the cost model
 * (passes/cost_model.h) predicts faster sparse a CSR copy of its weight: input 3 of the
 * linear (u8, runtime/slimc_abi.h's layout), w_sparse=1, which the C backend's emitter reads.
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

/* What the pass decides for one layer. */
typedef struct SparsePlan {
    bool candidate;      /* a CPU linear with a static 2-D f32 constant weight: a kernel exists */
    const char *why_not; /* !candidate: why there is no sparse kernel for it (static text) */
    int64_t numel, nnz;
    double density;   /* nnz / numel */
    char pattern[64]; /* pass_prune_pattern's words: dense, unstructured, n:m 2:4, ... */
    double dense_ms;  /* predicted, at the point where sparse gains least */
    double sparse_ms;
    double gain;        /* dense_ms / sparse_ms (candidates only) */
    int64_t at_batch;   /* the symbols' value of that point (1 or 64) */
    double dense_bytes; /* the weight's bytes as stored, and as CSR */
    double csr_bytes;
    bool choose; /* gain > 1: the CSR kernel */
} SparsePlan;

/* The plan of node id of g with profile p (NULL: the built-in one). False when the node is
 * no conv2d / linear with an f32 constant weight (nothing measured). */
bool pass_sparse_plan(const Graph *g, NodeId id, const CostProfile *p, SparsePlan *out);

/* sparse(mode=auto|csr|dense): auto chooses by cost; csr gives every candidate with a zero
 * the CSR kernel; dense none (density is still measured). */
bool pass_sparse(Graph *g, const PassArgs *args, Diag *d);

#endif
