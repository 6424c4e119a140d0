/* act: the activations exporters write as arithmetic, as the one op each is, so that fuse
 * can take them into the conv or GEMM before them (and qchain into an int8 chain):
 *   clip(x, 0, 6)                                 relu6(x)
 *   clip(x, 0, +inf)                              relu(x)
 *   clip(x * 1/6 + 0.5, 0, 1)                     hardsigmoid(x)   (ONNX HardSigmoid with
 *   clip(x + 3, 0, 6) / 6  (or * 1/6)             hardsigmoid(x)    PyTorch's alpha 1/6)
 *   x * sigmoid(x)                                silu(x)          (PyTorch's SiLU below
 *                                                                   opset 24, YOLO's swish)
 *   x * hardsigmoid(x), and x * clip(x + 3, 0, 6) / 6 in any association
 *                                                 hardswish(x)     (nn.Hardswish below
 *                                                                   opset 14)
 * ONNX's Clip(0, 6) is how PyTorch exports ReLU6 (MobileNetV2). Every operand of add and mul
 * on either side; every intermediate used only by the chain, not a graph output, f32.
 *
 * The functions are the same; the rounding of the hard* forms differs by an ulp or so
 * ((x + 3) / 6 against x * 0.16666667 + 0.5), and clip passes -0 where relu and relu6
 * give +0: the rewrites are tested against ONNX Runtime to 1e-6 (tests/cli/onnx_act.sh). */
#include "passes/chain.h"

#include <math.h>

/* Whether clip node n has bounds lo and hi (hi may be +inf). */
static bool clip_is(const Node *n, double lo, double hi)
{
    return n->op == IR_OP_CLIP && ir_attr_float(n, "min", -INFINITY) == lo &&
           ir_attr_float(n, "max", INFINITY) == hi;
}

/* x when v is clip(x + 3, 0, 6) or relu6(x + 3) (members recorded; this pass has turned
 * an earlier clip into relu6), else IR_NONE. */
static ValueId relu6_of_x_plus_3(Chain *c, ValueId v)
{
    const int mark = c->n_members;
    NodeId cl = pass_chain_inner(c, v, IR_OP_CLIP);
    if (cl != IR_NONE && !clip_is(&c->g->nodes[cl], 0.0, 6.0)) {
        c->n_members = mark;
        cl = IR_NONE;
    }
    if (cl == IR_NONE)
        cl = pass_chain_inner(c, v, IR_OP_RELU6);
    if (cl != IR_NONE) {
        const NodeId ad = pass_chain_inner(c, c->g->nodes[cl].inputs[0], IR_OP_ADD);
        const ValueId x = ad == IR_NONE ? IR_NONE : pass_chain_by_const(c->g, ad, 3.0);
        if (x != IR_NONE)
            return x;
    }
    c->n_members = mark;
    return IR_NONE;
}

/* x when node n (not recorded) ends a hardsigmoid chain: clip(x * 1/6 + 0.5, 0, 1), or
 * clip(x + 3, 0, 6) / 6 or * 1/6. */
static ValueId hardsigmoid_end(Chain *c, NodeId n)
{
    const Node *nd = &c->g->nodes[n];
    if (clip_is(nd, 0.0, 1.0)) {
        const int mark = c->n_members;
        const NodeId ad = pass_chain_inner(c, nd->inputs[0], IR_OP_ADD);
        const ValueId m = ad == IR_NONE ? IR_NONE : pass_chain_by_const(c->g, ad, 0.5);
        const NodeId mn = m == IR_NONE ? IR_NONE : pass_chain_inner(c, m, IR_OP_MUL);
        const ValueId x = mn == IR_NONE ? IR_NONE : pass_chain_by_const(c->g, mn, 1.0 / 6.0);
        if (x != IR_NONE)
            return x;
        c->n_members = mark;
        return IR_NONE;
    }
    if (nd->op == IR_OP_DIV || nd->op == IR_OP_MUL) {
        const ValueId r = pass_chain_by_const(c->g, n, nd->op == IR_OP_DIV ? 6.0 : 1.0 / 6.0);
        return r == IR_NONE ? IR_NONE : relu6_of_x_plus_3(c, r);
    }
    return IR_NONE;
}

/* x when mul node n (not recorded) is x * f(x), f's chain one of sigmoid (*op silu) or
 * hardsigmoid (*op hardswish), on either side. */
static ValueId gated_end(Chain *c, NodeId n, OpKind *op)
{
    const Node *nd = &c->g->nodes[n];
    if (nd->n_inputs != 2)
        return IR_NONE;
    for (int side = 0; side < 2; side++) {
        const ValueId x = nd->inputs[side], gate = nd->inputs[1 - side];
        const int mark = c->n_members;
        NodeId s = pass_chain_inner(c, gate, IR_OP_SIGMOID);
        if (s != IR_NONE && c->g->nodes[s].inputs[0] == x) {
            *op = IR_OP_SILU;
            return x;
        }
        c->n_members = mark;
        s = pass_chain_inner(c, gate, IR_OP_HARDSIGMOID);
        if (s != IR_NONE && c->g->nodes[s].inputs[0] == x) {
            *op = IR_OP_HARDSWISH;
            return x;
        }
        c->n_members = mark;
    }
    return IR_NONE;
}

/* x when node n (not recorded) is (x * clip(x + 3, 0, 6)) / 6 or * 1/6. */
static ValueId hardswish_end(Chain *c, NodeId n)
{
    const Node *nd = &c->g->nodes[n];
    if (nd->op != IR_OP_DIV && nd->op != IR_OP_MUL)
        return IR_NONE;
    const ValueId p = pass_chain_by_const(c->g, n, nd->op == IR_OP_DIV ? 6.0 : 1.0 / 6.0);
    const int mark = c->n_members;
    const NodeId pm = p == IR_NONE ? IR_NONE : pass_chain_inner(c, p, IR_OP_MUL);
    if (pm == IR_NONE)
        return IR_NONE;
    for (int side = 0; side < 2; side++) {
        const ValueId x = c->g->nodes[pm].inputs[side];
        const int m2 = c->n_members;
        if (relu6_of_x_plus_3(c, c->g->nodes[pm].inputs[1 - side]) == x)
            return x;
        c->n_members = m2;
    }
    c->n_members = mark;
    return IR_NONE;
}

/* Rewrites end into op(x) when the chain's types allow; true if it did. */
static bool rewrite(Chain *c, NodeId end, ValueId x, OpKind op)
{
    const Graph *g = c->g;
    const Type *xt = &g->values[x].type, *yt = &g->values[g->nodes[end].outputs[0]].type;
    if (xt->dtype != IR_F32 || xt->quant || yt->dtype != IR_F32 || yt->quant ||
        g->nodes[end].n_epilogue || !ir_shape_eq(&xt->shape, &yt->shape) ||
        !pass_chain_same_device(c, end)) {
        c->n_members = 0;
        return false;
    }
    pass_chain_replace(c, end, op, &x, 1);
    return true;
}

static bool act_at(Chain *c, NodeId i)
{
    const Node *n = &c->g->nodes[i];
    ValueId x;
    OpKind op = IR_OP_SILU;
    if (clip_is(n, 0.0, 6.0) || clip_is(n, 0.0, INFINITY))
        return rewrite(c, i, n->inputs[0],
                       ir_attr_float(n, "max", INFINITY) == 6.0 ? IR_OP_RELU6 : IR_OP_RELU);
    if ((x = hardswish_end(c, i)) != IR_NONE)
        return rewrite(c, i, x, IR_OP_HARDSWISH);
    if ((x = hardsigmoid_end(c, i)) != IR_NONE)
        return rewrite(c, i, x, IR_OP_HARDSIGMOID);
    if (n->op == IR_OP_MUL && (x = gated_end(c, i, &op)) != IR_NONE)
        return rewrite(c, i, x, op);
    return false;
}

/* In node order: a hardsigmoid made here is seen by the x * it after it. */
bool pass_act(Graph *g, const PassArgs *args, Diag *d)
{
    return pass_chain_run(g, args, d, false, act_at);
}
