/* fold: constant folding and simplifications that are exact in IEEE arithmetic.
 *
 * A live node whose inputs (and epilogue operands) are all constants, whose output has a
 * static shape and at most max_mb MiB (default 64, and never over the graph's memory
 * limit, ir/limits.h), and whose output is not a graph output,
 * is evaluated with the reference semantics (ir_eval_node); its output becomes a constant
 * of the same name. Graph outputs stay computed by a node, because generated code writes
 * each output into the caller's buffer.
 *
 * Simplifications (each removes a node whose output is not a graph output, has no
 * epilogue, and whose result has the same type as the operand x it keeps):
 *   x * 1, 1 * x, x / 1        (exact: also for -0, inf and NaN)
 *   x + (-0), (-0) + x, x - (+0) (exact: x + -0 == x for every x, -0 included)
 * x + 0 is NOT removed: -0 + 0 is +0. x * 0 is not removed either (NaN, inf, sign).
 *   view of a view             flatten/reshape of a flatten/reshape reads the first
 *                              view's input directly (a reshape to the final shape)
 *   view to the same shape     a flatten/reshape whose output type is its input's
 *                              is removed
 *   conv2d taps on padding     kernel rows / columns that read only padding for every
 *                              output (a dilated 3x3 over a map no larger than its
 *                              dilation: DeepLab's ASPP at rates 24 and 36 on 14x14) are
 *                              dropped: the weight becomes its live rows and columns, the
 *                              padding shrinks by what they skipped (kept symmetric), a
 *                              single tap gets dilation 1. The dropped terms are w * 0 with
 *                              w finite, so only the sign of a zero sum can change. */
#include "ir/eval.h"
#include "passes/pass.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct Fold {
    Graph *g;
    size_t max_bytes;
    int folded, simplified;
    /* What a removed node's output is replaced by, applied to each node's inputs as the
     * sweep reaches it (one sweep over the graph per replacement made the pass quadratic).
     * Indexed by the values there were before the pass; graph outputs are never renamed. */
    ValueId *renamed;
    int n_renamed;
} Fold;

/* v's replacement (v itself when none). */
static ValueId renamed(const Fold *f, ValueId v)
{
    return v >= 0 && v < f->n_renamed ? f->renamed[v] : v;
}

static bool is_const(const Graph *g, ValueId v)
{
    return v == IR_NONE || g->values[v].kind == IR_VALUE_CONST;
}

/* Evaluates node id if everything it reads is constant; true if it was folded. */
static bool try_fold(Fold *f, NodeId id)
{
    Graph *g = f->g;
    const Node *n = &g->nodes[id];
    if (n->n_outputs != 1 || !(ir_ops[n->op].flags & IR_F_FOLDABLE))
        return false;
    for (int i = 0; i < n->n_inputs; i++)
        if (!is_const(g, n->inputs[i]) ||
            (n->inputs[i] != IR_NONE && !g->values[n->inputs[i]].data))
            return false;
    for (int j = 0; j < n->n_epilogue; j++)
        if (!is_const(g, n->epilogue[j].operand) ||
            (n->epilogue[j].operand != IR_NONE && !g->values[n->epilogue[j].operand].data))
            return false;
    ValueId out = n->outputs[0];
    const Value *ov = &g->values[out];
    if (ov->is_output || ov->type.shape.rank < 0 || !ir_shape_static(&ov->type.shape))
        return false;
    /* The size in double first: a result over max_mb or the graph's memory limit is left
     * for run time (where the limit is checked for the run), never allocated here. */
    double dbytes = (double)ir_dtype_bits(ov->type.dtype) / 8;
    for (int i = 0; i < ov->type.shape.rank; i++)
        dbytes *= (double)ov->type.shape.d[i].c;
    if (!(dbytes <= (double)f->max_bytes) || !(dbytes <= (double)g->max_memory))
        return false;
    int64_t numel = 1;
    for (int i = 0; i < ov->type.shape.rank; i++)
        numel *= ov->type.shape.d[i].c;
    size_t bytes = ir_dtype_bytes(ov->type.dtype, numel);
    if (bytes > f->max_bytes)
        return false;
    const void *in[8 + IR_MAX_EPILOGUE] = {0};
    SLIMC_ASSERT(n->n_inputs <= 8);
    for (int i = 0; i < n->n_inputs; i++)
        in[i] = n->inputs[i] == IR_NONE ? NULL : g->values[n->inputs[i]].data;
    for (int j = 0; j < n->n_epilogue; j++)
        in[n->n_inputs + j] =
            n->epilogue[j].operand == IR_NONE ? NULL : g->values[n->epilogue[j].operand].data;
    void *data = ir_arena_alloc(g->arena, bytes ? bytes : 1);
    void *outs[1] = {data};
    /* An op without a reference implementation for these dtypes stays as it is; a user
     * error in the data (an embedding index out of range) is left for run time too. */
    Diag quiet;
    ir_diag_init(&quiet);
    bool ok = ir_eval_node(g, n, in, outs, NULL, &quiet);
    ir_diag_fini(&quiet);
    if (!ok)
        return false;
    Type t = ov->type;
    ValueId c = ir_const_new(g, ov->name, t, data, bytes, ov->loc); /* g->values may move */
    f->renamed[out] = c;
    g->nodes[id].dead = true;
    f->folded++;
    return true;
}

/* True when constant v (f32) holds only the float whose bits equal want's. */
static bool const_all(const Graph *g, ValueId v, float want)
{
    const Value *val = &g->values[v];
    if (val->kind != IR_VALUE_CONST || !val->data || val->type.dtype != IR_F32 || val->type.quant)
        return false;
    size_t count = val->data_bytes / sizeof(float);
    const float *p = val->data;
    for (size_t i = 0; i < count; i++)
        if (memcmp(&p[i], &want, sizeof want) != 0)
            return false;
    return count > 0;
}

/* Replaces n's output by x (the node goes dead) when x has exactly the output's type. */
static bool forward(Fold *f, NodeId id, ValueId x)
{
    Graph *g = f->g;
    Node *n = &g->nodes[id];
    const Type *tx = &g->values[x].type, *to = &g->values[n->outputs[0]].type;
    if (tx->dtype != to->dtype || tx->quant != to->quant || !ir_shape_eq(&tx->shape, &to->shape))
        return false;
    f->renamed[n->outputs[0]] = x;
    n->dead = true;
    f->simplified++;
    return true;
}

/* The exact arithmetic identities listed at the top of the file. */
static bool try_identity(Fold *f, NodeId id)
{
    Graph *g = f->g;
    const Node *n = &g->nodes[id];
    ValueId a = n->inputs[0], b = n->n_inputs > 1 ? n->inputs[1] : IR_NONE;
    const float one = 1.0f, neg_zero = -0.0f, pos_zero = 0.0f;
    if (n->op == IR_OP_MUL)
        return (const_all(g, b, one) && forward(f, id, a)) ||
               (const_all(g, a, one) && forward(f, id, b));
    if (n->op == IR_OP_DIV)
        return const_all(g, b, one) && forward(f, id, a);
    if (n->op == IR_OP_ADD)
        return (const_all(g, b, neg_zero) && forward(f, id, a)) ||
               (const_all(g, a, neg_zero) && forward(f, id, b));
    if (n->op == IR_OP_SUB)
        return const_all(g, b, pos_zero) && forward(f, id, a);
    return false; /* the other ops have no identity here */
}

/* A reshape attribute entry for dim d: its size, or its symbol (-(1000 + i)); false when
 * d is a product that the attribute cannot spell (the caller may then use one -1). */
static bool reshape_entry(Dim d, int64_t *out)
{
    if (d.syms == 0) {
        *out = d.c;
        return true;
    }
    if (d.c == 1 && (d.syms & (d.syms - 1)) == 0) {
        int i = 0;
        while (!(d.syms & (1u << i)))
            i++;
        *out = -(1000 + i);
        return true;
    }
    return false;
}

static bool is_view(OpKind op)
{
    return op == IR_OP_FLATTEN || op == IR_OP_RESHAPE;
}

/* flatten/reshape of a flatten/reshape: read the inner view's input directly, as a reshape
 * to the outer view's (unchanged) output shape. */
static bool try_view_of_view(Fold *f, NodeId id)
{
    Graph *g = f->g;
    Node *n = &g->nodes[id];
    ValueId x = n->inputs[0];
    NodeId p = g->values[x].producer;
    if (p == IR_NONE || g->nodes[p].dead || !is_view(g->nodes[p].op) || g->nodes[p].n_epilogue)
        return false;
    const Shape *s = &g->values[n->outputs[0]].type.shape;
    int64_t shape[IR_MAX_RANK];
    int n_infer = 0;
    for (int i = 0; i < s->rank; i++)
        if (!reshape_entry(s->d[i], &shape[i])) {
            shape[i] = -1;
            n_infer++;
        }
    if (n_infer > 1)
        return false;
    n->op = IR_OP_RESHAPE;
    n->n_attrs = 0;
    n->attrs = NULL;
    n->inputs[0] = g->nodes[p].inputs[0];
    ir_node_set_ints(g, id, "shape", shape, s->rank);
    f->simplified++;
    return true;
}

/* The taps t of a kernel of k along one axis that read the input (0 <= o*s - p + t*dl < in)
 * for some output o < out: [*lo, *hi] (contiguous: each tap's window shifts by dl). */
static void live_taps(int64_t in, int64_t out, int64_t k, int64_t s, int64_t p, int64_t dl,
                      int64_t *lo, int64_t *hi)
{
    *lo = k;
    *hi = -1;
    for (int64_t t = 0; t < k; t++) {
        /* the window of tap t: [t*dl - p, (out - 1)*s + t*dl - p] */
        const int64_t first = t * dl - p, last = (out - 1) * s + t * dl - p;
        if (last >= 0 && first < in) {
            *lo = t < *lo ? t : *lo;
            *hi = t;
        }
    }
}

static bool try_conv_taps(Fold *f, NodeId id)
{
    Graph *g = f->g;
    const Node *n = &g->nodes[id];
    if (n->op != IR_OP_CONV2D || n->n_inputs > 3 || ir_attr_w_sparse(n))
        return false;
    const Value *xv = &g->values[n->inputs[0]], *wv = &g->values[n->inputs[1]],
                *yv = &g->values[n->outputs[0]];
    if (wv->kind != IR_VALUE_CONST || !wv->data || wv->type.dtype != IR_F32 || wv->type.quant ||
        wv->type.shape.rank != 4 || !ir_shape_static(&wv->type.shape) || xv->type.shape.rank != 4 ||
        yv->type.shape.rank != 4)
        return false;
    const Shape *xs = &xv->type.shape, *ws = &wv->type.shape, *ys = &yv->type.shape;
    if (!ir_dim_static(xs->d[2]) || !ir_dim_static(xs->d[3]) || !ir_dim_static(ys->d[2]) ||
        !ir_dim_static(ys->d[3]))
        return false;
    int64_t st[2], pad[2], dil[2], lo[2], hi[2];
    ir_attr_stride(n, st, 2);
    ir_attr_padding(n, pad, 2);
    ir_attr_dilation(n, dil, 2);
    const int64_t k[2] = {ws->d[2].c, ws->d[3].c};
    int64_t npad[2], ndil[2];
    bool trims = false;
    for (int a = 0; a < 2; a++) {
        live_taps(xs->d[2 + a].c, ys->d[2 + a].c, k[a], st[a], pad[a], dil[a], &lo[a], &hi[a]);
        if (hi[a] < lo[a])
            return false; /* every tap on padding: a zero conv, left alone */
        /* padding left of the first live tap, right of the last: kept symmetric */
        npad[a] = pad[a] - lo[a] * dil[a];
        if (npad[a] != pad[a] - (k[a] - 1 - hi[a]) * dil[a] || npad[a] < 0)
            return false;
        ndil[a] = lo[a] == hi[a] ? 1 : dil[a];
        trims = trims || lo[a] > 0 || hi[a] < k[a] - 1;
    }
    if (!trims)
        return false;
    const int64_t O = ws->d[0].c, C = ws->d[1].c, kh = hi[0] - lo[0] + 1, kw = hi[1] - lo[1] + 1;
    const float *w = wv->data;
    for (int64_t i = 0; i < O * C * k[0] * k[1]; i++) {
        const int64_t r = i / k[1] % k[0], c = i % k[1];
        if ((r < lo[0] || r > hi[0] || c < lo[1] || c > hi[1]) && !isfinite(w[i]))
            return false; /* inf * 0 is NaN: the dropped term mattered */
    }
    float *nw = ir_arena_alloc(g->arena, sizeof(float) * (size_t)(O * C * kh * kw));
    for (int64_t oc = 0; oc < O * C; oc++)
        for (int64_t r = 0; r < kh; r++)
            memcpy(nw + (oc * kh + r) * kw, w + (oc * k[0] + lo[0] + r) * k[1] + lo[1],
                   sizeof(float) * (size_t)kw);
    Type t = wv->type;
    t.shape.d[2] = ir_dim(kh);
    t.shape.d[3] = ir_dim(kw);
    const ValueId nv =
        ir_const_new(g, ir_arena_printf(g->arena, "%s.taps", wv->name ? wv->name : "w"), t, nw,
                     sizeof(float) * (size_t)(O * C * kh * kw), n->loc);
    g->nodes[id].inputs[1] = nv;
    ir_node_set_ints(g, id, "padding", npad, 2);
    ir_node_set_ints(g, id, "dilation", ndil, 2);
    f->simplified++;
    return true;
}

static bool try_simplify(Fold *f, NodeId id)
{
    Graph *g = f->g;
    const Node *n = &g->nodes[id];
    if (n->n_epilogue || n->n_outputs != 1 || g->values[n->outputs[0]].is_output ||
        g->values[n->outputs[0]].type.shape.rank < 0)
        return false;
    if (n->op == IR_OP_DROPOUT) /* the identity outside training */
        return forward(f, id, n->inputs[0]);
    if (is_view(n->op))
        return forward(f, id, n->inputs[0]) || try_view_of_view(f, id);
    return try_identity(f, id);
}

bool pass_fold(Graph *g, const PassArgs *args, Diag *d)
{
    if (!pass_args_check(args, "max_mb", d))
        return false;
    Fold f = {.g = g, .max_bytes = (size_t)64 << 20};
    const PassArg *mb = pass_arg(args, "max_mb");
    if (mb) {
        if (mb->kind != PASS_ARG_NUMBER || !(mb->number >= 0) || mb->number > 1e6) {
            ir_diag_error(d, args->loc, "fold: max_mb must be a number of MiB between 0 and 1e6");
            return false;
        }
        f.max_bytes = (size_t)(mb->number * 1048576.0);
    }
    f.n_renamed = g->n_values;
    f.renamed = malloc(sizeof(ValueId) * ((size_t)g->n_values + 1));
    SLIMC_ASSERT(f.renamed);
    for (ValueId v = 0; v < g->n_values; v++)
        f.renamed[v] = v;
    /* One sweep in order: a folded output is a constant by the time its users are seen. */
    for (NodeId i = 0; i < g->n_nodes; i++) {
        Node *n = &g->nodes[i];
        if (n->dead)
            continue;
        for (int j = 0; j < n->n_inputs; j++)
            n->inputs[j] = renamed(&f, n->inputs[j]);
        for (int j = 0; j < n->n_epilogue; j++)
            n->epilogue[j].operand = renamed(&f, n->epilogue[j].operand);
        if (!try_fold(&f, i) && !try_conv_taps(&f, i))
            try_simplify(&f, i);
    }
    free(f.renamed);
    ir_compact(g);
    return true;
}
