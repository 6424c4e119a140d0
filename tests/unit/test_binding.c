/* The API calls for bindings (api/binding.c): a model from memory (ONNX bytes, .slim text),
 * the kind of each error, inspect as JSON, and the sizes of the public structs. */
#include "slimc/slimc.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char path_buf[2][1024];

static const char *source_path(int slot, const char *rel)
{
    const char *root = getenv("SLIMC_SOURCE_DIR");
    snprintf(path_buf[slot], sizeof path_buf[slot], "%s/%s", root ? root : ".", rel);
    return path_buf[slot];
}

/* The whole file at rel (malloc'd, *len bytes). */
static char *read_all(const char *rel, size_t *len)
{
    FILE *f = fopen(source_path(1, rel), "rb");
    ck_assert_msg(f, "cannot open %s", path_buf[1]);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    ck_assert(buf && fread(buf, 1, (size_t)n, f) == (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

START_TEST(onnx_from_memory)
{
    size_t len;
    char *bytes = read_all("tests/python/data/tiny.onnx", &len);
    SlimcContext *ctx = slimc_context_new();
    SlimcModel *m;
    /* no name: the bytes say ONNX */
    ck_assert_msg(slimc_model_load_memory(ctx, bytes, len, NULL, &m) == SLIMC_OK, "%s",
                  slimc_error(ctx));
    free(bytes); /* the model does not keep the caller's buffer */
    ck_assert_str_eq(slimc_model_input_type(m, 0), "f32[N, 16]");
    ck_assert_str_eq(slimc_model_output_type(m, 0), "f32[N, 4]");
    slimc_model_free(m);
    /* truncated bytes: an error naming the name given, of kind parse */
    bytes = read_all("tests/python/data/tiny.onnx", &len);
    ck_assert(slimc_model_load_memory(ctx, bytes, len / 2, "cut.onnx", &m) == SLIMC_ERROR);
    ck_assert(m == NULL);
    ck_assert_msg(strncmp(slimc_error(ctx), "cut.onnx", 8) == 0, "%s", slimc_error(ctx));
    ck_assert_int_ne(slimc_error_kind(ctx), SLIMC_ERROR_NONE);
    free(bytes);
    slimc_context_free(ctx);
}
END_TEST

START_TEST(slim_text_from_memory)
{
    size_t len;
    char *text = read_all("samples/mlp/mlp.slim", &len);
    SlimcContext *ctx = slimc_context_new();
    SlimcModel *m;
    /* the weights line resolves from the name's folder */
    ck_assert_msg(slimc_model_load_memory(ctx, text, len, source_path(0, "samples/mlp/x.slim"),
                                          &m) == SLIMC_OK,
                  "%s", slimc_error(ctx));
    ck_assert_str_eq(slimc_model_input_type(m, 0), "f32[N, 784]");
    slimc_model_free(m);
    free(text);
    slimc_context_free(ctx);
}
END_TEST

/* The kind slimc_error_kind gives for a load of text (named name) that fails. */
static SlimcErrorKind kind_of(const char *name, const char *text)
{
    SlimcContext *ctx = slimc_context_new();
    SlimcModel *m;
    ck_assert(slimc_model_load_memory(ctx, text, strlen(text), name, &m) == SLIMC_ERROR);
    SlimcErrorKind k = slimc_error_kind(ctx);
    slimc_context_free(ctx);
    return k;
}

START_TEST(error_kinds)
{
    SlimcContext *ctx = slimc_context_new();
    ck_assert_int_eq(slimc_error_kind(ctx), SLIMC_ERROR_NONE);
    SlimcModel *m;
    ck_assert(slimc_model_load(ctx, "/nonexistent/m.slim", &m) == SLIMC_ERROR);
    ck_assert_int_eq(slimc_error_kind(ctx), SLIMC_ERROR_IO);
    slimc_clear_messages(ctx);
    ck_assert_int_eq(slimc_error_kind(ctx), SLIMC_ERROR_NONE);
    slimc_context_free(ctx);

    ck_assert_int_eq(
        kind_of("a.slim", "model m(x: f32[N, 4]) -> f32[N, 4]\n    return relu(x +)\n"),
        SLIMC_ERROR_PARSE);
    ck_assert_int_eq(kind_of("a.slim", "model m(x: f32[N, 4]) -> f32[N, 4]\n    return frob(x)\n"),
                     SLIMC_ERROR_PARSE);
    ck_assert_int_eq(kind_of("a.slim", "model m(x: f32[N, 4]) -> f32[N, 5]\n    return relu(x)\n"),
                     SLIMC_ERROR_SHAPE);
    ck_assert_int_eq(kind_of("a.slim",
                             "model m(x: f32[N, 4]) -> f32[N, 4]\n    weights \"none.st\"\n"
                             "    fc = Linear(4, 4)\n    return fc(x)\n"),
                     SLIMC_ERROR_IO);

    size_t len;
    char *bytes = read_all("tests/data/hostile/redteam/m_opset_huge.onnx", &len);
    ctx = slimc_context_new();
    ck_assert(slimc_model_load_memory(ctx, bytes, len, "huge.onnx", &m) == SLIMC_ERROR);
    ck_assert_int_eq(slimc_error_kind(ctx), SLIMC_ERROR_UNSUPPORTED);
    free(bytes);

    /* a model over the memory limit */
    slimc_set_max_memory(ctx, 1 << 20);
    slimc_clear_messages(ctx);
    ck_assert(slimc_model_load(ctx, source_path(0, "samples/mlp/mlp.slim"), &m) == SLIMC_OK);
    SlimcOptions o;
    slimc_options_default(&o);
    ck_assert(slimc_model_optimize(ctx, m, &o) == SLIMC_ERROR);
    ck_assert_msg(slimc_error_kind(ctx) == SLIMC_ERROR_LIMIT, "%s", slimc_error(ctx));
    slimc_model_free(m);
    slimc_context_free(ctx);

    ck_assert_str_eq(slimc_error_kind_name(SLIMC_ERROR_UNSUPPORTED), "unsupported");
    ck_assert_ptr_null(slimc_error_kind_name((SlimcErrorKind)99));
}
END_TEST

START_TEST(inspect_json)
{
    SlimcContext *ctx = slimc_context_new();
    SlimcModel *m;
    ck_assert(slimc_model_load(ctx, source_path(0, "samples/mlp/mlp.slim"), &m) == SLIMC_OK);
    char *json = NULL;
    ck_assert_msg(slimc_model_inspect_json(ctx, m, SLIMC_INSPECT_SUMMARY | SLIMC_INSPECT_FLOPS,
                                           &json) == SLIMC_OK,
                  "%s", slimc_error(ctx));
    ck_assert_msg(strncmp(json,
                          "{\"name\": \"mlp\", \"inputs\": [{\"name\": \"x\", \"type\": "
                          "\"f32[N, 784]\"}], \"outputs\": [{\"name\": \"output0\"",
                          95) == 0,
                  "%s", json);
    /* texts are JSON strings: newlines escaped, none raw */
    ck_assert_msg(strstr(json, "\"flops\": \"flops: 1338368 per run"), "%s", json);
    ck_assert_msg(strstr(json, "\"summary\": \"model mlp ("), "%s", json);
    ck_assert_msg(strstr(json, "\"flops_per_run\": 1338368, "), "%s", json);
    ck_assert_msg(strstr(json, "\"symbols\": [\"N\"]"), "%s", json);
    ck_assert_ptr_null(strchr(json, '\n'));
    ck_assert(json[strlen(json) - 1] == '}');
    slimc_free(json);
    slimc_model_free(m);
    slimc_context_free(ctx);
}
END_TEST

START_TEST(struct_sizes)
{
    ck_assert_uint_eq(slimc_sizeof("SlimcOptions"), sizeof(SlimcOptions));
    ck_assert_uint_eq(slimc_sizeof("SlimcTensor"), sizeof(SlimcTensor));
    ck_assert_uint_eq(slimc_sizeof("SlimcBenchStats"), sizeof(SlimcBenchStats));
    ck_assert_uint_eq(slimc_sizeof("SlimcBenchOptions"), sizeof(SlimcBenchOptions));
    ck_assert_uint_eq(slimc_sizeof("SlimcTrainOptions"), sizeof(SlimcTrainOptions));
    ck_assert_uint_eq(slimc_sizeof("Nothing"), 0);
    ck_assert_uint_eq(slimc_sizeof(NULL), 0);
}
END_TEST

/* What a progress stream handed over: the pieces, joined with '|'. */
static void collect(void *arg, const char *text, size_t len)
{
    char *buf = arg;
    size_t n = strlen(buf);
    if (n + len + 2 < 256) {
        memcpy(buf + n, text, len);
        buf[n + len] = '|';
        buf[n + len + 1] = 0;
    }
}

START_TEST(progress_stream)
{
    char got[256] = "";
    ck_assert_ptr_null(slimc_progress_stream(NULL, NULL));
    FILE *f = slimc_progress_stream(collect, got);
    ck_assert_ptr_nonnull(f);
    fprintf(f, "epoch 1/2: loss %.1f\n", 0.5);
    ck_assert_str_eq(got, "epoch 1/2: loss 0.5\n|"); /* a line at a time, not at fclose */
    fputs("step 3\rstep 4", f);
    fflush(f);
    fclose(f);
    ck_assert_str_eq(got, "epoch 1/2: loss 0.5\n|step 3\r|step 4|");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("binding");
    TCase *tc = tcase_create("binding");
    tcase_add_test(tc, onnx_from_memory);
    tcase_add_test(tc, slim_text_from_memory);
    tcase_add_test(tc, error_kinds);
    tcase_add_test(tc, inspect_json);
    tcase_add_test(tc, struct_sizes);
    tcase_add_test(tc, progress_stream);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
