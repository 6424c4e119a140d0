/* The training ops' kernels on the backends against the reference evaluator: every
 * non-elementwise training op (pool, conv-weight and embedding gradients, the losses and
 * their gradients with ignored labels, batch_norm_train) through the C backend at 1 and 3
 * threads (support_cg.h), and every elementwise gradient row (relu_grad...), which the CUDA
 * backend runs from its E(...) expression, through the CUDA backend under the emulation
 * (support_cuda.h). */
#include "ir/graph.h"

#include "support_cg.h"
#include "support_cuda.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

static ValueId mk(Graph *g, OpKind op, const ValueId *in, int n, NodeId *id)
{
    NodeId t = ir_node_new(g, op, ir_ops[op].name, (SrcLoc){0}, in, n, 1);
    if (id)
        *id = t;
    return g->nodes[t].outputs[0];
}

/* Pools' gradients with stride, padding, dilation, ceil_mode, count_include_pad. */
START_TEST(pool_grads_c)
{
    unsigned seed = 3;
    for (int k = 0; k < 4; k++) {
        Graph *g = ir_graph_new("pg");
        RtTensor in[2];
        int64_t xd[4] = {2, 3, 9, 8}, yd[4] = {2, 3, 5, 5};
        if (k == 1)
            yd[2] = 4, yd[3] = 4; /* max, kernel 3, stride 2, dilation 2, padding 1, ceil */
        if (k == 3)
            yd[2] = 3, yd[3] = 2; /* adaptive to 3 x 2 */
        ValueId ins[2] = {sup_input(g, "dy", 4, yd, &in[0], &seed),
                          sup_input(g, "x", 4, xd, &in[1], &seed)};
        static const OpKind ops[] = {IR_OP_MAX_POOL2D_GRAD, IR_OP_MAX_POOL2D_GRAD,
                                     IR_OP_AVG_POOL2D_GRAD, IR_OP_ADAPTIVE_AVG_POOL2D_GRAD};
        NodeId id;
        ir_output_add(g, mk(g, ops[k], ins, 2, &id));
        int64_t two[2] = {2, 2}, three[2] = {3, 3}, one[2] = {1, 1};
        if (k == 0 || k == 2) { /* kernel 2, stride 2, padding 1 (avg: ceil, no pad count) */
            ir_node_set_ints(g, id, "kernel", two, 2);
            ir_node_set_ints(g, id, "padding", one, 2);
            if (k == 2) {
                ir_node_set_int(g, id, "ceil_mode", 1);
                ir_node_set_int(g, id, "count_include_pad", 0);
            }
        } else if (k == 1) {
            ir_node_set_ints(g, id, "kernel", three, 2);
            ir_node_set_ints(g, id, "stride", two, 2);
            ir_node_set_ints(g, id, "padding", one, 2);
            ir_node_set_ints(g, id, "dilation", two, 2);
            ir_node_set_int(g, id, "ceil_mode", 1);
        }
        sup_run_check(g, in, 2, 1e-6, ir_ops[ops[k]].name);
    }
}
END_TEST

/* conv2d_weight_grad with groups, stride, padding, dilation; conv_transpose2d (conv2d's
 * input gradient) likewise; batch_norm_train. */
START_TEST(conv_grads_c)
{
    unsigned seed = 5;
    {
        Graph *g = ir_graph_new("wg");
        RtTensor in[3];
        int64_t xd[4] = {3, 4, 11, 9}, yd[4] = {3, 6, 5, 6}, wd[4] = {6, 2, 3, 3};
        ValueId ins[3] = {sup_input(g, "x", 4, xd, &in[0], &seed),
                          sup_input(g, "dy", 4, yd, &in[1], &seed),
                          sup_input(g, "w", 4, wd, &in[2], &seed)};
        NodeId id;
        ir_output_add(g, mk(g, IR_OP_CONV2D_WEIGHT_GRAD, ins, 3, &id));
        int64_t s[2] = {2, 2}, p[2] = {1, 2}, d[2] = {2, 1};
        ir_node_set_ints(g, id, "stride", s, 2);
        ir_node_set_ints(g, id, "padding", p, 2);
        ir_node_set_ints(g, id, "dilation", d, 2);
        ir_node_set_int(g, id, "groups", 2);
        sup_run_check(g, in, 3, 1e-5, "conv2d_weight_grad");
    }
    {
        Graph *g = ir_graph_new("ct");
        RtTensor in[3];
        int64_t xd[4] = {2, 6, 5, 4}, wd[4] = {6, 2, 3, 3}, bd = 4;
        ValueId ins[3] = {sup_input(g, "dy", 4, xd, &in[0], &seed),
                          sup_input(g, "w", 4, wd, &in[1], &seed),
                          sup_input(g, "b", 1, &bd, &in[2], &seed)};
        NodeId id;
        ir_output_add(g, mk(g, IR_OP_CONV_TRANSPOSE2D, ins, 3, &id));
        int64_t s[2] = {2, 2}, p[2] = {1, 2}, op[2] = {1, 0}, d[2] = {2, 1};
        ir_node_set_ints(g, id, "stride", s, 2);
        ir_node_set_ints(g, id, "padding", p, 2);
        ir_node_set_ints(g, id, "output_padding", op, 2);
        ir_node_set_ints(g, id, "dilation", d, 2);
        ir_node_set_int(g, id, "groups", 2);
        sup_run_check(g, in, 3, 1e-5, "conv_transpose2d");
    }
    {
        Graph *g = ir_graph_new("bn");
        RtTensor in[3];
        int64_t xd[4] = {3, 5, 4, 3}, cd = 5;
        ValueId ins[3] = {sup_input(g, "x", 4, xd, &in[0], &seed),
                          sup_input(g, "w", 1, &cd, &in[1], &seed),
                          sup_input(g, "b", 1, &cd, &in[2], &seed)};
        ir_output_add(g, mk(g, IR_OP_BATCH_NORM_TRAIN, ins, 3, NULL));
        sup_run_check(g, in, 3, 1e-5, "batch_norm_train");
    }
}
END_TEST

/* The losses and their gradients, labels with ignored ones; embedding_grad with repeated
 * indices. */
START_TEST(loss_grads_c)
{
    unsigned seed = 9;
    static const OpKind ops[] = {IR_OP_CROSS_ENTROPY, IR_OP_CROSS_ENTROPY_GRAD, IR_OP_NLL_LOSS,
                                 IR_OP_NLL_LOSS_GRAD, IR_OP_MSE_LOSS,           IR_OP_MSE_LOSS_GRAD,
                                 IR_OP_DISTILL_LOSS,  IR_OP_DISTILL_LOSS_GRAD};
    for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++) {
        Graph *g = ir_graph_new("loss");
        RtTensor in[3];
        int64_t sd[2] = {7, 5}, nd = 7;
        ValueId s = sup_input(g, "s", 2, sd, &in[0], &seed), ins[3] = {s, IR_NONE, IR_NONE};
        ValueId t = sup_input(g, "t", 2, sd, &in[1], &seed);
        ValueId y = sup_input_int(g, "labels", IR_I64, 1, &nd, -1, 4, &in[2], &seed);
        for (int i = 0; i < 7; i++) /* -1 becomes ignore_index (-100) */
            if (((int64_t *)in[2].data)[i] < 0)
                ((int64_t *)in[2].data)[i] = -100;
        int n = 2;
        OpKind op = ops[k];
        if (op == IR_OP_MSE_LOSS || op == IR_OP_MSE_LOSS_GRAD)
            ins[1] = t;
        else if (op == IR_OP_DISTILL_LOSS || op == IR_OP_DISTILL_LOSS_GRAD)
            ins[1] = t, ins[2] = y, n = 3;
        else
            ins[1] = y;
        NodeId id;
        ir_output_add(g, mk(g, op, ins, n, &id));
        if (n == 3) {
            ir_node_set_float(g, id, "temperature", 2.5);
            ir_node_set_float(g, id, "alpha", 0.3);
        }
        sup_run_check(g, in, 3, 1e-6, ir_ops[op].name);
    }
    Graph *g = ir_graph_new("eg");
    RtTensor in[3];
    int64_t dd[3] = {2, 6, 4}, id2[2] = {2, 6}, wd[2] = {5, 4};
    ValueId ins[3] = {sup_input(g, "dy", 3, dd, &in[0], &seed),
                      sup_input_int(g, "idx", IR_I64, 2, id2, 0, 4, &in[1], &seed),
                      sup_input(g, "w", 2, wd, &in[2], &seed)};
    ir_output_add(g, mk(g, IR_OP_EMBEDDING_GRAD, ins, 3, NULL));
    sup_run_check(g, in, 3, 1e-6, "embedding_grad");
}
END_TEST

/* Every elementwise gradient row (x = dy, y = the forward input) on the CUDA backend,
 * emulated, against the reference; one graph, one compile. */
START_TEST(activation_grads_cuda)
{
    static const OpKind ops[] = {IR_OP_RELU_GRAD, IR_OP_RELU6_GRAD,     IR_OP_SIGMOID_GRAD,
                                 IR_OP_TANH_GRAD, IR_OP_GELU_GRAD,      IR_OP_GELU_TANH_GRAD,
                                 IR_OP_SILU_GRAD, IR_OP_HARDSWISH_GRAD, IR_OP_HARDSIGMOID_GRAD,
                                 IR_OP_ABS_GRAD};
    unsigned seed = 11;
    Graph *g = ir_graph_new("actgrad");
    RtTensor in[2];
    int64_t d[2] = {6, 40};
    ValueId dy = sup_input(g, "dy", 2, d, &in[0], &seed),
            x = sup_input(g, "x", 2, d, &in[1], &seed);
    for (int i = 0; i < 240; i++) /* the forward inputs over [-8, 8] */
        ((float *)in[1].data)[i] *= 8.0f;
    for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++) {
        ValueId ins[2] = {dy, x};
        ir_output_add(g, mk(g, ops[k], ins, 2, NULL));
    }
    Diag dg;
    ir_diag_init(&dg);
    ck_assert_msg(ir_infer_shapes(g, &dg), "%s", ir_diag_text(&dg));
    ir_diag_fini(&dg);
    char msg[8192];
    bool ok = sup_cuda_check(g, in, NULL, 1e-5, msg, sizeof msg);
    free(in[0].data);
    free(in[1].data);
    ir_graph_free(g);
    ck_assert_msg(ok, "%s", msg);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("autodiff_kernels");
    TCase *tc = tcase_create("kernels");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, pool_grads_c);
    tcase_add_test(tc, conv_grads_c);
    tcase_add_test(tc, loss_grads_c);
    tcase_add_test(tc, activation_grads_cuda);
    suite_add_tcase(s, tc);
    SRunner *r = srunner_create(s);
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? 1 : 0;
}
