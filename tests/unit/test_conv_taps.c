/* The conv_taps pass (passes/conv_taps.c): dilated 3x3 convs whose taps mostly read padding
 * (rates 2, 6, 12, 24 and 36 on small maps of odd sizes, strides 1 and 2, with and without
 * a bias, a relu after the conv that fuse takes into the last add, two images, a symbolic
 * batch) split into a 1x1 conv per tap, through the emitter, the JIT and rt_exec at 1, 2 and
 * 3 threads, against a plain C loop of the unsplit conv (double sums), and bit for bit equal
 * across the thread counts. Each case also checks whether the pass split the conv: the cost
 * rule keeps ordinary 3x3 convs, few multiply-adds and grouped convs as they were. */
#include "passes/pass.h"
#include "support_cg.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static unsigned seed = 2020;

#define D(...) ((const int64_t[]){__VA_ARGS__})

typedef struct {
    int64_t B, C, H, W, O, stride, pad, dil, groups;
    bool bias, relu, sym; /* sym: the batch is the symbol N (bound to B at run time) */
    int split;            /* the conv2d nodes the pass must leave (1: not split) */
} TapCase;

/* y [B, O, OH, OW] = the 3x3 conv of x [B, C, H, W] by w [O, C / groups, 3, 3] (+ bias,
 * then relu): a plain loop, every sum in double. */
static void reference(const TapCase *tc, const float *x, const float *w, const float *bias,
                      float *y, int64_t OH, int64_t OW)
{
    const int64_t CG = tc->C / tc->groups, OG = tc->O / tc->groups;
    for (int64_t b = 0; b < tc->B; b++)
        for (int64_t o = 0; o < tc->O; o++)
            for (int64_t oh = 0; oh < OH; oh++)
                for (int64_t ow = 0; ow < OW; ow++) {
                    double s = bias ? bias[o] : 0.0;
                    for (int64_t c = 0; c < CG; c++)
                        for (int64_t kh = 0; kh < 3; kh++)
                            for (int64_t kw = 0; kw < 3; kw++) {
                                const int64_t ih = oh * tc->stride - tc->pad + kh * tc->dil;
                                const int64_t iw = ow * tc->stride - tc->pad + kw * tc->dil;
                                if (ih < 0 || ih >= tc->H || iw < 0 || iw >= tc->W)
                                    continue;
                                const int64_t ci = o / OG * CG + c;
                                s += (double)x[((b * tc->C + ci) * tc->H + ih) * tc->W + iw] *
                                     (double)w[((o * CG + c) * 3 + kh) * 3 + kw];
                            }
                    if (tc->relu && s < 0.0)
                        s = 0.0;
                    y[((b * tc->O + o) * OH + oh) * OW + ow] = (float)s;
                }
}

static int count_op(const Graph *g, OpKind op)
{
    int k = 0;
    for (NodeId i = 0; i < g->n_nodes; i++)
        k += !g->nodes[i].dead && g->nodes[i].op == op;
    return k;
}

static void run_case(const TapCase *tc)
{
    char what[200];
    snprintf(what, sizeof what, "conv %lldx%lldx%lldx%lld O=%lld s=%lld p=%lld d=%lld g=%lld%s%s%s",
             (long long)tc->B, (long long)tc->C, (long long)tc->H, (long long)tc->W,
             (long long)tc->O, (long long)tc->stride, (long long)tc->pad, (long long)tc->dil,
             (long long)tc->groups, tc->bias ? " bias" : "", tc->relu ? " relu" : "",
             tc->sym ? " batch N" : "");
    Graph *g = ir_graph_new("conv_taps");
    RtTensor in = sup_input_rand(4, D(tc->B, tc->C, tc->H, tc->W), &seed);
    Type xt = sup_f32(4, D(tc->B, tc->C, tc->H, tc->W));
    if (tc->sym)
        xt.shape.d[0] = (Dim){1, 1u << ir_graph_symbol(g, "N")};
    const ValueId x = ir_input_new(g, "x", xt, (SrcLoc){0});
    const ValueId w = sup_const_rand(g, "w", 4, D(tc->O, tc->C / tc->groups, 3, 3), &seed);
    const ValueId bias = tc->bias ? sup_const_rand(g, "b", 1, D(tc->O), &seed) : IR_NONE;
    const ValueId ins[3] = {x, w, bias};
    const NodeId n = ir_node_new(g, IR_OP_CONV2D, "conv", (SrcLoc){0}, ins, tc->bias ? 3 : 2, 1);
    ir_node_set_int(g, n, "stride", tc->stride);
    ir_node_set_int(g, n, "padding", tc->pad);
    ir_node_set_int(g, n, "dilation", tc->dil);
    ir_node_set_int(g, n, "groups", tc->groups);
    ValueId y = g->nodes[n].outputs[0];
    if (tc->relu) {
        const NodeId r = ir_node_new(g, IR_OP_RELU, "relu", (SrcLoc){0}, &y, 1, 1);
        y = g->nodes[r].outputs[0];
    }
    ir_output_add(g, y);
    Diag d;
    ir_diag_init(&d);
    ck_assert_msg(ir_infer_shapes(g, &d), "%s: shapes: %s", what, ir_diag_text(&d));

    const int64_t OH = (tc->H + 2 * tc->pad - 2 * tc->dil - 1) / tc->stride + 1;
    const int64_t OW = (tc->W + 2 * tc->pad - 2 * tc->dil - 1) / tc->stride + 1;
    const size_t ny = (size_t)(tc->B * tc->O * OH * OW);
    float *ref = malloc(sizeof(float) * ny);
    reference(tc, in.data, g->values[w].data, tc->bias ? g->values[bias].data : NULL, ref, OH, OW);

    const PassRunOptions po = {.verify = true};
    ck_assert_msg(pass_pipeline_run(g, "conv_taps,fuse,dce", (SrcLoc){0}, &po, &d),
                  "%s: passes: %s", what, ir_diag_text(&d));
    ck_assert_msg(count_op(g, IR_OP_CONV2D) == tc->split, "%s: %d conv2d nodes, expected %d", what,
                  count_op(g, IR_OP_CONV2D), tc->split);
    if (tc->relu) /* the relu rides on the last node's epilogue */
        ck_assert_msg(count_op(g, IR_OP_RELU) == 0, "%s: the relu was not fused", what);

    char msg[512];
    size_t len;
    char *src = sup_emit(g, &len, msg, sizeof msg);
    ck_assert_msg(src, "%s: emit: %s", what, msg);
    free(sup_run_threads_vs(g, src, len, &in, 1, ref, ny, 1e-5, what));
    free(ref);
    free(in.data);
    ir_diag_fini(&d);
    ir_graph_free(g);
}

/* Rates 12, 24 and 36 on DeepLabV3's 14x14 ASPP map (24: only the centre tap reads the
 * input: one 1x1 conv; 36 here under 1M multiply-adds: kept), rate 6 on 13x11, rate 12 on
 * 9x15 (one row of taps live: 3 convs), stride 2 (rates 12 and 8 on odd maps), two and
 * three images, a symbolic batch, no bias. */
START_TEST(test_taps_split)
{
    static const TapCase cases[] = {
        /* B   C   H   W   O  s  p   d  g  bias  relu   sym    split */
        {1, 72, 14, 14, 56, 1, 12, 12, 1, true, true, false, 9},
        {2, 96, 14, 14, 64, 1, 24, 24, 1, true, true, false, 1},
        {1, 40, 14, 14, 48, 1, 36, 36, 1, true, false, false, 1},
        {2, 64, 13, 11, 40, 1, 6, 6, 1, true, true, false, 9},
        {1, 128, 9, 15, 64, 1, 12, 12, 1, false, true, false, 3},
        {2, 128, 17, 13, 64, 2, 12, 12, 1, true, true, false, 9},
        {3, 72, 14, 14, 56, 1, 12, 12, 1, true, true, true, 9},
        {2, 72, 15, 15, 64, 2, 8, 8, 1, false, false, true, 9},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        run_case(&cases[i]);
}
END_TEST

/* Convs the cost rule keeps: rate 2 on 9x9 (37% of the work on padding), an ordinary 3x3
 * with padding 1 on 14x14, a rate-12 conv of under 1M multiply-adds, two groups. */
START_TEST(test_taps_kept)
{
    static const TapCase cases[] = {
        {1, 64, 9, 9, 40, 1, 2, 2, 1, true, true, false, 1},
        {2, 64, 14, 14, 40, 1, 1, 1, 1, true, true, false, 1},
        {1, 16, 14, 14, 16, 1, 12, 12, 1, true, true, false, 1},
        {1, 64, 14, 14, 48, 1, 12, 12, 2, true, false, false, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        run_case(&cases[i]);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("conv_taps");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_taps_split);
    tcase_add_test(tc, test_taps_kept);
    suite_add_tcase(s, tc);
    SRunner *r = srunner_create(s);
    srunner_run_all(r, CK_NORMAL);
    const int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
