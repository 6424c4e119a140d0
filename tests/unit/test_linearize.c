/* The linearize pass's split of a sliced projection (passes/linearize.c): a linear whose every
 * use is a slice of its features becomes one linear per slice (bounds clamped as ONNX's
 * Slice, negative from the end), computing what a plain C loop computes for x W[lo:hi]^T +
 * b[lo:hi]; a linear with another use, a slice along another axis or of step 2, stays. The
 * matmul + add half is passes/quant_linear.c's, tested by test_quant_matmul.c. */
#include "ir/eval.h"
#include "passes/pass.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>

static const SrcLoc here = {"test", 1, 1};

enum { M = 6, K = 5, N = 12 }; /* x [2, 3, K], w [N, K], b [N] */

static uint32_t rng = 99;
static float frand(void) /* uniform in [-1, 1) */
{
    rng = rng * 1664525u + 1013904223u;
    return (float)(rng >> 8) / (float)(1u << 23) - 1.0f;
}

static float xs[M * K], ws[N * K], wts[K * N], bs[N];

/* The projection y = x w^T + b; with tr its weight is stored [K, N] (w_transposed=1, the
 * form linearize gives the exported MatMuls it takes). */
static Graph *projection_as(ValueId *y, bool tr);
static Graph *projection(ValueId *y)
{
    return projection_as(y, false);
}

static Graph *projection_as(ValueId *y, bool tr)
{
    for (int i = 0; i < M * K; i++)
        xs[i] = frand();
    for (int i = 0; i < N * K; i++)
        ws[i] = frand();
    for (int i = 0; i < N; i++)
        bs[i] = frand();
    for (int n = 0; n < N; n++)
        for (int k = 0; k < K; k++)
            wts[k * N + n] = ws[n * K + k];
    Graph *g = ir_graph_new("t");
    Type xt = {.dtype = IR_F32, .shape = {3, {ir_dim(2), ir_dim(3), ir_dim(K)}}};
    Type wt = {.dtype = IR_F32, .shape = {2, {ir_dim(N), ir_dim(K)}}};
    Type bt = {.dtype = IR_F32, .shape = {1, {ir_dim(N)}}};
    if (tr) {
        wt.shape.d[0] = ir_dim(K);
        wt.shape.d[1] = ir_dim(N);
    }
    ValueId in[3] = {ir_input_new(g, "x", xt, here),
                     ir_const_new(g, "w", wt, tr ? wts : ws, sizeof ws, here),
                     ir_const_new(g, "b", bt, bs, sizeof bs, here)};
    NodeId l = ir_node_new(g, IR_OP_LINEAR, "in_proj", here, in, 3, 1);
    if (tr)
        ir_node_set_int(g, l, "w_transposed", 1);
    *y = g->nodes[l].outputs[0];
    return g;
}

static ValueId slice(Graph *g, ValueId y, int64_t axis, int64_t start, int64_t end, int64_t step)
{
    NodeId s = ir_node_new(g, IR_OP_SLICE, "s", here, &y, 1, 1);
    ir_node_set_int(g, s, "axis", axis);
    ir_node_set_int(g, s, "start", start);
    ir_node_set_int(g, s, "end", end);
    ir_node_set_int(g, s, "step", step);
    return g->nodes[s].outputs[0];
}

static int count_op(const Graph *g, OpKind op)
{
    int c = 0;
    for (int i = 0; i < g->n_nodes; i++)
        c += !g->nodes[i].dead && g->nodes[i].op == op;
    return c;
}

/* Runs linearize; then each output k, the slice [lo[k], hi[k]) of the features (through a
 * relu where relu[k]), against the plain loop. */
static void run_checked(Graph *g, const int *lo, const int *hi, const int *relu)
{
    Diag d;
    ir_diag_init(&d);
    ck_assert_msg(ir_infer_shapes(g, &d), "%s", ir_diag_text(&d));
    ck_assert_msg(pass_linearize(g, NULL, &d), "%s", ir_diag_text(&d));
    ck_assert_msg(ir_verify(g, &d), "%s", ir_diag_text(&d));
    void *out[4];
    const void *in[1] = {xs};
    ck_assert_int_le(g->n_outputs, 4);
    ck_assert_msg(ir_eval_graph(g, in, out, NULL, &d), "%s", ir_diag_text(&d));
    ir_diag_fini(&d);
    for (int o = 0; o < g->n_outputs; o++) {
        const int cols = hi[o] - lo[o];
        const float *a = out[o];
        for (int m = 0; m < M; m++)
            for (int c = 0; c < cols; c++) {
                double ref = bs[lo[o] + c];
                for (int k = 0; k < K; k++)
                    ref += (double)xs[m * K + k] * ws[(lo[o] + c) * K + k];
                ref = relu[o] && ref < 0 ? 0 : ref;
                ck_assert_msg(fabs(a[m * cols + c] - ref) <= 1e-5, "output %d [%d, %d]: %g, not %g",
                              o, m, c, a[m * cols + c], ref);
            }
        free(out[o]);
    }
}

START_TEST(three_slices_become_three_linears)
{
    ValueId y;
    Graph *g = projection_as(&y, _i); /* [N, K], then [K, N] (w_transposed) */
    ir_output_add(g, slice(g, y, -1, 0, 4, 1));
    ir_output_add(g, slice(g, y, 2, 4, 9, 1));
    ir_output_add(g, slice(g, y, 2, -3, INT64_MAX, 1)); /* [9, 12) */
    run_checked(g, (const int[]){0, 4, 9}, (const int[]){4, 9, 12}, (const int[]){0, 0, 0});
    ck_assert_int_eq(count_op(g, IR_OP_SLICE), 0);
    ck_assert_int_eq(count_op(g, IR_OP_LINEAR), 3);
    ir_graph_free(g);
}
END_TEST

START_TEST(what_stays_sliced)
{
    ValueId y;
    Graph *g = projection(&y); /* read by a relu too */
    ir_output_add(g, slice(g, y, 2, 0, 6, 1));
    NodeId r = ir_node_new(g, IR_OP_RELU, "r", here, &y, 1, 1);
    ir_output_add(g, slice(g, g->nodes[r].outputs[0], 2, 6, 12, 1));
    run_checked(g, (const int[]){0, 6}, (const int[]){6, 12}, (const int[]){0, 1});
    ck_assert_int_eq(count_op(g, IR_OP_SLICE), 2);
    ck_assert_int_eq(count_op(g, IR_OP_LINEAR), 1);
    ir_graph_free(g);

    g = projection(&y); /* a slice of rows, and one of step 2 */
    ValueId a = slice(g, y, 1, 0, 2, 1), b = slice(g, y, 2, 0, 12, 2);
    ir_output_add(g, a);
    ir_output_add(g, b);
    Diag d;
    ir_diag_init(&d);
    ck_assert_msg(ir_infer_shapes(g, &d), "%s", ir_diag_text(&d));
    ck_assert(pass_linearize(g, NULL, &d));
    ck_assert_msg(ir_verify(g, &d), "%s", ir_diag_text(&d));
    ir_diag_fini(&d);
    ck_assert_int_eq(count_op(g, IR_OP_SLICE), 2);
    ck_assert_int_eq(count_op(g, IR_OP_LINEAR), 1);
    ir_graph_free(g);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("linearize");
    TCase *tc = tcase_create("split");
    tcase_add_loop_test(tc, three_slices_become_three_linears, 0, 2);
    tcase_add_test(tc, what_stays_sliced);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
