/* The int8 path of the CUDA backend (codegen/cuda/quant.c) beyond what test_quant covers:
 * shapes of several 64 x 64 tiles with ragged edges (tensor cores from 64 rows, dp4a tiles
 * below, a warp per output for 1-4 rows), K not a multiple of 4 (byte loads) and
 * a multiple (word loads), symbolic batches, every qconv2d attribute (groups, depthwise
 * with a channel multiplier, stride, dilation, padding), u8 outputs (relu, relu6, ONNX's
 * divide), dqlinear with a NaN and an all-zero input, wlinear's four weight kinds, and the
 * refusal of a weight packed for the CPU.
 *
 * Each int8 graph runs twice: through the C backend against the reference evaluator, and
 * through the CUDA backend (NVRTC for compute_75/80, then the CPU emulation) against it,
 * both with tolerance 0: the CUDA output equals the C backend's bit for bit. wlinear sums
 * floats in another order than the CPU: 1e-5 of the largest output. */
#include "api/pipeline.h"
#include "codegen/cuda/op_table.h"
#include "ir/eval.h"
#include "passes/cost_model.h"
#include "passes/pass.h"
#include "support_cg.h"
#include "support_cuda.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define D(...) ((const int64_t[]){__VA_ARGS__})

static unsigned seed = 11;

static unsigned rnd(void)
{
    seed = seed * 1103515245u + 12345u;
    return seed >> 8;
}

static ValueId const_of(Graph *g, const char *name, DType dt, int rank, const int64_t *dims,
                        const void *data, size_t bytes)
{
    Type t = sup_f32(rank, dims);
    t.dtype = dt;
    void *copy = ir_arena_alloc(g->arena, bytes ? bytes : 1);
    memcpy(copy, data, bytes);
    return ir_const_new(g, name, t, copy, bytes, (SrcLoc){0});
}

/* Runs g through the C backend and through the CUDA backend, each against the reference
 * with tolerance tol (0 for int8: bit for bit, so the two backends agree exactly); the C
 * backend only when c_backend (a graph on the CPU). g is freed, the inputs too. */
static void check_on(Graph *g, RtTensor *in, int n_in, double tol, bool c_backend, const char *what)
{
    Diag d;
    ir_diag_init(&d);
    ck_assert_msg(ir_infer_shapes(g, &d), "%s: shapes: %s", what, ir_diag_text(&d));
    ir_diag_fini(&d);
    char msg[4096];
    static const int threads[] = {1, 3};
    if (c_backend) /* the C backend first: the graph is still on the CPU */
        ck_assert_msg(sup_check(g, in, threads, 2, 0.0, msg, sizeof msg), "%s: C backend: %s", what,
                      msg);
    g->planned = false; /* planned again for CUDA (sup_cuda_emit) */
    const bool ok = sup_cuda_check(g, in, NULL, tol, msg, sizeof msg);
    for (int i = 0; i < n_in; i++)
        free(in[i].data);
    ir_graph_free(g);
    ck_assert_msg(ok, "%s: CUDA: %s", what, msg);
}

static void check_both(Graph *g, RtTensor *in, int n_in, double tol, const char *what)
{
    check_on(g, in, n_in, tol, tol == 0.0, what);
}

/* An f32 input [dims] (dims[0] symbolic when sym) and its quantize to u8 (scale 2/255,
 * zero point 120). */
static ValueId quantized_input(Graph *g, RtTensor *t, int rank, const int64_t *dims, bool sym)
{
    *t = sup_input_rand(rank, dims, &seed);
    Type ty = sup_f32(rank, dims);
    if (sym)
        ty.shape.d[0] = (Dim){1, 1u << ir_graph_symbol(g, "N")};
    ValueId x = ir_input_new(g, "x", ty, (SrcLoc){0});
    NodeId q = ir_node_new(g, IR_OP_QUANTIZE, "q", (SrcLoc){0}, &x, 1, 1);
    ir_node_set_float(g, q, "scale", 2.0 / 255.0);
    ir_node_set_int(g, q, "zero_point", 120);
    return g->nodes[q].outputs[0];
}

/* Random s8 weights [O, K] (-128 included), scales, the weights' sums plus wsum_off (a
 * hand-written model's wsum need not be the sum: the reference subtracts zp wsum as it
 * is), a bias when bias. Fills ins[1..4]. */
static int layer_params(Graph *g, ValueId *ins, int64_t O, int64_t K, int rank,
                        const int64_t *wdims, bool bias, int32_t wsum_off)
{
    int8_t *w = malloc((size_t)(O * K));
    float *ws = malloc(sizeof(float) * (size_t)O), *b = malloc(sizeof(float) * (size_t)O);
    int32_t *sum = malloc(sizeof(int32_t) * (size_t)O);
    for (int64_t o = 0; o < O; o++) {
        sum[o] = wsum_off;
        for (int64_t k = 0; k < K; k++) {
            w[o * K + k] = (int8_t)((int)(rnd() % 256) - 128);
            sum[o] += w[o * K + k];
        }
        ws[o] = 0.0005f + 0.005f * (float)(rnd() % 1000) / 1000.0f;
        b[o] = (float)(rnd() % 1000) / 1000.0f - 0.5f;
    }
    ins[1] = const_of(g, "w", IR_I8, rank, wdims, w, (size_t)(O * K));
    ins[2] = const_of(g, "ws", IR_F32, 1, D(O), ws, sizeof(float) * (size_t)O);
    ins[3] = const_of(g, "wsum", IR_I32, 1, D(O), sum, sizeof(int32_t) * (size_t)O);
    ins[4] = bias ? const_of(g, "b", IR_F32, 1, D(O), b, sizeof(float) * (size_t)O) : IR_NONE;
    free(w);
    free(ws);
    free(b);
    free(sum);
    return bias ? 5 : 4;
}

/* u8 output (an int8 chain's layer): act 0 / 1 / 2, y_divide. */
static void set_u8_out(Graph *g, NodeId n, int act, bool divide)
{
    ir_node_set_float(g, n, "y_scale", 0.07);
    ir_node_set_int(g, n, "y_zero_point", act ? 0 : 37);
    ir_node_set_int(g, n, "act", act);
    if (divide)
        ir_node_set_int(g, n, "y_divide", 1);
}

/* qlinear [M, K] x [O, K]: f32 out (bias or not, a relu epilogue) or u8 out. */
static void check_qlinear(int64_t M, int64_t K, int64_t O, bool bias, int u8_act, bool sym,
                          bool relu)
{
    Graph *g = ir_graph_new("ql");
    RtTensor in[1];
    ValueId ins[5];
    ins[0] = quantized_input(g, &in[0], 2, D(M, K), sym);
    int ni = layer_params(g, ins, O, K, 2, D(O, K), bias, 0);
    NodeId n = ir_node_new(g, IR_OP_QLINEAR, "ql", (SrcLoc){0}, ins, ni, 1);
    ir_node_set_float(g, n, "x_scale", 2.0 / 255.0);
    ir_node_set_int(g, n, "x_zero_point", 120);
    if (u8_act >= 0)
        set_u8_out(g, n, u8_act, u8_act == 1);
    if (relu) {
        g->nodes[n].epilogue[0] = (Epilogue){IR_OP_RELU, IR_NONE, false};
        g->nodes[n].n_epilogue = 1;
    }
    ir_output_add(g, g->nodes[n].outputs[0]);
    char what[128];
    snprintf(what, sizeof what, "qlinear M=%lld K=%lld O=%lld bias %d u8 %d sym %d relu %d",
             (long long)M, (long long)K, (long long)O, bias, u8_act, sym, relu);
    check_both(g, in, 1, 0.0, what);
}

START_TEST(qlinear_tiles)
{
    check_qlinear(70, 131, 130, true, -1, false, false); /* 2 x 3 tiles, byte loads */
    check_qlinear(5, 96, 65, false, -1, false, true);    /* word loads, a relu epilogue */
    check_qlinear(1, 800, 10, true, -1, false, false);   /* a warp per output (1-4 rows) */
    check_qlinear(2, 96, 40, false, 2, false, false);    /* the same, words, u8 relu6 */
    check_qlinear(66, 40, 70, true, 0, false, false);    /* u8 out, zero point 37 */
    check_qlinear(3, 37, 20, true, 1, false, false);     /* u8, relu, y_divide */
    check_qlinear(9, 64, 33, false, 2, false, false);    /* u8, relu6 */
    check_qlinear(67, 50, 12, true, -1, true, false);    /* a symbolic batch */
}
END_TEST

/* qconv2d x [B, C, H, W] with O outputs, k x k, stride st, padding pad, dilation dil,
 * groups gr; f32 out or u8 (act u8_act). */
static void check_qconv(int64_t B, int64_t C, int64_t H, int64_t W, int64_t O, int64_t k,
                        int64_t st, int64_t pad, int64_t dil, int64_t gr, bool bias, int u8_act,
                        bool sym)
{
    Graph *g = ir_graph_new("qc");
    RtTensor in[1];
    ValueId ins[5];
    ins[0] = quantized_input(g, &in[0], 4, D(B, C, H, W), sym);
    const int64_t CG = C / gr;
    int ni = layer_params(g, ins, O, CG * k * k, 4, D(O, CG, k, k), bias, gr > 1 ? -3000 : 0);
    NodeId n = ir_node_new(g, IR_OP_QCONV2D, "qc", (SrcLoc){0}, ins, ni, 1);
    ir_node_set_float(g, n, "x_scale", 2.0 / 255.0);
    ir_node_set_int(g, n, "x_zero_point", 120);
    ir_node_set_int(g, n, "stride", st);
    ir_node_set_int(g, n, "padding", pad);
    ir_node_set_int(g, n, "dilation", dil);
    ir_node_set_int(g, n, "groups", gr);
    if (u8_act >= 0)
        set_u8_out(g, n, u8_act, false);
    ir_output_add(g, g->nodes[n].outputs[0]);
    char what[160];
    snprintf(what, sizeof what,
             "qconv2d %lldx%lldx%lldx%lld O=%lld k=%lld s=%lld p=%lld d=%lld g=%lld u8 %d sym %d",
             (long long)B, (long long)C, (long long)H, (long long)W, (long long)O, (long long)k,
             (long long)st, (long long)pad, (long long)dil, (long long)gr, u8_act, sym);
    check_both(g, in, 1, 0.0, what);
}

START_TEST(qconv_attrs)
{
    check_qconv(2, 3, 17, 15, 70, 3, 1, 1, 1, 1, true, -1, false);  /* 2 x 2 tiles, K = 27 */
    check_qconv(1, 8, 13, 11, 12, 3, 2, 2, 2, 2, false, -1, false); /* groups, s 2, d 2 */
    check_qconv(1, 16, 9, 9, 8, 1, 1, 0, 1, 1, true, 2, false);     /* 1x1, K = 16, u8 relu6 */
    check_qconv(3, 4, 10, 12, 6, 3, 1, 1, 1, 1, true, -1, true);    /* a symbolic batch */
    /* depthwise: a channel multiplier of 2, stride 2, dilation 2; u8 out */
    check_qconv(2, 6, 11, 13, 12, 3, 2, 1, 2, 6, true, -1, false);
    check_qconv(1, 5, 9, 9, 5, 3, 1, 1, 1, 5, false, 1, false);
}
END_TEST

/* dqlinear: the rows quantized with parameters of the whole x, found on the GPU. */
static void check_dqlinear(int64_t M, int64_t K, int64_t O, int variant)
{
    Graph *g = ir_graph_new("dq");
    RtTensor in[1] = {sup_input_rand(2, D(M, K), &seed)};
    float *x = in[0].data;
    if (variant == 1) { /* a NaN (kept out of the range; quantized to 0), a -0.0 */
        x[3] = NAN;
        x[5] = -0.0f;
        for (int64_t i = 0; i < M * K; i++)
            x[i] = x[i] * 3.0f + 1.0f;
    } else if (variant == 2) { /* all zero: scale 1, zero point 0 */
        memset(x, 0, sizeof(float) * (size_t)(M * K));
    }
    ValueId ins[5];
    ins[0] = ir_input_new(g, "x", sup_f32(2, D(M, K)), (SrcLoc){0});
    int ni = layer_params(g, ins, O, K, 2, D(O, K), variant != 2, 0);
    NodeId n = ir_node_new(g, IR_OP_DQLINEAR, "dq", (SrcLoc){0}, ins, ni, 1);
    ir_output_add(g, g->nodes[n].outputs[0]);
    char what[96];
    snprintf(what, sizeof what, "dqlinear M=%lld K=%lld O=%lld variant %d", (long long)M,
             (long long)K, (long long)O, variant);
    check_both(g, in, 1, 0.0, what);
}

START_TEST(dqlinear_exact)
{
    check_dqlinear(9, 67, 70, 0);
    check_dqlinear(70, 300, 5, 1); /* 21000 values: every one of the 64 parts has some */
    check_dqlinear(2, 16, 3, 2);
    check_dqlinear(4, 67, 20, 0); /* a warp per output */
}
END_TEST

/* wlinear with i8 / i4 group scales, f16 or bf16 weights. */
static void check_wlinear(DType wdt, int64_t M, int64_t K, int64_t O, int64_t group)
{
    Graph *g = ir_graph_new("wl");
    RtTensor in[1];
    ValueId ins[4];
    ins[0] = sup_input(g, "x", 2, D(M, K), &in[0], &seed);
    const size_t wb = wdt == IR_I4 ? (size_t)(O * K / 2) : (size_t)(O * K) * (wdt == IR_I8 ? 1 : 2);
    uint8_t *w = malloc(wb);
    for (size_t i = 0; i < wb; i++)
        w[i] = (uint8_t)rnd();
    if (wdt == IR_F16 || wdt == IR_BF16) /* finite values: exponents kept small */
        for (size_t i = 1; i < wb; i += 2)
            w[i] = (uint8_t)((w[i] & 0x83) | (wdt == IR_F16 ? 0x38 : 0x3c));
    ins[1] = const_of(g, "w", wdt, 2, D(O, K), w, wb);
    free(w);
    int ni = 2;
    ins[2] = IR_NONE;
    if (wdt == IR_I8 || wdt == IR_I4) {
        const int64_t G = K / group;
        float *sc = malloc(sizeof(float) * (size_t)(O * G));
        for (int64_t i = 0; i < O * G; i++)
            sc[i] = 0.001f + 0.01f * (float)(rnd() % 100) / 100.0f;
        ins[2] = const_of(g, "sc", IR_F32, 2, D(O, G), sc, sizeof(float) * (size_t)(O * G));
        free(sc);
        ni = 3;
    }
    float *b = malloc(sizeof(float) * (size_t)O);
    for (int64_t o = 0; o < O; o++)
        b[o] = (float)(rnd() % 100) / 100.0f;
    ins[3] = const_of(g, "b", IR_F32, 1, D(O), b, sizeof(float) * (size_t)O);
    free(b);
    ni = 4;
    NodeId n = ir_node_new(g, IR_OP_WLINEAR, "wl", (SrcLoc){0}, ins, ni, 1);
    if (group > 0)
        ir_node_set_int(g, n, "group", group);
    ir_output_add(g, g->nodes[n].outputs[0]);
    char what[64];
    snprintf(what, sizeof what, "wlinear %s M=%lld K=%lld O=%lld", ir_dtype_name(wdt), (long long)M,
             (long long)K, (long long)O);
    check_both(g, in, 1, 1e-5, what);
}

START_TEST(wlinear_kinds)
{
    check_wlinear(IR_I8, 70, 96, 67, 16);
    check_wlinear(IR_I4, 3, 64, 130, 8);
    check_wlinear(IR_F16, 5, 40, 20, 0);
    check_wlinear(IR_BF16, 65, 33, 9, 0);
}
END_TEST

/* A qlinear whose weight the layout pass packed (placed on the CPU): the CUDA backend
 * refuses it by name; placed on CUDA first, the pass leaves the weight [O, K]. */
START_TEST(packed_refused)
{
    for (int cuda_first = 0; cuda_first < 2; cuda_first++) {
        Graph *g = ir_graph_new("pk");
        RtTensor in[1];
        ValueId ins[5];
        ins[0] = quantized_input(g, &in[0], 2, D(4, 40), false);
        int ni = layer_params(g, ins, 20, 40, 2, D(20, 40), true, 0);
        NodeId n = ir_node_new(g, IR_OP_QLINEAR, "ql", (SrcLoc){0}, ins, ni, 1);
        ir_node_set_float(g, n, "x_scale", 2.0 / 255.0);
        ir_node_set_int(g, n, "x_zero_point", 120);
        ir_output_add(g, g->nodes[n].outputs[0]);
        Diag d;
        ir_diag_init(&d);
        ck_assert(ir_infer_shapes(g, &d));
        if (cuda_first)
            ir_graph_place_all(g, IR_DEVICE_CUDA);
        ck_assert_msg(pass_pipeline_run(g, "layout", (SrcLoc){0}, NULL, &d), "%s",
                      ir_diag_text(&d));
        ir_diag_fini(&d);
        ck_assert_int_eq(ir_attr_w_packed(&g->nodes[n]), !cuda_first);
        if (cuda_first) {
            check_on(g, in, 1, 0.0, false, "layout after placement");
            continue;
        }
        char msg[1024];
        size_t len;
        char *src = sup_cuda_emit(g, NULL, &len, msg, sizeof msg);
        ck_assert_msg(!src, "a packed weight was emitted");
        ck_assert_msg(strstr(msg, "packed for the CPU") && strstr(msg, "'ql'"), "%s", msg);
        free(in[0].data);
        ir_graph_free(g);
    }
}
END_TEST

/* The u8 max_pool2d of an int8 chain (the pool family's kernel, codegen/cuda/pool.c) after
 * quantize's: the codes bit for bit. Until max_pool2d has a CUDA row the test says so and
 * stops. */
START_TEST(maxpool_u8)
{
    if (!cu_ops[IR_OP_MAX_POOL2D].emit) {
        fprintf(stderr, "maxpool_u8: max_pool2d has no CUDA row yet: not run\n");
        return;
    }
    static const int64_t cfg[][5] = {{13, 71, 3, 2, 1}, {9, 40, 3, 1, 1}, {8, 66, 2, 2, 0}};
    for (int t = 0; t < 3; t++) {
        Graph *g = ir_graph_new("mp");
        RtTensor in[1];
        ValueId h = quantized_input(g, &in[0], 4, D(2, 3, cfg[t][0], cfg[t][1]), false);
        NodeId p = ir_node_new(g, IR_OP_MAX_POOL2D, "mp", (SrcLoc){0}, &h, 1, 1);
        ir_node_set_ints(g, p, "kernel", D(cfg[t][2], cfg[t][2]), 2);
        ir_node_set_ints(g, p, "stride", D(cfg[t][3], cfg[t][3]), 2);
        ir_node_set_ints(g, p, "padding", D(cfg[t][4], cfg[t][4]), 2);
        ir_output_add(g, g->nodes[p].outputs[0]);
        check_both(g, in, 1, 0.0, "u8 max_pool2d");
    }
}
END_TEST

/* The quantize pass on a model placed on CUDA (as --device cuda places it, before the
 * passes) makes the same int8 layers as on the CPU, on CUDA: the same weights, scales and
 * activation parameters byte for byte; and they run bit for bit. conv: static int8
 * calibrated on lenet's samples; linear: dynamic int8, int4 weight-only. The graphs carry
 * the built-in profile without the small-K int8 penalty, so that the conv (K = 25) is int8
 * on the CPU too whatever the host (passes/quant_linear.c, pass_quant_mark_slower). */
static Graph *float_model(bool conv, unsigned s0, Device dev)
{
    static CostProfile no_small_k;
    cost_profile_default(&no_small_k);
    no_small_k.dev[IR_DEVICE_CPU].int8_small_k_below = 0;
    no_small_k.dev[IR_DEVICE_CPU].int8_small_k_vs_f32 = 0;
    no_small_k.hash = cost_profile_hash(&no_small_k);
    unsigned sd = s0;
    Graph *g = ir_graph_new("fm");
    g->place.profile = &no_small_k;
    const int sym = ir_graph_symbol(g, "N");
    Type t = conv ? sup_f32(4, D(1, 1, 28, 28)) : sup_f32(2, D(1, 40));
    t.shape.d[0] = (Dim){1, 1u << sym};
    ValueId ins[3] = {ir_input_new(g, "x", t, (SrcLoc){0}),
                      conv ? sup_const_rand(g, "w", 4, D(6, 1, 5, 5), &sd)
                           : sup_const_rand(g, "w", 2, D(30, 40), &sd),
                      sup_const_rand(g, "b", 1, D(conv ? 6 : 30), &sd)};
    NodeId n = ir_node_new(g, conv ? IR_OP_CONV2D : IR_OP_LINEAR, "layer", (SrcLoc){0}, ins, 3, 1);
    if (conv)
        ir_node_set_int(g, n, "padding", 2);
    ir_output_add(g, g->nodes[n].outputs[0]);
    Diag d;
    ir_diag_init(&d);
    ck_assert_msg(ir_infer_shapes(g, &d), "%s", ir_diag_text(&d));
    ir_diag_fini(&d);
    ir_graph_place_all(g, dev);
    return g;
}

/* The live node of op in g, or IR_NONE. */
static NodeId find_op(const Graph *g, OpKind op)
{
    for (NodeId i = 0; i < g->n_nodes; i++)
        if (!g->nodes[i].dead && g->nodes[i].op == op)
            return i;
    return IR_NONE;
}

START_TEST(quantize_on_cuda)
{
    char calib[1200];
    const char *root = getenv("SLIMC_SOURCE_DIR");
    snprintf(calib, sizeof calib, "quantize(int8, calibrate=\"%s/samples/lenet/calib.npy\")",
             root ? root : ".");
    const char *const pipes[3] = {calib, "quantize(int8, dynamic)", "quantize(int4)"};
    const OpKind want[3] = {IR_OP_QCONV2D, IR_OP_DQLINEAR, IR_OP_WLINEAR};
    for (int t = 0; t < 3; t++) {
        Graph *gs[2];
        NodeId q[2];
        for (int dev = 0; dev < 2; dev++) {
            gs[dev] = float_model(t == 0, 77u + (unsigned)t, dev ? IR_DEVICE_CUDA : IR_DEVICE_CPU);
            Diag d;
            ir_diag_init(&d);
            ck_assert_msg(api_pipeline_run_text(gs[dev], pipes[t], NULL, &d), "%s: %s", pipes[t],
                          ir_diag_text(&d));
            ir_diag_fini(&d);
            q[dev] = find_op(gs[dev], want[t]);
            ck_assert_msg(q[dev] != IR_NONE, "%s on %s: no %s node", pipes[t], dev ? "cuda" : "cpu",
                          ir_ops[want[t]].name);
            ck_assert_int_eq(gs[dev]->nodes[q[dev]].device, dev ? IR_DEVICE_CUDA : IR_DEVICE_CPU);
        }
        const Node *a = &gs[0]->nodes[q[0]], *b = &gs[1]->nodes[q[1]];
        ck_assert_int_eq(a->n_inputs, b->n_inputs);
        for (int i = 1; i < a->n_inputs; i++) { /* the weights, scales, sums, bias */
            if (a->inputs[i] == IR_NONE) {
                ck_assert(b->inputs[i] == IR_NONE);
                continue;
            }
            const Value *va = &gs[0]->values[a->inputs[i]], *vb = &gs[1]->values[b->inputs[i]];
            ck_assert(va->data && vb->data && va->data_bytes == vb->data_bytes);
            ck_assert_msg(memcmp(va->data, vb->data, va->data_bytes) == 0, "%s: input %d differs",
                          pipes[t], i);
        }
        if (want[t] == IR_OP_QCONV2D) {
            ck_assert(ir_attr_x_scale(a) == ir_attr_x_scale(b));
            ck_assert(ir_attr_x_zero_point(a) == ir_attr_x_zero_point(b));
        }
        ir_graph_free(gs[0]);
        RtTensor in[1] = {t == 0 ? sup_input_rand(4, D(3, 1, 28, 28), &seed)
                                 : sup_input_rand(2, D(5, 40), &seed)};
        check_on(gs[1], in, 1, want[t] == IR_OP_WLINEAR ? 1e-5 : 0.0, false, pipes[t]);
    }
}
END_TEST

int main(void)
{
    unsetenv("SLIMC_TEST_DEVICE"); /* this suite runs both backends itself */
    Suite *s = suite_create("cuda_quant");
    TCase *tc = tcase_create("int8");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, qlinear_tiles);
    tcase_add_test(tc, qconv_attrs);
    tcase_add_test(tc, dqlinear_exact);
    tcase_add_test(tc, wlinear_kinds);
    tcase_add_test(tc, packed_refused);
    tcase_add_test(tc, maxpool_u8);
    tcase_add_test(tc, quantize_on_cuda);
    suite_add_tcase(s, tc);
    SRunner *r = srunner_create(s);
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? 1 : 0;
}
