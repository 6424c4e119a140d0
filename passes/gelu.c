/* gelu: the GELU chains exporters write, as one gelu (or gelu_tanh) op.
 *
 * PyTorch's F.gelu exported below opset 20 is elementwise arithmetic:
 *   erf form    0.5 * x * (1 + erf(x / sqrt 2))
 *               Div(x, 1.4142135) (or Mul by 0.70710678), Erf, Add 1, Mul x, Mul 0.5
 *   tanh form   0.5 * x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 * x^3)))
 *               Pow(x, 3) (or x * x * x), Mul 0.044715, Add x, Mul 0.7978846, Tanh, Add 1,
 *               Mul x, Mul 0.5
 * with the factors 0.5 and x multiplied in either order ((x * 0.5) * (1 + ..) too) and every
 * commutative operand on either side. The chain's last mul becomes gelu(x) in place (it
 * already sits after x and writes the result); the chain's other nodes then have no use
 * and go dead. Each intermediate must have that one use and not be a graph output, every
 * constant a one-element f32 within 1e-6 (relative) of its value, all of it f32.
 *
 * The result is the same function; the rounding differs from the chain's by a few ulps
 * (gelu multiplies by 1/sqrt 2 where the export divides by sqrt 2), and the C backend's
 * gelu evaluates erf with a polynomial (runtime/kernels/vmath.h: slimc_rt_erf, within
 * 4.7e-7 of libm's erf), so the rewrite is tested to 1e-6 against ONNX Runtime, not bit for bit. */
#include "passes/chain.h"

/* x^3 as pow(x, 3), mul(mul(x, x), x) or mul(x, mul(x, x)): true when p is one with base x. */
static bool cube_of(Chain *c, ValueId p, ValueId x)
{
    const int mark = c->n_members;
    NodeId n = pass_chain_inner(c, p, IR_OP_POW);
    if (n != IR_NONE && pass_chain_by_const(c->g, n, 3.0) == x)
        return true;
    c->n_members = mark;
    n = pass_chain_inner(c, p, IR_OP_MUL);
    if (n == IR_NONE)
        return false;
    const ValueId a = c->g->nodes[n].inputs[0], b = c->g->nodes[n].inputs[1];
    for (int side = 0; side < 2; side++) {
        const ValueId sq = side ? a : b, other = side ? b : a;
        const int m2 = c->n_members;
        NodeId s = other == x ? pass_chain_inner(c, sq, IR_OP_MUL) : IR_NONE;
        if (s != IR_NONE && c->g->nodes[s].inputs[0] == x && c->g->nodes[s].inputs[1] == x)
            return true;
        c->n_members = m2;
    }
    c->n_members = mark;
    return false;
}

/* Whether a (the 1 + erf(..) or 1 + tanh(..) factor) is that of x; *tanh_form says which. */
static bool gelu_factor(Chain *c, ValueId a, ValueId x, bool *tanh_form)
{
    const NodeId add = pass_chain_inner(c, a, IR_OP_ADD);
    if (add == IR_NONE)
        return false;
    const ValueId t = pass_chain_by_const(c->g, add, 1.0);
    if (t == IR_NONE)
        return false;
    const int mark = c->n_members;
    NodeId e = pass_chain_inner(c, t, IR_OP_ERF);
    if (e != IR_NONE) {
        const ValueId dv = c->g->nodes[e].inputs[0];
        NodeId dn = pass_chain_inner(c, dv, IR_OP_DIV);
        if (dn != IR_NONE && c->g->nodes[dn].inputs[0] == x &&
            pass_chain_is_const(c->g, c->g->nodes[dn].inputs[1], 1.4142135623730951)) {
            *tanh_form = false;
            return true;
        }
        c->n_members = mark + 1;
        dn = pass_chain_inner(c, dv, IR_OP_MUL);
        if (dn != IR_NONE && pass_chain_by_const(c->g, dn, 0.7071067811865476) == x) {
            *tanh_form = false;
            return true;
        }
        return false;
    }
    c->n_members = mark;
    e = pass_chain_inner(c, t, IR_OP_TANH);
    if (e == IR_NONE)
        return false;
    const NodeId u = pass_chain_inner(c, c->g->nodes[e].inputs[0], IR_OP_MUL);
    if (u == IR_NONE)
        return false;
    const ValueId v = pass_chain_by_const(c->g, u, 0.7978845608028654);
    const NodeId vn = v == IR_NONE ? IR_NONE : pass_chain_inner(c, v, IR_OP_ADD);
    if (vn == IR_NONE)
        return false;
    const ValueId v0 = c->g->nodes[vn].inputs[0], v1 = c->g->nodes[vn].inputs[1];
    const ValueId w = v0 == x ? v1 : v1 == x ? v0 : IR_NONE;
    const NodeId wn = w == IR_NONE ? IR_NONE : pass_chain_inner(c, w, IR_OP_MUL);
    if (wn == IR_NONE)
        return false;
    const ValueId p = pass_chain_by_const(c->g, wn, 0.044715);
    if (p == IR_NONE || !cube_of(c, p, x))
        return false;
    *tanh_form = true;
    return true;
}

/* Whether the mul node f is the chain's end: 0.5 * x * (1 + ..) in any association. Sets
 * *x_out. Members are recorded in c. */
static bool gelu_end(Chain *c, NodeId f, ValueId *x_out, bool *tanh_form)
{
    const Graph *g = c->g;
    const Node *fn = &g->nodes[f];
    if (fn->n_epilogue || fn->n_inputs != 2 || g->values[fn->outputs[0]].type.dtype != IR_F32)
        return false;
    /* (x * (1 + ..)) * 0.5 */
    const ValueId m = pass_chain_by_const(g, f, 0.5);
    if (m != IR_NONE) {
        const NodeId mn = pass_chain_inner(c, m, IR_OP_MUL);
        if (mn == IR_NONE)
            return false;
        for (int side = 0; side < 2; side++) {
            const ValueId x = g->nodes[mn].inputs[side], a = g->nodes[mn].inputs[1 - side];
            const int mark = c->n_members;
            if (gelu_factor(c, a, x, tanh_form)) {
                *x_out = x;
                return true;
            }
            c->n_members = mark;
        }
        return false;
    }
    /* (x * 0.5) * (1 + ..) */
    for (int side = 0; side < 2; side++) {
        const int mark = c->n_members;
        const NodeId hn = pass_chain_inner(c, fn->inputs[side], IR_OP_MUL);
        const ValueId x = hn == IR_NONE ? IR_NONE : pass_chain_by_const(g, hn, 0.5);
        if (x != IR_NONE && gelu_factor(c, fn->inputs[1 - side], x, tanh_form)) {
            *x_out = x;
            return true;
        }
        c->n_members = mark;
    }
    return false;
}

static bool gelu_at(Chain *c, NodeId i)
{
    const Graph *g = c->g;
    ValueId x = IR_NONE;
    bool tanh_form = false;
    if (g->nodes[i].op != IR_OP_MUL || !gelu_end(c, i, &x, &tanh_form))
        return false;
    const Type *xt = &g->values[x].type, *yt = &g->values[g->nodes[i].outputs[0]].type;
    if (xt->dtype != IR_F32 || xt->quant || !ir_shape_eq(&xt->shape, &yt->shape) ||
        !pass_chain_same_device(c, i))
        return false;
    pass_chain_replace(c, i, tanh_form ? IR_OP_GELU_TANH : IR_OP_GELU, &x, 1);
    return true;
}

bool pass_gelu(Graph *g, const PassArgs *args, Diag *d)
{
    return pass_chain_run(g, args, d, false, gelu_at);
}
