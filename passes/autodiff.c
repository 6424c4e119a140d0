/* Reverse-mode differentiation: the training-step graph of passes/autodiff.h.
 *
 * The step graph is a copy of the forward graph in which the parameters (float constants
 * in a parameter slot of a node on the loss's path: pass_ad_param_slot) become inputs, with the
 * loss node after the model's first output and, after that, the backward nodes: the
 * forward nodes are walked last to first, and each node whose output has a gradient and
 * depends on a parameter runs its op's rule (passes/autodiff_rules.c), which appends the
 * nodes computing its inputs' gradients. A value used twice sums its gradients with add
 * nodes, in the order the walk meets the uses. Only values that depend on a parameter get
 * a gradient: the input image's is never computed. Before anything is built, every node on
 * the loss's path that would need a rule and has none is listed in one error. batch_norm
 * becomes batch_norm_train (batch statistics, as PyTorch's train mode). */
#include "passes/autodiff.h"
#include "passes/autodiff_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void pass_autodiff_spec_default(TrainSpec *s)
{
    memset(s, 0, sizeof *s);
    s->loss = TRAIN_LOSS_CROSS_ENTROPY;
    s->temperature = 1.0;
    s->alpha = 0.5;
    s->ignore_index = -100;
}

/* ---- helpers for the rules ---- */

bool pass_ad_needs(const AdCtx *c, ValueId v)
{
    return v != IR_NONE && v < c->n_fwd && c->needs[v];
}

void pass_ad_accum(AdCtx *c, ValueId v, ValueId gv)
{
    if (gv == IR_NONE || !pass_ad_needs(c, v))
        return;
    c->grad[v] = c->grad[v] == IR_NONE ? gv : pass_ad_op2(c, IR_OP_ADD, c->grad[v], gv);
}

NodeId pass_ad_node(AdCtx *c, OpKind op, const ValueId *in, int n_in)
{
    const Node *f = &c->g->nodes[c->node];
    const char *name =
        ir_arena_printf(c->g->arena, "%s.grad%d", f->name ? f->name : "node", c->made++);
    return ir_node_new(c->g, op, name, f->loc, in, n_in, 1);
}

ValueId pass_ad_done(AdCtx *c, NodeId t)
{
    if (!c->ok)
        return IR_NONE;
    if (!ir_infer_node(c->g, t, c->d)) {
        c->ok = false;
        return IR_NONE;
    }
    return c->g->nodes[t].outputs[0];
}

ValueId pass_ad_op(AdCtx *c, OpKind op, const ValueId *in, int n_in)
{
    for (int i = 0; i < n_in; i++)
        if (in[i] == IR_NONE)
            c->ok = false; /* after an error: build on, nothing is kept */
    return pass_ad_done(c, pass_ad_node(c, op, in, n_in));
}

ValueId pass_ad_op1(AdCtx *c, OpKind op, ValueId a)
{
    return pass_ad_op(c, op, &a, 1);
}

ValueId pass_ad_op2(AdCtx *c, OpKind op, ValueId a, ValueId b)
{
    ValueId in[2] = {a, b};
    return pass_ad_op(c, op, in, 2);
}

ValueId pass_ad_scalar(AdCtx *c, float v)
{
    float *data = ir_arena_alloc(c->g->arena, sizeof(float));
    *data = v;
    Type t = {0};
    t.dtype = IR_F32;
    t.shape.rank = 1;
    t.shape.d[0] = ir_dim(1);
    const Node *f = &c->g->nodes[c->node];
    const char *name =
        ir_arena_printf(c->g->arena, "%s.grad%d", f->name ? f->name : "node", c->made++);
    return ir_const_new(c->g, name, t, data, sizeof(float), f->loc);
}

void pass_ad_unsupported(AdCtx *c, const char *what)
{
    const Node *f = &c->g->nodes[c->node];
    ir_diag_error(c->d, f->loc, "%s '%s': no gradient for %s", ir_ops[f->op].name,
                  f->name ? f->name : "?", what);
    c->ok = false;
}

static bool same_shape(const Shape *a, const Shape *b)
{
    if (a->rank != b->rank)
        return false;
    for (int i = 0; i < a->rank; i++)
        if (!ir_dim_eq(a->d[i], b->d[i]))
            return false;
    return true;
}

bool pass_ad_reshape_sizes(const Shape *s, int64_t *out)
{
    bool inferred = false;
    for (int i = 0; i < s->rank; i++) {
        Dim d = s->d[i];
        if (d.syms == 0)
            out[i] = d.c;
        else if (d.c == 1 && (d.syms & (d.syms - 1)) == 0)
            out[i] = -(1000 + __builtin_ctz(d.syms));
        else if (!inferred)
            out[i] = -1, inferred = true;
        else
            return false;
    }
    return true;
}

ValueId pass_ad_reshape_to(AdCtx *c, ValueId gv, ValueId target)
{
    if (gv == IR_NONE)
        return IR_NONE;
    Shape ts = c->g->values[target].type.shape;
    if (same_shape(&c->g->values[gv].type.shape, &ts))
        return gv;
    int64_t enc[IR_MAX_RANK];
    if (!pass_ad_reshape_sizes(&ts, enc)) {
        pass_ad_unsupported(c, "a shape with more than one compound symbolic dim");
        return IR_NONE;
    }
    NodeId t = pass_ad_node(c, IR_OP_RESHAPE, &gv, 1);
    ir_node_set_ints(c->g, t, "shape", enc, ts.rank);
    return pass_ad_done(c, t);
}

ValueId pass_ad_sum_to(AdCtx *c, ValueId gv, ValueId target)
{
    if (gv == IR_NONE)
        return IR_NONE;
    Shape gs = c->g->values[gv].type.shape, ts = c->g->values[target].type.shape;
    if (same_shape(&gs, &ts))
        return gv;
    int lead = gs.rank - ts.rank;
    int64_t axes[IR_MAX_RANK];
    int n = 0;
    for (int i = 0; i < gs.rank; i++)
        if (i < lead || (ir_dim_eq(ts.d[i - lead], ir_dim(1)) && !ir_dim_eq(gs.d[i], ir_dim(1))))
            axes[n++] = i;
    ValueId r = gv;
    if (n) {
        NodeId t = pass_ad_node(c, IR_OP_REDUCE_SUM, &gv, 1);
        ir_node_set_ints(c->g, t, "axes", axes, n);
        ir_node_set_int(c->g, t, "keepdim", 1);
        r = pass_ad_done(c, t);
    }
    return pass_ad_reshape_to(c, r, target);
}

/* ---- the step graph ---- */

typedef struct Walk {
    bool *reach;    /* [n_values] the value reaches the model's first output */
    bool *needs;    /* [n_values] it depends on a parameter */
    bool *is_param; /* [n_values] */
    ValueId *params;
    int n_params;
} Walk;

/* Marks reach, the parameters (in the order nodes first read them) and needs. */
static void walk_forward(const Graph *g, ValueId y, Walk *w)
{
    w->reach[y] = true;
    for (int i = g->n_nodes - 1; i >= 0; i--) {
        const Node *n = &g->nodes[i];
        if (n->dead || !w->reach[n->outputs[0]])
            continue;
        for (int j = 0; j < n->n_inputs; j++)
            if (n->inputs[j] != IR_NONE)
                w->reach[n->inputs[j]] = true;
    }
    for (int i = 0; i < g->n_nodes; i++) {
        const Node *n = &g->nodes[i];
        if (n->dead || !w->reach[n->outputs[0]])
            continue;
        for (int j = 0; j < n->n_inputs; j++) {
            ValueId v = n->inputs[j];
            if (v == IR_NONE || !pass_ad_param_slot(n->op, j) || w->is_param[v])
                continue;
            const Value *val = &g->values[v];
            if (val->kind == IR_VALUE_CONST && val->type.dtype == IR_F32 && !val->type.quant) {
                w->is_param[v] = true;
                w->params[w->n_params++] = v;
            }
        }
    }
    for (int v = 0; v < g->n_values; v++)
        w->needs[v] = w->is_param[v];
    for (int i = 0; i < g->n_nodes; i++) {
        const Node *n = &g->nodes[i];
        /* an integer or bool result (a comparison, an index) carries no gradient */
        if (n->dead || g->values[n->outputs[0]].type.dtype != IR_F32)
            continue;
        for (int j = 0; j < n->n_inputs; j++)
            if (n->inputs[j] != IR_NONE && w->needs[n->inputs[j]])
                w->needs[n->outputs[0]] = true;
    }
}

/* Training mode: each batch_norm becomes batch_norm_train(x, weight, bias), normalizing
 * with the batch's statistics as PyTorch does in train(); its running statistics are left
 * unread (the step does not update them). In place: the node keeps its output. */
static bool batch_norm_to_train(Graph *g, TrainGraph *out, Diag *d)
{
    for (int i = 0; i < g->n_nodes; i++) {
        Node *n = &g->nodes[i];
        if (n->dead || n->op != IR_OP_BATCH_NORM)
            continue;
        ValueId *in = ir_arena_alloc(g->arena, sizeof(ValueId) * 3);
        in[0] = n->inputs[0], in[1] = n->inputs[3], in[2] = n->inputs[4];
        out->bn_running = realloc(out->bn_running, sizeof(ValueId) * 2 * (size_t)(out->n_bn + 1));
        SLIMC_ASSERT(out->bn_running);
        out->bn_running[2 * out->n_bn] = n->inputs[1];
        out->bn_running[2 * out->n_bn + 1] = n->inputs[2];
        out->bn_momentum = realloc(out->bn_momentum, sizeof(double) * (size_t)(out->n_bn + 1));
        SLIMC_ASSERT(out->bn_momentum);
        out->bn_momentum[out->n_bn] = ir_attr_momentum(n);
        out->n_bn++;
        n->op = IR_OP_BATCH_NORM_TRAIN;
        n->inputs = in;
        n->n_inputs = 3;
        if (!ir_infer_node(g, i, d))
            return false;
    }
    return true;
}

/* Training mode for dropout: each dropout node becomes mul(x, mask), the mask a new input
 * of x's type that the loop draws for each step (its gradient is then dy times the same
 * mask: the mul's rule). */
static bool dropout_to_mask(Graph *g, TrainGraph *out, Diag *d)
{
    out->first_mask_input = g->n_inputs;
    for (int i = 0; i < g->n_nodes; i++) {
        if (g->nodes[i].dead || g->nodes[i].op != IR_OP_DROPOUT)
            continue;
        double ratio = ir_attr_ratio(&g->nodes[i]);
        const char *name = ir_arena_printf(g->arena, "%s.mask", g->nodes[i].name);
        for (int k = 0; k < g->n_inputs; k++)
            if (strcmp(g->values[g->inputs[k]].name, name) == 0) {
                ir_diag_error(d, g->nodes[i].loc,
                              "model '%s' has an input named '%s', which the training step adds",
                              g->name, name);
                return false;
            }
        ValueId x = g->nodes[i].inputs[0];
        ValueId mask = ir_input_new(g, name, g->values[x].type, g->nodes[i].loc);
        Node *n = &g->nodes[i]; /* after ir_input_new, which may move nothing but values */
        ValueId *in = ir_arena_alloc(g->arena, sizeof(ValueId) * 2);
        in[0] = x, in[1] = mask;
        n->op = IR_OP_MUL;
        n->inputs = in;
        n->n_inputs = 2;
        n->n_attrs = 0;
        n->attrs = NULL;
        out->dropout_ratio =
            realloc(out->dropout_ratio, sizeof(double) * (size_t)(out->n_dropout + 1));
        SLIMC_ASSERT(out->dropout_ratio);
        out->dropout_ratio[out->n_dropout++] = ratio;
        if (!ir_infer_node(g, i, d))
            return false;
    }
    return true;
}

/* After the gradients: each batch_norm_train's batch mean and biased variance over N and
 * the spatial dims (in the order batch_norm_to_train met them). */
static void add_bn_stats(AdCtx *c, TrainGraph *out)
{
    Graph *g = c->g;
    out->first_bn_output = g->n_outputs;
    out->bn_count = calloc((size_t)out->n_bn + 1, sizeof(int64_t));
    SLIMC_ASSERT(out->bn_count);
    int k = 0;
    for (int i = 0; i < c->n_fwd_nodes && c->ok; i++) {
        if (g->nodes[i].dead || g->nodes[i].op != IR_OP_BATCH_NORM_TRAIN)
            continue;
        ValueId x = g->nodes[i].inputs[0];
        const Shape xs = g->values[x].type.shape;
        int64_t axes[IR_MAX_RANK], count = 1;
        int na = 0;
        axes[na++] = 0;
        for (int a = 2; a < xs.rank; a++) {
            axes[na++] = a;
            count *= xs.d[a].c; /* static: batch_norm_train's shape function */
        }
        out->bn_count[k] = count;
        c->node = i;
        c->made = 100; /* names apart from the rule's */
        ValueId st[2];
        NodeId t = pass_ad_node(c, IR_OP_REDUCE_MEAN, &x, 1);
        ir_node_set_ints(g, t, "axes", axes, na);
        ir_node_set_int(g, t, "keepdim", 1);
        ValueId mk = pass_ad_done(c, t);
        ValueId xc = pass_ad_op2(c, IR_OP_SUB, x, mk);
        ValueId sq = pass_ad_op2(c, IR_OP_MUL, xc, xc);
        for (int s = 0; s < 2; s++) {
            ValueId src = s ? sq : x;
            t = pass_ad_node(c, IR_OP_REDUCE_MEAN, &src, 1);
            ir_node_set_ints(g, t, "axes", axes, na);
            st[s] = pass_ad_done(c, t);
        }
        for (int s = 0; s < 2 && c->ok; s++) {
            const char *name =
                ir_arena_printf(g->arena, "%s.batch", g->values[out->bn_running[2 * k + s]].name);
            ir_output_add(g, st[s]);
            ir_output_set_name(g, g->n_outputs - 1, name);
            g->values[st[s]].name = name;
        }
        k++;
    }
}

/* One error listing every node on the loss's path that needs a gradient rule its op has
 * not; false if there is any. */
static bool check_rules(const Graph *g, const Walk *w, Diag *d)
{
    char list[2048];
    size_t len = 0;
    int missing = 0;
    SrcLoc first = {g->source, 0, 0};
    for (int i = 0; i < g->n_nodes; i++) {
        const Node *n = &g->nodes[i];
        if (n->dead || !w->reach[n->outputs[0]] || !w->needs[n->outputs[0]] ||
            pass_ad_rule_for(n->op))
            continue;
        if (missing++ == 0)
            first = n->loc;
        if (len < sizeof list - 200) {
            int k = n->loc.file && n->loc.line
                        ? snprintf(list + len, sizeof list - len, "%s%s '%.60s' (%.80s:%d:%d)",
                                   missing > 1 ? ", " : "", ir_ops[n->op].name,
                                   n->name ? n->name : "?", n->loc.file, n->loc.line, n->loc.col)
                        : snprintf(list + len, sizeof list - len, "%s%s '%.60s'",
                                   missing > 1 ? ", " : "", ir_ops[n->op].name,
                                   n->name ? n->name : "?");
            len += k > 0 ? (size_t)k : 0;
        } else if (len < sizeof list - 8) {
            len += (size_t)snprintf(list + len, sizeof list - len, ", ...");
            list[sizeof list - 1] = '\0';
        }
    }
    if (missing)
        ir_diag_error(
            d, first,
            "model '%s' cannot be trained: %d op%s on the loss's path ha%s no gradient: %s",
            g->name, missing, missing > 1 ? "s" : "", missing > 1 ? "ve" : "s", list);
    return missing == 0;
}

/* The loss node over the model's output y and its gradient node (y's gradient). */
static bool add_loss(Graph *g, const TrainSpec *spec, ValueId y, ValueId labels, ValueId target,
                     ValueId *loss, ValueId *dy, Diag *d)
{
    OpKind op, gop;
    ValueId in[3] = {y, IR_NONE, IR_NONE};
    int n_in = 2;
    switch (spec->loss) {
    case TRAIN_LOSS_CROSS_ENTROPY: op = IR_OP_CROSS_ENTROPY, gop = IR_OP_CROSS_ENTROPY_GRAD; break;
    case TRAIN_LOSS_NLL: op = IR_OP_NLL_LOSS, gop = IR_OP_NLL_LOSS_GRAD; break;
    case TRAIN_LOSS_MSE: op = IR_OP_MSE_LOSS, gop = IR_OP_MSE_LOSS_GRAD; break;
    case TRAIN_LOSS_DISTILL: op = IR_OP_DISTILL_LOSS, gop = IR_OP_DISTILL_LOSS_GRAD; break;
    default: SLIMC_ASSERT(0 && "bad loss kind"); return false;
    }
    if (spec->loss == TRAIN_LOSS_MSE)
        in[1] = target;
    else if (spec->loss == TRAIN_LOSS_DISTILL)
        in[1] = target, in[2] = labels, n_in = 3;
    else
        in[1] = labels;
    NodeId ids[2];
    for (int k = 0; k < 2; k++) {
        ids[k] =
            ir_node_new(g, k ? gop : op, k ? "loss.grad" : "loss", g->values[y].loc, in, n_in, 1);
        if (spec->loss != TRAIN_LOSS_MSE)
            ir_node_set_int(g, ids[k], "ignore_index", spec->ignore_index);
        if (spec->loss == TRAIN_LOSS_DISTILL) {
            ir_node_set_float(g, ids[k], "temperature", spec->temperature);
            ir_node_set_float(g, ids[k], "alpha", spec->alpha);
        }
        if (!ir_infer_node(g, ids[k], d))
            return false;
    }
    *loss = g->nodes[ids[0]].outputs[0];
    *dy = g->nodes[ids[1]].outputs[0];
    g->values[*loss].name = "loss";
    return true;
}

/* The model's first output as a loss takes it: f32, and [N, C] with a fixed C for the
 * losses over classes. */
static bool check_output(const Graph *g, const TrainSpec *spec, ValueId y, Diag *d)
{
    const Type *t = &g->values[y].type;
    bool classes = spec->loss != TRAIN_LOSS_MSE;
    if (t->dtype == IR_F32 && !t->quant &&
        (!classes || (t->shape.rank == 2 && ir_dim_static(t->shape.d[1]))))
        return true;
    char ts[160];
    ir_diag_error(d, g->values[y].loc,
                  "model '%s' cannot be trained with this loss: its output '%s' is %s, not %s",
                  g->name, g->values[y].name, ir_type_str(g, t, ts, sizeof ts),
                  classes ? "f32 [N, classes]" : "f32");
    return false;
}

static bool has_input(const Graph *g, const char *name)
{
    for (int i = 0; i < g->n_inputs; i++)
        if (strcmp(g->values[g->inputs[i]].name, name) == 0)
            return true;
    return false;
}

/* Adds the step graph's inputs: labels, target, then the parameters (made inputs in place:
 * the forward nodes keep reading the same values). */
static bool add_inputs(Graph *g, const TrainSpec *spec, ValueId y, const Walk *w, TrainGraph *out,
                       ValueId *labels, ValueId *target, Diag *d)
{
    SrcLoc at = {g->source, 0, 0};
    *labels = *target = IR_NONE;
    bool wants_labels = spec->loss != TRAIN_LOSS_MSE,
         wants_target = spec->loss == TRAIN_LOSS_MSE || spec->loss == TRAIN_LOSS_DISTILL;
    if ((wants_labels && has_input(g, "labels")) || (wants_target && has_input(g, "target"))) {
        ir_diag_error(d, at, "model '%s' has an input named '%s', which the training step adds",
                      g->name, wants_labels && has_input(g, "labels") ? "labels" : "target");
        return false;
    }
    if (wants_labels) {
        Type lt = {0};
        lt.dtype = IR_I64;
        lt.shape.rank = 1;
        lt.shape.d[0] = g->values[y].type.shape.d[0];
        out->labels_input = g->n_inputs;
        *labels = ir_input_new(g, "labels", lt, at);
    }
    if (wants_target) {
        out->target_input = g->n_inputs;
        *target = ir_input_new(g, "target", g->values[y].type, at);
    }
    out->first_param_input = g->n_inputs;
    g->inputs = ir_arena_grow(g->arena, g->inputs, sizeof(ValueId) * (size_t)g->n_inputs,
                              sizeof(ValueId) * (size_t)(g->n_inputs + w->n_params));
    for (int i = 0; i < w->n_params; i++) {
        Value *v = &g->values[w->params[i]];
        v->kind = IR_VALUE_INPUT;
        v->data = NULL;
        v->data_bytes = 0;
        v->sparsity = 0;
        g->inputs[g->n_inputs++] = w->params[i];
    }
    return true;
}

/* Runs every rule, last forward node first. */
static bool backward(AdCtx *c, int n_fwd_nodes, const Walk *w)
{
    for (int i = n_fwd_nodes - 1; i >= 0 && c->ok; i--) {
        Node n = c->g->nodes[i]; /* a copy: the rules append nodes, which may move the array */
        if (n.dead || !w->reach[n.outputs[0]] || !w->needs[n.outputs[0]])
            continue;
        ValueId dy = c->grad[n.outputs[0]];
        if (dy == IR_NONE)
            continue;
        AdRule rule = pass_ad_rule_for(n.op);
        SLIMC_ASSERT(rule); /* check_rules said so */
        c->node = i;
        c->made = 0;
        rule(c, &n, dy);
    }
    return c->ok;
}

/* The outputs: loss, then each parameter's gradient (zeros for one the loss does not
 * depend on through a differentiable path). */
static void set_outputs(AdCtx *c, ValueId loss, const Walk *w)
{
    Graph *g = c->g;
    for (int i = 0; i < g->n_outputs; i++)
        g->values[g->outputs[i]].is_output = false;
    g->n_outputs = 0;
    g->outputs = NULL;
    g->output_names = NULL;
    ir_output_add(g, loss);
    ir_output_set_name(g, 0, "loss");
    for (int i = 0; i < w->n_params; i++) {
        ValueId p = w->params[i], gv = c->grad[p];
        const char *name = ir_arena_printf(g->arena, "%s.grad", g->values[p].name);
        c->node = g->values[loss].producer;
        if (gv == IR_NONE) {
            const Type *pt = &g->values[p].type;
            int64_t count = 1;
            for (int k = 0; k < pt->shape.rank; k++)
                count *= pt->shape.d[k].c;
            void *zeros = ir_arena_alloc(g->arena, sizeof(float) * (size_t)(count + 1));
            memset(zeros, 0, sizeof(float) * (size_t)(count + 1));
            gv = ir_const_new(g, name, *pt, zeros, sizeof(float) * (size_t)count, g->values[p].loc);
        } else if (g->values[gv].is_output || g->values[gv].kind != IR_VALUE_TEMP) {
            gv = pass_ad_op2(c, IR_OP_MUL, gv, pass_ad_scalar(c, 1.0f)); /* an output of its own */
        }
        ir_output_add(g, gv);
        ir_output_set_name(g, g->n_outputs - 1, name);
        g->values[gv].name = name;
    }
}

bool pass_autodiff_train_graph(const Graph *fwd, const TrainSpec *spec, TrainGraph *out, Diag *d)
{
    memset(out, 0, sizeof *out);
    out->labels_input = out->target_input = -1;
    if (fwd->n_outputs < 1) {
        ir_diag_error(d, (SrcLoc){fwd->source, 0, 0}, "model '%s' has no output to train",
                      fwd->name);
        return false;
    }
    Graph *g = ir_graph_clone(fwd);
    g->compress = NULL;
    bool ok = dropout_to_mask(g, out, d); /* adds values: before the walk's arrays */
    int nv = g->n_values, nn = g->n_nodes;
    ValueId y = g->outputs[0];
    Walk w = {calloc((size_t)nv + 1, 1), calloc((size_t)nv + 1, 1), calloc((size_t)nv + 1, 1),
              calloc((size_t)nv + 1, sizeof(ValueId)), 0};
    ValueId *grad = malloc(sizeof(ValueId) * ((size_t)nv + 1));
    SLIMC_ASSERT(w.reach && w.needs && w.is_param && w.params && grad);
    for (int v = 0; v < nv; v++)
        grad[v] = IR_NONE;
    ok = ok && batch_norm_to_train(g, out, d);
    walk_forward(g, y, &w);
    ok = ok && check_output(g, spec, y, d) && check_rules(g, &w, d);
    if (ok && w.n_params == 0) {
        ir_diag_error(d, (SrcLoc){g->source, 0, 0},
                      "model '%s' has no parameters to train (no float weights of conv2d, "
                      "linear, norms or embeddings on its output's path)",
                      g->name);
        ok = false;
    }
    ValueId labels, target, loss = IR_NONE, dy = IR_NONE;
    ok = ok && add_inputs(g, spec, y, &w, out, &labels, &target, d) &&
         add_loss(g, spec, y, labels, target, &loss, &dy, d);
    AdCtx c = {
        .g = g, .n_fwd = nv, .n_fwd_nodes = nn, .grad = grad, .needs = w.needs, .ok = ok, .d = d};
    if (ok) {
        grad[y] = dy;
        ok = backward(&c, nn, &w);
    }
    if (ok) {
        set_outputs(&c, loss, &w);
        add_bn_stats(&c, out);
        ok = c.ok && ir_verify(g, d);
    }
    if (ok) {
        out->g = g;
        out->n_params = w.n_params;
        out->param_names = malloc(sizeof(char *) * ((size_t)w.n_params + 1));
        out->param_consts = malloc(sizeof(ValueId) * ((size_t)w.n_params + 1));
        SLIMC_ASSERT(out->param_names && out->param_consts);
        for (int i = 0; i < w.n_params; i++) {
            out->param_consts[i] = w.params[i];
            out->param_names[i] = fwd->values[w.params[i]].name;
        }
    } else {
        ir_graph_free(g);
        free(out->bn_running);
        free(out->bn_count);
        free(out->bn_momentum);
        free(out->dropout_ratio);
        memset(out, 0, sizeof *out);
        out->labels_input = out->target_input = -1;
    }
    free(w.reach);
    free(w.needs);
    free(w.is_param);
    free(w.params);
    free(grad);
    return ok;
}

void pass_autodiff_train_graph_free(TrainGraph *t)
{
    if (!t)
        return;
    ir_graph_free(t->g);
    free(t->param_names);
    free(t->param_consts);
    free(t->bn_running);
    free(t->bn_count);
    free(t->bn_momentum);
    free(t->dropout_ratio);
    memset(t, 0, sizeof *t);
    t->labels_input = t->target_input = -1;
}
