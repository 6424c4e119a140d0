/* layout: a linear whose weight is an f32 constant in PyTorch's [N, K] layout gets a NEW
 * constant holding its transpose, [K, N], and the attribute w_transposed=1. The C
 * backend's GEMM streams rows of [K, N] along N, the contiguous direction of both the
 * weight and the output, which is what its vectorized inner loop wants. A linear already
 * marked w_transposed is left alone, so running the pass twice changes nothing. Linears that
 * share one weight share its transpose.
 *
 * A qlinear's i8 weight [O, K] becomes a NEW constant packed for vpdpbusd and AMX tiles,
 * [ceil(O / 16), KB, 64] with w[o][k] at [o / 16][k / 4][(o % 16) * 4 + k % 4], KB =
 * ceil(K / 4) rounded up to 16 (whole 64-byte k steps; zeros past O and K), and the node
 * gets w_packed=1 and out_features=O (runtime/slimc_rt.h: slimc_rt_qgemm_packed); a
 * dqlinear's (dynamic int8) too. A wlinear's bf16 weight is packed the same way in bf16
 * pairs (runtime/slimc_rt.h: slimc_rt_bgemm_packed).
 *
 * Nodes placed on CUDA (Node.device == IR_DEVICE_CUDA) keep their weights as they are: the
 * packed layouts serve x86 instructions (vpdpbusd, AMX, vdpbf16ps), while the CUDA kernels
 * (codegen/cuda/quant.c: dp4a over whole rows of W) read the plain [O, K] weight, which is
 * already the K-contiguous operand their dot products want, and refuse a packed one. (The
 * transpose of a float linear's weight, w_transposed=1, is still made: the backends read
 * that attribute.) */
#include "passes/pass.h"

#include <string.h>

/* Tiles of 32 x 32 floats: a tile's 32 source rows and 32 destination rows (4 KB each)
 * stay in L1 while it is copied, where a row-by-row loop writes one float per cache line. */
#define TRANSPOSE_TILE 32

void pass_transpose_f32(float *dst, const float *src, int64_t rows, int64_t cols)
{
    for (int64_t r0 = 0; r0 < rows; r0 += TRANSPOSE_TILE) {
        const int64_t r1 = r0 + TRANSPOSE_TILE < rows ? r0 + TRANSPOSE_TILE : rows;
        for (int64_t c0 = 0; c0 < cols; c0 += TRANSPOSE_TILE) {
            const int64_t c1 = c0 + TRANSPOSE_TILE < cols ? c0 + TRANSPOSE_TILE : cols;
            for (int64_t c = c0; c < c1; c++)
                for (int64_t r = r0; r < r1; r++)
                    dst[c * rows + r] = src[r * cols + c];
        }
    }
}

bool pass_layout(Graph *g, const PassArgs *args, Diag *d)
{
    if (!pass_args_check(args, NULL, d))
        return false;
    /* transposed[v]: the [K, N] copy already made of weight v (IR_NONE: none yet) */
    int n_orig = g->n_values;
    ValueId *transposed = ir_arena_alloc(g->arena, sizeof(ValueId) * (size_t)(n_orig + 1));
    for (int v = 0; v < n_orig; v++)
        transposed[v] = IR_NONE;
    for (NodeId i = 0; i < g->n_nodes; i++) {
        const Node *n = &g->nodes[i];
        if (n->dead || n->op != IR_OP_LINEAR || ir_attr_w_transposed(n) != 0)
            continue;
        ValueId wv = n->inputs[1];
        if (wv < n_orig && transposed[wv] != IR_NONE) {
            g->nodes[i].inputs[1] = transposed[wv];
            ir_node_set_int(g, i, "w_transposed", 1);
            continue;
        }
        const Value *w = &g->values[wv];
        if (w->kind != IR_VALUE_CONST || !w->data || w->type.dtype != IR_F32 || w->type.quant ||
            w->type.shape.rank != 2 || !ir_shape_static(&w->type.shape))
            continue;
        int64_t N = w->type.shape.d[0].c, K = w->type.shape.d[1].c;
        size_t bytes = sizeof(float) * (size_t)(N * K);
        if (w->data_bytes != bytes)
            continue;
        const float *src = w->data;                               /* [N, K] */
        float *dst = ir_arena_alloc(g->arena, bytes ? bytes : 1); /* [K, N] */
        pass_transpose_f32(dst, src, N, K);
        Type t = w->type;
        t.shape.d[0] = ir_dim(K);
        t.shape.d[1] = ir_dim(N);
        ValueId nt = ir_const_new(g, ir_arena_printf(g->arena, "%s.T", w->name), t, dst, bytes,
                                  w->loc); /* w is stale from here */
        if (wv < n_orig)
            transposed[wv] = nt;
        g->nodes[i].inputs[1] = nt;
        ir_node_set_int(g, i, "w_transposed", 1);
    }
    /* i8 weights of qlinear / dqlinear in byte quads for vpdpbusd and AMX-INT8; bf16 weights
     * of wlinear in pairs for vdpbf16ps and AMX-BF16 ([ceil(N / 16), KB, 32] bf16, w[n][k]
     * at [n / 16][k / 2][(n % 16) * 2 + k % 2]): G elements of a row per 4 bytes */
    for (NodeId i = 0; i < g->n_nodes; i++) {
        const Node *n = &g->nodes[i];
        const bool q = n->op == IR_OP_QLINEAR || n->op == IR_OP_DQLINEAR;
        if (n->dead || !(q || n->op == IR_OP_WLINEAR) || ir_attr_w_packed(n) != 0 ||
            n->device == IR_DEVICE_CUDA) /* the CUDA kernels read [O, K] (above) */
            continue;
        const Value *w = &g->values[n->inputs[1]];
        if (w->kind != IR_VALUE_CONST || !w->data || w->type.dtype != (q ? IR_I8 : IR_BF16) ||
            w->type.shape.rank != 2 || !ir_shape_static(&w->type.shape))
            continue;
        const int64_t O = w->type.shape.d[0].c, K = w->type.shape.d[1].c,
                      G = q ? SLIMC_RT_QPACK_K : SLIMC_RT_BPACK_K;
        const int64_t OB = slimc_rt_pack_blocks(O), KB = q ? ir_qpack_rows(K) : ir_bpack_rows(K);
        const size_t es = q ? 1 : 2; /* element bytes */
        if ((size_t)(O * K) * es != w->data_bytes || O < 1)
            continue;
        const size_t bytes = (size_t)(OB * KB * SLIMC_RT_PACK_OB * G) * es;
        uint8_t *dst = ir_arena_alloc(g->arena, bytes);
        memset(dst, 0, bytes);
        const uint8_t *src = w->data;
        for (int64_t o = 0; o < O; o++)
            for (int64_t k = 0; k < K; k++)
                memcpy(dst + (size_t)slimc_rt_pack_index(o, k, KB, G) * es,
                       src + (size_t)(o * K + k) * es, es);
        Type t = {.dtype = w->type.dtype,
                  .shape = {3, {ir_dim(OB), ir_dim(KB), ir_dim(SLIMC_RT_PACK_OB * G)}}};
        ValueId pv = ir_const_new(g, ir_arena_printf(g->arena, q ? "%s.vnni" : "%s.pairs", w->name),
                                  t, dst, bytes, w->loc); /* w is stale from here */
        g->nodes[i].inputs[1] = pv;
        ir_node_set_int(g, i, "w_packed", 1);
        ir_node_set_int(g, i, "out_features", O);
    }
    ir_compact(g);
    return true;
}
