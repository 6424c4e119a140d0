/* Weight-only int8 / int4 (group scales), fp16 / bf16 weights and dynamic int8 for linear
 * (docs/quantization.md): the quantize pass checked against the formats' definitions
 * computed here with plain loops (group scale max|w| / qmax, round half to even, the
 * IEEE half conversion of the compiler's _Float16), then wlinear and dqlinear through the
 * emitter and the JIT against the reference evaluator (dqlinear bit for bit), and the
 * pass's errors. */
#include "ir/eval.h"
#include "passes/pass.h"
#include "support_cg.h"
#include "support_cuda.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define D(...) ((const int64_t[]){__VA_ARGS__})

static unsigned seed = 777;

/* x [M, K] -> linear(w [O, K], b [O]) -> y; w and b kept in *w_out / *b_out. */
static Graph *linear_graph(int64_t M, int64_t K, int64_t O, bool bias, RtTensor *x,
                           const float **w_out, const float **b_out)
{
    Graph *g = ir_graph_new("lin");
    ValueId in[3];
    in[0] = sup_input(g, "x", 2, D(M, K), x, &seed);
    in[1] = sup_const_rand(g, "w", 2, D(O, K), &seed);
    in[2] = bias ? sup_const_rand(g, "b", 1, D(O), &seed) : IR_NONE;
    NodeId n = ir_node_new(g, IR_OP_LINEAR, "fc", (SrcLoc){0}, in, bias ? 3 : 2, 1);
    ir_output_add(g, g->nodes[n].outputs[0]);
    *w_out = g->values[in[1]].data;
    *b_out = bias ? g->values[in[2]].data : NULL;
    Diag d;
    ir_diag_init(&d);
    ck_assert_msg(ir_infer_shapes(g, &d), "%s", ir_diag_text(&d));
    ir_diag_fini(&d);
    return g;
}

/* w as the format stores it and gives it back (the definition, not slimc's code). */
static float dequant_ref(const char *fmt, const float *w, int64_t K, int64_t group, int64_t o,
                         int64_t k)
{
    if (!strcmp(fmt, "fp16"))
        return __extension__((float)(_Float16)w[o * K + k]); /* IEEE binary16 */
    if (!strcmp(fmt, "bf16")) {
        uint32_t b;
        memcpy(&b, &w[o * K + k], sizeof b);
        b = (b + 0x7fffu + ((b >> 16) & 1u)) & 0xffff0000u;
        float f;
        memcpy(&f, &b, sizeof f);
        return f;
    }
    const float qmax = !strcmp(fmt, "int4") ? 7.0f : 127.0f;
    const float *row = w + o * K + k / group * group;
    float m = 0;
    for (int64_t i = 0; i < group; i++)
        m = fmaxf(m, fabsf(row[i]));
    const float s = m > 0 ? m / qmax : 1.0f;
    float q = nearbyintf(w[o * K + k] / s);
    q = fminf(fmaxf(q, -qmax), qmax);
    return q * s;
}

/* An activation as bf16 compute sees it: round to nearest even, denormals to zero. */
static double bf16_act_ref(float v)
{
    uint32_t b;
    memcpy(&b, &v, sizeof b);
    b = (b & 0x7f800000u) == 0 ? (b & 0x80000000u) : (b + 0x7fffu + ((b >> 16) & 1u)) & 0xffff0000u;
    float f;
    memcpy(&f, &b, sizeof f);
    return f;
}

/* The pass on a linear, then the reference evaluator, against y = x deq(w)^T + b
 * computed here (bf16 weights compute in bf16: x rounded to bf16 too); then the same graph
 * through the JIT against the evaluator. */
static void check_mode(const char *pass, const char *fmt, int64_t group, int64_t M, int64_t K,
                       int64_t O, bool bias, OpKind want)
{
    RtTensor x;
    const float *w, *b;
    Graph *g = linear_graph(M, K, O, bias, &x, &w, &b);
    if (sup_test_device_cuda()) /* placed first, as the API does: layout leaves CUDA alone */
        ir_graph_place_all(g, IR_DEVICE_CUDA);
    Diag d;
    ir_diag_init(&d);
    PassRunOptions ro = {.verify = true};
    ck_assert_msg(pass_pipeline_run(g, pass, (SrcLoc){0}, &ro, &d), "%s: %s", pass,
                  ir_diag_text(&d));
    int found = 0;
    for (int i = 0; i < g->n_nodes; i++)
        found += !g->nodes[i].dead && g->nodes[i].op == want;
    ck_assert_msg(found == 1, "%s: no %s node", pass, ir_ops[want].name);
    void *out[1];
    const void *ins[1] = {x.data};
    int64_t syms[IR_MAX_SYMS] = {0};
    ck_assert_msg(ir_eval_graph(g, ins, out, syms, &d), "%s", ir_diag_text(&d));
    const float *xv = x.data, *y = out[0];
    double err = 0, mx = 0;
    for (int64_t m = 0; m < M; m++)
        for (int64_t o = 0; o < O; o++) {
            double want_v = b ? b[o] : 0;
            for (int64_t k = 0; k < K; k++)
                want_v += (fmt && !strcmp(fmt, "bf16") ? bf16_act_ref(xv[m * K + k])
                                                       : (double)xv[m * K + k]) *
                          (fmt ? dequant_ref(fmt, w, K, group, o, k) : (double)w[o * K + k]);
            err = fmax(err, fabs(y[m * O + o] - want_v));
            mx = fmax(mx, fabs(want_v));
        }
    /* weight-only: exact up to f32 rounding of the sums; dynamic: the activations' own
     * 8-bit rounding, about 1/255 of their range per term */
    const double tol = fmt ? 1e-5 : 2e-2;
    ck_assert_msg(err <= tol * (mx > 0 ? mx : 1), "%s M=%lld K=%lld O=%lld: max error %g of %g",
                  pass, (long long)M, (long long)K, (long long)O, err, mx);
    free(out[0]);
    ir_diag_fini(&d);
    /* kernels: through the emitter and the JIT at 1 and 3 threads */
    char what[256];
    snprintf(what, sizeof what, "%s M=%lld K=%lld O=%lld", pass, (long long)M, (long long)K,
             (long long)O);
    sup_run_check(g, &x, 1, want == IR_OP_DQLINEAR ? 0.0 : 1e-5, what);
}

START_TEST(weight_only_formats)
{
    static const int64_t shapes[][3] = {{1, 64, 300}, {7, 96, 33}, {64, 128, 70}};
    for (int i = 0; i < 3; i++) {
        const int64_t M = shapes[i][0], K = shapes[i][1], O = shapes[i][2];
        check_mode("quantize(int8, weight_only)", "int8", K, M, K, O, true, IR_OP_WLINEAR);
        check_mode("quantize(int8, weight_only, group=32)", "int8", 32, M, K, O, false,
                   IR_OP_WLINEAR);
        check_mode("quantize(int4)", "int4", 32, M, K, O, true, IR_OP_WLINEAR);
        check_mode("quantize(int4, group=16)", "int4", 16, M, K, O, true, IR_OP_WLINEAR);
        check_mode("quantize(fp16)", "fp16", 0, M, K, O, true, IR_OP_WLINEAR);
        check_mode("quantize(bf16)", "bf16", 0, M, K, O, false, IR_OP_WLINEAR);
        /* packed in bf16 pairs by layout: AMX-BF16 (32-row items) or vdpbf16ps */
        check_mode("quantize(bf16),layout", "bf16", 0, M, K, O, true, IR_OP_WLINEAR);
        check_mode("quantize(int8, dynamic)", NULL, 0, M, K, O, true, IR_OP_DQLINEAR);
        /* the weight packed by layout: AMX tiles (32-row items) or VNNI */
        check_mode("quantize(int8, dynamic),layout", NULL, 0, M, K, O, true, IR_OP_DQLINEAR);
    }
    /* a k tail and a partial row tile */
    check_mode("quantize(int8, dynamic),layout", NULL, 0, 20, 70, 40, true, IR_OP_DQLINEAR);
    /* a body's GEMM call takes up to 4 items (128 rows): two whole calls and a partial one,
     * items split between 3 threads, O off 16 */
    check_mode("quantize(int8, dynamic),layout", NULL, 0, 301, 70, 37, true, IR_OP_DQLINEAR);
    /* the decoded blocks (more than 8 rows): a k block of 64 and a tail of 6, 16-row
     * transposes with 1 row left over, groups that straddle 16-wide pieces */
    check_mode("quantize(int8, weight_only)", "int8", 70, 20, 70, 33, true, IR_OP_WLINEAR);
    check_mode("quantize(int8, weight_only, group=14)", "int8", 14, 20, 70, 33, false,
               IR_OP_WLINEAR);
    check_mode("quantize(int4, group=14)", "int4", 14, 20, 70, 33, true, IR_OP_WLINEAR);
    check_mode("quantize(fp16)", "fp16", 0, 20, 70, 33, true, IR_OP_WLINEAR);
    check_mode("quantize(bf16)", "bf16", 0, 20, 70, 33, true, IR_OP_WLINEAR);
    check_mode("quantize(bf16),layout", "bf16", 0, 20, 70, 40, true, IR_OP_WLINEAR);
}
END_TEST

/* int4 with group 32: 0.5 byte per weight + one f32 scale per 32: 6.4x under f32. */
START_TEST(sizes)
{
    RtTensor x;
    const float *w, *b;
    Graph *g = linear_graph(2, 256, 64, true, &x, &w, &b);
    size_t f32 = 256 * 64 * 4;
    Diag d;
    ir_diag_init(&d);
    PassRunOptions ro = {.verify = true};
    ck_assert(pass_pipeline_run(g, "quantize(int4, group=32),dce", (SrcLoc){0}, &ro, &d));
    size_t bytes = 0;
    for (int i = 0; i < g->n_nodes; i++)
        if (!g->nodes[i].dead && g->nodes[i].op == IR_OP_WLINEAR)
            bytes = g->values[g->nodes[i].inputs[1]].data_bytes +
                    g->values[g->nodes[i].inputs[2]].data_bytes;
    ck_assert_msg((double)f32 / (double)bytes >= 6.0, "int4 g32: %zu vs %zu bytes", bytes, f32);
    free(x.data);
    ir_graph_free(g);
    ir_diag_fini(&d);
}
END_TEST

static void expect_error(const char *pass, int64_t K, const char *text)
{
    RtTensor x;
    const float *w, *b;
    Graph *g = linear_graph(2, K, 8, true, &x, &w, &b);
    Diag d;
    ir_diag_init(&d);
    PassRunOptions ro = {.verify = true};
    ck_assert_msg(!pass_pipeline_run(g, pass, (SrcLoc){0}, &ro, &d), "%s passed", pass);
    ck_assert_msg(strstr(ir_diag_text(&d), text), "%s: %s", pass, ir_diag_text(&d));
    free(x.data);
    ir_graph_free(g);
    ir_diag_fini(&d);
}

START_TEST(errors)
{
    expect_error("quantize(int4, group=48)", 100, "does not divide the 100 input channels");
    expect_error("quantize(int4, group=3)", 99, "does not divide");
    expect_error("quantize(int4, dynamic)", 64, "dynamic is int8 only");
    expect_error("quantize(fp16, group=32)", 64, "group goes with int8 / int4");
    expect_error("quantize(int8, weight_only, group=0.5)", 64, "whole number");
    expect_error("quantize(int3)", 64, "unknown argument 'int3'");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("lowbit");
    TCase *t = tcase_create("lowbit");
    tcase_set_timeout(t, 300);
    tcase_add_test(t, weight_only_formats);
    tcase_add_test(t, sizes);
    tcase_add_test(t, errors);
    suite_add_tcase(s, t);
    SRunner *r = srunner_create(s);
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? 1 : 0;
}
