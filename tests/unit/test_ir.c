/* The IR's own pieces: the arena, the op table, symbolic dims and polynomials, shape
 * inference (results and error messages), the verifier and the printer. */
#include "ir/graph.h"

#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

START_TEST(arena_alignment_and_growth)
{
    Arena *a = ir_arena_new();
    for (int i = 1; i < 2000; i += 37) {
        unsigned char *p = ir_arena_alloc(a, (size_t)i);
        ck_assert_uint_eq((uintptr_t)p % 64, 0);
        for (int j = 0; j < i; j++)
            ck_assert_uint_eq(p[j], 0); /* zeroed */
        memset(p, 0xab, (size_t)i);
    }
    void *big = ir_arena_alloc(a, 10u << 20); /* bigger than a block */
    ck_assert_ptr_nonnull(big);
    int *v = ir_arena_alloc(a, 4 * sizeof(int));
    for (int i = 0; i < 4; i++)
        v[i] = i + 1;
    int *w = ir_arena_grow(a, v, 4 * sizeof(int), 8 * sizeof(int));
    ck_assert_int_eq(w[3], 4);
    ck_assert_int_eq(w[7], 0);
    ck_assert_str_eq(ir_arena_printf(a, "%s-%d", "conv", 3), "conv-3");
    ck_assert_str_eq(ir_arena_strndup(a, "abcdef", 3), "abc");
    ir_arena_free(a);
}
END_TEST

START_TEST(op_table)
{
    for (int i = 0; i < IR_NUM_OPS; i++) {
        const OpInfo *op = &ir_ops[i];
        ck_assert_ptr_nonnull(op->name);
        ck_assert(op->shape != NULL);
        ck_assert_int_le(op->min_inputs, op->max_inputs);
        OpKind k;
        ck_assert(ir_op_lookup(op->name, &k));
        ck_assert_int_eq(k, i);
        /* Elementwise binary ops are exactly the binary ones. */
        if (op->flags & IR_F_BINARY)
            ck_assert(op->flags & IR_F_ELEMENTWISE);
    }
    OpKind k;
    ck_assert(!ir_op_lookup("frobnicate", &k));
    ck_assert_str_eq(ir_ops[IR_OP_CONV2D].name, "conv2d");
}
END_TEST

START_TEST(dims_and_polys)
{
    Graph *g = ir_graph_new("t");
    int n = ir_graph_symbol(g, "N"), s = ir_graph_symbol(g, "S");
    ck_assert_int_eq(ir_graph_symbol(g, "N"), n);
    Dim dn = {1, 1u << n}, ds = {1, 1u << s}, out;
    ck_assert(ir_dim_mul(ir_dim(800), dn, &out));
    ck_assert_int_eq(out.c, 800);
    ck_assert(ir_dim_mul(out, ds, &out));
    ck_assert(!ir_dim_mul(out, dn, &out)); /* N squared: refused */
    int64_t syms[IR_MAX_SYMS] = {3, 5};
    ck_assert_int_eq(ir_dim_eval((Dim){800, 3u}, syms), 800 * 15);
    char buf[64];
    ck_assert_str_eq(ir_dim_str(g, (Dim){800, 1u << n}, buf, sizeof buf), "800*N");
    ck_assert_str_eq(ir_dim_str(g, dn, buf, sizeof buf), "N");

    Poly a = ir_poly_const(64), b = ir_poly_from_dim((Dim){128, 1u << n});
    Poly sum = a;
    ck_assert(ir_poly_add(&sum, b));
    ck_assert_int_eq(ir_poly_eval(&sum, syms), 64 + 128 * 3);
    ck_assert(ir_poly_le(&a, &sum));
    ck_assert(!ir_poly_le(&sum, &a));
    ck_assert(!ir_poly_le(&b, &a)); /* 128N <= 64 fails for N >= 1 */
    Poly r = ir_poly_const(65);
    ck_assert(ir_poly_round_up(&r, 64));
    ck_assert_int_eq(ir_poly_eval(&r, syms), 128);
    ir_graph_free(g);
}
END_TEST

/* A graph with input x: f32[N, C, H, W]. */
static Graph *graph_with_input(int64_t c, int64_t h, int64_t w, ValueId *x)
{
    Graph *g = ir_graph_new("t");
    int n = ir_graph_symbol(g, "N");
    Type t = {IR_F32, {4, {{1, 1u << n}, ir_dim(c), ir_dim(h), ir_dim(w)}}, NULL};
    *x = ir_input_new(g, "x", t, (SrcLoc){"t.slim", 1, 9});
    return g;
}

static ValueId weight(Graph *g, const char *name, int rank, const int64_t *dims)
{
    Type t = {IR_F32, {rank, {{0}}}, NULL};
    size_t n = 1;
    for (int i = 0; i < rank; i++) {
        t.shape.d[i] = ir_dim(dims[i]);
        n *= (size_t)dims[i];
    }
    float *data = ir_arena_alloc(g->arena, n * sizeof(float));
    return ir_const_new(g, name, t, data, n * sizeof(float), (SrcLoc){0});
}

START_TEST(shape_conv_pool_flatten_reshape)
{
    ValueId x;
    Graph *g = graph_with_input(3, 32, 31, &x);
    Diag d;
    ir_diag_init(&d);
    int64_t wd[] = {8, 3, 3, 3};
    ValueId in[] = {x, weight(g, "w", 4, wd)};
    NodeId conv = ir_node_new(g, IR_OP_CONV2D, "conv", (SrcLoc){"t.slim", 2, 5}, in, 2, 1);
    int64_t two[] = {2, 2}, one[] = {1, 1};
    ir_node_set_ints(g, conv, "stride", two, 2);
    ir_node_set_ints(g, conv, "padding", one, 2);
    ck_assert(ir_infer_node(g, conv, &d));
    char buf[128];
    ValueId cv = g->nodes[conv].outputs[0];
    /* (32 + 2 - 3) / 2 + 1 = 16, (31 + 2 - 3) / 2 + 1 = 16 */
    ck_assert_str_eq(ir_type_str(g, &g->values[cv].type, buf, sizeof buf), "f32[N, 8, 16, 16]");

    NodeId pool = ir_node_new(g, IR_OP_MAX_POOL2D, "pool", (SrcLoc){0}, &cv, 1, 1);
    int64_t three[] = {3, 3};
    ir_node_set_ints(g, pool, "kernel", three, 2);
    ir_node_set_ints(g, pool, "stride", two, 2);
    ir_node_set_int(g, pool, "ceil_mode", 1);
    ck_assert(ir_infer_node(g, pool, &d));
    ValueId pv = g->nodes[pool].outputs[0];
    /* ceil((16 - 3) / 2) + 1 = 8, and the last window starts at 14 < 16: kept */
    ck_assert_str_eq(ir_type_str(g, &g->values[pv].type, buf, sizeof buf), "f32[N, 8, 8, 8]");

    NodeId fl = ir_node_new(g, IR_OP_FLATTEN, "flat", (SrcLoc){0}, &pv, 1, 1);
    ck_assert(ir_infer_node(g, fl, &d));
    ValueId fv = g->nodes[fl].outputs[0];
    ck_assert_str_eq(ir_type_str(g, &g->values[fv].type, buf, sizeof buf), "f32[N, 512]");

    NodeId rs = ir_node_new(g, IR_OP_RESHAPE, "rs", (SrcLoc){0}, &fv, 1, 1);
    int64_t shape[] = {-1, 8, 64};
    ir_node_set_ints(g, rs, "shape", shape, 3);
    ck_assert(ir_infer_node(g, rs, &d));
    ck_assert_str_eq(ir_type_str(g, &g->values[g->nodes[rs].outputs[0]].type, buf, sizeof buf),
                     "f32[N, 8, 64]");

    NodeId bad = ir_node_new(g, IR_OP_RESHAPE, "bad", (SrcLoc){"t.slim", 7, 3}, &fv, 1, 1);
    int64_t wrong[] = {-1, 7};
    ir_node_set_ints(g, bad, "shape", wrong, 2);
    ck_assert(!ir_infer_node(g, bad, &d));
    ck_assert_int_eq(g->values[g->nodes[bad].outputs[0]].type.shape.rank, -1);
    ck_assert_msg(strstr(ir_diag_text(&d), "t.slim:7:3: error: reshape 'bad': cannot reshape") !=
                      NULL,
                  "%s", ir_diag_text(&d));
    ir_diag_fini(&d);
    ir_graph_free(g);
}
END_TEST

START_TEST(shape_errors_name_both_operands)
{
    ValueId x;
    Graph *g = graph_with_input(3, 4, 5, &x);
    Type t = {IR_F32, {2, {ir_dim(4), ir_dim(6)}}, NULL};
    ValueId y = ir_input_new(g, "y", t, (SrcLoc){"t.slim", 1, 30});
    Diag d;
    ir_diag_init(&d);
    ValueId in[] = {x, y};
    NodeId add = ir_node_new(g, IR_OP_ADD, "add1", (SrcLoc){"t.slim", 3, 11}, in, 2, 1);
    ck_assert(!ir_infer_node(g, add, &d));
    const char *msg = ir_diag_text(&d);
    ck_assert_msg(strstr(msg, "t.slim:3:11: error: add 'add1': shapes do not broadcast") != NULL,
                  "%s", msg);
    ck_assert(strstr(msg, "'x' (f32[N, 3, 4, 5], from t.slim:1:9)") != NULL);
    ck_assert(strstr(msg, "'y' (f32[4, 6], from t.slim:1:30)") != NULL);

    /* Downstream of an unknown value: quiet, and still unknown. */
    int errors = d.n_errors;
    ValueId av = g->nodes[add].outputs[0];
    NodeId r = ir_node_new(g, IR_OP_RELU, "r", (SrcLoc){0}, &av, 1, 1);
    ck_assert(ir_infer_node(g, r, &d));
    ck_assert_int_eq(d.n_errors, errors);
    ck_assert_int_eq(g->values[g->nodes[r].outputs[0]].type.shape.rank, -1);

    /* Linear with the wrong in-features names the layer's expectation. */
    int64_t wd[] = {10, 7};
    ValueId lin_in[] = {y, weight(g, "fc.weight", 2, wd)};
    NodeId lin = ir_node_new(g, IR_OP_LINEAR, "fc", (SrcLoc){"t.slim", 4, 9}, lin_in, 2, 1);
    ck_assert(!ir_infer_node(g, lin, &d));
    ck_assert(strstr(ir_diag_text(&d), "must be 7 (the layer's in-features)") != NULL);

    /* Broadcasting that works: [N,3,4,5] + [5] and [4,1] * [1,6]. */
    int64_t bd[] = {5};
    ValueId ok_in[] = {x, weight(g, "b", 1, bd)};
    NodeId ok = ir_node_new(g, IR_OP_ADD, "ok", (SrcLoc){0}, ok_in, 2, 1);
    ck_assert(ir_infer_node(g, ok, &d));
    char buf[128];
    ck_assert_str_eq(ir_type_str(g, &g->values[g->nodes[ok].outputs[0]].type, buf, sizeof buf),
                     "f32[N, 3, 4, 5]");
    ir_diag_fini(&d);
    ir_graph_free(g);
}
END_TEST

START_TEST(matmul_shapes)
{
    Graph *g = ir_graph_new("t");
    Diag d;
    ir_diag_init(&d);
    int64_t a[] = {2, 1, 3, 4}, b[] = {5, 4, 6}, v[] = {4};
    ValueId ab[] = {weight(g, "a", 4, a), weight(g, "b", 3, b)};
    NodeId m = ir_node_new(g, IR_OP_MATMUL, "mm", (SrcLoc){0}, ab, 2, 1);
    ck_assert(ir_infer_node(g, m, &d));
    char buf[128];
    ck_assert_str_eq(ir_type_str(g, &g->values[g->nodes[m].outputs[0]].type, buf, sizeof buf),
                     "f32[2, 5, 3, 6]");
    ValueId av[] = {ab[0], weight(g, "v", 1, v)};
    NodeId mv = ir_node_new(g, IR_OP_MATMUL, "mv", (SrcLoc){0}, av, 2, 1);
    ck_assert(ir_infer_node(g, mv, &d));
    ck_assert_str_eq(ir_type_str(g, &g->values[g->nodes[mv].outputs[0]].type, buf, sizeof buf),
                     "f32[2, 1, 3]");
    ir_diag_fini(&d);
    ir_graph_free(g);
}
END_TEST

START_TEST(verifier_catches_broken_graphs)
{
    ValueId x;
    Graph *g = graph_with_input(3, 4, 5, &x);
    Diag d;
    ir_diag_init(&d);
    NodeId r1 = ir_node_new(g, IR_OP_RELU, "r1", (SrcLoc){0}, &x, 1, 1);
    ValueId v1 = g->nodes[r1].outputs[0];
    NodeId r2 = ir_node_new(g, IR_OP_SIGMOID, "r2", (SrcLoc){0}, &v1, 1, 1);
    ir_output_add(g, g->nodes[r2].outputs[0]);
    ck_assert(ir_infer_shapes(g, &d));
    ck_assert_msg(ir_verify(g, &d), "%s", ir_diag_text(&d));

    /* Use before definition. */
    g->nodes[r1].inputs[0] = g->nodes[r2].outputs[0];
    ck_assert(!ir_verify(g, &d));
    ck_assert(strstr(ir_diag_text(&d), "before it is defined") != NULL);
    g->nodes[r1].inputs[0] = x;
    ir_diag_clear(&d);

    /* An epilogue op that is not elementwise. */
    g->nodes[r2].n_epilogue = 1;
    g->nodes[r2].epilogue[0] = (Epilogue){IR_OP_CONV2D, IR_NONE, false};
    ck_assert(!ir_verify(g, &d));
    ck_assert(strstr(ir_diag_text(&d), "not elementwise") != NULL);
    g->nodes[r2].epilogue[0] = (Epilogue){IR_OP_TANH, IR_NONE, false};
    ir_diag_clear(&d);
    ck_assert(ir_verify(g, &d));

    /* Replacing uses, compaction and the printer. */
    ir_replace_uses(g, v1, x);
    ck_assert_int_eq(ir_use_count(g, v1), 0);
    g->nodes[r1].dead = true;
    ir_compact(g);
    ck_assert_int_eq(g->n_nodes, 1);
    ck_assert(ir_verify(g, &d));
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    ir_print(g, f);
    fclose(f);
    ck_assert_msg(strstr(text, "= sigmoid(%0:x) |> tanh : f32[N, 3, 4, 5]") != NULL, "%s", text);
    free(text);
    ir_diag_fini(&d);
    ir_graph_free(g);
}
END_TEST

START_TEST(flops_and_weight_bytes)
{
    ValueId x;
    Graph *g = graph_with_input(1, 28, 28, &x);
    Diag d;
    ir_diag_init(&d);
    int64_t wd[] = {20, 1, 5, 5};
    ValueId in[] = {x, weight(g, "w", 4, wd)};
    NodeId conv = ir_node_new(g, IR_OP_CONV2D, "conv", (SrcLoc){0}, in, 2, 1);
    ir_output_add(g, g->nodes[conv].outputs[0]);
    ck_assert(ir_infer_shapes(g, &d));
    int64_t syms[IR_MAX_SYMS] = {2};
    ck_assert_double_eq(ir_flops(g, syms), 2.0 * 2 * 20 * 24 * 24 * 25);
    ck_assert_uint_eq(ir_weight_bytes(g), 20 * 25 * 4);
    ir_diag_fini(&d);
    ir_graph_free(g);
}
END_TEST

/* Nodes appended by a pass move to their places in one sweep: each just before its spot,
 * several at one spot in the order they were appended, spot n_old at the end; producers
 * follow. */
START_TEST(place_appended_nodes)
{
    ValueId x;
    Graph *g = graph_with_input(3, 4, 5, &x);
    NodeId a = ir_node_new(g, IR_OP_RELU, "a", (SrcLoc){0}, &x, 1, 1);
    NodeId b = ir_node_new(g, IR_OP_SIGMOID, "b", (SrcLoc){0}, &x, 1, 1);
    NodeId c = ir_node_new(g, IR_OP_TANH, "c", (SrcLoc){0}, &x, 1, 1);
    ck_assert_int_eq(a, 0);
    ck_assert_int_eq(c, 2);
    const NodeId n_old = g->n_nodes;
    const char *names[] = {"after_a1", "end1", "after_a2", "first", "end2"};
    const NodeId before[] = {1, 3, 1, 0, 3};
    for (int k = 0; k < 5; k++)
        ir_node_new(g, IR_OP_RELU, names[k], (SrcLoc){0}, &x, 1, 1);
    ir_nodes_place_appended(g, n_old, before);
    const char *want[] = {"first", "a", "after_a1", "after_a2", "b", "c", "end1", "end2"};
    ck_assert_int_eq(g->n_nodes, 8);
    for (int i = 0; i < 8; i++) {
        ck_assert_str_eq(g->nodes[i].name, want[i]);
        ck_assert_int_eq(g->values[g->nodes[i].outputs[0]].producer, i);
    }
    (void)b;
    ir_graph_free(g);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ir");
    TCase *tc = tcase_create("ir");
    tcase_add_test(tc, arena_alignment_and_growth);
    tcase_add_test(tc, op_table);
    tcase_add_test(tc, dims_and_polys);
    tcase_add_test(tc, shape_conv_pool_flatten_reshape);
    tcase_add_test(tc, shape_errors_name_both_operands);
    tcase_add_test(tc, matmul_shapes);
    tcase_add_test(tc, verifier_catches_broken_graphs);
    tcase_add_test(tc, flops_and_weight_bytes);
    tcase_add_test(tc, place_appended_nodes);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
