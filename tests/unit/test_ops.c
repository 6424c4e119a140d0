/* Every op of ir/ops.def through the C backend (memplan, emitter, JIT, rt_exec) against
 * the reference evaluator, at 1 and 3 threads, with and without epilogues. */
#include "support_cg.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const int threads[] = {1, 3};
static unsigned seed = 12345;

#define D(...)     ((const int64_t[]){__VA_ARGS__})
#define NDIMS(...) ((int)(sizeof((const int64_t[]){__VA_ARGS__}) / sizeof(int64_t)))

static ValueId input(Graph *g, const char *name, int rank, const int64_t *dims, RtTensor *t)
{
    return sup_input(g, name, rank, dims, t, &seed);
}

static NodeId node(Graph *g, OpKind op, const char *name, const ValueId *ins, int n)
{
    return ir_node_new(g, op, name, (SrcLoc){0}, ins, n, 1);
}

static ValueId out_of(Graph *g, NodeId n)
{
    return g->nodes[n].outputs[0];
}

static void add_ep(Graph *g, NodeId n, OpKind op, ValueId operand, bool first)
{
    Node *nd = &g->nodes[n];
    nd->epilogue[nd->n_epilogue].op = op;
    nd->epilogue[nd->n_epilogue].operand = operand;
    nd->epilogue[nd->n_epilogue].operand_first = first;
    nd->n_epilogue++;
}

/* ---- linear ---- */

static void linear_case(int64_t M, int64_t K, int64_t N, bool tr, bool bias, int ep)
{
    Graph *g = ir_graph_new("lin");
    RtTensor in[2];
    ValueId x = input(g, "x", 3, D(2, M, K), &in[0]);
    ValueId w =
        tr ? sup_const_rand(g, "w", 2, D(K, N), &seed) : sup_const_rand(g, "w", 2, D(N, K), &seed);
    ValueId ins[3] = {x, w, bias ? sup_const_rand(g, "b", 1, D(N), &seed) : IR_NONE};
    NodeId n = node(g, IR_OP_LINEAR, "fc", ins, bias ? 3 : 2);
    if (tr)
        ir_node_set_int(g, n, "w_transposed", 1);
    int n_in = 1;
    if (ep == 1)
        add_ep(g, n, IR_OP_RELU, IR_NONE, false);
    if (ep == 2) { /* residual with broadcast, then sigmoid */
        ValueId r = input(g, "res", 2, D(M, N), &in[1]);
        n_in = 2;
        add_ep(g, n, IR_OP_ADD, r, false);
        add_ep(g, n, IR_OP_SIGMOID, IR_NONE, false);
    }
    if (ep == 3) {
        ValueId r = sup_const_rand(g, "s", 1, D(N), &seed);
        add_ep(g, n, IR_OP_DIV, r, true);
        add_ep(g, n, IR_OP_TANH, IR_NONE, false);
    }
    ir_output_add(g, out_of(g, n));
    char what[128];
    snprintf(what, sizeof what, "linear M=%lld K=%lld N=%lld tr=%d bias=%d ep=%d", (long long)M,
             (long long)K, (long long)N, tr, bias, ep);
    sup_run_check(g, in, n_in, 1e-4, what);
}

START_TEST(test_linear)
{
    linear_case(1, 5, 3, false, true, 0);
    linear_case(3, 33, 70, true, true, 1);
    linear_case(7, 300, 130, false, false, 2);
    linear_case(5, 17, 1, true, false, 3);
    linear_case(9, 260, 65, true, true, 2);
    linear_case(4, 8, 64, false, true, 1);
}
END_TEST

/* ---- matmul ---- */

static void matmul_case(int ra, const int64_t *da, int rb, const int64_t *db)
{
    Graph *g = ir_graph_new("mm");
    RtTensor in[2];
    ValueId a = input(g, "a", ra, da, &in[0]);
    ValueId b = input(g, "b", rb, db, &in[1]);
    ValueId ins[2] = {a, b};
    NodeId n = node(g, IR_OP_MATMUL, "mm", ins, 2);
    add_ep(g, n, IR_OP_RELU, IR_NONE, false);
    ir_output_add(g, out_of(g, n));
    sup_run_check(g, in, 2, 1e-4, "matmul");
}

START_TEST(test_matmul)
{
    matmul_case(2, D(3, 4), 2, D(4, 5));
    matmul_case(4, D(2, 3, 4, 5), 2, D(5, 66));
    matmul_case(4, D(2, 1, 4, 5), 3, D(3, 5, 2));
    matmul_case(1, D(5), 2, D(5, 3));
    matmul_case(3, D(2, 4, 5), 1, D(5));
    matmul_case(3, D(1, 7, 9), 4, D(2, 3, 9, 11));
}
END_TEST

/* ---- conv2d ---- */

static void conv_case(int64_t B, int64_t C, int64_t H, int64_t W, int64_t O, int64_t k,
                      int64_t stride, int64_t pad, int64_t dil, int64_t groups, bool bias, bool ep)
{
    Graph *g = ir_graph_new("conv");
    RtTensor in[1];
    ValueId x = input(g, "x", 4, D(B, C, H, W), &in[0]);
    ValueId w = sup_const_rand(g, "w", 4, D(O, C / groups, k, k), &seed);
    ValueId ins[3] = {x, w, bias ? sup_const_rand(g, "b", 1, D(O), &seed) : IR_NONE};
    NodeId n = node(g, IR_OP_CONV2D, "conv", ins, bias ? 3 : 2);
    ir_node_set_int(g, n, "stride", stride);
    ir_node_set_int(g, n, "padding", pad);
    ir_node_set_int(g, n, "dilation", dil);
    ir_node_set_int(g, n, "groups", groups);
    if (ep) {
        add_ep(g, n, IR_OP_MUL, sup_const_rand(g, "scale", 3, D(O, 1, 1), &seed), false);
        add_ep(g, n, IR_OP_RELU, IR_NONE, false);
    }
    ir_output_add(g, out_of(g, n));
    char what[160];
    snprintf(what, sizeof what,
             "conv %lldx%lldx%lldx%lld O=%lld k=%lld s=%lld p=%lld d=%lld g=%lld", (long long)B,
             (long long)C, (long long)H, (long long)W, (long long)O, (long long)k,
             (long long)stride, (long long)pad, (long long)dil, (long long)groups);
    sup_run_check(g, in, 1, 1e-4, what);
}

START_TEST(test_conv2d)
{
    conv_case(2, 3, 11, 9, 5, 3, 1, 0, 1, 1, true, false);
    conv_case(1, 4, 12, 13, 6, 3, 2, 1, 1, 2, true, true);
    conv_case(3, 6, 10, 7, 6, 3, 1, 1, 1, 6, false, true);  /* depthwise */
    conv_case(2, 2, 15, 14, 4, 3, 1, 2, 2, 1, true, false); /* dilation */
    conv_case(1, 20, 12, 12, 50, 5, 1, 0, 1, 1, true, true);
    conv_case(2, 3, 9, 9, 4, 5, 3, 2, 1, 1, true, false);
    conv_case(1, 4, 7, 8, 8, 1, 1, 0, 1, 2, true, false);
}
END_TEST

/* ---- elementwise ---- */

static void binary_case(OpKind op, int ra, const int64_t *da, int rb, const int64_t *db)
{
    Graph *g = ir_graph_new("bin");
    RtTensor in[2];
    ValueId a = input(g, "a", ra, da, &in[0]);
    ValueId b = input(g, "b", rb, db, &in[1]);
    if (op == IR_OP_DIV) /* keep divisors away from 0 */
        for (size_t i = 0; i < in[1].nbytes / 4; i++)
            ((float *)in[1].data)[i] = 1.5f + ((float *)in[1].data)[i];
    ValueId ins[2] = {a, b};
    NodeId n = node(g, op, "e", ins, 2);
    ir_output_add(g, out_of(g, n));
    sup_run_check(g, in, 2, 1e-6, ir_ops[op].name);
}

static void unary_case(OpKind op)
{
    Graph *g = ir_graph_new("un");
    RtTensor in[1];
    ValueId a = input(g, "a", 3, D(3, 5, 17), &in[0]);
    ((float *)in[0].data)[3] = NAN;
    ((float *)in[0].data)[4] = -0.0f;
    ValueId ins[1] = {a};
    NodeId n = node(g, op, "u", ins, 1);
    ir_output_add(g, out_of(g, n));
    sup_run_check(g, in, 1, op == IR_OP_RELU ? 0 : 1e-5, ir_ops[op].name);
}

START_TEST(test_elementwise)
{
    binary_case(IR_OP_ADD, 3, D(2, 3, 4), 1, D(4));
    binary_case(IR_OP_SUB, 3, D(2, 1, 4), 2, D(3, 1));
    binary_case(IR_OP_MUL, 2, D(5, 7), 2, D(5, 7));
    binary_case(IR_OP_DIV, 1, D(1), 3, D(2, 3, 5));
    binary_case(IR_OP_ADD, 4, D(2, 3, 1, 5), 4, D(1, 3, 4, 1));
    unary_case(IR_OP_RELU);
    unary_case(IR_OP_SIGMOID);
    unary_case(IR_OP_TANH);
}
END_TEST

/* ---- pooling ---- */

static void pool_case(OpKind op, int64_t H, int64_t W, int64_t k, int64_t s, int64_t p, int64_t dil,
                      int ceil, int cip)
{
    Graph *g = ir_graph_new("pool");
    RtTensor in[1];
    ValueId x = input(g, "x", 4, D(2, 3, H, W), &in[0]);
    ((float *)in[0].data)[7] = NAN;
    ValueId ins[1] = {x};
    NodeId n = node(g, op, "pool", ins, 1);
    ir_node_set_int(g, n, "kernel", k);
    ir_node_set_int(g, n, "stride", s);
    ir_node_set_int(g, n, "padding", p);
    if (op == IR_OP_MAX_POOL2D)
        ir_node_set_int(g, n, "dilation", dil);
    ir_node_set_int(g, n, "ceil_mode", ceil);
    if (op == IR_OP_AVG_POOL2D)
        ir_node_set_int(g, n, "count_include_pad", cip);
    ir_output_add(g, out_of(g, n));
    char what[128];
    snprintf(what, sizeof what, "%s H=%lld W=%lld k=%lld s=%lld p=%lld d=%lld ceil=%d cip=%d",
             ir_ops[op].name, (long long)H, (long long)W, (long long)k, (long long)s, (long long)p,
             (long long)dil, ceil, cip);
    sup_run_check(g, in, 1, 0, what);
}

START_TEST(test_pool)
{
    pool_case(IR_OP_MAX_POOL2D, 8, 8, 2, 2, 0, 1, 0, 1);
    pool_case(IR_OP_MAX_POOL2D, 9, 11, 3, 2, 1, 1, 1, 1);
    pool_case(IR_OP_MAX_POOL2D, 12, 10, 3, 1, 1, 2, 0, 1);
    pool_case(IR_OP_MAX_POOL2D, 7, 7, 2, 2, 1, 1, 1, 1);
    pool_case(IR_OP_AVG_POOL2D, 8, 8, 2, 2, 0, 1, 0, 1);
    pool_case(IR_OP_AVG_POOL2D, 9, 11, 3, 2, 1, 1, 1, 1);
    pool_case(IR_OP_AVG_POOL2D, 9, 11, 3, 2, 1, 1, 1, 0);
    pool_case(IR_OP_AVG_POOL2D, 10, 7, 3, 3, 1, 1, 1, 0);
}
END_TEST

/* ---- views ---- */

START_TEST(test_views)
{
    /* flatten as an intermediate (then linear) and reshape as a graph output (copied) */
    Graph *g = ir_graph_new("views");
    RtTensor in[1];
    ValueId x = input(g, "x", 4, D(2, 3, 4, 5), &in[0]);
    ValueId i1[1] = {x};
    NodeId r = node(g, IR_OP_RELU, "relu", i1, 1);
    ValueId i2[1] = {out_of(g, r)};
    NodeId f = node(g, IR_OP_FLATTEN, "flat", i2, 1);
    ValueId i3[2] = {out_of(g, f), sup_const_rand(g, "w", 2, D(7, 60), &seed)};
    NodeId l = node(g, IR_OP_LINEAR, "fc", i3, 2);
    ValueId i4[1] = {out_of(g, r)};
    NodeId rs = node(g, IR_OP_RESHAPE, "rs", i4, 1);
    ir_node_set_ints(g, rs, "shape", D(6, -1), 2);
    ValueId i5[1] = {x};
    NodeId rs2 = node(g, IR_OP_RESHAPE, "rs_in", i5, 1); /* a view of an input, as output */
    ir_node_set_ints(g, rs2, "shape", D(-1), 1);
    ir_output_add(g, out_of(g, l));
    ir_output_add(g, out_of(g, rs));
    ir_output_add(g, out_of(g, rs2));
    ir_output_add(g, x); /* an input as output */
    sup_run_check(g, in, 1, 1e-5, "views");
}
END_TEST

/* ---- softmax and norms ---- */

static void softmax_case(OpKind op, int64_t axis, const int64_t *dims)
{
    Graph *g = ir_graph_new("sm");
    RtTensor in[1];
    ValueId x = input(g, "x", 3, dims, &in[0]);
    ValueId ins[1] = {x};
    NodeId n = node(g, op, "sm", ins, 1);
    ir_node_set_int(g, n, "axis", axis);
    ir_output_add(g, out_of(g, n));
    sup_run_check(g, in, 1, 1e-5, ir_ops[op].name);
}

START_TEST(test_softmax)
{
    for (int64_t ax = -1; ax < 3; ax++) {
        softmax_case(IR_OP_SOFTMAX, ax, D(3, 5, 7));
        softmax_case(IR_OP_LOG_SOFTMAX, ax, D(3, 5, 7));
    }
    /* rows of whole vectors and a tail (8 and 16 lanes) */
    softmax_case(IR_OP_SOFTMAX, -1, D(2, 3, 37));
    softmax_case(IR_OP_LOG_SOFTMAX, -1, D(2, 1, 131));
    softmax_case(IR_OP_SOFTMAX, -1, D(1, 2, 16));
}
END_TEST

static void batch_norm_case(int rank, const int64_t *dims)
{
    Graph *g = ir_graph_new("bn");
    RtTensor in[1];
    ValueId x = input(g, "x", rank, dims, &in[0]);
    int64_t C = dims[1];
    ValueId var = sup_const_rand(g, "var", 1, D(C), &seed);
    float *vd = (float *)g->values[var].data;
    for (int64_t i = 0; i < C; i++)
        vd[i] = vd[i] * vd[i] + 0.5f;
    ValueId ins[5] = {x, sup_const_rand(g, "mean", 1, D(C), &seed), var,
                      sup_const_rand(g, "w", 1, D(C), &seed),
                      sup_const_rand(g, "b", 1, D(C), &seed)};
    NodeId n = node(g, IR_OP_BATCH_NORM, "bn", ins, 5);
    ir_node_set_float(g, n, "eps", 1e-3);
    ir_output_add(g, out_of(g, n));
    sup_run_check(g, in, 1, 1e-5, "batch_norm");
}

static void layer_norm_case(int nd, int n_params, int64_t last)
{
    Graph *g = ir_graph_new("ln");
    RtTensor in[1];
    ValueId x = input(g, "x", 3, D(3, 6, last), &in[0]);
    ValueId ins[3] = {x, IR_NONE, IR_NONE};
    const int64_t *ps = nd == 1 ? D(last) : D(6, last);
    for (int i = 0; i < n_params; i++)
        ins[1 + i] = sup_const_rand(g, i ? "b" : "w", nd, ps, &seed);
    NodeId n = node(g, IR_OP_LAYER_NORM, "ln", ins, 1 + n_params);
    ir_node_set_int(g, n, "normalized_ndim", nd);
    ir_output_add(g, out_of(g, n));
    sup_run_check(g, in, 1, 1e-5, "layer_norm");
}

START_TEST(test_norms)
{
    batch_norm_case(4, D(2, 3, 5, 4));
    batch_norm_case(2, D(7, 6));
    layer_norm_case(1, 2, 10);
    layer_norm_case(2, 2, 10);
    layer_norm_case(1, 0, 10);
    layer_norm_case(2, 1, 10);
    layer_norm_case(1, 2, 37); /* whole vectors and a tail */
    layer_norm_case(1, 1, 64);
}
END_TEST

/* ---- embedding ---- */

static Graph *embedding_graph(DType dt, RtTensor *in, int64_t bad)
{
    Graph *g = ir_graph_new("emb");
    Type it = {dt, sup_shape(2, D(3, 5)), NULL};
    ValueId idx = ir_input_new(g, "idx", it, (SrcLoc){0});
    size_t es = dt == IR_I64 ? 8 : 4;
    void *data = malloc(15 * es);
    for (int i = 0; i < 15; i++) {
        int64_t v = (i * 7) % 11;
        if (i == 9 && bad)
            v = bad;
        if (dt == IR_I64)
            ((int64_t *)data)[i] = v;
        else
            ((int32_t *)data)[i] = (int32_t)v;
    }
    *in = (RtTensor){dt, 2, {3, 5}, data, 15 * es};
    ValueId ins[2] = {idx, sup_const_rand(g, "table", 2, D(11, 6), &seed)};
    NodeId n = node(g, IR_OP_EMBEDDING, "emb", ins, 2);
    ir_output_add(g, out_of(g, n));
    return g;
}

START_TEST(test_embedding)
{
    RtTensor in[1];
    sup_run_check(embedding_graph(IR_I64, in, 0), in, 1, 0, "embedding i64");
    sup_run_check(embedding_graph(IR_I32, in, 0), in, 1, 0, "embedding i32");
    /* an index out of range: rt_exec_run fails cleanly */
    for (int64_t bad = -1; bad <= 11; bad += 12) {
        Graph *g = embedding_graph(IR_I64, in, bad);
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
        RtTensor out[1];
        ck_assert(!rt_exec_run(e, in, 1, out, 1, 3, &d));
        ck_assert_msg(strstr(ir_diag_text(&d), "out of range"), "%s", ir_diag_text(&d));
        rt_exec_free(e);
        rt_module_free(m);
        free(src);
        free(in[0].data);
        ir_diag_fini(&d);
        ir_graph_free(g);
    }
}
END_TEST

/* ---- a small symbolic-batch network, run at two batch sizes ---- */

static Graph *lenet_like(void)
{
    Graph *g = ir_graph_new("lenet");
    int N = ir_graph_symbol(g, "N");
    Type xt = {IR_F32, {4, {{1, 1u << N}, {1, 0}, {12, 0}, {12, 0}}}, NULL};
    ValueId x = ir_input_new(g, "x", xt, (SrcLoc){0});
    ValueId c1[3] = {x, sup_const_rand(g, "conv1.weight", 4, D(4, 1, 3, 3), &seed),
                     sup_const_rand(g, "conv1.bias", 1, D(4), &seed)};
    NodeId conv = node(g, IR_OP_CONV2D, "conv1", c1, 3);
    add_ep(g, conv, IR_OP_RELU, IR_NONE, false);
    ValueId p1[1] = {out_of(g, conv)};
    NodeId pool = node(g, IR_OP_MAX_POOL2D, "pool1", p1, 1);
    ir_node_set_int(g, pool, "kernel", 2);
    ValueId f1[1] = {out_of(g, pool)};
    NodeId flat = node(g, IR_OP_FLATTEN, "flat", f1, 1);
    ValueId l1[3] = {out_of(g, flat), sup_const_rand(g, "fc1.weight", 2, D(100, 10), &seed),
                     sup_const_rand(g, "fc1.bias", 1, D(10), &seed)};
    NodeId fc = node(g, IR_OP_LINEAR, "fc1", l1, 3);
    ir_node_set_int(g, fc, "w_transposed", 1);
    ValueId s1[1] = {out_of(g, fc)};
    NodeId sm = node(g, IR_OP_LOG_SOFTMAX, "out", s1, 1);
    ir_node_set_int(g, sm, "axis", 1);
    ir_output_add(g, out_of(g, sm));
    return g;
}

START_TEST(test_symbolic_batch)
{
    Graph *g = lenet_like();
    Diag d;
    ir_diag_init(&d);
    ck_assert_msg(ir_infer_shapes(g, &d), "%s", ir_diag_text(&d));
    size_t len;
    char msg[2048];
    char *src = sup_emit(g, &len, msg, sizeof msg);
    ck_assert_msg(src, "%s", msg);
    free(src);
    for (int64_t b = 1; b <= 5; b += 4) {
        RtTensor in[1] = {sup_input_rand(4, D(b, 1, 12, 12), &seed)};
        ck_assert_msg(sup_check(g, in, threads, 2, 1e-4, msg, sizeof msg), "batch %lld: %s",
                      (long long)b, msg);
        free(in[0].data);
    }
    /* a wrong static dim is refused with a message naming the input */
    RtTensor bad = sup_input_rand(4, D(2, 1, 12, 11), &seed);
    RtOptions ro;
    rt_options_default(&ro);
    src = sup_emit(g, &len, msg, sizeof msg);
    RtModule *m = rt_compile(src, len, &ro, &d);
    ck_assert(m);
    RtExec *e = cg_exec_new(g, m, NULL, &d);
    RtTensor out[1];
    ck_assert(!rt_exec_run(e, &bad, 1, out, 1, 1, &d));
    ck_assert_msg(strstr(ir_diag_text(&d), "input 'x'") &&
                      strstr(ir_diag_text(&d), "f32[N, 1, 12, 12]"),
                  "%s", ir_diag_text(&d));
    rt_exec_free(e);
    rt_module_free(m);
    free(src);
    free(bad.data);
    ir_diag_fini(&d);
    ir_graph_free(g);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("ops");
    TCase *tc = tcase_create("ops");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_linear);
    tcase_add_test(tc, test_matmul);
    tcase_add_test(tc, test_conv2d);
    tcase_add_test(tc, test_elementwise);
    tcase_add_test(tc, test_pool);
    tcase_add_test(tc, test_views);
    tcase_add_test(tc, test_softmax);
    tcase_add_test(tc, test_norms);
    tcase_add_test(tc, test_embedding);
    tcase_add_test(tc, test_symbolic_batch);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
