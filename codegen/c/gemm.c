/* linear and matmul: C[M, N] = A[M, K] · B + bias, B either [K, N] (row-major, what the
 * layout pass gives linear's weights) or [N, K] (packed block by block into [KC, NB] on
 * the stack first). The body calls the runtime's blocked GEMM (slimc_rt_gemm_tile in
 * runtime/slimc_rt.h: AVX-512 14x32 / AVX2 6x16 register tiles chosen at run time, a
 * one-row GEMV tile for batch 1) on tiles of up to 64 rows x 128 columns, one tile per
 * parallel item, then applies the epilogue to the tile's rows while they are in cache.
 * Each output element sums over k = 0..K-1 in order, so the result does not depend on
 * the split. */
#include "codegen/c/cg_internal.h"

typedef struct GemmSpec {
    const char *M, *N, *K; /* C expressions */
    bool b_nk;             /* B is [N, K] */
    bool bias;
    /* batched matmul: a statement block that sets `pa` and `pb` (element offsets into A
     * and B) for batch index `bt`; NULL when not batched */
    const char *batch_count;
    void (*batch_offsets)(CgCtx *c, NodeId id);
} GemmSpec;

static void emit_gemm(CgCtx *c, NodeId id, const GemmSpec *s, CgKernel *k)
{
    cg_printf(c, "    const int64_t M = %s, N = %s, K = %s;\n", s->M, s->N, s->K);
    cg_printf(c, "    const int64_t tiles = slimc_rt_gemm_items(M, N);\n");
    cg_printf(c, "    (void)tiles;\n");
    cg_printf(c, "    for (int64_t it = i0; it < i1; it++) {\n");
    if (s->batch_count) {
        cg_printf(c, "        const int64_t bt = it / tiles, tile = it %% tiles;\n");
        s->batch_offsets(c, id);
        cg_printf(c, "        const float *restrict A = a_base + pa;\n");
        cg_printf(c, "        const float *restrict B = b_base + pb;\n");
        cg_printf(c, "        float *restrict C = out + bt * M * N;\n");
    } else {
        cg_printf(c, "        const int64_t tile = it;\n");
    }
    cg_printf(c, "        int64_t m0, mc, n0, nc;\n");
    cg_printf(c,
              "        slimc_rt_gemm_tile(M, N, K, A, B, %d, %s, C, tile, &m0, &mc, &n0, &nc);\n",
              s->b_nk ? 1 : 0, s->bias ? "bias" : "NULL");
    if (c->g->nodes[id].n_epilogue) {
        cg_printf(c, "        for (int64_t m = m0; m < m0 + mc; m++)\n");
        cg_ep_call(c, id, 12, "(C - out) + m * N + n0", "nc");
    } else {
        cg_printf(c, "        (void)m0, (void)mc, (void)n0, (void)nc;\n");
    }
    cg_printf(c, "    }\n");
    cg_body_end(c);
    const char *tiles = cg_strf(c, "slimc_rt_gemm_items(%s, %s)", s->M, s->N);
    k->items = s->batch_count ? cg_strf(c, "%s * %s", s->batch_count, tiles) : tiles;
    k->work = cg_strf(c, "%s%s%s * %s * %s * %s", s->batch_count ? s->batch_count : "",
                      s->batch_count ? " * " : "", s->M, s->N, s->K, "(int64_t)1");
    k->ep_done = true;
}

/* The item loop of a sparse linear (CSR or N:M): TILE computes item it of the weight's tiles
 * and says which rows and columns it wrote, then the epilogue runs on them, as the dense
 * kernel's; ends the body. */
static void emit_sparse_items(CgCtx *c, NodeId id, const char *tile, const char *M, const char *N)
{
    const Node *n = &c->g->nodes[id];
    cg_printf(c, "    const int64_t M = %s;\n", M);
    cg_printf(c, "    for (int64_t it = i0; it < i1; it++) {\n");
    cg_printf(c, "        int64_t m0, mc, n0, nc;\n");
    cg_printf(c, "        %s(M, A, W, bias, out, it, &m0, &mc, &n0, &nc);\n", tile);
    if (n->n_epilogue) {
        cg_printf(c, "        const int64_t N = %s;\n", N);
        cg_printf(c, "        for (int64_t m = m0; m < m0 + mc; m++)\n");
        cg_ep_call(c, id, 12, "m * N + n0", "nc");
    } else {
        cg_printf(c, "        (void)m0, (void)mc, (void)n0, (void)nc;\n");
    }
    cg_printf(c, "    }\n");
    cg_body_end(c);
}

/* A linear whose weight the sparse pass gave a CSR copy (input 3, w_sparse=1; passes/sparse.c):
 * slimc_rt_spmm_tile (runtime/kernels/sparse.c) on the items of slimc_rt_spmm_items, then the
 * epilogue on each item's rows, as the dense kernel. */
static void emit_linear_csr(CgCtx *c, NodeId id, CgKernel *k, const char *M, const char *N)
{
    const Graph *g = c->g;
    const Node *n = &g->nodes[id];
    const Value *csr = &g->values[n->inputs[3]];
    const int64_t *h = csr->data; /* the header slimc_abi.h describes */
    const double numel = (double)h[1] * (double)h[2];
    static const char *const names[] = {"A", NULL, "bias", "W"};
    cg_body_begin(c, id, names, n->n_inputs);
    cg_printf(c,
              "    /* sparse CSR kernel: %lld of %.0f weights nonzero (%.1f%% density); the cost "
              "model predicted it %.2fx faster than the dense GEMM */\n",
              (long long)h[3], numel, numel > 0 ? 100.0 * (double)h[3] / numel : 0.0,
              ir_attr_sparse_gain(n));
    emit_sparse_items(c, id, "slimc_rt_spmm_tile", M, N);
    k->items = cg_strf(c, "slimc_rt_spmm_items(%s, %s)", M, N);
    k->work = cg_strf(c, "%s * (int64_t)%lld", M, (long long)(h[3] > 0 ? h[3] : 1));
    k->ep_done = true;
}

/* A linear whose weight the sparse pass gave an N:M copy (input 3, w_sparse=2): as
 * emit_linear_csr with slimc_rt_nm_tile (runtime/kernels/sparse_nm.c). */
static void emit_linear_nm(CgCtx *c, NodeId id, CgKernel *k, const char *M, const char *N)
{
    const Graph *g = c->g;
    const Node *n = &g->nodes[id];
    const Value *nm = &g->values[n->inputs[3]];
    const int64_t *h = nm->data; /* the header slimc_abi.h describes */
    static const char *const names[] = {"A", NULL, "bias", "W"};
    cg_body_begin(c, id, names, n->n_inputs);
    cg_printf(
        c,
        "    /* sparse N:M kernel: %lld of every %lld weights along K kept (%lld x %lld); the "
        "cost model predicted it %.2fx faster than the dense GEMM */\n",
        (long long)h[3], (long long)h[4], (long long)h[1], (long long)h[2], ir_attr_sparse_gain(n));
    emit_sparse_items(c, id, "slimc_rt_nm_tile", M, N);
    const long long kept = h[4] > 0 ? h[1] * (h[2] / h[4]) * h[3] : 1;
    k->items = cg_strf(c, "slimc_rt_nm_items(%s, %s)", M, N);
    k->work = cg_strf(c, "%s * (int64_t)%lld", M, kept > 0 ? kept : 1);
    k->ep_done = true;
}

void cg_emit_linear(CgCtx *c, NodeId id, CgKernel *k)
{
    const Graph *g = c->g;
    const Node *n = &g->nodes[id];
    const Shape *xs = cg_shape(c, n->inputs[0]), *ws = cg_shape(c, n->inputs[1]);
    bool tr = ir_attr_w_transposed(n) != 0;
    if (ws->rank != 2 || xs->rank < 1) {
        cg_error(c, n, "expects x [.., K] and a 2-D weight");
        return;
    }
    if (ir_attr_w_sparse(n) == 1 && n->n_inputs > 3 && n->inputs[3] != IR_NONE) {
        const Value *csr = &g->values[n->inputs[3]];
        if (csr->kind != IR_VALUE_CONST || !csr->data || csr->data_bytes < SLIMC_RT_CSR_HEAD ||
            ((const int64_t *)csr->data)[0] != SLIMC_RT_CSR_MAGIC) {
            cg_error(c, n, "w_sparse=1 needs the CSR constant the sparse pass builds");
            return;
        }
        emit_linear_csr(c, id, k, cg_prod(c, xs, 0, xs->rank - 1),
                        cg_dim(c, tr ? ws->d[1] : ws->d[0]));
        return;
    }
    if (ir_attr_w_sparse(n) == 2 && n->n_inputs > 3 && n->inputs[3] != IR_NONE) {
        const Value *nm = &g->values[n->inputs[3]];
        if (nm->kind != IR_VALUE_CONST || !nm->data || nm->data_bytes < SLIMC_RT_CSR_HEAD ||
            ((const int64_t *)nm->data)[0] != SLIMC_RT_NM_MAGIC) {
            cg_error(c, n, "w_sparse=2 needs the N:M constant the sparse pass builds");
            return;
        }
        emit_linear_nm(c, id, k, cg_prod(c, xs, 0, xs->rank - 1),
                       cg_dim(c, tr ? ws->d[1] : ws->d[0]));
        return;
    }
    static const char *const names[] = {"A", "B", "bias"};
    cg_body_begin(c, id, names, n->n_inputs);
    if (n->n_inputs < 3)
        cg_printf(c, "    const float *bias = NULL;\n");
    cg_printf(c, "    float *restrict C = out; /* rows of x times %s */\n",
              tr ? "w [K, N]" : "w^T (w is [N, K])");
    GemmSpec s = {0};
    s.M = cg_prod(c, xs, 0, xs->rank - 1);
    s.K = cg_dim(c, xs->d[xs->rank - 1]);
    s.N = cg_dim(c, tr ? ws->d[1] : ws->d[0]);
    s.b_nk = !tr;
    s.bias = true;
    emit_gemm(c, id, &s, k);
}

/* matmul's batch decoding: bt over the broadcast batch dims of the output. */
static void matmul_offsets(CgCtx *c, NodeId id)
{
    const Graph *g = c->g;
    const Node *n = &g->nodes[id];
    const Shape *as = cg_shape(c, n->inputs[0]), *bs = cg_shape(c, n->inputs[1]);
    const Shape *os = cg_shape(c, n->outputs[0]);
    int abatch = as->rank > 2 ? as->rank - 2 : 0, bbatch = bs->rank > 2 ? bs->rank - 2 : 0;
    int obatch = abatch > bbatch ? abatch : bbatch;
    cg_printf(c, "        int64_t pa = 0, pb = 0, q = bt;\n");
    for (int i = obatch - 1; i >= 0; i--) {
        cg_printf(c, "        {\n            const int64_t cc = q %% %s;\n            q /= %s;\n",
                  cg_dim(c, os->d[i]), cg_dim(c, os->d[i]));
        int ja = i - (obatch - abatch), jb = i - (obatch - bbatch);
        if (ja >= 0 && !(as->d[ja].syms == 0 && as->d[ja].c == 1))
            cg_printf(c, "            pa += cc * %s;\n", cg_prod(c, as, ja + 1, as->rank));
        if (jb >= 0 && !(bs->d[jb].syms == 0 && bs->d[jb].c == 1))
            cg_printf(c, "            pb += cc * %s;\n", cg_prod(c, bs, jb + 1, bs->rank));
        cg_printf(c, "        }\n");
    }
    cg_printf(c, "        (void)q;\n");
}

void cg_emit_matmul(CgCtx *c, NodeId id, CgKernel *k)
{
    const Graph *g = c->g;
    const Node *n = &g->nodes[id];
    const Shape *as = cg_shape(c, n->inputs[0]), *bs = cg_shape(c, n->inputs[1]);
    const Shape *os = cg_shape(c, n->outputs[0]);
    static const char *const names[] = {"a_base", "b_base"};
    cg_body_begin(c, id, names, 2);
    GemmSpec s = {0};
    s.M = as->rank == 1 ? "1" : cg_dim(c, as->d[as->rank - 2]);
    s.K = cg_dim(c, as->d[as->rank - 1]);
    s.N = bs->rank == 1 ? "1" : cg_dim(c, bs->d[bs->rank - 1]);
    s.b_nk = false;
    s.bias = false;
    int abatch = as->rank > 2 ? as->rank - 2 : 0, bbatch = bs->rank > 2 ? bs->rank - 2 : 0;
    int obatch = abatch > bbatch ? abatch : bbatch;
    s.batch_count = cg_prod(c, os, 0, obatch);
    s.batch_offsets = matmul_offsets;
    emit_gemm(c, id, &s, k);
}
