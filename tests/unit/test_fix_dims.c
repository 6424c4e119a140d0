/* Input shapes and symbolic dims fixed at load through the C API (slimc_fix_shape,
 * slimc_fix_dim, their text forms, slimc_clear_fixes, slimc_fix_inputs_to) on
 * samples/lenet (x: f32[N, 1, 28, 28]): what a load then sees, and every wrong use as a
 * status with a message. The CLI's --shape/--dim are tests/cli/shapes_fix.sh. */
#include "slimc/slimc.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *lenet(void)
{
    static char buf[1024];
    const char *root = getenv("SLIMC_SOURCE_DIR");
    snprintf(buf, sizeof buf, "%s/samples/lenet/lenet.slim", root ? root : ".");
    return buf;
}

/* Loads lenet on ctx and checks its input and output types. */
static void types_are(SlimcContext *ctx, const char *in, const char *out)
{
    SlimcModel *m = NULL;
    ck_assert_msg(slimc_model_load(ctx, lenet(), &m) == SLIMC_OK, "%s", slimc_error(ctx));
    ck_assert_str_eq(slimc_model_input_type(m, 0), in);
    ck_assert_str_eq(slimc_model_output_type(m, 0), out);
    slimc_model_free(m);
}

/* Loading lenet on ctx fails with a message holding want. */
static void load_fails(SlimcContext *ctx, const char *want)
{
    SlimcModel *m = NULL;
    slimc_clear_messages(ctx);
    ck_assert(slimc_model_load(ctx, lenet(), &m) == SLIMC_ERROR);
    ck_assert_ptr_null(m);
    ck_assert_msg(strstr(slimc_error(ctx), want), "wanted '%s' in: %s", want, slimc_error(ctx));
}

/* A call's status is an error whose message holds want. */
static void fails(SlimcContext *ctx, SlimcStatus st, const char *want)
{
    ck_assert_int_eq(st, SLIMC_ERROR);
    ck_assert_msg(strstr(slimc_error(ctx), want), "wanted '%s' in: %s", want, slimc_error(ctx));
    slimc_clear_messages(ctx);
}

START_TEST(dim_and_shape_fix_the_batch)
{
    SlimcContext *ctx = slimc_context_new();
    types_are(ctx, "f32[N, 1, 28, 28]", "f32[N, 10]");
    ck_assert(slimc_fix_dim(ctx, "N", 4) == SLIMC_OK);
    types_are(ctx, "f32[4, 1, 28, 28]", "f32[4, 10]");
    ck_assert(slimc_fix_dim_arg(ctx, "N=5") == SLIMC_OK); /* replaces N=4 */
    types_are(ctx, "f32[5, 1, 28, 28]", "f32[5, 10]");
    slimc_clear_fixes(ctx);
    types_are(ctx, "f32[N, 1, 28, 28]", "f32[N, 10]");
    const int64_t dims[4] = {2, 1, 28, 28};
    ck_assert(slimc_fix_shape(ctx, "x", 4, dims) == SLIMC_OK);
    types_are(ctx, "f32[2, 1, 28, 28]", "f32[2, 10]");
    slimc_clear_fixes(ctx);
    ck_assert(slimc_fix_shape_arg(ctx, "0=3,1,28,28") == SLIMC_OK); /* by position */
    types_are(ctx, "f32[3, 1, 28, 28]", "f32[3, 10]");
    slimc_context_free(ctx); /* frees the fixes it holds */
}
END_TEST

START_TEST(fix_inputs_to_a_tensor)
{
    SlimcContext *ctx = slimc_context_new();
    SlimcModel *m = NULL;
    ck_assert(slimc_model_load(ctx, lenet(), &m) == SLIMC_OK);
    SlimcTensor t = {.dtype = SLIMC_F32, .ndim = 4, .shape = {7, 1, 28, 28}};
    ck_assert_int_eq(slimc_fix_inputs_to(ctx, m, &t, 1), 1);
    slimc_model_free(m);
    types_are(ctx, "f32[7, 1, 28, 28]", "f32[7, 10]");
    /* a model with static inputs has nothing to fix */
    ck_assert(slimc_model_load(ctx, lenet(), &m) == SLIMC_OK);
    ck_assert_int_eq(slimc_fix_inputs_to(ctx, m, &t, 1), 0);
    slimc_model_free(m);
    slimc_context_free(ctx);
}
END_TEST

START_TEST(bad_values_are_errors)
{
    SlimcContext *ctx = slimc_context_new();
    const int64_t zero[2] = {1, 0}, nine[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    fails(ctx, slimc_fix_dim(ctx, "N", 0), "--dim N: a dim is a whole number from 1 to");
    fails(ctx, slimc_fix_dim(ctx, "N", -3), "not -3");
    fails(ctx, slimc_fix_dim(ctx, "", 3), "--dim: the name is empty");
    fails(ctx, slimc_fix_shape(ctx, "x", 2, zero), "--shape x: a dim is a whole number");
    fails(ctx, slimc_fix_shape(ctx, "x", 9, nine), "--shape x: 9 dims (at most 8)");
    fails(ctx, slimc_fix_shape_arg(ctx, "x=1,,2"), "--shape takes NAME=D0,D1,...");
    fails(ctx, slimc_fix_shape_arg(ctx, "x=1,2,"), "not 'x=1,2,'");
    fails(ctx, slimc_fix_shape_arg(ctx, "=1,2"), "--shape takes");
    fails(ctx, slimc_fix_shape_arg(ctx, "x=1,2,3,4,5,6,7,8,9"), "(too many dims)");
    fails(ctx, slimc_fix_dim_arg(ctx, "N=3x"), "--dim takes SYMBOL=N");
    fails(ctx, slimc_fix_dim_arg(ctx, "N"), "not 'N'");
    fails(ctx, slimc_fix_dim_arg(ctx, "N=99999999999999999999"), "a dim is a whole number");
    /* nothing wrong was kept: the model loads as it is */
    types_are(ctx, "f32[N, 1, 28, 28]", "f32[N, 10]");
    slimc_context_free(ctx);
}
END_TEST

START_TEST(wrong_fixes_fail_the_load)
{
    SlimcContext *ctx = slimc_context_new();
    ck_assert(slimc_fix_dim(ctx, "M", 2) == SLIMC_OK);
    load_fails(ctx, "--dim: no symbolic dim named 'M' (the model's: N)");
    slimc_clear_fixes(ctx);
    ck_assert(slimc_fix_shape_arg(ctx, "image=1,1,28,28") == SLIMC_OK);
    load_fails(ctx, "--shape: no input named 'image' (the inputs: x)");
    slimc_clear_fixes(ctx);
    ck_assert(slimc_fix_shape_arg(ctx, "x=1,784") == SLIMC_OK);
    load_fails(ctx, "--shape x: the input has 4 dims, not 2");
    slimc_clear_fixes(ctx);
    ck_assert(slimc_fix_shape_arg(ctx, "x=1,3,28,28") == SLIMC_OK);
    load_fails(ctx, "--shape x: dim 1 of input 'x' is 1 in the model, not 3");
    slimc_clear_fixes(ctx);
    ck_assert(slimc_fix_shape_arg(ctx, "x=2,1,28,28") == SLIMC_OK);
    ck_assert(slimc_fix_dim(ctx, "N", 3) == SLIMC_OK);
    load_fails(ctx, "--shape x makes the symbolic dim 'N' 2, but --dim N=3");
    slimc_clear_fixes(ctx);
    ck_assert(slimc_fix_shape_arg(ctx, "1=2,1,28,28") == SLIMC_OK);
    load_fails(ctx, "--shape: the model has 1 input (positions 0 to 0), not 1");
    slimc_context_free(ctx);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("fix_dims");
    TCase *tc = tcase_create("api");
    tcase_add_test(tc, dim_and_shape_fix_the_batch);
    tcase_add_test(tc, fix_inputs_to_a_tensor);
    tcase_add_test(tc, bad_values_are_errors);
    tcase_add_test(tc, wrong_fixes_fail_the_load);
    suite_add_tcase(s, tc);
    SRunner *r = srunner_create(s);
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
