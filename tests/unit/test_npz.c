/* The .npz reader (frontend/npz.h): archives numpy wrote (tests/data/npz, made by
 * tests/data/npz/make_npz.py) are read right, entry by entry; a compressed archive is
 * refused naming the file and the entry; and hostile archives (every truncation, every
 * single-byte change, a damaged CRC, a zip64 end record pointing anywhere, duplicate or
 * non-.npy entries) fail cleanly with an error naming the file, never a crash (the
 * sanitizer build runs this). */
#include "frontend/npz.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *read_data(const char *file, size_t *len)
{
    char path[4096];
    const char *src = getenv("SLIMC_SOURCE_DIR");
    snprintf(path, sizeof path, "%s/tests/data/npz/%s", src ? src : ".", file);
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    ck_assert(buf && fread(buf, 1, (size_t)n, f) == (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

/* Parses buf; on failure checks that the one error names "t.npz". */
static bool parse(const void *buf, size_t len, NpzEntry **e, int *n)
{
    Diag d;
    ir_diag_init(&d);
    bool ok = fe_npz_parse("t.npz", buf, len, e, n, &d);
    if (!ok) {
        ck_assert_int_ge(d.n_errors, 1);
        ck_assert_msg(strstr(ir_diag_text(&d), "t.npz"), "the error names no file: %s",
                      ir_diag_text(&d));
        ck_assert_ptr_null(*e);
        ck_assert_int_eq(*n, 0);
    }
    ir_diag_fini(&d);
    return ok;
}

static const char *error_of(const void *buf, size_t len)
{
    static char msg[1024];
    Diag d;
    NpzEntry *e;
    int n;
    ir_diag_init(&d);
    ck_assert(!fe_npz_parse("t.npz", buf, len, &e, &n, &d));
    snprintf(msg, sizeof msg, "%s", ir_diag_text(&d));
    ir_diag_fini(&d);
    return msg;
}

START_TEST(test_numpy_savez)
{
    size_t len;
    char *buf = read_data("two.npz", &len);
    ck_assert(fe_is_zip(buf, len));
    NpzEntry *e;
    int n;
    ck_assert(parse(buf, len, &e, &n));
    ck_assert_int_eq(n, 3);
    ck_assert_str_eq(e[0].name, "ids");
    ck_assert_str_eq(e[1].name, "mask");
    ck_assert_str_eq(e[2].name, "x");
    ck_assert_int_eq(e[0].arr.dtype, IR_I64);
    ck_assert_int_eq(e[0].arr.ndim, 2);
    ck_assert_int_eq(e[0].arr.shape[0], 3);
    ck_assert_int_eq(e[0].arr.shape[1], 4);
    const int64_t *ids = e[0].arr.data;
    const uint8_t *mask = e[1].arr.data;
    const float *x = e[2].arr.data;
    ck_assert_int_eq(e[1].arr.dtype, IR_BOOL);
    ck_assert_int_eq(e[2].arr.dtype, IR_F32);
    ck_assert_int_eq(e[2].arr.ndim, 3);
    for (int i = 0; i < 12; i++) {
        ck_assert_int_eq(ids[i], i * 7 - 5);
        ck_assert_int_eq(mask[i], i % 3 != 0);
        ck_assert(x[i] == (float)i * 0.25f - 1);
    }
    fe_npz_free(e, n);
    free(buf);
}
END_TEST

START_TEST(test_compressed_refused)
{
    size_t len;
    char *buf = read_data("compressed.npz", &len);
    const char *m = error_of(buf, len);
    ck_assert_msg(strstr(m, "t.npz") && strstr(m, "'ids.npy' is compressed") &&
                      strstr(m, "np.savez"),
                  "%s", m);
    free(buf);
}
END_TEST

/* Every prefix of the file fails (the end record is at the end), and names the file. */
START_TEST(test_every_truncation)
{
    size_t len;
    char *buf = read_data("two.npz", &len);
    for (size_t k = 0; k < len; k++) {
        char *cut = malloc(k + 1); /* exactly k bytes: the sanitizer sees any overread */
        memcpy(cut, buf, k);
        NpzEntry *e;
        int n;
        ck_assert_msg(!parse(cut, k, &e, &n), "a %zu-byte prefix parsed", k);
        free(cut);
    }
    free(buf);
}
END_TEST

/* Every byte changed to three values: parses or fails naming the file, never a crash. */
START_TEST(test_every_byte_changed)
{
    size_t len;
    char *buf = read_data("two.npz", &len);
    static const unsigned char vals[] = {0x00, 0xFF, 0x7F};
    int failed = 0;
    for (size_t k = 0; k < len; k++)
        for (size_t v = 0; v < sizeof vals; v++) {
            char *c = malloc(len);
            memcpy(c, buf, len);
            if ((unsigned char)c[k] == vals[v]) {
                free(c);
                continue;
            }
            c[k] = (char)vals[v];
            NpzEntry *e;
            int n;
            if (parse(c, len, &e, &n))
                fe_npz_free(e, n);
            else
                failed++;
            free(c);
        }
    ck_assert_int_gt(failed, (int)len); /* the CRC catches a changed data byte */
    free(buf);
}
END_TEST

/* Finds the first 4-byte little-endian signature sig at or after from. */
static size_t find_sig(const char *buf, size_t len, size_t from, uint32_t sig)
{
    for (size_t i = from; i + 4 <= len; i++)
        if ((uint32_t)(unsigned char)buf[i] == (sig & 0xFF) &&
            (uint32_t)(unsigned char)buf[i + 1] == (sig >> 8 & 0xFF) &&
            (uint32_t)(unsigned char)buf[i + 2] == (sig >> 16 & 0xFF) &&
            (uint32_t)(unsigned char)buf[i + 3] == (sig >> 24))
            return i;
    return len;
}

static void put32(char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (char)(v >> (8 * i));
}

START_TEST(test_hostile_structures)
{
    size_t len;
    char *buf = read_data("two.npz", &len);
    char *c = malloc(len + 64);
    const size_t eocd = find_sig(buf, len, 0, 0x06054b50), cd = find_sig(buf, len, 0, 0x02014b50);
    ck_assert(eocd < len && cd < len);
    /* a data byte changed: the CRC */
    memcpy(c, buf, len);
    c[0x60] ^= 1;
    ck_assert_ptr_nonnull(strstr(error_of(c, len), "fails its CRC-32 check"));
    /* the directory offset past the end */
    memcpy(c, buf, len);
    put32(c + eocd + 16, (uint32_t)len);
    ck_assert_ptr_nonnull(strstr(error_of(c, len), "lies outside the file"));
    /* a claimed entry count the directory cannot hold */
    memcpy(c, buf, len);
    c[eocd + 8] = c[eocd + 10] = 0x70;
    ck_assert_ptr_nonnull(strstr(error_of(c, len), "entries"));
    /* zip64 sentinels with no zip64 record */
    memcpy(c, buf, len);
    put32(c + eocd + 16, 0xFFFFFFFFu);
    ck_assert_ptr_nonnull(strstr(error_of(c, len), "zip64"));
    /* an entry whose name does not end in .npy */
    memcpy(c, buf, len);
    c[cd + 46 + 4] = c[30 + 4] = 'z'; /* "ids.zpy" in the directory and local header */
    ck_assert_ptr_nonnull(strstr(error_of(c, len), "not a .npy array"));
    /* a method other than stored or deflate */
    memcpy(c, buf, len);
    c[cd + 10] = 12; /* bzip2 */
    ck_assert_ptr_nonnull(strstr(error_of(c, len), "zip method 12"));
    /* encrypted */
    memcpy(c, buf, len);
    c[cd + 8] |= 1;
    ck_assert_ptr_nonnull(strstr(error_of(c, len), "encrypted"));
    /* the local header moved off its signature */
    memcpy(c, buf, len);
    put32(c + cd + 42, 7);
    ck_assert_ptr_nonnull(strstr(error_of(c, len), "local header"));
    /* not a zip at all */
    ck_assert(!fe_is_zip("\x93NUMPY", 6));
    ck_assert_ptr_nonnull(strstr(error_of("\x93NUMPY\x01\x00", 8), "too short"));
    free(c);
    free(buf);
}
END_TEST

/* Two entries of one name are refused: two.npz rebuilt with its first directory entry
 * twice (both pointing at the same local header) and the end record counting two. */
START_TEST(test_duplicate_entry)
{
    size_t len;
    char *buf = read_data("two.npz", &len);
    const size_t eocd = find_sig(buf, len, 0, 0x06054b50), cd = find_sig(buf, len, 0, 0x02014b50);
    const size_t cd2 = find_sig(buf, len, cd + 4, 0x02014b50);
    /* directory: entry 1 twice (both point at the same local header and data) */
    const size_t e1 = cd2 - cd;
    char *c = malloc(len + e1);
    memcpy(c, buf, cd);
    memcpy(c + cd, buf + cd, e1);
    memcpy(c + cd + e1, buf + cd, e1);
    const size_t tail = cd + 2 * e1;
    memcpy(c + tail, buf + eocd, len - eocd);
    char *end = c + tail;
    end[8] = end[10] = 2;
    end[9] = end[11] = 0;
    put32(end + 12, (uint32_t)(2 * e1));
    const size_t n = tail + (len - eocd);
    ck_assert_ptr_nonnull(strstr(error_of(c, n), "'ids.npy' appears twice"));
    free(c);
    free(buf);
}
END_TEST

static Suite *npz_suite(void)
{
    Suite *s = suite_create("npz");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_numpy_savez);
    tcase_add_test(tc, test_compressed_refused);
    tcase_add_test(tc, test_every_truncation);
    tcase_add_test(tc, test_every_byte_changed);
    tcase_add_test(tc, test_hostile_structures);
    tcase_add_test(tc, test_duplicate_entry);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(npz_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
