/* bn_fold on batch norms that do not follow a plain conv (issue 19): the six-node graph of
 * a PP-OCR-style detector (conv -> batch_norm -> relu -> conv_transpose2d -> add with the
 * batch_norm's output -> batch_norm) once broke the verifier after bn_fold (a folded batch
 * norm, dead, still claimed its output when the pass re-placed the appended nodes), a
 * batch_norm after a conv_transpose2d folds into its weight (grouped too), and one after an
 * add becomes mul + add. Each graph runs through the pipeline with the verifier on, and the
 * reference evaluator gives the same numbers before and after (max|a - b| <= 1e-5 max|b|). */
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

static uint32_t rng = 1919;
static float frand(void) /* uniform in [-1, 1) */
{
    rng = rng * 1664525u + 1013904223u;
    return (float)(rng >> 8) / (float)(1u << 23) - 1.0f;
}

/* A random constant of type t (positive if pos). */
static ValueId cst(Graph *g, const char *name, Type t, bool pos)
{
    int64_t n = 1;
    for (int i = 0; i < t.shape.rank; i++)
        n *= t.shape.d[i].c;
    float *p = ir_arena_alloc(g->arena, sizeof(float) * (size_t)(n ? n : 1));
    for (int64_t i = 0; i < n; i++)
        p[i] = pos ? 0.5f + fabsf(frand()) : frand();
    return ir_const_new(g, name, t, p, sizeof(float) * (size_t)n, here);
}

static ValueId node(Graph *g, OpKind op, const char *name, const ValueId *in, int n_in)
{
    NodeId n = ir_node_new(g, op, name, here, in, n_in, 1); /* g->nodes may move */
    return g->nodes[n].outputs[0];
}

static ValueId batch_norm(Graph *g, const char *name, ValueId v, int64_t c)
{
    ValueId in[5] = {v, cst(g, "mean", F32(c), false), cst(g, "var", F32(c), true),
                     cst(g, "gamma", F32(c), false), cst(g, "beta", F32(c), false)};
    ValueId y = node(g, IR_OP_BATCH_NORM, name, in, 5);
    ir_node_set_float(g, g->values[y].producer, "eps", 1e-5);
    return y;
}

/* conv_transpose2d(x, w [Cin, C/groups, 3, 3]) with padding 1 (and stride). */
static ValueId conv_t(Graph *g, ValueId x, int64_t cin, int64_t c, int64_t groups, int64_t stride)
{
    ValueId in[3] = {x, cst(g, "tw", F32(cin, c / groups, 3, 3), false),
                     cst(g, "tb", F32(c), false)};
    ValueId y = node(g, IR_OP_CONV_TRANSPOSE2D, "convt", in, 3);
    NodeId n = g->values[y].producer;
    ir_node_set_ints(g, n, "padding", (int64_t[]){1, 1}, 2);
    ir_node_set_ints(g, n, "stride", (int64_t[]){stride, stride}, 2);
    ir_node_set_int(g, n, "groups", groups);
    return y;
}

static int count_op(const Graph *g, OpKind op)
{
    int c = 0;
    for (int i = 0; i < g->n_nodes; i++)
        c += !g->nodes[i].dead && g->nodes[i].op == op;
    return c;
}

static void infer(Graph *g)
{
    Diag d;
    ir_diag_init(&d);
    ck_assert_msg(ir_infer_shapes(g, &d), "%s", ir_diag_text(&d));
    ir_diag_fini(&d);
}

static int64_t numel(const Graph *g, ValueId v)
{
    const Shape *s = &g->values[v].type.shape;
    int64_t n = 1;
    for (int i = 0; i < s->rank; i++)
        n *= s->d[i].c;
    return n;
}

/* Runs pipeline on g (verifier on) and checks its one output is what it was on a random
 * input. */
static void run_checked(Graph *g, const char *pipeline)
{
    ck_assert_int_eq(g->n_inputs, 1);
    ck_assert_int_eq(g->n_outputs, 1);
    int64_t nx = numel(g, g->inputs[0]), ny = numel(g, g->outputs[0]);
    float *x = malloc(sizeof(float) * (size_t)nx);
    for (int64_t i = 0; i < nx; i++)
        x[i] = 2 * frand();
    const void *in[1] = {x};
    void *before[1], *after[1];
    Diag d;
    ir_diag_init(&d);
    ck_assert_msg(ir_eval_graph(g, in, before, NULL, &d), "%s", ir_diag_text(&d));
    PassRunOptions o = {.verify = true};
    ck_assert_msg(pass_pipeline_run(g, pipeline, (SrcLoc){0}, &o, &d), "pipeline '%s': %s",
                  pipeline, ir_diag_text(&d));
    ck_assert_int_eq(numel(g, g->outputs[0]), ny);
    ck_assert_msg(ir_eval_graph(g, in, after, NULL, &d), "%s", ir_diag_text(&d));
    ir_diag_fini(&d);
    const float *a = after[0], *b = before[0];
    double max_b = 0, diff = 0;
    for (int64_t k = 0; k < ny; k++) {
        max_b = fmax(max_b, fabs(b[k]));
        diff = fmax(diff, fabs(a[k] - b[k]));
    }
    ck_assert_msg(diff <= 1e-5 * max_b, "%s: output differs by %g (max %g)", pipeline, diff, max_b);
    free(before[0]);
    free(after[0]);
    free(x);
}

/* The six nodes of issue 19. */
static Graph *six_nodes(void)
{
    Graph *g = ir_graph_new("bn6");
    ValueId x = ir_input_new(g, "x", F32(1, 3, 8, 8), here);
    ValueId cin[3] = {x, cst(g, "cw", F32(4, 3, 3, 3), false), cst(g, "cb", F32(4), false)};
    ValueId c = node(g, IR_OP_CONV2D, "conv", cin, 3);
    ir_node_set_ints(g, g->values[c].producer, "padding", (int64_t[]){1, 1}, 2);
    ValueId b = batch_norm(g, "bn1", c, 4);
    ValueId r = node(g, IR_OP_RELU, "relu", &b, 1);
    ValueId t = conv_t(g, r, 4, 4, 1, 1);
    ValueId sum_in[2] = {t, b};
    ValueId s = node(g, IR_OP_ADD, "add", sum_in, 2);
    ir_output_add(g, batch_norm(g, "bn2", s, 4));
    infer(g);
    return g;
}

START_TEST(six_nodes_bn_fold)
{
    Graph *g = six_nodes();
    run_checked(g, "bn_fold");
    ck_assert_int_eq(count_op(g, IR_OP_BATCH_NORM), 0);
    /* bn1 folded into the conv (its output keeps bn1's name); bn2, after the add, became a
     * mul and an add; conv_transpose2d's output goes to the add, so nothing folds into it */
    ck_assert_int_eq(count_op(g, IR_OP_CONV2D), 1);
    ck_assert_int_eq(count_op(g, IR_OP_MUL), 1);
    ck_assert_int_eq(count_op(g, IR_OP_ADD), 2);
    ck_assert_str_eq(g->values[g->nodes[0].outputs[0]].name, "bn1");
    ir_graph_free(g);
}
END_TEST

START_TEST(six_nodes_default_pipeline)
{
    Graph *g = six_nodes();
    run_checked(g, pass_default_pipeline());
    ck_assert_int_eq(count_op(g, IR_OP_BATCH_NORM), 0);
    ir_graph_free(g);
}
END_TEST

/* batch_norm after conv_transpose2d (plain, strided, grouped) folds into its weights. */
START_TEST(bn_after_conv_transpose_folds)
{
    const int64_t cases[][3] = {{4, 6, 1}, {4, 6, 2}, {6, 4, 2}}; /* Cin, C, groups */
    for (int k = 0; k < 3; k++)
        for (int64_t stride = 1; stride <= 2; stride++) {
            Graph *g = ir_graph_new("t");
            int64_t cin = cases[k][0], c = cases[k][1], groups = cases[k][2];
            ValueId x = ir_input_new(g, "x", F32(2, cin, 5, 5), here);
            ir_output_add(g, batch_norm(g, "bn", conv_t(g, x, cin, c, groups, stride), c));
            infer(g);
            run_checked(g, "bn_fold");
            ck_assert_int_eq(count_op(g, IR_OP_BATCH_NORM), 0);
            ck_assert_int_eq(count_op(g, IR_OP_MUL), 0);
            ck_assert_int_eq(count_op(g, IR_OP_CONV_TRANSPOSE2D), 1);
            ir_graph_free(g);
        }
}
END_TEST

/* batch_norm after non-conv producers (an add, a relu, an input) lowers to mul + add. */
START_TEST(bn_after_other_producers)
{
    Graph *g = ir_graph_new("t");
    ValueId x = ir_input_new(g, "x", F32(2, 3, 4, 4), here);
    ValueId sum_in[2] = {x, cst(g, "k", F32(3, 1, 1), false)};
    ValueId s = node(g, IR_OP_ADD, "add", sum_in, 2);
    ValueId b1 = batch_norm(g, "bn1", s, 3);
    ValueId r = node(g, IR_OP_RELU, "relu", &b1, 1);
    ValueId b2 = batch_norm(g, "bn2", r, 3);
    ValueId both[2] = {b2, batch_norm(g, "bn3", x, 3)};
    ir_output_add(g, node(g, IR_OP_MUL, "y", both, 2));
    infer(g);
    run_checked(g, "bn_fold,fuse,dce");
    ck_assert_int_eq(count_op(g, IR_OP_BATCH_NORM), 0);
    ir_graph_free(g);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("bnfold_nonconv");
    TCase *tc = tcase_create("bn_fold");
    tcase_add_test(tc, six_nodes_bn_fold);
    tcase_add_test(tc, six_nodes_default_pipeline);
    tcase_add_test(tc, bn_after_conv_transpose_folds);
    tcase_add_test(tc, bn_after_other_producers);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
