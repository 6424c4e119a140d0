/* The qdq pass (passes/qdq.c): dequantize -> conv2d / linear / matmul of pre-quantized
 * models (ONNX QDQ files) into the int8 ops, checked against the reference evaluator on the
 * graph before the pass, through the JIT at 1 and 2 threads; split from test_quant.c, and
 * run on the same ISA variants (tests/CMakeLists.txt). */
#include "ir/eval.h"
#include "passes/pass.h"
#include "slimc/slimc.h"
#include "support_cg.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned seed = 4242;

/* 24 random bits */
static uint32_t rnd(void)
{
    seed = seed * 1103515245u + 12345u;
    return seed >> 8;
}

/* uniform in [0, 1) */
static float urand(void)
{
    return (float)(rnd() & 0xffffff) / 16777216.0f;
}

#define D(...) ((const int64_t[]){__VA_ARGS__})

static ValueId const_of(Graph *g, const char *name, DType dt, int rank, const int64_t *dims,
                        void *data, size_t bytes)
{
    Type t = sup_f32(rank, dims);
    t.dtype = dt;
    return ir_const_new(g, name, t, data, bytes, (SrcLoc){0});
}

/* ---- the qdq pass (pre-quantized models, passes/qdq.c) ---- */

/* x -> quantize -> dequantize -> conv2d / linear whose weight is mul(cast(wq s8), ws), as
 * the ONNX importer builds a QDQ model; ws is [O, 1, ...] (per_channel) or 0-d. The data
 * comes from seed, so two calls from the same seed build the same graph. */
static Graph *qdq_graph(bool conv, bool per_channel, RtTensor *in)
{
    Graph *g = ir_graph_new("qdq");
    const int64_t B = 2, C = conv ? 6 : 40, H = 9, W = 7, O = 10, k = 3, K = conv ? C * k * k : C;
    *in = conv ? sup_input_rand(4, D(B, C, H, W), &seed) : sup_input_rand(2, D(B, C), &seed);
    ValueId x =
        ir_input_new(g, "x", conv ? sup_f32(4, D(B, C, H, W)) : sup_f32(2, D(B, C)), (SrcLoc){0});
    NodeId q = ir_node_new(g, IR_OP_QUANTIZE, "q", (SrcLoc){0}, &x, 1, 1);
    ir_node_set_float(g, q, "scale", 2.0 / 255.0);
    ir_node_set_int(g, q, "zero_point", 100);
    ValueId qv = g->nodes[q].outputs[0];
    NodeId dq = ir_node_new(g, IR_OP_DEQUANTIZE, "dq", (SrcLoc){0}, &qv, 1, 1);
    ir_node_set_float(g, dq, "scale", 2.0 / 255.0);
    ir_node_set_int(g, dq, "zero_point", 100);
    int8_t *w = ir_arena_alloc(g->arena, (size_t)(O * K));
    float *ws = ir_arena_alloc(g->arena, sizeof(float) * (size_t)O),
          *b = ir_arena_alloc(g->arena, sizeof(float) * (size_t)O);
    for (int64_t i = 0; i < O * K; i++)
        w[i] = (int8_t)((int)(rnd() % 256) - 128); /* -128 too: ONNX allows it */
    for (int64_t o = 0; o < O; o++) {
        ws[o] = 0.001f + 0.01f * urand();
        b[o] = urand() - 0.5f;
    }
    ValueId wq = conv ? const_of(g, "wq", IR_I8, 4, D(O, C, k, k), w, (size_t)(O * K))
                      : const_of(g, "wq", IR_I8, 2, D(O, K), w, (size_t)(O * K));
    NodeId c = ir_node_new(g, IR_OP_CAST, "cast", (SrcLoc){0}, &wq, 1, 1);
    ir_node_set_int(g, c, "dtype", IR_F32);
    ValueId sv = !per_channel ? const_of(g, "ws", IR_F32, 0, NULL, ws, sizeof(float))
                 : conv ? const_of(g, "ws", IR_F32, 4, D(O, 1, 1, 1), ws, sizeof(float) * (size_t)O)
                        : const_of(g, "ws", IR_F32, 2, D(O, 1), ws, sizeof(float) * (size_t)O);
    ValueId mi[2] = {g->nodes[c].outputs[0], sv};
    NodeId m = ir_node_new(g, IR_OP_MUL, "mul", (SrcLoc){0}, mi, 2, 1);
    ValueId ci[3] = {g->nodes[dq].outputs[0], g->nodes[m].outputs[0],
                     const_of(g, "b", IR_F32, 1, D(O), b, sizeof(float) * (size_t)O)};
    NodeId n = ir_node_new(g, conv ? IR_OP_CONV2D : IR_OP_LINEAR, "op", (SrcLoc){0}, ci, 3, 1);
    if (conv) /* padding reads the code of 0.0: qconv2d pads with x_zero_point */
        ir_node_set_int(g, n, "padding", 1);
    ir_output_add(g, g->nodes[n].outputs[0]);
    Diag d;
    ir_diag_init(&d);
    ck_assert_msg(ir_infer_shapes(g, &d), "shapes: %s", ir_diag_text(&d));
    ir_diag_fini(&d);
    return g;
}

static int count_op(const Graph *g, OpKind op)
{
    int k = 0;
    for (NodeId i = 0; i < g->n_nodes; i++)
        k += !g->nodes[i].dead && g->nodes[i].op == op;
    return k;
}

START_TEST(qdq_pass)
{
    const int threads[] = {1, 2};
    for (int conv = 0; conv < 2; conv++)
        for (int pc = 0; pc < 2; pc++) {
            const unsigned s0 = seed;
            RtTensor in_ref, in;
            Graph *ref = qdq_graph(conv, pc, &in_ref);
            seed = s0;
            Graph *g = qdq_graph(conv, pc, &in);
            Diag d;
            ir_diag_init(&d);
            ck_assert_msg(pass_pipeline_run(g, "qdq,dce", (SrcLoc){0}, NULL, &d), "%s",
                          ir_diag_text(&d));
            ck_assert_int_eq(count_op(g, conv ? IR_OP_QCONV2D : IR_OP_QLINEAR), 1);
            ck_assert_int_eq(count_op(g, conv ? IR_OP_CONV2D : IR_OP_LINEAR), 0);
            ck_assert_int_eq(count_op(g, IR_OP_DEQUANTIZE), 0);
            /* the int8 op against the float path it replaced (which sums the dequantized
             * products in f32; the int8 op is exact up to its one scaling) */
            void *o_ref[1], *o[1];
            const void *x_ref[1] = {in_ref.data}, *x[1] = {in.data};
            ck_assert_msg(ir_eval_graph(ref, x_ref, o_ref, NULL, &d), "%s", ir_diag_text(&d));
            ck_assert_msg(ir_eval_graph(g, x, o, NULL, &d), "%s", ir_diag_text(&d));
            const Shape *os = &g->values[g->outputs[0]].type.shape;
            int64_t total = 1;
            for (int i = 0; i < os->rank; i++)
                total *= os->d[i].c;
            double max_b = 0, max_diff = 0;
            for (int64_t i = 0; i < total; i++) {
                const float a = ((float *)o[0])[i], bb = ((float *)o_ref[0])[i];
                max_b = fmax(max_b, fabs(bb));
                max_diff = fmax(max_diff, fabs(a - bb));
            }
            ck_assert_msg(max_diff <= 1e-5 * max_b, "conv %d per_channel %d: %g vs %g", conv, pc,
                          max_diff, max_b);
            free(o_ref[0]);
            free(o[0]);
            ir_diag_fini(&d);
            /* and the emitted int8 kernel against the evaluator */
            char msg[512];
            ck_assert_msg(sup_check(g, &in, threads, 2, 1e-5, msg, sizeof msg), "%s", msg);
            free(in_ref.data);
            free(in.data);
            ir_graph_free(ref);
            ir_graph_free(g);
        }
    /* after fold the weight is a plain f32 constant: the node stays float */
    RtTensor in;
    Graph *g = qdq_graph(true, true, &in);
    Diag d;
    ir_diag_init(&d);
    ck_assert_msg(pass_pipeline_run(g, "fold,qdq", (SrcLoc){0}, NULL, &d), "%s", ir_diag_text(&d));
    ck_assert_int_eq(count_op(g, IR_OP_CONV2D), 1);
    ck_assert_int_eq(count_op(g, IR_OP_QCONV2D), 0);
    ir_diag_fini(&d);
    free(in.data);
    ir_graph_free(g);
}
END_TEST

/* matmul(dequantize(x), mul(cast(wq s8 [K, N]), ws)) + bias [N], as the ONNX importer
 * builds ORT's QDQ MatMul (and Gemm without transB) with per-column weight scales (axis 1)
 * or one scale: the qdq pass makes it one qlinear (no matmul, add or dequantize left),
 * whose result is the integer sum of (code - zp) * w scaled once, against a plain loop of
 * that arithmetic; the JIT (1 and 2 threads) against the evaluator. The input holds codes
 * times a power-of-two scale, so quantize's rounding is exact. Variants: per column, bias
 * as the add's first operand, one scale, no bias. */
START_TEST(qdq_matmul)
{
    enum { M = 6, K = 40, N = 24 };
    const float sx = 1.0f / 64;
    const int zp = 100;
    for (int v = 0; v < 4; v++) {
        const bool per_col = v != 2, bias_first = v == 1, bias = v != 3;
        Graph *g = ir_graph_new("qdq_matmul");
        uint8_t codes[M * K];
        RtTensor in = sup_input_rand(3, D(2, M / 2, K), &seed);
        float *xd = in.data;
        for (int i = 0; i < M * K; i++) {
            codes[i] = (uint8_t)(rnd() & 255);
            xd[i] = (float)(codes[i] - zp) * sx;
        }
        ValueId x = ir_input_new(g, "x", sup_f32(3, D(2, M / 2, K)), (SrcLoc){0});
        NodeId q = ir_node_new(g, IR_OP_QUANTIZE, "q", (SrcLoc){0}, &x, 1, 1);
        ir_node_set_float(g, q, "scale", sx);
        ir_node_set_int(g, q, "zero_point", zp);
        ValueId qv = g->nodes[q].outputs[0];
        NodeId dq = ir_node_new(g, IR_OP_DEQUANTIZE, "dq", (SrcLoc){0}, &qv, 1, 1);
        ir_node_set_float(g, dq, "scale", sx);
        ir_node_set_int(g, dq, "zero_point", zp);
        int8_t *w = ir_arena_alloc(g->arena, K * N);
        float *ws = ir_arena_alloc(g->arena, sizeof(float) * N),
              *b = ir_arena_alloc(g->arena, sizeof(float) * N);
        for (int i = 0; i < K * N; i++)
            w[i] = (int8_t)((int)(rnd() % 256) - 128);
        for (int o = 0; o < N; o++) {
            ws[o] = per_col || o == 0 ? 0.001f + 0.01f * urand() : ws[0];
            b[o] = urand() - 0.5f;
        }
        ValueId wq = const_of(g, "wq", IR_I8, 2, D(K, N), w, K * N);
        NodeId c = ir_node_new(g, IR_OP_CAST, "cast", (SrcLoc){0}, &wq, 1, 1);
        ir_node_set_int(g, c, "dtype", IR_F32);
        ValueId mi[2] = {g->nodes[c].outputs[0],
                         per_col ? const_of(g, "ws", IR_F32, 2, D(1, N), ws, sizeof(float) * N)
                                 : const_of(g, "ws", IR_F32, 0, NULL, ws, sizeof(float))};
        NodeId m = ir_node_new(g, IR_OP_MUL, "mul", (SrcLoc){0}, mi, 2, 1);
        ValueId mm[2] = {g->nodes[dq].outputs[0], g->nodes[m].outputs[0]};
        NodeId mn = ir_node_new(g, IR_OP_MATMUL, "matmul", (SrcLoc){0}, mm, 2, 1);
        ValueId y = g->nodes[mn].outputs[0];
        if (bias) {
            ValueId bv = const_of(g, "b", IR_F32, 1, D(N), b, sizeof(float) * N);
            ValueId ai[2] = {bias_first ? bv : y, bias_first ? y : bv};
            y = g->nodes[ir_node_new(g, IR_OP_ADD, "add", (SrcLoc){0}, ai, 2, 1)].outputs[0];
        }
        ir_output_add(g, y);
        Diag d;
        ir_diag_init(&d);
        ck_assert_msg(ir_infer_shapes(g, &d), "shapes: %s", ir_diag_text(&d));
        PassRunOptions ro = {.verify = true};
        ck_assert_msg(pass_pipeline_run(g, "qdq,dce", (SrcLoc){0}, &ro, &d), "%s",
                      ir_diag_text(&d));
        ck_assert_int_eq(count_op(g, IR_OP_QLINEAR), 1);
        ck_assert_int_eq(count_op(g, IR_OP_MATMUL), 0);
        ck_assert_int_eq(count_op(g, IR_OP_ADD), 0);
        ck_assert_int_eq(count_op(g, IR_OP_DEQUANTIZE), 0);
        void *o[1];
        const void *xi[1] = {in.data};
        ck_assert_msg(ir_eval_graph(g, xi, o, NULL, &d), "%s", ir_diag_text(&d));
        double max_y = 0, max_diff = 0;
        for (int i = 0; i < M; i++)
            for (int n = 0; n < N; n++) {
                int32_t acc = 0;
                for (int k = 0; k < K; k++)
                    acc += (codes[i * K + k] - zp) * w[k * N + n];
                const float ref = (float)acc * (sx * ws[n]) + (bias ? b[n] : 0.0f);
                max_y = fmax(max_y, fabs(ref));
                max_diff = fmax(max_diff, fabs(((float *)o[0])[i * N + n] - ref));
            }
        /* one step of an integer sum is sx * ws >= 1.5e-5; rounding of the scaling alone is
         * below 1e-6 of the largest output (|y| < 10 here) */
        ck_assert_msg(max_diff <= 1e-6 * max_y, "variant %d: %g (max %g)", v, max_diff, max_y);
        free(o[0]);
        ir_diag_fini(&d);
        char msg[512];
        const int threads[] = {1, 2};
        ck_assert_msg(sup_check(g, &in, threads, 2, 1e-6, msg, sizeof msg), "%s", msg);
        free(in.data);
        ir_graph_free(g);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("qdq");
    TCase *j = tcase_create("jit");
    tcase_set_timeout(j, 300);
    tcase_add_test(j, qdq_pass);
    tcase_add_test(j, qdq_matmul);
    suite_add_tcase(s, j);
    SRunner *r = srunner_create(s);
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? 1 : 0;
}
