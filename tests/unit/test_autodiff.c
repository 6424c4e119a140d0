/* Reverse-mode differentiation (passes/autodiff.c, the rules of passes/autodiff_rules.c and
 * the training ops of ir/ops.def): for every op with a rule, the step graph's parameter
 * gradients, run by the reference evaluator, against central finite differences of the
 * step graph's own loss output. The reference evaluator computes conv2d, linear, pools and
 * norms in f32 only, so the losses are f32 and the differences are taken in double from
 * them with a step h = 3e-3 (truncation error O(h^2) ~ 1e-5, rounding ~ 3e-5 |L|): a
 * gradient passes at 1e-2 relative (norm-wise over up to 16 sampled entries per parameter),
 * which a wrong rule (a missing term, a transposed operand, a wrong scale) exceeds by far.
 * Also: the rule table agrees with ops.def's IR_F_DIFF column, and a model with ops
 * without gradients on the loss's path gets one error listing every one. */
#include "ir/eval.h"
#include "ir/graph.h"
#include "passes/autodiff.h"
#include "passes/autodiff_internal.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { BATCH = 3 };

static uint64_t rng_state = 18;

/* Uniform in [-1, 1). */
static float urand(void)
{
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (float)((double)(rng_state >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

static Shape shp(int rank, const int64_t *d)
{
    Shape s = {rank, {{0}}};
    for (int i = 0; i < rank; i++)
        s.d[i] = ir_dim(d[i]);
    return s;
}

static int64_t numel(const Shape *s)
{
    int64_t n = 1;
    for (int i = 0; i < s->rank; i++)
        n *= s->d[i].c;
    return n;
}

/* A parameter constant of random values scaled by scale. */
static ValueId param(Graph *g, const char *name, int rank, const int64_t *d, float scale)
{
    Shape s = shp(rank, d);
    int64_t n = numel(&s);
    float *data = ir_arena_alloc(g->arena, sizeof(float) * (size_t)n);
    for (int64_t i = 0; i < n; i++)
        data[i] = urand() * scale;
    return ir_const_new(g, name, (Type){IR_F32, s, NULL}, data, sizeof(float) * (size_t)n,
                        (SrcLoc){0});
}

/* A constant f32 [1] of value v (not a parameter: no parameter slot reads it). */
static ValueId scalar(Graph *g, float v)
{
    float *data = ir_arena_alloc(g->arena, sizeof(float));
    *data = v;
    Shape s = {1, {ir_dim(1)}};
    return ir_const_new(g, "k", (Type){IR_F32, s, NULL}, data, sizeof(float), (SrcLoc){0});
}

static ValueId out_of(Graph *g, NodeId n)
{
    return g->nodes[n].outputs[0];
}

static NodeId mk(Graph *g, OpKind op, ValueId a, ValueId b, ValueId c)
{
    ValueId in[3] = {a, b, c};
    int n = c != IR_NONE ? 3 : b != IR_NONE ? 2 : 1;
    return ir_node_new(g, op, ir_ops[op].name, (SrcLoc){0}, in, n, 1);
}

static ValueId op1(Graph *g, OpKind op, ValueId a)
{
    return out_of(g, mk(g, op, a, IR_NONE, IR_NONE));
}

static ValueId op2(Graph *g, OpKind op, ValueId a, ValueId b)
{
    return out_of(g, mk(g, op, a, b, IR_NONE));
}

static int lin_count;

/* linear(x, w [o, k], b [o]) with fresh parameters. */
static ValueId lin(Graph *g, ValueId x, int64_t k, int64_t o)
{
    char wn[32], bn[32];
    snprintf(wn, sizeof wn, "fc%d.weight", lin_count);
    snprintf(bn, sizeof bn, "fc%d.bias", lin_count++);
    int64_t wd[2] = {o, k};
    return out_of(g, mk(g, IR_OP_LINEAR, x, param(g, wn, 2, wd, 0.6f), param(g, bn, 1, &o, 0.3f)));
}

static Graph *new_graph(ValueId *x, int rank, const int64_t *d)
{
    Graph *g = ir_graph_new("t");
    g->source = "t.slim";
    lin_count = 0;
    *x = ir_input_new(g, "x", (Type){IR_F32, shp(rank, d), NULL}, (SrcLoc){0});
    return g;
}

/* Runs the step graph on x, labels, target and the parameters p; *loss, and grads (each
 * malloc'd) when not NULL. */
static void run_step(const TrainGraph *t, const void *x, const int64_t *labels, const float *target,
                     float **p, double *loss, float **grads)
{
    const Graph *g = t->g;
    const void *in[64] = {0};
    int k = 0;
    in[k++] = x;
    if (t->labels_input >= 0)
        in[k++] = labels;
    if (t->target_input >= 0)
        in[k++] = target;
    for (int i = 0; i < t->n_params; i++)
        in[k++] = p[i];
    ck_assert_int_eq(k, g->n_inputs);
    void *outs[64] = {0};
    int64_t syms[IR_MAX_SYMS] = {0};
    Diag d;
    ir_diag_init(&d);
    ck_assert_msg(ir_eval_graph(g, in, outs, syms, &d), "%s", ir_diag_text(&d));
    ir_diag_fini(&d);
    *loss = (double)*(float *)outs[0];
    for (int i = 0; i < g->n_outputs; i++) { /* loss, gradients, batch norms' statistics */
        if (i > 0 && i <= t->n_params && grads)
            grads[i - 1] = outs[i];
        else
            free(outs[i]);
    }
}

/* The check: out the model's output; the loss given by spec (labels with an ignored one,
 * a random target); every parameter's gradient against central differences. */
static const char *case_name = ""; /* for the messages */

static void check_grads(Graph *g, ValueId xv, ValueId out, const TrainSpec *spec)
{
    ir_output_add(g, out);
    Diag d;
    ir_diag_init(&d);
    ck_assert_msg(ir_infer_shapes(g, &d), "%s", ir_diag_text(&d));
    TrainGraph t;
    ck_assert_msg(pass_autodiff_train_graph(g, spec, &t, &d), "%s", ir_diag_text(&d));
    ck_assert_int_gt(t.n_params, 0);
    const Type *xt = &g->values[xv].type, *ot = &g->values[out].type;
    int64_t nx = numel(&xt->shape), no = numel(&ot->shape);
    void *x = malloc(sizeof(int64_t) * (size_t)nx);
    for (int64_t i = 0; i < nx; i++) {
        if (xt->dtype == IR_I64)
            ((int64_t *)x)[i] = (int64_t)((urand() + 1.0f) * 2.5f); /* 0..4, repeated */
        else
            ((float *)x)[i] = urand();
    }
    int64_t labels[BATCH];
    int64_t classes = ot->shape.d[ot->shape.rank - 1].c;
    for (int i = 0; i < BATCH; i++)
        labels[i] = (int64_t)((urand() + 1.0f) * 0.5f * (float)classes) % classes;
    labels[1] = spec->ignore_index; /* one unlabeled sample */
    float *target = malloc(sizeof(float) * (size_t)no);
    for (int64_t i = 0; i < no; i++)
        target[i] = urand() * 2.0f;
    float *p[32], *grads[32];
    for (int i = 0; i < t.n_params; i++) {
        const Value *v = &g->values[t.param_consts[i]];
        p[i] = malloc(v->data_bytes);
        memcpy(p[i], v->data, v->data_bytes);
    }
    double loss;
    run_step(&t, x, labels, target, p, &loss, grads);
    ck_assert_msg(isfinite(loss), "loss %g", loss);
    const double h = 3e-3;
    for (int i = 0; i < t.n_params; i++) {
        int64_t n = numel(&g->values[t.param_consts[i]].type.shape);
        double err = 0, norm = 0;
        for (int s = 0; s < 16 && s < n; s++) {
            int64_t at = n <= 16 ? s : (int64_t)((urand() + 1.0f) * 0.5f * (float)n) % n;
            float keep = p[i][at];
            double lp, lm;
            p[i][at] = (float)(keep + h);
            run_step(&t, x, labels, target, p, &lp, NULL);
            p[i][at] = (float)(keep - h);
            run_step(&t, x, labels, target, p, &lm, NULL);
            p[i][at] = keep;
            /* Near a kink (relu, a pool's argmax switching, hardswish at +-3) inside
             * [-h, h] the analytic gradient is one side's: it is compared with the central
             * difference and with both one-sided ones, and the closest counts. */
            double fd = (lp - lm) / (2 * h), an = (double)grads[i][at];
            double fwd = (lp - loss) / h, bwd = (loss - lm) / h;
            double e = fmin(fabs(fd - an), fmin(fabs(fwd - an), fabs(bwd - an)));
            err += e * e;
            norm += fd * fd;
        }
        ck_assert_msg(sqrt(err) <= 1e-2 * sqrt(norm) + 1e-4, "%s: %s: gradient off by %g (norm %g)",
                      case_name, t.param_names[i], sqrt(err), sqrt(norm));
    }
    for (int i = 0; i < t.n_params; i++) {
        free(grads[i]);
        free(p[i]);
    }
    free(x);
    free(target);
    pass_autodiff_train_graph_free(&t);
    ir_diag_fini(&d);
    ir_graph_free(g);
}

static TrainSpec ce(void)
{
    TrainSpec s;
    pass_autodiff_spec_default(&s);
    return s;
}

/* ---- convolution and pooling ---- */

/* x [3, 4, 7, 7] -> 1x1 conv2d -> conv2d (groups, stride, padding, dilation, bias) -> relu -> pool
 * -> flatten -> linear -> cross entropy. pool: 0 none, 1 max, 2 avg, 3 avg without the pad count
 * and ceil_mode, 4 adaptive to 2 x 3, 5 max with dilation and ceil_mode. */
static void conv_case(int64_t groups, int64_t stride, int64_t pad, int64_t dil, bool bias, int pool)
{
    static char name[64];
    snprintf(name, sizeof name, "conv g%lld s%lld p%lld d%lld pool %d", (long long)groups,
             (long long)stride, (long long)pad, (long long)dil, pool);
    case_name = name;
    ValueId x;
    int64_t xd[4] = {BATCH, 4, 7, 7}, wd[4] = {8, 4 / groups, 3, 3}, bd = 8;
    Graph *g = new_graph(&x, 4, xd);
    int64_t w0d[4] = {4, 4, 1, 1}; /* a 1x1 conv first: the tested conv's input gradient */
    ValueId x0 = out_of(g, mk(g, IR_OP_CONV2D, x, param(g, "conv0.weight", 4, w0d, 0.7f), IR_NONE));
    NodeId c = mk(g, IR_OP_CONV2D, x0, param(g, "conv.weight", 4, wd, 0.5f),
                  bias ? param(g, "conv.bias", 1, &bd, 0.3f) : IR_NONE);
    int64_t s2[2] = {stride, stride}, p2[2] = {pad, pad}, d2[2] = {dil, dil};
    ir_node_set_ints(g, c, "stride", s2, 2);
    ir_node_set_ints(g, c, "padding", p2, 2);
    ir_node_set_ints(g, c, "dilation", d2, 2);
    ir_node_set_int(g, c, "groups", groups);
    ValueId h = op1(g, IR_OP_SIGMOID, out_of(g, c));
    if (pool) {
        static const OpKind kinds[] = {IR_OP_MAX_POOL2D,          IR_OP_MAX_POOL2D,
                                       IR_OP_AVG_POOL2D,          IR_OP_AVG_POOL2D,
                                       IR_OP_ADAPTIVE_AVG_POOL2D, IR_OP_MAX_POOL2D};
        NodeId pn = mk(g, kinds[pool], h, IR_NONE, IR_NONE);
        int64_t k2[2] = {2, 2}, ps[2] = {1, 1}, pp[2] = {1, 1}, os[2] = {2, 3};
        if (pool == 4) {
            ir_node_set_ints(g, pn, "output_size", os, 2);
        } else {
            ir_node_set_ints(g, pn, "kernel", k2, 2);
            ir_node_set_ints(g, pn, "stride", ps, 2);
            ir_node_set_ints(g, pn, "padding", pp, 2);
        }
        if (pool == 3) {
            ir_node_set_int(g, pn, "count_include_pad", 0);
            ir_node_set_int(g, pn, "ceil_mode", 1);
            int64_t s3[2] = {2, 2};
            ir_node_set_ints(g, pn, "stride", s3, 2);
        }
        if (pool == 5) {
            int64_t s3[2] = {2, 2};
            ir_node_set_ints(g, pn, "dilation", s3, 2);
            ir_node_set_ints(g, pn, "stride", s3, 2);
            ir_node_set_int(g, pn, "ceil_mode", 1);
        }
        h = out_of(g, pn);
    }
    Diag d;
    ir_diag_init(&d);
    ck_assert_msg(ir_infer_shapes(g, &d), "%s", ir_diag_text(&d));
    ir_diag_fini(&d);
    int64_t k = numel(&g->values[h].type.shape) / BATCH;
    TrainSpec s = ce();
    check_grads(g, x, lin(g, op1(g, IR_OP_FLATTEN, h), k, 5), &s);
}

START_TEST(conv2d_grads)
{
    conv_case(1, 1, 0, 1, true, 0);
    conv_case(2, 2, 1, 1, true, 0);
    conv_case(4, 1, 2, 2, false, 0);
    conv_case(2, 3, 1, 2, true, 0);
}
END_TEST

START_TEST(pool_grads)
{
    for (int pool = 1; pool <= 5; pool++)
        conv_case(1, 1, 1, 1, true, pool);
}
END_TEST

/* ---- elementwise ---- */

/* x [3, 5] -> linear -> op (after exp for log, sqrt, rsqrt) -> linear -> cross entropy. */
static void act_case(OpKind op)
{
    case_name = ir_ops[op].name;

    ValueId x;
    int64_t xd[2] = {BATCH, 5};
    Graph *g = new_graph(&x, 2, xd);
    ValueId h = lin(g, x, 5, 6);
    if (op == IR_OP_LOG || op == IR_OP_SQRT || op == IR_OP_RSQRT)
        h = op1(g, IR_OP_EXP, h);
    else /* pre-activations over the interesting range of each op */
        h = op2(g, IR_OP_MUL, h, scalar(g, 3.0f));
    NodeId a = mk(g, op, h, IR_NONE, IR_NONE);
    if (op == IR_OP_LEAKY_RELU)
        ir_node_set_float(g, a, "negative_slope", 0.2);
    TrainSpec s = ce();
    check_grads(g, x, lin(g, out_of(g, a), 6, 4), &s);
}

START_TEST(activation_grads)
{
    static const OpKind ops[] = {
        IR_OP_RELU, IR_OP_SIGMOID,   IR_OP_TANH,        IR_OP_GELU,  IR_OP_GELU_TANH,
        IR_OP_SILU, IR_OP_HARDSWISH, IR_OP_HARDSIGMOID, IR_OP_RELU6, IR_OP_LEAKY_RELU,
        IR_OP_EXP,  IR_OP_LOG,       IR_OP_SQRT,        IR_OP_RSQRT, IR_OP_NEG,
        IR_OP_ABS,  IR_OP_ERF,       IR_OP_SOFTSIGN};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        act_case(ops[i]);
}
END_TEST

/* add, sub, mul, div of [3, 6] with [3, 1] and with [6] operands (both depending on
 * parameters): the broadcast operand's gradient is summed over the broadcast axes. */
START_TEST(broadcast_arith_grads)
{
    static const OpKind ops[] = {IR_OP_ADD, IR_OP_SUB, IR_OP_MUL, IR_OP_DIV};
    for (size_t i = 0; i < 4; i++)
        for (int form = 0; form < 2; form++) {
            ValueId x;
            int64_t xd[2] = {BATCH, 5};
            Graph *g = new_graph(&x, 2, xd);
            ValueId a = lin(g, x, 5, 6), b = op1(g, IR_OP_SIGMOID, lin(g, x, 5, 6));
            NodeId r = mk(g, IR_OP_REDUCE_SUM, b, IR_NONE, IR_NONE);
            int64_t ax = form ? 0 : 1;
            ir_node_set_ints(g, r, "axes", &ax, 1);
            ir_node_set_int(g, r, "keepdim", form ? 0 : 1);
            ValueId bb = op2(g, IR_OP_ADD, out_of(g, r), scalar(g, 1.5f));
            if (ops[i] == IR_OP_DIV) /* a denominator away from 0 */
                a = op2(g, IR_OP_ADD, op1(g, IR_OP_SIGMOID, a), scalar(g, 0.5f));
            ValueId y = form ? op2(g, ops[i], bb, a) : op2(g, ops[i], a, bb);
            TrainSpec s = ce();
            check_grads(g, x, y, &s);
        }
}
END_TEST

/* where (a bool condition from the data), clip, maximum and minimum with a broadcast
 * operand, expand. */
START_TEST(select_grads)
{
    for (int form = 0; form < 5; form++) {
        ValueId x;
        int64_t xd[2] = {BATCH, 5};
        Graph *g = new_graph(&x, 2, xd);
        ValueId a = lin(g, x, 5, 6), b = lin(g, x, 5, 6), y;
        NodeId r = mk(g, IR_OP_REDUCE_MEAN, b, IR_NONE, IR_NONE);
        int64_t ax = 1;
        ir_node_set_ints(g, r, "axes", &ax, 1);
        ir_node_set_int(g, r, "keepdim", 1);
        ValueId bm = out_of(g, r); /* [3, 1] */
        if (form == 0) {
            ValueId in[3] = {op2(g, IR_OP_GT, b, scalar(g, 0.0f)), a, bm};
            y = out_of(g, ir_node_new(g, IR_OP_WHERE, "where", (SrcLoc){0}, in, 3, 1));
        } else if (form == 1) {
            NodeId cl = mk(g, IR_OP_CLIP, a, IR_NONE, IR_NONE);
            ir_node_set_float(g, cl, "min", -0.3);
            ir_node_set_float(g, cl, "max", 0.4);
            y = op2(g, IR_OP_ADD, out_of(g, cl), b);
        } else if (form == 2) {
            y = op2(g, IR_OP_MAXIMUM, a, bm);
        } else if (form == 3) {
            y = op2(g, IR_OP_MINIMUM, bm, a);
        } else {
            NodeId e = mk(g, IR_OP_EXPAND, bm, IR_NONE, IR_NONE);
            int64_t sh[2] = {-1, 6};
            ir_node_set_ints(g, e, "shape", sh, 2);
            y = op2(g, IR_OP_MUL, out_of(g, e), a);
        }
        static const char *const names[] = {"where", "clip", "maximum", "minimum", "expand"};
        case_name = names[form];
        TrainSpec s = ce();
        check_grads(g, x, y, &s);
    }
}
END_TEST

/* ---- data movement, normalization, matmul, reductions ---- */

START_TEST(data_movement_grads)
{
    for (int form = 0; form < 8; form++) {
        ValueId x;
        int64_t xd[2] = {BATCH, 4};
        Graph *g = new_graph(&x, 2, xd);
        ValueId a = lin(g, x, 4, 6), b = lin(g, x, 4, 6), y = IR_NONE;
        if (form == 0) { /* reshape to [3, 2, 3], permute, flatten */
            NodeId r = mk(g, IR_OP_RESHAPE, a, IR_NONE, IR_NONE);
            int64_t sh[3] = {BATCH, 2, 3}, perm[3] = {0, 2, 1};
            ir_node_set_ints(g, r, "shape", sh, 3);
            NodeId p = mk(g, IR_OP_PERMUTE, out_of(g, r), IR_NONE, IR_NONE);
            ir_node_set_ints(g, p, "perm", perm, 3);
            y = op1(g, IR_OP_FLATTEN, out_of(g, p));
            y = op2(g, IR_OP_MUL, y, op1(g, IR_OP_TANH, b));
        } else if (form == 1) { /* concat, then slice of it */
            NodeId c = mk(g, IR_OP_CONCAT, a, b, IR_NONE);
            ir_node_set_int(g, c, "axis", 1);
            NodeId s = mk(g, IR_OP_SLICE, op1(g, IR_OP_TANH, out_of(g, c)), IR_NONE, IR_NONE);
            ir_node_set_int(g, s, "axis", 1);
            ir_node_set_int(g, s, "start", 2);
            ir_node_set_int(g, s, "end", -3);
            y = out_of(g, s);
        } else if (form == 2) { /* softmax and log_softmax */
            NodeId s = mk(g, IR_OP_SOFTMAX, a, IR_NONE, IR_NONE);
            ir_node_set_int(g, s, "axis", 1);
            NodeId l = mk(g, IR_OP_LOG_SOFTMAX, b, IR_NONE, IR_NONE);
            ir_node_set_int(g, l, "axis", -1);
            y = op2(g, IR_OP_ADD, op2(g, IR_OP_MUL, out_of(g, s), b), out_of(g, l));
        } else if (form == 3) { /* matmul of activations: a [3, 6] x b^T [6, 3] */
            NodeId p = mk(g, IR_OP_PERMUTE, b, IR_NONE, IR_NONE);
            int64_t perm[2] = {1, 0};
            ir_node_set_ints(g, p, "perm", perm, 2);
            y = op2(g, IR_OP_MATMUL, a, out_of(g, p));
        } else if (form == 4) { /* unsqueeze, squeeze, reduce_mean, broadcast back */
            NodeId u = mk(g, IR_OP_UNSQUEEZE, a, IR_NONE, IR_NONE);
            ir_node_set_int(g, u, "axis", 1);
            NodeId s = mk(g, IR_OP_SQUEEZE, out_of(g, u), IR_NONE, IR_NONE);
            int64_t ax = 1;
            ir_node_set_ints(g, s, "axes", &ax, 1);
            NodeId m = mk(g, IR_OP_REDUCE_MEAN, b, IR_NONE, IR_NONE);
            ir_node_set_ints(g, m, "axes", &ax, 1);
            ir_node_set_int(g, m, "keepdim", 1);
            y = op2(g, IR_OP_SUB, out_of(g, s), out_of(g, m));
        } else if (form == 5) { /* one value used twice: gradients add up */
            y = op2(g, IR_OP_MUL, a, op1(g, IR_OP_SIGMOID, a));
        } else if (form == 7) { /* constant pad of [3, 6] by 2 before and 1 after, value 0.5 */
            NodeId p = mk(g, IR_OP_PAD, op1(g, IR_OP_TANH, a), IR_NONE, IR_NONE);
            int64_t pads[2] = {2, 1};
            ir_node_set_ints(g, p, "pads", pads, 2);
            ir_node_set_float(g, p, "value", 0.5);
            y = op2(g, IR_OP_MUL, out_of(g, p), out_of(g, p));
        } else { /* slices with steps: [1:12:3] (its last zeros cut) and [0:-1:2], concatenated */
            NodeId c = mk(g, IR_OP_CONCAT, a, b, IR_NONE);
            ir_node_set_int(g, c, "axis", 1);
            ValueId t = op1(g, IR_OP_TANH, out_of(g, c));
            NodeId s3 = mk(g, IR_OP_SLICE, t, IR_NONE, IR_NONE),
                   s2 = mk(g, IR_OP_SLICE, t, IR_NONE, IR_NONE);
            ir_node_set_int(g, s3, "axis", 1);
            ir_node_set_int(g, s3, "start", 1);
            ir_node_set_int(g, s3, "end", 12);
            ir_node_set_int(g, s3, "step", 3);
            ir_node_set_int(g, s2, "axis", -1);
            ir_node_set_int(g, s2, "start", 0);
            ir_node_set_int(g, s2, "end", -1);
            ir_node_set_int(g, s2, "step", 2);
            NodeId j = mk(g, IR_OP_CONCAT, out_of(g, s3), out_of(g, s2), IR_NONE);
            ir_node_set_int(g, j, "axis", 1);
            y = out_of(g, j);
        }
        TrainSpec s = ce();
        check_grads(g, x, y, &s);
    }
}
END_TEST

START_TEST(embedding_grads)
{
    ValueId x;
    int64_t xd[2] = {BATCH, 4}, wd[2] = {5, 3};
    Graph *g = new_graph(&x, 2, xd);
    g->values[x].type.dtype = IR_I64;
    ValueId e = op2(g, IR_OP_EMBEDDING, x, param(g, "emb.weight", 2, wd, 1.0f));
    TrainSpec s = ce();
    check_grads(g, x, lin(g, op1(g, IR_OP_FLATTEN, op1(g, IR_OP_TANH, e)), 12, 4), &s);
}
END_TEST

/* layer_norm over the last dim ([3, 6], weight and bias) and over the last two ([3, 2, 3],
 * no affine). */
START_TEST(layer_norm_grads)
{
    for (int form = 0; form < 2; form++) {
        ValueId x;
        int64_t xd[2] = {BATCH, 5}, wd = 6, sh[3] = {BATCH, 2, 3};
        Graph *g = new_graph(&x, 2, xd);
        ValueId h = lin(g, x, 5, 6);
        NodeId ln;
        if (form == 0) {
            ln = mk(g, IR_OP_LAYER_NORM, h, param(g, "ln.weight", 1, &wd, 1.0f),
                    param(g, "ln.bias", 1, &wd, 0.5f));
        } else {
            NodeId r = mk(g, IR_OP_RESHAPE, h, IR_NONE, IR_NONE);
            ir_node_set_ints(g, r, "shape", sh, 3);
            ln = mk(g, IR_OP_LAYER_NORM, out_of(g, r), IR_NONE, IR_NONE);
            ir_node_set_int(g, ln, "normalized_ndim", 2);
        }
        ValueId y = op1(g, IR_OP_FLATTEN, op1(g, IR_OP_TANH, out_of(g, ln)));
        TrainSpec s = ce();
        case_name = form ? "layer_norm without affine" : "layer_norm";
        check_grads(g, x, lin(g, y, 6, 4), &s);
    }
}
END_TEST

/* attention over [B, 4, 3] q, k, v made by three linears from x (so every one of them
 * needs its gradient): plain, with an additive mask holding -inf (no row fully masked), with
 * causal=1 and an explicit scale, and with both; then flatten -> linear -> cross entropy. */
START_TEST(attention_grads)
{
    for (int form = 0; form < 4; form++) {
        ValueId x;
        int64_t xd[2] = {BATCH, 5}, sh[3] = {BATCH, 4, 3};
        Graph *g = new_graph(&x, 2, xd);
        ValueId qkv[3];
        for (int i = 0; i < 3; i++) {
            NodeId r = mk(g, IR_OP_RESHAPE, lin(g, x, 5, 12), IR_NONE, IR_NONE);
            ir_node_set_ints(g, r, "shape", sh, 3);
            qkv[i] = out_of(g, r);
        }
        ValueId in[4] = {qkv[0], qkv[1], qkv[2], IR_NONE};
        if (form & 1) { /* [4, 4]: key 2 hidden from query 0, key 0 from query 3 */
            static float mask[16] = {0, 0.5f, -INFINITY, 0, 0,         0, 0, -1,
                                     0, 0,    0,         0, -INFINITY, 0, 0, 0};
            int64_t md[2] = {4, 4};
            in[3] = ir_const_new(g, "mask", (Type){IR_F32, shp(2, md), NULL}, mask, sizeof mask,
                                 (SrcLoc){0});
        }
        NodeId a = ir_node_new(g, IR_OP_ATTENTION, "attn", (SrcLoc){0}, in, (form & 1) ? 4 : 3, 1);
        if (form & 2) {
            ir_node_set_int(g, a, "causal", 1);
            ir_node_set_float(g, a, "scale", 0.8);
        }
        ValueId y = op1(g, IR_OP_FLATTEN, out_of(g, a));
        static const char *names[4] = {"attention", "attention with a mask", "causal attention",
                                       "causal attention with a mask"};
        case_name = names[form];
        TrainSpec s = ce();
        check_grads(g, x, lin(g, y, 12, 4), &s);
    }
}
END_TEST

/* group_norm of [3, 4, 2, 3] in 2 groups, weight and bias per channel, after a conv. */
START_TEST(group_norm_grads)
{
    ValueId x;
    int64_t xd[4] = {BATCH, 2, 4, 5}, wd[4] = {4, 2, 3, 3}, cd = 4;
    Graph *g = new_graph(&x, 4, xd);
    ValueId h = op2(g, IR_OP_CONV2D, x, param(g, "conv.weight", 4, wd, 0.5f));
    NodeId gn = mk(g, IR_OP_GROUP_NORM, h, param(g, "gn.weight", 1, &cd, 1.0f),
                   param(g, "gn.bias", 1, &cd, 0.5f));
    ir_node_set_int(g, gn, "num_groups", 2);
    ValueId y = op1(g, IR_OP_FLATTEN, op1(g, IR_OP_TANH, out_of(g, gn)));
    TrainSpec s = ce();
    case_name = "group_norm";
    check_grads(g, x, lin(g, y, 4 * 2 * 3, 4), &s);
}
END_TEST

/* batch_norm in training mode (the step makes it batch_norm_train: batch statistics) after
 * a conv; its running statistics are constants nothing reads. Also on [N, C]. */
START_TEST(batch_norm_grads)
{
    for (int form = 0; form < 2; form++) {
        ValueId x;
        int64_t xd[4] = {BATCH, 2, 4, 5}, wd[4] = {4, 2, 3, 3}, cd = 4;
        Graph *g = new_graph(&x, 4, xd);
        ValueId h = op2(g, IR_OP_CONV2D, x, param(g, "conv.weight", 4, wd, 0.5f));
        if (form == 1) { /* [N, C * 2 * 3] through a linear to [N, 4] */
            int64_t k = 4 * 2 * 3;
            h = lin(g, op1(g, IR_OP_FLATTEN, h), k, 4);
        }
        ValueId in[5] = {h, param(g, "bn.running_mean", 1, &cd, 0.3f),
                         param(g, "bn.running_var", 1, &cd, 0.0f),
                         param(g, "bn.weight", 1, &cd, 1.0f), param(g, "bn.bias", 1, &cd, 0.5f)};
        for (int i = 0; i < 4; i++) /* a variance of 1 */
            ((float *)(uintptr_t)g->values[in[2]].data)[i] = 1.0f;
        NodeId bn = ir_node_new(g, IR_OP_BATCH_NORM, "bn", (SrcLoc){0}, in, 5, 1);
        ValueId y = op1(g, IR_OP_TANH, out_of(g, bn));
        if (form == 0)
            y = lin(g, op1(g, IR_OP_FLATTEN, y), 4 * 2 * 3, 4);
        TrainSpec s = ce();
        case_name = form ? "batch_norm [N, C]" : "batch_norm";
        check_grads(g, x, y, &s);
    }
}
END_TEST

/* ---- losses ---- */

START_TEST(loss_grads)
{
    for (int k = 0; k < 4; k++) {
        ValueId x;
        int64_t xd[2] = {BATCH, 5};
        Graph *g = new_graph(&x, 2, xd);
        ValueId y = lin(g, op1(g, IR_OP_TANH, lin(g, x, 5, 6)), 6, 4);
        TrainSpec s = ce();
        if (k == 1) {
            NodeId l = mk(g, IR_OP_LOG_SOFTMAX, y, IR_NONE, IR_NONE);
            ir_node_set_int(g, l, "axis", 1);
            y = out_of(g, l);
            s.loss = TRAIN_LOSS_NLL;
        } else if (k == 2) {
            s.loss = TRAIN_LOSS_MSE;
        } else if (k == 3) {
            s.loss = TRAIN_LOSS_DISTILL;
            s.temperature = 2.5;
            s.alpha = 0.3;
        }
        check_grads(g, x, y, &s);
    }
}
END_TEST

/* Every label ignored: the loss is 0 and so is every gradient (F.cross_entropy would give
 * NaN; passes/autodiff.h asks for 0). */
START_TEST(all_ignored_is_zero)
{
    ValueId x;
    int64_t xd[2] = {2, 3}, wd[2] = {4, 3};
    Graph *g = new_graph(&x, 2, xd);
    ValueId y = op2(g, IR_OP_LINEAR, x, param(g, "w", 2, wd, 1.0f));
    ir_output_add(g, y);
    Diag d;
    ir_diag_init(&d);
    ck_assert(ir_infer_shapes(g, &d));
    TrainSpec s = ce();
    TrainGraph t;
    ck_assert_msg(pass_autodiff_train_graph(g, &s, &t, &d), "%s", ir_diag_text(&d));
    float xs[6] = {1, 2, 3, 4, 5, 6}, *p[1] = {(float *)g->values[t.param_consts[0]].data}, *gr[1];
    int64_t labels[2] = {-100, -100};
    double loss;
    run_step(&t, xs, labels, NULL, p, &loss, gr);
    ck_assert(loss == 0.0);
    for (int i = 0; i < 12; i++)
        ck_assert(gr[0][i] == 0.0f);
    free(gr[0]);
    pass_autodiff_train_graph_free(&t);
    ir_diag_fini(&d);
    ir_graph_free(g);
}
END_TEST

/* ---- the rule table ---- */

START_TEST(rules_match_diff_column)
{
    for (int op = 0; op < IR_NUM_OPS; op++) {
        bool flagged = (ir_ops[op].flags & IR_F_DIFF) != 0, rule = pass_ad_rule_for((OpKind)op);
        ck_assert_msg(flagged == rule, "op '%s': IR_F_DIFF %d but %s gradient rule",
                      ir_ops[op].name, flagged, rule ? "a" : "no");
    }
    ck_assert(pass_ad_rule_for(IR_NUM_OPS) == NULL);
}
END_TEST

/* Three ops without gradients on the loss's path: one error naming each with its place,
 * nothing built. An op without a gradient off the path (before any parameter) is fine. */
START_TEST(missing_rules_listed_at_once)
{
    ValueId x;
    int64_t xd[4] = {2, 3, 4, 4}, wd[4] = {3, 3, 2, 2};
    Graph *g = new_graph(&x, 4, xd);
    NodeId cs = mk(g, IR_OP_CUMSUM, x, IR_NONE, IR_NONE); /* no rule, but no parameter before */
    ir_node_set_int(g, cs, "axis", 1);
    ValueId xc = out_of(g, cs);
    NodeId ct = mk(g, IR_OP_CONV_TRANSPOSE2D, xc, param(g, "up.weight", 4, wd, 1.0f), IR_NONE);
    g->nodes[ct].loc = (SrcLoc){"m.slim", 3, 9};
    NodeId cl = mk(g, IR_OP_CUMSUM, out_of(g, ct), IR_NONE, IR_NONE);
    ir_node_set_int(g, cl, "axis", 2);
    g->nodes[cl].loc = (SrcLoc){"m.slim", 4, 9};
    NodeId rm = mk(g, IR_OP_REDUCE_MAX, out_of(g, cl), IR_NONE, IR_NONE);
    int64_t axes[2] = {2, 3};
    ir_node_set_ints(g, rm, "axes", axes, 2);
    g->nodes[rm].loc = (SrcLoc){"m.slim", 5, 13};
    ValueId y = out_of(g, rm);
    ir_output_add(g, y);
    Diag d;
    ir_diag_init(&d);
    ck_assert_msg(ir_infer_shapes(g, &d), "%s", ir_diag_text(&d));
    TrainSpec s = ce();
    TrainGraph t;
    ck_assert(!pass_autodiff_train_graph(g, &s, &t, &d));
    ck_assert_ptr_null(t.g);
    const char *msg = ir_diag_text(&d);
    ck_assert_msg(strstr(msg, "3 ops on the loss's path have no gradient") &&
                      strstr(msg, "conv_transpose2d 'conv_transpose2d' (m.slim:3:9)") &&
                      strstr(msg, "cumsum 'cumsum' (m.slim:4:9)") &&
                      strstr(msg, "reduce_max 'reduce_max' (m.slim:5:13)"),
                  "%s", msg);
    ck_assert_int_eq(d.n_errors, 1);
    ir_diag_fini(&d);
    ir_graph_free(g);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("autodiff");
    TCase *tc = tcase_create("autodiff");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, rules_match_diff_column);
    tcase_add_test(tc, missing_rules_listed_at_once);
    tcase_add_test(tc, conv2d_grads);
    tcase_add_test(tc, pool_grads);
    tcase_add_test(tc, activation_grads);
    tcase_add_test(tc, broadcast_arith_grads);
    tcase_add_test(tc, select_grads);
    tcase_add_test(tc, data_movement_grads);
    tcase_add_test(tc, embedding_grads);
    tcase_add_test(tc, layer_norm_grads);
    tcase_add_test(tc, attention_grads);
    tcase_add_test(tc, group_norm_grads);
    tcase_add_test(tc, batch_norm_grads);
    tcase_add_test(tc, loss_grads);
    tcase_add_test(tc, all_ignored_is_zero);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
