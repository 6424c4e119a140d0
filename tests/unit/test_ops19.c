/* The elementwise rows issue 19 added to ir/ops.def (floor, ceil, round, sin, cos, tan,
 * asin, acos, atan): the reference evaluator against numpy's np.floor, np.round (half to
 * even) ... in f32, NaN and infinities kept; the rows' flags (elementwise, float only, not
 * differentiated). The C and CUDA emitters expand the same E() expressions (ir/scalar.h);
 * tests/cli/onnx_if_slice.sh runs them compiled against ONNX Runtime. */
#include "ir/eval.h"
#include "ir/graph.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>

/* Runs unary op on a [n] through ir_eval_node into out [n]. */
static void eval_unary(OpKind op, const float *a, int n, float *out)
{
    Graph *g = ir_graph_new("t");
    ValueId in = ir_input_new(g, "a", (Type){IR_F32, {1, {ir_dim(n)}}, NULL}, (SrcLoc){0});
    NodeId id = ir_node_new(g, op, "n", (SrcLoc){0}, &in, 1, 1);
    Diag d;
    ir_diag_init(&d);
    ck_assert_msg(ir_infer_shapes(g, &d), "%s", ir_diag_text(&d));
    const void *ins[1] = {a};
    void *outs[1] = {out};
    ck_assert_msg(ir_eval_node(g, &g->nodes[id], ins, outs, NULL, &d), "%s", ir_diag_text(&d));
    ir_diag_fini(&d);
    ir_graph_free(g);
}

/* got equals want elementwise within tol (NaN matching NaN, infinities exactly). */
static void expect(OpKind op, const float *x, const float *want, int n, float tol)
{
    float got[16];
    eval_unary(op, x, n, got);
    for (int i = 0; i < n; i++) {
        if (isnan(want[i]))
            ck_assert_msg(isnan(got[i]), "%s(%g) = %g, not NaN", ir_ops[op].name, (double)x[i],
                          (double)got[i]);
        else
            ck_assert_msg(got[i] == want[i] || fabsf(got[i] - want[i]) <= tol,
                          "%s(%g) = %.9g, not %.9g", ir_ops[op].name, (double)x[i], (double)got[i],
                          (double)want[i]);
    }
}

START_TEST(rounding_as_numpy)
{
    const float x[11] = {-2.5f, -1.5f, -0.5f, 0.5f, 1.5f, 2.5f, -0.7f, 3.7f, NAN, INFINITY, -1e30f};
    /* np.round: half to even (ONNX Round); floor and ceil as libm */
    const float rnd[11] = {-2, -2, -0.0f, 0, 2, 2, -1, 4, NAN, INFINITY, -1e30f};
    const float flo[11] = {-3, -2, -1, 0, 1, 2, -1, 3, NAN, INFINITY, -1e30f};
    const float cei[11] = {-2, -1, -0.0f, 1, 2, 3, -0.0f, 4, NAN, INFINITY, -1e30f};
    expect(IR_OP_ROUND, x, rnd, 11, 0);
    expect(IR_OP_FLOOR, x, flo, 11, 0);
    expect(IR_OP_CEIL, x, cei, 11, 0);
}
END_TEST

START_TEST(trigonometry_as_numpy)
{
    const float y[7] = {-0.9f, -0.5f, 0, 0.3f, 0.99f, 1, 2};
    const float s[7] = {-0.783326924f, -0.47942555f, 0,           0.295520216f,
                        0.836026013f,  0.841471016f, 0.909297407f};
    const float c[7] = {0.621609986f, 0.87758255f,  1, 0.955336511f, 0.548689842f,
                        0.540302277f, -0.416146815f};
    const float t[7] = {-1.26015818f, -0.546302497f, 0,           0.309336275f,
                        1.52367675f,  1.55740774f,   -2.18503976f};
    const float as[7] = {-1.11976945f, -0.52359879f, 0,  0.304692656f,
                         1.42925692f,  1.57079637f,  NAN};
    const float ac[7] = {2.69056582f, 2.09439516f, 1.57079637f, 1.26610363f, 0.14153941f, 0, NAN};
    const float at[7] = {-0.732815087f, -0.463647604f, 0,          0.291456819f,
                         0.780373096f,  0.785398185f,  1.10714877f};
    expect(IR_OP_SIN, y, s, 7, 1e-6f);
    expect(IR_OP_COS, y, c, 7, 1e-6f);
    expect(IR_OP_TAN, y, t, 7, 1e-6f);
    expect(IR_OP_ASIN, y, as, 7, 1e-6f);
    expect(IR_OP_ACOS, y, ac, 7, 1e-6f);
    expect(IR_OP_ATAN, y, at, 7, 1e-6f);
}
END_TEST

START_TEST(rows_flags)
{
    const OpKind ops[9] = {IR_OP_FLOOR, IR_OP_CEIL, IR_OP_ROUND, IR_OP_SIN, IR_OP_COS,
                           IR_OP_TAN,   IR_OP_ASIN, IR_OP_ACOS,  IR_OP_ATAN};
    for (int i = 0; i < 9; i++) {
        OpKind k;
        ck_assert(ir_op_lookup(ir_ops[ops[i]].name, &k) && k == ops[i]);
        ck_assert(ir_ops[ops[i]].flags & IR_F_ELEMENTWISE);
        ck_assert(ir_ops[ops[i]].flags & IR_F_FLOATS);
        ck_assert(!(ir_ops[ops[i]].flags & (IR_F_INTS | IR_F_DIFF)));
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ops19");
    TCase *tc = tcase_create("ops19");
    tcase_add_test(tc, rounding_as_numpy);
    tcase_add_test(tc, trigonometry_as_numpy);
    tcase_add_test(tc, rows_flags);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
