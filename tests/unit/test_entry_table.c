/* The table-driven entry of the JIT's large graphs (codegen/c/entry_table.c): a graph of
 * more than 64 nodes with a symbolic batch (arena offsets that depend on it), an embedding
 * (an index op whose bad index must stop the run with its error), 70 softmaxes each
 * followed by three elementwise ops, a matmul by a constant followed by two, a view in the
 * middle (a table segment ends there) and a view as an output (copied after the last
 * segment); once as it is and once after fuse (epilogues, whose operands the records carry
 * in their ep slots). The JIT's source must be tables, and every output must equal the
 * reference evaluator's at 1 and 3 threads; an index out of range is the run's error, as
 * in the plain entry. (No op of this graph leaves its epilogue to a second loop, the
 * records' epi: that call is the plain entry's own, written the same way.) */
#include "ir/graph.h"
#include "passes/pass.h"
#include "support_cg.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

enum { LAYERS = 70, S = 5, D = 8, VOCAB = 10 };

/* A new node's output (the node made first: it may move g->nodes). */
static ValueId node(Graph *g, OpKind op, const char *name, const ValueId *in, int n_in)
{
    const NodeId n = ir_node_new(g, op, name, (SrcLoc){0}, in, n_in, 1);
    return g->nodes[n].outputs[0];
}

/* y0 = the chain's end, y1 = a flat view of it; ids and x carry the symbol B. */
static Graph *table_graph(RtTensor *in, unsigned *seed, bool fused)
{
    Graph *g = ir_graph_new("table");
    const int sym = ir_graph_symbol(g, "B");
    const int64_t xd[2] = {S, D}, td[2] = {VOCAB, D}, vd[1] = {D};
    ValueId x = sup_input(g, "x", 2, xd, &in[0], seed);
    ValueId ids = sup_input_int(g, "ids", IR_I64, 1, xd, 0, VOCAB - 1, &in[1], seed);
    g->values[x].type.shape.d[0] = (Dim){1, 1u << sym};
    g->values[ids].type.shape.d[0] = (Dim){1, 1u << sym};
    ValueId e_in[2] = {ids, sup_const_rand(g, "table", 2, td, seed)};
    ValueId a_in[2] = {x, node(g, IR_OP_EMBEDDING, "emb", e_in, 2)};
    ValueId h = node(g, IR_OP_ADD, "add_emb", a_in, 2);
    for (int i = 0; i < LAYERS; i++) {
        char name[32];
        snprintf(name, sizeof name, "softmax%d", i); /* not an epilogue: a node a layer */
        const NodeId sm = ir_node_new(g, IR_OP_SOFTMAX, name, (SrcLoc){0}, &h, 1, 1);
        ir_node_set_int(g, sm, "axis", -1);
        h = g->nodes[sm].outputs[0];
        snprintf(name, sizeof name, "scale%d", i);
        ValueId m_in[2] = {h, sup_const_rand(g, name, 1, vd, seed)};
        h = node(g, IR_OP_MUL, name, m_in, 2);
        snprintf(name, sizeof name, "shift%d", i);
        ValueId s_in[2] = {h, sup_const_rand(g, name, 1, vd, seed)};
        h = node(g, IR_OP_ADD, name, s_in, 2);
        snprintf(name, sizeof name, "act%d", i);
        h = node(g, i % 2 ? IR_OP_TANH : IR_OP_RELU, name, &h, 1);
        if (i == LAYERS / 2) { /* a view in the middle: [B, 2, 4] and back */
            NodeId r = ir_node_new(g, IR_OP_RESHAPE, "mid_view", (SrcLoc){0}, &h, 1, 1);
            const int64_t shape[3] = {-1, 2, 4};
            ir_node_set_ints(g, r, "shape", shape, 3);
            const ValueId rv = g->nodes[r].outputs[0];
            h = node(g, IR_OP_FLATTEN, "mid_back", &rv, 1);
        }
    }
    /* matmul by a constant: its kernel leaves epilogues to a second loop, which with fuse
     * are the mul and tanh after it */
    const int64_t wd[2] = {D, D};
    const ValueId mm_in[2] = {h, sup_const_rand(g, "w", 2, wd, seed)};
    h = node(g, IR_OP_MATMUL, "mm", mm_in, 2);
    const ValueId sm_in[2] = {h, sup_const_rand(g, "mm_scale", 1, vd, seed)};
    h = node(g, IR_OP_MUL, "mm_scale", sm_in, 2);
    h = node(g, IR_OP_TANH, "mm_act", &h, 1);
    ir_output_add(g, h);
    NodeId v = ir_node_new(g, IR_OP_RESHAPE, "flat", (SrcLoc){0}, &h, 1, 1);
    const int64_t flat[1] = {-1};
    ir_node_set_ints(g, v, "shape", flat, 1);
    ir_output_add(g, g->nodes[v].outputs[0]);
    Diag d;
    ir_diag_init(&d);
    ck_assert_msg(ir_infer_shapes(g, &d), "%s", ir_diag_text(&d));
    if (fused) {
        PassArgs none = {0};
        ck_assert_msg(pass_fuse(g, &none, &d), "%s", ir_diag_text(&d));
        ir_compact(g);
    }
    ir_diag_fini(&d);
    return g;
}

START_TEST(test_tables_match_the_reference)
{
    for (int fused = 0; fused < 2; fused++) {
        unsigned seed = 11u + (unsigned)fused;
        RtTensor in[2];
        Graph *g = table_graph(in, &seed, fused);
        char msg[4096];
        size_t len;
        char *src = sup_emit(g, &len, msg, sizeof msg);
        ck_assert_msg(src, "%s", msg);
        /* tables, at least two segments (the view in the middle), offsets from the symbol,
         * and the epilogue loop where fuse made epilogues */
        int segments = 0;
        for (const char *p = src; (p = strstr(p, "if (slimc_cg_exec(t, ")) != NULL; p++)
            segments++;
        ck_assert_msg(segments >= 2, "%d table segments", segments);
        ck_assert(strstr(src, "static const int64_t P_vt[") != NULL);
        ck_assert(strstr(src, "P_v[") && strstr(src, "sym_B"));
        if (fused) { /* the matmul's epilogue operand (mm_scale) travels in its ep slots */
            const char *r = strstr(src, "{node_mm, NULL, {");
            ck_assert_msg(r, "no record of the matmul");
            r = strstr(r + 17, "}, {");
            ck_assert_msg(r && strncmp(r + 4, "-1", 2) != 0, "the matmul's record has no ep slot");
        }
        free(src);
        static const int threads[] = {1, 3};
        ck_assert_msg(sup_check(g, in, threads, 2, 1e-6, msg, sizeof msg), "fused %d: %s", fused,
                      msg);
        free(in[0].data);
        free(in[1].data);
        ir_graph_free(g);
    }
}
END_TEST

START_TEST(test_bad_index_is_the_error)
{
    unsigned seed = 5;
    RtTensor in[2];
    Graph *g = table_graph(in, &seed, false);
    ((int64_t *)in[1].data)[S - 1] = VOCAB; /* one past the table */
    char msg[4096];
    size_t len;
    char *src = sup_emit(g, &len, msg, sizeof msg);
    ck_assert_msg(src, "%s", msg);
    Diag d;
    ir_diag_init(&d);
    RtOptions ro;
    rt_options_default(&ro);
    RtModule *m = rt_compile(src, len, &ro, &d);
    ck_assert_msg(m, "%s", ir_diag_text(&d));
    RtExec *e = cg_exec_new(g, m, NULL, &d);
    ck_assert_msg(e, "%s", ir_diag_text(&d));
    RtTensor outs[2];
    ck_assert(!rt_exec_run(e, in, 2, outs, 2, 1, &d));
    ck_assert_msg(strstr(ir_diag_text(&d), "out of range"), "%s", ir_diag_text(&d));
    rt_exec_free(e);
    rt_module_free(m);
    ir_diag_fini(&d);
    free(src);
    free(in[0].data);
    free(in[1].data);
    ir_graph_free(g);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("entry_table");
    TCase *tc = tcase_create("entry_table");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_tables_match_the_reference);
    tcase_add_test(tc, test_bad_index_is_the_error);
    suite_add_tcase(s, tc);
    SRunner *r = srunner_create(s);
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
