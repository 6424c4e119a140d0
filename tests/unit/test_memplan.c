/* The memory planner: simultaneously live buffers never overlap (checked by brute force
 * over several symbol values), slots are reused, views alias, concats run in place,
 * outputs are not planned. */
#include "support_cg.h"

#include "passes/pass.h"

#include <check.h>
#include <stdlib.h>

#define D(...) ((const int64_t[]){__VA_ARGS__})

static unsigned seed = 7;

static ValueId unary(Graph *g, OpKind op, const char *name, ValueId x)
{
    NodeId n = ir_node_new(g, op, name, (SrcLoc){0}, &x, 1, 1);
    return g->nodes[n].outputs[0];
}

static ValueId binary(Graph *g, OpKind op, const char *name, ValueId a, ValueId b)
{
    ValueId ins[2] = {a, b};
    NodeId n = ir_node_new(g, op, name, (SrcLoc){0}, ins, 2, 1);
    return g->nodes[n].outputs[0];
}

static ValueId root_of(const Graph *g, ValueId v)
{
    while (g->values[v].alias_of != IR_NONE)
        v = g->values[v].alias_of;
    return v;
}

/* Lifetimes [first, last] of every storage root, recomputed independently. */
static void lifetimes(const Graph *g, int *first, int *last)
{
    for (int v = 0; v < g->n_values; v++)
        first[v] = last[v] = -1;
    for (int i = 0; i < g->n_nodes; i++) {
        const Node *n = &g->nodes[i];
        ValueId o = root_of(g, n->outputs[0]);
        if (first[o] < 0)
            first[o] = i;
        if (last[o] < i)
            last[o] = i;
        for (int k = 0; k < n->n_inputs; k++)
            if (n->inputs[k] != IR_NONE && last[root_of(g, n->inputs[k])] < i)
                last[root_of(g, n->inputs[k])] = i;
        for (int k = 0; k < n->n_epilogue; k++)
            if (n->epilogue[k].operand != IR_NONE && last[root_of(g, n->epilogue[k].operand)] < i)
                last[root_of(g, n->epilogue[k].operand)] = i;
    }
}

static int64_t bytes_of(const Graph *g, ValueId v, const int64_t *syms)
{
    Dim ne;
    ck_assert(ir_shape_numel(&g->values[v].type.shape, &ne));
    return (int64_t)ir_dtype_bytes(g->values[v].type.dtype, ir_dim_eval(ne, syms));
}

static void check_no_overlap(const Graph *g)
{
    int first[256], last[256];
    ck_assert_int_lt(g->n_values, 256);
    lifetimes(g, first, last);
    static const int64_t tries[] = {1, 2, 3, 7, 64, 1000};
    for (size_t t = 0; t < sizeof tries / sizeof tries[0]; t++) {
        int64_t syms[IR_MAX_SYMS];
        for (int s = 0; s < IR_MAX_SYMS; s++)
            syms[s] = tries[t] + s; /* different values per symbol */
        int64_t arena = ir_poly_eval(&g->arena_bytes, syms);
        for (int a = 0; a < g->n_values; a++) {
            if (!g->values[a].planned)
                continue;
            int64_t oa = ir_poly_eval(&g->values[a].offset, syms), sa = bytes_of(g, a, syms);
            ck_assert_int_eq(oa % 64, 0);
            ck_assert_int_le(oa + sa, arena);
            for (int b = a + 1; b < g->n_values; b++) {
                if (!g->values[b].planned || first[a] > last[b] || first[b] > last[a])
                    continue;
                int64_t ob = ir_poly_eval(&g->values[b].offset, syms), sb = bytes_of(g, b, syms);
                ck_assert_msg(oa + sa <= ob || ob + sb <= oa,
                              "%s [%lld, +%lld) and %s [%lld, +%lld) overlap at %lld",
                              g->values[a].name, (long long)oa, (long long)sa, g->values[b].name,
                              (long long)ob, (long long)sb, (long long)tries[t]);
            }
        }
    }
}

static void plan(Graph *g)
{
    Diag d;
    ir_diag_init(&d);
    ck_assert_msg(ir_infer_shapes(g, &d), "%s", ir_diag_text(&d));
    ck_assert_msg(pass_memplan(g, NULL, &d), "%s", ir_diag_text(&d));
    ck_assert(g->planned);
    ir_diag_fini(&d);
}

START_TEST(test_chain_reuse)
{
    Graph *g = ir_graph_new("chain");
    ValueId x = ir_input_new(g, "x", sup_f32(2, D(16, 100)), (SrcLoc){0});
    ValueId v = x;
    ValueId temps[6];
    static const char *names[] = {"t0", "t1", "t2", "t3", "t4", "t5"};
    for (int i = 0; i < 6; i++)
        v = temps[i] = unary(g, i % 2 ? IR_OP_RELU : IR_OP_TANH, names[i], v);
    ValueId y = unary(g, IR_OP_SIGMOID, "y", v);
    ir_output_add(g, y);
    plan(g);
    int64_t sum = 0;
    for (int i = 0; i < 6; i++) {
        ck_assert(g->values[temps[i]].planned);
        sum += 16 * 100 * 4;
    }
    int64_t arena = ir_poly_eval(&g->arena_bytes, NULL);
    ck_assert_int_lt(arena, sum);
    ck_assert_int_eq(arena, 2 * 6400); /* a chain needs two buffers */
    ck_assert(!g->values[y].planned);
    ck_assert(!g->values[x].planned);
    check_no_overlap(g);
    ir_graph_free(g);
}
END_TEST

START_TEST(test_symbolic_no_overlap)
{
    Graph *g = ir_graph_new("sym");
    int N = ir_graph_symbol(g, "N"), T = ir_graph_symbol(g, "T");
    Type xt = {IR_F32, {3, {{1, 1u << N}, {1, 1u << T}, {24, 0}}}, NULL};
    ValueId x = ir_input_new(g, "x", xt, (SrcLoc){0});
    Type bt = {IR_F32, {1, {{24, 0}}}, NULL};
    ValueId bias = ir_input_new(g, "bias", bt, (SrcLoc){0});
    ValueId a = unary(g, IR_OP_RELU, "a", x);
    ValueId b = binary(g, IR_OP_ADD, "b", a, bias);
    ValueId w = sup_const_rand(g, "w", 2, D(40, 24), &seed);
    ValueId ins[2] = {b, w};
    NodeId ln = ir_node_new(g, IR_OP_LINEAR, "c", (SrcLoc){0}, ins, 2, 1);
    ValueId c = g->nodes[ln].outputs[0];
    ValueId dd = binary(g, IR_OP_MUL, "d", a, a); /* keeps a alive */
    ValueId e = unary(g, IR_OP_SIGMOID, "e", c);
    ValueId f = unary(g, IR_OP_TANH, "f", dd);
    ValueId small = unary(g, IR_OP_RELU, "small", bias); /* static-sized */
    ValueId h = binary(g, IR_OP_ADD, "h", f, small);
    /* an epilogue operand counts as a use of its node */
    ValueId i = unary(g, IR_OP_RELU, "i", e);
    g->nodes[g->values[i].producer].epilogue[0] = (Epilogue){IR_OP_ADD, c, false};
    g->nodes[g->values[i].producer].n_epilogue = 1;
    ir_output_add(g, i);
    ir_output_add(g, h);
    plan(g);
    ck_assert(g->values[a].planned && g->values[c].planned && g->values[small].planned);
    check_no_overlap(g);
    ir_graph_free(g);
}
END_TEST

START_TEST(test_views_alias)
{
    Graph *g = ir_graph_new("views");
    ValueId x = ir_input_new(g, "x", sup_f32(4, D(2, 3, 4, 5)), (SrcLoc){0});
    ValueId a = unary(g, IR_OP_RELU, "a", x);
    NodeId fl = ir_node_new(g, IR_OP_FLATTEN, "flat", (SrcLoc){0}, &a, 1, 1);
    ValueId f = g->nodes[fl].outputs[0];
    NodeId rs = ir_node_new(g, IR_OP_RESHAPE, "rs", (SrcLoc){0}, &f, 1, 1);
    ir_node_set_ints(g, rs, "shape", D(6, 20), 2);
    ValueId r = g->nodes[rs].outputs[0];
    ValueId b = unary(g, IR_OP_TANH, "b", x); /* must not overlap a: a lives through the views */
    ValueId c = binary(g, IR_OP_ADD, "c", r, r);
    ValueId dd = binary(g, IR_OP_ADD, "d", c, c);
    (void)b;
    NodeId xv = ir_node_new(g, IR_OP_FLATTEN, "xflat", (SrcLoc){0}, &x, 1, 1);
    ValueId xf = g->nodes[xv].outputs[0];
    ValueId e = unary(g, IR_OP_RELU, "e", xf);
    ValueId bb = binary(g, IR_OP_ADD, "bb", b, b);
    ir_output_add(g, dd);
    ir_output_add(g, e);
    ir_output_add(g, bb);
    plan(g);
    ck_assert(!g->values[f].planned && !g->values[r].planned);
    ck_assert_int_eq(g->values[f].alias_of, a);
    ck_assert_int_eq(g->values[r].alias_of, a);
    ck_assert_int_eq(g->values[xf].alias_of, x);
    ck_assert(g->values[a].planned && !g->values[dd].planned);
    check_no_overlap(g);
    ir_graph_free(g);
}
END_TEST

/* Concats in place: the pieces of a concat along axis 1 of a batch-1 tensor take no slot
 * but lie in the concat's (at their byte offsets), a piece read again after the concat
 * keeps that slot alive, and the JIT gives the reference's values. A concat whose pieces
 * are not 64-byte aligned, or one that has a graph output as a piece, copies as before. */
START_TEST(test_concat_in_place)
{
    Graph *g = ir_graph_new("cat");
    RtTensor in[2] = {sup_input_rand(4, D(1, 4, 8, 8), &seed),
                      sup_input_rand(4, D(1, 3, 5, 1), &seed)};
    ValueId x = ir_input_new(g, "x", sup_f32(4, D(1, 4, 8, 8)), (SrcLoc){0});
    ValueId y = ir_input_new(g, "y", sup_f32(4, D(1, 3, 5, 1)), (SrcLoc){0});
    ValueId p[3] = {unary(g, IR_OP_RELU, "a", x), unary(g, IR_OP_TANH, "b", x), IR_NONE};
    ValueId t = unary(g, IR_OP_EXP, "t", x); /* between the pieces: not inside the concat */
    p[2] = binary(g, IR_OP_ADD, "c", t, x);
    NodeId cn = ir_node_new(g, IR_OP_CONCAT, "cat", (SrcLoc){0}, p, 3, 1);
    ir_node_set_int(g, cn, "axis", 1);
    ValueId cat = g->nodes[cn].outputs[0];
    ValueId z = binary(g, IR_OP_ADD, "z", cat, cat);
    ValueId e = binary(g, IR_OP_MUL, "e", p[1], p[1]); /* b read after the concat */
    /* 60-byte pieces; a piece that is a graph output */
    ValueId q[2] = {unary(g, IR_OP_RELU, "qa", y), unary(g, IR_OP_TANH, "qb", y)};
    NodeId c2 = ir_node_new(g, IR_OP_CONCAT, "cat2", (SrcLoc){0}, q, 2, 1);
    ir_node_set_int(g, c2, "axis", 1);
    ValueId r[2] = {unary(g, IR_OP_RELU, "ra", x), unary(g, IR_OP_TANH, "rb", x)};
    NodeId c3 = ir_node_new(g, IR_OP_CONCAT, "cat3", (SrcLoc){0}, r, 2, 1);
    ir_node_set_int(g, c3, "axis", 1);
    ir_output_add(g, z);
    ir_output_add(g, e);
    ir_output_add(g, g->nodes[c2].outputs[0]);
    ir_output_add(g, g->nodes[c3].outputs[0]);
    ir_output_add(g, r[1]);
    plan(g);
    for (int i = 0; i < 3; i++) {
        ck_assert(!g->values[p[i]].planned);
        ck_assert_int_eq(g->values[p[i]].alias_of, cat);
        ck_assert_int_eq(ir_poly_eval(&g->values[p[i]].offset, NULL), i * 4 * 64 * 4);
    }
    ck_assert(g->values[cat].planned && g->values[t].planned);
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(g->values[q[i]].alias_of, IR_NONE);
        ck_assert_int_eq(g->values[r[i]].alias_of, IR_NONE);
    }
    check_no_overlap(g);
    char msg[1024];
    const int threads[] = {1, 2};
    /* 1e-6: the JIT's tanh and exp are runtime/kernels/vmath.h's, a few ulps from libm's,
     * which the reference evaluator calls; a piece in the wrong place is off by O(1) */
    ck_assert_msg(sup_check(g, in, threads, 2, 1e-6, msg, sizeof msg), "%s", msg);
    free(in[0].data);
    free(in[1].data);
    ir_graph_free(g);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("memplan");
    TCase *tc = tcase_create("memplan");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_chain_reuse);
    tcase_add_test(tc, test_symbolic_no_overlap);
    tcase_add_test(tc, test_views_alias);
    tcase_add_test(tc, test_concat_in_place);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
