/* conv2d's implicit GEMM cut over output channels as well as pixels (codegen/c/conv.c,
 * slimc_rt_conv2d_blk): convs of few pixels and many channels, odd channel counts, stride
 * 2, padding, 1x1 and epilogues, through the emitter, the JIT and rt_exec at 1, 2 and 3
 * threads, against a plain C loop (double sums), and bit for bit equal across the thread
 * counts. Each case also checks that the emitted code does split the channels (OB = n). */
#include "support_cg.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static unsigned seed = 4242;

#define D(...) ((const int64_t[]){__VA_ARGS__})

typedef struct {
    int64_t B, C, H, W, O, k, stride, pad;
    bool bias;
    int ep;          /* 0 none, 1 relu (the kernel's own), 2 mul by a [O, 1, 1] constant then relu,
                      * 3 relu6 (the kernel's own); 4 add of a residual of the output's shape,
                      * 5 that add then relu, 6 then relu6 (slimc_rt_conv2d_res) */
    int ob;          /* the channel blocks the emitter must choose; -1: not checked */
    int64_t dil, gr; /* dilation and groups (0: 1) */
} ConvCase;

/* The constant's data: the graph keeps it in its value's constant buffer. */
static const float *const_data(const Graph *g, ValueId v)
{
    return (const float *)g->values[v].data;
}

/* y [B, O, OH, OW] = the conv of x [B, C, H, W] by w [O, C / groups, k, k], plus bias,
 * then the case's epilogue: a plain loop, every sum in double. */
static void reference(const ConvCase *cc, const float *x, const float *w, const float *bias,
                      const float *scale, const float *res, float *y, int64_t OH, int64_t OW)
{
    const int64_t dil = cc->dil ? cc->dil : 1, gr = cc->gr ? cc->gr : 1;
    const int64_t CG = cc->C / gr, OG = cc->O / gr;
    for (int64_t b = 0; b < cc->B; b++)
        for (int64_t o = 0; o < cc->O; o++)
            for (int64_t oh = 0; oh < OH; oh++)
                for (int64_t ow = 0; ow < OW; ow++) {
                    double s = bias ? bias[o] : 0.0;
                    for (int64_t c = 0; c < CG; c++)
                        for (int64_t kh = 0; kh < cc->k; kh++)
                            for (int64_t kw = 0; kw < cc->k; kw++) {
                                const int64_t ih = oh * cc->stride - cc->pad + kh * dil;
                                const int64_t iw = ow * cc->stride - cc->pad + kw * dil;
                                const int64_t ci = o / OG * CG + c;
                                if (ih < 0 || ih >= cc->H || iw < 0 || iw >= cc->W)
                                    continue;
                                s += (double)x[((b * cc->C + ci) * cc->H + ih) * cc->W + iw] *
                                     (double)w[((o * CG + c) * cc->k + kh) * cc->k + kw];
                            }
                    const int64_t at = ((b * cc->O + o) * OH + oh) * OW + ow;
                    if (cc->ep == 2)
                        s *= scale[o];
                    if (cc->ep >= 4) /* the conv's float sum, then the residual */
                        s = (double)((float)s + res[at]);
                    if (cc->ep && cc->ep != 4)
                        s = s > 0.0 ? s : 0.0;
                    if (cc->ep == 3 || cc->ep == 6)
                        s = s < 6.0 ? s : 6.0;
                    y[at] = (float)s;
                }
}

static void run_case(const ConvCase *cc)
{
    char what[200];
    const int64_t dil = cc->dil ? cc->dil : 1, gr = cc->gr ? cc->gr : 1;
    snprintf(what, sizeof what,
             "conv %lldx%lldx%lldx%lld O=%lld k=%lld s=%lld p=%lld d=%lld g=%lld ep=%d",
             (long long)cc->B, (long long)cc->C, (long long)cc->H, (long long)cc->W,
             (long long)cc->O, (long long)cc->k, (long long)cc->stride, (long long)cc->pad,
             (long long)dil, (long long)gr, cc->ep);
    Graph *g = ir_graph_new("conv_split");
    RtTensor in;
    ValueId x = sup_input(g, "x", 4, D(cc->B, cc->C, cc->H, cc->W), &in, &seed);
    ValueId w = sup_const_rand(g, "w", 4, D(cc->O, cc->C / gr, cc->k, cc->k), &seed);
    ValueId bias = cc->bias ? sup_const_rand(g, "b", 1, D(cc->O), &seed) : IR_NONE;
    ValueId ins[3] = {x, w, bias};
    NodeId n = ir_node_new(g, IR_OP_CONV2D, "conv", (SrcLoc){0}, ins, cc->bias ? 3 : 2, 1);
    ir_node_set_int(g, n, "stride", cc->stride);
    ir_node_set_int(g, n, "padding", cc->pad);
    if (dil > 1)
        ir_node_set_int(g, n, "dilation", dil);
    if (gr > 1)
        ir_node_set_int(g, n, "groups", gr);
    ValueId scale = IR_NONE;
    if (cc->ep == 2) {
        scale = sup_const_rand(g, "scale", 3, D(cc->O, 1, 1), &seed);
        Node *nd = &g->nodes[n];
        nd->epilogue[nd->n_epilogue++] = (Epilogue){.op = IR_OP_MUL, .operand = scale};
    }
    const int64_t OH = (cc->H + 2 * cc->pad - dil * (cc->k - 1) - 1) / cc->stride + 1;
    const int64_t OW = (cc->W + 2 * cc->pad - dil * (cc->k - 1) - 1) / cc->stride + 1;
    ValueId res = IR_NONE;
    if (cc->ep >= 4) {
        res = sup_const_rand(g, "res", 4, D(cc->B, cc->O, OH, OW), &seed);
        Node *nd = &g->nodes[n];
        nd->epilogue[nd->n_epilogue++] = (Epilogue){.op = IR_OP_ADD, .operand = res};
    }
    if (cc->ep && cc->ep != 4) {
        Node *nd = &g->nodes[n];
        nd->epilogue[nd->n_epilogue++] = (Epilogue){
            .op = cc->ep == 3 || cc->ep == 6 ? IR_OP_RELU6 : IR_OP_RELU, .operand = IR_NONE};
    }
    ir_output_add(g, g->nodes[n].outputs[0]);
    Diag d;
    ir_diag_init(&d);
    ck_assert_msg(ir_infer_shapes(g, &d), "%s: shapes: %s", what, ir_diag_text(&d));

    const size_t ny = (size_t)(cc->B * cc->O * OH * OW);
    float *ref = malloc(sizeof(float) * ny);
    reference(cc, in.data, const_data(g, w), cc->bias ? const_data(g, bias) : NULL,
              cc->ep == 2 ? const_data(g, scale) : NULL, cc->ep >= 4 ? const_data(g, res) : NULL,
              ref, OH, OW);

    char msg[512], blocks[32];
    size_t len;
    char *src = sup_emit(g, &len, msg, sizeof msg);
    ck_assert_msg(src, "%s: emit: %s", what, msg);
    if (cc->ep >= 4)
        ck_assert_msg(strstr(src, "slimc_rt_conv2d_res(&s") && !strstr(src, "epi_node_conv(a, out"),
                      "%s: the residual is not added by the conv kernel", what);
    if (cc->ob > 1) {
        snprintf(blocks, sizeof blocks, "OB = %d,", cc->ob);
        ck_assert_msg(strstr(src, blocks), "%s: the emitted conv does not have %s", what, blocks);
    } else if (cc->ob == 1)
        ck_assert_msg(!strstr(src, "OB = ") && strstr(src, "slimc_rt_conv2d_px(&s"),
                      "%s: the emitted conv splits its channels", what);
    free(sup_run_threads_vs(g, src, len, &in, 1, ref, ny, 1e-5, what));
    free(ref);
    free(in.data);
    ir_diag_fini(&d);
    ir_graph_free(g);
}

START_TEST(test_conv_split)
{
    static const ConvCase cases[] = {
        /* 7x7 output (one pixel block), stride 2 and padding: 10 tiles of 14 channels in 5 */
        {1, 63, 13, 13, 131, 3, 2, 1, true, 0, 5, 0, 0},
        /* 4 pixel blocks, two images, the mul + relu epilogue over each block's channels */
        {2, 37, 14, 14, 83, 3, 1, 1, true, 2, 3, 0, 0},
        /* 1x1, stride 1, unpadded: x read in place; the kernel's own relu */
        {1, 160, 7, 7, 150, 1, 1, 0, false, 1, 5, 0, 0},
        /* 13 pixel blocks: 2 channel blocks */
        {1, 17, 28, 28, 45, 3, 1, 1, true, 1, 2, 0, 0},
        /* under 1M multiply-adds: not split */
        {1, 8, 7, 7, 30, 3, 1, 1, true, 2, 1, 0, 0},
        {2, 5, 9, 9, 20, 3, 2, 1, false, 1, 1, 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        run_case(&cases[i]);
}
END_TEST

/* Panels whose last pixels past a multiple of 16 are few (1 to 8): on AVX-512 those columns
 * are dot products over k (slimc_rt_conv_cols512), the others the GEMM tiles. Output pixel
 * counts 49 (48 + 1), 196 (a last panel of 4), 36, 21 (16 + 5: two groups of columns), 66,
 * 8 and 4 (no tile at all); a short k (27, 4 pixels) that keeps the tiles; k tails off 16
 * (K = 45, 63 * 9 over two k blocks), output channel counts off 4, dilation 2, two groups,
 * stride 2, padding, the epilogues; against the plain loop and across 1, 2 and 3 threads. */
START_TEST(test_conv_cols)
{
    static const ConvCase cases[] = {
        {1, 5, 7, 7, 13, 3, 1, 1, true, 1, -1, 0, 0},
        {1, 63, 7, 7, 37, 3, 1, 1, false, 0, -1, 0, 0},
        {1, 24, 14, 14, 70, 3, 1, 1, true, 2, -1, 0, 0},
        {2, 9, 12, 12, 19, 3, 2, 1, true, 1, -1, 0, 0},
        {1, 11, 3, 7, 23, 3, 1, 1, true, 0, -1, 0, 0},
        {1, 7, 6, 11, 9, 3, 1, 2, false, 1, -1, 2, 0},
        {1, 400, 1, 8, 10, 1, 1, 0, true, 0, -1, 0, 2},
        {1, 16, 5, 5, 10, 3, 2, 0, true, 2, -1, 0, 2},
        {1, 160, 7, 7, 150, 1, 1, 0, false, 1, -1, 0, 0},
        {1, 40, 9, 9, 66, 3, 1, 1, true, 0, -1, 2, 2},
        {1, 3, 4, 4, 17, 3, 1, 0, true, 1, -1, 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        run_case(&cases[i]);
}
END_TEST

/* The kernel's relu / relu6, which the AVX-512 tiles apply as they store the last k block's
 * sums (slimc_rt_gemm_act) and the dot-product columns after them: k over two blocks (an
 * activation of the first block's partial sums fails), one output channel (the GEMV tile,
 * which goes through k in blocks of its own), a tail of columns past 16, a 1x1 read in place,
 * stride 2; k long enough that relu6 clips. Against the plain loop, 1, 2 and 3 threads. */
START_TEST(test_conv_act)
{
    static const ConvCase cases[] = {
        {1, 63, 9, 9, 37, 3, 1, 1, true, 3, -1, 0, 0},
        {1, 63, 9, 9, 37, 3, 1, 1, false, 1, -1, 0, 0},
        {1, 70, 9, 9, 1, 3, 1, 1, true, 3, -1, 0, 0},
        {1, 70, 9, 9, 1, 3, 1, 1, true, 1, -1, 0, 0},
        {2, 24, 11, 13, 29, 3, 2, 1, true, 3, -1, 0, 0},
        {1, 600, 7, 7, 20, 1, 1, 0, true, 3, -1, 0, 0},
        {1, 16, 20, 20, 45, 1, 1, 0, false, 3, -1, 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        run_case(&cases[i]);
}
END_TEST

/* Convs of few input channels (k = C KH KW at most 160, one group, strides 1 and 2, kernel
 * widths 3, 5, 6 and 7, at most 64 output channels, output rows at least 24 wide): on AVX-512
 * slimc_rt_conv2d_blk computes them directly, a run of up to 32 pixels along an output row by
 * a tile of 12, 8, 4 or 1 output channels in registers, no im2col. Stems (3 -> 16 3x3 stride
 * 2, 3 -> 64 7x7 stride 2 padding 3, 3 -> 16 6x6 stride 2 padding 2), YOLO's 16 -> 32 stride
 * 2 and its neighbours: output channel counts 1, 9, 13 (8 + 4 + 1), 21 (12 + 8 + 1), 32 and
 * 64 (12s and 8s), rows of 24 to 41 outputs (runs of 32 and of 1 to 16 pixels, cut at row
 * ends and at the items' pixel blocks), padding wider than the kernel reaches, two images,
 * the kernel's relu and relu6, the mul + relu epilogue, a split over channels (OB = 2: tiles
 * from channel 28: 12, 12, 12, then 8); then two shapes just outside (rows of 23, 65
 * channels) that keep im2col. Against the plain loop and across 1, 2 and 3 threads (on AVX2
 * and the portable path all go through im2col). */
START_TEST(test_conv_direct)
{
    static const ConvCase cases[] = {
        {1, 3, 49, 51, 16, 3, 2, 1, true, 1, -1, 0, 0},
        {2, 16, 17, 50, 32, 3, 2, 1, false, 3, -1, 0, 0},
        {1, 3, 37, 59, 64, 7, 2, 3, true, 0, -1, 0, 0},
        {1, 3, 22, 53, 16, 6, 2, 2, true, 2, -1, 0, 0},
        {1, 3, 9, 41, 13, 3, 1, 1, true, 0, -1, 0, 0},
        {1, 5, 12, 29, 21, 5, 1, 2, false, 1, -1, 0, 0},
        {1, 2, 8, 30, 1, 7, 1, 3, true, 3, -1, 0, 0},
        {1, 4, 6, 25, 9, 3, 1, 2, true, 0, -1, 0, 0},
        {1, 3, 7, 48, 8, 3, 2, 1, true, 0, -1, 0, 0},
        {2, 16, 5, 50, 20, 3, 2, 0, true, 2, -1, 0, 0},
        {1, 17, 30, 30, 64, 3, 1, 1, true, 1, 2, 0, 0},
        {1, 3, 30, 23, 16, 3, 1, 1, true, 1, -1, 0, 0},
        {1, 3, 30, 30, 65, 3, 1, 1, true, 0, -1, 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        run_case(&cases[i]);
}
END_TEST

/* A residual add (and relu / relu6) of the output's shape, which slimc_rt_conv2d_res adds as
 * the AVX-512 tiles store the last k block's sums (ResNet's conv2 + identity + relu): k over
 * two blocks (the relu must not see the first block's sums plus the residual), the dot-product
 * columns past 16 (49 = 48 + 1 pixels), a split over channels (OB = 2, 5), two groups (the
 * residual's offset per group), a 1x1 read in place, stride 2, two images, one output
 * channel (the GEMV tile), a stem the direct kernel computes (its residual and ACT after
 * it), and no bias. Against the plain loop (the conv's float sum plus the residual, then
 * the activation), 1, 2 and 3 threads; on AVX2 and the portable path too (ctest). */
START_TEST(test_conv_residual)
{
    static const ConvCase cases[] = {
        {1, 64, 9, 9, 37, 3, 1, 1, true, 5, -1, 0, 0},
        {1, 63, 7, 7, 40, 3, 1, 1, false, 4, -1, 0, 0},
        {1, 63, 13, 13, 131, 3, 2, 1, true, 5, 5, 0, 0},
        {1, 17, 28, 28, 45, 3, 1, 1, true, 6, 2, 0, 0},
        {1, 40, 9, 9, 66, 3, 1, 1, true, 5, -1, 0, 2},
        {1, 160, 7, 7, 150, 1, 1, 0, false, 4, -1, 0, 0},
        {2, 24, 11, 13, 29, 3, 2, 1, true, 6, -1, 0, 0},
        {1, 70, 9, 9, 1, 3, 1, 1, true, 5, -1, 0, 0},
        {1, 3, 37, 59, 64, 7, 2, 3, true, 5, -1, 0, 0},
        {2, 16, 17, 50, 32, 3, 2, 1, false, 4, -1, 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        run_case(&cases[i]);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("conv_split");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_conv_split);
    tcase_add_test(tc, test_conv_cols);
    tcase_add_test(tc, test_conv_act);
    tcase_add_test(tc, test_conv_direct);
    tcase_add_test(tc, test_conv_residual);
    suite_add_tcase(s, tc);
    SRunner *r = srunner_create(s);
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
