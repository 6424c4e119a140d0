/* int8 convs without the im2col panel (passes/qtaps.c, runtime/kernels/qconv_taps.c): the
 * kernel (slimc_rt_qtaps_fill + slimc_rt_qtaps_block, VNNI where the CPU has it, the scalar
 * loop otherwise) bit for bit against a plain integer loop, over odd sizes, strides 1 to 3,
 * padding, dilation, 1, 3 and 6 input channels (words padded with zero weights), output
 * channels not a multiple of 4, f32 and u8 outputs, the copy filled
 * piecewise as 3 threads' bodies fill it; and qconv2d graphs through the qtaps pass, the
 * emitter and the JIT at 1, 2 and 3 threads against the reference evaluator (0 tolerance),
 * with the pass's reorder (where this CPU runs the VNNI block) and with the weights reordered
 * by hand (every CPU: the emitted code's scalar path too). */
#include "runtime/slimc_rt.h"

#include "ir/eval.h"
#include "passes/pass.h"
#include "support_cg.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned seed = 2020;

static uint32_t rnd(void)
{
    seed = seed * 1103515245u + 12345u;
    return seed >> 8;
}

#define D(...) ((const int64_t[]){__VA_ARGS__})

/* w [O][CG][T] -> [O][CG4 / 4][T][4], CG4 = CG rounded up to 4, zeros past CG (the qtaps
 * pass's order, written out again here); dst holds O CG4 T bytes. */
static void reorder(int8_t *dst, const int8_t *src, int64_t O, int64_t CG, int64_t T)
{
    const int64_t CG4 = (CG + 3) / 4 * 4;
    memset(dst, 0, (size_t)(O * CG4 * T));
    for (int64_t o = 0; o < O; o++)
        for (int64_t ci = 0; ci < CG; ci++)
            for (int64_t t = 0; t < T; t++)
                dst[((o * (CG4 / 4) + ci / 4) * T + t) * 4 + ci % 4] = src[(o * CG + ci) * T + t];
}

typedef struct {
    int64_t C, H, W, O, KH, KW, SH, SW, PH, PW, DH, DW;
    int64_t pad_end; /* bottom and right padding (may differ from the top and left) */
} KCase;

/* The kernel on one case against the plain loop: sums exact (unit scales, f32 out), then a
 * u8 output with relu6 and ONNX's division, the layout filled in 3 pieces (the items of 3
 * threads) into a buffer of garbage. */
static void check_kernel(const KCase *k)
{
    const int64_t C = k->C, H = k->H, W = k->W, O = k->O, KH = k->KH, KW = k->KW;
    const int64_t OH = (H + k->PH + k->pad_end - k->DH * (KH - 1) - 1) / k->SH + 1;
    const int64_t OW = (W + k->PW + k->pad_end - k->DW * (KW - 1) - 1) / k->SW + 1;
    const int64_t P = OH * OW, T = KH * KW, K = C * T, CG4 = (C + 3) / 4 * 4;
    const slimc_rt_conv s = {C,  H,     W,     O,     CG4,   O,     KH,    KW, OH,
                             OW, k->SH, k->SW, k->PH, k->PW, k->DH, k->DW, 0};
    uint8_t *x = malloc((size_t)(C * H * W));
    int8_t *w = malloc((size_t)(O * K)), *wt = malloc((size_t)(O * CG4 * T));
    int32_t *wsum = calloc((size_t)O, sizeof(int32_t)),
            *ref = malloc(sizeof(int32_t) * (size_t)(O * P));
    float *ones = malloc(sizeof(float) * (size_t)O), *out = malloc(sizeof(float) * (size_t)(O * P));
    uint8_t *qo = malloc((size_t)(O * P));
    const int32_t zp = (int32_t)(rnd() & 255);
    for (int64_t i = 0; i < C * H * W; i++)
        x[i] = (uint8_t)(rnd() & 255);
    for (int64_t i = 0; i < O * K; i++) {
        w[i] = (int8_t)((int)(rnd() % 255) - 127);
        wsum[i / K] += w[i];
    }
    for (int64_t o = 0; o < O; o++)
        ones[o] = 1.0f;
    reorder(wt, w, O, C, T);
    for (int64_t o = 0; o < O; o++)
        for (int64_t oh = 0; oh < OH; oh++)
            for (int64_t ow = 0; ow < OW; ow++) {
                int32_t acc = 0;
                for (int64_t ci = 0; ci < C; ci++)
                    for (int64_t kh = 0; kh < KH; kh++)
                        for (int64_t kw = 0; kw < KW; kw++) {
                            const int64_t ih = oh * k->SH - k->PH + kh * k->DH,
                                          iw = ow * k->SW - k->PW + kw * k->DW;
                            const int32_t q = (ih < 0 || ih >= H || iw < 0 || iw >= W)
                                                  ? zp
                                                  : (int32_t)x[(ci * H + ih) * W + iw];
                            acc += (q - zp) * (int32_t)w[((o * C + ci) * KH + kh) * KW + kw];
                        }
                ref[o * P + oh * OW + ow] = acc;
            }
    const int64_t WP = OW + k->DW * (KW - 1) / k->SW, QP = OH * WP, QT = (QP + 63) / 64;
    const int64_t DHK = 1 + k->DH * (KH - 1) / k->SH;
    const slimc_rt_qreq rq = {0.0f, (int32_t)(rnd() & 255), SLIMC_RT_ACT_RELU6, 0.5f};
    for (int u8 = 0; u8 < 2; u8++) {
        uint8_t *xt = slimc_rt_qtaps_alloc(&s);
        ck_assert(xt);
        memset(xt, 0xab, (size_t)slimc_rt_qtaps_bytes(&s)); /* garbage where not filled */
        for (int part = 0; part < 3; part++) {              /* the items of thread `part` of 3 */
            const int64_t i0 = QT * part / 3, i1 = QT * (part + 1) / 3;
            if (i1 <= i0)
                continue;
            const int64_t qe = i1 * 64 < QP ? i1 * 64 : QP;
            slimc_rt_qtaps_fill(&s, x, (uint8_t)zp, i0 * 64 / WP, (qe - 1) / WP + DHK, xt);
            for (int64_t it = i0; it < i1; it++)
                slimc_rt_qtaps_block(&s, xt, it * 64, it * 64 + 64 < QP ? it * 64 + 64 : QP, zp, wt,
                                     wsum, 1.0f, ones, NULL, u8 ? (void *)qo : (void *)out,
                                     u8 ? &rq : NULL);
        }
        free(xt);
    }
    for (int64_t i = 0; i < O * P; i++) {
        ck_assert_msg(out[i] == (float)ref[i],
                      "C=%lld %lldx%lld s%lld,%lld d%lld [%lld]: %g != %d (sums)", (long long)C,
                      (long long)KH, (long long)KW, (long long)k->SH, (long long)k->SW,
                      (long long)k->DH, (long long)i, out[i], ref[i]);
        const float y = ref[i] <= 0 ? 0.0f : ref[i] >= 6 ? 6.0f : (float)ref[i];
        float v = rintf(y / 0.5f) + (float)rq.zp;
        v = v < 0 ? 0 : v > 255 ? 255 : v;
        ck_assert_msg(qo[i] == (uint8_t)v, "C=%lld %lldx%lld u8 [%lld]: %d != %d", (long long)C,
                      (long long)KH, (long long)KW, (long long)i, qo[i], (int)v);
    }
    free(x), free(w), free(wt), free(wsum), free(ref), free(ones), free(out), free(qo);
}

START_TEST(qtaps_kernel_exact)
{
    if (!slimc_rt_has_vnni())
        fprintf(stderr, "test_qtaps: no AVX-512 VNNI here: the scalar taps loop is checked\n");
    static const KCase cases[] = {
        /* C   H   W   O  KH KW SH SW PH PW DH DW end */
        {64, 13, 11, 20, 3, 3, 1, 1, 1, 1, 1, 1, 1}, /* odd sizes, O not a multiple of 4 */
        {8, 9, 33, 7, 3, 3, 1, 1, 1, 1, 1, 1, 1},    /* rows wider than 16 (SSE fill) */
        {12, 17, 19, 9, 5, 3, 1, 1, 2, 1, 1, 1, 0},  /* 5x3, asymmetric padding */
        {16, 15, 14, 13, 3, 3, 1, 1, 2, 2, 2, 2, 2}, /* dilation 2 */
        {4, 3, 3, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1},     /* one block, mostly padding */
        {32, 56, 56, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1},  /* resnet18's 56x56 (49 blocks) */
        {20, 33, 35, 11, 3, 3, 2, 2, 1, 1, 1, 1, 1}, /* stride 2, odd sizes */
        {8, 40, 37, 6, 3, 3, 2, 2, 1, 1, 1, 1, 0},   /* stride 2, ONNX's SAME_UPPER-like */
        {4, 17, 23, 9, 5, 5, 2, 2, 2, 2, 1, 1, 2},   /* 5x5 stride 2 */
        {8, 19, 18, 5, 3, 4, 2, 1, 1, 0, 1, 1, 1},   /* strides 2 x 1, a 3x4 kernel */
        {8, 15, 16, 9, 4, 4, 3, 3, 1, 1, 1, 1, 1},   /* stride 3 (the scalar fill) */
        {12, 21, 21, 7, 3, 3, 2, 2, 2, 2, 2, 2, 2},  /* stride 2 and dilation 2 */
        {128, 7, 7, 12, 3, 3, 1, 1, 1, 1, 1, 1, 1},  /* deep: K = 1152 */
        {3, 45, 47, 10, 7, 7, 2, 2, 3, 3, 1, 1, 3},  /* a stem: 3 channels, 7x7 stride 2 */
        {6, 11, 13, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1},   /* 6 channels: words of 4 and 2 */
        {1, 20, 20, 4, 5, 5, 1, 1, 0, 0, 1, 1, 0},   /* one channel (lenet's first conv) */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_kernel(&cases[i]);
}
END_TEST

/* ---- graphs ---- */

static ValueId const_of(Graph *g, const char *name, DType dt, int rank, const int64_t *dims,
                        void *data, size_t bytes)
{
    Type t = sup_f32(rank, dims);
    t.dtype = dt;
    return ir_const_new(g, name, t, data, bytes, (SrcLoc){0});
}

/* x f32 [B, C, H, W] -> quantize -> qconv2d (k x k, stride st, padding pad, bias) [-> relu
 * as its epilogue] -> out (f32); by_hand: the weight given reordered, with w_taps=1. */
static Graph *taps_graph(int64_t B, int64_t C, int64_t H, int64_t W, int64_t O, int64_t k,
                         int64_t st, int64_t pad, bool relu, bool by_hand, RtTensor *in)
{
    Graph *g = ir_graph_new("qtaps");
    *in = sup_input_rand(4, D(B, C, H, W), &seed);
    ValueId x = ir_input_new(g, "x", sup_f32(4, D(B, C, H, W)), (SrcLoc){0});
    NodeId q = ir_node_new(g, IR_OP_QUANTIZE, "q", (SrcLoc){0}, &x, 1, 1);
    ir_node_set_float(g, q, "scale", 2.0 / 255.0);
    ir_node_set_int(g, q, "zero_point", 117);
    const int64_t K = C * k * k;
    int8_t *w = ir_arena_alloc(g->arena, (size_t)(O * K));
    float *ws = ir_arena_alloc(g->arena, sizeof(float) * (size_t)O),
          *b = ir_arena_alloc(g->arena, sizeof(float) * (size_t)O);
    int32_t *sum = ir_arena_alloc(g->arena, sizeof(int32_t) * (size_t)O);
    for (int64_t o = 0; o < O; o++) {
        sum[o] = 0;
        for (int64_t i = 0; i < K; i++) {
            w[o * K + i] = (int8_t)((int)(rnd() % 255) - 127);
            sum[o] += w[o * K + i];
        }
        ws[o] = 0.0005f + 0.001f * (float)(rnd() % 1000) / 1000.0f;
        b[o] = (float)(rnd() % 1000) / 1000.0f - 0.5f;
    }
    const int64_t CW = by_hand ? (C + 3) / 4 * 4 : C; /* the weight's channels */
    if (by_hand) {
        int8_t *wt = ir_arena_alloc(g->arena, (size_t)(O * CW * k * k));
        reorder(wt, w, O, C, k * k);
        w = wt;
    }
    ValueId ins[5] = {g->nodes[q].outputs[0],
                      const_of(g, "w", IR_I8, 4, D(O, CW, k, k), w, (size_t)(O * CW * k * k)),
                      const_of(g, "ws", IR_F32, 1, D(O), ws, sizeof(float) * (size_t)O),
                      const_of(g, "wsum", IR_I32, 1, D(O), sum, sizeof(int32_t) * (size_t)O),
                      const_of(g, "b", IR_F32, 1, D(O), b, sizeof(float) * (size_t)O)};
    NodeId n = ir_node_new(g, IR_OP_QCONV2D, "conv", (SrcLoc){0}, ins, 5, 1);
    ir_node_set_int(g, n, "stride", st);
    ir_node_set_int(g, n, "padding", pad);
    ir_node_set_int(g, n, "groups", 1);
    ir_node_set_float(g, n, "x_scale", 2.0 / 255.0);
    ir_node_set_int(g, n, "x_zero_point", 117);
    if (by_hand)
        ir_node_set_int(g, n, "w_taps", 1);
    if (relu) {
        Node *nd = &g->nodes[n];
        nd->epilogue[0] = (Epilogue){IR_OP_RELU, IR_NONE, false};
        nd->n_epilogue = 1;
    }
    ir_output_add(g, g->nodes[n].outputs[0]);
    return g;
}

static int count_taps(const Graph *g)
{
    int n = 0;
    for (int i = 0; i < g->n_nodes; i++)
        n += !g->nodes[i].dead && g->nodes[i].op == IR_OP_QCONV2D && ir_attr_w_taps(&g->nodes[i]);
    return n;
}

/* The reference before the pass, the reference after it (reading the reordered weight) and
 * the JIT at 1, 2 and 3 threads, all the same bytes. */
static void check_graph(int64_t B, int64_t C, int64_t H, int64_t W, int64_t O, int64_t k,
                        int64_t st, int64_t pad, bool relu, bool by_hand)
{
    RtTensor in;
    Graph *g = taps_graph(B, C, H, W, O, k, st, pad, relu, by_hand, &in);
    char what[96];
    snprintf(what, sizeof what, "B=%lld C=%lld %lldx%lld O=%lld k=%lld s%lld%s%s", (long long)B,
             (long long)C, (long long)H, (long long)W, (long long)O, (long long)k, (long long)st,
             relu ? " relu" : "", by_hand ? " (by hand)" : "");
    Diag d;
    ir_diag_init(&d);
    ck_assert_msg(ir_infer_shapes(g, &d), "%s: shapes: %s", what, ir_diag_text(&d));
    const void *ins[1] = {in.data};
    void *before[1] = {0};
    int64_t syms[IR_MAX_SYMS] = {0};
    ck_assert_msg(ir_eval_graph(g, ins, before, syms, &d), "%s: %s", what, ir_diag_text(&d));
    if (!by_hand) {
        /* a plain reference first: by hand the weights are reordered already */
        PassRunOptions ro = {.verify = true};
        ck_assert_msg(pass_pipeline_run(g, "qtaps", (SrcLoc){0}, &ro, &d), "%s: %s", what,
                      ir_diag_text(&d));
        if (!slimc_rt_has_amx()) /* an AMX CPU keeps its tile path */
            ck_assert_msg(count_taps(g) == slimc_rt_has_vnni(), "%s: %d convs with w_taps", what,
                          count_taps(g));
        void *after[1] = {0};
        ck_assert_msg(ir_eval_graph(g, ins, after, syms, &d), "%s: %s", what, ir_diag_text(&d));
        const Shape *os = &g->values[g->outputs[0]].type.shape;
        size_t ny = 1;
        for (int r = 0; r < os->rank; r++)
            ny *= (size_t)os->d[r].c;
        ck_assert_msg(memcmp(before[0], after[0], sizeof(float) * ny) == 0,
                      "%s: the reference differs after qtaps", what);
        free(after[0]);
    }
    free(before[0]);
    ir_diag_fini(&d);
    char msg[512];
    const int threads[] = {1, 2, 3};
    ck_assert_msg(sup_check(g, &in, threads, 3, 0.0, msg, sizeof msg), "%s: %s", what, msg);
    free(in.data);
    ir_graph_free(g);
}

START_TEST(qtaps_graph)
{
    for (int by_hand = 0; by_hand < 2; by_hand++) {
        check_graph(2, 16, 13, 15, 12, 3, 1, 1, true, by_hand);
        check_graph(1, 8, 30, 29, 10, 3, 2, 1, false, by_hand);
        check_graph(3, 12, 9, 9, 7, 5, 1, 2, true, by_hand);
        check_graph(1, 32, 56, 56, 8, 3, 1, 1, false, by_hand);
        check_graph(2, 3, 40, 38, 16, 7, 2, 3, true, by_hand); /* a stem of 3 channels */
    }
}
END_TEST

/* Convs the pass leaves alone: a 1x1, two groups. */
START_TEST(qtaps_skips)
{
    RtTensor in;
    Graph *g = taps_graph(1, 16, 9, 9, 8, 1, 1, 0, false, false, &in);
    Diag d;
    ir_diag_init(&d);
    PassRunOptions ro = {.verify = true};
    ck_assert(ir_infer_shapes(g, &d));
    ck_assert(pass_pipeline_run(g, "qtaps", (SrcLoc){0}, &ro, &d));
    ck_assert_int_eq(count_taps(g), 0);
    free(in.data);
    ir_graph_free(g);
    g = taps_graph(1, 8, 9, 9, 8, 3, 1, 1, false, false, &in);
    for (int i = 0; i < g->n_nodes; i++)
        if (g->nodes[i].op == IR_OP_QCONV2D) { /* 2 groups of 4 channels: w [8, 4, 3, 3] */
            ir_node_set_int(g, i, "groups", 2);
            g->values[g->nodes[i].inputs[1]].type.shape.d[1] = ir_dim(4);
        }
    ck_assert(ir_infer_shapes(g, &d));
    ck_assert(pass_pipeline_run(g, "qtaps", (SrcLoc){0}, &ro, &d));
    ck_assert_int_eq(count_taps(g), 0);
    free(in.data);
    ir_graph_free(g);
    ir_diag_fini(&d);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("qtaps");
    TCase *k = tcase_create("kernel");
    tcase_add_test(k, qtaps_kernel_exact);
    tcase_add_test(k, qtaps_skips);
    suite_add_tcase(s, k);
    TCase *j = tcase_create("jit");
    tcase_set_timeout(j, 120);
    tcase_add_test(j, qtaps_graph);
    suite_add_tcase(s, j);
    SRunner *r = srunner_create(s);
    srunner_run_all(r, CK_NORMAL);
    const int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
