/* The backend interface (codegen/backend.h): the C backend's op table agrees with what it
 * claims (an op without an emitter row, or a row for an op it does not claim, fails
 * here instead of silently skipping), the registry, and the order in which the driver
 * runs a backend's stages, with a recording backend. */
#include "codegen/backend.h"
#include "codegen/c/op_table.h"
#include "codegen/cuda/op_table.h"
#include "codegen/c/text.h"
#include "ir/diag.h"

#include "support_cg.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Every op the C backend claims has an emitter row, and every row is for a claimed op. */
START_TEST(test_c_claims_match_table)
{
    int claimed = 0;
    for (int k = 0; k < IR_NUM_OPS; k++) {
        const bool claims = cg_backend_c.claims((OpKind)k), row = cg_c_ops[k].emit != NULL;
        ck_assert_msg(claims == row, "op '%s': the C backend %s it but has %s emitter row",
                      ir_ops[k].name, claims ? "claims" : "does not claim", row ? "an" : "no");
        claimed += claims;
    }
    /* the C backend is the complete one, but for transfer: the copies of a mixed-device
     * graph, which the CUDA backend's host half runs */
    ck_assert(!cg_backend_c.claims(IR_OP_TRANSFER));
    ck_assert_int_eq(claimed, IR_NUM_OPS - 1);
    ck_assert(!cg_backend_c.claims(IR_NUM_OPS));
}
END_TEST

/* Every op the CUDA backend claims (ops.def's IR_BE_CUDA column, which
 * scripts/cuda_claims.py keeps) has an emitter row in codegen/cuda/op_table.c, and the
 * other way round; and every elementwise op with a scalar expression is among them. */
START_TEST(test_cuda_claims_match_table)
{
    int claimed = 0;
    for (int k = 0; k < IR_NUM_OPS; k++) {
        const bool claims = cg_backend_cuda.claims((OpKind)k), row = cu_ops[k].emit != NULL;
        ck_assert_msg(claims == row,
                      "op '%s': the CUDA backend %s it but has %s emitter row (run "
                      "scripts/cuda_claims.py)",
                      ir_ops[k].name, claims ? "claims" : "does not claim", row ? "an" : "no");
        claimed += claims;
        if (cu_has_scalar_expr((OpKind)k))
            ck_assert_msg(row, "elementwise op '%s' has no CUDA row", ir_ops[k].name);
    }
    ck_assert_int_gt(claimed, 30);
    ck_assert(!cg_backend_cuda.claims(IR_NUM_OPS));
}
END_TEST

/* The dtype check of a row fits the op: int8 ops QUANT, no view or elementwise op PLAIN. */
START_TEST(test_c_table_checks)
{
    static const OpKind quant[] = {IR_OP_QUANTIZE, IR_OP_DEQUANTIZE, IR_OP_QLINEAR,
                                   IR_OP_QCONV2D,  IR_OP_WLINEAR,    IR_OP_DQLINEAR};
    for (size_t i = 0; i < sizeof quant / sizeof quant[0]; i++)
        ck_assert_msg(cg_c_ops[quant[i]].check == CG_CHECK_QUANT, "%s", ir_ops[quant[i]].name);
    for (int k = 0; k < IR_NUM_OPS; k++)
        if (ir_ops[k].flags & (IR_F_VIEW | IR_F_ELEMENTWISE))
            ck_assert_msg(cg_c_ops[k].check == CG_CHECK_F32, "%s", ir_ops[k].name);
}
END_TEST

START_TEST(test_registry)
{
    ck_assert_ptr_eq(cg_backends[0], &cg_backend_c);
    ck_assert_ptr_eq(cg_backend_find("c"), &cg_backend_c);
    ck_assert_ptr_eq(cg_backend_find("cuda"), &cg_backend_cuda);
    ck_assert_ptr_null(cg_backend_find(""));
    for (int i = 0; cg_backends[i]; i++) {
        const CgBackend *b = cg_backends[i];
        ck_assert(b->name && b->label && b->features && b->claims);
        ck_assert(b->begin && b->node && b->arena && b->entry_begin && b->buffers && b->call &&
                  b->entry_end && b->end);
        for (int j = 0; j < i; j++)
            ck_assert_str_ne(cg_backends[j]->name, b->name);
    }
}
END_TEST

/* A backend that records the stages the driver runs: "b n0 n2 a e u c0 c2 x E". */
static char trace[256];
static int fail_node = -1; /* the node whose stage fails */
static CgCtx mock_ctx;

static void rec(const char *stage, int id)
{
    size_t len = strlen(trace);
    if (id < 0)
        snprintf(trace + len, sizeof trace - len, "%s%s", len ? " " : "", stage);
    else
        snprintf(trace + len, sizeof trace - len, " %s%d", stage, id);
}

static CgCtx *m_begin(const Graph *g, const CgOptions *o, FILE *out, Diag *d)
{
    (void)o, (void)out;
    memset(&mock_ctx, 0, sizeof mock_ctx);
    mock_ctx.g = g;
    mock_ctx.d = d;
    rec("b", -1);
    return &mock_ctx;
}
static bool m_node(CgCtx *c, NodeId id)
{
    ck_assert_ptr_eq(c, &mock_ctx);
    rec("n", id);
    return id != fail_node;
}
static bool m_arena(CgCtx *c)
{
    (void)c;
    rec("a", -1);
    return true;
}
static bool m_entry_begin(CgCtx *c)
{
    (void)c;
    rec("e", -1);
    return true;
}
static bool m_buffers(CgCtx *c)
{
    (void)c;
    rec("u", -1);
    return true;
}
static bool m_call(CgCtx *c, NodeId id)
{
    (void)c;
    rec("c", id);
    return true;
}
static bool m_entry_end(CgCtx *c)
{
    (void)c;
    rec("x", -1);
    return true;
}
static bool m_end(CgCtx *c)
{
    ck_assert_ptr_eq(c, &mock_ctx);
    rec("E", -1);
    return true;
}
static bool m_claims(OpKind op)
{
    return op == IR_OP_RELU;
}

static const CgBackend mock = {
    .name = "mock",
    .label = "mock backend",
    .features = "none",
    .device = IR_DEVICE_CPU,
    .claims = m_claims,
    .begin = m_begin,
    .node = m_node,
    .arena = m_arena,
    .entry_begin = m_entry_begin,
    .buffers = m_buffers,
    .call = m_call,
    .entry_end = m_entry_end,
    .end = m_end,
};

/* x -> relu -> relu (dead) -> relu -> y */
static Graph *chain(void)
{
    Graph *g = ir_graph_new("chain");
    ValueId v = ir_input_new(g, "x", sup_f32(1, (const int64_t[]){4}), (SrcLoc){0});
    for (int i = 0; i < 3; i++) {
        NodeId n = ir_node_new(g, IR_OP_RELU, "r", (SrcLoc){0}, &v, 1, 1);
        if (i != 1)
            v = g->nodes[n].outputs[0];
        else
            g->nodes[n].dead = true;
    }
    ir_output_add(g, v);
    return g;
}

START_TEST(test_driver_order)
{
    Graph *g = chain();
    Diag d;
    ir_diag_init(&d);
    trace[0] = 0;
    fail_node = -1;
    g->planned = true;
    ck_assert(cg_emit(&mock, g, NULL, stdout, &d));
    ck_assert_str_eq(trace, "b n0 n2 a e u c0 c2 x E");

    /* a node's failure stops the nodes and skips the entry; end still runs */
    trace[0] = 0;
    fail_node = 0;
    ck_assert(!cg_emit(&mock, g, NULL, stdout, &d));
    ck_assert_str_eq(trace, "b n0 E");

    /* no memory plan: an error naming the backend, no stage runs */
    trace[0] = 0;
    fail_node = -1;
    g->planned = false;
    ck_assert(!cg_emit(&mock, g, NULL, stdout, &d));
    ck_assert_str_eq(trace, "");
    ck_assert_ptr_nonnull(strstr(
        ir_diag_text(&d), "mock backend: the graph has no memory plan (run the memplan pass)"));
    ir_diag_fini(&d);
    ir_graph_free(g);
}
END_TEST

/* The C backend through the driver: the dead node (named node_r_2, as names are given to
 * every node) has no code, the live ones a body function and a launch each, in order. */
/* Every elementwise row flagged for integers (IR_F_INTS) has an integer kernel in the C
 * backend (codegen/c/elementwise_dtypes.c's int_expr): x (and y) i32 [4] -> op -> out
 * emits. A row flagged without a kernel fails here rather than at a user's model. */
START_TEST(test_c_int_kernels)
{
    int tried = 0;
    for (int k = 0; k < IR_NUM_OPS; k++) {
        const OpInfo *op = &ir_ops[k];
        if (!(op->flags & IR_F_INTS) || !(op->flags & IR_F_ELEMENTWISE))
            continue;
        Graph *g = ir_graph_new("ints");
        Type t = {IR_I32, sup_shape(1, (const int64_t[]){4}), NULL};
        ValueId in[2] = {ir_input_new(g, "x", t, (SrcLoc){0}), IR_NONE};
        if (op->max_inputs > 1)
            in[1] = ir_input_new(g, "y", t, (SrcLoc){0});
        NodeId n = ir_node_new(g, (OpKind)k, "op", (SrcLoc){0}, in, op->max_inputs > 1 ? 2 : 1, 1);
        ir_output_add(g, g->nodes[n].outputs[0]);
        Diag d;
        ir_diag_init(&d);
        ck_assert_msg(ir_infer_shapes(g, &d), "%s: %s", op->name, ir_diag_text(&d));
        ir_diag_fini(&d);
        char msg[512];
        size_t len;
        char *src = sup_emit(g, &len, msg, sizeof msg);
        ck_assert_msg(src, "op '%s' on i32: %s", op->name, msg);
        free(src);
        ir_graph_free(g);
        tried++;
    }
    ck_assert_int_ge(tried, 10);
}
END_TEST

START_TEST(test_c_through_driver)
{
    Graph *g = chain();
    Diag d;
    ir_diag_init(&d);
    ck_assert(ir_infer_shapes(g, &d));
    ir_diag_fini(&d);
    char msg[512];
    size_t len;
    char *src = sup_emit_as(g, false, &len, msg, sizeof msg); /* as `slimc emit` writes it */
    ck_assert_msg(src, "%s", msg);
    const char *b0 = strstr(src, "static void node_r(void *p");
    const char *b2 = strstr(src, "static void node_r_3(void *p");
    const char *run = strstr(src, "int slimc_model_run(");
    const char *c0 = run ? strstr(run, ", node_r, &a)") : NULL;
    const char *c2 = run ? strstr(run, ", node_r_3, &a)") : NULL;
    ck_assert(b0 && b2 && b0 < b2 && run && b2 < run && c0 && c2 && c0 < c2);
    ck_assert_ptr_null(strstr(src, "node_r_2"));
    free(src);
    /* the JIT writes the second relu's body (the same as the first's) once: it runs node_r */
    src = sup_emit(g, &len, msg, sizeof msg);
    ck_assert_msg(src, "%s", msg);
    ck_assert_ptr_nonnull(strstr(src, "static void node_r(void *p"));
    ck_assert_ptr_null(strstr(src, "node_r_3"));
    ck_assert_ptr_nonnull(strstr(src, "/* (the code of r: node_r) */"));
    run = strstr(src, "int slimc_model_run(");
    c0 = run ? strstr(run, ", node_r, &a)") : NULL;
    ck_assert_ptr_nonnull(c0 ? strstr(c0 + 1, ", node_r, &a)") : NULL);
    free(src);
    ir_graph_free(g);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("backend");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_c_claims_match_table);
    tcase_add_test(tc, test_cuda_claims_match_table);
    tcase_add_test(tc, test_c_table_checks);
    tcase_add_test(tc, test_registry);
    tcase_add_test(tc, test_driver_order);
    tcase_add_test(tc, test_c_through_driver);
    tcase_add_test(tc, test_c_int_kernels);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
