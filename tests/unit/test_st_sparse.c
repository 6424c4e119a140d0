/* The compact sparse form of safetensors weights (frontend/st_sparse.h): encode, write,
 * read and decode give back the very bits (+0.0 dropped; -0.0, NaN, denormals kept) for
 * counts that are and are not multiples of 8; the size threshold at its boundary; the
 * metadata's shape parser on good and malformed text; a name without a compact form is
 * "not present", not an error. The hostile files are in tests/cli/sparse_files.sh. */
#include "frontend/st_sparse.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static float bits_f(uint32_t b)
{
    float f;
    memcpy(&f, &b, sizeof f);
    return f;
}

static uint32_t f_bits(float f)
{
    uint32_t b;
    memcpy(&b, &f, sizeof b);
    return b;
}

/* Writes data[count] (dense shape dims[rank]) compactly as "w" to a temp file, opens it,
 * decodes it into out; returns the decoder's result. */
static bool round_trip(const float *data, const int64_t *dims, int rank, float *out)
{
    size_t count = 1;
    for (int i = 0; i < rank; i++)
        count *= (size_t)dims[i];
    size_t nnz = fe_st_sparse_nnz(data, count);
    uint8_t *mask = malloc((count + 7) / 8 + 1);
    float *values = malloc(nnz * sizeof(float) + 1);
    ck_assert(mask && values);
    fe_st_sparse_encode(data, count, mask, values);
    char meta[256];
    int len = snprintf(meta, sizeof meta, "{\"w\":\"sparse_bitmask:[");
    for (int i = 0; i < rank; i++)
        len += snprintf(meta + len, sizeof meta - (size_t)len, "%s%lld", i ? "," : "",
                        (long long)dims[i]);
    snprintf(meta + len, sizeof meta - (size_t)len, "]\"}");
    int64_t n1 = (int64_t)nnz, m1 = (int64_t)((count + 7) / 8);
    StWriteTensor t[2] = {{"w.values", IR_F32, 1, &n1, values, nnz * sizeof(float)},
                          {"w.mask", IR_U8, 1, &m1, mask, (count + 7) / 8}};
    char path[] = "/tmp/slimc_st_sparse_XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    Diag d;
    ir_diag_init(&d);
    ck_assert(fe_st_write(path, t, 2, meta, &d));
    StFile *f = fe_st_open(path, &d);
    ck_assert_ptr_nonnull(f);
    bool present = false;
    char why[256] = "";
    /* checking alone (out NULL) neither writes nor marks the tensors used */
    ck_assert(fe_st_sparse_decode(f, "w", dims, rank, NULL, &present, why, sizeof why));
    ck_assert(present && !fe_st_find(f, "w.values")->used);
    bool ok = fe_st_sparse_decode(f, "w", dims, rank, out, &present, why, sizeof why);
    ck_assert_msg(ok, "%s", why);
    ck_assert(present);
    ck_assert(fe_st_find(f, "w.values")->used && fe_st_find(f, "w.mask")->used);
    /* a name without a compact form: not present, no message */
    present = true;
    ck_assert(!fe_st_sparse_decode(f, "w.values", dims, rank, out, &present, why, sizeof why));
    ck_assert(!present);
    fe_st_close(f);
    ir_diag_fini(&d);
    unlink(path);
    free(mask);
    free(values);
    return ok;
}

START_TEST(test_bits_kept)
{
    /* 13 elements (not a multiple of 8): +0, -0, NaN, a denormal, infinities */
    const float data[13] = {0.0f,
                            bits_f(0x80000000u),
                            1.5f,
                            0.0f,
                            bits_f(0x7fc00001u),
                            bits_f(1u),
                            0.0f,
                            0.0f,
                            -INFINITY,
                            0.0f,
                            0.0f,
                            3.0f,
                            0.0f};
    ck_assert_uint_eq(fe_st_sparse_nnz(data, 13), 6);
    float out[13];
    memset(out, 0xff, sizeof out);
    int64_t dims[2] = {1, 13};
    ck_assert(round_trip(data, dims, 2, out));
    for (int i = 0; i < 13; i++)
        ck_assert_uint_eq(f_bits(out[i]), f_bits(data[i]));
}
END_TEST

START_TEST(test_sizes)
{
    /* [64, 48] at about 10%: every 10th element */
    enum { N = 64 * 48 };
    static float data[N], out[N];
    for (int i = 0; i < N; i++)
        data[i] = i % 10 == 3 ? (float)i * 0.25f - 100.0f : 0.0f;
    int64_t dims[2] = {64, 48};
    ck_assert(round_trip(data, dims, 2, out));
    ck_assert_mem_eq(out, data, sizeof data);
    ck_assert_uint_eq(fe_st_sparse_bytes(N, fe_st_sparse_nnz(data, N)), 4 * 307 + N / 8);
    ck_assert(fe_st_sparse_pays(data, N));
    /* the threshold: 4 nnz + count/8 + 256 < 4 count; count 10000 -> nnz 9623 pays, 9624 not */
    static float big[10000];
    for (int i = 0; i < 10000; i++)
        big[i] = i < 9623 ? 1.0f : 0.0f;
    ck_assert(fe_st_sparse_pays(big, 10000));
    big[9623] = 1.0f;
    ck_assert(!fe_st_sparse_pays(big, 10000));
    /* nothing pruned: dense */
    for (int i = 0; i < 10000; i++)
        big[i] = 2.0f;
    ck_assert(!fe_st_sparse_pays(big, 10000));
}
END_TEST

START_TEST(test_shape_text)
{
    int64_t d[IR_MAX_RANK];
    int r;
    ck_assert(fe_st_sparse_shape("sparse_bitmask:[512,784]", d, &r));
    ck_assert_int_eq(r, 2);
    ck_assert(d[0] == 512 && d[1] == 784);
    ck_assert(fe_st_sparse_shape("sparse_bitmask:[1,2,3,4,5,6,7,8]", d, &r));
    ck_assert_int_eq(r, 8);
    static const char *const bad[] = {
        "sparse_bitmask:[1,2,3,4,5,6,7,8,9]", /* rank 9 */
        "sparse_bitmask:[1,]",
        "sparse_bitmask:[1 ,2]",
        "sparse_bitmask:[1,2",
        "sparse_bitmask:[1,2]x",
        "sparse_bitmask:[-1]",
        "sparse_bitmask:[99999999999999999999]",
        "sparse_bitmask[5]",
        "sparse_csr:[5]",
        "sparse_bitmask:",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        ck_assert_msg(!fe_st_sparse_shape(bad[i], d, &r), "accepted %s", bad[i]);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("st_sparse");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_bits_kept);
    tcase_add_test(tc, test_sizes);
    tcase_add_test(tc, test_shape_text);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
