/* Exported linear layers taken as linears by quantize (issue 19, passes/quant_linear.c):
 * matmul(x, W) with a constant f32 W [K, N], and the add of a constant bias that follows,
 * become linear(x, W^T, bias); a weight two layers share is transposed once; what is not a
 * linear layer (a batched weight, a product read twice, a bias that is not [N]) stays. The
 * graph verifies after the rewrite, and the reference evaluator gives the same numbers
 * before and after (max|a - b| <= 1e-5 max|b|). */
#include "ir/eval.h"
#include "passes/pass.h"
#include "passes/quant_internal.h"

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

static uint32_t rng = 4242;
static float frand(void) /* uniform in [-1, 1) */
{
    rng = rng * 1664525u + 1013904223u;
    return (float)(rng >> 8) / (float)(1u << 23) - 1.0f;
}

static ValueId cst(Graph *g, const char *name, Type t)
{
    int64_t n = 1;
    for (int i = 0; i < t.shape.rank; i++)
        n *= t.shape.d[i].c;
    float *p = ir_arena_alloc(g->arena, sizeof(float) * (size_t)(n ? n : 1));
    for (int64_t i = 0; i < n; i++)
        p[i] = frand();
    return ir_const_new(g, name, t, p, sizeof(float) * (size_t)n, here);
}

static ValueId op2(Graph *g, OpKind op, const char *name, ValueId a, ValueId b)
{
    ValueId in[2] = {a, b};
    NodeId n = ir_node_new(g, op, name, here, in, 2, 1);
    return g->nodes[n].outputs[0];
}

static int count_op(const Graph *g, OpKind op)
{
    int c = 0;
    for (int i = 0; i < g->n_nodes; i++)
        c += !g->nodes[i].dead && g->nodes[i].op == op;
    return c;
}

static int64_t numel(const Graph *g, ValueId v)
{
    const Shape *s = &g->values[v].type.shape;
    int64_t n = 1;
    for (int i = 0; i < s->rank; i++)
        n *= s->d[i].c;
    return n;
}

/* Infers g's shapes, evaluates it on a random input, takes its matmuls (expecting `taken`),
 * verifies it and checks every output is what it was; both forms of the linears made
 * ([N, K] copies for quantize, and linearize's W [K, N] itself with w_transposed=1), the
 * second on a clone of g. */
static void take_checked_as(Graph *g, int taken, bool kn);
static void take_checked(Graph *g, int taken)
{
    Graph *c = ir_graph_clone(g);
    take_checked_as(g, taken, false);
    take_checked_as(c, taken, true);
    for (NodeId i = 0; i < c->n_nodes; i++)
        if (!c->nodes[i].dead && c->nodes[i].op == IR_OP_LINEAR)
            ck_assert_int_eq(ir_attr_w_transposed(&c->nodes[i]), 1);
    ir_graph_free(c);
}

static void take_checked_as(Graph *g, int taken, bool kn)
{
    Diag d;
    ir_diag_init(&d);
    ck_assert_msg(ir_infer_shapes(g, &d), "%s", ir_diag_text(&d));
    ck_assert_int_eq(g->n_inputs, 1);
    int64_t nx = numel(g, g->inputs[0]);
    float *x = malloc(sizeof(float) * (size_t)nx);
    for (int64_t i = 0; i < nx; i++)
        x[i] = 2 * frand();
    const void *in[1] = {x};
    void *before[4], *after[4];
    ck_assert_int_le(g->n_outputs, 4);
    ck_assert_msg(ir_eval_graph(g, in, before, NULL, &d), "%s", ir_diag_text(&d));
    ck_assert_int_eq(pass_quant_take_matmuls(g, kn), taken);
    ck_assert_msg(ir_infer_shapes(g, &d), "%s", ir_diag_text(&d));
    ck_assert_msg(ir_verify(g, &d), "%s", ir_diag_text(&d));
    ck_assert_msg(ir_eval_graph(g, in, after, NULL, &d), "%s", ir_diag_text(&d));
    ir_diag_fini(&d);
    for (int o = 0; o < g->n_outputs; o++) {
        const float *a = after[o], *b = before[o];
        double max_b = 0, diff = 0;
        for (int64_t k = 0; k < numel(g, g->outputs[o]); k++) {
            max_b = fmax(max_b, fabs(b[k]));
            diff = fmax(diff, fabs(a[k] - b[k]));
        }
        ck_assert_msg(diff <= 1e-5 * max_b, "output %d differs by %g (max %g)", o, diff, max_b);
        free(before[o]);
        free(after[o]);
    }
    free(x);
}

START_TEST(matmul_add_becomes_linear)
{
    Graph *g = ir_graph_new("t");
    ValueId x = ir_input_new(g, "x", F32(2, 3, 4), here);
    ValueId w = cst(g, "w", F32(4, 5));
    /* add(bias, matmul): the bias first, as [1, 5] */
    ValueId y1 =
        op2(g, IR_OP_ADD, "fc1.add", cst(g, "b", F32(1, 5)), op2(g, IR_OP_MATMUL, "fc1", x, w));
    ValueId y2 = op2(g, IR_OP_MATMUL, "fc2", y1, cst(g, "w2", F32(5, 6)));
    ir_output_add(g, op2(g, IR_OP_ADD, "fc2.add", y2, cst(g, "b2", F32(6))));
    ir_output_add(g, op2(g, IR_OP_MATMUL, "fc3", x, w)); /* shares fc1's weight; an output */
    take_checked(g, 3);
    ck_assert_int_eq(count_op(g, IR_OP_MATMUL), 0);
    ck_assert_int_eq(count_op(g, IR_OP_LINEAR), 3);
    ck_assert_int_eq(count_op(g, IR_OP_ADD), 0); /* both biases taken in */
    const Node *fc1 = NULL, *fc3 = NULL;
    for (int i = 0; i < g->n_nodes; i++) {
        fc1 = strcmp(g->nodes[i].name, "fc1") == 0 ? &g->nodes[i] : fc1;
        fc3 = strcmp(g->nodes[i].name, "fc3") == 0 ? &g->nodes[i] : fc3;
    }
    ck_assert_ptr_nonnull(fc1);
    ck_assert_ptr_nonnull(fc3);
    ck_assert_int_eq(fc1->n_inputs, 3);
    ck_assert_int_eq(fc3->n_inputs, 2);
    ck_assert_int_eq(fc1->inputs[1], fc3->inputs[1]);        /* one transposed copy */
    const Shape *ws = &g->values[fc1->inputs[1]].type.shape; /* PyTorch's [out, in] */
    ck_assert_int_eq(ws->d[0].c, 5);
    ck_assert_int_eq(ws->d[1].c, 4);
    ck_assert_str_eq(g->values[g->outputs[0]].name, "fc2.add"); /* the output keeps its name */
    ir_graph_free(g);
}
END_TEST

START_TEST(what_stays_matmul)
{
    Graph *g = ir_graph_new("t");
    ValueId x = ir_input_new(g, "x", F32(2, 3, 4), here);
    ValueId batched = op2(g, IR_OP_MATMUL, "batched", x, cst(g, "wb", F32(2, 4, 4)));
    /* read twice: the add is not a bias of it alone, so it stays */
    ValueId twice = op2(g, IR_OP_MATMUL, "twice", batched, cst(g, "w", F32(4, 4)));
    ValueId sum = op2(g, IR_OP_ADD, "sum", twice, cst(g, "b", F32(4)));
    ValueId both = op2(g, IR_OP_MUL, "both", sum, twice);
    /* a "bias" of [3, 1] broadcasts another way: not a bias */
    ValueId odd = op2(g, IR_OP_MATMUL, "odd", both, cst(g, "w3", F32(4, 1)));
    ir_output_add(g, op2(g, IR_OP_ADD, "odd.add", odd, cst(g, "b3", F32(3, 1))));
    take_checked(g, 2);
    ck_assert_int_eq(count_op(g, IR_OP_MATMUL), 1); /* the batched one */
    ck_assert_int_eq(count_op(g, IR_OP_LINEAR), 2);
    ck_assert_int_eq(count_op(g, IR_OP_ADD), 2);
    ir_graph_free(g);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("quant_matmul");
    TCase *tc = tcase_create("take_matmuls");
    tcase_add_test(tc, matmul_add_becomes_linear);
    tcase_add_test(tc, what_stays_matmul);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
