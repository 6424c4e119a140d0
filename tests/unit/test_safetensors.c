/* The safetensors reader and writer, and the strict JSON reader under them: a file the
 * reference library wrote (tests/data/ref.safetensors, from tests/data/make_npy.py --st)
 * is read right and the writer reproduces it byte for byte; every dtype and shape
 * round-trips; hostile headers (lying sizes, overlaps, offsets out of range, duplicate
 * names, unknown dtypes and keys, bad JSON, deep nesting, truncation at every length)
 * fail cleanly with errors that name the file and the tensor; writes are atomic. */
#define _XOPEN_SOURCE 700 /* nftw */
#include "frontend/json.h"
#include "frontend/safetensors.h"

#include "support_fs.h"

#include <check.h>
#include <dirent.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- helpers ---- */

static const char *ref_path(void)
{
    static char buf[8192];
    const char *src = getenv("SLIMC_SOURCE_DIR");
    snprintf(buf, sizeof buf, "%s/tests/data/ref.safetensors", src ? src : ".");
    return buf;
}

static size_t esize(DType t)
{
    return (size_t)ir_dtype_bits(t) / 8;
}

static size_t numel(const int64_t *shape, int ndim)
{
    size_t n = 1;
    for (int i = 0; i < ndim; i++)
        n *= (size_t)shape[i];
    return n;
}

/* Element i of make_npy.py's formula arrays (see there), little-endian, at out. */
static void formula(DType t, size_t i, unsigned char *out)
{
    double f = (double)i * 0.5 - 1;
    uint64_t v = (uint64_t)((int64_t)i * 37 - 50);
    static const uint16_t f16[3] = {0xBC00, 0xB800, 0x0000}; /* -1, -0.5, 0 */
    switch (t) {
    case IR_F64: memcpy(out, &f, 8); return;
    case IR_F32: {
        float x = (float)f;
        memcpy(out, &x, 4);
        return;
    }
    case IR_F16:
        ck_assert(i < 3);
        memcpy(out, &f16[i], 2);
        return;
    case IR_U8: out[0] = (unsigned char)((i * 37) % 256); return;
    case IR_BOOL: out[0] = i % 3 == 0; return;
    default: memcpy(out, &v, esize(t)); return;
    }
}

/* A safetensors image: the length of header, header, then data_len bytes of fill. */
static unsigned char *make_st(const char *header, size_t data_len, unsigned char fill, size_t *len)
{
    size_t hlen = strlen(header);
    *len = 8 + hlen + data_len;
    unsigned char *b = malloc(*len);
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)((uint64_t)hlen >> (8 * i));
    memcpy(b + 8, header, hlen);
    memset(b + 8 + hlen, fill, data_len);
    return b;
}

/* Asserts that the image fails with an error naming the file and containing what. */
static void expect_buf_error(const unsigned char *b, size_t len, const char *what)
{
    Diag d;
    ir_diag_init(&d);
    StFile *f = fe_st_parse("bad.safetensors", b, len, &d);
    const char *text = ir_diag_text(&d);
    ck_assert_msg(f == NULL, "parsed although it should fail with '%s'", what);
    ck_assert_msg(strncmp(text, "bad.safetensors: error: ", 24) == 0,
                  "message does not name the file: %s", text);
    ck_assert_msg(strstr(text, what) != NULL, "message '%s' lacks '%s'", text, what);
    ir_diag_fini(&d);
}

static void expect_error(const char *header, size_t data_len, const char *what)
{
    size_t len;
    unsigned char *b = make_st(header, data_len, 0, &len);
    expect_buf_error(b, len, what);
    free(b);
}

static StFile *expect_ok(const char *header, size_t data_len, int n_tensors)
{
    size_t len;
    unsigned char *b = make_st(header, data_len, 0, &len);
    Diag d;
    ir_diag_init(&d);
    StFile *f = fe_st_parse("ok.safetensors", b, len, &d);
    ck_assert_msg(f != NULL, "%s: %s", header, ir_diag_text(&d));
    ck_assert_int_eq(f->n_tensors, n_tensors);
    ir_diag_fini(&d);
    fe_st_close(f);
    free(b);
    return NULL;
}

/* ---- the reference file ---- */

typedef struct RefTensor {
    const char *name;
    DType dtype;
    int ndim;
    int64_t shape[8];
} RefTensor;

static const RefTensor ref_tensors[] = {
    {"empty", IR_F32, 2, {0, 4}}, {"scalar", IR_F32, 0, {0}}, {"w.bf16", IR_BF16, 1, {4}},
    {"w.bool", IR_BOOL, 1, {7}},  {"w.f16", IR_F16, 1, {3}},  {"w.f32", IR_F32, 2, {2, 3}},
    {"w.f64", IR_F64, 2, {2, 3}}, {"w.i16", IR_I16, 1, {3}},  {"w.i32", IR_I32, 1, {3}},
    {"w.i64", IR_I64, 1, {2}},    {"w.i8", IR_I8, 1, {5}},    {"w.u8", IR_U8, 1, {5}},
};
#define N_REF ((int)(sizeof ref_tensors / sizeof ref_tensors[0]))

START_TEST(test_read_reference_file)
{
    Diag d;
    ir_diag_init(&d);
    StFile *f = fe_st_open(ref_path(), &d);
    ck_assert_msg(f != NULL, "%s", ir_diag_text(&d));
    ck_assert_int_eq(f->n_tensors, N_REF);
    for (int i = 0; i < N_REF; i++) {
        const RefTensor *r = &ref_tensors[i];
        StTensor *t = fe_st_find(f, r->name);
        ck_assert_msg(t != NULL, "no %s", r->name);
        ck_assert_ptr_eq(t, &f->tensors[i]); /* sorted by name */
        ck_assert_int_eq(t->dtype, r->dtype);
        ck_assert_int_eq(t->ndim, r->ndim);
        for (int k = 0; k < r->ndim; k++)
            ck_assert_int_eq(t->shape[k], r->shape[k]);
        ck_assert(t->aligned);
        ck_assert(!t->used);
        size_t n = numel(r->shape, r->ndim);
        ck_assert_uint_eq(t->nbytes, n * esize(r->dtype));
        if (r->dtype == IR_BF16) {
            static const uint16_t want[4] = {0x3F80, 0xC020, 0x4049, 0x0000};
            ck_assert(memcmp(t->data, want, 8) == 0);
            continue;
        }
        unsigned char want[64];
        for (size_t k = 0; k < n; k++)
            formula(r->dtype, k, want + k * esize(r->dtype));
        ck_assert_msg(memcmp(t->data, want, t->nbytes) == 0, "%s: data differs", r->name);
    }
    ck_assert_ptr_null(fe_st_find(f, "w"));
    ck_assert_ptr_null(fe_st_find(f, "zzz"));
    ck_assert_ptr_null(fe_st_find(f, ""));
    ck_assert_str_eq(fe_st_metadata_get(f, "format"), "pt");
    ck_assert_str_eq(fe_st_metadata_get(f, "k"), "v\"\xC3\xA9");
    ck_assert_ptr_null(fe_st_metadata_get(f, "nope"));
    ck_assert_ptr_nonnull(f->metadata_json);
    ck_assert_ptr_nonnull(strstr(f->metadata_json, "\"format\":\"pt\""));
    ck_assert_str_eq(f->path, ref_path());
    fe_st_close(f);
    ir_diag_fini(&d);
}
END_TEST

static int by_offset(const void *a, const void *b)
{
    const StTensor *x = *(const StTensor *const *)a, *y = *(const StTensor *const *)b;
    return x->data < y->data ? -1 : x->data > y->data ? 1 : strcmp(x->name, y->name);
}

START_TEST(test_write_matches_reference)
{
    Diag d;
    ir_diag_init(&d);
    StFile *f = fe_st_open(ref_path(), &d);
    ck_assert_msg(f != NULL, "%s", ir_diag_text(&d));
    /* the tensors in the order the reference wrote them (by data offset) */
    StTensor *sorted[N_REF];
    for (int i = 0; i < N_REF; i++)
        sorted[i] = &f->tensors[i];
    qsort(sorted, N_REF, sizeof *sorted, by_offset);
    StWriteTensor w[N_REF];
    for (int i = 0; i < N_REF; i++)
        w[i] = (StWriteTensor){sorted[i]->name,  sorted[i]->dtype, sorted[i]->ndim,
                               sorted[i]->shape, sorted[i]->data,  sorted[i]->nbytes};
    char *dir = fs_make_tmp(), path[256];
    snprintf(path, sizeof path, "%s/w.safetensors", dir);
    ck_assert_msg(fe_st_write(path, w, N_REF, f->metadata_json, &d), "%s", ir_diag_text(&d));
    size_t n1, n2;
    unsigned char *got = fs_slurp(path, &n1), *want = fs_slurp(ref_path(), &n2);
    ck_assert_msg(n1 == n2 && memcmp(got, want, n1) == 0,
                  "slimc's file differs from the reference's:\n%.*s\n%.*s", (int)n1, got, (int)n2,
                  want);
    free(got);
    free(want);
    fe_st_close(f);
    fs_rm_tree(dir);
    ir_diag_fini(&d);
}
END_TEST

/* ---- round trips ---- */

START_TEST(test_round_trip_every_dtype_and_shape)
{
    static const DType types[] = {IR_F64, IR_F32, IR_F16, IR_BF16, IR_I64,
                                  IR_I32, IR_I16, IR_I8,  IR_U8,   IR_BOOL};
    static const struct {
        int ndim;
        int64_t shape[8];
    } shapes[] = {
        {0, {0}},
        {1, {0}},
        {3, {3, 0, 2}},
        {1, {7}},
        {2, {2, 3}},
        {1, {1}},
        {8, {1, 2, 1, 2, 1, 2, 1, 3}},
    };
    enum { NT = sizeof types / sizeof types[0], NS = sizeof shapes / sizeof shapes[0] };
    StWriteTensor w[NT * NS];
    char names[NT * NS][32];
    unsigned char *bufs[NT * NS];
    unsigned seed = 7;
    int n = 0;
    /* interleave sizes, so the layout has to sort them */
    for (size_t s = 0; s < NS; s++)
        for (size_t t = 0; t < NT; t++) {
            size_t nb = numel(shapes[s].shape, shapes[s].ndim) * esize(types[t]);
            bufs[n] = malloc(nb + 1);
            for (size_t i = 0; i < nb; i++) {
                seed = seed * 1103515245u + 12345u;
                bufs[n][i] = (unsigned char)(types[t] == IR_BOOL ? (seed >> 16) & 1 : seed >> 16);
            }
            snprintf(names[n], sizeof names[n], "t%02d.%s", n, ir_dtype_name(types[t]));
            w[n] =
                (StWriteTensor){names[n], types[t], shapes[s].ndim, shapes[s].shape, bufs[n], nb};
            n++;
        }
    char *dir = fs_make_tmp(), path[256];
    snprintf(path, sizeof path, "%s/rt.safetensors", dir);
    Diag d;
    ir_diag_init(&d);
    ck_assert_msg(
        fe_st_write(path, w, n, "{\"a\": \"1\", \"b\\n\": \"\\u00e9\\ud83d\\ude00\"}", &d), "%s",
        ir_diag_text(&d));
    StFile *f = fe_st_open(path, &d);
    ck_assert_msg(f != NULL, "%s", ir_diag_text(&d));
    ck_assert_int_eq(f->n_tensors, n);
    uint64_t hlen;
    memcpy(&hlen, f->map, 8);
    ck_assert_uint_eq(hlen % 8, 0);
    const char *data0 = (const char *)f->map + 8 + hlen;
    size_t total = 0;
    for (int i = 0; i < n; i++) {
        StTensor *t = fe_st_find(f, w[i].name);
        ck_assert_ptr_nonnull(t);
        ck_assert_int_eq(t->dtype, w[i].dtype);
        ck_assert_int_eq(t->ndim, w[i].ndim);
        for (int k = 0; k < t->ndim; k++)
            ck_assert_int_eq(t->shape[k], w[i].shape[k]);
        ck_assert_uint_eq(t->nbytes, w[i].nbytes);
        ck_assert(t->nbytes == 0 || memcmp(t->data, w[i].data, t->nbytes) == 0);
        ck_assert_uint_eq((size_t)((const char *)t->data - data0) % esize(t->dtype), 0);
        ck_assert(t->aligned);
        total += t->nbytes;
    }
    ck_assert_uint_eq(f->map_len, 8 + hlen + total); /* no gaps, as the reference requires */
    ck_assert_str_eq(fe_st_metadata_get(f, "a"), "1");
    ck_assert_str_eq(fe_st_metadata_get(f, "b\n"), "\xC3\xA9\xF0\x9F\x98\x80");
    /* the header lists the tensors in the given order, after the metadata */
    char *h = malloc(hlen + 1);
    memcpy(h, (const char *)f->map + 8, hlen);
    h[hlen] = 0;
    const char *prev = strstr(h, "\"__metadata__\"");
    ck_assert_ptr_eq(prev, h + 1);
    for (int i = 0; i < n; i++) {
        char key[40];
        snprintf(key, sizeof key, "\"%s\"", w[i].name);
        const char *at = strstr(h, key);
        ck_assert(at && at > prev);
        prev = at;
    }
    free(h);
    fe_st_close(f);
    ck_assert_int_eq(fs_count_entries(dir), 1);

    /* no tensors, no metadata */
    ck_assert(fe_st_write(path, NULL, 0, NULL, &d));
    size_t len;
    unsigned char *raw = fs_slurp(path, &len);
    ck_assert_uint_eq(len, 16);
    ck_assert(memcmp(raw + 8, "{}      ", 8) == 0);
    free(raw);
    f = fe_st_open(path, &d);
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(f->n_tensors, 0);
    ck_assert_ptr_null(f->metadata_json);
    ck_assert_ptr_null(fe_st_find(f, "x"));
    fe_st_close(f);
    for (int i = 0; i < n; i++)
        free(bufs[i]);
    fs_rm_tree(dir);
    ir_diag_fini(&d);
}
END_TEST

/* ---- hostile input ---- */

START_TEST(test_truncated_at_every_length)
{
    size_t len;
    unsigned char *full = fs_slurp(ref_path(), &len);
    for (size_t n = 0; n < len; n++) {
        unsigned char *b = malloc(n ? n : 1); /* exact size: the sanitizers see over-reads */
        memcpy(b, full, n);
        Diag d;
        ir_diag_init(&d);
        StFile *f = fe_st_parse("t.safetensors", b, n, &d);
        ck_assert_msg(f == NULL, "a %zu-byte prefix parsed", n);
        ck_assert(strncmp(ir_diag_text(&d), "t.safetensors: error: ", 22) == 0);
        ck_assert_int_ge(d.n_errors, 1);
        ir_diag_fini(&d);
        free(b);
    }
    free(full);
}
END_TEST

#define T(name, dtype, shape, b, e)                                                                \
    "\"" name "\":{\"dtype\":\"" dtype "\",\"shape\":" shape ",\"data_offsets\":[" b "," e "]}"

START_TEST(test_header_length)
{
    size_t len;
    unsigned char *b = make_st("{}", 0, 0, &len);
    expect_buf_error(b, 0, "too short (0 bytes)");
    expect_buf_error(b, 7, "too short (7 bytes)");
    b[0] = 3;
    expect_buf_error(b, len,
                     "header length (its first 8 bytes) runs past the end of the file (2 "
                     "bytes after the length)");
    memset(b, 0xFF, 8);
    expect_buf_error(b, len,
                     "header length (its first 8 bytes) is more than the limit of 100000000 bytes");
    memcpy(b, "\x01\xE1\xF5\x05\0\0\0\0", 8); /* 100000001 */
    expect_buf_error(b, len, "more than the limit");
    free(b);
}
END_TEST

START_TEST(test_lying_tensors)
{
    /* sizes, offsets and overlaps */
    expect_error("{" T("a", "F32", "[3]", "0", "8") "}", 8,
                 "tensor 'a': data_offsets [0, 8] hold 8 bytes, but its shape of F32 needs 12");
    expect_error("{" T("a", "F32", "[2]", "0", "8") "}", 4,
                 "tensor 'a': data_offsets [0, 8] run past the end of the data area (4 bytes)");
    expect_error("{" T("a", "F32", "[0]", "8", "8") "}", 4, "run past the end");
    expect_error("{" T("a", "F32", "[2]", "8", "0") "}", 8,
                 "tensor 'a': data_offsets [8, 0] end before they begin");
    expect_error("{" T("a", "F32", "[2]", "0", "8") "," T("b", "F32", "[2]", "4", "12") "}", 12,
                 "tensors 'a' [0, 8) and 'b' [4, 12) overlap");
    expect_error("{" T("b", "U8", "[4]", "0", "4") "," T("a", "U8", "[4]", "0", "4") "}", 4,
                 "overlap");
    expect_error("{" T("a", "U8", "[8]", "0", "8") "," T("b", "U8", "[1]", "6",
                                                         "7") "," T("c", "U8", "[1]", "7", "8") "}",
                 8, "tensors 'a' [0, 8) and 'c' [7, 8) overlap");
    expect_error("{" T("a", "F32", "[-1]", "0", "0") "}", 0,
                 "tensor 'a': negative value -1 in shape");
    expect_error("{" T("a", "F32", "[1]", "-4", "0") "}", 4, "negative value -4 in data_offsets");
    expect_error("{" T("a", "F32", "[4294967296,4294967296]", "0", "0") "}", 0,
                 "tensor 'a': the shape is too large");
    expect_error("{" T("a", "U8", "[0,9223372036854775807,2]", "0", "0") "}", 0, "too large");
    expect_error("{" T("a", "U8", "[1,1,1,1,1,1,1,1,1]", "0", "1") "}", 1,
                 "tensor 'a': rank 9 is more than slimc supports (8)");
    expect_error("{" T("a", "U8", "[1]", "0", "18446744073709551615") "}", 1, "out of range");
    expect_error("{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1,2]}}", 1,
                 "data_offsets has 3 values, not 2");
    expect_error("{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0]}}", 1,
                 "data_offsets has 1 values");
    /* names, dtypes, keys */
    expect_error("{" T("a", "U8", "[1]", "0", "1") "," T("a", "U8", "[1]", "1", "2") "}", 2,
                 "tensor 'a' appears twice");
    expect_error("{" T("a", "F8_E4M3", "[1]", "0", "1") "}", 1,
                 "tensor 'a': dtype 'F8_E4M3' is not supported");
    expect_error("{" T("a", "f32", "[1]", "0", "4") "}", 4, "dtype 'f32' is not supported");
    expect_error("{" T("a", "U128", "[1]", "0", "16") "}", 16, "dtype 'U128'");
    expect_error("{\"a\":{\"dtype\":5,\"shape\":[1],\"data_offsets\":[0,1]}}", 1,
                 "(tensor 'a'): expected a string, found a number");
    expect_error("{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1],\"extra\":[1,{}]}}",
                 1, "tensor 'a': unknown key 'extra'");
    expect_error("{\"a\":{\"dtype\":\"U8\",\"data_offsets\":[0,1]}}", 1, "tensor 'a': no 'shape'");
    expect_error("{\"a\":{\"dtype\":\"U8\",\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}",
                 1, "key 'dtype' appears twice");
    expect_error("{\"a\":{\"dtype\":\"U8\",\"shape\":1,\"data_offsets\":[0,1]}}", 1,
                 "expected an array, found a number");
    expect_error("{\"a\":{\"dtype\":\"U8\",\"shape\":[1.0],\"data_offsets\":[0,1]}}", 1,
                 "expected an integer, found '1.0'");
    expect_error("{\"a\":{\"dtype\":\"U8\",\"shape\":[1e0],\"data_offsets\":[0,1]}}", 1,
                 "found '1e0'");
    expect_error("{\"a\":{\"dtype\":\"U8\",\"shape\":[true],\"data_offsets\":[0,1]}}", 1,
                 "expected an integer, found a boolean");
    expect_error("{\"a\":[]}", 0, "expected an object, found an array");
    expect_error("{\"a\\u0000b\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1,
                 "the name holds a NUL");
    expect_ok("{" T("a", "BOOL", "[3]", "0", "3") "}", 3, 1); /* zeros are fine */
    {
        size_t len;
        unsigned char *b = make_st("{" T("flags", "BOOL", "[3]", "0", "3") "}", 3, 1, &len);
        b[len - 1] = 7;
        expect_buf_error(b, len, "tensor 'flags': bool element 2 has the byte value 7");
        free(b);
    }
    /* metadata */
    expect_error("{\"__metadata__\":{\"a\":1}}", 0,
                 "\"__metadata__\" value of 'a' must be a string, not a number");
    expect_error("{\"__metadata__\":[]}", 0, "must be an object of strings, not an array");
    expect_error("{\"__metadata__\":{},\"__metadata__\":{}}", 0, "\"__metadata__\" appears twice");
    expect_error("{\"__metadata__\":{\"a\":\"1\",\"a\":\"2\"}}", 0, "key 'a' appears twice");
    expect_error("{\"__metadata__\":{\"a\":\"x\\u0000\"}}", 0, "holds a NUL");
    /* many errors: the first 20 are shown */
    {
        char h[4096] = "{";
        for (int i = 0; i < 30; i++)
            snprintf(h + strlen(h), sizeof h - strlen(h),
                     "%s\"t%d\":{\"dtype\":\"Q\",\"shape\":[],\"data_offsets\":[0,1]}",
                     i ? "," : "", i);
        strcat(h, "}");
        size_t len;
        unsigned char *b = make_st(h, 1, 0, &len);
        Diag d;
        ir_diag_init(&d);
        ck_assert_ptr_null(fe_st_parse("m.safetensors", b, len, &d));
        ck_assert_int_eq(d.n_errors, 20);
        ck_assert_ptr_nonnull(strstr(ir_diag_text(&d), "note: 10 more errors not shown"));
        ir_diag_fini(&d);
        free(b);
    }
}
END_TEST

START_TEST(test_bad_json)
{
    static const struct {
        const char *header, *what;
    } cases[] = {
        {"", "expected an object"},
        {"[]", "must be a JSON object, not an array"},
        {"{", "expected a string key, found the end of the header"},
        {"{\"a\":", "expected an object"},
        {"{'a':1}", "expected a string key, found '''"},
        {"{\"a\" 1}", "expected ':' after a key"},
        {"{\"__metadata__\":{\"a\":\"b\",}}", "expected a string key"},
        {"{\"__metadata__\":{\"a\":\"b\"} x", "expected ',' or '}', found 'x'"},
        {"{} x", "unexpected 'x' after the JSON value"},
        {"{}\x00", "unexpected byte 0x00"},
        {"{\"__metadata__\":{\"a\":\"b\nc\"}}", "control character 0x0A"},
        {"{\"__metadata__\":{\"a\":\"\xC0\x80\"}}", "invalid UTF-8"},
        {"{\"__metadata__\":{\"a\":\"\xED\xA0\x80\"}}", "invalid UTF-8"},
        {"{\"__metadata__\":{\"a\":\"\xF4\x90\x80\x80\"}}", "invalid UTF-8"},
        {"{\"__metadata__\":{\"a\":\"\xE2\x82\"}}", "invalid UTF-8"},
        {"{\"__metadata__\":{\"a\":\"\\ud800\"}}", "lone high surrogate"},
        {"{\"__metadata__\":{\"a\":\"\\udc00\"}}", "lone low surrogate"},
        {"{\"__metadata__\":{\"a\":\"\\ud800\\u0041\"}}", "not followed by a low one"},
        {"{\"__metadata__\":{\"a\":\"\\u12\"}}", "invalid \\u escape"},
        {"{\"__metadata__\":{\"a\":\"\\x\"}}", "invalid escape '\\x'"},
        {"{\"__metadata__\":{\"a\":\"abc", "unterminated string"},
        {"{\"__metadata__\":{\"a\":\"abc\\", "unterminated string"},
        {"{\"a\":{\"dtype\":\"U8\",\"shape\":[01],\"data_offsets\":[0,1]}}", "leading zero"},
        {"{\"a\":{\"dtype\":\"U8\",\"shape\":[-],\"data_offsets\":[0,1]}}",
         "a digit must follow '-'"},
        {"{\"a\":{\"dtype\":\"U8\",\"shape\":[],\"data_offsets\":[0,1],\"x\":1.}}",
         "a digit must follow '.'"},
        {"{\"a\":{\"dtype\":\"U8\",\"shape\":[],\"data_offsets\":[0,1],\"x\":1e}}",
         "a digit must follow the exponent"},
        {"{\"a\":{\"dtype\":\"U8\",\"shape\":[],\"data_offsets\":[0,1],\"x\":tru}}",
         "invalid literal"},
        {"{\"a\":{\"dtype\":\"U8\",\"shape\":[],\"data_offsets\":[0,1],\"x\":[1,]}}",
         "expected a value, found ']'"},
        {"{\"a\":{\"dtype\":\"U8\",\"shape\":[],\"data_offsets\":[0,1],\"x\":[1 2]}}",
         "expected ',' or ']'"},
        {"{\"a\":{\"dtype\":\"U8\",\"shape\":[],\"data_offsets\":[0,1],\"x\":+1}}",
         "expected a value, found '+'"},
        {"{\"a\":{\"dtype\":\"U8\",\"shape\":[],\"data_offsets\":[0,1],\"x\":NaN}}",
         "expected a value, found 'N'"},
        {"{\"a\":{\"dtype\":\"U8\",\"shape\":[99999999999999999999],\"data_offsets\":[0,1]}}",
         "integer 99999999999999999999 out of range"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t len;
        unsigned char *b = make_st(cases[i].header, i == 9 ? 2 : 1, 0, &len);
        if (i == 9) /* the header is "{}" and a NUL byte */
            b[0] = 3;
        expect_buf_error(b, len, cases[i].what);
        free(b);
    }
}
END_TEST

START_TEST(test_deep_nesting)
{
    /* a million brackets: refused at depth 64, with no deep recursion */
    size_t n = 1000000;
    char *h = malloc(n + 64);
    strcpy(h, "{\"__metadata__\":");
    size_t at = strlen(h);
    memset(h + at, '[', n);
    h[at + n] = 0;
    expect_error(h, 0, "nesting deeper than 64 levels");
    /* objects, inside a tensor entry */
    strcpy(h, "{\"a\":{\"dtype\":\"U8\",\"shape\":[],\"data_offsets\":[0,1],\"x\":");
    at = strlen(h);
    for (size_t i = 0; i < 100000; i++)
        memcpy(h + at + 5 * i, "{\"k\":", 5);
    h[at + 500000] = 0;
    expect_error(h, 1, "nesting deeper than 64 levels");
    /* 63 levels inside the header object are fine */
    strcpy(h, "{\"a\":{\"dtype\":\"U8\",\"shape\":[],\"data_offsets\":[0,1],\"x\":");
    at = strlen(h);
    for (int i = 0; i < 62; i++)
        h[at++] = '[';
    for (int i = 0; i < 62; i++)
        h[at++] = ']';
    strcpy(h + at, "}}");
    expect_error(h, 1, "unknown key 'x'"); /* parsed through, then refused for the key */
    free(h);
}
END_TEST

START_TEST(test_lenient_but_safe)
{
    /* what the reference also accepts: whitespace, padding, any key order, empty */
    expect_ok("{}", 0, 0);
    expect_ok("  {\n\"a\" : {\"shape\":[2],\"data_offsets\":[0,2],\"dtype\":\"U8\"}\t}        ", 2,
              1);
    expect_ok("{" T("a", "F32", "[]", "0", "4") "," T("b", "F32", "[0,3]", "4", "4") "}", 4, 2);
    /* more lenient than the reference: gaps and trailing bytes in the data area; empty
     * tensors anywhere inside it */
    expect_ok("{" T("a", "U8", "[1]", "0", "1") "," T("b", "U8", "[1]", "4", "5") "}", 9, 2);
    expect_ok("{" T("a", "U8", "[4]", "0", "4") "," T("b", "U8", "[0]", "2", "2") "}", 4, 2);
    /* unaligned data is marked */
    size_t len;
    unsigned char *b = make_st(
        "{" T("a", "U8", "[1]", "0", "1") "," T("b", "F32", "[1]", "1", "5") "}", 5, 0, &len);
    Diag d;
    ir_diag_init(&d);
    StFile *f = fe_st_parse("u.safetensors", b, len, &d);
    ck_assert_ptr_nonnull(f);
    ck_assert(fe_st_find(f, "a")->aligned);
    ck_assert(!fe_st_find(f, "b")->aligned);
    fe_st_close(f);
    ir_diag_fini(&d);
    free(b);
}
END_TEST

/* ---- the JSON reader on its own ---- */

static bool json_int(const char *text, int64_t *v, char *err, size_t cap)
{
    JsonReader r;
    fe_json_init(&r, text, strlen(text));
    bool ok = fe_json_int(&r, v) && fe_json_finish(&r);
    snprintf(err, cap, "%s", r.err);
    return ok;
}

START_TEST(test_json_reader)
{
    int64_t v;
    char err[160];
    ck_assert(json_int("9223372036854775807", &v, err, sizeof err) && v == INT64_MAX);
    ck_assert(json_int("-9223372036854775808", &v, err, sizeof err) && v == INT64_MIN);
    ck_assert(json_int(" -0 ", &v, err, sizeof err) && v == 0);
    ck_assert(!json_int("9223372036854775808", &v, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "out of range"));
    ck_assert(!json_int("-9223372036854775809", &v, err, sizeof err));
    ck_assert(!json_int("18446744073709551616", &v, err, sizeof err));
    ck_assert(!json_int("1 2", &v, err, sizeof err));

    /* strings: escapes and surrogate pairs decode; bytes length comes back */
    const char *text =
        "[\"a\\\"\\\\\\/\\b\\f\\n\\r\\t\\u0041\\u00e9\\u20ac\\ud83d\\ude00\", \"\\u0000x\"]";
    JsonReader r;
    fe_json_init(&r, text, strlen(text));
    ck_assert(fe_json_begin_array(&r));
    ck_assert(fe_json_next_item(&r));
    char *s;
    size_t n;
    ck_assert(fe_json_string(&r, &s, &n));
    ck_assert_uint_eq(n, 19);
    ck_assert(memcmp(s, "a\"\\/\b\f\n\r\tA\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80", 19) == 0);
    free(s);
    ck_assert(fe_json_next_item(&r));
    ck_assert(fe_json_string(&r, &s, &n));
    ck_assert_uint_eq(n, 2);
    ck_assert(s[0] == 0 && s[1] == 'x');
    free(s);
    ck_assert(!fe_json_next_item(&r));
    ck_assert(!r.failed);
    ck_assert(fe_json_finish(&r));

    /* skip checks everything it skips */
    const char *good =
        "{\"a\": [1, -2.5e+3, 0.1, true, false, null, {}, [], \"\"], \"b\": {\"c\": [[]]}}";
    fe_json_init(&r, good, strlen(good));
    ck_assert(fe_json_skip(&r) && fe_json_finish(&r));
    const char *bad[] = {"{\"a\": [1,]}", "{\"a\" 1}", "[1",         "\"abc", "01",  "[-]",
                         "{,}",           "[,1]",      "{\"a\":1,}", "nul",   "[1]]"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        fe_json_init(&r, bad[i], strlen(bad[i]));
        ck_assert_msg(!(fe_json_skip(&r) && fe_json_finish(&r)), "accepted %s", bad[i]);
        ck_assert(r.failed && r.err[0]);
    }
    /* an error sticks: later calls fail too */
    fe_json_init(&r, "[x]", 3);
    ck_assert(fe_json_begin_array(&r));
    ck_assert(fe_json_next_item(&r));
    ck_assert(!fe_json_skip(&r));
    ck_assert_uint_eq(r.err_pos, 1);
    ck_assert(!fe_json_next_item(&r));
    ck_assert(!fe_json_finish(&r));
}
END_TEST

START_TEST(test_json_writer_and_utf8)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    ck_assert(fe_json_write_string(m, "a\"\\\n\x01\x7F\xC3\xA9", 8));
    ck_assert(!fe_json_write_string(m, "\xFF", 1));
    fclose(m);
    ck_assert_str_eq(buf, "\"a\\\"\\\\\\n\\u0001\x7F\xC3\xA9\"");
    free(buf);

    ck_assert(fe_utf8_valid("", 0));
    ck_assert(fe_utf8_valid("\xF4\x8F\xBF\xBF", 4));
    ck_assert(!fe_utf8_valid("\xF4\x90\x80\x80", 4));
    ck_assert(!fe_utf8_valid("\xC1\xBF", 2));
    ck_assert(!fe_utf8_valid("\xE0\x9F\xBF", 3));
    ck_assert(!fe_utf8_valid("\xF0\x8F\xBF\xBF", 4));
    ck_assert(!fe_utf8_valid("\xED\xBF\xBF", 3));
    ck_assert(!fe_utf8_valid("\xF8\x88\x80\x80\x80", 5));
    ck_assert(!fe_utf8_valid("\x80", 1));
    ck_assert(!fe_utf8_valid("\xC3", 1));

    char q[16];
    ck_assert_str_eq(fe_quote_for_message(q, sizeof q, "ab\x01\xC3\xA9", 5), "ab\\x01\xC3\xA9");
    ck_assert_str_eq(fe_quote_for_message(q, sizeof q, "0123456789abcdefghij", 20),
                     "0123456789ab...");
    ck_assert_str_eq(fe_quote_for_message(q, 8, "\x01\x02\x03", 3), "\\x01...");
}
END_TEST

/* ---- writing ---- */

START_TEST(test_write_errors_leave_nothing)
{
    char *dir = fs_make_tmp(), path[256];
    float x[4] = {1, 2, 3, 4};
    int64_t shape[1] = {4};
    StWriteTensor w = {"x", IR_F32, 1, shape, x, sizeof x};
    Diag d;
    ir_diag_init(&d);

    snprintf(path, sizeof path, "%s/nope/x.safetensors", dir);
    ck_assert(!fe_st_write(path, &w, 1, NULL, &d));
    char prefix[300];
    snprintf(prefix, sizeof prefix, "%s: error: ", path);
    ck_assert_msg(strncmp(ir_diag_text(&d), prefix, strlen(prefix)) == 0, "%s", ir_diag_text(&d));
    ck_assert_int_eq(fs_count_entries(dir), 0);
    ir_diag_clear(&d);

    snprintf(path, sizeof path, "%s/ro", dir);
    ck_assert_int_eq(mkdir(path, 0500), 0);
    snprintf(path, sizeof path, "%s/ro/x.safetensors", dir);
    if (geteuid() != 0) { /* root writes anyway */
        ck_assert(!fe_st_write(path, &w, 1, NULL, &d));
        snprintf(path, sizeof path, "%s/ro", dir);
        ck_assert_int_eq(fs_count_entries(path), 0);
    }
    snprintf(path, sizeof path, "%s/ro", dir);
    fs_rm_tree(path);
    ir_diag_clear(&d);

    /* failing half way (file size limit): the old file stays, no temp file is left */
    snprintf(path, sizeof path, "%s/old.safetensors", dir);
    FILE *f = fopen(path, "w");
    fputs("old", f);
    fclose(f);
    static float big[1024];
    StWriteTensor wb = {"big", IR_F32, 1, (int64_t[]){1024}, big, sizeof big};
    struct rlimit old_lim, lim;
    getrlimit(RLIMIT_FSIZE, &old_lim);
    lim = old_lim;
    lim.rlim_cur = 1000;
    signal(SIGXFSZ, SIG_IGN);
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
    bool ok = fe_st_write(path, &wb, 1, NULL, &d);
    setrlimit(RLIMIT_FSIZE, &old_lim);
    signal(SIGXFSZ, SIG_DFL);
    ck_assert(!ok);
    size_t len;
    unsigned char *old = fs_slurp(path, &len);
    ck_assert(len == 3 && memcmp(old, "old", 3) == 0);
    free(old);
    ck_assert_int_eq(fs_count_entries(dir), 1);
    ir_diag_clear(&d);

    /* tensors the format cannot hold, or that lie: nothing is written */
    snprintf(path, sizeof path, "%s/bad.safetensors", dir);
    StWriteTensor bad[] = {
        {"i4", IR_I4, 1, shape, x, 2},
        {"short", IR_F32, 1, shape, x, 12},
        {"neg", IR_F32, 1, (int64_t[]){-1}, x, 0},
        {"rank", IR_F32, 9, (int64_t[]){1, 1, 1, 1, 1, 1, 1, 1, 1}, x, 4},
        {"__metadata__", IR_F32, 1, shape, x, 16},
        {"bad\xFF", IR_F32, 1, shape, x, 16},
    };
    static const char *const what[] = {"safetensors has no i4 dtype", "needs 16 bytes, 12 given",
                                       "negative or too large",       "invalid shape (rank 9)",
                                       "named \"__metadata__\"",      "not valid UTF-8"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert(!fe_st_write(path, &bad[i], 1, NULL, &d));
        ck_assert_msg(strstr(ir_diag_text(&d), what[i]), "%s", ir_diag_text(&d));
        ir_diag_clear(&d);
    }
    StWriteTensor twice[2] = {w, w};
    ck_assert(!fe_st_write(path, twice, 2, NULL, &d));
    ck_assert_ptr_nonnull(strstr(ir_diag_text(&d), "cannot write tensor 'x' twice"));
    ir_diag_clear(&d);
    static const char *const bad_meta[] = {
        "[]", "{\"a\":1}",           "{\"a\":\"b\"} x",     "{\"a\":\"b\",}",
        "",   "{\"a\":\"\\ud800\"}", "{\"a\\u0000\":\"b\"}"};
    for (size_t i = 0; i < sizeof bad_meta / sizeof bad_meta[0]; i++) {
        ck_assert_msg(!fe_st_write(path, &w, 1, bad_meta[i], &d), "metadata %s accepted",
                      bad_meta[i]);
        ck_assert_ptr_nonnull(
            strstr(ir_diag_text(&d), "the metadata is not a JSON object of strings"));
        ir_diag_clear(&d);
    }
    ck_assert_int_eq(fs_count_entries(dir), 1);
    ir_diag_fini(&d);
    fs_rm_tree(dir);
}
END_TEST

START_TEST(test_open_errors_name_the_file)
{
    char *dir = fs_make_tmp(), path[256];
    Diag d;
    ir_diag_init(&d);
    snprintf(path, sizeof path, "%s/missing.safetensors", dir);
    ck_assert_ptr_null(fe_st_open(path, &d));
    ck_assert_ptr_nonnull(
        strstr(ir_diag_text(&d), "missing.safetensors: error: cannot open: No such file"));
    ir_diag_clear(&d);
    ck_assert_ptr_null(fe_st_open(dir, &d));
    ck_assert_ptr_nonnull(strstr(ir_diag_text(&d), "is a directory"));
    ir_diag_clear(&d);
    snprintf(path, sizeof path, "%s/empty.safetensors", dir);
    fclose(fopen(path, "w"));
    ck_assert_ptr_null(fe_st_open(path, &d));
    ck_assert_ptr_nonnull(
        strstr(ir_diag_text(&d), "empty.safetensors: error: file is too short (0 bytes)"));
    ir_diag_fini(&d);
    fs_rm_tree(dir);
}
END_TEST

static Suite *st_suite(void)
{
    Suite *s = suite_create("safetensors");
    TCase *tc = tcase_create("safetensors");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_read_reference_file);
    tcase_add_test(tc, test_write_matches_reference);
    tcase_add_test(tc, test_round_trip_every_dtype_and_shape);
    tcase_add_test(tc, test_truncated_at_every_length);
    tcase_add_test(tc, test_header_length);
    tcase_add_test(tc, test_lying_tensors);
    tcase_add_test(tc, test_bad_json);
    tcase_add_test(tc, test_deep_nesting);
    tcase_add_test(tc, test_lenient_but_safe);
    tcase_add_test(tc, test_write_errors_leave_nothing);
    tcase_add_test(tc, test_open_errors_name_the_file);
    suite_add_tcase(s, tc);
    TCase *tj = tcase_create("json");
    tcase_set_timeout(tj, 120);
    tcase_add_test(tj, test_json_reader);
    tcase_add_test(tj, test_json_writer_and_utf8);
    suite_add_tcase(s, tj);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(st_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
