/* lnorm: LayerNorm as exporters below ONNX opset 17 write it, as one layer_norm op:
 *   m = ReduceMean(x, axes = the last k, keepdims)     d = x - m
 *   v = ReduceMean(d ^ 2 (Pow by 2, or d * d), the same axes)
 *   y = d / Sqrt(v + eps)  [* gamma]  [+ beta]
 * (PyTorch's nn.LayerNorm at opset 9-16, HF BERT-style exports, tf2onnx). gamma and beta
 * are f32 constants shaped as the last k dims of x (leading 1s allowed: the constant is
 * reshaped), on either side of their mul and add; eps a one-element constant. Every
 * intermediate is used only by the chain (d by the square and the division) and is not a
 * graph output. The result is layer_norm(x, gamma, beta) with normalized_ndim k and eps,
 * whose kernel keeps a row in registers instead of writing the five intermediates.
 *
 * The function is the same; the rounding differs (the kernel sums in another order and
 * multiplies by 1 / sqrt), tested against ONNX Runtime to 1e-5 (tests/cli/onnx_act.sh). */
#include "passes/chain.h"

#include <string.h>

/* The trailing-axes count k of reduce_mean node n over a rank-r input when its axes are
 * exactly the last k (negative ones counted from the end) and it keeps dims; 0 otherwise. */
static int trailing_axes(const Node *n, int r)
{
    int64_t axes[IR_MAX_RANK];
    const int k = ir_attr_ints(n, "axes", axes, IR_MAX_RANK, 0);
    if (k < 1 || k > r || !ir_attr_int(n, "keepdim", 0))
        return 0;
    bool seen[IR_MAX_RANK] = {false};
    for (int i = 0; i < k; i++) {
        const int64_t a = axes[i] < 0 ? axes[i] + r : axes[i];
        if (a < r - k || a >= r || seen[a])
            return 0;
        seen[a] = true;
    }
    return k;
}

/* v as the affine parameter of a layer_norm over the last k dims of x's shape: v itself
 * when it has that shape, a reshaped copy of the constant when it has leading 1s more;
 * IR_NONE when it is not such an f32 constant. */
static ValueId affine_param(Graph *g, ValueId v, const Shape *xs, int k)
{
    const Value *val = &g->values[v];
    if (val->kind != IR_VALUE_CONST || !val->data || val->type.dtype != IR_F32 || val->type.quant)
        return IR_NONE;
    const Shape *ps = &val->type.shape;
    if (ps->rank < k)
        return IR_NONE;
    for (int j = 0; j < ps->rank; j++) {
        const int from_end = ps->rank - j;
        const Dim want = from_end <= k ? xs->d[xs->rank - from_end] : ir_dim(1);
        if (!ir_dim_eq(ps->d[j], want))
            return IR_NONE;
    }
    if (ps->rank == k)
        return v;
    Type t = val->type;
    t.shape.rank = k;
    memmove(t.shape.d, ps->d + (ps->rank - k), sizeof(Dim) * (size_t)k);
    return ir_const_new(g, val->name, t, val->data, val->data_bytes, g->nodes[0].loc);
}

/* The other operand of binary node n when one of its operands is a constant usable as an
 * affine parameter (*param); IR_NONE otherwise. */
static ValueId by_param(const Graph *g, NodeId n, ValueId *param)
{
    const Node *nd = &g->nodes[n];
    for (int side = 0; side < 2; side++)
        if (g->values[nd->inputs[side]].kind == IR_VALUE_CONST &&
            g->values[nd->inputs[1 - side]].kind != IR_VALUE_CONST) {
            *param = nd->inputs[side];
            return nd->inputs[1 - side];
        }
    return IR_NONE;
}

typedef struct Match {
    ValueId x, gamma, beta;
    int k;
    double eps;
} Match;

/* Whether div node n (recorded) is (x - mean(x)) / sqrt(mean((x - mean(x))^2) + eps). */
static bool normalized(Chain *c, NodeId n, Match *m)
{
    const Graph *g = c->g;
    const Node *dv = &g->nodes[n];
    if (dv->op != IR_OP_DIV)
        return false;
    const NodeId sq = pass_chain_inner(c, dv->inputs[1], IR_OP_SQRT);
    const NodeId ad =
        sq == IR_NONE ? IR_NONE : pass_chain_inner(c, g->nodes[sq].inputs[0], IR_OP_ADD);
    if (ad == IR_NONE)
        return false;
    ValueId var = IR_NONE;
    for (int side = 0; side < 2 && var == IR_NONE; side++)
        if (pass_chain_const(g, g->nodes[ad].inputs[side], &m->eps))
            var = g->nodes[ad].inputs[1 - side];
    const NodeId vm = var == IR_NONE ? IR_NONE : pass_chain_inner(c, var, IR_OP_REDUCE_MEAN);
    if (vm == IR_NONE)
        return false;
    const ValueId d = dv->inputs[0], p = g->nodes[vm].inputs[0];
    /* the square: pow(d, 2) (d then has two uses) or d * d (three) */
    const int mark = c->n_members;
    NodeId sqn = pass_chain_inner(c, p, IR_OP_POW);
    int d_uses = 2;
    if (sqn == IR_NONE || pass_chain_by_const(g, sqn, 2.0) != d) {
        c->n_members = mark;
        sqn = pass_chain_inner(c, p, IR_OP_MUL);
        d_uses = 3;
        if (sqn == IR_NONE || g->nodes[sqn].inputs[0] != d || g->nodes[sqn].inputs[1] != d)
            return false;
    }
    const NodeId sub = pass_chain_inner_n(c, d, IR_OP_SUB, d_uses);
    if (sub == IR_NONE)
        return false;
    m->x = g->nodes[sub].inputs[0];
    const NodeId mm = pass_chain_inner(c, g->nodes[sub].inputs[1], IR_OP_REDUCE_MEAN);
    if (mm == IR_NONE || g->nodes[mm].inputs[0] != m->x)
        return false;
    const int r = g->values[m->x].type.shape.rank;
    m->k = trailing_axes(&g->nodes[mm], r);
    return m->k > 0 && trailing_axes(&g->nodes[vm], r) == m->k &&
           g->values[m->x].type.dtype == IR_F32 && !g->values[m->x].type.quant;
}

/* Whether node end ends a LayerNorm chain: the division, or it times gamma, or that (or the
 * division) plus beta. */
static bool lnorm_end(Chain *c, NodeId end, Match *m)
{
    Graph *g = c->g;
    const Node *e = &g->nodes[end];
    m->gamma = m->beta = IR_NONE;
    if (e->op == IR_OP_DIV)
        return normalized(c, end, m);
    if (e->op != IR_OP_ADD && e->op != IR_OP_MUL)
        return false;
    ValueId pe = IR_NONE, inner = by_param(g, end, &pe);
    if (inner == IR_NONE)
        return false;
    NodeId dv = IR_NONE;
    if (e->op == IR_OP_ADD) {
        const NodeId mu = pass_chain_inner(c, inner, IR_OP_MUL);
        ValueId pg = IR_NONE;
        const ValueId q = mu == IR_NONE ? IR_NONE : by_param(g, mu, &pg);
        if (q != IR_NONE) {
            dv = pass_chain_inner(c, q, IR_OP_DIV);
            m->gamma = pg;
        } else {
            c->n_members = 0;
            dv = pass_chain_inner(c, inner, IR_OP_DIV);
        }
        m->beta = pe;
    } else {
        dv = pass_chain_inner(c, inner, IR_OP_DIV);
        m->gamma = pe;
    }
    if (dv == IR_NONE || !normalized(c, dv, m))
        return false;
    const Shape *xs = &g->values[m->x].type.shape;
    if (m->gamma != IR_NONE && (m->gamma = affine_param(g, m->gamma, xs, m->k)) == IR_NONE)
        return false;
    if (m->beta != IR_NONE && (m->beta = affine_param(g, m->beta, xs, m->k)) == IR_NONE)
        return false;
    return true;
}

static bool lnorm_at(Chain *c, NodeId i)
{
    Graph *g = c->g;
    Match m;
    if (g->nodes[i].n_epilogue || !lnorm_end(c, i, &m))
        return false;
    const Type *xt = &g->values[m.x].type, *yt = &g->values[g->nodes[i].outputs[0]].type;
    if (yt->dtype != IR_F32 || yt->quant || !ir_shape_eq(&xt->shape, &yt->shape) ||
        !pass_chain_same_device(c, i))
        return false;
    const ValueId ins[3] = {m.x, m.gamma, m.beta};
    pass_chain_replace(c, i, IR_OP_LAYER_NORM, ins,
                       m.beta != IR_NONE    ? 3
                       : m.gamma != IR_NONE ? 2
                                            : 1);
    ir_node_set_int(g, i, "normalized_ndim", m.k);
    ir_node_set_float(g, i, "eps", m.eps);
    return true;
}

/* From the last node back: a chain's end (its bias add) before the division inside. */
bool pass_lnorm(Graph *g, const PassArgs *args, Diag *d)
{
    return pass_chain_run(g, args, d, true, lnorm_at);
}
