/* The .npy reader and writer: files numpy wrote (tests/data/npy, made by
 * tests/data/make_npy.py) are read right, the writer's output is byte for byte what
 * np.save writes, every dtype and shape round-trips, and hostile or truncated headers
 * fail cleanly with an error that names the file; writes are atomic. */
#define _XOPEN_SOURCE 700 /* nftw */
#include "frontend/npy.h"

#include "support_fs.h"

#include <check.h>
#include <dirent.h>
#include <ftw.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- helpers ---- */

static const char *data_dir(void)
{
    static char buf[4096];
    const char *src = getenv("SLIMC_SOURCE_DIR");
    snprintf(buf, sizeof buf, "%s/tests/data/npy", src ? src : ".");
    return buf;
}

static char *data_path(const char *file)
{
    static char buf[8192];
    snprintf(buf, sizeof buf, "%s/%s", data_dir(), file);
    return buf;
}

static size_t esize(DType t)
{
    return (size_t)ir_dtype_bits(t) / 8;
}

/* IEEE half bits of v, for the values of the tests (multiples of 0.5, |v| < 1024). */
static uint16_t half_bits(double v)
{
    if (v == 0)
        return signbit(v) ? 0x8000 : 0;
    uint16_t sign = v < 0 ? 0x8000 : 0;
    int e;
    double m = frexp(fabs(v), &e); /* |v| = m * 2^e, m in [0.5, 1) */
    return (uint16_t)(sign | (uint16_t)((e - 1 + 15) << 10) | (uint16_t)((m * 2 - 1) * 1024));
}

/* Element i of the arrays make_npy.py writes, as little-endian bytes at out. */
static void formula(DType t, size_t i, unsigned char *out)
{
    double f = (double)i * 0.5 - 1;
    uint64_t v = (uint64_t)((int64_t)i * 37 - 50);
    switch (t) {
    case IR_F64: memcpy(out, &f, 8); return;
    case IR_F32: {
        float x = (float)f;
        memcpy(out, &x, 4);
        return;
    }
    case IR_F16: {
        uint16_t h = half_bits(f);
        memcpy(out, &h, 2);
        return;
    }
    case IR_U8: out[0] = (unsigned char)((i * 37) % 256); return;
    case IR_BOOL: out[0] = i % 3 == 0; return;
    default:
        memcpy(out, &v, esize(t)); /* little-endian: the low bytes wrap as numpy does */
        return;
    }
}

static size_t numel(const int64_t *shape, int ndim)
{
    size_t n = 1;
    for (int i = 0; i < ndim; i++)
        n *= (size_t)shape[i];
    return n;
}

static unsigned char *formula_data(DType t, const int64_t *shape, int ndim, size_t *nbytes)
{
    size_t n = numel(shape, ndim), es = esize(t);
    unsigned char *buf = malloc(n * es + 1);
    for (size_t i = 0; i < n; i++)
        formula(t, i, buf + i * es);
    *nbytes = n * es;
    return buf;
}

static void expect_array(const NpyArray *a, const char *file, DType t, int ndim,
                         const int64_t *shape)
{
    ck_assert_msg(a->dtype == t, "%s: dtype %s, want %s", file, ir_dtype_name(a->dtype),
                  ir_dtype_name(t));
    ck_assert_int_eq(a->ndim, ndim);
    for (int i = 0; i < ndim; i++)
        ck_assert_int_eq(a->shape[i], shape[i]);
    size_t nbytes;
    unsigned char *want = formula_data(t, shape, ndim, &nbytes);
    ck_assert_uint_eq(a->nbytes, nbytes);
    ck_assert_msg(nbytes == 0 || memcmp(a->data, want, nbytes) == 0, "%s: data differs", file);
    free(want);
}

/* Asserts that parsing buf fails with an error naming name and containing what. */
static void expect_parse_error(const void *buf, size_t len, unsigned flags, const char *what)
{
    Diag d;
    ir_diag_init(&d);
    NpyArray a;
    memset(&a, 0x55, sizeof a);
    bool ok = fe_npy_parse_ex("bad.npy", buf, len, flags, &a, &d);
    const char *text = ir_diag_text(&d);
    ck_assert_msg(!ok, "parsed although it should fail with '%s'", what);
    ck_assert_ptr_null(a.data);
    ck_assert_int_eq(a.ndim, 0);
    ck_assert_msg(strncmp(text, "bad.npy: error: ", 16) == 0, "message does not name the file: %s",
                  text);
    ck_assert_msg(strstr(text, what) != NULL, "message '%s' lacks '%s'", text, what);
    ir_diag_fini(&d);
}

/* A .npy image: the preamble of version major, then header and data_len bytes of data. */
static unsigned char *make_npy(int major, const char *header, size_t data_len, unsigned char fill,
                               size_t *len)
{
    size_t pre = major == 1 ? 10 : 12, hlen = strlen(header);
    *len = pre + hlen + data_len;
    unsigned char *b = malloc(*len);
    memcpy(b, "\x93NUMPY", 6);
    b[6] = (unsigned char)major;
    b[7] = 0;
    b[8] = (unsigned char)hlen;
    b[9] = (unsigned char)(hlen >> 8);
    if (major > 1)
        b[10] = b[11] = 0;
    memcpy(b + pre, header, hlen);
    memset(b + pre + hlen, fill, data_len);
    return b;
}

static void expect_header_error(int major, const char *header, size_t data_len, const char *what)
{
    size_t len;
    unsigned char *b = make_npy(major, header, data_len, 0, &len);
    expect_parse_error(b, len, 0, what);
    free(b);
}

static void expect_header_ok(int major, const char *header, size_t data_len, DType t, int ndim)
{
    size_t len;
    unsigned char *b = make_npy(major, header, data_len, 0, &len);
    Diag d;
    ir_diag_init(&d);
    NpyArray a;
    ck_assert_msg(fe_npy_parse("ok.npy", b, len, &a, &d), "%s: %s", header, ir_diag_text(&d));
    ck_assert_int_eq(a.dtype, t);
    ck_assert_int_eq(a.ndim, ndim);
    fe_npy_free(&a);
    ir_diag_fini(&d);
    free(b);
}

/* ---- files numpy wrote ---- */

typedef struct RefFile {
    const char *file;
    DType dtype;
    int ndim;
    int64_t shape[8];
} RefFile;

/* Written by np.save (version 1.0, little-endian): read right, and written identically. */
static const RefFile le_files[] = {
    {"f8_2x3.npy", IR_F64, 2, {2, 3}},
    {"f4_2x3.npy", IR_F32, 2, {2, 3}},
    {"f2_4.npy", IR_F16, 1, {4}},
    {"i8_3.npy", IR_I64, 1, {3}},
    {"i4_2x2.npy", IR_I32, 2, {2, 2}},
    {"i2_5.npy", IR_I16, 1, {5}},
    {"i1_5.npy", IR_I8, 1, {5}},
    {"u1_5.npy", IR_U8, 1, {5}},
    {"b1_7.npy", IR_BOOL, 1, {7}},
    {"scalar_f8.npy", IR_F64, 0, {0}},
    {"empty_f4_0x3.npy", IR_F32, 2, {0, 3}},
    {"rank8_i2.npy", IR_I16, 8, {1, 2, 1, 2, 1, 2, 1, 3}},
};

/* Read only: big-endian and later format versions. */
static const RefFile other_files[] = {
    {"be_f8_2x3.npy", IR_F64, 2, {2, 3}}, {"be_f4_2x3.npy", IR_F32, 2, {2, 3}},
    {"be_f2_2x3.npy", IR_F16, 2, {2, 3}}, {"be_i8_2x3.npy", IR_I64, 2, {2, 3}},
    {"be_i4_2x3.npy", IR_I32, 2, {2, 3}}, {"be_i2_2x3.npy", IR_I16, 2, {2, 3}},
    {"v2_f4_3.npy", IR_F32, 1, {3}},      {"v3_f4_3.npy", IR_F32, 1, {3}},
};

static void read_ref(const RefFile *r)
{
    Diag d;
    ir_diag_init(&d);
    NpyArray a;
    ck_assert_msg(fe_npy_read(data_path(r->file), &a, &d), "%s", ir_diag_text(&d));
    expect_array(&a, r->file, r->dtype, r->ndim, r->shape);
    fe_npy_free(&a);
    ck_assert_ptr_null(a.data);
    ir_diag_fini(&d);
}

START_TEST(test_read_numpy_files)
{
    for (size_t i = 0; i < sizeof le_files / sizeof le_files[0]; i++)
        read_ref(&le_files[i]);
}
END_TEST

START_TEST(test_read_big_endian_and_versions)
{
    for (size_t i = 0; i < sizeof other_files / sizeof other_files[0]; i++)
        read_ref(&other_files[i]);
}
END_TEST

START_TEST(test_write_matches_numpy)
{
    char *dir = fs_make_tmp(), path[256];
    for (size_t i = 0; i < sizeof le_files / sizeof le_files[0]; i++) {
        const RefFile *r = &le_files[i];
        size_t nbytes, want_len, got_len;
        unsigned char *data = formula_data(r->dtype, r->shape, r->ndim, &nbytes);
        snprintf(path, sizeof path, "%s/%s", dir, r->file);
        Diag d;
        ir_diag_init(&d);
        ck_assert_msg(fe_npy_write(path, r->dtype, r->ndim, r->shape, data, &d), "%s",
                      ir_diag_text(&d));
        ir_diag_fini(&d);
        unsigned char *want = fs_slurp(data_path(r->file), &want_len),
                      *got = fs_slurp(path, &got_len);
        ck_assert_msg(got_len == want_len && memcmp(got, want, got_len) == 0,
                      "%s: slimc's bytes differ from np.save's", r->file);
        free(want);
        free(got);
        free(data);
    }
    ck_assert_int_eq(fs_count_entries(dir), (int)(sizeof le_files / sizeof le_files[0]));
    fs_rm_tree(dir);
}
END_TEST

START_TEST(test_bf16_convention)
{
    static const uint16_t want[4] = {0x3F80, 0xC020, 0x4049, 0x0000}; /* 1, -2.5, 3.140625, 0 */
    Diag d;
    ir_diag_init(&d);
    NpyArray a;
    /* '<u2' is u16 unless the caller expects bf16 */
    ck_assert_msg(fe_npy_read(data_path("bf16_4.npy"), &a, &d), "%s", ir_diag_text(&d));
    ck_assert_int_eq(a.dtype, IR_U16);
    ck_assert(memcmp(a.data, want, sizeof want) == 0);
    fe_npy_free(&a);
    ck_assert_msg(fe_npy_read_ex(data_path("bf16_4.npy"), FE_NPY_U2_AS_BF16, &a, &d), "%s",
                  ir_diag_text(&d));
    ck_assert_int_eq(a.dtype, IR_BF16);
    ck_assert_int_eq(a.ndim, 1);
    ck_assert_int_eq(a.shape[0], 4);
    ck_assert(memcmp(a.data, want, sizeof want) == 0);
    fe_npy_free(&a);

    /* and slimc writes bf16 as the same '<u2' bytes */
    char *dir = fs_make_tmp(), path[256];
    snprintf(path, sizeof path, "%s/b.npy", dir);
    ck_assert(fe_npy_write(path, IR_BF16, 1, (int64_t[]){4}, want, &d));
    size_t n1, n2;
    unsigned char *x = fs_slurp(path, &n1), *y = fs_slurp(data_path("bf16_4.npy"), &n2);
    ck_assert(n1 == n2 && memcmp(x, y, n1) == 0);
    free(x);
    free(y);
    fs_rm_tree(dir);
    ir_diag_fini(&d);
}
END_TEST

START_TEST(test_refused_numpy_files)
{
    static const struct {
        const char *file, *what;
    } cases[] = {
        {"fortran_f4_2x3.npy", "Fortran order"},
        {"struct.npy", "structured dtypes"},
        {"object.npy", "dtype '|O' (Python objects) is not supported"},
        {"unicode.npy", "dtype '<U2' (unicode strings)"},
        {"complex.npy", "dtype '<c8' (complex numbers)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        Diag d;
        ir_diag_init(&d);
        NpyArray a;
        const char *path = data_path(cases[i].file);
        ck_assert_msg(!fe_npy_read(path, &a, &d), "%s was read", cases[i].file);
        ck_assert_ptr_null(a.data);
        char prefix[8300];
        snprintf(prefix, sizeof prefix, "%s: error: ", path);
        const char *text = ir_diag_text(&d);
        ck_assert_msg(strncmp(text, prefix, strlen(prefix)) == 0, "%s", text);
        ck_assert_msg(strstr(text, cases[i].what), "%s: '%s' lacks '%s'", cases[i].file, text,
                      cases[i].what);
        ir_diag_fini(&d);
    }
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
        {8, {1, 2, 1, 2, 1, 2, 1, 3}},
        {8, {2, 2, 2, 2, 2, 2, 2, 2}},
    };
    char *dir = fs_make_tmp(), path[256];
    snprintf(path, sizeof path, "%s/x.npy", dir);
    unsigned seed = 1;
    for (size_t t = 0; t < sizeof types / sizeof types[0]; t++)
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
            size_t n = numel(shapes[s].shape, shapes[s].ndim) * esize(types[t]);
            unsigned char *data = malloc(n + 1);
            for (size_t i = 0; i < n; i++) {
                seed = seed * 1103515245u + 12345u;
                data[i] = (unsigned char)(types[t] == IR_BOOL ? (seed >> 16) & 1 : seed >> 16);
            }
            Diag d;
            ir_diag_init(&d);
            ck_assert_msg(fe_npy_write(path, types[t], shapes[s].ndim, shapes[s].shape, data, &d),
                          "%s", ir_diag_text(&d));
            NpyArray a;
            ck_assert_msg(fe_npy_read_ex(path, FE_NPY_U2_AS_BF16, &a, &d), "%s", ir_diag_text(&d));
            ck_assert_int_eq(a.dtype, types[t]);
            ck_assert_int_eq(a.ndim, shapes[s].ndim);
            for (int i = 0; i < a.ndim; i++)
                ck_assert_int_eq(a.shape[i], shapes[s].shape[i]);
            ck_assert_uint_eq(a.nbytes, n);
            ck_assert(n == 0 || memcmp(a.data, data, n) == 0);
            /* the header is padded so the data starts at a multiple of 64 */
            size_t len;
            unsigned char *raw = fs_slurp(path, &len);
            ck_assert_uint_eq((len - n) % 64, 0);
            ck_assert_int_eq(raw[len - n - 1], '\n');
            free(raw);
            fe_npy_free(&a);
            free(data);
            ir_diag_fini(&d);
        }
    ck_assert_int_eq(fs_count_entries(dir), 1); /* no temp files left */
    fs_rm_tree(dir);
}
END_TEST

/* ---- hostile input ---- */

START_TEST(test_truncated_at_every_length)
{
    size_t len;
    unsigned char *full = fs_slurp(data_path("be_f4_2x3.npy"), &len);
    for (size_t n = 0; n < len; n++) {
        /* an exact-size copy, so that the sanitizers see any read past it */
        unsigned char *b = malloc(n ? n : 1);
        memcpy(b, full, n);
        Diag d;
        ir_diag_init(&d);
        NpyArray a;
        ck_assert_msg(!fe_npy_parse("t.npy", b, n, &a, &d), "a %zu-byte prefix parsed", n);
        ck_assert_ptr_null(a.data);
        ck_assert(strncmp(ir_diag_text(&d), "t.npy: error: ", 14) == 0);
        ck_assert_int_eq(d.n_errors, 1);
        ir_diag_fini(&d);
        free(b);
    }
    /* and one byte more is extra data, refused too */
    unsigned char *b = malloc(len + 1);
    memcpy(b, full, len);
    b[len] = 0;
    expect_parse_error(b, len + 1, 0, "1 bytes after the data");
    free(b);
    free(full);
}
END_TEST

#define H(shape) "{'descr': '<f4', 'fortran_order': False, 'shape': " shape ", }"

START_TEST(test_lying_shapes)
{
    expect_header_error(1, H("(10,)"), 8,
                        "the data is truncated: shape (10,) of f32 needs 40 bytes, the file has 8");
    expect_header_error(1, H("(1,)"), 8, "4 bytes after the data");
    expect_header_error(1, H("()"), 0, "needs 4 bytes");
    expect_header_error(1, H("(-1,)"), 0, "negative dimension -1");
    expect_header_error(1, H("(2, -3)"), 0, "negative dimension -3");
    expect_header_error(1, H("(4294967296, 4294967296)"), 0, "too large");
    expect_header_error(1, H("(0, 9223372036854775807)"), 0, "too large");
    expect_header_error(1, H("(3037000499, 3037000499, 0)"), 0, "too large");
    expect_header_error(1, H("(99999999999999999999,)"), 0,
                        "dimension 99999999999999999999 in the shape is too large");
    expect_header_error(1, H("(9223372036854775808,)"), 0, "too large");
    expect_header_error(1, H("(1, 1, 1, 1, 1, 1, 1, 1, 1)"), 4,
                        "the shape has 9 dimensions; slimc supports at most 8");
    expect_header_error(1, H("(3)"), 12, "is not a tuple");
    expect_header_error(1, H("[3]"), 12, "must be a tuple, not a list");
    expect_header_error(1, H("(03,)"), 12, "leading zero");
    expect_header_error(1, H("(3,,)"), 12, "expected an integer dimension");
    expect_header_error(1, H("(3 4)"), 12, "expected ',' or ')'");
    expect_header_error(1, H("(3.0,)"), 12, "expected ',' or ')'");
    expect_header_error(1, H("(,)"), 12, "expected an integer dimension");
    expect_header_error(1, H("(3,"), 12, "expected");
    /* zero-size and 0-d shapes are fine */
    expect_header_ok(1, H("(0,)"), 0, IR_F32, 1);
    expect_header_ok(1, H("(5, 0, 9223372036854775)"), 0, IR_F32, 3);
    expect_header_ok(1, H("()"), 4, IR_F32, 0);
    expect_header_ok(1, H("(1, 1, 1, 1, 1, 1, 1, 1)"), 4, IR_F32, 8);
}
END_TEST

START_TEST(test_hostile_headers)
{
    /* the dict itself */
    expect_header_error(1, "{'descr': '<f4', 'fortran_order': True, 'shape': (1,), }", 4,
                        "Fortran order");
    expect_header_error(1, "{'descr': '<f4', 'shape': (1,), }", 4, "no 'fortran_order' key");
    expect_header_error(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}", 4,
                        "unexpected key 'x'");
    expect_header_error(1,
                        "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (1,)}",
                        4, "appears twice");
    expect_header_error(1, "{'descr': '<f4', 'fortran_order': Falsey, 'shape': (1,)}", 4,
                        "True or False");
    expect_header_error(1, "{'descr': '<f4', 'fortran_order': 0, 'shape': (1,)}", 4,
                        "True or False");
    expect_header_error(1, "{'descr': '<f4' 'fortran_order': False, 'shape': (1,)}", 4,
                        "expected ',' or '}'");
    expect_header_error(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), } x", 4,
                        "only padding");
    expect_header_error(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), ", 4,
                        "expected a quoted string");
    expect_header_error(1, "{'descr: '<f4', 'fortran_order': False, 'shape': (1,)}", 4,
                        "unexpected key");
    expect_header_error(1, "{'descr': '<f4, 'fortran_order': False, 'shape': (1,)}", 4,
                        "expected ',' or '}'");
    expect_header_error(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,)", 4,
                        "expected ',' or '}'");
    expect_header_error(1, "{'descr': '<\\x66', 'fortran_order': False, 'shape': (1,)}", 4,
                        "escape");
    expect_header_error(1, "", 4, "expected '{'");
    expect_header_error(1, "[1, 2]", 4, "expected '{'");
    expect_header_error(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }\x01", 4,
                        "byte 0x01");
    expect_header_error(3, "{'descr': '<f4', 'fortran_order': False, 'shape': (1L,), }", 4,
                        "expected ',' or ')'");
    /* descrs */
    expect_header_error(1, "{'descr': '<f3', 'fortran_order': False, 'shape': (1,)}", 4,
                        "dtype '<f3' (floats of that size)");
    expect_header_error(1, "{'descr': '=f4', 'fortran_order': False, 'shape': (1,)}", 4,
                        "native byte order");
    expect_header_error(1, "{'descr': '|f4', 'fortran_order': False, 'shape': (1,)}", 4,
                        "only for one-byte");
    expect_header_error(1, "{'descr': 'f4', 'fortran_order': False, 'shape': (1,)}", 4,
                        "dtype 'f4' is not supported");
    expect_header_error(1, "{'descr': '', 'fortran_order': False, 'shape': (1,)}", 4,
                        "dtype '' is not supported");
    expect_header_error(1, "{'descr': '<f4x', 'fortran_order': False, 'shape': (1,)}", 4,
                        "not supported");
    expect_header_error(1, "{'descr': '<f0000000004', 'fortran_order': False, 'shape': (1,)}", 4,
                        "not supported");
    expect_header_error(1, "{'descr': '<u16', 'fortran_order': False, 'shape': (2,)}", 4,
                        "dtype '<u16' (unsigned integers) is not supported");
    expect_header_error(1, "{'descr': '\xff\xfe', 'fortran_order': False, 'shape': (1,)}", 4,
                        "dtype '\\xFF\\xFE'");
    expect_header_error(1, "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,)}", 4,
                        "structured");
    expect_header_error(1, "{'descr': 5, 'fortran_order': False, 'shape': (1,)}", 4,
                        "expected a quoted string");
    /* what numpy writes and some variants it accepts */
    expect_header_ok(1, "{\"shape\": (2,), \"fortran_order\": False, \"descr\": \">i2\"}", 4,
                     IR_I16, 1);
    expect_header_ok(1, "{'descr':'|u1','fortran_order':False,'shape':(2,3)}   \n", 6, IR_U8, 2);
    expect_header_ok(1, "{'descr': '<i1', 'fortran_order': False, 'shape': (2L, 3L), }\n", 6, IR_I8,
                     2);
    expect_header_ok(2, "  {'descr': '>b1',\n 'fortran_order': False,\n 'shape': (2,),\n}\n", 2,
                     IR_BOOL, 1);
    expect_header_ok(3, "{'descr': '<f8', 'fortran_order': False, 'shape': (1, ), }", 8, IR_F64, 1);
}
END_TEST

START_TEST(test_hostile_preambles)
{
    size_t len;
    /* magic and version */
    unsigned char *b = make_npy(1, H("(1,)"), 4, 0, &len);
    b[0] = 'x';
    expect_parse_error(b, len, 0, "not a .npy file");
    b[0] = 0x93;
    b[6] = 4;
    expect_parse_error(b, len, 0, "version 4.0 is not supported");
    b[6] = 1;
    b[7] = 1;
    expect_parse_error(b, len, 0, "version 1.1");
    b[6] = 0;
    b[7] = 0;
    expect_parse_error(b, len, 0, "version 0.0");
    free(b);
    expect_parse_error("\x93NUM", 4, 0, "truncated");
    expect_parse_error("PK\x03\x04", 4, 0, "not a .npy file");
    expect_parse_error("", 0, 0, "empty");

    /* header lengths past the file */
    b = make_npy(1, H("(1,)"), 4, 0, &len);
    b[8] = b[9] = 0xFF;
    expect_parse_error(b, len, 0, "header length 65535 runs past the end of the file");
    free(b);
    b = make_npy(2, H("(1,)"), 4, 0, &len);
    b[8] = b[9] = b[10] = b[11] = 0xFF;
    expect_parse_error(b, len, 0, "header length 4294967295 runs past");
    free(b);
    b = make_npy(2, H("(1,)"), 4, 0, &len);
    expect_parse_error(b, 11, 0, "truncated");
    free(b);

    /* bools other than 0 and 1 */
    b = make_npy(1, "{'descr': '|b1', 'fortran_order': False, 'shape': (3,), }", 3, 2, &len);
    expect_parse_error(b, len, 0, "bool element 0 has the byte value 2");
    free(b);

    /* a NUL inside the header */
    static const char nul_header[] = "\x93NUMPY\x01\x00\x04\x00{\0}\n";
    expect_parse_error(nul_header, sizeof nul_header - 1, 0, "byte 0x00");
}
END_TEST

/* ---- writing ---- */

START_TEST(test_write_errors_leave_nothing)
{
    char *dir = fs_make_tmp(), path[256];
    float x[4] = {1, 2, 3, 4};
    int64_t shape[1] = {4};
    Diag d;
    ir_diag_init(&d);

    /* a folder that does not exist */
    snprintf(path, sizeof path, "%s/nope/x.npy", dir);
    ck_assert(!fe_npy_write(path, IR_F32, 1, shape, x, &d));
    char prefix[300];
    snprintf(prefix, sizeof prefix, "%s: error: ", path);
    ck_assert_msg(strncmp(ir_diag_text(&d), prefix, strlen(prefix)) == 0, "%s", ir_diag_text(&d));
    ck_assert_int_eq(fs_count_entries(dir), 0);
    ir_diag_clear(&d);

    /* the target is a folder: the rename fails and the temp file goes */
    snprintf(path, sizeof path, "%s/sub", dir);
    ck_assert_int_eq(mkdir(path, 0700), 0);
    ck_assert(!fe_npy_write(path, IR_F32, 1, shape, x, &d));
    ck_assert_int_eq(fs_count_entries(dir), 1);
    rmdir(path);
    ir_diag_clear(&d);

    /* a read-only folder (root writes anyway: then this part checks nothing) */
    snprintf(path, sizeof path, "%s/ro", dir);
    ck_assert_int_eq(mkdir(path, 0500), 0);
    snprintf(path, sizeof path, "%s/ro/x.npy", dir);
    if (geteuid() != 0) {
        ck_assert(!fe_npy_write(path, IR_F32, 1, shape, x, &d));
        ck_assert_ptr_nonnull(strstr(ir_diag_text(&d), "Permission denied"));
        snprintf(path, sizeof path, "%s/ro", dir);
        ck_assert_int_eq(fs_count_entries(path), 0);
    }
    snprintf(path, sizeof path, "%s/ro", dir);
    chmod(path, 0700);
    fs_rm_tree(path);
    ir_diag_clear(&d);

    /* a write that fails half way (file size limit, which binds root too): the old file
     * stays as it was and no temp file is left */
    snprintf(path, sizeof path, "%s/old.npy", dir);
    FILE *f = fopen(path, "w");
    fputs("old", f);
    fclose(f);
    struct rlimit old_lim, lim;
    getrlimit(RLIMIT_FSIZE, &old_lim);
    lim = old_lim;
    lim.rlim_cur = 100;
    signal(SIGXFSZ, SIG_IGN);
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
    bool ok = fe_npy_write(path, IR_F32, 1, shape, x, &d); /* 128-byte header + 16 */
    setrlimit(RLIMIT_FSIZE, &old_lim);
    signal(SIGXFSZ, SIG_DFL);
    ck_assert(!ok);
    ck_assert_msg(strstr(ir_diag_text(&d), "cannot write"), "%s", ir_diag_text(&d));
    size_t len;
    unsigned char *old = fs_slurp(path, &len);
    ck_assert(len == 3 && memcmp(old, "old", 3) == 0);
    free(old);
    ck_assert_int_eq(fs_count_entries(dir), 1);
    ir_diag_clear(&d);

    /* ...and replaces it when it succeeds, with the usual permissions */
    ck_assert(fe_npy_write(path, IR_F32, 1, shape, x, &d));
    mode_t mask = umask(0);
    umask(mask);
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0666 & ~mask);
    ck_assert_int_eq(fs_count_entries(dir), 1);

    /* what the format cannot hold */
    snprintf(path, sizeof path, "%s/bad.npy", dir);
    ck_assert(!fe_npy_write(path, IR_I4, 1, shape, x, &d));
    ck_assert_ptr_nonnull(strstr(ir_diag_text(&d), "no such dtype"));
    ck_assert(!fe_npy_write(path, IR_F32, 1, (int64_t[]){-4}, x, &d));
    ck_assert(!fe_npy_write(path, IR_F32, 9, (int64_t[]){1, 1, 1, 1, 1, 1, 1, 1, 1}, x, &d));
    ck_assert(!fe_npy_write(path, IR_F32, 2, (int64_t[]){INT64_MAX, 2}, x, &d));
    ck_assert_int_eq(d.n_errors, 4);
    ck_assert_int_eq(fs_count_entries(dir), 1);
    ir_diag_fini(&d);
    fs_rm_tree(dir);
}
END_TEST

START_TEST(test_read_errors_name_the_file)
{
    char *dir = fs_make_tmp(), path[256];
    Diag d;
    ir_diag_init(&d);
    NpyArray a;
    snprintf(path, sizeof path, "%s/missing.npy", dir);
    ck_assert(!fe_npy_read(path, &a, &d));
    ck_assert_ptr_nonnull(
        strstr(ir_diag_text(&d), "missing.npy: error: cannot open: No such file"));
    ir_diag_clear(&d);
    ck_assert(!fe_npy_read(dir, &a, &d));
    ck_assert_ptr_nonnull(strstr(ir_diag_text(&d), "is a directory"));
    ir_diag_clear(&d);
    snprintf(path, sizeof path, "%s/empty.npy", dir);
    fclose(fopen(path, "w"));
    ck_assert(!fe_npy_read(path, &a, &d));
    ck_assert_ptr_nonnull(strstr(ir_diag_text(&d), "empty.npy: error: file is empty"));
    ir_diag_clear(&d);
    /* a FIFO with no writer: refused at once, not waited on */
    snprintf(path, sizeof path, "%s/fifo.npy", dir);
    ck_assert_int_eq(mkfifo(path, 0600), 0);
    ck_assert(!fe_npy_read(path, &a, &d));
    ck_assert_ptr_nonnull(strstr(ir_diag_text(&d), "fifo.npy: error: is not a regular file"));
    ir_diag_fini(&d);
    fs_rm_tree(dir);
}
END_TEST

static Suite *npy_suite(void)
{
    Suite *s = suite_create("npy");
    TCase *tc = tcase_create("npy");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_read_numpy_files);
    tcase_add_test(tc, test_read_big_endian_and_versions);
    tcase_add_test(tc, test_write_matches_numpy);
    tcase_add_test(tc, test_bf16_convention);
    tcase_add_test(tc, test_refused_numpy_files);
    tcase_add_test(tc, test_round_trip_every_dtype_and_shape);
    tcase_add_test(tc, test_truncated_at_every_length);
    tcase_add_test(tc, test_lying_shapes);
    tcase_add_test(tc, test_hostile_headers);
    tcase_add_test(tc, test_hostile_preambles);
    tcase_add_test(tc, test_write_errors_leave_nothing);
    tcase_add_test(tc, test_read_errors_name_the_file);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(npy_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
