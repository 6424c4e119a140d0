/* The sparse conv2d kernel (runtime/kernels/sparse_conv.c) and its choice by cost
 * (passes/sparse.c; issue 17): a conv2d on a random weight at a given density (the zeros at
 * random positions, so some rows are empty at low density), given the CSR kernel by
 * sparse(mode=csr), through the C backend against a plain C loop in double over the dense
 * weight (tolerance 1e-5 of max|ref|: the float sums skip the zeros), at 1 and 3 threads, the
 * two runs bit-identical. Shapes: 1x1 read in place (stride 1, unpadded) and through the
 * panel (stride 2), 3x3 with padding, stride 2 and dilation 2, the 7x7 stem, an asymmetric
 * 5x3 kernel, a reduction over two panels (K = 720 > 512), output pixel counts off the
 * 64-pixel block (63, 49, 121...) and blocks of whole vectors (8, 16, 32, 48 pixels),
 * ResNet-18's layer2 conv (128 channels 28x28, 46%); density 5% to 60%; with and without bias;
 * epilogues: none, a lone relu (the kernel's own), an add of a residual, an add then a relu.
 * The pass must have given the node its CSR input, so a check cannot pass on the dense kernel.
 * Under
 * SLIMC_MAX_ISA=generic / avx2 (unit_sparse_conv_generic / _avx2) the same runs the other
 * paths. Then the plan: a dense weight, a grouped conv and a dense-enough one are kept dense,
 * a 10%-dense 3x3 conv is chosen by the default profile, a slow measured rate keeps it dense. */
#include "support_cg.h"

#include "ir/eval.h"
#include "passes/cost_model.h"
#include "passes/pass.h"
#include "passes/sparse.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static unsigned seed = 2117;

#define D(...) ((const int64_t[]){__VA_ARGS__})

typedef struct Case {
    int64_t N, C, H, W, O, KH, KW, SH, SW, PH, PW, DH, DW;
    double density;
    bool bias;
    int epilogue; /* 0 none, 1 relu, 2 add of a residual [N, O, OH, OW], 3 add then relu */
} Case;

static const Case cases[] = {
    {1, 64, 7, 9, 32, 1, 1, 1, 1, 0, 0, 1, 1, 0.2, true, 0},
    {2, 16, 15, 15, 24, 1, 1, 2, 2, 0, 0, 1, 1, 0.1, false, 1},
    {1, 32, 14, 14, 64, 3, 3, 1, 1, 1, 1, 1, 1, 0.3, true, 1},
    {2, 64, 13, 11, 40, 3, 3, 2, 2, 1, 1, 1, 1, 0.05, true, 2},
    {1, 8, 12, 10, 16, 3, 3, 1, 1, 2, 2, 2, 2, 0.6, true, 3},
    {1, 80, 9, 9, 33, 3, 3, 1, 1, 1, 1, 1, 1, 0.15, true, 1},
    {1, 3, 32, 32, 16, 7, 7, 2, 2, 3, 3, 1, 1, 0.4, true, 0},
    {1, 12, 10, 17, 20, 5, 3, 2, 1, 2, 1, 1, 2, 0.25, false, 2},
    {1, 4, 6, 6, 16, 1, 1, 1, 1, 0, 0, 1, 1, 0.05, true, 0},
    {3, 1, 5, 5, 3, 1, 1, 1, 1, 0, 0, 1, 1, 0.6, true, 1},
    {1, 256, 7, 7, 128, 3, 3, 1, 1, 1, 1, 1, 1, 0.08, true, 3},
    /* whole vectors of pixels in a partial block (AVX-512 1, 2, 3 zmm; AVX2 1, 2, 4, 6 ymm)
     * and ResNet-18's layer2 conv at its 80%-global density (784 pixels, 12 column blocks) */
    {1, 24, 6, 8, 20, 3, 3, 1, 1, 1, 1, 1, 1, 0.46, true, 1},
    {2, 40, 4, 8, 17, 3, 3, 1, 1, 1, 1, 1, 1, 0.29, false, 2},
    {1, 48, 8, 8, 24, 3, 3, 2, 2, 1, 1, 1, 1, 0.35, true, 0},
    {1, 16, 2, 4, 8, 3, 3, 1, 1, 1, 1, 1, 1, 0.5, true, 0},
    {1, 128, 28, 28, 32, 3, 3, 1, 1, 1, 1, 1, 1, 0.46, true, 1},
};
enum { N_CASES = sizeof cases / sizeof cases[0] };

static int64_t out_size(int64_t in, int64_t k, int64_t s, int64_t p, int64_t d)
{
    return (in + 2 * p - d * (k - 1) - 1) / s + 1;
}

/* The weight [O, C, KH, KW] at density d: each entry nonzero (in [-1, 1), never 0) with
 * probability d. */
static float *sparse_weight(int64_t n, double d)
{
    float *w = malloc(sizeof(float) * (size_t)n);
    ck_assert(w);
    for (int64_t i = 0; i < n; i++) {
        const float v = sup_rand(&seed);
        w[i] = (sup_rand(&seed) + 1.0f) / 2.0f < d ? (v == 0 ? 0.5f : v) : 0.0f;
    }
    return w;
}

/* out = bias + sum over (c, kh, kw) of w x, in double; then the epilogue. */
static void reference(const Case *c, const float *x, const float *w, const float *b,
                      const float *res, int64_t OH, int64_t OW, float *out)
{
    for (int64_t n = 0; n < c->N; n++)
        for (int64_t o = 0; o < c->O; o++)
            for (int64_t oh = 0; oh < OH; oh++)
                for (int64_t ow = 0; ow < OW; ow++) {
                    double acc = b ? b[o] : 0.0;
                    for (int64_t ci = 0; ci < c->C; ci++)
                        for (int64_t kh = 0; kh < c->KH; kh++)
                            for (int64_t kw = 0; kw < c->KW; kw++) {
                                const int64_t ih = oh * c->SH - c->PH + kh * c->DH;
                                const int64_t iw = ow * c->SW - c->PW + kw * c->DW;
                                if (ih < 0 || ih >= c->H || iw < 0 || iw >= c->W)
                                    continue;
                                acc += (double)w[((o * c->C + ci) * c->KH + kh) * c->KW + kw] *
                                       (double)x[((n * c->C + ci) * c->H + ih) * c->W + iw];
                            }
                    const int64_t at = ((n * c->O + o) * OH + oh) * OW + ow;
                    if (c->epilogue >= 2)
                        acc += res[at];
                    if (c->epilogue == 1 || c->epilogue == 3)
                        acc = acc > 0 ? acc : 0;
                    out[at] = (float)acc;
                }
}

START_TEST(test_sparse_conv_kernel)
{
    const Case *c = &cases[_i];
    const int64_t OH = out_size(c->H, c->KH, c->SH, c->PH, c->DH);
    const int64_t OW = out_size(c->W, c->KW, c->SW, c->PW, c->DW);
    const int64_t wn = c->O * c->C * c->KH * c->KW, on = c->N * c->O * OH * OW;
    Graph *g = ir_graph_new("sparse_conv");
    RtTensor in[1];
    ValueId x = sup_input(g, "x", 4, D(c->N, c->C, c->H, c->W), &in[0], &seed);
    float *w = sparse_weight(wn, c->density);
    float *wc = ir_arena_alloc(g->arena, sizeof(float) * (size_t)wn);
    memcpy(wc, w, sizeof(float) * (size_t)wn);
    ValueId ins[3] = {x,
                      ir_const_new(g, "conv.weight", sup_f32(4, D(c->O, c->C, c->KH, c->KW)), wc,
                                   sizeof(float) * (size_t)wn, (SrcLoc){0}),
                      IR_NONE};
    if (c->bias)
        ins[2] = sup_const_rand(g, "conv.bias", 1, D(c->O), &seed);
    NodeId n = ir_node_new(g, IR_OP_CONV2D, "conv", (SrcLoc){0}, ins, c->bias ? 3 : 2, 1);
    ir_node_set_ints(g, n, "stride", D(c->SH, c->SW), 2);
    ir_node_set_ints(g, n, "padding", D(c->PH, c->PW), 2);
    ir_node_set_ints(g, n, "dilation", D(c->DH, c->DW), 2);
    ValueId res = IR_NONE;
    if (c->epilogue) {
        Node *nd = &g->nodes[n];
        int k = 0;
        if (c->epilogue >= 2) {
            res = sup_const_rand(g, "res", 4, D(c->N, c->O, OH, OW), &seed);
            nd->epilogue[k++] = (Epilogue){.op = IR_OP_ADD, .operand = res};
        }
        if (c->epilogue != 2)
            nd->epilogue[k++] = (Epilogue){.op = IR_OP_RELU, .operand = IR_NONE};
        nd->n_epilogue = k;
    }
    ir_output_add(g, g->nodes[n].outputs[0]);
    Diag d;
    ir_diag_init(&d);
    ck_assert_msg(ir_infer_shapes(g, &d), "%s", ir_diag_text(&d));
    ck_assert_msg(pass_pipeline_run(g, "layout,sparse(mode=csr)", (SrcLoc){0}, NULL, &d), "%s",
                  ir_diag_text(&d));
    const Node *nd = &g->nodes[n];
    ck_assert_msg(nd->n_inputs == 4 && nd->inputs[3] != IR_NONE && ir_attr_w_sparse(nd) == 1,
                  "case %d: the sparse pass gave no CSR weight", _i);
    const int64_t *h = g->values[nd->inputs[3]].data;
    ck_assert(h[0] == SLIMC_RT_CSR_MAGIC && h[1] == c->O && h[2] == wn / c->O);
    float *ref = malloc(sizeof(float) * (size_t)on);
    ck_assert(ref);
    reference(c, in[0].data, w, c->bias ? g->values[ins[2]].data : NULL,
              res != IR_NONE ? g->values[res].data : NULL, OH, OW, ref);
    char msg[512];
    size_t len;
    char *src = sup_emit(g, &len, msg, sizeof msg);
    ck_assert_msg(src, "case %d: %s", _i, msg);
    ck_assert_msg(strstr(src, "slimc_rt_spconv_px"), "case %d: no sparse conv call", _i);
    RtOptions ro;
    rt_options_default(&ro);
    RtModule *m = rt_compile(src, len, &ro, &d);
    ck_assert_msg(m, "case %d: compile: %s", _i, ir_diag_text(&d));
    RtExec *e = cg_exec_new(g, m, NULL, &d);
    ck_assert_msg(e, "case %d: %s", _i, ir_diag_text(&d));
    float *first = NULL;
    static const int threads[] = {1, 3};
    for (int t = 0; t < 2; t++) {
        RtTensor out[1];
        ck_assert_msg(rt_exec_run(e, in, 1, out, 1, threads[t], &d), "%s", ir_diag_text(&d));
        ck_assert((int64_t)(out[0].nbytes / sizeof(float)) == on);
        double err, scale;
        ck_assert_msg(sup_compare(out[0].data, ref, (size_t)on, 1e-5, &err, &scale),
                      "case %d (%d threads): max error %g, max |ref| %g", _i, threads[t], err,
                      scale);
        if (!first)
            first = out[0].data;
        else {
            ck_assert_msg(!memcmp(first, out[0].data, out[0].nbytes),
                          "case %d: 3 threads differ from 1", _i);
            free(out[0].data);
        }
    }
    free(first);
    rt_exec_free(e);
    rt_module_free(m);
    free(src);
    free(ref);
    free(w);
    free(in[0].data);
    ir_diag_fini(&d);
    ir_graph_free(g);
}
END_TEST

/* The plan of a 3x3 conv C -> O on 14x14 at density d (groups: 1, or C for depthwise). */
static SparsePlan plan_of(int64_t C, int64_t O, int64_t groups, double d, const CostProfile *p)
{
    Graph *g = ir_graph_new("plan");
    ValueId x = ir_input_new(g, "x", sup_f32(4, D(1, C, 14, 14)), (SrcLoc){0});
    const int64_t wn = O * (C / groups) * 9;
    float *w = sparse_weight(wn, d);
    float *wc = ir_arena_alloc(g->arena, sizeof(float) * (size_t)wn);
    memcpy(wc, w, sizeof(float) * (size_t)wn);
    free(w);
    ValueId ins[2] = {x, ir_const_new(g, "conv.weight", sup_f32(4, D(O, C / groups, 3, 3)), wc,
                                      sizeof(float) * (size_t)wn, (SrcLoc){0})};
    NodeId n = ir_node_new(g, IR_OP_CONV2D, "conv", (SrcLoc){0}, ins, 2, 1);
    ir_node_set_ints(g, n, "padding", D(1, 1), 2);
    ir_node_set_int(g, n, "groups", groups);
    ir_output_add(g, g->nodes[n].outputs[0]);
    Diag dg;
    ir_diag_init(&dg);
    ck_assert(ir_infer_shapes(g, &dg));
    ir_diag_fini(&dg);
    SparsePlan pl;
    ck_assert(pass_sparse_plan(g, n, p, &pl));
    ir_graph_free(g);
    return pl;
}

START_TEST(test_sparse_conv_choice)
{
    CostProfile p;
    cost_profile_default(&p);
    SparsePlan sparse = plan_of(128, 128, 1, 0.1, &p);
    ck_assert(sparse.candidate && sparse.kernel == SPARSE_CSR && sparse.nm_n == 0);
    ck_assert_msg(sparse.choose && sparse.gain > SPARSE_MIN_GAIN, "gain %g", sparse.gain);
    SparsePlan dense = plan_of(128, 128, 1, 0.9, &p);
    ck_assert(dense.candidate && !dense.choose && dense.gain < 1);
    SparsePlan dw = plan_of(64, 64, 64, 0.1, &p);
    ck_assert(!dw.candidate && dw.why_not && strstr(dw.why_not, "grouped"));
    /* a measured CSR conv rate far below the dense conv's keeps even 10% density dense */
    CostProfile slow = p;
    CostDevice *cpu = &slow.dev[IR_DEVICE_CPU];
    cpu->sparse_measured = true;
    for (int k = 0; k < COST_SPARSE_NUM; k++)
        cpu->sparse_gflops[k] = cost_sparse_rate(&p.dev[IR_DEVICE_CPU], (CostSparse)k);
    cpu->sparse_gflops[COST_SPARSE_CONV] = 0.02 * cpu->gflops[COST_CONV_F32];
    SparsePlan kept = plan_of(128, 128, 1, 0.1, &slow);
    ck_assert(kept.candidate && !kept.choose && kept.gain < 1);
}
END_TEST

/* A fourth input on a grouped conv, or without w_sparse=1, is refused by the shape check. */
START_TEST(test_sparse_conv_verify)
{
    Graph *g = ir_graph_new("verify");
    ValueId x = ir_input_new(g, "x", sup_f32(4, D(1, 4, 5, 5)), (SrcLoc){0});
    ValueId w = sup_const_rand(g, "w", 4, D(4, 2, 3, 3), &seed);
    unsigned char *blob = ir_arena_alloc(g->arena, 64);
    memset(blob, 0, 64);
    Type bt = {0};
    bt.dtype = IR_U8;
    bt.shape = sup_shape(1, D(64));
    ValueId csr = ir_const_new(g, "w.csr", bt, blob, 64, (SrcLoc){0});
    ValueId ins[4] = {x, w, IR_NONE, csr};
    NodeId n = ir_node_new(g, IR_OP_CONV2D, "conv", (SrcLoc){0}, ins, 4, 1);
    ir_node_set_int(g, n, "groups", 2);
    ir_node_set_int(g, n, "w_sparse", 1);
    ir_output_add(g, g->nodes[n].outputs[0]);
    Diag d;
    ir_diag_init(&d);
    ck_assert(!ir_infer_shapes(g, &d));
    ck_assert_msg(strstr(ir_diag_text(&d), "fourth input"), "%s", ir_diag_text(&d));
    ir_diag_fini(&d);
    ir_graph_free(g);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("sparse_conv");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_sparse_conv_kernel, 0, N_CASES);
    tcase_add_test(tc, test_sparse_conv_choice);
    tcase_add_test(tc, test_sparse_conv_verify);
    suite_add_tcase(s, tc);
    SRunner *r = srunner_create(s);
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
