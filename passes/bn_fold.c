/* bn_fold: batch_norm (inference, F.batch_norm's input order: x, running_mean,
 * running_var, weight, bias) folded away.
 *
 * Into its producer, when all of these hold:
 *   - x is produced by a live conv2d or conv_transpose2d, or a linear whose output has
 *     rank 2 (so that batch_norm's channel axis 1 is the linear's feature axis), with no
 *     epilogue;
 *   - x has no other use;
 *   - the producer's weight (and bias, if any) and the four batch_norm parameters are f32
 *     constants with data, not quantized, and the parameters have one entry per channel.
 * With s = weight / sqrt(var + eps) (float arithmetic), the producer gets NEW constants
 * (the originals may be a read-only mmapped file, and may be shared):
 *   w'[o, ...] = w[o, ...] * s[o]            (column o for a w_transposed linear;
 *                                             w'[c, j, ...] * s[grp(c) * O/groups + j] for
 *                                             conv_transpose2d's [C, O/groups, kh, kw])
 *   b'[o]      = (b[o] - mean[o]) * s[o] + beta[o]   (b = 0 when it had no bias)
 * and produces the batch_norm's output value itself; the batch_norm goes dead.
 *
 * Otherwise (x from an add, a relu, a graph input, a conv with other uses...), when the
 * parameters are constants, the batch_norm becomes
 *   mul(x, s) then add(., beta - mean * s)
 * with s and the shift shaped [C, 1, ..., 1] (one 1 per dim after the channel axis), which
 * fuse can then take into the producer's epilogue. Otherwise it stays as it is. */
#include "passes/pass.h"

#include <math.h>
#include <string.h>

/* The f32 payload of constant v with exactly count elements, or NULL. */
static const float *const_f32(const Graph *g, ValueId v, int64_t count)
{
    if (v == IR_NONE)
        return NULL;
    const Value *val = &g->values[v];
    if (val->kind != IR_VALUE_CONST || !val->data || val->type.dtype != IR_F32 || val->type.quant ||
        val->data_bytes != sizeof(float) * (size_t)count)
        return NULL;
    return val->data;
}

static int64_t numel_static(const Shape *s)
{
    int64_t n = 1;
    for (int i = 0; i < s->rank; i++)
        n *= s->d[i].c;
    return n;
}

/* The per-channel scale s and shift t of batch_norm bn (C channels), or false when its
 * parameters are not all constant. Arena-allocated. */
static bool bn_params(Graph *g, const Node *bn, int64_t C, float **s, float **t, const float **mean)
{
    const float *m = const_f32(g, bn->inputs[1], C), *v = const_f32(g, bn->inputs[2], C);
    const float *w = const_f32(g, bn->inputs[3], C), *b = const_f32(g, bn->inputs[4], C);
    if (!m || !v || !w || !b)
        return false;
    float eps = (float)ir_attr_eps(bn);
    *s = ir_arena_alloc(g->arena, sizeof(float) * (size_t)C);
    *t = ir_arena_alloc(g->arena, sizeof(float) * (size_t)C);
    for (int64_t c = 0; c < C; c++) {
        (*s)[c] = w[c] / sqrtf(v[c] + eps);
        (*t)[c] = b[c] - m[c] * (*s)[c];
    }
    *mean = m;
    return true;
}

/* The channel count of p's output x when p is a conv2d, conv_transpose2d or linear without
 * epilogue that can take a per-channel affine map into its constant f32 weight and bias,
 * and x has no other use; its channel axis in *axis (1 for convs, the last for a linear; a
 * linear with batch_norm's axis 1 must have a rank-2 output). 0 otherwise. */
static int64_t foldable_producer(const Graph *g, NodeId p_id, ValueId x, const int *uses,
                                 int n_uses, bool bn, int *axis)
{
    const Node *p = &g->nodes[p_id];
    if (p->dead || p->n_epilogue || p->n_outputs != 1 || p->outputs[0] != x ||
        (x < n_uses ? uses[x] : ir_use_count(g, x)) != 1)
        return 0;
    const Shape *xs = &g->values[x].type.shape;
    if (p->op == IR_OP_CONV2D || p->op == IR_OP_CONV_TRANSPOSE2D)
        *axis = 1;
    else if (p->op == IR_OP_LINEAR && xs->rank >= 2 && (!bn || xs->rank == 2))
        *axis = xs->rank - 1;
    else
        return 0;
    if (!ir_dim_static(xs->d[*axis]))
        return 0;
    const int64_t C = xs->d[*axis].c;
    const Shape *wsh = &g->values[p->inputs[1]].type.shape;
    ValueId bv = p->n_inputs > 2 ? p->inputs[2] : IR_NONE;
    if (!ir_shape_static(wsh) || !const_f32(g, p->inputs[1], numel_static(wsh)) ||
        (bv != IR_NONE && !const_f32(g, bv, C)))
        return 0;
    return C;
}

/* Node q_id (a batch_norm, or a mul or add by a per-channel constant) read p's output x,
 * C channels; p's weight and bias become NEW constants with q's map folded in:
 *   w'[o, ...] = w[o, ...] * s[o]
 *   b'[o]      = (b[o] - mean[o]) * s[o] + beta[o]   (b, mean, beta 0 where absent)
 * and p produces q's output (its name and uses stay); q goes dead. False when p's weight
 * does not have C output channels (a grouped conv_transpose2d whose groups do not divide). */
static bool fold_affine(Graph *g, NodeId q_id, NodeId p_id, int64_t C, const float *s,
                        const float *mean, const float *beta, const char *suffix)
{
    const Node *p = &g->nodes[p_id];
    ValueId x = p->outputs[0], wv = p->inputs[1];
    const Shape *wsh = &g->values[wv].type.shape;
    int64_t wn = numel_static(wsh);
    const float *w = const_f32(g, wv, wn);
    ValueId bv = p->n_inputs > 2 ? p->inputs[2] : IR_NONE;
    const float *b = const_f32(g, bv, C);
    bool tr = p->op == IR_OP_LINEAR && ir_attr_w_transposed(p) != 0;
    float *nw = ir_arena_alloc(g->arena, sizeof(float) * (size_t)wn);
    int64_t per = wn / C; /* elements per output channel */
    if (p->op == IR_OP_CONV_TRANSPOSE2D) {
        /* [Cin, C/groups, kh, kw]: input channel c feeds output channels of its group */
        int64_t groups = ir_attr_groups(p), cin = wsh->d[0].c, opg = wsh->d[1].c;
        if (groups < 1 || cin % groups || opg * groups != C)
            return false;
        int64_t khw = wn / (cin * opg);
        for (int64_t i = 0; i < wn; i++) {
            int64_t c = i / (opg * khw), j = i / khw % opg;
            nw[i] = w[i] * s[c / (cin / groups) * opg + j];
        }
    } else
        for (int64_t i = 0; i < wn; i++) {
            int64_t o = tr ? i % C : i / per; /* [K, N]: channel is the column */
            nw[i] = w[i] * s[o];
        }
    float *nb = ir_arena_alloc(g->arena, sizeof(float) * (size_t)C);
    for (int64_t o = 0; o < C; o++)
        nb[o] = ((b ? b[o] : 0.0f) - (mean ? mean[o] : 0.0f)) * s[o] + (beta ? beta[o] : 0.0f);

    Type wt = g->values[wv].type;
    Type bt = {.dtype = IR_F32, .shape = {1, {ir_dim(C)}}};
    const char *pname = g->nodes[p_id].name;
    ValueId nwv = ir_const_new(g, ir_arena_printf(g->arena, "%s.weight_%s", pname, suffix), wt, nw,
                               sizeof(float) * (size_t)wn, g->values[wv].loc);
    ValueId nbv = ir_const_new(g, ir_arena_printf(g->arena, "%s.bias_%s", pname, suffix), bt, nb,
                               sizeof(float) * (size_t)C, g->nodes[p_id].loc);
    Node *pn = &g->nodes[p_id];
    if (pn->n_inputs < 3) {
        ValueId *in = ir_arena_alloc(g->arena, sizeof(ValueId) * 3);
        memcpy(in, pn->inputs, sizeof(ValueId) * (size_t)pn->n_inputs);
        pn->inputs = in;
        pn->n_inputs = 3;
    }
    pn->inputs[1] = nwv;
    pn->inputs[2] = nbv;
    Node *q = &g->nodes[q_id];
    ValueId y = q->outputs[0];
    pn->outputs[0] = y;
    g->values[y].producer = p_id;
    g->values[x].producer = IR_NONE;
    q->dead = true;
    return true;
}

/* Folds bn (whose input x comes from node p) into p's weight and bias; false when the
 * conditions in the file comment do not hold. */
static bool fold_into_producer(Graph *g, NodeId bn_id, NodeId p_id, const int *uses, int n_uses)
{
    const Node *bn = &g->nodes[bn_id];
    int axis;
    const int64_t C = foldable_producer(g, p_id, bn->inputs[0], uses, n_uses, true, &axis);
    float *s, *t;
    const float *mean;
    if (!C || !bn_params(g, bn, C, &s, &t, &mean))
        return false;
    return fold_affine(g, bn_id, p_id, C, s, mean, g->values[bn->inputs[4]].data, "bn");
}

/* Folds mul or add node q_id, x (from p) by a constant k that is one number or one per
 * channel of x (its only dim other than 1 at x's channel axis, right-aligned), into p:
 * mul scales p's weight and bias by k, add adds k to the bias. False otherwise. */
static bool fold_mul_add(Graph *g, NodeId q_id, const int *uses, int n_uses)
{
    const Node *q = &g->nodes[q_id];
    if (q->n_epilogue || q->n_inputs != 2)
        return false;
    for (int side = 0; side < 2; side++) {
        const ValueId x = q->inputs[side], k = q->inputs[1 - side];
        const Value *kv = &g->values[k];
        const NodeId p_id = g->values[x].producer;
        int axis;
        if (p_id == IR_NONE || kv->kind != IR_VALUE_CONST || kv->type.dtype != IR_F32 ||
            kv->type.quant ||
            !ir_shape_eq(&g->values[x].type.shape, &g->values[q->outputs[0]].type.shape))
            continue;
        const int64_t C = foldable_producer(g, p_id, x, uses, n_uses, false, &axis);
        const Shape *ks = &kv->type.shape, *xs = &g->values[x].type.shape;
        if (!C || !ir_shape_static(ks) || ks->rank > xs->rank)
            continue;
        const int64_t kn = numel_static(ks);
        bool per_channel = kn == C;
        for (int j = 0; j < ks->rank; j++) {
            const int xa = xs->rank - ks->rank + j;
            per_channel = per_channel && ks->d[j].c == (xa == axis ? C : 1);
        }
        const float *kd = const_f32(g, k, kn);
        if (!kd || (kn != 1 && !per_channel))
            continue;
        float *s = ir_arena_alloc(g->arena, sizeof(float) * (size_t)C);
        float *add =
            q->op == IR_OP_ADD ? ir_arena_alloc(g->arena, sizeof(float) * (size_t)C) : NULL;
        for (int64_t o = 0; o < C; o++) {
            const float ko = kd[kn == 1 ? 0 : o];
            s[o] = add ? 1.0f : ko;
            if (add)
                add[o] = ko;
        }
        return fold_affine(g, q_id, p_id, C, s, NULL, add, add ? "shifted" : "scaled");
    }
    return false;
}

/* Rewrites batch_norm bn_id as mul(x, s) + shift; false when its parameters are not
 * constants or x's channel count is not static. */
static bool lower_to_mul_add(Graph *g, NodeId bn_id)
{
    const Node *bn = &g->nodes[bn_id];
    ValueId x = bn->inputs[0], y = bn->outputs[0];
    const Shape *xs = &g->values[x].type.shape;
    if (xs->rank < 2 || !ir_dim_static(xs->d[1]))
        return false;
    int64_t C = xs->d[1].c;
    float *s, *t;
    const float *mean;
    if (!bn_params(g, bn, C, &s, &t, &mean))
        return false;
    Type ct = {.dtype = IR_F32, .shape = {xs->rank - 1, {ir_dim(C)}}};
    for (int i = 1; i < ct.shape.rank; i++)
        ct.shape.d[i] = ir_dim(1);
    const char *name = bn->name;
    SrcLoc loc = bn->loc;
    Type yt = g->values[y].type;
    ValueId sv = ir_const_new(g, ir_arena_printf(g->arena, "%s.scale", name), ct, s,
                              sizeof(float) * (size_t)C, loc);
    ValueId tv = ir_const_new(g, ir_arena_printf(g->arena, "%s.shift", name), ct, t,
                              sizeof(float) * (size_t)C, loc);
    ValueId mid = ir_value_new(g, ir_arena_printf(g->arena, "%s.scaled", name), yt, loc);
    /* the batch_norm node itself becomes the mul */
    Node *mul = &g->nodes[bn_id];
    mul->op = IR_OP_MUL;
    mul->n_attrs = 0;
    mul->attrs = NULL;
    mul->n_inputs = 2;
    mul->inputs[1] = sv;
    mul->outputs[0] = mid;
    g->values[mid].producer = bn_id;
    ValueId add_in[2] = {mid, tv};
    NodeId add =
        ir_node_new(g, IR_OP_ADD, ir_arena_printf(g->arena, "%s.shift", name), loc, add_in, 2, 1);
    ValueId spare = g->nodes[add].outputs[0];
    g->values[spare].producer = IR_NONE; /* unused; dropped by ir_compact */
    g->values[spare].type = yt;
    g->nodes[add].outputs[0] = y;
    g->nodes[add].device = g->nodes[bn_id].device;
    g->values[y].producer = add; /* placed after bn_id when the pass ends */
    return true;
}

bool pass_bn_fold(Graph *g, const PassArgs *args, Diag *d)
{
    if (!pass_args_check(args, NULL, d))
        return false;
    /* Use counts from one sweep (a sweep per batch_norm was quadratic). A fold or a lowering
     * leaves the count of every other batch_norm's input as it was: the folded one's x loses
     * its only use, the lowered one's mul still reads x, and new values are only read by the
     * nodes made with them. */
    int n_uses = g->n_values;
    int *uses = ir_arena_alloc(g->arena, sizeof *uses * ((size_t)n_uses + 1));
    ir_uses(g, uses, NULL);
    /* Each lowering appends its add; they all move into place (just after their mul) in
     * one sweep at the end. */
    const NodeId n_old = g->n_nodes;
    NodeId *before = ir_arena_alloc(g->arena, sizeof *before * ((size_t)n_old + 1));
    for (NodeId i = 0; i < n_old; i++) {
        const Node *n = &g->nodes[i];
        if (!n->dead && (n->op == IR_OP_MUL || n->op == IR_OP_ADD)) {
            fold_mul_add(g, i, uses, n_uses);
            continue;
        }
        if (n->dead || n->op != IR_OP_BATCH_NORM || n->n_epilogue ||
            g->values[n->inputs[0]].type.shape.rank < 0)
            continue;
        NodeId p = g->values[n->inputs[0]].producer;
        if (p != IR_NONE && fold_into_producer(g, i, p, uses, n_uses))
            continue;
        if (lower_to_mul_add(g, i))
            before[g->n_nodes - 1 - n_old] = i + 1;
    }
    ir_nodes_place_appended(g, n_old, before);
    ir_compact(g);
    return true;
}
