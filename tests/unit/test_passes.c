/* The pass manager and the optimization passes: each pass on small graphs built with the
 * IR API, checking the structure it leaves (ops, epilogues, constants), that the verifier
 * accepts it (every pass runs through pass_pipeline_run with verify on), and that the
 * reference evaluator gives the same numbers before and after (max|a - b| <= 1e-5 max|b|).
 * Then the pipeline parser's messages, unknown and unimplemented passes, print_after. */
#include "ir/eval.h"
#include "passes/pass.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const SrcLoc here = {"test", 1, 1};

static Type mk_type(const int64_t *dims, int rank)
{
    Type t = {.dtype = IR_F32, .shape = {.rank = rank}};
    for (int i = 0; i < rank; i++)
        t.shape.d[i] = ir_dim(dims[i]);
    return t;
}
#define F32(...)                                                                                   \
    mk_type((const int64_t[]){__VA_ARGS__},                                                        \
            (int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)))

static uint32_t rng = 12345;
static float frand(void) /* uniform in [-1, 1) */
{
    rng = rng * 1664525u + 1013904223u;
    return (float)(rng >> 8) / (float)(1u << 23) - 1.0f;
}

/* A constant of type t: data copied if given, else random (positive if pos). */
static ValueId cst(Graph *g, const char *name, Type t, const float *data, bool pos)
{
    int64_t n = 1;
    for (int i = 0; i < t.shape.rank; i++)
        n *= t.shape.d[i].c;
    float *p = ir_arena_alloc(g->arena, sizeof(float) * (size_t)(n ? n : 1));
    for (int64_t i = 0; i < n; i++)
        p[i] = data ? data[i] : pos ? 0.5f + fabsf(frand()) : frand();
    return ir_const_new(g, name, t, p, sizeof(float) * (size_t)n, here);
}

static ValueId op1(Graph *g, OpKind op, const char *name, ValueId a)
{
    NodeId n = ir_node_new(g, op, name, here, &a, 1, 1); /* g->nodes may move */
    return g->nodes[n].outputs[0];
}

static ValueId op2(Graph *g, OpKind op, const char *name, ValueId a, ValueId b)
{
    ValueId in[2] = {a, b};
    NodeId n = ir_node_new(g, op, name, here, in, 2, 1);
    return g->nodes[n].outputs[0];
}

static NodeId producer(Graph *g, ValueId v)
{
    return g->values[v].producer;
}

static void infer(Graph *g)
{
    Diag d;
    ir_diag_init(&d);
    ck_assert_msg(ir_infer_shapes(g, &d), "%s", ir_diag_text(&d));
    ir_diag_fini(&d);
}

static int count_op(const Graph *g, OpKind op)
{
    int c = 0;
    for (int i = 0; i < g->n_nodes; i++)
        c += !g->nodes[i].dead && g->nodes[i].op == op;
    return c;
}

static int live_nodes(const Graph *g)
{
    int c = 0;
    for (int i = 0; i < g->n_nodes; i++)
        c += !g->nodes[i].dead;
    return c;
}

static const Node *first_node(const Graph *g, OpKind op)
{
    for (int i = 0; i < g->n_nodes; i++)
        if (!g->nodes[i].dead && g->nodes[i].op == op)
            return &g->nodes[i];
    ck_abort_msg("no %s node left", ir_ops[op].name);
    return NULL;
}

static size_t value_bytes(const Graph *g, ValueId v, const int64_t *syms)
{
    const Shape *s = &g->values[v].type.shape;
    int64_t n = 1;
    for (int i = 0; i < s->rank; i++)
        n *= ir_dim_eval(s->d[i], syms);
    return ir_dtype_bytes(g->values[v].type.dtype, n);
}

typedef struct Outputs {
    int n;
    void *data[4];
    size_t bytes[4];
} Outputs;

static Outputs evaluate(const Graph *g, const void *const *inputs, const int64_t *syms)
{
    Outputs o = {.n = g->n_outputs};
    Diag d;
    ir_diag_init(&d);
    ck_assert_msg(ir_eval_graph(g, inputs, o.data, syms, &d), "%s", ir_diag_text(&d));
    ir_diag_fini(&d);
    for (int i = 0; i < o.n; i++)
        o.bytes[i] = value_bytes(g, g->outputs[i], syms);
    return o;
}

/* Runs pipeline on g (verifying after each pass); false with the messages in *msg. */
static bool run_passes(Graph *g, const char *pipeline)
{
    Diag d;
    ir_diag_init(&d);
    PassRunOptions o = {.verify = true};
    bool ok = pass_pipeline_run(g, pipeline, (SrcLoc){0}, &o, &d);
    ck_assert_msg(ok, "pipeline '%s': %s", pipeline, ir_diag_text(&d));
    ir_diag_fini(&d);
    return ok;
}

/* Runs pipeline on g and checks the outputs are the same as before on random inputs. */
static void run_checked(Graph *g, const char *pipeline, const int64_t *syms)
{
    void *inputs[8];
    ck_assert_int_le(g->n_inputs, 8);
    for (int i = 0; i < g->n_inputs; i++) {
        size_t bytes = value_bytes(g, g->inputs[i], syms);
        float *p = malloc(bytes + 4);
        for (size_t k = 0; k < bytes / 4; k++)
            p[k] = 2 * frand();
        inputs[i] = p;
    }
    Outputs before = evaluate(g, (const void *const *)inputs, syms);
    run_passes(g, pipeline);
    Outputs after = evaluate(g, (const void *const *)inputs, syms);
    ck_assert_int_eq(before.n, after.n);
    for (int i = 0; i < before.n; i++) {
        ck_assert_uint_eq(before.bytes[i], after.bytes[i]);
        const float *a = after.data[i], *b = before.data[i];
        double max_b = 0, diff = 0;
        for (size_t k = 0; k < before.bytes[i] / 4; k++) {
            max_b = fmax(max_b, fabs(b[k]));
            diff = fmax(diff, fabs(a[k] - b[k]));
        }
        ck_assert_msg(diff <= 1e-5 * max_b, "%s: output %d differs by %g (max %g)", pipeline, i,
                      diff, max_b);
        free(before.data[i]);
        free(after.data[i]);
    }
    for (int i = 0; i < g->n_inputs; i++)
        free(inputs[i]);
}

static const float *const_data(const Graph *g, ValueId v)
{
    ck_assert_int_eq(g->values[v].kind, IR_VALUE_CONST);
    return g->values[v].data;
}

/* ---- fold ---- */

START_TEST(fold_constants)
{
    Graph *g = ir_graph_new("t");
    ValueId x = ir_input_new(g, "x", F32(2, 2), here);
    ValueId a = cst(g, "a", F32(2, 2), (float[]){1, 2, 3, 4}, false);
    ValueId b = cst(g, "b", F32(2, 2), (float[]){10, 20, 30, 40}, false);
    ValueId s = op2(g, IR_OP_ADD, "sum", a, b);
    ValueId r = op1(g, IR_OP_RELU, "r",
                    op2(g, IR_OP_SUB, "neg", s, cst(g, "k", F32(1), (float[]){25}, false)));
    ir_output_add(g, op2(g, IR_OP_MUL, "y", x, r));
    infer(g);
    run_checked(g, "fold", NULL);
    ck_assert_int_eq(live_nodes(g), 1);
    const Node *m = first_node(g, IR_OP_MUL);
    const Value *c = &g->values[m->inputs[1]];
    ck_assert_int_eq(c->kind, IR_VALUE_CONST);
    ck_assert_str_eq(c->name, "r"); /* a folded value keeps its name */
    const float want[4] = {0, 0, 8, 19};
    ck_assert_mem_eq(c->data, want, sizeof want);
    ir_graph_free(g);
}
END_TEST

START_TEST(fold_respects_limit_and_outputs)
{
    Graph *g = ir_graph_new("t");
    ValueId a = cst(g, "a", F32(4), (float[]){1, 2, 3, 4}, false);
    ValueId r = op1(g, IR_OP_RELU, "r", a);
    ir_output_add(g, op1(g, IR_OP_TANH, "t", r));
    infer(g);
    run_passes(g, "fold(max_mb=0)");
    ck_assert_int_eq(live_nodes(g), 2); /* nothing fits under 0 bytes */
    run_passes(g, "fold");
    ck_assert_int_eq(live_nodes(g), 1); /* tanh stays: its output is a graph output */
    ck_assert_int_eq(first_node(g, IR_OP_TANH)->op, IR_OP_TANH);
    ir_graph_free(g);
}
END_TEST

START_TEST(fold_exact_identities)
{
    Graph *g = ir_graph_new("t");
    ValueId x = ir_input_new(g, "x", F32(2, 3), here);
    ValueId one = cst(g, "one", F32(3), (float[]){1, 1, 1}, false);
    ValueId negz = cst(g, "negz", F32(1), (float[]){-0.0f}, false);
    ValueId posz = cst(g, "posz", F32(1), (float[]){0.0f}, false);
    ValueId v = op2(g, IR_OP_MUL, "m1", x, one);
    v = op2(g, IR_OP_MUL, "m2", one, v);
    v = op2(g, IR_OP_ADD, "a1", v, negz);
    v = op2(g, IR_OP_SUB, "s1", v, posz);
    v = op2(g, IR_OP_DIV, "d1", v, one);
    v = op2(g, IR_OP_ADD, "a0", v, posz); /* x + 0 is not exact (-0 + 0 = +0): stays */
    v = op2(g, IR_OP_SUB, "s0", v, negz); /* x - (-0) likewise */
    v = op2(g, IR_OP_DIV, "d2", one, v);  /* 1 / x is not x */
    ValueId wide = cst(g, "ones23", F32(4, 2, 3), NULL, false);
    for (int i = 0; i < 24; i++)
        ((float *)g->values[wide].data)[i] = 1;
    v = op2(g, IR_OP_MUL, "bc", v, wide); /* broadcasts to [4, 2, 3]: not x's shape */
    ir_output_add(g, op1(g, IR_OP_RELU, "y", v));
    infer(g);
    run_checked(g, "fold", NULL);
    ck_assert_int_eq(live_nodes(g), 5);
    ck_assert_int_eq(count_op(g, IR_OP_ADD), 1);
    ck_assert_int_eq(count_op(g, IR_OP_SUB), 1);
    ck_assert_int_eq(count_op(g, IR_OP_DIV), 1);
    ck_assert_int_eq(count_op(g, IR_OP_MUL), 1);
    ck_assert_int_eq(first_node(g, IR_OP_ADD)->inputs[0], g->inputs[0]);
    ir_graph_free(g);
}
END_TEST

START_TEST(fold_views)
{
    Graph *g = ir_graph_new("t");
    ValueId x = ir_input_new(g, "x", F32(2, 3, 4), here);
    ValueId r = op1(g, IR_OP_RESHAPE, "r", x);
    ir_node_set_ints(g, producer(g, r), "shape", (int64_t[]){6, 4}, 2);
    ValueId f = op1(g, IR_OP_FLATTEN, "f", r);
    ir_node_set_int(g, producer(g, f), "start_dim", 0);
    ValueId same = op1(g, IR_OP_RESHAPE, "same", f);
    ir_node_set_ints(g, producer(g, same), "shape", (int64_t[]){-1}, 1);
    ir_output_add(g, op1(g, IR_OP_RELU, "y", same));
    infer(g);
    run_checked(g, "fold,dce", NULL);
    /* flatten(reshape(x)) is one reshape of x to [24]; the reshape to [24] of that is gone */
    ck_assert_int_eq(live_nodes(g), 2);
    ck_assert_int_eq(count_op(g, IR_OP_FLATTEN), 0);
    const Node *rn = first_node(g, IR_OP_RESHAPE);
    ck_assert_int_eq(rn->inputs[0], g->inputs[0]);
    const Attr *a = ir_node_attr_id(rn, IR_A_shape);
    ck_assert_int_eq(a->n_ints, 1);
    ck_assert_int_eq(a->ints[0], 24);
    ir_graph_free(g);
}
END_TEST

START_TEST(fold_views_symbolic)
{
    /* x [N, 3, 4] -> reshape(N, 12) -> flatten -> [12N]: one reshape, to (-1) */
    Graph *g = ir_graph_new("t");
    int n = ir_graph_symbol(g, "N");
    Type t = F32(1, 3, 4);
    t.shape.d[0] = (Dim){1, 1u << n};
    ValueId x = ir_input_new(g, "x", t, here);
    ValueId r = op1(g, IR_OP_RESHAPE, "r", x);
    ir_node_set_ints(g, producer(g, r), "shape", (int64_t[]){-1000 - n, 12}, 2);
    ValueId f = op1(g, IR_OP_FLATTEN, "f", r);
    ir_node_set_int(g, producer(g, f), "start_dim", 0);
    ir_output_add(g, op1(g, IR_OP_TANH, "y", f));
    infer(g);
    int64_t syms[IR_MAX_SYMS] = {3};
    run_checked(g, "fold,dce", syms);
    ck_assert_int_eq(live_nodes(g), 2);
    const Attr *a = ir_node_attr_id(first_node(g, IR_OP_RESHAPE), IR_A_shape);
    ck_assert_int_eq(a->n_ints, 1);
    ck_assert_int_eq(a->ints[0], -1);
    ir_graph_free(g);
}
END_TEST

/* ---- dce, cse ---- */

START_TEST(dce_removes_unused)
{
    Graph *g = ir_graph_new("t");
    ValueId x = ir_input_new(g, "x", F32(4), here);
    ValueId w = cst(g, "unused_w", F32(4), NULL, false);
    ir_output_add(g, op1(g, IR_OP_RELU, "y", x));
    op1(g, IR_OP_SIGMOID, "dead2", op2(g, IR_OP_MUL, "dead1", x, w));
    infer(g);
    run_checked(g, "dce", NULL);
    ck_assert_int_eq(g->n_nodes, 1); /* compacted */
    ck_assert_int_eq(g->nodes[0].op, IR_OP_RELU);
    ck_assert_int_eq(g->n_values, 2); /* x and y: the unused weight is gone too */
    ir_graph_free(g);
}
END_TEST

START_TEST(cse_merges_duplicates)
{
    Graph *g = ir_graph_new("t");
    ValueId x = ir_input_new(g, "x", F32(1, 2, 5, 5), here);
    ValueId w = cst(g, "w", F32(2, 2, 3, 3), NULL, false);
    ValueId c[3];
    for (int i = 0; i < 3; i++) {
        c[i] = op2(g, IR_OP_CONV2D, "conv", x, w);
        ir_node_set_ints(g, producer(g, c[i]), "padding", (int64_t[]){1, 1}, 2);
    }
    ir_node_set_ints(g, producer(g, c[2]), "stride", (int64_t[]){2, 2}, 2); /* differs */
    ValueId r0 = op1(g, IR_OP_RELU, "r0", c[0]), r1 = op1(g, IR_OP_RELU, "r1", c[1]);
    ir_output_add(g, op2(g, IR_OP_ADD, "y", r0, r1));
    ir_output_add(g, c[2]);
    infer(g);
    run_checked(g, "cse", NULL);
    ck_assert_int_eq(count_op(g, IR_OP_CONV2D), 2);
    ck_assert_int_eq(count_op(g, IR_OP_RELU), 1); /* a chain merges in one sweep */
    const Node *add = first_node(g, IR_OP_ADD);
    ck_assert_int_eq(add->inputs[0], add->inputs[1]);
    ir_graph_free(g);
}
END_TEST

/* A conv2d of x [1, C, H, W] by a random [4, C, 3, 3] weight and bias, padding = dilation. */
static Graph *dilated_conv(int64_t C, int64_t H, int64_t W, int64_t dh, int64_t dw, NodeId *conv)
{
    Graph *g = ir_graph_new("t");
    ValueId in[3] = {ir_input_new(g, "x", F32(1, C, H, W), here),
                     cst(g, "w", F32(4, C, 3, 3), NULL, false), cst(g, "b", F32(4), NULL, false)};
    *conv = ir_node_new(g, IR_OP_CONV2D, "conv", here, in, 3, 1);
    ir_node_set_ints(g, *conv, "padding", (int64_t[]){dh, dw}, 2);
    ir_node_set_ints(g, *conv, "dilation", (int64_t[]){dh, dw}, 2);
    ir_output_add(g, op1(g, IR_OP_RELU, "y", g->nodes[*conv].outputs[0]));
    infer(g);
    return g;
}

START_TEST(fold_conv_dead_taps)
{
    /* dilation 6 over 6x6: only the centre tap reads the input -> a 1x1 conv */
    NodeId id;
    Graph *g = dilated_conv(3, 6, 6, 6, 6, &id);
    const float w11 = const_data(g, g->nodes[id].inputs[1])[4]; /* w[0, 0, 1, 1] */
    run_checked(g, "fold", NULL);
    const Node *cn = first_node(g, IR_OP_CONV2D);
    const Shape *ws = &g->values[cn->inputs[1]].type.shape;
    ck_assert_int_eq(ws->d[2].c, 1);
    ck_assert_int_eq(ws->d[3].c, 1);
    ck_assert_float_eq(const_data(g, cn->inputs[1])[0], w11);
    int64_t pad[2], dil[2];
    ir_attr_padding(cn, pad, 2);
    ir_attr_dilation(cn, dil, 2);
    ck_assert(pad[0] == 0 && pad[1] == 0 && dil[0] == 1 && dil[1] == 1);
    ir_graph_free(g);
    /* 5x7 with dilation (3, 8): every row live, only the centre column -> [4, 2, 3, 1] */
    g = dilated_conv(2, 5, 7, 3, 8, &id);
    run_checked(g, "fold", NULL);
    cn = first_node(g, IR_OP_CONV2D);
    ws = &g->values[cn->inputs[1]].type.shape;
    ck_assert(ws->d[2].c == 3 && ws->d[3].c == 1);
    ir_attr_padding(cn, pad, 2);
    ir_attr_dilation(cn, dil, 2);
    ck_assert(pad[0] == 3 && pad[1] == 0 && dil[0] == 3 && dil[1] == 1);
    ir_graph_free(g);
    /* dilation 2 over 6x6: every tap reads the input for some output: unchanged */
    g = dilated_conv(2, 6, 6, 2, 2, &id);
    const ValueId w0 = g->nodes[id].inputs[1];
    const void *payload = g->values[w0].data;
    run_checked(g, "fold", NULL);
    cn = first_node(g, IR_OP_CONV2D);
    ck_assert_ptr_eq(g->values[cn->inputs[1]].data, payload);
    ir_graph_free(g);
}
END_TEST

/* ---- bn_fold ---- */ /* ---- bn_fold ---- */

/* batch_norm of v with C channels and random constant parameters (F.batch_norm order). */
static ValueId batch_norm(Graph *g, ValueId v, int64_t c)
{
    ValueId in[5] = {v, cst(g, "mean", F32(c), NULL, false), cst(g, "var", F32(c), NULL, true),
                     cst(g, "gamma", F32(c), NULL, false), cst(g, "beta", F32(c), NULL, false)};
    NodeId n = ir_node_new(g, IR_OP_BATCH_NORM, "bn", here, in, 5, 1);
    ir_node_set_float(g, n, "eps", 1e-3);
    return g->nodes[n].outputs[0];
}

START_TEST(bn_fold_into_conv)
{
    for (int with_bias = 0; with_bias < 2; with_bias++) {
        Graph *g = ir_graph_new("t");
        ValueId x = ir_input_new(g, "x", F32(2, 2, 5, 5), here);
        ValueId w = cst(g, "w", F32(3, 2, 3, 3), NULL, false);
        float w_copy[54];
        const void *w_payload = g->values[w].data; /* ids renumber after the pass */
        memcpy(w_copy, w_payload, sizeof w_copy);
        ValueId in[3] = {x, w, cst(g, "b", F32(3), NULL, false)};
        NodeId conv = ir_node_new(g, IR_OP_CONV2D, "conv", here, in, with_bias ? 3 : 2, 1);
        ir_node_set_ints(g, conv, "padding", (int64_t[]){1, 1}, 2);
        ValueId bn = batch_norm(g, g->nodes[conv].outputs[0], 3);
        const Node *bnn = &g->nodes[producer(g, bn)];
        float gamma1 = const_data(g, bnn->inputs[3])[1], var1 = const_data(g, bnn->inputs[2])[1];
        ir_output_add(g, op1(g, IR_OP_RELU, "y", bn));
        infer(g);
        run_checked(g, "bn_fold", NULL);
        ck_assert_int_eq(count_op(g, IR_OP_BATCH_NORM), 0);
        const Node *cn = first_node(g, IR_OP_CONV2D);
        ck_assert_int_eq(cn->n_inputs, 3);
        ck_assert_int_ne(cn->inputs[2], IR_NONE);
        /* w'[1, 0, 0, 0] = w[1, 0, 0, 0] * gamma[1] / sqrt(var[1] + eps) */
        float want = w_copy[18] * (gamma1 / sqrtf(var1 + 1e-3f));
        ck_assert_float_eq_tol(const_data(g, cn->inputs[1])[18], want, 1e-6);
        ck_assert_mem_eq(w_copy, w_payload, sizeof w_copy); /* original untouched */
        ir_graph_free(g);
    }
}
END_TEST

START_TEST(bn_fold_into_linear)
{
    for (int tr = 0; tr < 2; tr++) {
        Graph *g = ir_graph_new("t");
        ValueId x = ir_input_new(g, "x", F32(4, 3), here);
        ValueId in[3] = {
            x, tr ? cst(g, "w", F32(3, 5), NULL, false) : cst(g, "w", F32(5, 3), NULL, false),
            cst(g, "b", F32(5), NULL, false)};
        NodeId fc = ir_node_new(g, IR_OP_LINEAR, "fc", here, in, 3, 1);
        ir_node_set_int(g, fc, "w_transposed", tr);
        ir_output_add(g, batch_norm(g, g->nodes[fc].outputs[0], 5));
        infer(g);
        run_checked(g, "bn_fold", NULL);
        ck_assert_int_eq(live_nodes(g), 1);
        ck_assert_str_eq(g->values[g->outputs[0]].name, "bn"); /* the output keeps its name */
        ir_graph_free(g);
    }
}
END_TEST

START_TEST(bn_fold_lowers_to_mul_add)
{
    /* x is a graph input, and a conv output with a second use: neither can be folded */
    Graph *g = ir_graph_new("t");
    ValueId x = ir_input_new(g, "x", F32(2, 3, 4, 4), here);
    ValueId y1 = batch_norm(g, x, 3);
    ValueId c = op2(g, IR_OP_CONV2D, "conv", y1, cst(g, "w", F32(3, 3, 1, 1), NULL, false));
    ValueId y2 = batch_norm(g, c, 3);
    ir_output_add(g, op2(g, IR_OP_ADD, "y", y2, c));
    infer(g);
    run_checked(g, "bn_fold", NULL);
    ck_assert_int_eq(count_op(g, IR_OP_BATCH_NORM), 0);
    ck_assert_int_eq(count_op(g, IR_OP_MUL), 2);
    ck_assert_int_eq(count_op(g, IR_OP_ADD), 3);
    const Node *m = first_node(g, IR_OP_MUL);
    const Shape *s = &g->values[m->inputs[1]].type.shape; /* [C, 1, 1] */
    ck_assert_int_eq(s->rank, 3);
    ck_assert_int_eq(s->d[0].c, 3);
    ck_assert_int_eq(s->d[1].c, 1);
    ck_assert_int_eq(s->d[2].c, 1);
    /* and fuse then takes the mul + add into the conv's epilogue */
    run_checked(g, "fuse,dce", NULL);
    ck_assert_int_eq(first_node(g, IR_OP_CONV2D)->n_epilogue, 0); /* conv has two uses */
    ck_assert_int_eq(first_node(g, IR_OP_MUL)->n_epilogue, 1);
    ir_graph_free(g);
}
END_TEST

/* ---- layout ---- */

START_TEST(layout_transposes_once)
{
    Graph *g = ir_graph_new("t");
    ValueId x = ir_input_new(g, "x", F32(2, 4), here);
    float w[12] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}; /* [3, 4] */
    ValueId wv = cst(g, "w", F32(3, 4), w, false);
    ValueId fc = op2(g, IR_OP_LINEAR, "fc", x, wv);
    ir_output_add(g, op2(g, IR_OP_ADD, "y", fc, op2(g, IR_OP_LINEAR, "fc_shared", x, wv)));
    infer(g);
    run_checked(g, "layout", NULL);
    ck_assert_int_eq(g->nodes[0].inputs[1], g->nodes[1].inputs[1]); /* one shared copy */
    const Node *n = first_node(g, IR_OP_LINEAR);
    ck_assert_int_eq(ir_attr_w_transposed(n), 1);
    const Shape *s = &g->values[n->inputs[1]].type.shape;
    ck_assert_int_eq(s->d[0].c, 4);
    ck_assert_int_eq(s->d[1].c, 3);
    const float want[12] = {0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11};
    ck_assert_mem_eq(const_data(g, n->inputs[1]), want, sizeof want);
    int values = g->n_values;
    run_checked(g, "layout", NULL); /* idempotent */
    ck_assert_int_eq(g->n_values, values);
    ck_assert_mem_eq(const_data(g, first_node(g, IR_OP_LINEAR)->inputs[1]), want, sizeof want);
    ir_graph_free(g);
}
END_TEST

/* ---- fuse ---- */

START_TEST(fuse_conv_bias_relu)
{
    Graph *g = ir_graph_new("t");
    ValueId x = ir_input_new(g, "x", F32(1, 2, 4, 4), here);
    ValueId c = op2(g, IR_OP_CONV2D, "conv", x, cst(g, "w", F32(3, 2, 3, 3), NULL, false));
    ValueId b = cst(g, "bias", F32(3, 1, 1), NULL, false);
    ValueId r = op1(g, IR_OP_RELU, "relu", op2(g, IR_OP_ADD, "plus", c, b));
    ir_output_add(g, op1(g, IR_OP_MAX_POOL2D, "pool", r));
    ir_node_set_ints(g, producer(g, g->outputs[0]), "kernel", (int64_t[]){2, 2}, 2);
    infer(g);
    run_checked(g, "fuse", NULL);
    ck_assert_int_eq(live_nodes(g), 2);
    const Node *n = first_node(g, IR_OP_CONV2D);
    ck_assert_int_eq(n->n_epilogue, 2);
    ck_assert_int_eq(n->epilogue[0].op, IR_OP_ADD);
    ck_assert_str_eq(g->values[n->epilogue[0].operand].name, "bias");
    ck_assert(!n->epilogue[0].operand_first);
    ck_assert_int_eq(n->epilogue[1].op, IR_OP_RELU);
    ck_assert_int_eq(n->epilogue[1].operand, IR_NONE);
    ck_assert_str_eq(g->values[n->outputs[0]].name, "relu"); /* downstream names stay */
    ir_graph_free(g);
}
END_TEST

START_TEST(fuse_residual_and_operand_first)
{
    Graph *g = ir_graph_new("t");
    ValueId x = ir_input_new(g, "x", F32(2, 4), here);
    ValueId h = op2(g, IR_OP_LINEAR, "fc1", x, cst(g, "w", F32(4, 4), NULL, false));
    h = op1(g, IR_OP_TANH, "t", h);
    h = op2(g, IR_OP_ADD, "res", x, h);                                          /* x + h */
    h = op2(g, IR_OP_SUB, "rsub", cst(g, "k", F32(4), NULL, false), h);          /* k - h */
    h = op2(g, IR_OP_DIV, "rdiv", cst(g, "k2", F32(1), (float[]){3}, false), h); /* 3 / h */
    ir_output_add(g, op1(g, IR_OP_RELU, "y", h));
    infer(g);
    run_checked(g, "fuse", NULL);
    ck_assert_int_eq(live_nodes(g), 1);
    const Node *n = first_node(g, IR_OP_LINEAR);
    ck_assert_int_eq(n->n_epilogue, 5);
    const OpKind ops[5] = {IR_OP_TANH, IR_OP_ADD, IR_OP_SUB, IR_OP_DIV, IR_OP_RELU};
    const bool first[5] = {false, false, true, true, false};
    for (int i = 0; i < 5; i++) {
        ck_assert_int_eq(n->epilogue[i].op, ops[i]);
        ck_assert_int_eq(n->epilogue[i].operand_first, first[i]);
    }
    ck_assert_int_eq(n->epilogue[1].operand, g->inputs[0]);
    ir_graph_free(g);
}
END_TEST

START_TEST(fuse_conditions)
{
    Graph *g = ir_graph_new("t");
    ValueId x = ir_input_new(g, "x", F32(2, 3), here);
    ValueId w = cst(g, "w", F32(3, 3), NULL, false);
    ValueId h1 = op2(g, IR_OP_LINEAR, "fc1", x, w);
    ValueId h2 = op1(g, IR_OP_SIGMOID, "s", x);     /* after fc1 in the order */
    ValueId sum = op2(g, IR_OP_ADD, "sum", h1, h2); /* fc1 cannot take it; s can */
    ValueId h3 = op2(g, IR_OP_LINEAR, "fc2", sum, w);
    ValueId big = op2(g, IR_OP_MUL, "big", h3, cst(g, "k", F32(4, 2, 3), NULL, false));
    ValueId h4 = op2(g, IR_OP_LINEAR, "fc3", x, w);
    ValueId t4 = op1(g, IR_OP_TANH, "t4", h4); /* h4 is also a graph output */
    ir_output_add(g, big);
    ir_output_add(g, t4);
    ir_output_add(g, h4);
    infer(g);
    run_checked(g, "fuse", NULL);
    const Node *s = first_node(g, IR_OP_SIGMOID);
    ck_assert_int_eq(s->n_epilogue, 1);
    ck_assert_int_eq(s->epilogue[0].op, IR_OP_ADD);
    ck_assert_str_eq(g->values[s->epilogue[0].operand].name, "fc1");
    for (int i = 0; i < g->n_nodes; i++)
        if (g->nodes[i].op == IR_OP_LINEAR)
            ck_assert_int_eq(g->nodes[i].n_epilogue, 0); /* shape change; two uses */
    ck_assert_int_eq(count_op(g, IR_OP_MUL), 1);
    ck_assert_int_eq(count_op(g, IR_OP_TANH), 1);
    ir_graph_free(g);
}
END_TEST

START_TEST(fuse_up_to_max_epilogue)
{
    Graph *g = ir_graph_new("t");
    ValueId x = ir_input_new(g, "x", F32(2, 3), here);
    ValueId h = op2(g, IR_OP_LINEAR, "fc", x, cst(g, "w", F32(3, 3), NULL, false));
    for (int i = 0; i < IR_MAX_EPILOGUE + 2; i++)
        h = op1(g, i % 2 ? IR_OP_TANH : IR_OP_SIGMOID, "act", h);
    ir_output_add(g, h);
    infer(g);
    run_checked(g, "fuse", NULL);
    ck_assert_int_eq(live_nodes(g), 2);
    ck_assert_int_eq(first_node(g, IR_OP_LINEAR)->n_epilogue, IR_MAX_EPILOGUE);
    ck_assert_int_eq(first_node(g, IR_OP_SIGMOID)->n_epilogue, 1);
    ir_graph_free(g);
}
END_TEST

/* A LeNet-shaped graph: conv -> bn -> relu -> pool -> flatten -> fc -> relu -> fc -> lsm */
static Graph *lenet_like(void)
{
    Graph *g = ir_graph_new("lenet");
    int n = ir_graph_symbol(g, "N");
    Type t = F32(1, 1, 8, 8);
    t.shape.d[0] = (Dim){1, 1u << n};
    ValueId x = ir_input_new(g, "x", t, here);
    ValueId in[3] = {x, cst(g, "conv1.weight", F32(4, 1, 3, 3), NULL, false),
                     cst(g, "conv1.bias", F32(4), NULL, false)};
    NodeId conv = ir_node_new(g, IR_OP_CONV2D, "conv1", here, in, 3, 1);
    ValueId h = g->nodes[conv].outputs[0];
    h = op1(g, IR_OP_RELU, "relu1", batch_norm(g, h, 4));
    h = op1(g, IR_OP_MAX_POOL2D, "pool1", h);
    ir_node_set_ints(g, producer(g, h), "kernel", (int64_t[]){2, 2}, 2);
    h = op1(g, IR_OP_FLATTEN, "flat", h);
    ValueId fin[3] = {h, cst(g, "fc1.weight", F32(10, 36), NULL, false),
                      cst(g, "fc1.bias", F32(10), NULL, false)};
    NodeId fc1 = ir_node_new(g, IR_OP_LINEAR, "fc1", here, fin, 3, 1);
    h = g->nodes[fc1].outputs[0];
    h = op1(g, IR_OP_RELU, "relu2", h);
    h = op2(g, IR_OP_LINEAR, "fc2", h, cst(g, "fc2.weight", F32(3, 10), NULL, false));
    h = op1(g, IR_OP_LOG_SOFTMAX, "out", h);
    ir_node_set_int(g, producer(g, h), "axis", 1);
    ir_output_add(g, h);
    infer(g);
    return g;
}

START_TEST(pipeline_end_to_end)
{
    int64_t syms[IR_MAX_SYMS] = {3};
    Graph *g = lenet_like();
    run_checked(g, "fold,bn_fold,fold,dce,cse,layout,fuse,dce", syms);
    ck_assert_int_eq(count_op(g, IR_OP_BATCH_NORM), 0);
    ck_assert_int_eq(count_op(g, IR_OP_RELU), 0);
    ck_assert_int_eq(first_node(g, IR_OP_CONV2D)->n_epilogue, 1);
    ck_assert_int_eq(live_nodes(g), 6);
    ir_graph_free(g);
    /* the default pipeline parses */
    g = ir_graph_new("t");
    PassPipeline pl;
    Diag d;
    ir_diag_init(&d);
    ck_assert(pass_pipeline_parse(g, pass_default_pipeline(), (SrcLoc){0}, &pl, &d));
    /* place (issue 16) after cse, sparse (issue 17) after layout, linearize, gelu, lnorm and
     * attention (issue 20) before place, act (issue 20) before bn_fold, conv_taps (issue 20)
     * first after the clean-up, qtaps (issue 20) after sparse */
    ck_assert_int_eq(pl.n, 20);
    ir_diag_fini(&d);
    ir_graph_free(g);
}
END_TEST

/* ---- the pipeline parser and runner ---- */

/* The message pass_pipeline_parse gives for pipeline written at loc. */
static char *parse_message(const char *pipeline, SrcLoc loc)
{
    Graph *g = ir_graph_new("t");
    PassPipeline pl;
    Diag d;
    ir_diag_init(&d);
    ck_assert(!pass_pipeline_parse(g, pipeline, loc, &pl, &d));
    ck_assert_int_eq(pl.n, 0);
    ck_assert_int_eq(d.n_errors, 1);
    char *msg = strdup(ir_diag_text(&d));
    ir_diag_fini(&d);
    ir_graph_free(g);
    return msg;
}

#define EXPECT_PARSE_ERROR(pipeline, loc, want)                                                    \
    do {                                                                                           \
        char *m_ = parse_message(pipeline, loc);                                                   \
        ck_assert_str_eq(m_, want);                                                                \
        free(m_);                                                                                  \
    } while (0)

START_TEST(parse_errors)
{
    const SrcLoc cli = {0};
    EXPECT_PARSE_ERROR("fold,,dce", cli,
                       "--passes:1:6: error: expected a pass name, found ','\n"
                       "  fold,,dce\n"
                       "       ^\n");
    EXPECT_PARSE_ERROR(
        "fold, fsue", cli,
        "--passes:1:7: error: unknown pass 'fsue' (known passes: fold, dce, cse, "
        "bn_fold, conv_taps, linearize, gelu, act, lnorm, attention, layout, sparse, qtaps, fuse, "
        "memplan, "
        "quantize, qdq, qchain, prune, finetune, place)\n"
        "  fold, fsue\n"
        "        ^\n");
    EXPECT_PARSE_ERROR("fold dce", cli,
                       "--passes:1:6: error: expected ',' between passes, found 'd'\n"
                       "  fold dce\n"
                       "       ^\n");
    EXPECT_PARSE_ERROR("fold,", cli,
                       "--passes:1:6: error: expected a pass name after ','\n"
                       "  fold,\n"
                       "       ^\n");
    EXPECT_PARSE_ERROR("quantize(int8, calibrate=\"calib.npy)", cli,
                       "--passes:1:26: error: unterminated string\n"
                       "  quantize(int8, calibrate=\"calib.npy)\n"
                       "                           ^\n");
    EXPECT_PARSE_ERROR("prune(amount=0.5x)", cli,
                       "--passes:1:17: error: malformed number\n"
                       "  prune(amount=0.5x)\n"
                       "                  ^\n");
    EXPECT_PARSE_ERROR("prune(amount=0.5", cli,
                       "--passes:1:17: error: expected ',' or ')' in the arguments, found the end "
                       "of the pipeline\n"
                       "  prune(amount=0.5\n"
                       "                  ^\n");
    /* inside a model file: columns count from where the pipeline starts */
    EXPECT_PARSE_ERROR(
        "fold(max_mb=)", ((SrcLoc){"m.slim", 12, 5}),
        "m.slim:12:17: error: expected an argument (a name, number, string or call), found ')'\n");
    EXPECT_PARSE_ERROR(
        "fold,\n  bogus", ((SrcLoc){"m.slim", 12, 5}),
        "m.slim:13:3: error: unknown pass 'bogus' (known passes: fold, dce, cse, "
        "bn_fold, conv_taps, linearize, gelu, act, lnorm, attention, layout, sparse, qtaps, fuse, "
        "memplan, "
        "quantize, qdq, qchain, prune, finetune, place)\n");
}
END_TEST

START_TEST(parse_arguments)
{
    Graph *g = ir_graph_new("t");
    PassPipeline pl;
    Diag d;
    ir_diag_init(&d);
    const char *p = " fold , quantize(int8, per_channel, calibrate=\"a \\\"b\\\\\", "
                    "method=percentile(99.99), eps=1e-3) ,prune(amount=50%, layer2.0.conv1),dce()";
    ck_assert_msg(pass_pipeline_parse(g, p, (SrcLoc){0}, &pl, &d), "%s", ir_diag_text(&d));
    const PassArgs *calls = pl.steps;
    ck_assert_int_eq(pl.n, 4);
    ck_assert_str_eq(calls[0].name, "fold");
    ck_assert_int_eq(calls[0].n, 0);
    ck_assert_int_eq(calls[0].loc.col, 2);
    const PassArgs *q = &calls[1];
    ck_assert_int_eq(q->n, 5);
    ck_assert_ptr_null(q->args[0].key);
    ck_assert_int_eq(q->args[0].kind, PASS_ARG_NAME);
    ck_assert_str_eq(q->args[0].text, "int8");
    ck_assert_str_eq(q->args[1].text, "per_channel");
    ck_assert_str_eq(pass_arg(q, "calibrate")->text, "a \"b\\");
    ck_assert_int_eq(pass_arg(q, "calibrate")->kind, PASS_ARG_STRING);
    const PassArg *m = pass_arg(q, "method");
    ck_assert_int_eq(m->kind, PASS_ARG_CALL);
    ck_assert_str_eq(m->call->name, "percentile");
    ck_assert_int_eq(m->call->args[0].kind, PASS_ARG_NUMBER);
    ck_assert_double_eq_tol(m->call->args[0].number, 99.99, 1e-12);
    ck_assert_double_eq_tol(pass_arg(q, "eps")->number, 1e-3, 1e-15);
    const PassArg *amount = pass_arg(&calls[2], "amount");
    ck_assert_double_eq_tol(amount->number, 0.5, 1e-15);
    ck_assert_str_eq(amount->text, "50%");
    ck_assert_str_eq(calls[2].args[1].text, "layer2.0.conv1");
    ck_assert_int_eq(calls[3].n, 0);
    /* an empty pipeline runs nothing */
    ck_assert(pass_pipeline_parse(g, "  ", (SrcLoc){0}, &pl, &d));
    ck_assert_int_eq(pl.n, 0);
    ir_diag_fini(&d);
    ir_graph_free(g);
}
END_TEST

START_TEST(run_errors)
{
    Graph *g = ir_graph_new("t");
    ValueId x = ir_input_new(g, "x", F32(2), here);
    ir_output_add(g, op1(g, IR_OP_RELU, "y", x));
    infer(g);
    Diag d;
    ir_diag_init(&d);
    /* distillation is a command (slimc distill), not a pass */
    ck_assert(!pass_pipeline_run(g, "fold,distill(int8)", (SrcLoc){0}, NULL, &d));
    ck_assert_ptr_nonnull(strstr(ir_diag_text(&d), "unknown pass 'distill'"));
    ir_diag_fini(&d);
    ir_diag_init(&d);
    ck_assert(!pass_pipeline_run(g, "dce(1)", (SrcLoc){0}, NULL, &d));
    ck_assert_str_eq(ir_diag_text(&d), "--passes:1:1: error: pass 'dce' takes no arguments\n"
                                       "  dce(1)\n"
                                       "  ^\n");
    ir_diag_fini(&d);
    ir_diag_init(&d);
    ck_assert(!pass_pipeline_run(g, "fold(limit=3)", (SrcLoc){0}, NULL, &d));
    ck_assert_str_eq(
        ir_diag_text(&d),
        "--passes:1:6: error: pass 'fold' has no argument 'limit' (its arguments: max_mb)\n"
        "  fold(limit=3)\n"
        "       ^\n");
    ir_diag_fini(&d);
    ck_assert(pass_lookup("prune") != NULL);
    ck_assert(pass_lookup("nope") == NULL);
    ir_graph_free(g);
}
END_TEST

START_TEST(print_after)
{
    Graph *g = ir_graph_new("t");
    ValueId x = ir_input_new(g, "x", F32(2), here);
    ir_output_add(g, op1(g, IR_OP_RELU, "y", op1(g, IR_OP_TANH, "t", x)));
    infer(g);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    Diag d;
    ir_diag_init(&d);
    PassRunOptions o = {.print_after = "fuse", .print_to = f, .verify = true};
    ck_assert(pass_pipeline_run(g, "dce,fuse,dce", (SrcLoc){0}, &o, &d));
    fclose(f);
    ck_assert_msg(strncmp(buf, "; IR after fuse\n", 16) == 0, "%s", buf);
    ck_assert_ptr_null(strstr(buf + 1, "; IR after"));
    ck_assert_ptr_nonnull(strstr(buf, "tanh"));
    free(buf);
    f = open_memstream(&buf, &len);
    o.print_after = "all";
    o.print_to = f;
    ck_assert(pass_pipeline_run(g, "dce,cse", (SrcLoc){0}, &o, &d));
    fclose(f);
    const char *second = strstr(buf, "; IR after cse\n");
    ck_assert(strncmp(buf, "; IR after dce\n", 15) == 0);
    ck_assert_ptr_nonnull(second);
    free(buf);
    ir_diag_fini(&d);
    ir_graph_free(g);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("passes");
    TCase *tc = tcase_create("passes");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, fold_constants);
    tcase_add_test(tc, fold_respects_limit_and_outputs);
    tcase_add_test(tc, fold_exact_identities);
    tcase_add_test(tc, fold_views);
    tcase_add_test(tc, fold_views_symbolic);
    tcase_add_test(tc, fold_conv_dead_taps);
    tcase_add_test(tc, dce_removes_unused);
    tcase_add_test(tc, cse_merges_duplicates);
    tcase_add_test(tc, bn_fold_into_conv);
    tcase_add_test(tc, bn_fold_into_linear);
    tcase_add_test(tc, bn_fold_lowers_to_mul_add);
    tcase_add_test(tc, layout_transposes_once);
    tcase_add_test(tc, fuse_conv_bias_relu);
    tcase_add_test(tc, fuse_residual_and_operand_first);
    tcase_add_test(tc, fuse_conditions);
    tcase_add_test(tc, fuse_up_to_max_epilogue);
    tcase_add_test(tc, pipeline_end_to_end);
    suite_add_tcase(s, tc);
    TCase *tp = tcase_create("pipeline");
    tcase_set_timeout(tp, 120);
    tcase_add_test(tp, parse_errors);
    tcase_add_test(tp, parse_arguments);
    tcase_add_test(tp, run_errors);
    tcase_add_test(tp, print_after);
    suite_add_tcase(s, tp);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
