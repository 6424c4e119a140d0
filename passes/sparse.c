/* sparse: density measured at compile time, and the CSR kernel for the linear layers where
 * the cost model predicts it faster (passes/sparse.h; docs/pruning.md, "Sparse kernels").
 *
 * For every live conv2d / linear whose weight is an f32 constant, the density is measured
 * from the data as it is (Value.sparsity, pass_prune_measure), whoever made the zeros. A
 * linear on the CPU with a static 2-D weight holding a zero is a candidate: its predicted
 * time on the dense GEMM (cost_linear_dense_ms) is set against the CSR kernel's
 * (cost_linear_sparse_ms: the nonzeros' FLOPs at the profile's sparse rate, the CSR bytes),
 * at every symbol 1 and, when the model has symbols, at 64 too; the CSR kernel is used only
 * where it wins at both by at least SPARSE_MIN_GAIN. The dense weight stays input 1 (the
 * reference evaluator, the CUDA backend and `compress` read it); the CSR blob, built here
 * from it, is input 3. */
#include "passes/sparse.h"

#include "passes/prune.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The symbols' values a plan is costed at. */
static const int64_t plan_points[] = {1, 64};

bool pass_sparse_plan(const Graph *g, NodeId id, const CostProfile *p, SparsePlan *out)
{
    memset(out, 0, sizeof *out);
    PruneLayer l;
    if (!pass_prune_layer_of(g, id, &l))
        return false;
    float *w = pass_prune_logical(g, &l);
    SLIMC_ASSERT(w);
    const Node *n = &g->nodes[id];
    int64_t nnz = 0;
    for (int64_t k = 0; k < l.numel; k++)
        nnz += w[k] != 0; /* NaN is a nonzero */
    pass_prune_pattern(w, l.rank, l.shape, out->pattern, sizeof out->pattern);
    free(w);
    out->numel = l.numel;
    out->nnz = nnz;
    out->density = l.numel ? (double)nnz / (double)l.numel : 1.0;
    out->dense_bytes = (double)g->values[l.weight].data_bytes;
    int64_t oc, ov;
    out->csr_bytes = (double)slimc_rt_csr_layout(l.shape[0], nnz, &oc, &ov);
    const Value *x = &g->values[n->inputs[0]];
    if (n->op != IR_OP_LINEAR)
        out->why_not = "no sparse conv2d kernel yet";
    else if (n->device != IR_DEVICE_CPU)
        out->why_not = "runs on the GPU: no sparse CUDA kernel";
    else if (l.rank != 2 || x->type.dtype != IR_F32)
        out->why_not = "not an f32 linear with a 2-D weight";
    else if (l.shape[0] >= INT32_MAX || l.shape[1] >= INT32_MAX || nnz >= INT32_MAX)
        out->why_not = "too large for 32-bit CSR indices";
    if (out->why_not)
        return true;
    out->candidate = true;
    CostProfile dflt;
    if (!p) {
        cost_profile_default(&dflt);
        p = &dflt;
    }
    const int n_points = g->n_syms ? 2 : 1;
    out->gain = INFINITY;
    for (int k = 0; k < n_points; k++) {
        int64_t syms[IR_MAX_SYMS];
        for (int s = 0; s < IR_MAX_SYMS; s++)
            syms[s] = plan_points[k];
        double dense = cost_linear_dense_ms(p, g, n, syms);
        double sparse = cost_linear_sparse_ms(p, g, n, syms, (double)nnz, out->csr_bytes);
        double gain = sparse > 0 ? dense / sparse : INFINITY;
        if (gain < out->gain) {
            out->gain = gain;
            out->dense_ms = dense;
            out->sparse_ms = sparse;
            out->at_batch = plan_points[k];
        }
    }
    out->choose = out->gain >= SPARSE_MIN_GAIN;
    return true;
}

/* The CSR blob of layer l (runtime/slimc_abi.h), in g's arena; *bytes its size. */
static void *build_csr(Graph *g, const PruneLayer *l, int64_t nnz, size_t *bytes)
{
    const int64_t N = l->shape[0], K = l->shape[1];
    int64_t off_col, off_val;
    const int64_t total = slimc_rt_csr_layout(N, nnz, &off_col, &off_val);
    unsigned char *b = ir_arena_alloc(g->arena, (size_t)total);
    int64_t *h = (int64_t *)(void *)b;
    h[0] = SLIMC_RT_CSR_MAGIC;
    h[1] = N;
    h[2] = K;
    h[3] = nnz;
    h[4] = off_col;
    h[5] = off_val;
    int32_t *rowptr = (int32_t *)(void *)(b + SLIMC_RT_CSR_HEAD);
    int32_t *col = (int32_t *)(void *)(b + off_col);
    float *val = (float *)(void *)(b + off_val);
    float *w = pass_prune_logical(g, l);
    SLIMC_ASSERT(w);
    int32_t j = 0;
    for (int64_t r = 0; r < N; r++) {
        rowptr[r] = j;
        for (int64_t k = 0; k < K; k++)
            if (w[r * K + k] != 0) {
                SLIMC_ASSERT(j < nnz);
                col[j] = (int32_t)k;
                val[j] = w[r * K + k];
                j++;
            }
    }
    rowptr[N] = j;
    SLIMC_ASSERT(j == nnz);
    free(w);
    *bytes = (size_t)total;
    return b;
}

/* Gives linear node id its CSR weight as input 3 and w_sparse=1. */
static void attach_csr(Graph *g, NodeId id, int64_t nnz)
{
    PruneLayer l;
    SLIMC_ASSERT(pass_prune_layer_of(g, id, &l));
    size_t bytes;
    void *blob = build_csr(g, &l, nnz, &bytes);
    const Value *w = &g->values[l.weight];
    Type t = {0};
    t.dtype = IR_U8;
    t.shape.rank = 1;
    t.shape.d[0] = ir_dim((int64_t)bytes);
    ValueId c = ir_const_new(g, ir_arena_printf(g->arena, "%s.csr", w->name ? w->name : "w"), t,
                             blob, bytes, w->loc);
    Node *n = &g->nodes[id];
    ValueId *in = ir_arena_alloc(g->arena, sizeof(ValueId) * 4);
    for (int k = 0; k < 4; k++)
        in[k] = k < n->n_inputs ? n->inputs[k] : IR_NONE;
    in[3] = c;
    n->inputs = in;
    n->n_inputs = 4;
    ir_node_set_int(g, id, "w_sparse", 1);
}

bool pass_sparse(Graph *g, const PassArgs *args, Diag *d)
{
    if (!pass_args_check(args, "mode", d))
        return false;
    enum { AUTO, CSR, DENSE } mode = AUTO;
    const PassArg *m = pass_arg(args, "mode");
    if (m) {
        if (m->kind == PASS_ARG_NAME && !strcmp(m->text, "auto"))
            mode = AUTO;
        else if (m->kind == PASS_ARG_NAME && !strcmp(m->text, "csr"))
            mode = CSR;
        else if (m->kind == PASS_ARG_NAME && !strcmp(m->text, "dense"))
            mode = DENSE;
        else {
            ir_diag_error(d, m->loc, "sparse: mode must be auto, csr or dense, got '%s'",
                          m->text ? m->text : "?");
            return false;
        }
    }
    pass_prune_measure(g); /* Value.sparsity of every conv2d / linear weight */
    const int n_nodes = g->n_nodes;
    for (NodeId i = 0; i < n_nodes; i++) {
        Node *n = &g->nodes[i];
        if (n->dead || n->op != IR_OP_LINEAR || ir_attr_w_sparse(n) != 0)
            continue;
        SparsePlan pl;
        if (!pass_sparse_plan(g, i, g->place.profile, &pl) || !pl.candidate ||
            pl.nnz == pl.numel) /* no zero: nothing to weigh (and nothing recorded) */
            continue;
        ir_node_set_float(g, i, "sparse_gain", isfinite(pl.gain) ? pl.gain : 1e9);
        const bool use = mode == CSR ? pl.nnz < pl.numel : mode == AUTO && pl.choose;
        if (use) {
            attach_csr(g, i, pl.nnz);
            if (!ir_infer_node(g, i, d))
                return false;
        }
    }
    return true;
}
