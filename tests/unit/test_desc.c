/* The model descriptor and the libc-only input code built executables share with slimc
 * (runtime/model_desc.h, runtime/model_io.c): the descriptor a graph gives, the binder
 * (a dim c*S binds S, a dim that only checks S must match, every refusal names the input),
 * the f16/bf16/f64 to f32 conversion against ir/'s, the whole-file .npy reader. */
#include "codegen/c/desc.h"
#include "frontend/npy.h"
#include "frontend/slim.h"
#include "ir/types.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* x: f32[N], y: f32[2*N, M] by hand (no graph needed for the binder). */
static const char *const sym_names[] = {"N", "M"};
static const RtIoDesc io[] = {
    {"x", "x", "f32[N]", RT_DT_F32, 1, {{1, 1u}}, NULL, 0, 0},
    {"y", "y", "f32[2*N, M]", RT_DT_F32, 2, {{2, 1u}, {1, 2u}}, NULL, 0, 0},
    {"z", "z", "f32[2*N, M]", RT_DT_F32, 2, {{2, 1u}, {1, 2u}}, NULL, 0, 0},
};
static const RtModelDesc model = {
    "m", "m.slim", 2, 1,         2, sym_names,
    io,  io + 2,   1, {{3u, 4}}, 0, {{{0, 0}, {0, 0}, {0, 0}, 0, 0, NULL, 0, NULL, {0, 0}, NULL}}};

static int bind(int64_t nx, int64_t y0, int64_t y1, size_t ybytes, int64_t *syms, RtBindError *err)
{
    static float data[64];
    int64_t xs[1] = {nx}, ys[2] = {y0, y1};
    RtInputView in[2] = {{RT_DT_F32, 1, xs, data, (size_t)nx * 4},
                         {RT_DT_F32, 2, ys, data, ybytes}};
    return rt_desc_bind(&model, in, syms, err);
}

START_TEST(test_bind)
{
    int64_t syms[RT_MAX_SYMS];
    RtBindError err;
    ck_assert_int_eq(bind(3, 6, 2, 48, syms, &err), 0);
    ck_assert_int_eq(syms[0], 3);
    ck_assert_int_eq(syms[1], 2);
    /* y's 2*N must agree with x's N: a 2-element y is refused, never read past */
    ck_assert_int_eq(bind(3, 2, 1, 8, syms, &err), 1);
    ck_assert_int_eq(err.input, 1);
    ck_assert_str_eq(err.why, "dim 0 differs");
    /* too few bytes for the shape */
    ck_assert_int_eq(bind(3, 6, 2, 40, syms, &err), 1);
    ck_assert_str_eq(err.why, "40 bytes of data for 48 needed");
    /* N from x is 0 */
    ck_assert_int_eq(bind(0, 6, 2, 48, syms, &err), 1);
    ck_assert_int_eq(err.input, 0);
    ck_assert_str_eq(err.why, "dim 0 (0) does not give symbol N a value >= 1");
    /* the arena 4*N*M overflows */
    ck_assert_int_eq(bind(3, 6, (int64_t)1 << 61, 48, syms, &err), 1);
    ck_assert_int_eq(err.input, -1);
    ck_assert_str_eq(err.why, "model 'm': its working memory overflows for these input shapes");
}
END_TEST

/* Every f16 bit pattern converts as ir_f16_value does; bf16 and f64 too. */
START_TEST(test_convert)
{
    uint16_t *h = malloc(65536 * sizeof *h);
    float *f = malloc(65536 * sizeof *f);
    ck_assert(h && f);
    for (uint32_t i = 0; i < 65536; i++)
        h[i] = (uint16_t)i;
    ck_assert(rt_convert_to_f32(RT_DT_F16, h, 65536, f));
    for (uint32_t i = 0; i < 65536; i++) {
        float want = (float)ir_f16_value(h[i]);
        if (isnan(want))
            ck_assert_msg(isnan(f[i]), "f16 0x%04x", i);
        else
            ck_assert_msg(memcmp(&want, &f[i], 4) == 0, "f16 0x%04x: %g, not %g", i, f[i], want);
    }
    uint16_t b = 0x3fc0; /* 1.5 */
    ck_assert(rt_convert_to_f32(RT_DT_BF16, &b, 1, f));
    ck_assert(f[0] == 1.5f);
    double dv[2] = {0.1, -1e300};
    ck_assert(rt_convert_to_f32(RT_DT_F64, dv, 2, f));
    ck_assert(f[0] == (float)0.1 && isinf(f[1]) && f[1] < 0);
    ck_assert(!rt_convert_to_f32(RT_DT_I32, dv, 1, f));
    free(h);
    free(f);
}
END_TEST

/* The descriptor of a parsed model: names, types, dims, the input's place. */
START_TEST(test_graph_desc)
{
    const char *src = "model two(x: f32[N], y: f32[2*N]) -> f32[2*N]\n"
                      "    return y * 2.0 + concat([x, x])\n";
    Diag d;
    ir_diag_init(&d);
    Graph *g = fe_slim_parse("two.slim", src, strlen(src), &d);
    ck_assert_msg(g != NULL, "%s", ir_diag_text(&d));
    RtIoDesc *ios;
    RtModelDesc *m = cg_model_desc(g, &ios);
    ck_assert_int_eq(m->n_inputs, 2);
    ck_assert_int_eq(m->n_outputs, 1);
    ck_assert_str_eq(m->inputs[1].name, "y");
    ck_assert_str_eq(m->inputs[1].type, "f32[2*N]");
    ck_assert_int_eq(m->inputs[1].dims[0].c, 2);
    ck_assert_int_eq(m->inputs[1].dims[0].syms, 1u);
    ck_assert_int_eq(m->inputs[1].line, 1);
    ck_assert_ptr_eq(&ios[2], &m->outputs[0]);
    free(m);
    ir_graph_free(g);
    ir_diag_fini(&d);
}
END_TEST

/* rt_npy_read_file reads what numpy wrote, and refuses with frontend/npy.c's words. */
START_TEST(test_read_file)
{
    char path[4096], msg[512];
    const char *srcdir = getenv("SLIMC_SOURCE_DIR");
    snprintf(path, sizeof path, "%s/tests/data/npy/be_f4_2x3.npy", srcdir ? srcdir : ".");
    RtNpyArray a;
    ck_assert_msg(rt_npy_read_file(path, 0, &a, msg, sizeof msg), "%s", msg);
    NpyArray b;
    Diag d;
    ir_diag_init(&d);
    ck_assert(fe_npy_read(path, &b, &d));
    ck_assert_int_eq(a.dtype, (int)b.dtype);
    ck_assert_int_eq(a.ndim, 2);
    ck_assert_int_eq(a.nbytes, b.nbytes);
    ck_assert(memcmp(a.data, b.data, a.nbytes) == 0);
    free(a.data);
    fe_npy_free(&b);
    ck_assert(!rt_npy_read_file("/", 0, &a, msg, sizeof msg));
    ck_assert_str_eq(msg, "is a directory, not a file");
    ck_assert(!rt_npy_read_file("/proc/self/status", 0, &a, msg, sizeof msg));
    ck_assert_str_eq(msg, "is not a regular file (a /proc or /sys file)");
    ck_assert(a.data == NULL);
    ir_diag_fini(&d);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("desc");
    TCase *tc = tcase_create("desc");
    tcase_add_test(tc, test_bind);
    tcase_add_test(tc, test_convert);
    tcase_add_test(tc, test_graph_desc);
    tcase_add_test(tc, test_read_file);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
