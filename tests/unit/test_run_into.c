/* slimc_exec_run_into (api/run.c): runs into the caller's output buffers. Its outputs are
 * those of slimc_exec_run bit for bit (the mlp sample) and of a plain C loop (a tiny model
 * of two inputs and two outputs, on the CPU and the emulated GPU); a buffer of the wrong
 * dtype, rank, shape or size is an error naming the output, with nothing written. */
#include "slimc/slimc.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* x, y: f32[N, 3] -> s = relu(x) * 2 + y, d = x - y */
static const char tiny_src[] =
    "model tiny(x: f32[N, 3], y: f32[N, 3]) -> (s: f32[N, 3], d: f32[N, 3])\n"
    "    return relu(x) * 2.0 + y, x - y\n";

static SlimcExec *compile_text(SlimcContext *ctx, const char *name, const char *text, size_t len,
                               SlimcModel **m)
{
    ck_assert_msg(slimc_model_load_memory(ctx, text, len, name, m) == SLIMC_OK, "%s",
                  slimc_error(ctx));
    SlimcOptions o;
    slimc_options_default(&o);
    o.threads = 1;
    SlimcExec *e;
    ck_assert_msg(slimc_compile(ctx, *m, &o, &e) == SLIMC_OK, "%s", slimc_error(ctx));
    return e;
}

static SlimcTensor f32_tensor(float *data, int64_t rows, int64_t cols)
{
    SlimcTensor t = {.dtype = SLIMC_F32, .ndim = 2, .data = data};
    t.shape[0] = rows;
    t.shape[1] = cols;
    t.nbytes = (size_t)(rows * cols) * sizeof(float);
    return t;
}

START_TEST(tiny_against_c_loop)
{
    SlimcContext *ctx = slimc_context_new();
    SlimcModel *m;
    SlimcExec *e = compile_text(ctx, "tiny.slim", tiny_src, strlen(tiny_src), &m);
    enum { N = 5 };
    float x[N * 3], y[N * 3], s[N * 3], d[N * 3];
    for (int i = 0; i < N * 3; i++) {
        x[i] = (float)(i % 7) - 3.25f;
        y[i] = 0.5f * (float)i - 1.0f;
    }
    for (int round = 0; round < 2; round++) { /* the second run reuses the arena */
        memset(s, 0xff, sizeof s);
        memset(d, 0xff, sizeof d);
        SlimcTensor in[2] = {f32_tensor(x, N, 3), f32_tensor(y, N, 3)};
        SlimcTensor out[2] = {f32_tensor(s, N, 3), f32_tensor(d, N, 3)};
        ck_assert_msg(slimc_exec_run_into(ctx, e, in, 2, out, 2) == SLIMC_OK, "%s",
                      slimc_error(ctx));
        for (int i = 0; i < N * 3; i++) {
            float want_s = (x[i] > 0 ? x[i] : 0.0f) * 2.0f + y[i], want_d = x[i] - y[i];
            ck_assert_msg(s[i] == want_s && d[i] == want_d,
                          "element %d: s %g (want %g), d %g (want %g)", i, s[i], want_s, d[i],
                          want_d);
        }
        for (int i = 0; i < N * 3; i++)
            x[i] = -x[i];
    }
    slimc_exec_free(e);
    slimc_model_free(m);
    slimc_context_free(ctx);
}
END_TEST

/* The mlp sample at batch b: run_into gives slimc_exec_run's bytes. */
static void mlp_same_as_run(SlimcContext *ctx, SlimcExec *e, int64_t b)
{
    float *x = malloc((size_t)b * 784 * sizeof(float));
    ck_assert(x);
    for (int64_t i = 0; i < b * 784; i++)
        x[i] = sinf((float)i * 0.01f);
    SlimcTensor in = f32_tensor(x, b, 784), ref;
    ck_assert_msg(slimc_exec_run(ctx, e, &in, 1, &ref, 1) == SLIMC_OK, "%s", slimc_error(ctx));
    float *y = malloc((size_t)b * 10 * sizeof(float));
    ck_assert(y);
    SlimcTensor out = f32_tensor(y, b, 10);
    ck_assert_msg(slimc_exec_run_into(ctx, e, &in, 1, &out, 1) == SLIMC_OK, "%s", slimc_error(ctx));
    ck_assert_int_eq(ref.nbytes, out.nbytes);
    ck_assert_msg(memcmp(ref.data, y, ref.nbytes) == 0, "batch %lld: run_into differs from run",
                  (long long)b);
    float sum = 0;
    for (int64_t i = 0; i < b * 10; i++)
        sum += fabsf(y[i]);
    ck_assert_msg(sum > 0, "batch %lld: all outputs are zero", (long long)b);
    slimc_tensor_free(&ref);
    free(y);
    free(x);
}

START_TEST(mlp_against_run)
{
    const char *root = getenv("SLIMC_SOURCE_DIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/samples/mlp/mlp.slim", root ? root : ".");
    SlimcContext *ctx = slimc_context_new();
    SlimcModel *m;
    ck_assert_msg(slimc_model_load(ctx, path, &m) == SLIMC_OK, "%s", slimc_error(ctx));
    SlimcOptions o;
    slimc_options_default(&o);
    o.threads = 1;
    SlimcExec *e;
    ck_assert_msg(slimc_compile(ctx, m, &o, &e) == SLIMC_OK, "%s", slimc_error(ctx));
    mlp_same_as_run(ctx, e, 1);
    mlp_same_as_run(ctx, e, 3);
    mlp_same_as_run(ctx, e, 1);
    slimc_exec_free(e);
    slimc_model_free(m);
    slimc_context_free(ctx);
}
END_TEST

/* A run_into with out[which] changed by change must fail naming that output, with want in
 * the message, and leave both buffers as they were. */
static void expect_refused(SlimcContext *ctx, SlimcExec *e, int which,
                           void (*change)(SlimcTensor *), const char *want)
{
    enum { N = 2 };
    float x[N * 3] = {1, 2, 3, 4, 5, 6}, y[N * 3] = {0}, s[N * 3 + 3], d[N * 3 + 3];
    memset(s, 0x7f, sizeof s);
    memset(d, 0x7f, sizeof d);
    SlimcTensor in[2] = {f32_tensor(x, N, 3), f32_tensor(y, N, 3)};
    SlimcTensor out[2] = {f32_tensor(s, N, 3), f32_tensor(d, N, 3)};
    change(&out[which]);
    ck_assert(slimc_exec_run_into(ctx, e, in, 2, out, 2) == SLIMC_ERROR);
    const char *msg = slimc_error(ctx);
    const char *name = which ? "output 'd'" : "output 's'";
    ck_assert_msg(strstr(msg, name) && strstr(msg, want), "%s: got: %s", want, msg);
    for (size_t i = 0; i < sizeof s; i++)
        ck_assert(((unsigned char *)s)[i] == 0x7f && ((unsigned char *)d)[i] == 0x7f);
}

static void to_f64(SlimcTensor *t)
{
    t->dtype = SLIMC_F64;
}
static void to_rank1(SlimcTensor *t)
{
    t->ndim = 1;
    t->shape[0] = 6;
}
static void to_batch3(SlimcTensor *t)
{
    t->shape[0] = 3;
    t->nbytes = 9 * sizeof(float);
}
static void too_small(SlimcTensor *t)
{
    t->nbytes -= 1;
}
static void no_data(SlimcTensor *t)
{
    t->data = NULL;
}

START_TEST(wrong_buffers)
{
    SlimcContext *ctx = slimc_context_new();
    SlimcModel *m;
    SlimcExec *e = compile_text(ctx, "tiny.slim", tiny_src, strlen(tiny_src), &m);
    expect_refused(ctx, e, 0, to_f64, "f64[2, 3], but these inputs give f32[2, 3]");
    expect_refused(ctx, e, 1, to_rank1, "f32[6], but these inputs give f32[2, 3]");
    expect_refused(ctx, e, 1, to_batch3, "f32[3, 3], but these inputs give f32[2, 3]");
    expect_refused(ctx, e, 0, too_small, "holds 23 bytes, f32[2, 3] needs 24");
    expect_refused(ctx, e, 1, no_data, "data is NULL");
    /* a count that does not match is refused as slimc_exec_run refuses it */
    float x[6] = {0}, s[6];
    SlimcTensor in[2] = {f32_tensor(x, 2, 3), f32_tensor(x, 2, 3)}, out = f32_tensor(s, 2, 3);
    ck_assert(slimc_exec_run_into(ctx, e, in, 2, &out, 1) == SLIMC_ERROR);
    ck_assert_msg(strstr(slimc_error(ctx), "gives 2 outputs (called with 2 and 1)"), "%s",
                  slimc_error(ctx));
    /* an input of the wrong shape names the input */
    SlimcTensor outs[2] = {f32_tensor(s, 2, 3), f32_tensor(s, 2, 3)};
    in[1].shape[1] = 2;
    in[1].nbytes = 4 * sizeof(float);
    ck_assert(slimc_exec_run_into(ctx, e, in, 2, outs, 2) == SLIMC_ERROR);
    ck_assert_msg(strstr(slimc_error(ctx), "input 'y'"), "%s", slimc_error(ctx));
    slimc_exec_free(e);
    slimc_model_free(m);
    slimc_context_free(ctx);
}
END_TEST

/* On the (emulated) GPU the outputs are copied into the buffers: the same values as the
 * CPU's C loop, and a wrong buffer is refused there too. */
START_TEST(emulated_gpu)
{
    SlimcContext *ctx = slimc_context_new();
    SlimcModel *m;
    ck_assert_msg(slimc_model_load_memory(ctx, tiny_src, strlen(tiny_src), "tiny.slim", &m) ==
                      SLIMC_OK,
                  "%s", slimc_error(ctx));
    SlimcOptions o;
    slimc_options_default(&o);
    o.device = SLIMC_DEVICE_CUDA;
    o.cuda_emulate = true;
    SlimcExec *e;
    ck_assert_msg(slimc_compile(ctx, m, &o, &e) == SLIMC_OK, "%s", slimc_error(ctx));
    ck_assert_msg(strstr(slimc_exec_device(e), "emulated"), "%s", slimc_exec_device(e));
    enum { N = 3 };
    float x[N * 3], y[N * 3], s[N * 3], d[N * 3];
    for (int i = 0; i < N * 3; i++) {
        x[i] = (float)(i % 5) - 2.5f;
        y[i] = 0.25f * (float)i;
    }
    SlimcTensor in[2] = {f32_tensor(x, N, 3), f32_tensor(y, N, 3)};
    SlimcTensor out[2] = {f32_tensor(s, N, 3), f32_tensor(d, N, 3)};
    ck_assert_msg(slimc_exec_run_into(ctx, e, in, 2, out, 2) == SLIMC_OK, "%s", slimc_error(ctx));
    for (int i = 0; i < N * 3; i++)
        ck_assert(s[i] == (x[i] > 0 ? x[i] : 0.0f) * 2.0f + y[i] && d[i] == x[i] - y[i]);
    out[1].shape[0] = 2;
    out[1].nbytes = 6 * sizeof(float);
    ck_assert(slimc_exec_run_into(ctx, e, in, 2, out, 2) == SLIMC_ERROR);
    ck_assert_msg(strstr(slimc_error(ctx), "output 'd': the buffer given is f32[2, 3]"), "%s",
                  slimc_error(ctx));
    slimc_exec_free(e);
    slimc_model_free(m);
    slimc_context_free(ctx);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("run_into");
    TCase *tc = tcase_create("run_into");
    tcase_add_test(tc, tiny_against_c_loop);
    tcase_add_test(tc, mlp_against_run);
    tcase_add_test(tc, wrong_buffers);
    tcase_add_test(tc, emulated_gpu);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
