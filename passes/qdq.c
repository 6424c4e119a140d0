/* qdq: the int8 kernels for pre-quantized models (docs/quantization.md, "Pre-quantized
 * ONNX models").
 *
 * The ONNX importer (frontend/onnx_ops_quant.c) turns a QDQ model's
 *
 *   DequantizeLinear(xq u8, s, zp) -> Conv / Gemm <- DequantizeLinear(wq s8, ws, 0)
 *
 * into dequantize(xq) {scale, zero_point} and mul(cast(wq), ws) feeding conv2d / linear.
 * This pass rewrites each such conv2d / linear (no epilogue yet, weight [O, ...] with one
 * scale or one per output channel, bias f32 [O] or none) into
 *
 *   qconv2d / qlinear(xq, wq, ws [O], w_sum [O], bias) {x_scale = s, x_zero_point = zp}
 *
 * which computes the same sum exactly in i32 (the float path sums the dequantized products
 * in f32) and scales it once: acc * (s * ws[o]) + bias[o]. Nodes that do not match stay
 * float, and `fold` later evaluates the weight's mul(cast()). It must run before `fold`
 * (which would fold the weight to f32) and before `layout` and `fuse`: it is first in the
 * default pipeline. */
#include "passes/pass.h"
#include "passes/quant_internal.h"

#include <math.h>
#include <string.h>

bool pass_qdq(Graph *g, const PassArgs *args, Diag *d);

/* The live node producing v, or NULL. */
static const Node *producer(const Graph *g, ValueId v)
{
    if (v == IR_NONE || g->values[v].kind != IR_VALUE_TEMP || g->values[v].producer == IR_NONE)
        return NULL;
    const Node *p = &g->nodes[g->values[v].producer];
    return p->dead || p->n_epilogue ? NULL : p;
}

static bool is_const(const Graph *g, ValueId v, DType dt)
{
    const Value *val = &g->values[v];
    return val->kind == IR_VALUE_CONST && val->data && val->type.dtype == dt && !val->type.quant &&
           ir_shape_static(&val->type.shape);
}

static int64_t numel(const Shape *s)
{
    int64_t n = 1;
    for (int i = 0; i < s->rank; i++)
        n *= s->d[i].c;
    return n;
}

/* The int8 weight behind w = mul(cast(wq s8 const), scale const): wq, and the scale per
 * output channel in ws[O] (filled); false when w is not of that form. */
static bool match_weight(Graph *g, ValueId w, ValueId *wq, float **ws)
{
    const Node *m = producer(g, w);
    if (!m || m->op != IR_OP_MUL)
        return false;
    for (int side = 0; side < 2; side++) {
        const Node *c = producer(g, m->inputs[side]);
        ValueId sv = m->inputs[1 - side];
        if (!c || c->op != IR_OP_CAST || !is_const(g, c->inputs[0], IR_I8) ||
            !is_const(g, sv, IR_F32))
            continue;
        const Shape *qs = &g->values[c->inputs[0]].type.shape, *ss = &g->values[sv].type.shape;
        if (qs->rank < 2 || !ir_shape_eq(qs, &g->values[w].type.shape))
            continue;
        const int64_t o = qs->d[0].c, ns = numel(ss);
        bool per_channel = ss->rank == qs->rank && ss->d[0].c == o && ns == o;
        if (ns != 1 && !per_channel)
            continue;
        const float *s = g->values[sv].data;
        float *out = ir_arena_alloc(g->arena, sizeof(float) * (size_t)(o ? o : 1));
        for (int64_t i = 0; i < o; i++)
            out[i] = s[per_channel ? i : 0];
        *wq = c->inputs[0];
        *ws = out;
        return true;
    }
    return false;
}

/* The int8 weight behind a matmul's right operand w [K, N] = mul(cast(wq s8 [K, N]), s),
 * s one scale or one per column ([N] or [1, N]: ORT's axis=1 of a Gemm without transB or
 * of a MatMul): the transposed codes [N, K] as a new constant in *wt (linear's layout) and
 * the N scales in *ws; false when w is not of that form. */
static bool match_weight_kn(Graph *g, ValueId w, ValueId *wt, float **ws)
{
    const Node *m = producer(g, w);
    if (!m || m->op != IR_OP_MUL)
        return false;
    for (int side = 0; side < 2; side++) {
        const Node *c = producer(g, m->inputs[side]);
        ValueId sv = m->inputs[1 - side];
        if (!c || c->op != IR_OP_CAST || !is_const(g, c->inputs[0], IR_I8) ||
            !is_const(g, sv, IR_F32))
            continue;
        const Value *qv = &g->values[c->inputs[0]];
        const Shape *qs = &qv->type.shape, *ss = &g->values[sv].type.shape;
        if (qs->rank != 2 || !ir_shape_eq(qs, &g->values[w].type.shape))
            continue;
        const int64_t kk = qs->d[0].c, nn = qs->d[1].c, ns = numel(ss);
        const bool per_col = ns == nn && ss->rank >= 1 && ss->rank <= 2 &&
                             ss->d[ss->rank - 1].c == nn && (ss->rank == 1 || ss->d[0].c == 1);
        if (ns != 1 && !per_col)
            continue;
        const float *sd = g->values[sv].data;
        const int8_t *q = qv->data;
        float *out = ir_arena_alloc(g->arena, sizeof(float) * (size_t)(nn ? nn : 1));
        int8_t *t = ir_arena_alloc(g->arena, (size_t)(kk * nn + 1));
        for (int64_t o = 0; o < nn; o++) {
            out[o] = sd[per_col ? o : 0];
            for (int64_t k = 0; k < kk; k++)
                t[o * kk + k] = q[k * nn + o]; /* [K, N] -> [N, K] */
        }
        Type tt = {.dtype = IR_I8, .shape = {2, {ir_dim(nn), ir_dim(kk)}}};
        *wt = ir_const_new(g, ir_arena_printf(g->arena, "%s.t", qv->name), tt, t, (size_t)(kk * nn),
                           qv->loc);
        *ws = out;
        return true;
    }
    return false;
}

/* Makes node id (conv2d, linear or matmul) the qconv2d / qlinear of the u8 codes behind
 * dequantize dq, int8 weight wq [O, ...] with scales ws[O], and bias (or IR_NONE); sets
 * *failed when its shapes do not infer. */
static void make_qlayer(Graph *g, NodeId id, bool conv, const Node *dq, ValueId wq, const float *ws,
                        ValueId bias, Diag *d, bool *failed)
{
    const Shape *wsh = &g->values[wq].type.shape;
    const int64_t o = wsh->d[0].c, k = o ? numel(wsh) / o : 0;
    const ValueId xq = dq->inputs[0];
    const double x_scale = ir_attr_scale(dq);
    const int64_t x_zp = ir_attr_zero_point(dq);
    /* the weight sums, for the zero-point correction */
    const int8_t *q = g->values[wq].data;
    int32_t *sum = ir_arena_alloc(g->arena, sizeof(int32_t) * (size_t)(o ? o : 1));
    for (int64_t i = 0; i < o; i++) {
        int32_t acc = 0;
        for (int64_t j = 0; j < k; j++)
            acc += q[i * k + j];
        sum[i] = acc;
    }
    const char *wname = g->values[wq].name;
    SrcLoc wloc = g->values[wq].loc;
    Type vt = {.dtype = IR_F32, .shape = {1, {ir_dim(o)}}};
    ValueId sv = ir_const_new(g, ir_arena_printf(g->arena, "%s.scale", wname), vt, ws,
                              sizeof(float) * (size_t)o, wloc);
    vt.dtype = IR_I32;
    ValueId smv = ir_const_new(g, ir_arena_printf(g->arena, "%s.sum", wname), vt, sum,
                               sizeof(int32_t) * (size_t)o, wloc);
    Node *nn = &g->nodes[id];
    ValueId *ins = ir_arena_alloc(g->arena, sizeof(ValueId) * 5);
    ins[0] = xq;
    ins[1] = wq;
    ins[2] = sv;
    ins[3] = smv;
    ins[4] = bias;
    nn->inputs = ins;
    nn->n_inputs = bias == IR_NONE ? 4 : 5;
    nn->op = conv ? IR_OP_QCONV2D : IR_OP_QLINEAR;
    if (!conv)
        nn->n_attrs = 0; /* w_transposed=0 means nothing to qlinear; matmul has none */
    ir_node_set_float(g, id, "x_scale", x_scale);
    ir_node_set_int(g, id, "x_zero_point", x_zp);
    if (!ir_infer_node(g, id, d))
        *failed = true;
}

/* matmul(dequantize(xq u8), int8 weight [K, N]), plus the add of a bias [N] when that is
 * its only use, as qlinear(xq, W^T [N, K], ..., bias): ORT's quantize_static leaves
 * exported linear layers (MatMul, and Gemm without transB after its pre-processing) in
 * that form. True when it rewrote node id. */
static bool rewrite_matmul(Graph *g, NodeId id, Diag *d, bool *failed)
{
    const Node *n = &g->nodes[id];
    if (n->dead || n->op != IR_OP_MATMUL || n->n_epilogue || n->n_inputs != 2 ||
        n->n_outputs != 1 || !pass_device_runs_int8(n))
        return false;
    const Node *dq = producer(g, n->inputs[0]);
    const ValueId y = n->outputs[0];
    if (!dq || dq->op != IR_OP_DEQUANTIZE || g->values[dq->inputs[0]].type.dtype != IR_U8 ||
        g->values[n->inputs[0]].type.shape.rank < 2)
        return false;
    ValueId wt;
    float *ws;
    if (!match_weight_kn(g, n->inputs[1], &wt, &ws))
        return false;
    const int64_t o = g->values[wt].type.shape.d[0].c;
    ValueId b = IR_NONE;
    const NodeId a = ir_sole_consumer(g, y);
    if (a != IR_NONE && g->nodes[a].op == IR_OP_ADD && !g->nodes[a].n_epilogue &&
        g->nodes[a].n_inputs == 2) {
        const ValueId c =
            g->nodes[a].inputs[0] == y ? g->nodes[a].inputs[1] : g->nodes[a].inputs[0];
        const Type *bt = &g->values[c].type;
        if (c != y && bt->dtype == IR_F32 && !bt->quant && bt->shape.rank == 1 &&
            ir_dim_eq(bt->shape.d[0], ir_dim(o)))
            b = c;
    }
    if (b != IR_NONE) { /* the layer writes the add's output; the add goes */
        const ValueId z = g->nodes[a].outputs[0];
        g->nodes[id].outputs[0] = z;
        g->values[z].producer = id;
        g->values[y].producer = IR_NONE;
        g->nodes[a].dead = true;
    }
    make_qlayer(g, id, false, dq, wt, ws, b, d, failed);
    return true;
}

/* Rewrites node id (conv2d or linear) when its input is a dequantize of u8 and its weight
 * an int8 weight; true when it did. */
static bool rewrite(Graph *g, NodeId id, Diag *d, bool *failed)
{
    const Node *n = &g->nodes[id];
    if (n->dead || n->n_epilogue || !pass_device_runs_int8(n))
        return false;
    const bool conv = n->op == IR_OP_CONV2D;
    if (!(ir_ops[n->op].flags & IR_F_QUANTIZABLE) ||
        (n->op == IR_OP_LINEAR && ir_attr_w_transposed(n) != 0))
        return false;
    const Node *dq = producer(g, n->inputs[0]);
    if (!dq || dq->op != IR_OP_DEQUANTIZE)
        return false;
    const ValueId xq = dq->inputs[0];
    const Shape *xs = &g->values[xq].type.shape;
    if (g->values[xq].type.dtype != IR_U8 || xs->rank < 1)
        return false;
    if (conv && (xs->rank != 4 || !ir_dim_static(xs->d[1]) || !ir_dim_static(xs->d[2]) ||
                 !ir_dim_static(xs->d[3])))
        return false;
    ValueId wq;
    float *ws;
    if (!match_weight(g, n->inputs[1], &wq, &ws))
        return false;
    const Shape *wsh = &g->values[wq].type.shape;
    if ((conv && wsh->rank != 4) || (!conv && wsh->rank != 2))
        return false;
    const int64_t o = wsh->d[0].c;
    ValueId bias = n->n_inputs > 2 ? n->inputs[2] : IR_NONE;
    if (bias != IR_NONE) {
        const Type *bt = &g->values[bias].type;
        if (bt->dtype != IR_F32 || bt->quant || bt->shape.rank != 1 ||
            !ir_dim_eq(bt->shape.d[0], ir_dim(o)))
            return false;
    }
    make_qlayer(g, id, conv, dq, wq, ws, bias, d, failed);
    return true;
}

bool pass_qdq(Graph *g, const PassArgs *args, Diag *d)
{
    if (!pass_args_check(args, NULL, d))
        return false;
    bool failed = false, matmuls = false;
    for (NodeId i = 0; i < g->n_nodes && !failed; i++) {
        if (rewrite_matmul(g, i, d, &failed))
            matmuls = true;
        else
            rewrite(g, i, d, &failed);
    }
    if (matmuls && !failed) /* drops the bias adds taken and the matmuls' old outputs */
        ir_compact(g);
    return !failed;
}
