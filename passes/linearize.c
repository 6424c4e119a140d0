/* linearize: the linear layers of exported graphs as linear ops.
 *
 * Exporters write a linear layer as matmul(x, W) with W a constant [K, N] (+ an add of a
 * constant bias [N]): PyTorch's nn.Linear on inputs of more than two dims, every
 * transformer. Those stay generic matmuls unless rewritten, away from the tuned GEMM and
 * its epilogues. This pass
 *   1. rewrites each matmul(x, W [K, N] constant) (+ add(b [N] constant)) as
 *      linear(x, W, b) with w_transposed=1, the quantize pass's own rewrite
 *      (passes/quant_linear.c: pass_quant_take_matmuls) in the layout pass's form for the
 *      f32 GEMM: W is read where it lies, never copied (int8 modes ran quantize before,
 *      which took the same matmuls as [N, K] linears);
 *   2. splits a linear whose every use is a slice of its features (the last axis, step 1,
 *      static bounds) into one linear per slice, over the slice's rows of the weight and
 *      bias: PyTorch's fused in_proj of MultiheadAttention (one [3E, E] projection sliced
 *      into q, k and v). Each slice node becomes that linear in place (it already sits
 *      after x and writes the sliced value), and the fused linear goes dead (dce).
 * Both are exact: every output element is the same dot product plus the same bias. */
#include "passes/pass.h"
#include "passes/quant_internal.h"

#include <stdlib.h>
#include <string.h>

/* The bounds [*lo, *hi) of slice node s over a last axis of length n, when s slices that
 * axis with step 1 and its bounds are static; false otherwise. Bounds clamp as ONNX's
 * Slice (negative counts from the end). */
static bool feature_slice(const Graph *g, const Node *s, int rank, int64_t n, int64_t *lo,
                          int64_t *hi)
{
    if (s->dead || s->op != IR_OP_SLICE || s->n_epilogue || ir_attr_step(s) != 1)
        return false;
    int64_t axis = ir_attr_axis(s);
    if (axis < 0)
        axis += rank;
    if (axis != rank - 1)
        return false;
    int64_t a = ir_attr_start(s), b = ir_attr_end(s);
    a = a < 0 ? a + n : a;
    b = b < 0 ? b + n : b;
    a = a < 0 ? 0 : a > n ? n : a;
    b = b < 0 ? 0 : b > n ? n : b;
    const Shape *os = &g->values[s->outputs[0]].type.shape;
    if (b <= a || os->rank != rank || !ir_dim_static(os->d[rank - 1]) || os->d[rank - 1].c != b - a)
        return false;
    *lo = a;
    *hi = b;
    return true;
}

/* Splits linear l (weight an f32 constant [N, K], or [K, N] when w_transposed; bias absent
 * or an f32 constant [N]) when all its uses are feature slices; returns the number of
 * linears made. */
static int split_sliced(Graph *g, NodeId l, const int *uses, NodeId **users, const int *n_users)
{
    const Node *n = &g->nodes[l];
    const ValueId y = n->outputs[0];
    const bool tr = ir_attr_w_transposed(n) != 0;
    if (n->n_epilogue || n->n_inputs > 3 || ir_attr_w_sparse(n) || g->values[y].is_output ||
        uses[y] < 2 || n_users[y] != uses[y])
        return 0;
    const Value *w = &g->values[n->inputs[1]];
    const ValueId bv = n->n_inputs > 2 ? n->inputs[2] : IR_NONE;
    const Value *b = bv == IR_NONE ? NULL : &g->values[bv];
    const int rank = g->values[y].type.shape.rank; /* values may move: keep no pointer */
    if (w->kind != IR_VALUE_CONST || !w->data || w->type.dtype != IR_F32 || w->type.quant ||
        w->type.shape.rank != 2 || !ir_shape_static(&w->type.shape) || rank < 1)
        return 0;
    const int64_t N = w->type.shape.d[tr].c, K = w->type.shape.d[!tr].c;
    if (w->data_bytes != sizeof(float) * (size_t)(N * K))
        return 0;
    if (b && (b->kind != IR_VALUE_CONST || !b->data || b->type.dtype != IR_F32 || b->type.quant ||
              b->type.shape.rank != 1 || b->type.shape.d[0].c != N ||
              b->data_bytes != sizeof(float) * (size_t)N))
        return 0;
    for (int u = 0; u < n_users[y]; u++) {
        int64_t lo, hi;
        const Node *s = &g->nodes[users[y][u]];
        if (!feature_slice(g, s, rank, N, &lo, &hi) || s->device != n->device)
            return 0;
    }
    const ValueId x = n->inputs[0];
    for (int u = 0; u < n_users[y]; u++) {
        const NodeId si = users[y][u];
        int64_t lo, hi;
        feature_slice(g, &g->nodes[si], rank, N, &lo, &hi);
        const int64_t rows = hi - lo;
        const Value *wv = &g->values[n->inputs[1]]; /* re-read: ir_const_new may move values */
        Type wt = {.dtype = IR_F32, .shape = {2, {ir_dim(rows), ir_dim(K)}}};
        const float *wd = (const float *)wv->data + lo * K; /* rows [lo, hi) of [N, K] */
        if (tr) { /* columns [lo, hi) of [K, N], copied: [K, rows] */
            float *cols = ir_arena_alloc(g->arena, sizeof(float) * (size_t)(rows * K + 1));
            for (int64_t k = 0; k < K; k++)
                memcpy(cols + k * rows, (const float *)wv->data + k * N + lo,
                       sizeof(float) * (size_t)rows);
            wd = cols;
            wt.shape.d[0] = ir_dim(K);
            wt.shape.d[1] = ir_dim(rows);
        }
        const ValueId ws = ir_const_new(
            g, ir_arena_printf(g->arena, "%s[%lld:%lld]", wv->name, (long long)lo, (long long)hi),
            wt, wd, sizeof(float) * (size_t)(rows * K), wv->loc);
        ValueId bs = IR_NONE;
        if (bv != IR_NONE) {
            const Value *bb = &g->values[bv];
            Type bt = {.dtype = IR_F32, .shape = {1, {ir_dim(rows)}}};
            bs = ir_const_new(
                g,
                ir_arena_printf(g->arena, "%s[%lld:%lld]", bb->name, (long long)lo, (long long)hi),
                bt, (const float *)bb->data + lo, sizeof(float) * (size_t)rows, bb->loc);
        }
        Node *s = &g->nodes[si];
        s->op = IR_OP_LINEAR;
        s->inputs = ir_arena_alloc(g->arena, sizeof(ValueId) * 3);
        s->inputs[0] = x;
        s->inputs[1] = ws;
        s->inputs[2] = bs;
        s->n_inputs = bs == IR_NONE ? 2 : 3;
        s->n_attrs = 0; /* the slice's bounds mean nothing to a linear */
        s->attrs = NULL;
        if (tr)
            ir_node_set_int(g, si, "w_transposed", 1);
    }
    g->nodes[l].dead = true;
    return n_users[y];
}

bool pass_linearize(Graph *g, const PassArgs *args, Diag *d)
{
    if (!pass_args_check(args, NULL, d))
        return false;
    pass_quant_take_matmuls(g, true);
    /* Every value's consuming nodes (a node that reads a value twice counts twice, so
     * n_users == uses only when no epilogue or graph output reads it). */
    const int nv = g->n_values;
    int *uses = calloc((size_t)nv + 1, sizeof *uses);
    int *n_users = calloc((size_t)nv + 1, sizeof *n_users);
    NodeId **users = calloc((size_t)nv + 1, sizeof *users);
    SLIMC_ASSERT(uses && n_users && users);
    ir_uses(g, uses, NULL);
    for (NodeId i = 0; i < g->n_nodes; i++) {
        const Node *n = &g->nodes[i];
        if (n->dead)
            continue;
        for (int j = 0; j < n->n_inputs; j++) {
            const ValueId v = n->inputs[j];
            if (v < 0 || g->values[v].kind != IR_VALUE_TEMP)
                continue;
            NodeId *grown = realloc(users[v], sizeof(NodeId) * (size_t)(n_users[v] + 1));
            SLIMC_ASSERT(grown);
            users[v] = grown;
            users[v][n_users[v]++] = i;
        }
    }
    int split = 0;
    const NodeId n_nodes = g->n_nodes;
    for (NodeId i = 0; i < n_nodes; i++)
        if (!g->nodes[i].dead && g->nodes[i].op == IR_OP_LINEAR)
            split += split_sliced(g, i, uses, users, n_users);
    for (int v = 0; v < nv; v++)
        free(users[v]);
    free(users);
    free(n_users);
    free(uses);
    if (split)
        ir_compact(g);
    return true;
}
