/* The quantize pass end to end on the digits LeNet (samples/lenet): int8 keeps its
 * accuracy, and bad quantize arguments are errors that name the place (moved out of
 * test_quant.c, which holds the kernels' and the rewrites' exactness tests). */
#include "slimc/slimc.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the pass and lenet end to end ---- */

static char path_buf[4][1024];

static const char *sample(int slot, const char *file)
{
    const char *root = getenv("SLIMC_SOURCE_DIR");
    snprintf(path_buf[slot], sizeof path_buf[slot], "%s/samples/lenet/%s", root ? root : ".", file);
    return path_buf[slot];
}

/* Top-1 accuracy (percent) of lenet compiled with passes over test_x / test_y, with every
 * conv quantized on any CPU: the profile pinned has no small-K int8 penalty (without it a
 * CPU without VNNI keeps conv1 float, which changes the accuracy compared). */
static double lenet_accuracy(const char *passes)
{
    SlimcContext *ctx = slimc_context_new();
    SlimcModel *m;
    SlimcExec *e;
    SlimcOptions o;
    slimc_options_default(&o);
    o.passes = passes;
    char profile[1024];
    const char *root = getenv("SLIMC_SOURCE_DIR");
    snprintf(profile, sizeof profile, "%s/tests/data/profile_int8_fast.json", root ? root : ".");
    o.device_profile = profile;
    SlimcTensor x, y, out;
    ck_assert_msg(slimc_model_load(ctx, sample(0, "lenet.slim"), &m) == SLIMC_OK, "%s",
                  slimc_error(ctx));
    ck_assert_msg(slimc_compile(ctx, m, &o, &e) == SLIMC_OK, "%s", slimc_error(ctx));
    ck_assert_msg(slimc_npy_load(ctx, sample(1, "test_x.npy"), &x) == SLIMC_OK, "%s",
                  slimc_error(ctx));
    ck_assert_msg(slimc_npy_load(ctx, sample(1, "test_y.npy"), &y) == SLIMC_OK, "%s",
                  slimc_error(ctx));
    ck_assert_msg(slimc_exec_run(ctx, e, &x, 1, &out, 1) == SLIMC_OK, "%s", slimc_error(ctx));
    const int64_t n = x.shape[0];
    const float *o10 = out.data;
    const int64_t *lab = y.data;
    int64_t right = 0;
    for (int64_t i = 0; i < n; i++) {
        int best = 0;
        for (int c = 1; c < 10; c++)
            if (o10[i * 10 + c] > o10[i * 10 + best])
                best = c;
        right += best == lab[i];
    }
    slimc_tensor_free(&x);
    slimc_tensor_free(&y);
    slimc_tensor_free(&out);
    slimc_exec_free(e);
    slimc_model_free(m);
    slimc_context_free(ctx);
    return 100.0 * (double)right / (double)n;
}

START_TEST(lenet_int8_accuracy)
{
    char passes[2048];
    double fp32 = lenet_accuracy("fold,bn_fold,dce,layout,fuse,memplan");
    static const char *const methods[] = {"minmax", "percentile(99.99)", "entropy", "mse"};
    for (int i = 0; i < 4; i++) {
        snprintf(passes, sizeof passes,
                 "fold,bn_fold,quantize(int8, calibrate=\"%s\", method=%s),dce,layout,fuse,memplan",
                 sample(2, "calib.npy"), methods[i]);
        double q = lenet_accuracy(passes);
        fprintf(stderr, "lenet top-1: fp32 %.2f%%, int8 (%s) %.2f%%\n", fp32, methods[i], q);
        ck_assert_msg(fp32 >= 97.5, "fp32 accuracy %.2f", fp32);
        ck_assert_msg(q >= fp32 - 0.5, "int8 (%s) accuracy %.2f vs fp32 %.2f", methods[i], q, fp32);
    }
}
END_TEST

static bool run_pass(const char *pipeline, char *msg, size_t size)
{
    SlimcContext *ctx = slimc_context_new();
    SlimcModel *m;
    SlimcOptions o;
    slimc_options_default(&o);
    o.passes = pipeline;
    ck_assert(slimc_model_load(ctx, sample(0, "lenet.slim"), &m) == SLIMC_OK);
    bool ok = slimc_model_optimize(ctx, m, &o) == SLIMC_OK;
    snprintf(msg, size, "%s", ok ? "" : slimc_error(ctx));
    slimc_model_free(m);
    slimc_context_free(ctx);
    return ok;
}

START_TEST(pass_errors)
{
    char msg[1024], p[2048];
    ck_assert(!run_pass("quantize(int8)", msg, sizeof msg));
    ck_assert_msg(strstr(msg, "calibrat"), "%s", msg);
    ck_assert(!run_pass("quantize(int8, calibrate=\"no/such.npy\")", msg, sizeof msg));
    ck_assert_msg(strstr(msg, "no/such.npy"), "%s", msg);
    snprintf(p, sizeof p, "quantize(int8, calibrate=\"%s\")", sample(1, "test_y.npy"));
    ck_assert(!run_pass(p, msg, sizeof msg));
    ck_assert_msg(strstr(msg, "test_y.npy: input 'x' is f32, but its calibration data is i64"),
                  "%s", msg);
    snprintf(p, sizeof p, "quantize(int8, calibrate=\"%s\", method=kl)", sample(1, "calib.npy"));
    ck_assert(!run_pass(p, msg, sizeof msg));
    ck_assert_msg(strstr(msg, "unknown method"), "%s", msg);
    snprintf(p, sizeof p, "quantize(int4, calibrate=\"%s\")", sample(1, "calib.npy"));
    ck_assert(!run_pass(p, msg, sizeof msg));
    ck_assert_msg(strstr(msg, "go with static int8"), "%s", msg);
    snprintf(p, sizeof p, "fold,quantize(int8, calibrate=\"%s\", per_channel=false),memplan",
             sample(1, "calib.npy"));
    ck_assert_msg(run_pass(p, msg, sizeof msg), "%s", msg);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("quant_lenet");
    TCase *j = tcase_create("lenet");
    tcase_set_timeout(j, 300);
    tcase_add_test(j, lenet_int8_accuracy);
    tcase_add_test(j, pass_errors);
    suite_add_tcase(s, j);
    SRunner *r = srunner_create(s);
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? 1 : 0;
}
