/* The public API end to end: every sample against PyTorch's expected.npy (committed,
 * made by samples/make_samples.py), symbolic batch sizes, reentrancy, and errors that come
 * back as a status and a message, never as an exit. */
#include "slimc/slimc.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char path_buf[4][1024];

static const char *sample(int slot, const char *name, const char *file)
{
    const char *root = getenv("SLIMC_SOURCE_DIR");
    snprintf(path_buf[slot], sizeof path_buf[slot], "%s/samples/%s/%s", root ? root : ".", name,
             file);
    return path_buf[slot];
}

/* max|a - b| / max|b| over the whole tensor. */
static double rel_err(const SlimcTensor *a, const SlimcTensor *b)
{
    ck_assert_int_eq(a->dtype, SLIMC_F32);
    ck_assert_int_eq(b->dtype, SLIMC_F32);
    ck_assert_uint_eq(a->nbytes, b->nbytes);
    size_t n = a->nbytes / 4;
    double max_b = 0, diff = 0;
    for (size_t i = 0; i < n; i++) {
        double x = ((const float *)a->data)[i], y = ((const float *)b->data)[i];
        max_b = fmax(max_b, fabs(y));
        diff = fmax(diff, fabs(x - y));
        ck_assert(!isnan(x));
    }
    return diff / max_b;
}

static void check_sample(const char *name, int threads)
{
    char model[64];
    snprintf(model, sizeof model, "%s.slim", name);
    SlimcContext *ctx = slimc_context_new();
    SlimcModel *m;
    SlimcExec *e;
    SlimcOptions o;
    slimc_options_default(&o);
    o.threads = threads;
    ck_assert_msg(slimc_model_load(ctx, sample(0, name, model), &m) == SLIMC_OK, "%s",
                  slimc_error(ctx));
    ck_assert_msg(slimc_compile(ctx, m, &o, &e) == SLIMC_OK, "%s", slimc_error(ctx));
    SlimcTensor in, want, got;
    ck_assert(slimc_npy_load(ctx, sample(1, name, "input.npy"), &in) == SLIMC_OK);
    ck_assert(slimc_npy_load(ctx, sample(2, name, "expected.npy"), &want) == SLIMC_OK);
    ck_assert_msg(slimc_exec_run(ctx, e, &in, 1, &got, 1) == SLIMC_OK, "%s", slimc_error(ctx));
    ck_assert_int_eq(got.ndim, want.ndim);
    for (int i = 0; i < got.ndim; i++)
        ck_assert_int_eq(got.shape[i], want.shape[i]);
    double err = rel_err(&got, &want);
    ck_assert_msg(err <= 1e-4, "%s: relative error %g", name, err);

    /* The batch is symbolic: the first row alone gives the first row of the result. */
    SlimcTensor one = in, got1;
    one.shape[0] = 1;
    one.nbytes = in.nbytes / (size_t)in.shape[0];
    ck_assert_msg(slimc_exec_run(ctx, e, &one, 1, &got1, 1) == SLIMC_OK, "%s", slimc_error(ctx));
    size_t row = got.nbytes / (size_t)got.shape[0];
    ck_assert_uint_eq(got1.nbytes, row);
    for (size_t i = 0; i < row / 4; i++)
        ck_assert_float_eq_tol(((float *)got1.data)[i], ((float *)got.data)[i],
                               1e-5f * (1 + fabsf(((float *)got.data)[i])));
    slimc_tensor_free(&got1);
    slimc_tensor_free(&got);
    slimc_tensor_free(&in);
    slimc_tensor_free(&want);
    slimc_exec_free(e);
    slimc_model_free(m);
    slimc_context_free(ctx);
}

START_TEST(lenet_1)
{
    check_sample("lenet", 1);
}
END_TEST
START_TEST(lenet_2)
{
    check_sample("lenet", 2);
}
END_TEST
START_TEST(mlp)
{
    check_sample("mlp", 1);
}
END_TEST
START_TEST(resnet_tiny)
{
    check_sample("resnet_tiny", 2);
}
END_TEST
START_TEST(textcls)
{
    check_sample("textcls", 1);
}
END_TEST

START_TEST(errors_are_statuses)
{
    SlimcContext *ctx = slimc_context_new();
    SlimcModel *m = (SlimcModel *)1;
    ck_assert(slimc_model_load(ctx, "does/not/exist.slim", &m) == SLIMC_ERROR);
    ck_assert_ptr_null(m);
    ck_assert(strstr(slimc_error(ctx), "does/not/exist.slim") != NULL);
    slimc_clear_messages(ctx);
    SlimcTensor t;
    ck_assert(slimc_npy_load(ctx, "no.npy", &t) == SLIMC_ERROR);
    ck_assert(strstr(slimc_error(ctx), "no.npy") != NULL);
    slimc_context_free(ctx);
}
END_TEST

START_TEST(wrong_input_is_an_error)
{
    SlimcContext *ctx = slimc_context_new();
    SlimcModel *m;
    SlimcExec *e;
    ck_assert(slimc_model_load(ctx, sample(0, "lenet", "lenet.slim"), &m) == SLIMC_OK);
    ck_assert(slimc_compile(ctx, m, NULL, &e) == SLIMC_OK);
    float data[28 * 28] = {0};
    SlimcTensor in = {SLIMC_F32, 3, {1, 28, 28}, data, sizeof data}, out;
    ck_assert(slimc_exec_run(ctx, e, &in, 1, &out, 1) == SLIMC_ERROR);
    ck_assert_msg(strstr(slimc_error(ctx), "'x'") != NULL, "%s", slimc_error(ctx));
    slimc_clear_messages(ctx);
    /* f64 input is converted with a note, and gives the same answer as f32. */
    double d64[28 * 28] = {0};
    SlimcTensor in64 = {SLIMC_F64, 4, {1, 1, 28, 28}, d64, sizeof d64};
    ck_assert_msg(slimc_exec_run(ctx, e, &in64, 1, &out, 1) == SLIMC_OK, "%s", slimc_error(ctx));
    ck_assert(strstr(slimc_messages(ctx), "converted") != NULL);
    slimc_tensor_free(&out);
    slimc_exec_free(e);
    slimc_model_free(m);
    slimc_context_free(ctx);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("api");
    TCase *tc = tcase_create("samples");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, lenet_1);
    tcase_add_test(tc, lenet_2);
    tcase_add_test(tc, mlp);
    tcase_add_test(tc, resnet_tiny);
    tcase_add_test(tc, textcls);
    tcase_add_test(tc, errors_are_statuses);
    tcase_add_test(tc, wrong_input_is_an_error);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
