/* conv_taps: a conv2d whose taps mostly read padding as a sum over its taps of 1x1 convs.
 *
 * A dilated 3x3 conv on a small map (DeepLabV3's ASPP: rate 12 on 14x14) reads the
 * padding for most of its im2col work: each tap reads the input only on a sub-rectangle
 * of the output (at rate 12 on 14x14, rows 12..13 for the top taps), and fold's
 * try_conv_taps can drop only the taps that read padding everywhere. Here such a conv,
 * out = bias + sum over taps t of W_t · shift_t(x), becomes for each live tap t
 *
 *     slice x to the input rectangle t reads (step = the stride)
 *     -> conv2d 1x1 by W_t [O, C, 1, 1] (the tap that covers the whole output: with the bias)
 *     -> pad with zeros to the output's size (none for the whole-output tap)
 *     -> add into the sum,
 *
 * so the multiply-adds are those of the real input only. The cost rule: one group, the
 * fraction of the im2col work on padding at least SLIMC_TAPS_MIN_PAD, at least 1M
 * multiply-adds an image, and a tap that covers the whole output (ordinary 3x3 convs,
 * ~10% padding on 14x14, keep their kernel). Not exact: the sum is taken in another order
 * (rounding). The batch may be symbolic; the image sizes must be static. It runs after the
 * clean-up (bn_fold folded the batch norm into the conv's weights) and after quantize (an
 * int8 conv keeps its kernel), on the CPU's nodes (docs/passes.md). */
#include "passes/pass.h"

#include <math.h>

/* the least fraction of the im2col work on padding that splits a conv */
#define SLIMC_TAPS_MIN_PAD 0.5

/* The outputs [*r0, *r1) of an axis (in inputs, out outputs, stride s, padding p,
 * dilation dl) at which tap t reads the input: 0 <= o*s - p + t*dl < in. */
static void tap_range(int64_t in, int64_t out, int64_t s, int64_t p, int64_t dl, int64_t t,
                      int64_t *r0, int64_t *r1)
{
    const int64_t off = t * dl - p; /* o*s + off is the input index */
    int64_t lo = off >= 0 ? 0 : (-off + s - 1) / s;
    int64_t hi = in - 1 - off < 0 ? 0 : (in - 1 - off) / s + 1;
    lo = lo < out ? lo : out;
    hi = hi < out ? hi : out;
    *r0 = lo;
    *r1 = hi > lo ? hi : lo;
}

/* A new node op(in) named name, its attributes set by the caller, then typed by done(). */
static NodeId add_node(Graph *g, OpKind op, const char *name, SrcLoc loc, const ValueId *in,
                       int n_in)
{
    return ir_node_new(g, op, name, loc, in, n_in, 1);
}

/* The output of node id, its type inferred: the inputs are typed and the attributes in
 * range by construction, so a failure is a bug here. */
static ValueId done(Graph *g, NodeId id, Diag *d)
{
    const bool typed = ir_infer_node(g, id, d);
    SLIMC_ASSERT(typed);
    return g->nodes[id].outputs[0];
}

static ValueId slice(Graph *g, ValueId v, int axis, int64_t start, int64_t end, int64_t step,
                     const char *name, SrcLoc loc, Diag *d)
{
    const NodeId id = add_node(g, IR_OP_SLICE, name, loc, &v, 1);
    ir_node_set_int(g, id, "axis", axis);
    ir_node_set_int(g, id, "start", start);
    ir_node_set_int(g, id, "end", end);
    ir_node_set_int(g, id, "step", step);
    return done(g, id, d);
}

/* Splits conv2d id when the cost rule holds; the new nodes are appended (the caller places
 * them), the conv is marked dead and its output is the last new node's. */
static bool try_split(Graph *g, NodeId id, Diag *d)
{
    const Node *n = &g->nodes[id];
    if (n->dead || n->op != IR_OP_CONV2D || n->n_inputs > 3 || n->n_epilogue ||
        ir_attr_w_sparse(n) || ir_attr_groups(n) != 1 || n->device != IR_DEVICE_CPU)
        return false;
    const ValueId xv = n->inputs[0], wv = n->inputs[1], yv = n->outputs[0];
    const ValueId bv = n->n_inputs > 2 ? n->inputs[2] : IR_NONE;
    const Value *x = &g->values[xv], *w = &g->values[wv], *y = &g->values[yv];
    if (w->kind != IR_VALUE_CONST || !w->data || w->type.dtype != IR_F32 || w->type.quant ||
        w->type.shape.rank != 4 || !ir_shape_static(&w->type.shape) || x->type.dtype != IR_F32 ||
        x->type.quant || x->type.shape.rank != 4 || y->type.shape.rank != 4 ||
        !ir_dim_static(x->type.shape.d[1]) || x->type.shape.d[1].c != w->type.shape.d[1].c)
        return false;
    if (bv != IR_NONE && g->values[bv].type.dtype != IR_F32)
        return false;
    const Shape *xs = &x->type.shape, *ws = &w->type.shape, *ys = &y->type.shape;
    for (int a = 2; a < 4; a++)
        if (!ir_dim_static(xs->d[a]) || !ir_dim_static(ys->d[a]))
            return false;
    int64_t st[2], pad[2], dil[2];
    ir_attr_stride(n, st, 2);
    ir_attr_padding(n, pad, 2);
    ir_attr_dilation(n, dil, 2);
    const int64_t O = ws->d[0].c, C = ws->d[1].c, K[2] = {ws->d[2].c, ws->d[3].c};
    const int64_t IN[2] = {xs->d[2].c, xs->d[3].c}, OUT[2] = {ys->d[2].c, ys->d[3].c};
    if (K[0] * K[1] < 2 || K[0] > 64 || K[1] > 64 || OUT[0] < 1 || OUT[1] < 1)
        return false;
    /* r[a][t] = [r0, r1): the outputs along axis a at which tap t reads the input */
    int64_t r[2][64][2], live[2] = {0, 0};
    for (int a = 0; a < 2; a++)
        for (int64_t t = 0; t < K[a]; t++) {
            tap_range(IN[a], OUT[a], st[a], pad[a], dil[a], t, &r[a][t][0], &r[a][t][1]);
            live[a] += r[a][t][1] - r[a][t][0];
        }
    const double work = (double)K[0] * (double)K[1] * (double)OUT[0] * (double)OUT[1];
    const double real = (double)live[0] * (double)live[1];
    if (real <= 0 || 1.0 - real / work < SLIMC_TAPS_MIN_PAD ||
        (double)O * (double)C * real < (double)(1 << 20))
        return false;
    /* the tap that covers the whole output carries the bias and starts the sum */
    int64_t full = -1;
    for (int64_t t = 0; t < K[0] * K[1] && full < 0; t++) {
        const int64_t *rh = r[0][t / K[1]], *rw = r[1][t % K[1]];
        if (rh[0] == 0 && rh[1] == OUT[0] && rw[0] == 0 && rw[1] == OUT[1])
            full = t;
    }
    if (full < 0)
        return false;
    /* the terms dropped multiply padding: inf * 0 would have been NaN */
    const float *wd = w->data;
    for (int64_t i = 0; i < O * C * K[0] * K[1]; i++)
        if (!isfinite(wd[i]))
            return false;
    const char *name = n->name;
    const SrcLoc loc = n->loc;
    const Type wt = {.dtype = IR_F32, .shape = {4, {ir_dim(O), ir_dim(C), ir_dim(1), ir_dim(1)}}};
    ValueId sum = IR_NONE;
    NodeId last = IR_NONE;
    for (int64_t i = 0; i < K[0] * K[1]; i++) {
        const int64_t t = i == 0 ? full : i <= full ? i - 1 : i; /* full first, then in order */
        const int64_t kh = t / K[1], kw = t % K[1];
        const int64_t *rh = r[0][kh], *rw = r[1][kw];
        if (rh[1] <= rh[0] || rw[1] <= rw[0])
            continue; /* reads only padding */
        const char *tn =
            ir_arena_printf(g->arena, "%s.tap%lld_%lld", name, (long long)kh, (long long)kw);
        /* the tap's weights [O, C, 1, 1] */
        float *tw = ir_arena_alloc(g->arena, sizeof(float) * (size_t)(O * C));
        for (int64_t oc = 0; oc < O * C; oc++)
            tw[oc] = wd[oc * K[0] * K[1] + t];
        const ValueId twv = ir_const_new(g, ir_arena_printf(g->arena, "%s.w", tn), wt, tw,
                                         sizeof(float) * (size_t)(O * C), loc);
        /* the input rectangle it reads */
        ValueId v = xv;
        for (int a = 0; a < 2; a++) {
            const int64_t t_a = a ? kw : kh, *ra = r[a][t_a];
            const int64_t first = ra[0] * st[a] - pad[a] + t_a * dil[a];
            const int64_t end = (ra[1] - 1) * st[a] - pad[a] + t_a * dil[a] + 1;
            if (first == 0 && end == IN[a] && st[a] == 1)
                continue;
            v = slice(g, v, 2 + a, first, end, st[a],
                      ir_arena_printf(g->arena, "%s.%s", tn, a ? "cols" : "rows"), loc, d);
        }
        const ValueId cin[3] = {v, twv, bv};
        last = add_node(g, IR_OP_CONV2D, tn, loc, cin, t == full && bv != IR_NONE ? 3 : 2);
        ValueId term = done(g, last, d); /* 1x1, stride 1, unpadded: the defaults */
        if (t != full) {
            const NodeId pid =
                add_node(g, IR_OP_PAD, ir_arena_printf(g->arena, "%s.pad", tn), loc, &term, 1);
            const int64_t pads[4] = {rw[0], OUT[1] - rw[1], rh[0], OUT[0] - rh[1]};
            ir_node_set_ints(g, pid, "pads", pads, 4);
            const ValueId ain[2] = {sum, done(g, pid, d)};
            last = add_node(g, IR_OP_ADD, ir_arena_printf(g->arena, "%s.sum", tn), loc, ain, 2);
            term = done(g, last, d);
        }
        sum = term;
    }
    /* the last node writes the conv's output */
    ValueId spare = g->nodes[last].outputs[0];
    g->values[spare].producer = IR_NONE; /* unused; dropped by ir_compact */
    g->nodes[last].outputs[0] = yv;
    g->values[yv].producer = last;
    g->nodes[id].dead = true;
    return true;
}

bool pass_conv_taps(Graph *g, const PassArgs *args, Diag *d)
{
    if (!pass_args_check(args, NULL, d))
        return false;
    const NodeId n_old = g->n_nodes;
    /* before[k]: the old node the appended node n_old + k goes just before */
    NodeId *before = NULL;
    int cap = 0;
    for (NodeId i = 0; i < n_old; i++) {
        const NodeId first = g->n_nodes;
        if (!try_split(g, i, d))
            continue;
        if (g->n_nodes - n_old > cap) {
            const int ncap = 2 * (g->n_nodes - n_old) + 16;
            before = ir_arena_grow(g->arena, before, sizeof *before * (size_t)cap,
                                   sizeof *before * (size_t)ncap);
            cap = ncap;
        }
        for (NodeId k = first; k < g->n_nodes; k++)
            before[k - n_old] = i + 1 < n_old ? i + 1 : n_old;
    }
    if (g->n_nodes == n_old)
        return true;
    ir_nodes_place_appended(g, n_old, before);
    ir_compact(g);
    return true;
}
