/* Quantization-aware training's ops (ir/ops.def fake_quant, fake_quant_grad; passes/qat.c):
 * the reference evaluator against plain loops of the formulas (an activation's u8 grid with
 * elements clamped at both ends, a weight's per-channel int8 grid), the straight-through
 * gradient's mask, the C backend against the reference at 1 and 3 threads
 * (support_cg.h), and pass_qat_insert on a two-layer MLP: every layer reads fake-quantized
 * weights and inputs, in topological order, with the input grid from the data's range. */
#include "ir/eval.h"
#include "ir/graph.h"
#include "passes/qat.h"

#include "support_cg.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static ValueId fq(Graph *g, ValueId x, double scale, int zp, OpKind op, ValueId dy)
{
    ValueId in[2] = {dy, x};
    NodeId t = op == IR_OP_FAKE_QUANT_GRAD ? ir_node_new(g, op, "fqg", (SrcLoc){0}, in, 2, 1)
                                           : ir_node_new(g, op, "fq", (SrcLoc){0}, &x, 1, 1);
    ir_node_set_float(g, t, "scale", scale);
    ir_node_set_int(g, t, "zero_point", zp);
    return g->nodes[t].outputs[0];
}

/* Runs g (one f32 input x of n elements, optionally dy) by the reference evaluator. */
static float *eval1(Graph *g, const float *x, const float *dy)
{
    Diag d;
    ir_diag_init(&d);
    ck_assert(ir_infer_shapes(g, &d));
    const void *ins[2] = {x, dy};
    if (dy) /* inputs in the graph's order: dy was made first */
        ins[0] = dy, ins[1] = x;
    void *outs[1] = {NULL}; /* malloc'd by the evaluator */
    ck_assert_msg(ir_eval_graph(g, ins, outs, NULL, &d), "eval failed");
    ir_diag_fini(&d);
    return outs[0];
}

START_TEST(activation_grid_and_mask)
{
    const double scale = 0.006;
    const int zp = 100;
    int64_t dims[2] = {7, 33};
    unsigned seed = 9;
    float x[7 * 33], dy[7 * 33];
    for (int i = 0; i < 7 * 33; i++)
        x[i] = sup_rand(&seed) * 1.2f, dy[i] = sup_rand(&seed);
    Graph *g = ir_graph_new("a");
    ValueId xv = ir_input_new(g, "x", sup_f32(2, dims), (SrcLoc){0});
    ir_output_add(g, fq(g, xv, scale, zp, IR_OP_FAKE_QUANT, IR_NONE));
    float *y = eval1(g, x, NULL);
    ir_graph_free(g);
    g = ir_graph_new("b");
    ValueId dv = ir_input_new(g, "dy", sup_f32(2, dims), (SrcLoc){0});
    xv = ir_input_new(g, "x", sup_f32(2, dims), (SrcLoc){0});
    ir_output_add(g, fq(g, xv, scale, zp, IR_OP_FAKE_QUANT_GRAD, dv));
    float *dx = eval1(g, x, dy);
    ir_graph_free(g);
    int low = 0, high = 0;
    const float inv = 1.0f / (float)scale;
    for (int i = 0; i < 7 * 33; i++) {
        float q = rintf(x[i] * inv) + (float)zp;
        bool in = q >= 0 && q <= 255;
        low += q<0, high += q> 255;
        float qc = q < 0 ? 0 : q > 255 ? 255 : q;
        ck_assert_msg(y[i] == (qc - (float)zp) * (float)scale, "x %g: %g", x[i], y[i]);
        ck_assert_msg(dx[i] == (in ? dy[i] : 0.0f), "dx at %d", i);
        /* within the grid the error is at most half a step */
        if (in)
            ck_assert(fabsf(y[i] - x[i]) <= (float)scale * 0.5f + 1e-6f);
    }
    ck_assert_msg(low > 5 && high > 5, "the data must clamp at both ends (%d, %d)", low, high);
    free(y);
    free(dx);
}
END_TEST

START_TEST(weight_grid_per_channel)
{
    int64_t dims[4] = {5, 3, 2, 2};
    unsigned seed = 4;
    float w[60];
    for (int i = 0; i < 60; i++)
        w[i] = sup_rand(&seed) * (float)(1 + i / 12); /* channels of different ranges */
    for (int i = 24; i < 36; i++)
        w[i] = 0; /* an all-zero channel */
    Graph *g = ir_graph_new("w");
    ValueId xv = ir_input_new(g, "w", sup_f32(4, dims), (SrcLoc){0});
    ir_output_add(g, fq(g, xv, 0.0, 0, IR_OP_FAKE_QUANT, IR_NONE));
    float *y = eval1(g, w, NULL);
    ir_graph_free(g);
    for (int o = 0; o < 5; o++) {
        float m = 0;
        for (int k = 0; k < 12; k++)
            m = fmaxf(m, fabsf(w[o * 12 + k]));
        float s = m > 0 ? m / 127.0f : 1.0f;
        int levels_at_max = 0;
        for (int k = 0; k < 12; k++) {
            float q = nearbyintf(w[o * 12 + k] / s);
            ck_assert(q >= -127 && q <= 127);
            ck_assert_msg(y[o * 12 + k] == q * s, "w[%d][%d]", o, k);
            levels_at_max += fabsf(q) == 127;
        }
        ck_assert(m == 0 || levels_at_max >= 1); /* the grid spans the channel */
    }
    free(y);
}
END_TEST

START_TEST(c_backend_matches)
{
    unsigned seed = 12;
    for (int k = 0; k < 4; k++) {
        Graph *g = ir_graph_new("fqc");
        RtTensor in[2];
        int64_t d[4] = {6, 4, 5, 3};
        const bool grad = k >= 2, act = k % 2 == 0;
        if (grad) {
            ValueId dyv = sup_input(g, "dy", 4, d, &in[0], &seed);
            ValueId xv = sup_input(g, "x", 4, d, &in[1], &seed);
            ir_output_add(g,
                          fq(g, xv, act ? 0.004 : 0.0, act ? 90 : 0, IR_OP_FAKE_QUANT_GRAD, dyv));
        } else {
            ValueId xv = sup_input(g, "x", 4, d, &in[0], &seed);
            ir_output_add(g, fq(g, xv, act ? 0.004 : 0.0, act ? 90 : 0, IR_OP_FAKE_QUANT, IR_NONE));
        }
        sup_run_check(g, in, grad ? 2 : 1, 0,
                      act ? "fake_quant (activation)" : "fake_quant (weight)");
    }
}
END_TEST

START_TEST(insert_on_an_mlp)
{
    Graph *g = ir_graph_new("mlp");
    int64_t xd[2] = {1, 8}, w1d[2] = {16, 8}, w2d[2] = {4, 16};
    xd[0] = 1;
    Type xt = sup_f32(2, xd);
    xt.shape.d[0] = (Dim){1, 1u << ir_graph_symbol(g, "N")};
    ValueId x = ir_input_new(g, "x", xt, (SrcLoc){0});
    unsigned seed = 2;
    ValueId w1 = sup_const_rand(g, "fc1.weight", 2, w1d, &seed);
    ValueId w2 = sup_const_rand(g, "fc2.weight", 2, w2d, &seed);
    ValueId in1[2] = {x, w1};
    NodeId l1 = ir_node_new(g, IR_OP_LINEAR, "fc1", (SrcLoc){0}, in1, 2, 1);
    NodeId r = ir_node_new(g, IR_OP_RELU, "relu", (SrcLoc){0}, &g->nodes[l1].outputs[0], 1, 1);
    ValueId in2[2] = {g->nodes[r].outputs[0], w2};
    NodeId l2 = ir_node_new(g, IR_OP_LINEAR, "fc2", (SrcLoc){0}, in2, 2, 1);
    ir_output_add(g, g->nodes[l2].outputs[0]);
    Diag d;
    ir_diag_init(&d);
    ck_assert(ir_infer_shapes(g, &d));
    float data[32 * 8];
    float lo = 0, hi = 0;
    for (int i = 0; i < 32 * 8; i++) {
        data[i] = sup_rand(&seed) * 3.0f;
        lo = fminf(lo, data[i]), hi = fmaxf(hi, data[i]);
    }
    PassFile pf = {.path = "data.npy",
                   .dtype = IR_F32,
                   .ndim = 2,
                   .shape = {32, 8},
                   .data = data,
                   .nbytes = sizeof data};
    int layers = 0;
    ck_assert_msg(pass_qat_insert(g, &pf, &layers, &d), "insert failed");
    ck_assert_int_eq(layers, 2);
    ck_assert(ir_verify(g, &d));
    int n_fq = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const Node *n = &g->nodes[i];
        if (n->op == IR_OP_FAKE_QUANT) {
            n_fq++;
            if (n->inputs[0] == x) { /* the model's input: minmax of the data */
                ck_assert(fabs(ir_attr_scale(n) - (double)((hi - lo) / 255.0f)) < 1e-9);
                ck_assert(ir_attr_zero_point(n) ==
                          (int64_t)nearbyint(-(double)lo / ((hi - lo) / 255.0f)));
            }
        }
        if (n->op == IR_OP_LINEAR)
            for (int j = 0; j < 2; j++) {
                NodeId p = g->values[n->inputs[j]].producer;
                ck_assert_msg(p != IR_NONE && g->nodes[p].op == IR_OP_FAKE_QUANT,
                              "%s's input %d is not fake-quantized", n->name, j);
                ck_assert_msg(ir_attr_scale(&g->nodes[p]) == 0 ? j == 1 : j == 0,
                              "%s: weight per channel, input per tensor", n->name);
            }
    }
    ck_assert_int_eq(n_fq, 4);
    ir_diag_fini(&d);
    ir_graph_free(g);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("qat");
    TCase *tc = tcase_create("qat");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, activation_grid_and_mask);
    tcase_add_test(tc, weight_grid_per_channel);
    tcase_add_test(tc, c_backend_matches);
    tcase_add_test(tc, insert_on_an_mlp);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
