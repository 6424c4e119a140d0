/* The gradient rules, one per differentiable op: what passes/autodiff.c appends for a node
 * when it walks the forward graph backwards. Each rule reads the forward node n (its
 * inputs and output stay alive in the step graph: the backward reads the activations) and
 * dy, the gradient of n's output, and adds the gradient of each input that needs one.
 * pass_ad_rule_for is the table: a switch over every OpKind with no default, so a new op in
 * ir/ops.def does not build until it has a rule or is listed as having none (and its
 * ops.def row's IR_F_DIFF says the same: tests/unit/test_autodiff.c). docs/ir.md says how
 * to add one. */
#include "passes/autodiff_internal.h"

#include <math.h>
#include <string.h>

static const Type *type_of(const AdCtx *c, ValueId v)
{
    return &c->g->values[v].type;
}

/* ---- elementwise ---- */

/* The activations whose gradient is one binary op of ops.def over (dy, x). */
#define ACT_RULE(name, grad_op)                                                                    \
    static void rule_##name(AdCtx *c, const Node *n, ValueId dy)                                   \
    {                                                                                              \
        if (pass_ad_needs(c, n->inputs[0]))                                                        \
            pass_ad_accum(c, n->inputs[0], pass_ad_op2(c, grad_op, dy, n->inputs[0]));             \
    }
ACT_RULE(relu, IR_OP_RELU_GRAD)
ACT_RULE(relu6, IR_OP_RELU6_GRAD)
ACT_RULE(sigmoid, IR_OP_SIGMOID_GRAD)
ACT_RULE(tanh, IR_OP_TANH_GRAD)
ACT_RULE(gelu, IR_OP_GELU_GRAD)
ACT_RULE(gelu_tanh, IR_OP_GELU_TANH_GRAD)
ACT_RULE(silu, IR_OP_SILU_GRAD)
ACT_RULE(hardswish, IR_OP_HARDSWISH_GRAD)
ACT_RULE(hardsigmoid, IR_OP_HARDSIGMOID_GRAD)
ACT_RULE(abs, IR_OP_ABS_GRAD)
#undef ACT_RULE

/* leaky_relu: dy where x > 0, slope * dy elsewhere = relu_grad(dy, x) (1 - slope) + dy slope. */
static void rule_leaky_relu(AdCtx *c, const Node *n, ValueId dy)
{
    float s = (float)ir_attr_negative_slope(n);
    ValueId pos = pass_ad_op2(c, IR_OP_MUL, pass_ad_op2(c, IR_OP_RELU_GRAD, dy, n->inputs[0]),
                              pass_ad_scalar(c, 1.0f - s));
    pass_ad_accum(
        c, n->inputs[0],
        pass_ad_op2(c, IR_OP_ADD, pos, pass_ad_op2(c, IR_OP_MUL, dy, pass_ad_scalar(c, s))));
}

/* fake_quant: the straight-through estimator, fake_quant_grad(dy, x) with the same grid. */
static void rule_fake_quant(AdCtx *c, const Node *n, ValueId dy)
{
    if (!pass_ad_needs(c, n->inputs[0]))
        return;
    ValueId in[2] = {dy, n->inputs[0]};
    NodeId t = pass_ad_node(c, IR_OP_FAKE_QUANT_GRAD, in, 2);
    ir_node_set_float(c->g, t, "scale", ir_attr_scale(n));
    ir_node_set_int(c->g, t, "zero_point", ir_attr_zero_point(n));
    pass_ad_accum(c, n->inputs[0], pass_ad_done(c, t));
}

static void rule_exp(AdCtx *c, const Node *n, ValueId dy)
{
    pass_ad_accum(c, n->inputs[0], pass_ad_op2(c, IR_OP_MUL, dy, n->outputs[0]));
}

static void rule_log(AdCtx *c, const Node *n, ValueId dy)
{
    pass_ad_accum(c, n->inputs[0], pass_ad_op2(c, IR_OP_DIV, dy, n->inputs[0]));
}

/* sqrt: dy / (2 sqrt(x)) */
static void rule_sqrt(AdCtx *c, const Node *n, ValueId dy)
{
    ValueId twice = pass_ad_op2(c, IR_OP_MUL, n->outputs[0], pass_ad_scalar(c, 2.0f));
    pass_ad_accum(c, n->inputs[0], pass_ad_op2(c, IR_OP_DIV, dy, twice));
}

/* rsqrt: dy * (-0.5 rsqrt(x) / x) */
static void rule_rsqrt(AdCtx *c, const Node *n, ValueId dy)
{
    ValueId half = pass_ad_op2(c, IR_OP_MUL, n->outputs[0], pass_ad_scalar(c, -0.5f));
    pass_ad_accum(c, n->inputs[0],
                  pass_ad_op2(c, IR_OP_MUL, dy, pass_ad_op2(c, IR_OP_DIV, half, n->inputs[0])));
}

static void rule_neg(AdCtx *c, const Node *n, ValueId dy)
{
    pass_ad_accum(c, n->inputs[0], pass_ad_op1(c, IR_OP_NEG, dy));
}

/* erf: dy * 2 / sqrt(pi) * exp(-x^2) */
static void rule_erf(AdCtx *c, const Node *n, ValueId dy)
{
    ValueId x = n->inputs[0];
    ValueId e =
        pass_ad_op1(c, IR_OP_EXP, pass_ad_op1(c, IR_OP_NEG, pass_ad_op2(c, IR_OP_MUL, x, x)));
    ValueId k = pass_ad_op2(c, IR_OP_MUL, e, pass_ad_scalar(c, 1.1283791670955126f));
    pass_ad_accum(c, x, pass_ad_op2(c, IR_OP_MUL, dy, k));
}

/* softsign: dy / (1 + |x|)^2 */
static void rule_softsign(AdCtx *c, const Node *n, ValueId dy)
{
    ValueId den =
        pass_ad_op2(c, IR_OP_ADD, pass_ad_op1(c, IR_OP_ABS, n->inputs[0]), pass_ad_scalar(c, 1.0f));
    pass_ad_accum(c, n->inputs[0],
                  pass_ad_op2(c, IR_OP_DIV, dy, pass_ad_op2(c, IR_OP_MUL, den, den)));
}

/* add, sub, mul, div: each operand's gradient summed over the axes it was broadcast on. */
static void rule_arith(AdCtx *c, const Node *n, ValueId dy)
{
    ValueId a = n->inputs[0], b = n->inputs[1];
    OpKind op = n->op;
    if (pass_ad_needs(c, a)) {
        ValueId ga = dy;
        if (op == IR_OP_MUL)
            ga = pass_ad_op2(c, IR_OP_MUL, dy, b);
        else if (op == IR_OP_DIV)
            ga = pass_ad_op2(c, IR_OP_DIV, dy, b);
        pass_ad_accum(c, a, pass_ad_sum_to(c, ga, a));
    }
    if (pass_ad_needs(c, b)) {
        ValueId gb = dy;
        if (op == IR_OP_SUB)
            gb = pass_ad_op1(c, IR_OP_NEG, dy);
        else if (op == IR_OP_MUL)
            gb = pass_ad_op2(c, IR_OP_MUL, dy, a);
        else if (op == IR_OP_DIV) /* -dy * (a / b) / b */
            gb = pass_ad_op1(
                c, IR_OP_NEG,
                pass_ad_op2(c, IR_OP_DIV, pass_ad_op2(c, IR_OP_MUL, dy, n->outputs[0]), b));
        pass_ad_accum(c, b, pass_ad_sum_to(c, gb, b));
    }
}

/* where(cond, a, b): dy to a where cond holds, to b elsewhere (each summed back to its
 * operand's shape). */
static void rule_where(AdCtx *c, const Node *n, ValueId dy)
{
    ValueId cond = n->inputs[0], zero = pass_ad_scalar(c, 0.0f);
    for (int k = 1; k <= 2; k++) {
        ValueId v = n->inputs[k];
        if (!pass_ad_needs(c, v))
            continue;
        ValueId in[3] = {cond, k == 1 ? dy : zero, k == 1 ? zero : dy};
        pass_ad_accum(c, v, pass_ad_sum_to(c, pass_ad_op(c, IR_OP_WHERE, in, 3), v));
    }
}

/* clip: dy where min <= x <= max (PyTorch's clamp backward), 0 elsewhere. */
static void rule_clip(AdCtx *c, const Node *n, ValueId dy)
{
    ValueId x = n->inputs[0], zero = pass_ad_scalar(c, 0.0f);
    ValueId lo = pass_ad_op2(c, IR_OP_GE, x, pass_ad_scalar(c, (float)ir_attr_min(n)));
    ValueId hi = pass_ad_op2(c, IR_OP_LE, x, pass_ad_scalar(c, (float)ir_attr_max(n)));
    ValueId in_hi[3] = {hi, dy, zero};
    ValueId inner = pass_ad_op(c, IR_OP_WHERE, in_hi, 3);
    ValueId in_lo[3] = {lo, inner, zero};
    pass_ad_accum(c, x, pass_ad_op(c, IR_OP_WHERE, in_lo, 3));
}

/* maximum, minimum: dy to the operand that won, half to each on a tie (PyTorch's). */
static void rule_minmax(AdCtx *c, const Node *n, ValueId dy)
{
    ValueId a = n->inputs[0], b = n->inputs[1], zero = pass_ad_scalar(c, 0.0f);
    OpKind wins = n->op == IR_OP_MAXIMUM ? IR_OP_GT : IR_OP_LT;
    ValueId half = pass_ad_op2(c, IR_OP_MUL, dy, pass_ad_scalar(c, 0.5f));
    ValueId tie = pass_ad_op2(c, IR_OP_EQ, a, b);
    for (int k = 0; k < 2; k++) {
        ValueId v = k ? b : a, other = k ? a : b;
        if (!pass_ad_needs(c, v))
            continue;
        ValueId in_tie[3] = {tie, half, zero};
        ValueId tied = pass_ad_op(c, IR_OP_WHERE, in_tie, 3);
        ValueId in_win[3] = {pass_ad_op2(c, wins, v, other), dy, tied};
        pass_ad_accum(c, v, pass_ad_sum_to(c, pass_ad_op(c, IR_OP_WHERE, in_win, 3), v));
    }
}

/* expand: dy summed over the broadcast axes. */
static void rule_expand(AdCtx *c, const Node *n, ValueId dy)
{
    pass_ad_accum(c, n->inputs[0], pass_ad_sum_to(c, dy, n->inputs[0]));
}

/* ---- linear algebra ---- */

/* v with its last two dims swapped. */
static ValueId swap_last2(AdCtx *c, ValueId v)
{
    int r = type_of(c, v)->shape.rank;
    int64_t perm[IR_MAX_RANK];
    for (int i = 0; i < r; i++)
        perm[i] = i;
    perm[r - 2] = r - 1;
    perm[r - 1] = r - 2;
    NodeId t = pass_ad_node(c, IR_OP_PERMUTE, &v, 1);
    ir_node_set_ints(c->g, t, "perm", perm, r);
    return pass_ad_done(c, t);
}

/* v as [-1, last] (a view). */
static ValueId as_rows(AdCtx *c, ValueId v)
{
    const Shape *s = &type_of(c, v)->shape;
    if (s->rank == 2)
        return v;
    int64_t shape[2] = {-1, s->d[s->rank - 1].c};
    NodeId t = pass_ad_node(c, IR_OP_RESHAPE, &v, 1);
    ir_node_set_ints(c->g, t, "shape", shape, 2);
    return pass_ad_done(c, t);
}

/* linear(x [.., K], w [O, K] (w_transposed: [K, O]), b [O]) = x w^T + b. */
static void rule_linear(AdCtx *c, const Node *n, ValueId dy)
{
    ValueId x = n->inputs[0], w = n->inputs[1], b = n->n_inputs > 2 ? n->inputs[2] : IR_NONE;
    bool wt = ir_attr_w_transposed(n) != 0;
    const Shape *xs = &type_of(c, x)->shape;
    if (xs->rank < 1 || !ir_dim_static(xs->d[xs->rank - 1])) {
        pass_ad_unsupported(c, "an input without a fixed last dim");
        return;
    }
    if (pass_ad_needs(c, x)) /* dy [.., O] w [O, K] */
        pass_ad_accum(c, x, pass_ad_op2(c, IR_OP_MATMUL, dy, wt ? swap_last2(c, w) : w));
    if (pass_ad_needs(c, w)) { /* sum over the rows of dy^T x */
        ValueId d2 = as_rows(c, dy), x2 = as_rows(c, x);
        ValueId gw = wt ? pass_ad_op2(c, IR_OP_MATMUL, swap_last2(c, x2), d2)
                        : pass_ad_op2(c, IR_OP_MATMUL, swap_last2(c, d2), x2);
        pass_ad_accum(c, w, gw);
    }
    if (b != IR_NONE && pass_ad_needs(c, b))
        pass_ad_accum(c, b, pass_ad_sum_to(c, dy, b));
}

/* matmul(a [.., M, K], b [.., K, N]) with batch broadcasting. */
static void rule_matmul(AdCtx *c, const Node *n, ValueId dy)
{
    ValueId a = n->inputs[0], b = n->inputs[1];
    if (type_of(c, a)->shape.rank < 2 || type_of(c, b)->shape.rank < 2) {
        pass_ad_unsupported(c, "a 1-D operand");
        return;
    }
    if (pass_ad_needs(c, a))
        pass_ad_accum(c, a,
                      pass_ad_sum_to(c, pass_ad_op2(c, IR_OP_MATMUL, dy, swap_last2(c, b)), a));
    if (pass_ad_needs(c, b))
        pass_ad_accum(c, b,
                      pass_ad_sum_to(c, pass_ad_op2(c, IR_OP_MATMUL, swap_last2(c, a), dy), b));
}

static void set_ints2(AdCtx *c, NodeId t, const char *name, const int64_t *v)
{
    ir_node_set_ints(c->g, t, name, v, 2);
}

/* conv2d(x, w, b): x's gradient is conv_transpose2d(dy, w) (the same stride, padding,
 * dilation and groups, output_padding making up the rows and columns the stride skipped),
 * w's conv2d_weight_grad(x, dy), b's dy summed over N, H, W. */
/* A fourth input (the CSR copy of a constant weight, passes/sparse.c) is accepted and has no
 * gradient: the semantics are those of w, and a weight being trained is no constant. */
static void rule_conv2d(AdCtx *c, const Node *n, ValueId dy)
{
    ValueId x = n->inputs[0], w = n->inputs[1], b = n->n_inputs > 2 ? n->inputs[2] : IR_NONE;
    int64_t s[2], p[2], dil[2], groups = ir_attr_groups(n);
    ir_attr_stride(n, s, 2);
    ir_attr_padding(n, p, 2);
    ir_attr_dilation(n, dil, 2);
    if (pass_ad_needs(c, x)) {
        const Shape *xs = &type_of(c, x)->shape, *ws = &type_of(c, w)->shape,
                    *ys = &type_of(c, dy)->shape;
        int64_t opad[2];
        for (int i = 0; i < 2; i++)
            opad[i] = xs->d[2 + i].c -
                      ((ys->d[2 + i].c - 1) * s[i] - 2 * p[i] + dil[i] * (ws->d[2 + i].c - 1) + 1);
        ValueId in[2] = {dy, w};
        NodeId t = pass_ad_node(c, IR_OP_CONV_TRANSPOSE2D, in, 2);
        set_ints2(c, t, "stride", s);
        set_ints2(c, t, "padding", p);
        set_ints2(c, t, "output_padding", opad);
        set_ints2(c, t, "dilation", dil);
        ir_node_set_int(c->g, t, "groups", groups);
        pass_ad_accum(c, x, pass_ad_done(c, t));
    }
    if (pass_ad_needs(c, w)) {
        ValueId in[3] = {x, dy, w};
        NodeId t = pass_ad_node(c, IR_OP_CONV2D_WEIGHT_GRAD, in, 3);
        set_ints2(c, t, "stride", s);
        set_ints2(c, t, "padding", p);
        set_ints2(c, t, "dilation", dil);
        ir_node_set_int(c->g, t, "groups", groups);
        pass_ad_accum(c, w, pass_ad_done(c, t));
    }
    if (b != IR_NONE && pass_ad_needs(c, b)) {
        static const int64_t axes[3] = {0, 2, 3};
        NodeId t = pass_ad_node(c, IR_OP_REDUCE_SUM, &dy, 1);
        ir_node_set_ints(c->g, t, "axes", axes, 3);
        pass_ad_accum(c, b, pass_ad_done(c, t));
    }
}

/* ---- pooling ---- */

/* A node of op over (dy, x) carrying n's attributes. */
static ValueId with_attrs(AdCtx *c, const Node *n, OpKind op, ValueId dy)
{
    ValueId in[2] = {dy, n->inputs[0]};
    NodeId t = pass_ad_node(c, op, in, 2);
    for (int i = 0; i < n->n_attrs; i++) {
        const Attr *a = &n->attrs[i];
        if (a->kind == IR_ATTR_INT)
            ir_node_set_int(c->g, t, a->name, a->i);
        else if (a->kind == IR_ATTR_INTS)
            ir_node_set_ints(c->g, t, a->name, a->ints, a->n_ints);
        else if (a->kind == IR_ATTR_FLOAT)
            ir_node_set_float(c->g, t, a->name, a->f);
    }
    return pass_ad_done(c, t);
}

static void rule_max_pool2d(AdCtx *c, const Node *n, ValueId dy)
{
    pass_ad_accum(c, n->inputs[0], with_attrs(c, n, IR_OP_MAX_POOL2D_GRAD, dy));
}

static void rule_avg_pool2d(AdCtx *c, const Node *n, ValueId dy)
{
    pass_ad_accum(c, n->inputs[0], with_attrs(c, n, IR_OP_AVG_POOL2D_GRAD, dy));
}

static void rule_adaptive_avg_pool2d(AdCtx *c, const Node *n, ValueId dy)
{
    pass_ad_accum(c, n->inputs[0],
                  pass_ad_op2(c, IR_OP_ADAPTIVE_AVG_POOL2D_GRAD, dy, n->inputs[0]));
}

/* ---- normalization ---- */

static ValueId sum_axis_keep(AdCtx *c, ValueId v, int64_t axis)
{
    NodeId t = pass_ad_node(c, IR_OP_REDUCE_SUM, &v, 1);
    ir_node_set_ints(c->g, t, "axes", &axis, 1);
    ir_node_set_int(c->g, t, "keepdim", 1);
    return pass_ad_done(c, t);
}

/* log_softmax: dy - exp(out) * sum(dy, axis); softmax: out * (dy - sum(dy * out, axis)). */
static void rule_softmax(AdCtx *c, const Node *n, ValueId dy)
{
    int64_t axis = ir_attr_axis_or(n, -1);
    ValueId out = n->outputs[0], gx;
    if (n->op == IR_OP_LOG_SOFTMAX) {
        ValueId sum = sum_axis_keep(c, dy, axis);
        gx = pass_ad_op2(c, IR_OP_SUB, dy,
                         pass_ad_op2(c, IR_OP_MUL, pass_ad_op1(c, IR_OP_EXP, out), sum));
    } else {
        ValueId sum = sum_axis_keep(c, pass_ad_op2(c, IR_OP_MUL, dy, out), axis);
        gx = pass_ad_op2(c, IR_OP_MUL, out, pass_ad_op2(c, IR_OP_SUB, dy, sum));
    }
    pass_ad_accum(c, n->inputs[0], gx);
}

/* The causal mask of an attention, [Sq, Sk]: 0 where key j <= query i, -inf above. */
static ValueId causal_mask(AdCtx *c, int64_t sq, int64_t sk)
{
    float *data = ir_arena_alloc(c->g->arena, sizeof(float) * (size_t)(sq * sk));
    for (int64_t i = 0; i < sq; i++)
        for (int64_t j = 0; j < sk; j++)
            data[i * sk + j] = j > i ? -INFINITY : 0.0f;
    Type t = {0};
    t.dtype = IR_F32;
    t.shape.rank = 2;
    t.shape.d[0] = ir_dim(sq);
    t.shape.d[1] = ir_dim(sk);
    const Node *f = &c->g->nodes[c->node];
    const char *name =
        ir_arena_printf(c->g->arena, "%s.grad%d", f->name ? f->name : "node", c->made++);
    return ir_const_new(c->g, name, t, data, sizeof(float) * (size_t)(sq * sk), f->loc);
}

/* attention(q, k, v, mask): the probabilities are recomputed from q and k (the forward
 * keeps only the output), p = softmax(q k^T * scale + mask), then
 *   dv = p^T dy,  dp = dy v^T,  ds = p * (dp - sum_j(dp * p)),
 *   dq = ds k * scale,  dk = ds^T q * scale,  dmask = ds summed to the mask's shape.
 * A fully masked row has NaN probabilities, so NaN gradients, as the chain it replaces. */
static void rule_attention(AdCtx *c, const Node *n, ValueId dy)
{
    ValueId q = n->inputs[0], k = n->inputs[1], v = n->inputs[2],
            m = n->n_inputs > 3 ? n->inputs[3] : IR_NONE;
    const Shape *qs = &type_of(c, q)->shape, *ks = &type_of(c, k)->shape;
    const int r = qs->rank;
    const Dim D = qs->d[r - 1], sq = qs->d[r - 2], sk = ks->d[r - 2];
    const bool causal = ir_attr_causal(n) != 0;
    if (!ir_node_attr_id(n, IR_A_scale) && !ir_dim_static(D)) {
        pass_ad_unsupported(c, "a symbolic head size without a scale attribute");
        return;
    }
    if (causal && (!ir_dim_static(sq) || !ir_dim_static(sk))) {
        pass_ad_unsupported(c, "causal=1 over a symbolic sequence length");
        return;
    }
    const bool gq = pass_ad_needs(c, q), gk = pass_ad_needs(c, k), gv = pass_ad_needs(c, v),
               gm = m != IR_NONE && pass_ad_needs(c, m);
    ValueId scale = pass_ad_scalar(c, (float)ir_attention_scale(n, D.c));
    ValueId s = pass_ad_op2(c, IR_OP_MUL, pass_ad_op2(c, IR_OP_MATMUL, q, swap_last2(c, k)), scale);
    if (m != IR_NONE)
        s = pass_ad_op2(c, IR_OP_ADD, s, m);
    if (causal)
        s = pass_ad_op2(c, IR_OP_ADD, s, causal_mask(c, sq.c, sk.c));
    NodeId sm = pass_ad_node(c, IR_OP_SOFTMAX, &s, 1);
    ir_node_set_int(c->g, sm, "axis", -1);
    ValueId p = pass_ad_done(c, sm);
    if (gv)
        pass_ad_accum(c, v, pass_ad_op2(c, IR_OP_MATMUL, swap_last2(c, p), dy));
    if (!gq && !gk && !gm)
        return;
    ValueId dp = pass_ad_op2(c, IR_OP_MATMUL, dy, swap_last2(c, v));
    ValueId rows = sum_axis_keep(c, pass_ad_op2(c, IR_OP_MUL, dp, p), -1);
    ValueId ds = pass_ad_op2(c, IR_OP_MUL, p, pass_ad_op2(c, IR_OP_SUB, dp, rows));
    if (gm)
        pass_ad_accum(c, m, pass_ad_sum_to(c, ds, m));
    ValueId dss = pass_ad_op2(c, IR_OP_MUL, ds, scale);
    if (gq)
        pass_ad_accum(c, q, pass_ad_op2(c, IR_OP_MATMUL, dss, k));
    if (gk)
        pass_ad_accum(c, k, pass_ad_op2(c, IR_OP_MATMUL, swap_last2(c, dss), q));
}

/* reduce_mean of v over axes [from, rank), keepdim. */
static ValueId mean_last(AdCtx *c, ValueId v, int from, int rank)
{
    int64_t axes[IR_MAX_RANK];
    for (int i = from; i < rank; i++)
        axes[i - from] = i;
    NodeId t = pass_ad_node(c, IR_OP_REDUCE_MEAN, &v, 1);
    ir_node_set_ints(c->g, t, "axes", axes, rank - from);
    ir_node_set_int(c->g, t, "keepdim", 1);
    return pass_ad_done(c, t);
}

/* v reshaped (a view) to the given sizes (-1 for one inferred). */
static ValueId reshape_ints(AdCtx *c, ValueId v, const int64_t *shape, int rank)
{
    NodeId t = pass_ad_node(c, IR_OP_RESHAPE, &v, 1);
    ir_node_set_ints(c->g, t, "shape", shape, rank);
    return pass_ad_done(c, t);
}

/* layer_norm over the last nd dims, with the statistics recomputed from x:
 * xhat = (x - mean) * rstd, g = dy * w; dx = rstd * (g - mean(g) - xhat * mean(g * xhat)),
 * dw = dy * xhat and db = dy summed over the leading dims. */
static void rule_layer_norm(AdCtx *c, const Node *n, ValueId dy)
{
    ValueId x = n->inputs[0], w = n->n_inputs > 1 ? n->inputs[1] : IR_NONE,
            b = n->n_inputs > 2 ? n->inputs[2] : IR_NONE;
    const Shape xs = type_of(c, x)->shape;
    int from = xs.rank - (int)ir_attr_normalized_ndim(n);
    for (int i = from; i < xs.rank; i++)
        if (!ir_dim_static(xs.d[i])) {
            pass_ad_unsupported(c, "a symbolic normalized dim");
            return;
        }
    ValueId xc = pass_ad_op2(c, IR_OP_SUB, x, mean_last(c, x, from, xs.rank));
    ValueId var = mean_last(c, pass_ad_op2(c, IR_OP_MUL, xc, xc), from, xs.rank);
    ValueId rstd = pass_ad_op1(
        c, IR_OP_RSQRT, pass_ad_op2(c, IR_OP_ADD, var, pass_ad_scalar(c, (float)ir_attr_eps(n))));
    ValueId xhat = pass_ad_op2(c, IR_OP_MUL, xc, rstd);
    if (pass_ad_needs(c, x)) {
        ValueId g = w != IR_NONE ? pass_ad_op2(c, IR_OP_MUL, dy, w) : dy;
        ValueId proj = pass_ad_op2(c, IR_OP_MUL, xhat,
                                   mean_last(c, pass_ad_op2(c, IR_OP_MUL, g, xhat), from, xs.rank));
        ValueId centered = pass_ad_op2(c, IR_OP_SUB, g, mean_last(c, g, from, xs.rank));
        pass_ad_accum(c, x,
                      pass_ad_op2(c, IR_OP_MUL, rstd, pass_ad_op2(c, IR_OP_SUB, centered, proj)));
    }
    if (w != IR_NONE && pass_ad_needs(c, w))
        pass_ad_accum(c, w, pass_ad_sum_to(c, pass_ad_op2(c, IR_OP_MUL, dy, xhat), w));
    if (b != IR_NONE && pass_ad_needs(c, b))
        pass_ad_accum(c, b, pass_ad_sum_to(c, dy, b));
}

/* group_norm(x [N, C, ...], w [C], b [C]): layer_norm's rule on x viewed as [N, G, C / G
 * * ...], the affine part per channel (w and b viewed as [C, 1, ...]). */
static void rule_group_norm(AdCtx *c, const Node *n, ValueId dy)
{
    ValueId x = n->inputs[0], w = n->n_inputs > 1 ? n->inputs[1] : IR_NONE,
            b = n->n_inputs > 2 ? n->inputs[2] : IR_NONE;
    const Shape xs = type_of(c, x)->shape;
    int64_t groups = ir_attr_num_groups(n), m = 1;
    for (int i = 1; i < xs.rank; i++) {
        if (!ir_dim_static(xs.d[i])) {
            pass_ad_unsupported(c, "symbolic channels or spatial dims");
            return;
        }
        m *= xs.d[i].c;
    }
    int64_t grouped[3] = {-1, groups, m / groups}, chan[IR_MAX_RANK];
    chan[0] = xs.d[1].c;
    for (int i = 2; i < xs.rank; i++)
        chan[i - 1] = 1;
    ValueId xr = reshape_ints(c, x, grouped, 3);
    ValueId xc = pass_ad_op2(c, IR_OP_SUB, xr, mean_last(c, xr, 2, 3));
    ValueId var = mean_last(c, pass_ad_op2(c, IR_OP_MUL, xc, xc), 2, 3);
    ValueId rstd = pass_ad_op1(
        c, IR_OP_RSQRT, pass_ad_op2(c, IR_OP_ADD, var, pass_ad_scalar(c, (float)ir_attr_eps(n))));
    ValueId xhat = pass_ad_reshape_to(c, pass_ad_op2(c, IR_OP_MUL, xc, rstd), x); /* [N, C, ...] */
    ValueId wc = w != IR_NONE ? reshape_ints(c, w, chan, xs.rank - 1) : IR_NONE;
    if (pass_ad_needs(c, x)) {
        ValueId g =
            reshape_ints(c, wc != IR_NONE ? pass_ad_op2(c, IR_OP_MUL, dy, wc) : dy, grouped, 3);
        ValueId xh = reshape_ints(c, xhat, grouped, 3);
        ValueId proj =
            pass_ad_op2(c, IR_OP_MUL, xh, mean_last(c, pass_ad_op2(c, IR_OP_MUL, g, xh), 2, 3));
        ValueId centered = pass_ad_op2(c, IR_OP_SUB, g, mean_last(c, g, 2, 3));
        ValueId gx = pass_ad_op2(c, IR_OP_MUL, rstd, pass_ad_op2(c, IR_OP_SUB, centered, proj));
        pass_ad_accum(c, x, pass_ad_reshape_to(c, gx, x));
    }
    if (w != IR_NONE && pass_ad_needs(c, w))
        pass_ad_accum(
            c, w,
            pass_ad_reshape_to(c, pass_ad_sum_to(c, pass_ad_op2(c, IR_OP_MUL, dy, xhat), wc), w));
    if (b != IR_NONE && pass_ad_needs(c, b)) {
        ValueId bc = reshape_ints(c, b, chan, xs.rank - 1);
        pass_ad_accum(c, b, pass_ad_reshape_to(c, pass_ad_sum_to(c, dy, bc), b));
    }
}

/* reduce_mean of v over axes, keepdim. */
static ValueId mean_axes(AdCtx *c, ValueId v, const int64_t *axes, int n)
{
    NodeId t = pass_ad_node(c, IR_OP_REDUCE_MEAN, &v, 1);
    ir_node_set_ints(c->g, t, "axes", axes, n);
    ir_node_set_int(c->g, t, "keepdim", 1);
    return pass_ad_done(c, t);
}

/* batch_norm_train(x [N, C, ...], w, b): layer_norm's rule with the statistics over N and
 * the spatial dims (recomputed from x), w and b per channel; dw and db summed over those. */
static void rule_batch_norm_train(AdCtx *c, const Node *n, ValueId dy)
{
    ValueId x = n->inputs[0], w = n->n_inputs > 1 ? n->inputs[1] : IR_NONE,
            b = n->n_inputs > 2 ? n->inputs[2] : IR_NONE;
    const Shape xs = type_of(c, x)->shape;
    int64_t axes[IR_MAX_RANK], chan[IR_MAX_RANK];
    int na = 0;
    axes[na++] = 0;
    chan[0] = xs.d[1].c;
    for (int i = 2; i < xs.rank; i++) {
        axes[na++] = i;
        chan[i - 1] = 1;
    }
    ValueId xc = pass_ad_op2(c, IR_OP_SUB, x, mean_axes(c, x, axes, na));
    ValueId var = mean_axes(c, pass_ad_op2(c, IR_OP_MUL, xc, xc), axes, na);
    ValueId rstd = pass_ad_op1(
        c, IR_OP_RSQRT, pass_ad_op2(c, IR_OP_ADD, var, pass_ad_scalar(c, (float)ir_attr_eps(n))));
    ValueId xhat = pass_ad_op2(c, IR_OP_MUL, xc, rstd);
    if (pass_ad_needs(c, x)) {
        ValueId g = dy;
        if (w != IR_NONE)
            g = pass_ad_op2(c, IR_OP_MUL, dy, reshape_ints(c, w, chan, xs.rank - 1));
        ValueId proj = pass_ad_op2(c, IR_OP_MUL, xhat,
                                   mean_axes(c, pass_ad_op2(c, IR_OP_MUL, g, xhat), axes, na));
        ValueId centered = pass_ad_op2(c, IR_OP_SUB, g, mean_axes(c, g, axes, na));
        pass_ad_accum(c, x,
                      pass_ad_op2(c, IR_OP_MUL, rstd, pass_ad_op2(c, IR_OP_SUB, centered, proj)));
    }
    for (int k = 0; k < 2; k++) {
        ValueId p = k ? b : w;
        if (p == IR_NONE || !pass_ad_needs(c, p))
            continue;
        ValueId v = k ? dy : pass_ad_op2(c, IR_OP_MUL, dy, xhat);
        NodeId t = pass_ad_node(c, IR_OP_REDUCE_SUM, &v, 1);
        ir_node_set_ints(c->g, t, "axes", axes, na);
        pass_ad_accum(c, p, pass_ad_done(c, t));
    }
}

/* ---- data movement ---- */

static void rule_view(AdCtx *c, const Node *n, ValueId dy)
{
    pass_ad_accum(c, n->inputs[0], pass_ad_reshape_to(c, dy, n->inputs[0]));
}

static void rule_permute(AdCtx *c, const Node *n, ValueId dy)
{
    int64_t perm[IR_MAX_RANK], inv[IR_MAX_RANK];
    int r = ir_attr_perm(n, perm, IR_MAX_RANK);
    for (int i = 0; i < r; i++)
        inv[perm[i]] = i;
    NodeId t = pass_ad_node(c, IR_OP_PERMUTE, &dy, 1);
    ir_node_set_ints(c->g, t, "perm", inv, r);
    pass_ad_accum(c, n->inputs[0], pass_ad_done(c, t));
}

static int norm_axis(int64_t axis, int rank)
{
    return (int)(axis < 0 ? axis + rank : axis);
}

/* concat: each input's part of dy, sliced along the axis. */
static void rule_concat(AdCtx *c, const Node *n, ValueId dy)
{
    int rank = type_of(c, dy)->shape.rank, axis = norm_axis(ir_attr_axis(n), rank);
    int64_t at = 0;
    for (int i = 0; i < n->n_inputs; i++) {
        Dim len = type_of(c, n->inputs[i])->shape.d[axis];
        if (!ir_dim_static(len)) {
            pass_ad_unsupported(c, "a symbolic size along the axis");
            return;
        }
        if (pass_ad_needs(c, n->inputs[i])) {
            NodeId t = pass_ad_node(c, IR_OP_SLICE, &dy, 1);
            ir_node_set_int(c->g, t, "axis", axis);
            ir_node_set_int(c->g, t, "start", at);
            ir_node_set_int(c->g, t, "end", at + len.c);
            pass_ad_accum(c, n->inputs[i], pass_ad_done(c, t));
        }
        at += len.c;
    }
}

/* slice: dy put back at the positions it was taken from, zeros elsewhere. Step 1: dy padded
 * to the input's length. Step k > 1: dy [.., m, ..] viewed as [.., m, 1, ..], padded to
 * [.., m, k, ..] (dy's elements at the multiples of k), viewed as [.., m*k, ..], then
 * padded by start in front and cut or padded to the input's length. */
static void rule_slice(AdCtx *c, const Node *n, ValueId dy)
{
    const Shape xs = type_of(c, n->inputs[0])->shape; /* copies: nodes are added */
    const Shape ys = type_of(c, dy)->shape;
    int axis = norm_axis(ir_attr_axis(n), xs.rank);
    int64_t step = ir_attr_step_or(n, 1);
    if (step < 1 || !ir_dim_static(xs.d[axis]) || ir_attr_end_sym(n) >= 0) {
        pass_ad_unsupported(c, "a negative step or a symbolic size along the axis");
        return;
    }
    int64_t len = xs.d[axis].c, start = ir_attr_start(n), end = ir_attr_end(n);
    start = start < 0 ? start + len : start;
    end = end < 0 ? end + len : end;
    start = start < 0 ? 0 : start > len ? len : start;
    end = end < start ? start : end > len ? len : end;
    int64_t pads[2 * IR_MAX_RANK] = {0};
    ValueId g = dy;
    int64_t span = end - start; /* what the padding below must bring to len */
    if (step > 1) {
        int64_t m = ys.d[axis].c, sizes[IR_MAX_RANK + 1];
        if (xs.rank >= IR_MAX_RANK || !pass_ad_reshape_sizes(&ys, sizes)) {
            pass_ad_unsupported(c, "a step other than 1 on an input of this rank or shape");
            return;
        }
        memmove(sizes + axis + 2, sizes + axis + 1, sizeof *sizes * (size_t)(xs.rank - 1 - axis));
        sizes[axis + 1] = 1;
        g = reshape_ints(c, g, sizes, xs.rank + 1);
        int k = 2 * (xs.rank - 1 - axis); /* the new axis, axis + 1 of rank + 1 */
        pads[k + 1] = step - 1;
        NodeId t = pass_ad_node(c, IR_OP_PAD, &g, 1);
        ir_node_set_ints(c->g, t, "pads", pads, k + 2);
        g = pass_ad_done(c, t);
        pads[k + 1] = 0;
        memmove(sizes + axis + 1, sizes + axis + 2, sizeof *sizes * (size_t)(xs.rank - 1 - axis));
        sizes[axis] = m * step;
        g = reshape_ints(c, g, sizes, xs.rank);
        span = m * step;
        if (start + span > len) { /* the last element's k-1 zeros run past the end */
            NodeId cut = pass_ad_node(c, IR_OP_SLICE, &g, 1);
            ir_node_set_int(c->g, cut, "axis", axis);
            ir_node_set_int(c->g, cut, "start", 0);
            ir_node_set_int(c->g, cut, "end", len - start);
            g = pass_ad_done(c, cut);
            span = len - start;
        }
    }
    int k = 2 * (xs.rank - 1 - axis); /* F.pad's order: the last dim first */
    pads[k] = start;
    pads[k + 1] = len - start - span;
    NodeId t = pass_ad_node(c, IR_OP_PAD, &g, 1);
    ir_node_set_ints(c->g, t, "pads", pads, k + 2);
    pass_ad_accum(c, n->inputs[0], pass_ad_done(c, t));
}

/* pad (constant): dy cut back to the input along every padded axis. */
static void rule_pad(AdCtx *c, const Node *n, ValueId dy)
{
    const Shape xs = type_of(c, n->inputs[0])->shape;
    const Attr *pads = ir_node_attr_id(n, IR_A_pads);
    if (ir_attr_mode(n) != 0) {
        pass_ad_unsupported(c, "a reflect or replicate pad (only constant padding)");
        return;
    }
    ValueId g = dy;
    for (int k = 0; pads && k < pads->n_ints / 2 && k < xs.rank; k++) {
        int axis = xs.rank - 1 - k;
        int64_t lo = pads->ints[2 * k], hi = pads->ints[2 * k + 1];
        if (lo == 0 && hi == 0)
            continue;
        if (lo < 0 || hi < 0 || !ir_dim_static(xs.d[axis])) {
            pass_ad_unsupported(c, "negative pads (a crop) or a symbolic size along a padded axis");
            return;
        }
        NodeId t = pass_ad_node(c, IR_OP_SLICE, &g, 1);
        ir_node_set_int(c->g, t, "axis", axis);
        ir_node_set_int(c->g, t, "start", lo);
        ir_node_set_int(c->g, t, "end", lo + xs.d[axis].c);
        g = pass_ad_done(c, t);
    }
    pass_ad_accum(c, n->inputs[0], g);
}

/* reduce_sum, reduce_mean: dy broadcast back over the reduced axes (divided by their count
 * for the mean, which must be fixed). */
static void rule_reduce(AdCtx *c, const Node *n, ValueId dy)
{
    ValueId x = n->inputs[0];
    const Shape xshape = type_of(c, x)->shape, *xs = &xshape; /* a copy: nodes are added */
    const Attr *at = ir_node_attr_id(n, IR_A_axes);
    unsigned mask = 0;
    for (int i = 0; at && i < at->n_ints; i++)
        mask |= 1u << norm_axis(at->ints[i], xs->rank);
    if (!at || at->n_ints == 0)
        mask = (1u << xs->rank) - 1;
    int64_t keep[IR_MAX_RANK], full[IR_MAX_RANK], count = 1;
    bool infer_used = false;
    for (int i = 0; i < xs->rank; i++) {
        Dim dd = xs->d[i];
        int64_t enc = dd.syms == 0 ? dd.c : -1;
        if (dd.syms && dd.c == 1 && (dd.syms & (dd.syms - 1)) == 0)
            enc = -(1000 + __builtin_ctz(dd.syms));
        if (mask & (1u << i)) {
            if (dd.syms) {
                pass_ad_unsupported(c, "a reduction over a symbolic dim");
                return;
            }
            count *= dd.c;
            keep[i] = 1;
            full[i] = dd.c;
        } else {
            if (enc == -1 && infer_used) {
                pass_ad_unsupported(c, "an input of more than one compound symbolic dim");
                return;
            }
            infer_used |= enc == -1;
            keep[i] = enc;
            full[i] = -1;
        }
    }
    ValueId g = dy;
    if (!ir_attr_keepdim(n)) {
        NodeId t = pass_ad_node(c, IR_OP_RESHAPE, &dy, 1);
        ir_node_set_ints(c->g, t, "shape", keep, xs->rank);
        g = pass_ad_done(c, t);
    }
    NodeId t = pass_ad_node(c, IR_OP_EXPAND, &g, 1);
    ir_node_set_ints(c->g, t, "shape", full, xs->rank);
    g = pass_ad_done(c, t);
    if (n->op == IR_OP_REDUCE_MEAN)
        g = pass_ad_op2(c, IR_OP_MUL, g, pass_ad_scalar(c, 1.0f / (float)count));
    pass_ad_accum(c, x, g);
}

/* embedding: dy's rows added into the table's rows they came from. */
static void rule_embedding(AdCtx *c, const Node *n, ValueId dy)
{
    ValueId w = n->inputs[1];
    if (pass_ad_needs(c, w)) {
        ValueId in[3] = {dy, n->inputs[0], w};
        pass_ad_accum(c, w, pass_ad_op(c, IR_OP_EMBEDDING_GRAD, in, 3));
    }
}

/* ---- the table ---- */

bool pass_ad_param_slot(OpKind op, int i)
{
    if (op == IR_OP_CONV2D || op == IR_OP_LINEAR || op == IR_OP_LAYER_NORM ||
        op == IR_OP_GROUP_NORM || op == IR_OP_CONV_TRANSPOSE2D || op == IR_OP_BATCH_NORM_TRAIN)
        return i == 1 || i == 2;
    if (op == IR_OP_BATCH_NORM)
        return i == 3 || i == 4;
    /* a weight fake-quantized for quantization-aware training (passes/qat.c) */
    return (op == IR_OP_EMBEDDING || op == IR_OP_FAKE_QUANT) && i == (op == IR_OP_EMBEDDING);
}

AdRule pass_ad_rule_for(OpKind op)
{
    switch (op) {
    case IR_OP_CONV2D: return rule_conv2d;
    case IR_OP_LINEAR: return rule_linear;
    case IR_OP_MATMUL: return rule_matmul;
    case IR_OP_ADD:
    case IR_OP_SUB:
    case IR_OP_MUL:
    case IR_OP_DIV: return rule_arith;
    case IR_OP_RELU: return rule_relu;
    case IR_OP_SIGMOID: return rule_sigmoid;
    case IR_OP_TANH: return rule_tanh;
    case IR_OP_MAX_POOL2D: return rule_max_pool2d;
    case IR_OP_AVG_POOL2D: return rule_avg_pool2d;
    case IR_OP_FLATTEN:
    case IR_OP_RESHAPE:
    case IR_OP_SQUEEZE:
    case IR_OP_UNSQUEEZE:
    case IR_OP_DROPOUT: return rule_view;
    case IR_OP_SOFTMAX:
    case IR_OP_LOG_SOFTMAX: return rule_softmax;
    case IR_OP_ATTENTION: return rule_attention;
    case IR_OP_EMBEDDING: return rule_embedding;
    case IR_OP_RELU6: return rule_relu6;
    case IR_OP_GELU: return rule_gelu;
    case IR_OP_GELU_TANH: return rule_gelu_tanh;
    case IR_OP_SILU: return rule_silu;
    case IR_OP_HARDSWISH: return rule_hardswish;
    case IR_OP_HARDSIGMOID: return rule_hardsigmoid;
    case IR_OP_EXP: return rule_exp;
    case IR_OP_FAKE_QUANT: return rule_fake_quant;
    case IR_OP_LOG: return rule_log;
    case IR_OP_SQRT: return rule_sqrt;
    case IR_OP_RSQRT: return rule_rsqrt;
    case IR_OP_NEG: return rule_neg;
    case IR_OP_ABS: return rule_abs;
    case IR_OP_ERF: return rule_erf;
    case IR_OP_SOFTSIGN: return rule_softsign;
    case IR_OP_LEAKY_RELU: return rule_leaky_relu;
    case IR_OP_ADAPTIVE_AVG_POOL2D: return rule_adaptive_avg_pool2d;
    case IR_OP_REDUCE_SUM:
    case IR_OP_REDUCE_MEAN: return rule_reduce;
    case IR_OP_PERMUTE: return rule_permute;
    case IR_OP_SLICE: return rule_slice;
    case IR_OP_PAD: return rule_pad;
    case IR_OP_CONCAT: return rule_concat;
    case IR_OP_WHERE: return rule_where;
    case IR_OP_CLIP: return rule_clip;
    case IR_OP_MINIMUM:
    case IR_OP_MAXIMUM: return rule_minmax;
    case IR_OP_EXPAND: return rule_expand;
    case IR_OP_LAYER_NORM: return rule_layer_norm;
    case IR_OP_GROUP_NORM: return rule_group_norm;
    case IR_OP_BATCH_NORM_TRAIN: return rule_batch_norm_train;
    /* No gradient: batch_norm itself (inference: the training step makes each one a
     * batch_norm_train, passes/autodiff.c); the index, resampling and integer ops are not
     * differentiated. */
    case IR_OP_BATCH_NORM:
    case IR_OP_RNN: /* RNN, GRU, LSTM: no rule yet (training reports "no gradient for rnn") */
    case IR_OP_POW:
    case IR_OP_COPYSIGN:
    case IR_OP_FLOOR: /* rounding: zero almost everywhere; trigonometry: no rule yet */
    case IR_OP_CEIL:
    case IR_OP_ROUND:
    case IR_OP_SIN:
    case IR_OP_COS:
    case IR_OP_TAN:
    case IR_OP_ASIN:
    case IR_OP_ACOS:
    case IR_OP_ATAN:
    case IR_OP_CAST:
    case IR_OP_REDUCE_MAX:
    case IR_OP_REDUCE_MIN:
    case IR_OP_REDUCE_PROD:
    case IR_OP_INDEX_SELECT:
    case IR_OP_CONV_TRANSPOSE2D:
    case IR_OP_RESIZE:
    case IR_OP_RESIZE_AXIS:
    case IR_OP_GRID_SAMPLE:
    case IR_OP_ROI_ALIGN:
    case IR_OP_POOL_ND:
    case IR_OP_TOPK:
    case IR_OP_CUMSUM:
    case IR_OP_GATHER_ELEMENTS:
    case IR_OP_SCATTER_ELEMENTS:
    case IR_OP_GATHER_ND:
    case IR_OP_SCATTER_ND:
    case IR_OP_MOD:
    case IR_OP_ARGMAX:
    case IR_OP_ARGMIN:
    case IR_OP_BITWISE_AND:
    case IR_OP_BITWISE_OR:
    case IR_OP_BITWISE_XOR:
    case IR_OP_BITWISE_NOT:
    case IR_OP_BITSHIFT_LEFT:
    case IR_OP_BITSHIFT_RIGHT:
    case IR_OP_EQ:
    case IR_OP_NE:
    case IR_OP_LT:
    case IR_OP_LE:
    case IR_OP_GT:
    case IR_OP_GE:
    case IR_OP_QUANTIZE:
    case IR_OP_DEQUANTIZE:
    case IR_OP_QADD:
    case IR_OP_QCONV2D:
    case IR_OP_QLINEAR:
    case IR_OP_WLINEAR:
    case IR_OP_DQLINEAR:
    case IR_OP_TRANSFER:
    /* the training ops themselves (no second derivatives) */
    case IR_OP_RELU_GRAD:
    case IR_OP_RELU6_GRAD:
    case IR_OP_SIGMOID_GRAD:
    case IR_OP_TANH_GRAD:
    case IR_OP_GELU_GRAD:
    case IR_OP_GELU_TANH_GRAD:
    case IR_OP_SILU_GRAD:
    case IR_OP_HARDSWISH_GRAD:
    case IR_OP_HARDSIGMOID_GRAD:
    case IR_OP_ABS_GRAD:
    case IR_OP_MAX_POOL2D_GRAD:
    case IR_OP_AVG_POOL2D_GRAD:
    case IR_OP_ADAPTIVE_AVG_POOL2D_GRAD:
    case IR_OP_CONV2D_WEIGHT_GRAD:
    case IR_OP_EMBEDDING_GRAD:
    case IR_OP_CROSS_ENTROPY:
    case IR_OP_CROSS_ENTROPY_GRAD:
    case IR_OP_NLL_LOSS:
    case IR_OP_NLL_LOSS_GRAD:
    case IR_OP_MSE_LOSS:
    case IR_OP_MSE_LOSS_GRAD:
    case IR_OP_DISTILL_LOSS:
    case IR_OP_DISTILL_LOSS_GRAD:
    case IR_OP_FAKE_QUANT_GRAD:
    case IR_NUM_OPS: return NULL;
    }
    return NULL;
}
