/* linear and matmul: C[M, N] = A[M, K] · B + bias, B either [K, N] (row-major, the fast
 * case: the inner loop runs along N and vectorizes) or [N, K] (packed tile by tile into a
 * [KT, NT] buffer first). Work splits over tiles of MC rows × NT columns; each output
 * element sums over k = 0..K-1 in order, so the result does not depend on the split. */
#include "codegen/c/cg_internal.h"

#define GEMM_NT 64  /* columns per tile */
#define GEMM_MC 64  /* rows per tile */
#define GEMM_KT 256 /* k per packed block */

typedef struct GemmSpec {
    const char *M, *N, *K;  /* C expressions */
    bool b_nk;              /* B is [N, K] */
    bool bias;
    /* batched matmul: a statement block that sets `pa` and `pb` (element offsets into A
     * and B) for batch index `bt`; NULL when not batched */
    const char *batch_count;
    void (*batch_offsets)(CgCtx *c, NodeId id);
} GemmSpec;

/* Writes the loops of the tile (m0, n0) given A = `A` (row stride K), B = `B`, and the
 * output `C` (row stride N); bias `bias` may be NULL at run time. */
static void emit_tile(CgCtx *c, NodeId id, const GemmSpec *s)
{
    cg_printf(c, "        const int64_t mc = slimc_rt_min(MC, M - m0), nt = slimc_rt_min(NT, N - n0);\n");
    cg_printf(c, "        for (int64_t m = m0; m < m0 + mc; m++)\n");
    if (s->bias)
        cg_printf(c, "            for (int64_t j = 0; j < nt; j++)\n                C[m * N + n0 + j] = bias ? bias[n0 + j] : 0.0f;\n");
    else
        cg_printf(c, "            for (int64_t j = 0; j < nt; j++)\n                C[m * N + n0 + j] = 0.0f;\n");
    cg_printf(c, "        for (int64_t k0 = 0; k0 < K; k0 += KT) {\n");
    cg_printf(c, "            const int64_t kt = slimc_rt_min(KT, K - k0);\n");
    if (s->b_nk) {
        cg_printf(c, "            for (int64_t j = 0; j < nt; j++) /* pack B^T: wt[kk][j] = B[n0 + j][k0 + kk] */\n");
        cg_printf(c, "                for (int64_t kk = 0; kk < kt; kk++)\n");
        cg_printf(c, "                    wt[kk * NT + j] = B[(n0 + j) * K + k0 + kk];\n");
        cg_printf(c, "            const float *restrict wp = wt;\n            const int64_t ws = NT;\n");
    } else {
        cg_printf(c, "            const float *restrict wp = B + k0 * N + n0;\n            const int64_t ws = N;\n");
    }
    cg_printf(c, "            int64_t m = m0;\n");
    cg_printf(c, "            for (; m + 4 <= m0 + mc; m += 4) { /* four rows share each B row */\n");
    cg_printf(c, "                float *restrict o0 = C + m * N + n0, *restrict o1 = o0 + N;\n");
    cg_printf(c, "                float *restrict o2 = o1 + N, *restrict o3 = o2 + N;\n");
    cg_printf(c, "                const float *x0 = A + m * K + k0, *x1 = x0 + K, *x2 = x1 + K, *x3 = x2 + K;\n");
    cg_printf(c, "                for (int64_t kk = 0; kk < kt; kk++) {\n");
    cg_printf(c, "                    const float a0 = x0[kk], a1 = x1[kk], a2 = x2[kk], a3 = x3[kk];\n");
    cg_printf(c, "                    const float *restrict wr = wp + kk * ws;\n");
    cg_printf(c, "                    for (int64_t j = 0; j < nt; j++) {\n");
    cg_printf(c, "                        const float wv = wr[j];\n");
    cg_printf(c, "                        o0[j] += a0 * wv;\n                        o1[j] += a1 * wv;\n");
    cg_printf(c, "                        o2[j] += a2 * wv;\n                        o3[j] += a3 * wv;\n");
    cg_printf(c, "                    }\n                }\n            }\n");
    cg_printf(c, "            for (; m < m0 + mc; m++) {\n");
    cg_printf(c, "                float *restrict o0 = C + m * N + n0;\n");
    cg_printf(c, "                const float *x0 = A + m * K + k0;\n");
    cg_printf(c, "                for (int64_t kk = 0; kk < kt; kk++) {\n");
    cg_printf(c, "                    const float a0 = x0[kk];\n");
    cg_printf(c, "                    const float *restrict wr = wp + kk * ws;\n");
    cg_printf(c, "                    for (int64_t j = 0; j < nt; j++)\n");
    cg_printf(c, "                        o0[j] += a0 * wr[j];\n");
    cg_printf(c, "                }\n            }\n        }\n");
    if (c->g->nodes[id].n_epilogue) {
        cg_printf(c, "        for (int64_t m = m0; m < m0 + mc; m++)\n");
        cg_ep_call(c, id, 12, "(C - out) + m * N + n0", "nt");
    }
}

static void emit_gemm(CgCtx *c, NodeId id, const GemmSpec *s, CgKernel *k)
{
    cg_printf(c, "    const int64_t M = %s, N = %s, K = %s;\n", s->M, s->N, s->K);
    cg_printf(c, "    enum { NT = %d, MC = %d, KT = %d };\n", GEMM_NT, GEMM_MC, GEMM_KT);
    cg_printf(c, "    const int64_t ntiles = (N + NT - 1) / NT, mtiles = (M + MC - 1) / MC;\n");
    if (s->b_nk)
        cg_printf(c, "    float wt[KT * NT]; /* a packed [KT, NT] block of B^T */\n");
    cg_printf(c, "    (void)mtiles;\n");
    cg_printf(c, "    for (int64_t it = i0; it < i1; it++) {\n");
    if (s->batch_count) {
        cg_printf(c, "        const int64_t bt = it / (mtiles * ntiles), tile = it %% (mtiles * ntiles);\n");
        s->batch_offsets(c, id);
        cg_printf(c, "        const float *restrict A = a_base + pa;\n");
        cg_printf(c, "        const float *restrict B = b_base + pb;\n");
        cg_printf(c, "        float *restrict C = out + bt * M * N;\n");
    } else {
        cg_printf(c, "        const int64_t tile = it;\n");
    }
    cg_printf(c, "        const int64_t m0 = tile / ntiles * MC, n0 = tile %% ntiles * NT;\n");
    emit_tile(c, id, s);
    cg_printf(c, "    }\n");
    cg_body_end(c);
    const char *tiles = cg_strf(c, "((%s + %d) / %d) * ((%s + %d) / %d)", s->M, GEMM_MC - 1, GEMM_MC, s->N,
                                GEMM_NT - 1, GEMM_NT);
    k->items = s->batch_count ? cg_strf(c, "%s * %s", s->batch_count, tiles) : tiles;
    k->work = cg_strf(c, "%s%s%s * %s * %s * %s", s->batch_count ? s->batch_count : "",
                      s->batch_count ? " * " : "", s->M, s->N, s->K, "(int64_t)1");
    k->ep_done = true;
}

void cg_emit_linear(CgCtx *c, NodeId id, CgKernel *k)
{
    const Graph *g = c->g;
    const Node *n = &g->nodes[id];
    const Shape *xs = cg_shape(c, n->inputs[0]), *ws = cg_shape(c, n->inputs[1]);
    bool tr = ir_attr_int(n, "w_transposed", 0) != 0;
    if (ws->rank != 2 || xs->rank < 1) {
        cg_error(c, n, "expects x [.., K] and a 2-D weight");
        return;
    }
    static const char *const names[] = {"A", "B", "bias"};
    cg_body_begin(c, id, names, n->n_inputs);
    if (n->n_inputs < 3)
        cg_printf(c, "    const float *bias = NULL;\n");
    cg_printf(c, "    float *restrict C = out; /* rows of x times %s */\n", tr ? "w [K, N]" : "w^T (w is [N, K])");
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
