/* attention: the scaled dot-product attention chain exporters write, as one attention op.
 *
 * PyTorch's nn.MultiheadAttention / TransformerEncoderLayer, HF BERT and the model
 * language's matmul + softmax all come down to
 *     S = matmul(A, Bt)            A = q [..., Sq, D] (or q * c, q / c), Bt = k^T [..., D, Sk]
 *     S' = S * c or S / c ...      scale steps by one-element f32 constants (none or several,
 *                                  on A, on Bt or on S)
 *     X = add(S', mask)            optional, either operand order (not when both are products)
 *     P = softmax(X, last axis)
 *     O = matmul(P, v)             v [..., Sk, Dv]
 * (MultiheadAttention divides q by sqrt(D) before the product, BERT divides S; the heads
 * are split by Reshape/Transpose before and merged after, which stay as they are). The last
 * matmul becomes attention(q, k, v, mask) in place with scale the product of the steps and
 * the other members go dead. k is Bt with its last two dims swapped: when Bt is a permute
 * of X (the exports' Transpose), k is one permute of X (the old one dies); otherwise a
 * permute of Bt. Each intermediate must have that one use and not be a graph output, all
 * f32, q, k and v with the same leading dims (no broadcasting), all on one device, and not
 * CUDA (codegen/cuda/attention.c fuses the chain there).
 *
 * A constant causal mask (0 on and below the diagonal, -inf above, leading dims 1) becomes
 * causal=1 instead of a fourth input (causal_const).
 *
 * The result is the same function; the rounding differs by a few ulps where the export
 * scales q before the product (attention scales the product), so the rewrite is tested to
 * 1e-6 against the unrewritten graph, not bit for bit. */
#include "passes/pass.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_MEMBERS 16

typedef struct Chain {
    Graph *g;
    const int *uses;
    NodeId members[MAX_MEMBERS]; /* the nodes that go dead */
    int n_members;
    double scale;
} Chain;

static bool plain_f32(const Graph *g, ValueId v)
{
    return v != IR_NONE && g->values[v].type.dtype == IR_F32 && !g->values[v].type.quant;
}

/* One-element f32 constant: its value into *x. */
static bool scalar_const(const Graph *g, ValueId v, double *x)
{
    const Value *val = &g->values[v];
    if (val->kind != IR_VALUE_CONST || !val->data || !plain_f32(g, v) ||
        val->data_bytes != sizeof(float))
        return false;
    *x = *(const float *)val->data;
    return true;
}

/* Whether mask is a constant causal mask for scores [..., sq, sk]: every leading dim 1, the
 * last two sq and sk, 0 where key j <= query i and -inf (or below -1e30: finfo.min, which
 * exp turns into the same 0 for any finite score) where j > i — PyTorch's
 * generate_square_subsequent_mask and HF's causal masks as export constants. Such a mask
 * is the attention's causal=1, which skips the hidden keys. */
static bool causal_const(const Graph *g, ValueId mask, Dim sq, Dim sk)
{
    const Value *m = &g->values[mask];
    const Shape *ms = &m->type.shape;
    if (m->kind != IR_VALUE_CONST || !m->data || !plain_f32(g, mask) || ms->rank < 2 ||
        !ir_dim_static(sq) || !ir_dim_static(sk) || !ir_dim_eq(ms->d[ms->rank - 2], sq) ||
        !ir_dim_eq(ms->d[ms->rank - 1], sk))
        return false;
    for (int i = 0; i < ms->rank - 2; i++)
        if (!ir_dim_static(ms->d[i]) || ms->d[i].c != 1)
            return false;
    if (m->data_bytes != sizeof(float) * (size_t)(sq.c * sk.c))
        return false;
    const float *x = m->data;
    for (int64_t i = 0; i < sq.c; i++)
        for (int64_t j = 0; j < sk.c; j++) {
            const float e = x[i * sk.c + j];
            if (j > i ? !(e <= -1e30f) : e != 0.0f)
                return false;
        }
    return true;
}

/* The live node of kind op producing v, v used once (by the chain) and no graph output,
 * recorded as a member; IR_NONE otherwise. */
static NodeId member(Chain *c, ValueId v, OpKind op)
{
    const Value *val = &c->g->values[v];
    if (val->kind != IR_VALUE_TEMP || val->is_output || c->uses[v] != 1 ||
        val->producer == IR_NONE || !plain_f32(c->g, v) || c->n_members == MAX_MEMBERS)
        return IR_NONE;
    const Node *n = &c->g->nodes[val->producer];
    if (n->dead || n->op != op || n->n_epilogue || n->n_outputs != 1)
        return IR_NONE;
    c->members[c->n_members++] = val->producer;
    return val->producer;
}

/* v with its scale steps (mul by a scalar constant either side, div by one) taken off:
 * their product goes into c->scale. */
static ValueId strip_scale(Chain *c, ValueId v)
{
    for (;;) {
        const Value *val = &c->g->values[v];
        if (val->producer == IR_NONE)
            return v;
        const OpKind op = c->g->nodes[val->producer].op;
        if (op != IR_OP_MUL && op != IR_OP_DIV)
            return v;
        const int mark = c->n_members;
        const NodeId n = member(c, v, op);
        if (n == IR_NONE)
            return v;
        const ValueId a = c->g->nodes[n].inputs[0], b = c->g->nodes[n].inputs[1];
        double k;
        if (scalar_const(c->g, b, &k) && k != 0.0 && isfinite(k) &&
            ir_shape_eq(&c->g->values[a].type.shape, &val->type.shape)) {
            c->scale *= op == IR_OP_MUL ? k : 1.0 / k;
            v = a;
        } else if (op == IR_OP_MUL && scalar_const(c->g, a, &k) && isfinite(k) &&
                   ir_shape_eq(&c->g->values[b].type.shape, &val->type.shape)) {
            c->scale *= k;
            v = b;
        } else {
            c->n_members = mark;
            return v;
        }
    }
}

static bool same_dims(const Shape *a, const Shape *b, int n)
{
    for (int i = 0; i < n; i++)
        if (!ir_dim_eq(a->d[i], b->d[i]))
            return false;
    return true;
}

/* Tries the chain ending at matmul node mm2; rewrites it and returns true on a match. */
static bool rewrite(Chain *c, NodeId mm2, NodeId *first_new, NodeId *before)
{
    Graph *g = c->g;
    const Node *o = &g->nodes[mm2];
    if (o->n_epilogue || o->device == IR_DEVICE_CUDA || !plain_f32(g, o->outputs[0]))
        return false;
    const ValueId v = o->inputs[1];
    c->n_members = 0;
    c->scale = 1.0;
    const NodeId sm = member(c, o->inputs[0], IR_OP_SOFTMAX);
    if (sm == IR_NONE)
        return false;
    const ValueId x = g->nodes[sm].inputs[0];
    const int r = g->values[x].type.shape.rank;
    const int64_t axis = ir_attr_axis_or(&g->nodes[sm], -1);
    if (r < 2 || r > 2 + IR_ATTENTION_MAX_LEAD || (axis != -1 && axis != r - 1))
        return false;
    /* the scores: x, or the operand of add(x) whose scale steps end at a matmul (the
     * other operand is the mask) */
    ValueId mask = IR_NONE;
    NodeId mm1 = IR_NONE;
    const int mark = c->n_members;
    const NodeId add = member(c, x, IR_OP_ADD);
    int n_match = 0; /* a mask made by a matmul too: which side is which is unclear */
    for (int side = 1; add != IR_NONE && side >= 0; side--) {
        c->n_members = mark + 1;
        c->scale = 1.0;
        const ValueId sv = g->nodes[add].inputs[side], mv = g->nodes[add].inputs[1 - side];
        if (!ir_shape_eq(&g->values[sv].type.shape, &g->values[x].type.shape) || !plain_f32(g, mv))
            continue;
        const NodeId found = member(c, strip_scale(c, sv), IR_OP_MATMUL);
        if (found != IR_NONE) {
            n_match++;
            mm1 = found;
            mask = mv;
        }
    }
    if (n_match > 1)
        return false;
    if (add != IR_NONE && mm1 != IR_NONE) { /* the members of the side that matched */
        c->n_members = mark + 1;
        c->scale = 1.0;
        mm1 = member(c,
                     strip_scale(c, mask == g->nodes[add].inputs[0] ? g->nodes[add].inputs[1]
                                                                    : g->nodes[add].inputs[0]),
                     IR_OP_MATMUL);
    }
    if (add == IR_NONE) {
        c->n_members = mark;
        c->scale = 1.0;
        mm1 = member(c, strip_scale(c, x), IR_OP_MATMUL);
    }
    if (mm1 == IR_NONE)
        return false;
    const ValueId q = strip_scale(c, g->nodes[mm1].inputs[0]);
    ValueId bt = strip_scale(c, g->nodes[mm1].inputs[1]);
    const Shape *qs = &g->values[q].type.shape, *bs = &g->values[bt].type.shape,
                *vs = &g->values[v].type.shape;
    if (!plain_f32(g, q) || !plain_f32(g, bt) || !plain_f32(g, v) || qs->rank != r ||
        bs->rank != r || vs->rank != r || !same_dims(qs, bs, r - 2) || !same_dims(qs, vs, r - 2) ||
        !ir_dim_eq(qs->d[r - 1], bs->d[r - 2]) || !ir_dim_eq(bs->d[r - 1], vs->d[r - 2]))
        return false;
    const bool causal = mask != IR_NONE && causal_const(g, mask, qs->d[r - 2], bs->d[r - 1]);
    for (int k = 0; k < c->n_members; k++)
        if (g->nodes[c->members[k]].device != o->device)
            return false;
    /* k: Bt with its last two dims swapped */
    int64_t perm[IR_MAX_RANK];
    ValueId src = bt;
    const Value *btv = &g->values[bt];
    const NodeId pn = btv->producer;
    if (pn != IR_NONE && g->nodes[pn].op == IR_OP_PERMUTE && !g->nodes[pn].n_epilogue &&
        g->nodes[pn].device == o->device && ir_attr_perm(&g->nodes[pn], perm, IR_MAX_RANK) == r) {
        src = g->nodes[pn].inputs[0];
        if (c->uses[bt] == 1 && !btv->is_output && c->n_members < MAX_MEMBERS)
            c->members[c->n_members++] = pn;
    } else {
        for (int i = 0; i < r; i++)
            perm[i] = i;
    }
    const int64_t t = perm[r - 2];
    perm[r - 2] = perm[r - 1];
    perm[r - 1] = t;
    bool identity = true;
    for (int i = 0; i < r; i++)
        identity = identity && perm[i] == i;
    ValueId k = src;
    if (!identity) {
        char name[256];
        snprintf(name, sizeof name, "%s_k", o->name);
        const NodeId kp = ir_node_new(g, IR_OP_PERMUTE, name, o->loc, &src, 1, 1);
        ir_node_set_ints(g, kp, "perm", perm, r);
        g->nodes[kp].device = g->nodes[mm2].device;
        if (!ir_infer_node(g, kp, NULL))
            SLIMC_ASSERT(0 && "attention: k's permute");
        before[kp - *first_new] = mm2;
        k = g->nodes[kp].outputs[0];
    }
    /* the members go dead; the last matmul becomes the attention */
    for (int m = 0; m < c->n_members; m++)
        g->nodes[c->members[m]].dead = true;
    Node *a = &g->nodes[mm2];
    const int n_in = mask == IR_NONE ? 3 : 4;
    ValueId *in = ir_arena_alloc(g->arena, sizeof(ValueId) * (size_t)n_in);
    in[0] = q;
    in[1] = k;
    in[2] = v;
    if (mask != IR_NONE)
        in[3] = mask;
    a->op = IR_OP_ATTENTION;
    a->inputs = in;
    a->n_inputs = n_in;
    ir_node_set_float(g, mm2, "scale", c->scale);
    if (causal) {
        a->n_inputs = 3; /* the constant stays for its other uses; dce drops it otherwise */
        ir_node_set_int(g, mm2, "causal", 1);
    }
    return true;
}

bool pass_attention(Graph *g, const PassArgs *args, Diag *d)
{
    if (!pass_args_check(args, NULL, d))
        return false;
    int *uses = malloc(sizeof(int) * ((size_t)g->n_values + 1));
    SLIMC_ASSERT(uses);
    ir_uses(g, uses, NULL);
    const NodeId first_new = g->n_nodes, n_old = g->n_nodes;
    NodeId *before = malloc(sizeof(NodeId) * ((size_t)n_old + 1)); /* one new node a match */
    SLIMC_ASSERT(before);
    Chain c = {.g = g, .uses = uses};
    int found = 0;
    NodeId fn = first_new;
    for (NodeId i = 0; i < n_old; i++) {
        if (g->nodes[i].dead || g->nodes[i].op != IR_OP_MATMUL)
            continue;
        if (rewrite(&c, i, &fn, before))
            found++;
    }
    if (g->n_nodes > first_new)
        ir_nodes_place_appended(g, first_new, before);
    free(before);
    free(uses);
    if (found)
        ir_compact(g);
    return true;
}
