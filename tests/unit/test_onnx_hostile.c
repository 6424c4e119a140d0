/* ONNX semantics in the IR (issue 13, item 6): index_select counts a negative index from the
 * end, as ONNX's Gather, in the reference evaluator and in the generated C alike, and an
 * index outside [-len, len) fails both cleanly; a conv2d or conv_transpose2d whose weight
 * has an empty kernel is refused by shape inference (it summed nothing). The ONNX files
 * themselves are tests/cli/onnx_semantics.sh's. */
#include "ir/eval.h"
#include "ir/graph.h"
#include "codegen/c/desc.h"
#include "runtime/jit.h"
#include "support_cg.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

static unsigned seed = 4242;

#define D(...) ((const int64_t[]){__VA_ARGS__})

static NodeId node(Graph *g, OpKind op, const char *name, const ValueId *ins, int n)
{
    return ir_node_new(g, op, name, (SrcLoc){0}, ins, n, 1);
}

/* x f32[3, 4] = 0..11 (constant) gathered along axis by the i64 input idx[k]. */
static Graph *gather_graph(int axis, int k)
{
    Graph *g = ir_graph_new("gather");
    static const float xs[12] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
    Type xt = {IR_F32, sup_shape(2, D(3, 4)), NULL};
    Type it = {IR_I64, sup_shape(1, D(k)), NULL};
    ValueId ins[2] = {ir_const_new(g, "x", xt, xs, sizeof xs, (SrcLoc){0}),
                      ir_input_new(g, "idx", it, (SrcLoc){0})};
    NodeId n = node(g, IR_OP_INDEX_SELECT, "gather0", ins, 2);
    ir_node_set_int(g, n, "axis", axis);
    ir_output_add(g, g->nodes[n].outputs[0]);
    return g;
}

START_TEST(index_select_negative_eval)
{
    Graph *g = gather_graph(1, 3);
    Diag d;
    ir_diag_init(&d);
    ck_assert_msg(ir_infer_shapes(g, &d), "%s", ir_diag_text(&d));
    static const int64_t idx[3] = {-1, -4, 2};
    const void *in[1] = {idx};
    void *out[1];
    ck_assert_msg(ir_eval_graph(g, in, out, NULL, &d), "%s", ir_diag_text(&d));
    static const float want[9] = {3, 0, 2, 7, 4, 6, 11, 8, 10};
    ck_assert_mem_eq(out[0], want, sizeof want);
    free(out[0]);
    /* one past either end is an error naming the node */
    static const int64_t bad[2][3] = {{0, 4, 1}, {0, -5, 1}};
    for (int b = 0; b < 2; b++) {
        const void *bin[1] = {bad[b]};
        ck_assert(!ir_eval_graph(g, bin, out, NULL, &d));
        ck_assert_msg(strstr(ir_diag_text(&d), "index_select 'gather0'") &&
                          strstr(ir_diag_text(&d), "out of range [-4, 4)"),
                      "%s", ir_diag_text(&d));
    }
    ir_diag_fini(&d);
    ir_graph_free(g);
}
END_TEST

/* The generated C against the evaluator on random indices in [-len, len), both axes, i64
 * and i32. */
START_TEST(index_select_negative_codegen)
{
    for (int ax = 0; ax < 2; ax++)
        for (int wide = 0; wide < 2; wide++) {
            Graph *g = ir_graph_new("isel");
            RtTensor in[2];
            ValueId x = sup_input(g, "x", 3, D(4, 5, 3), &in[0], &seed);
            int len = ax == 0 ? 4 : 5;
            ValueId idx = sup_input_int(g, "idx", wide ? IR_I64 : IR_I32, 2, D(2, 6), -len, len - 1,
                                        &in[1], &seed);
            ValueId ins[2] = {x, idx};
            NodeId n = node(g, IR_OP_INDEX_SELECT, "sel", ins, 2);
            ir_node_set_int(g, n, "axis", ax);
            ir_output_add(g, g->nodes[n].outputs[0]);
            sup_run_check(g, in, 2, 0, "index_select with negative indices");
        }
}
END_TEST

/* An index outside [-len, len) in the generated C: the run fails, nothing read out of
 * bounds (ASan would say so). */
START_TEST(index_select_out_of_range_codegen)
{
    static const int64_t bad[2][3] = {{0, 3, 1}, {0, -4, 1}};
    for (int b = 0; b < 2; b++) {
        Graph *g = gather_graph(0, 3);
        Diag d;
        ir_diag_init(&d);
        ck_assert(ir_infer_shapes(g, &d));
        size_t len;
        char msg[1024];
        char *src = sup_emit(g, &len, msg, sizeof msg);
        ck_assert_msg(src, "%s", msg);
        RtOptions ro;
        rt_options_default(&ro);
        RtModule *m = rt_compile(src, len, &ro, &d);
        ck_assert_msg(m, "%s", ir_diag_text(&d));
        RtExec *e = cg_exec_new(g, m, NULL, &d);
        ck_assert_msg(e, "%s", ir_diag_text(&d));
        int64_t *data = malloc(sizeof bad[b]);
        memcpy(data, bad[b], sizeof bad[b]);
        RtTensor in[1] = {{IR_I64, 1, {3}, data, sizeof bad[b]}};
        RtTensor out[1];
        ck_assert(!rt_exec_run(e, in, 1, out, 1, 1, &d));
        ck_assert_msg(strstr(ir_diag_text(&d), "out of range"), "%s", ir_diag_text(&d));
        free(data);
        rt_exec_free(e);
        rt_module_free(m);
        free(src);
        ir_diag_fini(&d);
        ir_graph_free(g);
    }
}
END_TEST

/* conv2d / conv_transpose2d on a weight with an empty kernel: a shape error naming the
 * node, as ORT's "kernel_shape must only contain positive values". */
START_TEST(conv_empty_kernel)
{
    for (int transposed = 0; transposed < 2; transposed++)
        for (int which = 0; which < 2; which++) {
            Graph *g = ir_graph_new("conv");
            Type xt = {IR_F32, sup_shape(4, D(1, 2, 5, 5)), NULL};
            int64_t kh = which == 0 ? 0 : 3, kw = which == 0 ? 3 : 0;
            ValueId w = sup_const_rand(g, "w", 4, D(2, 2, kh, kw), &seed);
            ValueId ins[2] = {ir_input_new(g, "x", xt, (SrcLoc){0}), w};
            NodeId n = node(g, transposed ? IR_OP_CONV_TRANSPOSE2D : IR_OP_CONV2D, "conv0", ins, 2);
            ir_output_add(g, g->nodes[n].outputs[0]);
            Diag d;
            ir_diag_init(&d);
            ck_assert(!ir_infer_shapes(g, &d));
            ck_assert_msg(strstr(ir_diag_text(&d), "'conv0': the weight's kernel is empty"), "%s",
                          ir_diag_text(&d));
            ir_diag_fini(&d);
            ir_graph_free(g);
        }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("onnx_hostile");
    TCase *tc = tcase_create("semantics");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, index_select_negative_eval);
    tcase_add_test(tc, index_select_negative_codegen);
    tcase_add_test(tc, index_select_out_of_range_codegen);
    tcase_add_test(tc, conv_empty_kernel);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
