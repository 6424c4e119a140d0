/* Channel groups and channel removal (passes/prune.h, docs/pruning.md "Removing channels").
 *
 * Every channel of every activation that can take part is a slot: a value of rank 4
 * ([N, C, H, W]) has C slots along axis 1, a value of rank 2 ([N, F]) F slots along axis 1,
 * a value of rank 3 ([B, T, F], a linear over a sequence) F slots along axis 2.
 * Each op the analysis understands joins the slots that must leave together (union-find):
 *
 *   conv2d (groups 1)    reads x's channels (its weight along dim 1: a consumer), makes y's
 *                        (weight dim 0 and bias: a source); x and y stay apart
 *   conv2d depthwise     groups == C_in, weight [C_out, 1, kh, kw], C_out = k * C_in: x's
 *                        channel c joins y's channels c*k .. c*k+k-1 (weight dim 0, bias)
 *   other grouped conv2d blocks x and y (removing a channel would make the groups uneven)
 *   linear               as conv2d groups 1, on [N, K] -> [N, N_out] or [B, T, K] ->
 *                        [B, T, N_out] (a stored-transposed weight along its stored axes)
 *   batch_norm           x's c joins y's c; its four [C] tensors follow
 *   relu, relu6, ...     x's c joins y's c: only ops with f(0) = 0 (a removed channel is a
 *                        channel of zeros, docs/pruning.md), clip when 0 is inside its range
 *   add, sub, mul,       operands' c join y's c; a constant operand with C entries along the
 *   minimum, maximum     channel axis follows them; one broadcast along it only for mul
 *   pools                max_pool2d, avg_pool2d, adaptive_avg_pool2d: c joins c
 *   flatten, reshape     [N, C, H, W] -> [N, C*H*W]: channel c joins features c*H*W .. +H*W-1
 *   concat               along the channels: input k's c joins y's offset_k + c; along
 *                        another axis: every input's c joins y's c
 *
 * Any other op (and a node with a fused epilogue) blocks every slot of its inputs and
 * outputs; so do the graph's inputs and outputs. A class of joined slots is one channel as
 * far as removal goes: it is removed only if it is not blocked, it has a source, and every
 * source's weight slice for it is all zero. Removing it drops the slots from every value,
 * the slices from every member constant, and is exact with respect to the model in which
 * the channel is zero in every member (docs/pruning.md). */
#include "passes/prune.h"

#include <stdlib.h>
#include <string.h>

#define BLOCK_IO (-2) /* blocked_by: a graph input or output */

static int64_t find(PruneGroups *G, int64_t s)
{
    while (G->parent[s] != s) {
        G->parent[s] = G->parent[G->parent[s]];
        s = G->parent[s];
    }
    return s;
}

static void join(PruneGroups *G, int64_t a, int64_t b)
{
    a = find(G, a);
    b = find(G, b);
    if (a != b)
        G->parent[a > b ? a : b] = a < b ? a : b;
}

int64_t pass_prune_group_of(PruneGroups *G, ValueId v, int64_t c)
{
    SLIMC_ASSERT(v >= 0 && v < G->n_values && G->base[v] >= 0 && c >= 0 && c < G->count[v]);
    return find(G, G->base[v] + c);
}

NodeId pass_prune_group_blocked(PruneGroups *G, ValueId v, int64_t c)
{
    return G->blocked_by[pass_prune_group_of(G, v, c)];
}

static bool slotted(const PruneGroups *G, ValueId v)
{
    return v != IR_NONE && G->base[v] >= 0;
}

/* Blocks every slot of v (when it has slots) because of node `by` (BLOCK_IO: the graph's
 * inputs and outputs). Slots keep the first reason; roots get theirs after the joins. */
static void block_value(PruneGroups *G, ValueId v, NodeId by)
{
    if (!slotted(G, v))
        return;
    for (int64_t c = 0; c < G->count[v]; c++)
        if (G->blocked_by[G->base[v] + c] == IR_NONE)
            G->blocked_by[G->base[v] + c] = by;
}

static void block_node(PruneGroups *G, const Graph *g, NodeId i)
{
    const Node *n = &g->nodes[i];
    for (int k = 0; k < n->n_inputs; k++)
        block_value(G, n->inputs[k], i);
    for (int k = 0; k < n->n_outputs; k++)
        block_value(G, n->outputs[k], i);
    for (int k = 0; k < n->n_epilogue; k++)
        block_value(G, n->epilogue[k].operand, i);
}

/* Joins slot c of a with slot c of b for every c (same channel count). */
static bool join_same(PruneGroups *G, ValueId a, ValueId b)
{
    if (!slotted(G, a) || !slotted(G, b) || G->count[a] != G->count[b])
        return false;
    for (int64_t c = 0; c < G->count[a]; c++)
        join(G, G->base[a] + c, G->base[b] + c);
    return true;
}

/* Whether constant v is an f32 tensor of static shape that only one node reads (a member
 * rewritten for one group must not change another reader). */
static bool member_ok(const Graph *g, const int *uses, ValueId v)
{
    if (v == IR_NONE)
        return false;
    const Value *val = &g->values[v];
    return val->kind == IR_VALUE_CONST && val->data && val->type.dtype == IR_F32 &&
           !val->type.quant && ir_shape_static(&val->type.shape) && uses[v] == 1;
}

/* Adds a member; false when (v, axis) is one already (a constant read twice). */
static bool add_member(PruneGroups *G, Graph *g, NodeId node, ValueId v, int axis, ValueId by,
                       PruneRole role)
{
    for (int m = 0; m < G->n_members; m++)
        if (G->members[m].value == v && G->members[m].axis == axis)
            return false;
    if (G->n_members == G->cap_members) {
        int cap = G->cap_members ? 2 * G->cap_members : 32;
        PruneMember *m = ir_arena_alloc(g->arena, sizeof(PruneMember) * (size_t)cap);
        if (G->n_members)
            memcpy(m, G->members, sizeof(PruneMember) * (size_t)G->n_members);
        G->members = m;
        G->cap_members = cap;
    }
    G->members[G->n_members++] =
        (PruneMember){.node = node, .value = v, .axis = axis, .by = by, .role = role};
    return true;
}

static int64_t dim_of(const Graph *g, ValueId v, int k)
{
    return g->values[v].type.shape.d[k].c;
}

/* conv2d: groups 1 (consumer + source), depthwise (joined), else blocked. */
static bool analyse_conv(PruneGroups *G, Graph *g, const int *uses, NodeId i)
{
    const Node *n = &g->nodes[i];
    ValueId x = n->inputs[0], w = n->inputs[1], y = n->outputs[0];
    ValueId b = n->n_inputs > 2 ? n->inputs[2] : IR_NONE;
    if (!slotted(G, x) || !slotted(G, y) || !member_ok(g, uses, w) ||
        g->values[w].type.shape.rank != 4 || (b != IR_NONE && !member_ok(g, uses, b)))
        return false;
    if (n->n_inputs > 3 && n->inputs[3] != IR_NONE)
        return false; /* a CSR copy of the weight (passes/sparse.c) would not shrink with it */
    int64_t groups = ir_attr_groups(n), cin = G->count[x], cout = G->count[y];
    if (dim_of(g, w, 0) != cout || (b != IR_NONE && dim_of(g, b, 0) != cout))
        return false;
    if (groups == 1) {
        if (dim_of(g, w, 1) != cin)
            return false;
        if (!add_member(G, g, i, w, 1, x, PRUNE_CONSUMER) ||
            !add_member(G, g, i, w, 0, y, PRUNE_SOURCE))
            return false;
    } else if (groups == cin && dim_of(g, w, 1) == 1 && cout % cin == 0) {
        int64_t k = cout / cin; /* the channel multiplier */
        for (int64_t c = 0; c < cin; c++)
            for (int64_t j = 0; j < k; j++)
                join(G, G->base[x] + c, G->base[y] + c * k + j);
        if (!add_member(G, g, i, w, 0, y, PRUNE_PARAM))
            return false;
    } else
        return false; /* grouped: not analysed (docs/pruning.md) */
    return b == IR_NONE || add_member(G, g, i, b, 0, y, PRUNE_PARAM);
}

static bool analyse_linear(PruneGroups *G, Graph *g, const int *uses, NodeId i)
{
    const Node *n = &g->nodes[i];
    ValueId x = n->inputs[0], w = n->inputs[1], y = n->outputs[0];
    ValueId b = n->n_inputs > 2 ? n->inputs[2] : IR_NONE;
    int rank = g->values[x].type.shape.rank;
    if (!slotted(G, x) || !slotted(G, y) || (rank != 2 && rank != 3) ||
        g->values[y].type.shape.rank != rank || !member_ok(g, uses, w) ||
        g->values[w].type.shape.rank != 2 || (b != IR_NONE && !member_ok(g, uses, b)))
        return false;
    int t = ir_attr_w_transposed(n) != 0; /* stored [K, N] */
    if (dim_of(g, w, t) != G->count[y] || dim_of(g, w, 1 - t) != G->count[x] ||
        (b != IR_NONE && (g->values[b].type.shape.rank != 1 || dim_of(g, b, 0) != G->count[y])))
        return false;
    if (!add_member(G, g, i, w, 1 - t, x, PRUNE_CONSUMER) ||
        !add_member(G, g, i, w, t, y, PRUNE_SOURCE))
        return false;
    return b == IR_NONE || add_member(G, g, i, b, 0, y, PRUNE_PARAM);
}

static bool analyse_batch_norm(PruneGroups *G, Graph *g, const int *uses, NodeId i)
{
    const Node *n = &g->nodes[i];
    ValueId x = n->inputs[0], y = n->outputs[0];
    if (!slotted(G, x) || G->axis[x] != 1)
        return false;
    for (int k = 1; k < 5; k++) {
        ValueId p = n->inputs[k];
        if (!member_ok(g, uses, p) || g->values[p].type.shape.rank != 1 ||
            dim_of(g, p, 0) != G->count[x])
            return false;
    }
    if (!join_same(G, x, y))
        return false;
    for (int k = 1; k < 5; k++)
        if (!add_member(G, g, i, n->inputs[k], 0, y, PRUNE_PARAM))
            return false;
    return true;
}

/* add, sub, mul, minimum, maximum: f(0, 0) = 0. */
static bool analyse_binary(PruneGroups *G, Graph *g, const int *uses, NodeId i)
{
    const Node *n = &g->nodes[i];
    ValueId y = n->outputs[0];
    if (!slotted(G, y))
        return false;
    int rank = g->values[y].type.shape.rank, ax = G->axis[y];
    for (int k = 0; k < 2; k++) {
        ValueId a = n->inputs[k];
        const Value *va = &g->values[a];
        int at = ax - (rank - va->type.shape.rank); /* numpy's alignment from the right */
        int64_t size = at >= 0 ? va->type.shape.d[at].c : 1;
        if (va->kind != IR_VALUE_CONST) {
            if (va->type.shape.rank != rank || !join_same(G, a, y))
                return false;
        } else if (size == G->count[y] && size != 1) {
            if (!member_ok(g, uses, a) || !add_member(G, g, i, a, at, y, PRUNE_PARAM))
                return false;
        } else if (n->op != IR_OP_MUL) /* x + k is k where x is 0: not a zero channel */
            return false;
    }
    return true;
}

/* flatten or reshape of [N, C, H, W] into [N, C*H*W] (or of [N, F] into itself). */
static bool analyse_flatten(PruneGroups *G, Graph *g, NodeId i)
{
    const Node *n = &g->nodes[i];
    ValueId x = n->inputs[0], y = n->outputs[0];
    int rank = g->values[x].type.shape.rank;
    if (!slotted(G, x) || !slotted(G, y) || (rank != 2 && rank != 4) ||
        g->values[y].type.shape.rank != 2 ||
        !ir_dim_eq(g->values[x].type.shape.d[0], g->values[y].type.shape.d[0]))
        return false;
    if (n->op == IR_OP_FLATTEN) {
        int64_t e = ir_attr_end_dim(n);
        if (ir_attr_start_dim(n) != 1 || !(e == -1 || e == rank - 1))
            return false;
    }
    if (rank == 2)
        return join_same(G, x, y);
    int64_t hw = dim_of(g, x, 2) * dim_of(g, x, 3);
    if (G->count[x] * hw != G->count[y])
        return false;
    for (int64_t c = 0; c < G->count[x]; c++)
        for (int64_t j = 0; j < hw; j++)
            join(G, G->base[x] + c, G->base[y] + c * hw + j);
    return true;
}

static bool analyse_concat(PruneGroups *G, Graph *g, NodeId i)
{
    const Node *n = &g->nodes[i];
    ValueId y = n->outputs[0];
    if (!slotted(G, y))
        return false;
    int rank = g->values[y].type.shape.rank;
    int64_t axis = ir_attr_axis(n);
    if (axis < 0)
        axis += rank;
    int64_t off = 0;
    for (int k = 0; k < n->n_inputs; k++) {
        ValueId x = n->inputs[k];
        if (!slotted(G, x) || g->values[x].type.shape.rank != rank)
            return false;
        if (axis != G->axis[y]) {
            if (!join_same(G, x, y))
                return false;
            continue;
        }
        if (off + G->count[x] > G->count[y])
            return false;
        for (int64_t c = 0; c < G->count[x]; c++)
            join(G, G->base[x] + c, G->base[y] + off + c);
        off += G->count[x];
    }
    return axis != G->axis[y] || off == G->count[y];
}

/* How node i ties channels; false: it blocks them. */
static bool analyse_node(PruneGroups *G, Graph *g, const int *uses, NodeId i)
{
    const Node *n = &g->nodes[i];
    if (n->n_epilogue > 0 || n->n_outputs != 1)
        return false;
    switch (n->op) {
    case IR_OP_CONV2D: return analyse_conv(G, g, uses, i);
    case IR_OP_LINEAR: return analyse_linear(G, g, uses, i);
    case IR_OP_BATCH_NORM: return analyse_batch_norm(G, g, uses, i);
    case IR_OP_CLIP:
        if (!(ir_attr_min(n) <= 0 && ir_attr_max(n) >= 0))
            return false;
        return join_same(G, n->inputs[0], n->outputs[0]);
    case IR_OP_RELU:
    case IR_OP_DROPOUT:
    case IR_OP_RELU6:
    case IR_OP_LEAKY_RELU:
    case IR_OP_GELU:
    case IR_OP_GELU_TANH:
    case IR_OP_SILU:
    case IR_OP_HARDSWISH:
    case IR_OP_TANH:
    case IR_OP_NEG:
    case IR_OP_ABS:
    case IR_OP_ERF:
    case IR_OP_SOFTSIGN: return join_same(G, n->inputs[0], n->outputs[0]);
    case IR_OP_MAX_POOL2D:
    case IR_OP_AVG_POOL2D:
    case IR_OP_ADAPTIVE_AVG_POOL2D:
        return g->values[n->inputs[0]].type.shape.rank == 4 &&
               join_same(G, n->inputs[0], n->outputs[0]);
    case IR_OP_ADD:
    case IR_OP_SUB:
    case IR_OP_MUL:
    case IR_OP_MINIMUM:
    case IR_OP_MAXIMUM: return analyse_binary(G, g, uses, i);
    case IR_OP_FLATTEN:
    case IR_OP_RESHAPE: return analyse_flatten(G, g, i);
    case IR_OP_CONCAT: return analyse_concat(G, g, i);
    /* not analysed: they block the channels they touch (attention too: its heads are
     * leading dims of q, k and v, not channels, and no head is pruned) */
    case IR_OP_MATMUL:
    case IR_OP_ATTENTION:
    case IR_OP_RNN: /* its gates mix every channel of x and of the state: nothing is pruned
                       through it (its input's producer keeps its channels) */
    case IR_OP_DIV:
    case IR_OP_SIGMOID:
    case IR_OP_SOFTMAX:
    case IR_OP_LOG_SOFTMAX:
    case IR_OP_LAYER_NORM:
    case IR_OP_EMBEDDING:
    case IR_OP_HARDSIGMOID:
    case IR_OP_FLOOR:
    case IR_OP_CEIL:
    case IR_OP_ROUND:
    case IR_OP_SIN:
    case IR_OP_COS:
    case IR_OP_TAN:
    case IR_OP_ASIN:
    case IR_OP_ACOS:
    case IR_OP_ATAN:
    case IR_OP_EXP:
    case IR_OP_LOG:
    case IR_OP_SQRT:
    case IR_OP_RSQRT:
    case IR_OP_POW:
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
    case IR_OP_WHERE:
    case IR_OP_CAST:
    case IR_OP_GROUP_NORM:
    case IR_OP_REDUCE_SUM:
    case IR_OP_REDUCE_MEAN:
    case IR_OP_REDUCE_MAX:
    case IR_OP_REDUCE_MIN:
    case IR_OP_PERMUTE:
    case IR_OP_SQUEEZE:
    case IR_OP_UNSQUEEZE:
    case IR_OP_EXPAND:
    case IR_OP_SLICE:
    case IR_OP_PAD:
    case IR_OP_INDEX_SELECT:
    case IR_OP_ARGMAX:
    case IR_OP_ARGMIN:
    case IR_OP_GATHER_ELEMENTS:
    case IR_OP_SCATTER_ELEMENTS:
    case IR_OP_CUMSUM:
    case IR_OP_REDUCE_PROD:
    case IR_OP_MOD:
    case IR_OP_RESIZE_AXIS:
    case IR_OP_GRID_SAMPLE:
    case IR_OP_TOPK:
    case IR_OP_POOL_ND:
    case IR_OP_GATHER_ND:
    case IR_OP_SCATTER_ND:
    case IR_OP_ROI_ALIGN:
    case IR_OP_RESIZE:
    case IR_OP_CONV_TRANSPOSE2D:
    case IR_OP_QUANTIZE:
    case IR_OP_DEQUANTIZE:
    case IR_OP_QADD:
    case IR_OP_QCONV2D:
    case IR_OP_QLINEAR:
    case IR_OP_WLINEAR:
    case IR_OP_DQLINEAR:
    case IR_OP_COPYSIGN:
    case IR_OP_TRANSFER:
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
    case IR_OP_BATCH_NORM_TRAIN:
    case IR_OP_CROSS_ENTROPY:
    case IR_OP_CROSS_ENTROPY_GRAD:
    case IR_OP_NLL_LOSS:
    case IR_OP_NLL_LOSS_GRAD:
    case IR_OP_MSE_LOSS:
    case IR_OP_MSE_LOSS_GRAD:
    case IR_OP_DISTILL_LOSS:
    case IR_OP_DISTILL_LOSS_GRAD:
    case IR_OP_FAKE_QUANT:
    case IR_OP_FAKE_QUANT_GRAD:
    case IR_NUM_OPS: return false;
    }
    return false;
}

/* A conv2d or linear that blocks (a weight shared or not f32, a grouped conv...) still
 * makes its output channels: recorded as a blocked source, so that its zero channels draw
 * the warning. Never rewritten: its class is blocked. */
static void blocked_source(PruneGroups *G, Graph *g, NodeId i)
{
    const Node *n = &g->nodes[i];
    if ((n->op != IR_OP_CONV2D && n->op != IR_OP_LINEAR) || n->n_inputs < 2 || n->n_outputs != 1 ||
        !slotted(G, n->outputs[0]) || n->inputs[1] == IR_NONE)
        return;
    ValueId w = n->inputs[1], y = n->outputs[0];
    const Value *wv = &g->values[w];
    int axis = n->op == IR_OP_LINEAR && ir_attr_w_transposed(n) != 0;
    if (wv->kind != IR_VALUE_CONST || !wv->data || wv->type.dtype != IR_F32 || wv->type.quant ||
        wv->type.shape.rank < 2 || !ir_shape_static(&wv->type.shape) ||
        wv->type.shape.d[axis].c != G->count[y])
        return;
    add_member(G, g, i, w, axis, y, PRUNE_BLOCKED_SOURCE);
}

/* Slots beyond this many (activations' channels and features, all values together) are not
 * analysed: no model slimc runs comes near, and a hostile one costs nothing. */
#define MAX_SLOTS ((int64_t)1 << 26)

PruneGroups *pass_prune_groups(Graph *g)
{
    PruneGroups *G = ir_arena_alloc(g->arena, sizeof(PruneGroups));
    size_t nv = (size_t)g->n_values + 1;
    *G = (PruneGroups){.n_values = g->n_values};
    G->base = ir_arena_alloc(g->arena, sizeof(int64_t) * nv);
    G->count = ir_arena_alloc(g->arena, sizeof(int64_t) * nv);
    G->axis = ir_arena_alloc(g->arena, sizeof(int) * nv);
    for (ValueId v = 0; v < g->n_values; v++) {
        const Value *val = &g->values[v];
        const Shape *s = &val->type.shape;
        G->base[v] = -1;
        /* [N, C, H, W] and [N, F]: axis 1; [B, T, F] (a linear over a sequence): axis 2 */
        int ax = s->rank == 3 ? 2 : 1;
        if (val->kind == IR_VALUE_CONST || s->rank < 2 || s->rank > 4 || !ir_dim_static(s->d[ax]) ||
            s->d[ax].c <= 0 ||
            (s->rank == 4 && !(ir_dim_static(s->d[2]) && ir_dim_static(s->d[3]))) ||
            G->n_slots + s->d[ax].c > MAX_SLOTS)
            continue;
        G->base[v] = G->n_slots;
        G->count[v] = s->d[ax].c;
        G->axis[v] = ax;
        G->n_slots += s->d[ax].c;
    }
    size_t ns = (size_t)G->n_slots + 1;
    G->parent = ir_arena_alloc(g->arena, sizeof(int64_t) * ns);
    G->blocked_by = ir_arena_alloc(g->arena, sizeof(NodeId) * ns);
    for (int64_t s = 0; s < G->n_slots; s++) {
        G->parent[s] = s;
        G->blocked_by[s] = IR_NONE;
    }
    int *uses = malloc(sizeof(int) * nv);
    SLIMC_ASSERT(uses);
    ir_uses(g, uses, NULL);
    for (NodeId i = 0; i < g->n_nodes; i++) {
        if (g->nodes[i].dead)
            continue;
        int before = G->n_members;
        if (!analyse_node(G, g, uses, i)) {
            G->n_members = before; /* a node that blocks has no members */
            block_node(G, g, i);
            blocked_source(G, g, i);
        }
    }
    free(uses);
    for (int k = 0; k < g->n_inputs; k++)
        block_value(G, g->inputs[k], BLOCK_IO);
    for (int k = 0; k < g->n_outputs; k++)
        block_value(G, g->outputs[k], BLOCK_IO);
    /* every class takes a reason of one of its slots */
    for (int64_t s = 0; s < G->n_slots; s++) {
        int64_t r = find(G, s);
        if (G->blocked_by[s] != IR_NONE && G->blocked_by[r] == IR_NONE)
            G->blocked_by[r] = G->blocked_by[s];
    }
    return G;
}

/* ---- removal ---- */

/* Whether slice i along axis of the stored constant v is all zero. */
static bool slice_zero(const Graph *g, ValueId v, int axis, int64_t i)
{
    const Shape *s = &g->values[v].type.shape;
    int64_t outer = 1, inner = 1, n = s->d[axis].c;
    for (int k = 0; k < axis; k++)
        outer *= s->d[k].c;
    for (int k = axis + 1; k < s->rank; k++)
        inner *= s->d[k].c;
    const float *w = g->values[v].data;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t j = 0; j < inner; j++)
            if (w[(o * n + i) * inner + j] != 0.0f)
                return false;
    return true;
}

/* Replaces constant v by its slices along axis that keep[] keeps (kept of them), in a new
 * payload in the graph's arena; the Value keeps its name. */
static void slice_const(Graph *g, ValueId v, int axis, const bool *keep, int64_t kept)
{
    Value *val = &g->values[v];
    Shape *s = &val->type.shape;
    int64_t outer = 1, inner = 1, n = s->d[axis].c;
    for (int k = 0; k < axis; k++)
        outer *= s->d[k].c;
    for (int k = axis + 1; k < s->rank; k++)
        inner *= s->d[k].c;
    size_t bytes = sizeof(float) * (size_t)(outer * kept * inner);
    float *dst = ir_arena_alloc(g->arena, bytes ? bytes : sizeof(float));
    const float *src = val->data;
    float *at = dst;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < n; i++)
            if (keep[i]) {
                memcpy(at, src + (o * n + i) * inner, sizeof(float) * (size_t)inner);
                at += inner;
            }
    val->data = dst;
    val->data_bytes = bytes;
    s->d[axis].c = kept;
}

static const char *node_name(const Graph *g, NodeId i)
{
    return g->nodes[i].name ? g->nodes[i].name : ir_ops[g->nodes[i].op].name;
}

/* What about node n (that blocks) the warning adds after its op's name. */
static const char *why_blocked(const Node *n)
{
    if (n->n_epilogue)
        return " with a fused epilogue";
    if (n->op == IR_OP_CONV2D && ir_attr_groups(n) != 1)
        return ", a grouped conv";
    if (n->op == IR_OP_CONV2D || n->op == IR_OP_LINEAR)
        return ", its weight or bias not an f32 constant of its own";
    return "";
}

/* The warning for the zero channels a blocking node keeps (count of them, from layer). */
static void warn_blocked(Graph *g, NodeId by, NodeId layer, int64_t count, Diag *d)
{
    if (by == BLOCK_IO) {
        ir_diag_warning(d, g->nodes[layer].loc,
                        "prune: %lld zero channel%s of '%s' kept: they reach the model's inputs "
                        "or outputs, whose shapes do not change",
                        (long long)count, count == 1 ? "" : "s", node_name(g, layer));
        return;
    }
    const Node *n = &g->nodes[by];
    ir_diag_warning(d, n->loc,
                    "prune: %lld zero channel%s of '%s' kept: they reach '%s' (%s%s), which "
                    "channel removal does not analyse",
                    (long long)count, count == 1 ? "" : "s", node_name(g, layer), node_name(g, by),
                    ir_ops[n->op].name, why_blocked(n));
}

/* A chosen conv2d or linear whose output has no slots (a linear over [B, T, K], an
 * attention projection, a symbolic channel count): its zero output channels stay, said in
 * a warning. */
static void warn_unslotted(Graph *g, PruneGroups *G, const bool *chosen, Diag *d)
{
    for (NodeId i = 0; i < g->n_nodes; i++) {
        const Node *n = &g->nodes[i];
        if (n->dead || !chosen[i] || (n->op != IR_OP_CONV2D && n->op != IR_OP_LINEAR) ||
            n->n_inputs < 2 || n->n_outputs != 1 || slotted(G, n->outputs[0]))
            continue;
        ValueId w = n->inputs[1];
        const Value *wv = &g->values[w];
        if (w == IR_NONE || wv->kind != IR_VALUE_CONST || !wv->data || wv->type.dtype != IR_F32 ||
            wv->type.quant || wv->type.shape.rank < 2 || !ir_shape_static(&wv->type.shape))
            continue;
        int axis = n->op == IR_OP_LINEAR && ir_attr_w_transposed(n) != 0;
        int64_t zero = 0;
        for (int64_t c = 0; c < wv->type.shape.d[axis].c; c++)
            zero += slice_zero(g, w, axis, c);
        if (!zero)
            continue;
        char buf[128];
        ir_diag_warning(d, n->loc,
                        "prune: %lld zero channel%s of '%s' kept: its output %s is not an "
                        "[N, C, H, W] or [N, F] activation, which channel removal follows",
                        (long long)zero, zero == 1 ? "" : "s", node_name(g, i),
                        ir_type_str(g, &g->values[n->outputs[0]].type, buf, sizeof buf));
    }
}

bool pass_prune_remove_channels(Graph *g, const bool *chosen, PruneRemoved *out, Diag *d)
{
    PruneGroups *G = pass_prune_groups(g);
    warn_unslotted(g, G, chosen, d);
    size_t ns = (size_t)G->n_slots + 1;
    /* per class root: 0 unknown, 1 all sources zero so far, 2 a source is nonzero */
    uint8_t *state = calloc(ns, 1);
    bool *has_chosen = calloc(ns, sizeof(bool));
    NodeId *layer = malloc(sizeof(NodeId) * ns); /* a chosen source of the class */
    SLIMC_ASSERT(state && has_chosen && layer);
    for (int m = 0; m < G->n_members; m++) {
        const PruneMember *pm = &G->members[m];
        if (pm->role != PRUNE_SOURCE && pm->role != PRUNE_BLOCKED_SOURCE)
            continue;
        for (int64_t c = 0; c < G->count[pm->by]; c++) {
            int64_t r = pass_prune_group_of(G, pm->by, c);
            if (state[r] != 2)
                state[r] = slice_zero(g, pm->value, pm->axis, c) ? 1 : 2;
            if (chosen[pm->node] && !has_chosen[r]) {
                has_chosen[r] = true;
                layer[r] = pm->node;
            }
        }
    }
    bool *removed = calloc(ns, sizeof(bool)); /* per root */
    SLIMC_ASSERT(removed);
    /* warnings: one per (blocking node, layer), with its count of channels */
    struct Kept {
        NodeId by, layer;
        int64_t count;
    } *kept_list = NULL;
    int n_kept = 0;
    for (int64_t r = 0; r < G->n_slots; r++) {
        if (find(G, r) != r || state[r] != 1 || !has_chosen[r])
            continue;
        if (G->blocked_by[r] == IR_NONE) {
            removed[r] = true;
            continue;
        }
        int k = 0;
        while (k < n_kept &&
               !(kept_list[k].by == G->blocked_by[r] && kept_list[k].layer == layer[r]))
            k++;
        if (k == n_kept) {
            kept_list = realloc(kept_list, sizeof(*kept_list) * (size_t)(n_kept + 1));
            SLIMC_ASSERT(kept_list);
            kept_list[n_kept++] = (struct Kept){G->blocked_by[r], layer[r], 0};
        }
        kept_list[k].count++;
    }
    for (int k = 0; k < n_kept; k++)
        warn_blocked(g, kept_list[k].by, kept_list[k].layer, kept_list[k].count, d);
    free(kept_list);
    /* every value keeps at least one channel */
    bool ok = true;
    for (ValueId v = 0; v < g->n_values; v++) {
        if (!slotted(G, v))
            continue;
        int64_t gone = 0;
        for (int64_t c = 0; c < G->count[v]; c++)
            gone += removed[pass_prune_group_of(G, v, c)];
        if (gone == G->count[v]) {
            NodeId p = g->values[v].producer;
            ir_diag_error(d, p != IR_NONE ? g->nodes[p].loc : g->values[v].loc,
                          "prune: every one of the %lld channels of '%s' is zero in the layers "
                          "that make it: removing them would leave none; keep at least one",
                          (long long)G->count[v],
                          p != IR_NONE ? node_name(g, p)
                                       : (g->values[v].name ? g->values[v].name : "?"));
            ok = false;
        }
    }
    if (ok) {
        int64_t n_removed = 0;
        for (int64_t r = 0; r < G->n_slots; r++)
            n_removed += removed[r];
        if (out)
            *out = (PruneRemoved){.channels = n_removed};
        bool *keep = malloc(ns);
        SLIMC_ASSERT(keep);
        for (int m = 0; m < G->n_members && n_removed; m++) {
            const PruneMember *pm = &G->members[m];
            if (pm->role == PRUNE_BLOCKED_SOURCE)
                continue; /* its class is blocked */
            int64_t kept = 0;
            for (int64_t c = 0; c < G->count[pm->by]; c++)
                kept += keep[c] = !removed[pass_prune_group_of(G, pm->by, c)];
            SLIMC_ASSERT(g->values[pm->value].type.shape.d[pm->axis].c == G->count[pm->by]);
            if (kept < G->count[pm->by])
                slice_const(g, pm->value, pm->axis, keep, kept);
        }
        free(keep);
        /* attributes that carry a channel count: a depthwise conv's groups, a reshape's
         * feature count */
        for (NodeId i = 0; i < g->n_nodes && n_removed; i++) {
            Node *n = &g->nodes[i];
            if (n->dead || n->n_inputs < 1 || !slotted(G, n->inputs[0]))
                continue;
            ValueId x = n->inputs[0];
            int64_t kept = 0;
            for (int64_t c = 0; c < G->count[x]; c++)
                kept += !removed[pass_prune_group_of(G, x, c)];
            if (n->op == IR_OP_CONV2D && ir_attr_groups(n) != 1 && kept != G->count[x])
                ir_node_set_int(g, i, "groups", kept);
            if (n->op == IR_OP_RESHAPE && kept != G->count[x]) {
                int64_t shape[IR_MAX_RANK];
                int k = ir_attr_shape(n, shape, IR_MAX_RANK);
                if (k == 2 && shape[1] > 0 && g->values[x].type.shape.rank == 4) {
                    shape[1] = kept * dim_of(g, x, 2) * dim_of(g, x, 3);
                    ir_node_set_ints(g, i, "shape", shape, k);
                }
            }
        }
        if (n_removed)
            ok = ir_infer_shapes(g, d);
    }
    free(state);
    free(has_chosen);
    free(layer);
    free(removed);
    return ok;
}
