/* qchain: int8 chains (docs/quantization.md, "Int8 chains").
 *
 * A qconv2d or qlinear writes f32; when that result reaches another int8 layer only through
 * ops that commute with quantize, and then one quantize node, the layer writes that node's
 * u8 codes itself:
 *
 *   qconv2d -> [relu | relu6 | clip(0, 6) | clip(0, inf) | max_pool2d | flatten | reshape]*
 *           -> quantize -> ...
 *
 * becomes a qconv2d with y_scale, y_zero_point (the quantize node's) and act (1 relu, 2
 * relu6) writing u8, the pools and reshapes running on the u8 codes, the relus and the
 * quantize node gone. Each value on the way must have that one consumer and not be a graph
 * output. The result is bit for bit the unchained graph's: quantize is monotone, so the
 * maximum of codes is the code of the maximum, reshapes move codes as they moved floats,
 * and a relu commutes with max (relu(max(a, b)) = max(relu(a), relu(b)), NaN included), so
 * every relu of the chain moves into the layer, applied before the rounding; relu after
 * relu6 or before it is relu6. The layer computes its f32 result exactly as before and
 * rounds it as quantize does (runtime/slimc_rt.h: slimc_rt_qreq).
 *
 * A concat whose result reaches one quantize node only through max_pool2d, flatten and
 * reshape first moves that quantize node above itself, one copy per input (the same bits:
 * quantize is elementwise, so the codes of the parts are the parts of the codes), then
 * runs on u8 codes; the layers that feed it chain into those copies. So the branches of an
 * Inception block or a SqueezeNet fire module write u8 straight into their concat.
 *
 * An ONNX QuantizeLinear imports as div(y, s) then quantize {scale=1} (ONNX divides by
 * its scale; quantize multiplies by a reciprocal): a layer that reaches such a div by one
 * positive constant, right before that quantize, writes its codes too, dividing in its
 * store (y_divide), so pre-quantized QDQ models chain as well, bit for bit.
 *
 * The same store in an ONNX QDQ model's pools: dequantize {s, zp} -> [max_pool2d | flatten |
 * reshape]+ -> div(s) -> quantize {scale=1, zp}, the scale and zero point on both sides the
 * same (ORT's quantize_static writes them so for MaxPool), runs the moves on the u8 codes
 * and drops the div and the quantize (and the dequantize when nothing else reads it). The
 * same bits: n = q - zp is an integer in [-255, 255], dequantize gives n * s rounded once,
 * monotone in n, so the pool picks the maximum's value; dividing it by s gives n within a
 * few ulps, far under 0.5, so quantize rounds it back to n and adds zp: q (s must be a
 * normal float, not near overflow: n * s neither underflows nor overflows).
 *
 * Residual codes, the one rewrite here that is not bit for bit: a value that a quantize node
 * and residual adds both read, and that a layer could write as codes (resnet's stem conv ->
 * relu -> max_pool2d, a mobilenet_v2 stage's first project conv), gives the adds
 * dequantize(quantize(v)) (residual_codes), so the layer writes u8 and the adds see v on
 * the quantize node's grid, as in ORT's quantize_static models.
 *
 * Residual adds on codes, bit for bit: ORT's QDQ Add, add(dequantize(a), dequantize(b)) ->
 * [relu] -> div(s) -> quantize {1, zp} (or quantize {s, zp}), becomes qadd(a, b) writing the
 * codes, the same f32 operations in one pass (qadd_codes). An add whose result stays f32
 * (slimc's own int8 models: a conv's epilogue) is left as it is. */
#include "passes/pass.h"

#include <math.h>
#include <string.h>

enum { QCHAIN_MAX = 16 };

bool pass_qchain(Graph *g, const PassArgs *args, Diag *d);

/* The quantize node that v (f32) reaches through max_pool2d, flatten and reshape nodes,
 * each the sole reader of the one before (with no epilogue); IR_NONE when there is none. */
static NodeId quantize_after_moves(const Graph *g, ValueId v)
{
    for (int len = 0; len <= QCHAIN_MAX; len++) {
        const NodeId u = ir_sole_consumer(g, v);
        if (u == IR_NONE || g->nodes[u].n_epilogue || g->nodes[u].inputs[0] != v)
            return IR_NONE;
        const OpKind op = g->nodes[u].op;
        if (op == IR_OP_QUANTIZE)
            return g->values[g->nodes[u].outputs[0]].is_output ? IR_NONE : u;
        if (op != IR_OP_MAX_POOL2D && op != IR_OP_FLATTEN && op != IR_OP_RESHAPE)
            return IR_NONE;
        v = g->nodes[u].outputs[0];
    }
    return IR_NONE;
}

/* Moves the quantize node after concat *cp (quantize_after_moves) above it, one copy per
 * distinct input, inserted before it (*cp becomes the concat's new place); returns
 * whether it did. */
static bool hoist_over_concat(Graph *g, NodeId *cp)
{
    NodeId c = *cp;
    const Node *n = &g->nodes[c];
    if (n->dead || n->op != IR_OP_CONCAT || n->n_epilogue ||
        g->values[n->outputs[0]].type.dtype != IR_F32)
        return false;
    const NodeId q = quantize_after_moves(g, n->outputs[0]);
    if (q == IR_NONE)
        return false;
    Node *qn = &g->nodes[q];
    const double sc = ir_attr_scale(qn);
    const int64_t zp = ir_attr_zero_point(qn);
    const SrcLoc loc = qn->loc;
    const Device dev = qn->device;
    ir_replace_uses(g, qn->outputs[0], qn->inputs[0]);
    qn->dead = true;
    const int n_in = g->nodes[c].n_inputs;
    ValueId *parts = ir_arena_alloc(g->arena, sizeof(ValueId) * (size_t)n_in);
    memcpy(parts, g->nodes[c].inputs, sizeof(ValueId) * (size_t)n_in);
    for (int i = 0; i < n_in; i++) {
        const ValueId x = parts[i];
        int j = 0;
        while (j < i && parts[j] != x)
            j++;
        if (j < i) { /* concat(a, a): a's copy again */
            g->nodes[c].inputs[i] = g->nodes[c].inputs[j];
            continue;
        }
        const NodeId k =
            ir_node_new(g, IR_OP_QUANTIZE,
                        ir_arena_printf(g->arena, "%s.quantize", g->values[x].name), loc, &x, 1, 1);
        ir_node_set_float(g, k, "scale", sc);
        ir_node_set_int(g, k, "zero_point", zp);
        g->nodes[k].device = dev;
        ir_node_move_last(g, c);
        c++;
        g->nodes[c].inputs[i] = g->nodes[c - 1].outputs[0];
    }
    *cp = c;
    return true;
}

/* The act a layer takes for node n: 1 for relu and clip(0, +inf), 2 for relu6 and
 * clip(0, 6) (ONNX exporters write ReLU6 as Clip), 0 for anything else. A clip computes
 * x < 0 ? 0 : x > 6 ? 6 : x, relu6's formula, so the layer's act is the same bits. */
static int64_t activation_of(const Node *n)
{
    if (n->op == IR_OP_RELU)
        return 1;
    if (n->op == IR_OP_RELU6)
        return 2;
    if (n->op != IR_OP_CLIP || ir_attr_min(n) != 0.0)
        return 0;
    const double hi = ir_attr_max(n);
    return hi == 6.0 ? 2 : isinf(hi) && hi > 0 ? 1 : 0;
}

/* The divisor of div node dv when it is one finite positive f32 constant, else 0. */
static double divisor(const Graph *g, NodeId dv)
{
    const Value *c = &g->values[g->nodes[dv].inputs[1]];
    Dim ne;
    if (c->kind != IR_VALUE_CONST || c->type.dtype != IR_F32 || !c->data ||
        !ir_shape_numel(&c->type.shape, &ne) || ne.syms || ne.c != 1)
        return 0;
    const float s = *(const float *)c->data;
    return isfinite(s) && s > 0.0f ? (double)s : 0;
}

/* The quantize {scale=1} node that div node dv (by a divisor) alone feeds; IR_NONE if
 * none: y / s, then quantize's rounding of y / s * 1, is the layer's y_divide store. */
static NodeId divide_quantize(const Graph *g, NodeId dv)
{
    if (divisor(g, dv) == 0)
        return IR_NONE;
    const ValueId v = g->nodes[dv].outputs[0];
    const NodeId u = ir_sole_consumer(g, v);
    if (u == IR_NONE || g->nodes[u].op != IR_OP_QUANTIZE || g->nodes[u].n_epilogue ||
        g->nodes[u].inputs[0] != v || ir_attr_scale(&g->nodes[u]) != 1.0)
        return IR_NONE;
    return u;
}

/* dequantize node dq's moves on its codes (the header's QDQ pools): when dq's output reaches
 * div(s) -> quantize {1, zp} through one or more max_pool2d, flatten and reshape nodes (each
 * the sole reader of the one before, no epilogue), with dq's own scale s and zero point
 * zp, the first move reads dq's u8 input, the div and the quantize go and the last move
 * stands for the quantize's output; returns whether it did. Shapes are inferred after. */
static bool pool_codes(Graph *g, NodeId dq)
{
    const Node *n = &g->nodes[dq];
    if (n->dead || n->op != IR_OP_DEQUANTIZE || n->n_epilogue ||
        g->values[n->inputs[0]].type.dtype != IR_U8)
        return false;
    const double s = ir_attr_scale(n);
    const int64_t zp = ir_attr_zero_point(n);
    if (!(s >= 1e-30 && s <= 1e30))
        return false;
    /* the first move: one reader of dq's output (others, such as a residual add, keep
     * reading dq) */
    NodeId first = IR_NONE;
    for (NodeId i = 0; i < g->n_nodes && first == IR_NONE; i++) {
        const Node *u = &g->nodes[i];
        if (!u->dead && !u->n_epilogue && u->n_inputs >= 1 && u->inputs[0] == n->outputs[0] &&
            (u->op == IR_OP_MAX_POOL2D || u->op == IR_OP_FLATTEN || u->op == IR_OP_RESHAPE) &&
            !g->values[u->outputs[0]].is_output)
            first = i;
    }
    if (first == IR_NONE)
        return false;
    NodeId last = first;
    for (int len = 1;; len++) {
        const NodeId u = ir_sole_consumer(g, g->nodes[last].outputs[0]);
        if (u == IR_NONE || len > QCHAIN_MAX || g->nodes[u].n_epilogue ||
            g->nodes[u].inputs[0] != g->nodes[last].outputs[0])
            return false;
        const OpKind op = g->nodes[u].op;
        if (op == IR_OP_DIV)
            break;
        if (op != IR_OP_MAX_POOL2D && op != IR_OP_FLATTEN && op != IR_OP_RESHAPE)
            return false;
        last = u;
    }
    const NodeId dv = ir_sole_consumer(g, g->nodes[last].outputs[0]);
    const NodeId q = divide_quantize(g, dv);
    if (q == IR_NONE || (float)divisor(g, dv) != (float)s ||
        ir_attr_zero_point(&g->nodes[q]) != zp || g->values[g->nodes[q].outputs[0]].is_output)
        return false;
    const bool alone = ir_sole_consumer(g, n->outputs[0]) == first;
    g->nodes[first].inputs[0] = g->nodes[dq].inputs[0];
    ir_replace_uses(g, g->nodes[q].outputs[0], g->nodes[last].outputs[0]);
    g->nodes[q].dead = true;
    g->nodes[dv].dead = true;
    if (alone)
        g->nodes[dq].dead = true;
    return true;
}

/* Whether f32 value v comes from a qconv2d / qlinear writing f32 (no epilogue, no y_scale)
 * through relus, clips that are relus, max_pool2d, flatten and reshape, each value on the
 * way read by the next node alone: the layer could write v's codes. */
static bool from_int8_layer(const Graph *g, ValueId v)
{
    for (int len = 0; len <= QCHAIN_MAX; len++) {
        const Value *val = &g->values[v];
        if (val->kind != IR_VALUE_TEMP || val->producer == IR_NONE || val->is_output)
            return false;
        const Node *p = &g->nodes[val->producer];
        if (p->dead || p->n_epilogue || (len > 0 && ir_sole_consumer(g, v) == IR_NONE))
            return false;
        if (p->op == IR_OP_QCONV2D || p->op == IR_OP_QLINEAR)
            return !ir_node_attr_id(p, IR_A_y_scale) && val->type.dtype == IR_F32;
        if (!activation_of(p) && p->op != IR_OP_MAX_POOL2D && p->op != IR_OP_FLATTEN &&
            p->op != IR_OP_RESHAPE)
            return false;
        v = p->inputs[0];
    }
    return false;
}

/* Residual codes (ORT's QDQ numerics, docs/quantization.md): a value v that a quantize node
 * q reads and residual adds read too, and that an int8 layer could write as codes
 * (from_int8_layer: resnet's stem conv -> relu -> max_pool2d, a mobilenet block's project
 * conv), gives the adds dequantize(q) instead, so v has one reader and the layer writes
 * codes. The adds see v rounded to q's grid (at most half a step off), as the adds of ORT's
 * quantize_static models do. Returns whether it did; q's index may move by one. */
static bool residual_codes(Graph *g, NodeId *qp)
{
    const NodeId q = *qp;
    const Node *n = &g->nodes[q];
    if (n->dead || n->op != IR_OP_QUANTIZE || n->n_epilogue || g->values[n->outputs[0]].is_output ||
        ir_attr_scale(n) == 1.0)
        return false;
    const ValueId v = n->inputs[0];
    if (g->values[v].type.dtype != IR_F32 || !from_int8_layer(g, v))
        return false;
    int adds = 0;
    for (NodeId i = 0; i < g->n_nodes; i++) {
        const Node *u = &g->nodes[i];
        if (u->dead || i == q)
            continue;
        for (int k = 0; k < u->n_inputs; k++)
            if (u->inputs[k] == v) {
                if (u->op != IR_OP_ADD || u->n_epilogue || i < q)
                    return false;
                adds++;
                break;
            }
    }
    if (adds == 0)
        return false;
    const double sc = ir_attr_scale(n);
    const int64_t zp = ir_attr_zero_point(n);
    const ValueId qv = n->outputs[0];
    const NodeId k = ir_node_new(g, IR_OP_DEQUANTIZE,
                                 ir_arena_printf(g->arena, "%s.residual", g->values[v].name),
                                 g->nodes[q].loc, &qv, 1, 1);
    ir_node_set_float(g, k, "scale", sc);
    ir_node_set_int(g, k, "zero_point", zp);
    g->nodes[k].device = g->nodes[q].device;
    const ValueId dv = g->nodes[k].outputs[0];
    ir_node_move_last(g, q + 1);
    for (NodeId i = q + 2; i < g->n_nodes; i++) {
        Node *u = &g->nodes[i];
        if (!u->dead && u->op == IR_OP_ADD)
            for (int j = 0; j < u->n_inputs; j++)
                if (u->inputs[j] == v)
                    u->inputs[j] = dv;
    }
    *qp = q + 1;
    return true;
}

/* The dequantize node producing v (u8 codes in, no epilogue, v of shape sh), or IR_NONE. */
static NodeId dequantize_of(const Graph *g, ValueId v, const Shape *sh)
{
    const Value *val = &g->values[v];
    if (val->kind != IR_VALUE_TEMP || val->producer == IR_NONE ||
        !ir_shape_eq(&val->type.shape, sh))
        return IR_NONE;
    const Node *p = &g->nodes[val->producer];
    if (p->dead || p->op != IR_OP_DEQUANTIZE || p->n_epilogue)
        return IR_NONE;
    /* u8 codes: a qadd made just before writes them (its type is inferred after) */
    const Value *in = &g->values[p->inputs[0]];
    const bool qadd = in->producer != IR_NONE && g->nodes[in->producer].op == IR_OP_QADD;
    return in->type.dtype == IR_U8 || qadd ? val->producer : IR_NONE;
}

/* Residual adds on codes (ORT's QDQ Add): add(dequantize(a), dequantize(b)) -> [relu | relu6
 * | clip] -> div(s) -> quantize {1, zp} (or -> quantize {s, zp}), no broadcast, each value
 * on the way read by the next node alone, becomes add node i turned qadd(a, b) writing the
 * quantize's codes: the same float operations in one pass over u8 (the dequantizes stay
 * for their other readers, dce drops the rest). Returns whether it did. */
static bool qadd_codes(Graph *g, NodeId i)
{
    const Node *n = &g->nodes[i];
    if (n->dead || n->op != IR_OP_ADD || n->n_epilogue || n->n_inputs != 2 ||
        g->values[n->outputs[0]].type.dtype != IR_F32 || g->values[n->outputs[0]].is_output)
        return false;
    const Shape *sh = &g->values[n->outputs[0]].type.shape;
    const NodeId da = dequantize_of(g, n->inputs[0], sh), db = dequantize_of(g, n->inputs[1], sh);
    if (da == IR_NONE || db == IR_NONE)
        return false;
    ValueId v = n->outputs[0];
    NodeId act_node = IR_NONE, u = ir_sole_consumer(g, v);
    if (u != IR_NONE && activation_of(&g->nodes[u]) && !g->nodes[u].n_epilogue &&
        g->nodes[u].inputs[0] == v && !g->values[g->nodes[u].outputs[0]].is_output) {
        act_node = u;
        v = g->nodes[u].outputs[0];
        u = ir_sole_consumer(g, v);
    }
    if (u == IR_NONE || g->nodes[u].n_epilogue || g->nodes[u].inputs[0] != v)
        return false;
    NodeId q = u, dv = IR_NONE;
    if (g->nodes[u].op == IR_OP_DIV) {
        dv = u;
        q = divide_quantize(g, u);
    } else if (g->nodes[u].op != IR_OP_QUANTIZE) {
        return false;
    }
    if (q == IR_NONE || g->values[g->nodes[q].outputs[0]].is_output)
        return false;
    const double ys = dv != IR_NONE ? divisor(g, dv) : ir_attr_scale(&g->nodes[q]);
    const int64_t yz = ir_attr_zero_point(&g->nodes[q]);
    const int64_t act = act_node != IR_NONE ? activation_of(&g->nodes[act_node]) : 0;
    const ValueId a = g->nodes[da].inputs[0], b = g->nodes[db].inputs[0];
    const double sa = ir_attr_scale(&g->nodes[da]), sb = ir_attr_scale(&g->nodes[db]);
    const int64_t za = ir_attr_zero_point(&g->nodes[da]), zb = ir_attr_zero_point(&g->nodes[db]);
    Node *m = &g->nodes[i];
    m->op = IR_OP_QADD;
    m->inputs[0] = a;
    m->inputs[1] = b;
    ir_node_set_float(g, i, "a_scale", sa);
    ir_node_set_int(g, i, "a_zero_point", za);
    ir_node_set_float(g, i, "b_scale", sb);
    ir_node_set_int(g, i, "b_zero_point", zb);
    ir_node_set_float(g, i, "y_scale", ys);
    ir_node_set_int(g, i, "y_zero_point", yz);
    ir_node_set_int(g, i, "y_divide", dv != IR_NONE);
    ir_node_set_int(g, i, "act", act);
    ir_replace_uses(g, g->nodes[q].outputs[0], g->nodes[i].outputs[0]);
    g->nodes[q].dead = true;
    if (dv != IR_NONE)
        g->nodes[dv].dead = true;
    if (act_node != IR_NONE)
        g->nodes[act_node].dead = true;
    return true;
}

bool pass_qchain(Graph *g, const PassArgs *args, Diag *d)
{
    if (!pass_args_check(args, NULL, d))
        return false;
    bool changed = false;
    for (NodeId i = 0; i < g->n_nodes; i++)
        changed |= pool_codes(g, i);
    for (NodeId i = 0; i < g->n_nodes; i++)
        changed |= residual_codes(g, &i);
    for (NodeId i = 0; i < g->n_nodes; i++)
        changed |= hoist_over_concat(g, &i);
    if (changed && !ir_infer_shapes(g, d)) /* the concats and what follows them are u8 now */
        return false;
    for (NodeId i = 0; i < g->n_nodes; i++) /* on u8 codes: after the pools' */
        changed |= qadd_codes(g, i);
    for (NodeId i = 0; i < g->n_nodes; i++) {
        const Node *n = &g->nodes[i];
        if (n->dead || (n->op != IR_OP_QCONV2D && n->op != IR_OP_QLINEAR) || n->n_epilogue ||
            ir_node_attr_id(n, IR_A_y_scale) || g->values[n->outputs[0]].type.dtype != IR_F32)
            continue;
        NodeId chain[QCHAIN_MAX], q = IR_NONE, dv = IR_NONE;
        int len = 0;
        int64_t act = 0;
        for (ValueId v = n->outputs[0];;) {
            const NodeId u = ir_sole_consumer(g, v);
            if (u == IR_NONE || g->nodes[u].n_epilogue || g->nodes[u].inputs[0] != v)
                break;
            const OpKind op = g->nodes[u].op;
            if (op == IR_OP_QUANTIZE) {
                q = u;
                break;
            }
            if (op == IR_OP_DIV) { /* an ONNX QuantizeLinear: div, then quantize {scale=1} */
                const NodeId u2 = divide_quantize(g, u);
                if (u2 != IR_NONE) {
                    dv = u;
                    q = u2;
                }
                break;
            }
            const int64_t a = activation_of(&g->nodes[u]);
            if (len == QCHAIN_MAX ||
                (a == 0 && op != IR_OP_MAX_POOL2D && op != IR_OP_FLATTEN && op != IR_OP_RESHAPE))
                break;
            if (a > act)
                act = a;
            chain[len++] = u;
            v = g->nodes[u].outputs[0];
        }
        if (q == IR_NONE || g->values[g->nodes[q].outputs[0]].is_output)
            continue;
        const double ys = dv != IR_NONE ? divisor(g, dv) : ir_attr_scale(&g->nodes[q]);
        const int64_t yz = ir_attr_zero_point(&g->nodes[q]);
        ir_node_set_float(g, i, "y_scale", ys);
        ir_node_set_int(g, i, "y_zero_point", yz);
        ir_node_set_int(g, i, "act", act);
        if (dv != IR_NONE) {
            ir_node_set_int(g, i, "y_divide", 1);
            g->nodes[dv].dead = true;
        }
        /* drop the relus: their consumer reads their input */
        ValueId last = g->nodes[i].outputs[0];
        for (int k = 0; k < len; k++) {
            Node *c = &g->nodes[chain[k]];
            if (activation_of(c)) {
                ir_replace_uses(g, c->outputs[0], c->inputs[0]);
                c->dead = true;
            } else {
                last = c->outputs[0];
            }
        }
        ir_replace_uses(g, g->nodes[q].outputs[0], last);
        g->nodes[q].dead = true;
        changed = true;
    }
    if (!changed)
        return true;
    ir_compact(g);
    return ir_infer_shapes(g, d);
}
