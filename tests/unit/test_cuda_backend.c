/* The CUDA backend (codegen/cuda/): its elementwise kernels with broadcasting and fused
 * epilogues, symbolic shapes, the host half's launches, and the error that lists every
 * node it cannot run. Each graph is compiled by NVRTC and run under the CPU emulation
 * against the reference evaluator (tests/unit/support_cuda.h). */
#include "codegen/backend.h"
#include "codegen/cuda/cu.h"
#include "ir/graph.h"
#include "passes/pass.h"

#include "support_cg.h"
#include "support_cuda.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

static NodeId node1(Graph *g, OpKind op, ValueId x)
{
    return ir_node_new(g, op, NULL, (SrcLoc){0}, &x, 1, 1);
}

static NodeId node2(Graph *g, OpKind op, ValueId x, ValueId y)
{
    const ValueId in[2] = {x, y};
    return ir_node_new(g, op, NULL, (SrcLoc){0}, in, 2, 1);
}

static ValueId out0(Graph *g, NodeId n)
{
    return g->nodes[n].outputs[0];
}

static void check_graph(Graph *g, RtTensor *in, int n_in, const char *what, const char *passes)
{
    Diag d;
    ir_diag_init(&d);
    ck_assert_msg(ir_infer_shapes(g, &d), "%s: shapes: %s", what, ir_diag_text(&d));
    if (passes)
        ck_assert_msg(pass_pipeline_run(g, passes, (SrcLoc){0}, &(PassRunOptions){0}, &d),
                      "%s: passes: %s", what, ir_diag_text(&d));
    ir_diag_fini(&d);
    char msg[8192];
    bool ok = sup_cuda_check(g, in, NULL, 1e-5, msg, sizeof msg);
    for (int i = 0; i < n_in; i++)
        free(in[i].data);
    ir_graph_free(g);
    ck_assert_msg(ok, "%s: %s", what, msg);
}

/* Every binary op with an expression over broadcast shapes: [2,3,5,7] with [5,1], [1,3,1,7],
 * [7], a scalar-shaped [1] and the same shape, each operand order; one graph, one compile. */
START_TEST(test_binary_broadcast)
{
    static const OpKind ops[] = {IR_OP_ADD,     IR_OP_SUB,     IR_OP_MUL, IR_OP_DIV,
                                 IR_OP_MINIMUM, IR_OP_MAXIMUM, IR_OP_POW};
    static const int64_t a[] = {2, 3, 5, 7};
    static const int64_t shapes[][4] = {{5, 1}, {1, 3, 1, 7}, {7}, {1}, {2, 3, 5, 7}};
    static const int ranks[] = {2, 4, 1, 1, 4};
    unsigned seed = 7;
    Graph *g = ir_graph_new("bin");
    RtTensor in[6];
    ValueId x = sup_input(g, "x", 4, a, &in[0], &seed);
    for (size_t i = 0; i < in[0].nbytes / 4; i++) /* a positive base for pow */
        ((float *)in[0].data)[i] = ((float *)in[0].data)[i] * 0.5f + 1.5f;
    ValueId y[5];
    for (int s = 0; s < 5; s++) {
        char name[8];
        snprintf(name, sizeof name, "y%d", s);
        y[s] = sup_input(g, name, ranks[s], shapes[s], &in[1 + s], &seed);
    }
    for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++)
        for (int s = 0; s < 5; s++) /* pow's base stays x */
            ir_output_add(g, out0(g, s % 2 && ops[k] != IR_OP_POW ? node2(g, ops[k], y[s], x)
                                                                  : node2(g, ops[k], x, y[s])));
    check_graph(g, in, 6, "binary ops, broadcast", NULL);
}
END_TEST

/* Every unary op with an expression and no attribute, plus clip and leaky_relu, each on its
 * own input (a positive domain for log, sqrt, rsqrt); one graph. */
START_TEST(test_unary)
{
    static const int64_t dims[] = {3, 1000};
    unsigned seed = 11;
    Graph *g = ir_graph_new("un");
    RtTensor in[64];
    int n = 0;
    for (int k = 0; k < IR_NUM_OPS; k++) {
        const OpInfo *info = &ir_ops[k];
        if (!cu_has_scalar_expr((OpKind)k) || (info->flags & IR_F_BINARY))
            continue;
        if (info->n_attrs && k != IR_OP_CLIP && k != IR_OP_LEAKY_RELU)
            continue;
        ck_assert_int_lt(n, 64);
        ValueId x = sup_input(g, info->name, 2, dims, &in[n], &seed);
        float *v = in[n].data;
        if (k == IR_OP_LOG || k == IR_OP_SQRT || k == IR_OP_RSQRT)
            for (int i = 0; i < 3000; i++)
                v[i] = v[i] * 0.5f + 1.0f;
        v[0] = 0.0f;
        NodeId nd = node1(g, (OpKind)k, x);
        if (k == IR_OP_CLIP) {
            ir_node_set_float(g, nd, "min", -0.25);
            ir_node_set_float(g, nd, "max", 0.5);
        } else if (k == IR_OP_LEAKY_RELU)
            ir_node_set_float(g, nd, "negative_slope", 0.1);
        ir_output_add(g, out0(g, nd));
        n++;
    }
    ck_assert_int_gt(n, 15);
    check_graph(g, in, n, "unary ops", NULL);
}
END_TEST

/* A chain the fuse pass folds into one kernel's epilogue: (x + b) * s -> relu -> sigmoid,
 * b per channel and s per row (operand first). */
START_TEST(test_epilogue_chain)
{
    static const int64_t xd[] = {4, 8, 33}, bd[] = {8, 1}, sd[] = {4, 1, 1};
    unsigned seed = 3;
    Graph *g = ir_graph_new("ep");
    RtTensor in[3];
    ValueId x = sup_input(g, "x", 3, xd, &in[0], &seed);
    ValueId b = sup_input(g, "b", 2, bd, &in[1], &seed);
    ValueId s = sup_input(g, "s", 3, sd, &in[2], &seed);
    ValueId t = out0(g, node2(g, IR_OP_ADD, x, b));
    t = out0(g, node2(g, IR_OP_MUL, s, t));
    t = out0(g, node1(g, IR_OP_RELU, t));
    t = out0(g, node1(g, IR_OP_SIGMOID, t));
    ir_output_add(g, t);
    check_graph(g, in, 3, "epilogue chain", "fuse,dce");
}
END_TEST

/* A symbolic batch: the grid comes from the symbol's value at run time. */
START_TEST(test_symbolic)
{
    unsigned seed = 5;
    for (int64_t batch = 1; batch <= 5; batch += 4) {
        Graph *g = ir_graph_new("sym");
        int s = ir_graph_symbol(g, "N");
        Type t = {IR_F32, {2, {{1, 1u << s}, {300, 0}}}, NULL};
        ValueId x = ir_input_new(g, "x", t, (SrcLoc){0});
        static const int64_t bd[] = {300};
        RtTensor in[2];
        const int64_t xd[] = {batch, 300};
        in[0] = sup_input_rand(2, xd, &seed);
        ValueId b = sup_input(g, "b", 1, bd, &in[1], &seed);
        ir_output_add(g, out0(g, node1(g, IR_OP_TANH, out0(g, node2(g, IR_OP_ADD, x, b)))));
        check_graph(g, in, 2, "symbolic batch", "fuse,dce");
    }
}
END_TEST

/* An op without a CUDA kernel: one error naming every such node, nothing emitted. */
START_TEST(test_missing_ops_listed)
{
    Graph *g = ir_graph_new("miss");
    static const int64_t dims[] = {2, 3};
    RtTensor in;
    unsigned seed = 1;
    ValueId x = sup_input(g, "x", 2, dims, &in, &seed);
    free(in.data);
    NodeId a = ir_node_new(g, IR_OP_CUMSUM, "first_missing", (SrcLoc){0}, &x, 1, 1);
    ir_node_set_int(g, a, "axis", 1);
    NodeId b = node1(g, IR_OP_RELU, out0(g, a));
    NodeId c =
        ir_node_new(g, IR_OP_CUMSUM, "second_missing", (SrcLoc){0}, &g->nodes[b].outputs[0], 1, 1);
    ir_node_set_int(g, c, "axis", 0);
    ir_output_add(g, out0(g, c));
    Diag d;
    ir_diag_init(&d);
    ck_assert(ir_infer_shapes(g, &d));
    ir_diag_fini(&d);
    if (cg_backend_cuda.claims(IR_OP_CUMSUM)) { /* a kernel came: nothing to check here */
        ir_graph_free(g);
        return;
    }
    char msg[4096];
    size_t len;
    char *src = sup_cuda_emit(g, NULL, &len, msg, sizeof msg);
    ck_assert_ptr_null(src);
    ck_assert_msg(strstr(msg, "cannot run 2 nodes") && strstr(msg, "first_missing (cumsum)") &&
                      strstr(msg, "second_missing (cumsum)"),
                  "%s", msg);
    ir_graph_free(g);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("cuda_backend");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_binary_broadcast);
    tcase_add_test(tc, test_unary);
    tcase_add_test(tc, test_epilogue_chain);
    tcase_add_test(tc, test_symbolic);
    tcase_add_test(tc, test_missing_ops_listed);
    suite_add_tcase(s, tc);
    SRunner *r = srunner_create(s);
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? 1 : 0;
}
