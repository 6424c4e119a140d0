/* The code every way of running a model shares, libc only (see runtime/model_desc.h): the
 * .npy reader of `slimc run` and of built executables, the dtype tables, the f32
 * conversions of inputs and the input binder. Compiled into libslimc, and pasted by
 * `slimc build` into each executable after runtime/model_desc.h (SLIMC_MODEL_IO_EMBEDDED).
 *
 * The .npy format: "\x93NUMPY", a major and a minor version byte, the header length
 * (2 bytes LE in 1.0, 4 bytes in 2.0 and 3.0), the header -- a Python dict literal
 * {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } padded with spaces and a
 * '\n' so the data starts at a multiple of 64 -- then the raw C-order data.
 *
 * Every file-level name here starts with rt_ or RT_: `slimc build` pastes this file into
 * the same translation unit as the generated code and runtime/slimc_rt.h. */
#ifndef SLIMC_MODEL_IO_EMBEDDED
#include "runtime/model_desc.h"
#endif

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/vfs.h>
#define RT_PROC_SUPER_MAGIC 0x9fa0
#define RT_SYSFS_MAGIC      0x62656572
#endif

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "slimc's file readers and writers assume a little-endian host"
#endif

#define RT_NPY_MAGIC     "\x93NUMPY"
#define RT_NPY_MAGIC_LEN 6

/* ---- dtypes ---- */

static const struct {
    const char *name, *descr; /* descr: NULL when .npy has no form of it */
    int bits;
} rt_dtypes[RT_DT_COUNT] = {
    {"f64", "<f8", 64},  {"f32", "<f4", 32},      {"f16", "<f2", 16},    {"bf16", "<u2", 16},
    {"i64", "<i8", 64},  {"i32", "<i4", 32},      {"i16", "<i2", 16},    {"i8", "|i1", 8},
    {"u8", "|u1", 8},    {"i4", NULL, 4},         {"bool", "|b1", 8},    {"u16", "<u2", 16},
    {"u32", "<u4", 32},  {"u64", "<u8", 64},      {"f8e4m3fn", NULL, 8}, {"f8e4m3fnuz", NULL, 8},
    {"f8e5m2", NULL, 8}, {"f8e5m2fnuz", NULL, 8}, {"u4", NULL, 4},       {"i2", NULL, 2},
    {"u2", NULL, 2},     {"f4e2m1", NULL, 4},     {"f8e8m0", NULL, 8},
};

RT_IO_FN const char *rt_dtype_name(int dtype)
{
    return dtype >= 0 && dtype < RT_DT_COUNT && rt_dtypes[dtype].name ? rt_dtypes[dtype].name : "?";
}

RT_IO_FN const char *rt_npy_descr(int dtype)
{
    return dtype >= 0 && dtype < RT_DT_COUNT ? rt_dtypes[dtype].descr : NULL;
}

RT_IO_FN int rt_dtype_bytes(int dtype, int64_t count, size_t *out)
{
    if (dtype < 0 || dtype >= RT_DT_COUNT || count < 0)
        return 0;
    int bits = rt_dtypes[dtype].bits;
    int64_t bytes;
    if (bits % 8 == 0) {
        if (__builtin_mul_overflow(count, (int64_t)(bits / 8), &bytes))
            return 0;
    } else { /* 8 / bits elements a byte */
        int64_t per = 8 / bits;
        bytes = count / per + (count % per != 0);
    }
    if (bytes > RT_MAX_TENSOR_BYTES)
        return 0;
    *out = (size_t)bytes;
    return 1;
}

/* The dtypes a .npy file may hold, by the descr's kind letter and size in bytes. ('u', 2)
 * is bf16 when the caller asks (RT_NPY_U2_AS_BF16), else u16. */
static const struct {
    char kind;
    int size;
    int dtype;
} rt_io_npy_types[] = {
    {'f', 8, RT_DT_F64},  {'f', 4, RT_DT_F32},  {'f', 2, RT_DT_F16}, {'i', 8, RT_DT_I64},
    {'i', 4, RT_DT_I32},  {'i', 2, RT_DT_I16},  {'i', 1, RT_DT_I8},  {'u', 1, RT_DT_U8},
    {'b', 1, RT_DT_BOOL}, {'u', 2, RT_DT_BF16}, {'u', 2, RT_DT_U16}, {'u', 4, RT_DT_U32},
    {'u', 8, RT_DT_U64},
};

/* Writes a message into msg[cap]; returns false. */
static bool rt_io_fail(char *msg, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static bool rt_io_fail(char *msg, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, cap, fmt, ap);
    va_end(ap);
    return false;
}

/* Length of the valid UTF-8 sequence at s (1 for ASCII), 0 when it is not one. */
RT_IO_FN size_t rt_utf8_seq(const unsigned char *s, size_t avail)
{
    unsigned c = s[0];
    size_t n;
    unsigned lo = 0x80, hi = 0xBF; /* range of the second byte */
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        n = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0)
            lo = 0xA0; /* no overlongs */
        if (c == 0xED)
            hi = 0x9F; /* no surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0)
            lo = 0x90;
        if (c == 0xF4)
            hi = 0x8F; /* at most U+10FFFF */
    } else
        return 0;
    if (avail < n || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 0;
    return n;
}

/* s[len] for a message: valid UTF-8 and printable ASCII as they are, any other byte as
 * \xNN, cut with "..." to fit cap (frontend/json.c's fe_quote_for_message is this). */
RT_IO_FN char *rt_quote_for_message(char *dst, size_t cap, const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        size_t n = rt_utf8_seq(p + i, len - i);
        bool raw = n > 1 || (n == 1 && p[i] >= 0x20 && p[i] < 0x7F);
        size_t need = raw ? n : 4;
        if (o + need + 4 > cap) { /* keep room for "..." and the NUL */
            memcpy(dst + o, "...", 3);
            o += 3;
            break;
        }
        if (raw) {
            memcpy(dst + o, p + i, n);
            o += n;
            i += n;
        } else {
            snprintf(dst + o, 5, "\\x%02X", p[i]);
            o += 4;
            i++;
        }
    }
    dst[o] = 0;
    return dst;
}

/* ---- what kind of file: for errors about a file given in the wrong place ---- */

/* Whether the zip local file header at b names an entry whose name ends with suffix (the
 * first entry: torch.save writes "<name>/data.pkl" first, np.savez "<array>.npy"). */
static __attribute__((unused)) bool rt_zip_first_entry_ends(const unsigned char *b, size_t len,
                                                            const char *suffix)
{
    if (len < 30)
        return false;
    size_t n = (size_t)b[26] | (size_t)b[27] << 8, k = strlen(suffix);
    return n >= k && 30 + n <= len && memcmp(b + 30 + n - k, suffix, k) == 0;
}

RT_IO_FN int rt_file_kind(const void *buf, size_t len)
{
    const unsigned char *b = buf;
    if (len >= RT_NPY_MAGIC_LEN && memcmp(b, RT_NPY_MAGIC, RT_NPY_MAGIC_LEN) == 0)
        return RT_FILE_NPY;
    /* first: its 8-byte length may begin with any bytes (0x80 0x05: a pickle's) */
    if (len >= 9) {
        uint64_t h = 0;
        for (int i = 7; i >= 0; i--)
            h = h << 8 | b[i];
        if (h >= 2 && h <= len - 8 && b[8] == '{')
            return RT_FILE_SAFETENSORS;
    }
    if (len >= 4 && memcmp(b, "PK\x03\x04", 4) == 0) {
        if (rt_zip_first_entry_ends(b, len, "data.pkl") ||
            rt_zip_first_entry_ends(b, len, "/version") ||
            rt_zip_first_entry_ends(b, len, ".data/version"))
            return RT_FILE_TORCH;
        return rt_zip_first_entry_ends(b, len, ".npy") ? RT_FILE_NPZ : RT_FILE_ZIP;
    }
    if (len >= 2 && b[0] == 0x80 && b[1] >= 2 && b[1] <= 5)
        /* torch.save's legacy format starts with the pickled magic number 0x1950a86a20f9469cfc6c */
        return len >= 4 && b[2] == 0x8a && b[3] == 0x0a ? RT_FILE_TORCH : RT_FILE_PICKLE;
    if (len >= 4 && memcmp(b, "GGUF", 4) == 0)
        return RT_FILE_GGUF;
    if (len >= 8 && memcmp(b, "\x89HDF\r\n\x1a\n", 8) == 0)
        return RT_FILE_HDF5;
    if (len >= 8 && memcmp(b + 4, "TFL3", 4) == 0)
        return RT_FILE_TFLITE;
    if (len >= 2 && b[0] == 0x1f && b[1] == 0x8b)
        return RT_FILE_GZIP;
    if (len >= 4 && memcmp(b,
                           "\x7f"
                           "ELF",
                           4) == 0)
        return RT_FILE_ELF;
    /* ModelProto: ir_version (field 1, varint) first, then a string or message field
     * (producer_name 2, producer_version 3, domain 4, doc_string 6, graph 7, opset 8) */
    if (len >= 3 && b[0] == 0x08 && b[1] >= 1 && b[1] <= 15 &&
        (b[2] == 0x12 || b[2] == 0x1a || b[2] == 0x22 || b[2] == 0x32 || b[2] == 0x3a ||
         b[2] == 0x42))
        return RT_FILE_ONNX;
    return RT_FILE_UNKNOWN;
}

RT_IO_FN const char *rt_file_kind_hint(int kind, int role)
{
    static const char torch_weights[] =
        "this looks like a PyTorch file (torch.save), which slimc does not read (a pickle can "
        "run code): save the state_dict with safetensors.torch.save_file(model.state_dict(), "
        "\"weights.safetensors\")";
    switch (kind) {
    case RT_FILE_NPY:
        return role == RT_ROLE_INPUT ? NULL
               : role == RT_ROLE_MODEL
                   ? "this is a NumPy .npy array, not a model: give it as an input (--input "
                     "NAME=FILE)"
                   : "this is a NumPy .npy array: weights are read from safetensors "
                     "(safetensors.numpy.save_file({\"name\": array}, \"weights.safetensors\"))";
    case RT_FILE_NPZ:
        return role == RT_ROLE_INPUT
                   ? "this is a NumPy .npz archive: give each array as its own .npy file "
                     "(np.save(\"x.npy\", np.load(FILE)[\"x\"]))"
               : role == RT_ROLE_MODEL
                   ? "this is a NumPy .npz archive, not a model: inputs are .npy files, weights "
                     "safetensors files"
                   : "this is a NumPy .npz archive: weights are read from safetensors "
                     "(safetensors.numpy.save_file(dict(np.load(FILE)), \"weights.safetensors\"))";
    case RT_FILE_SAFETENSORS:
        return role == RT_ROLE_WEIGHTS ? NULL
               : role == RT_ROLE_MODEL
                   ? "this is a safetensors weights file, not a model: name it in the "
                     "`weights` line of a .slim model"
                   : "this is a safetensors file: inputs are .npy files (np.save)";
    case RT_FILE_TORCH:
        return role == RT_ROLE_WEIGHTS ? torch_weights
               : role == RT_ROLE_MODEL
                   ? "this looks like a PyTorch file (torch.save), which slimc does not read (a "
                     "pickle can run code): export the model with torch.onnx.export, or save "
                     "its state_dict with safetensors.torch.save_file and describe it in a .slim "
                     "file"
                   : "this looks like a PyTorch file (torch.save): save the tensor with "
                     "np.save(\"x.npy\", t.numpy())";
    case RT_FILE_PICKLE:
        return "this is a Python pickle, which slimc does not read (a pickle can run code)";
    case RT_FILE_ONNX:
        return role == RT_ROLE_MODEL
                   ? "this looks like an ONNX model: give it a name ending in .onnx"
               : role == RT_ROLE_WEIGHTS
                   ? "this looks like an ONNX model: run the .onnx file itself (its weights are "
                     "inside it)"
                   : "this looks like an ONNX model, not an input array";
#define RT_ONLY_SLIM_ONNX ": slimc reads .slim and .onnx models (export it to ONNX first)"
    case RT_FILE_GGUF: return "this is a GGUF file" RT_ONLY_SLIM_ONNX;
    case RT_FILE_HDF5: return "this is an HDF5 file (a Keras .h5 model?)" RT_ONLY_SLIM_ONNX;
    case RT_FILE_TFLITE: return "this is a TensorFlow Lite model" RT_ONLY_SLIM_ONNX;
#undef RT_ONLY_SLIM_ONNX
    case RT_FILE_ZIP: return "this is a zip archive: unpack it first";
    case RT_FILE_GZIP: return "this file is gzip-compressed: uncompress it first";
    case RT_FILE_ELF: return "this is a program or shared library (ELF), not data";
    case RT_FILE_UNKNOWN: return NULL;
    }
    return NULL;
}

/* "(2, 3)" as numpy prints a shape tuple: "()" for 0-d, "(3,)" for one dim. */
RT_IO_FN void rt_npy_format_shape(char *buf, size_t cap, const int64_t *shape, int ndim)
{
    size_t o = 0;
    buf[o++] = '(';
    for (int i = 0; i < ndim && o < cap; i++)
        o += (size_t)snprintf(buf + o, cap - o, i ? ", %lld" : "%lld", (long long)shape[i]);
    if (o < cap)
        snprintf(buf + o, cap - o, ndim == 1 ? ",)" : ")");
    buf[cap - 1] = 0;
}

/* Byte size of a C-order array: false when the shape is too large, that is when the
 * product of its dims -- zeros counted as ones, so that every stride fits as well --
 * times esize does not fit in int64_t. */
RT_IO_FN int rt_npy_shape_bytes(const int64_t *shape, int ndim, size_t esize, size_t *nbytes)
{
    uint64_t vol = esize, n = esize;
    for (int i = 0; i < ndim; i++) {
        uint64_t dim = (uint64_t)shape[i];
        if (shape[i] < 0)
            return false;
        if (dim > 1 && vol > (uint64_t)INT64_MAX / dim)
            return false;
        if (dim > 1)
            vol *= dim;
        n *= dim;
    }
    if (n > SIZE_MAX)
        return false;
    *nbytes = (size_t)n;
    return true;
}

/* ---- the header dict ---- */

typedef struct RtIoHeader {
    char *msg; /* the message on error */
    size_t cap;
    const char *s; /* the header text (not NUL-terminated) */
    size_t len, pos;
    int version;
} RtIoHeader;

static void rt_io_hdr_ws(RtIoHeader *h)
{
    while (h->pos < h->len && strchr(" \t\r\n", h->s[h->pos]) && h->s[h->pos])
        h->pos++;
}

static bool rt_io_hdr_at(const RtIoHeader *h, char c)
{
    return h->pos < h->len && h->s[h->pos] == c;
}

/* Describes what is at the current position, for "expected X, found Y". */
static const char *rt_io_hdr_found(const RtIoHeader *h, char *buf, size_t cap)
{
    if (h->pos >= h->len)
        return "the end of the header";
    unsigned char c = (unsigned char)h->s[h->pos];
    if (c >= 0x20 && c < 0x7F)
        snprintf(buf, cap, "'%c' at header byte %zu", c, h->pos);
    else
        snprintf(buf, cap, "byte 0x%02X at header byte %zu", c, h->pos);
    return buf;
}

static bool rt_io_hdr_expected(RtIoHeader *h, const char *what)
{
    char buf[48];
    return rt_io_fail(h->msg, h->cap, "malformed .npy header: expected %s, found %s", what,
                      rt_io_hdr_found(h, buf, sizeof buf));
}

/* A Python string literal in single or double quotes, without escapes (numpy's keys and
 * the descrs slimc reads have none). Points into the header. */
static bool rt_io_hdr_string(RtIoHeader *h, const char **s, size_t *n)
{
    if (!rt_io_hdr_at(h, '\'') && !rt_io_hdr_at(h, '"'))
        return rt_io_hdr_expected(h, "a quoted string");
    char q = h->s[h->pos++];
    size_t start = h->pos;
    while (h->pos < h->len && h->s[h->pos] != q) {
        if (h->s[h->pos] == '\\' || h->s[h->pos] == '\n')
            return rt_io_fail(
                h->msg, h->cap,
                "malformed .npy header: escape or newline in a string at header byte %zu", h->pos);
        h->pos++;
    }
    if (h->pos >= h->len)
        return rt_io_fail(h->msg, h->cap, "malformed .npy header: unterminated string");
    *s = h->s + start;
    *n = h->pos - start;
    h->pos++;
    return true;
}

static bool rt_io_hdr_word(RtIoHeader *h, const char *w)
{
    size_t n = strlen(w);
    if (h->len - h->pos < n || memcmp(h->s + h->pos, w, n) != 0)
        return false;
    /* the word must end there: "Falsey" is not False */
    if (h->pos + n < h->len) {
        char c = h->s[h->pos + n];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')
            return false;
    }
    h->pos += n;
    return true;
}

/* A non-negative decimal integer (a Python 2 'L' suffix is allowed in versions 1 and 2,
 * as numpy allows it). Negative, too large, or leading-zero integers are errors. */
static bool rt_io_hdr_dim(RtIoHeader *h, int64_t *out)
{
    size_t start = h->pos;
    bool neg = rt_io_hdr_at(h, '-');
    if (neg)
        h->pos++;
    if (h->pos >= h->len || h->s[h->pos] < '0' || h->s[h->pos] > '9')
        return rt_io_hdr_expected(h, "an integer dimension");
    uint64_t v = 0;
    bool overflow = false;
    size_t digits = h->pos;
    while (h->pos < h->len && h->s[h->pos] >= '0' && h->s[h->pos] <= '9') {
        unsigned digit = (unsigned)(h->s[h->pos] - '0');
        if (v > ((uint64_t)INT64_MAX - digit) / 10)
            overflow = true;
        else
            v = v * 10 + digit;
        h->pos++;
    }
    int len = (int)(h->pos - start < 40 ? h->pos - start : 40);
    if (h->pos - digits > 1 && h->s[digits] == '0')
        return rt_io_fail(h->msg, h->cap,
                          "malformed .npy header: integer '%.*s' has a leading zero", len,
                          h->s + start);
    if (h->version <= 2 && rt_io_hdr_at(h, 'L'))
        h->pos++;
    if (neg)
        return rt_io_fail(h->msg, h->cap, "negative dimension %.*s in the shape", len,
                          h->s + start);
    if (overflow)
        return rt_io_fail(h->msg, h->cap, "dimension %.*s%s in the shape is too large", len,
                          h->s + start, h->pos - start > 40 ? "..." : "");
    *out = (int64_t)v;
    return true;
}

/* A shape tuple: (), (3,), (2, 3) or (2, 3,); (3) is an int, not a tuple, and refused
 * as numpy refuses it. More than RT_MAX_RANK dims is an error. */
static bool rt_io_hdr_shape(RtIoHeader *h, int *ndim, int64_t *shape)
{
    if (rt_io_hdr_at(h, '['))
        return rt_io_fail(h->msg, h->cap, "the shape must be a tuple, not a list");
    if (!rt_io_hdr_at(h, '('))
        return rt_io_hdr_expected(h, "a shape tuple");
    h->pos++;
    rt_io_hdr_ws(h);
    int n = 0;
    bool comma = false;
    while (!rt_io_hdr_at(h, ')')) {
        int64_t dim = 0;
        if (!rt_io_hdr_dim(h, &dim))
            return false;
        if (n < RT_MAX_RANK)
            shape[n] = dim;
        n++;
        rt_io_hdr_ws(h);
        comma = rt_io_hdr_at(h, ',');
        if (comma) {
            h->pos++;
            rt_io_hdr_ws(h);
        } else if (!rt_io_hdr_at(h, ')'))
            return rt_io_hdr_expected(h, "',' or ')' in the shape");
    }
    h->pos++;
    if (n == 1 && !comma)
        return rt_io_fail(h->msg, h->cap,
                          "the shape (%lld) is not a tuple (a one-dim shape is written (%lld,))",
                          (long long)shape[0], (long long)shape[0]);
    if (n > RT_MAX_RANK)
        return rt_io_fail(h->msg, h->cap, "the shape has %d dimensions; slimc supports at most %d",
                          n, RT_MAX_RANK);
    *ndim = n;
    return true;
}

/* What a descr kind letter means, for the message refusing it. */
static const char *rt_io_kind_meaning(char kind, int size)
{
    switch (kind) {
    case 'O': return "Python objects";
    case 'U': return "unicode strings";
    case 'S':
    case 'a': return "byte strings";
    case 'V': return "raw or structured records";
    case 'c': return "complex numbers";
    case 'M': return "datetimes";
    case 'm': return "timedeltas";
    case 'u': return size == 2 ? "uint16" : "unsigned integers";
    case 'f': return "floats of that size";
    case 'i': return "integers of that size";
    case 'b': return "bools of that size";
    default: return "an unknown type";
    }
}

/* Maps descr (e.g. "<f4") to a dtype and whether its bytes need swapping. */
static bool rt_io_descr_dtype(RtIoHeader *h, const char *s, size_t n, unsigned flags, int *dtype,
                              bool *swap)
{
    char q[96];
    rt_quote_for_message(q, sizeof q, s, n);
    char order = n ? s[0] : 0, kind = n > 1 ? s[1] : 0;
    int size = 0;
    size_t i = 2;
    for (; i < n && i < 6 && s[i] >= '0' && s[i] <= '9'; i++)
        size = size * 10 + (s[i] - '0');
    bool well_formed = n >= 3 && i == n && strchr("<>|=", order);
    const char *supported =
        "slimc reads f8 f4 f2 i8 i4 i2 i1 u8 u4 u2 u1 b1, little- or big-endian";
    if (!well_formed) {
        /* a kind numpy knows, with a size or unit slimc does not read: say what it is */
        if (n >= 2 && strchr("<>|=", order) && kind && strchr("OUSaVcMmu", kind))
            return rt_io_fail(h->msg, h->cap, "dtype '%s' (%s) is not supported (%s)", q,
                              rt_io_kind_meaning(kind, 0), supported);
        return rt_io_fail(h->msg, h->cap, "dtype '%s' is not supported (%s)", q, supported);
    }
    for (size_t k = 0; k < sizeof rt_io_npy_types / sizeof rt_io_npy_types[0]; k++) {
        if (rt_io_npy_types[k].kind != kind || rt_io_npy_types[k].size != size)
            continue;
        if (rt_io_npy_types[k].dtype == RT_DT_BF16 && !(flags & RT_NPY_U2_AS_BF16))
            continue;
        if (order == '=')
            return rt_io_fail(h->msg, h->cap,
                              "dtype '%s' has the native byte order '=', which a file cannot "
                              "have; expected '<' or '>'",
                              q);
        if (order == '|' && size > 1)
            return rt_io_fail(h->msg, h->cap,
                              "dtype '%s': byte order '|' is only for one-byte types", q);
        *dtype = rt_io_npy_types[k].dtype;
        *swap = order == '>' && size > 1;
        return true;
    }
    return rt_io_fail(h->msg, h->cap, "dtype '%s' (%s) is not supported (%s)", q,
                      rt_io_kind_meaning(kind, size), supported);
}

typedef struct RtIoDict {
    int dtype;
    bool swap;
    int ndim;
    int64_t shape[RT_MAX_RANK];
} RtIoDict;

/* The header dict: the three keys numpy writes, in any order, each once, an optional
 * trailing comma, then only whitespace. */
static bool rt_io_parse_dict(RtIoHeader *h, unsigned flags, RtIoDict *info)
{
    enum { K_DESCR, K_FORTRAN, K_SHAPE };
    static const char *const keys[] = {"descr", "fortran_order", "shape"};
    bool seen[3] = {false, false, false}, fortran = false;
    const char *descr = NULL;
    size_t descr_len = 0;

    rt_io_hdr_ws(h);
    if (!rt_io_hdr_at(h, '{'))
        return rt_io_hdr_expected(h, "'{'");
    h->pos++;
    for (;;) {
        rt_io_hdr_ws(h);
        if (rt_io_hdr_at(h, '}'))
            break;
        const char *key;
        size_t key_len;
        if (!rt_io_hdr_string(h, &key, &key_len))
            return false;
        int k = -1;
        for (int j = 0; j < 3; j++)
            if (strlen(keys[j]) == key_len && memcmp(keys[j], key, key_len) == 0)
                k = j;
        char q[96];
        if (k < 0)
            return rt_io_fail(h->msg, h->cap,
                              "unexpected key '%s' in the .npy header (expected descr, "
                              "fortran_order and shape)",
                              rt_quote_for_message(q, sizeof q, key, key_len));
        if (seen[k])
            return rt_io_fail(h->msg, h->cap, "key '%s' appears twice in the .npy header", keys[k]);
        seen[k] = true;
        rt_io_hdr_ws(h);
        if (!rt_io_hdr_at(h, ':'))
            return rt_io_hdr_expected(h, "':'");
        h->pos++;
        rt_io_hdr_ws(h);
        if (k == K_DESCR) {
            if (rt_io_hdr_at(h, '['))
                return rt_io_fail(
                    h->msg, h->cap,
                    "structured dtypes (a descr that lists fields) are not supported");
            if (!rt_io_hdr_string(h, &descr, &descr_len))
                return false;
        } else if (k == K_FORTRAN) {
            if (rt_io_hdr_word(h, "True"))
                fortran = true;
            else if (!rt_io_hdr_word(h, "False"))
                return rt_io_hdr_expected(h, "True or False for fortran_order");
        } else if (!rt_io_hdr_shape(h, &info->ndim, info->shape))
            return false;
        rt_io_hdr_ws(h);
        if (rt_io_hdr_at(h, ','))
            h->pos++;
        else if (!rt_io_hdr_at(h, '}'))
            return rt_io_hdr_expected(h, "',' or '}'");
    }
    h->pos++;
    rt_io_hdr_ws(h);
    if (h->pos < h->len)
        return rt_io_hdr_expected(h, "only padding after the header dict");
    for (int j = 0; j < 3; j++)
        if (!seen[j])
            return rt_io_fail(h->msg, h->cap, "the .npy header has no '%s' key", keys[j]);
    if (!rt_io_descr_dtype(h, descr, descr_len, flags, &info->dtype, &info->swap))
        return false;
    if (fortran)
        return rt_io_fail(h->msg, h->cap,
                          "the array is in Fortran order (fortran_order: True), which slimc "
                          "does not read; save a C-order copy (np.ascontiguousarray)");
    return true;
}

RT_IO_FN int rt_npy_parse(const void *buf, size_t len, unsigned flags, RtNpyInfo *out, char *msg,
                          size_t cap)
{
    const unsigned char *b = buf;
    memset(out, 0, sizeof *out);
    if (len == 0)
        return rt_io_fail(msg, cap, "file is empty (not a .npy file)");
    if (len < RT_NPY_MAGIC_LEN + 2 || memcmp(b, RT_NPY_MAGIC, RT_NPY_MAGIC_LEN) != 0) {
        size_t n = len < RT_NPY_MAGIC_LEN ? len : RT_NPY_MAGIC_LEN;
        if (memcmp(b, RT_NPY_MAGIC, n) == 0)
            return rt_io_fail(msg, cap, "file is truncated (%zu bytes) inside the .npy preamble",
                              len);
        const char *hint = rt_file_kind_hint(rt_file_kind(b, len), RT_ROLE_INPUT);
        return rt_io_fail(msg, cap, "not a .npy file (it does not start with \\x93NUMPY)%s%s",
                          hint ? ": " : "", hint ? hint : "");
    }
    int major = b[6], minor = b[7];
    if ((major < 1 || major > 3) || minor != 0)
        return rt_io_fail(msg, cap,
                          ".npy format version %d.%d is not supported (1.0, 2.0 and 3.0 are)",
                          major, minor);
    size_t pre = major == 1 ? 10 : 12;
    if (len < pre)
        return rt_io_fail(msg, cap, "file is truncated (%zu bytes) inside the .npy preamble", len);
    size_t hlen = b[8] | (size_t)b[9] << 8;
    if (major > 1)
        hlen |= (size_t)b[10] << 16 | (size_t)b[11] << 24;
    if (hlen > len - pre)
        return rt_io_fail(
            msg, cap,
            "the .npy header length %zu runs past the end of the file (%zu bytes after "
            "the preamble)",
            hlen, len - pre);

    RtIoHeader h = {msg, cap, (const char *)b + pre, hlen, 0, major};
    RtIoDict info = {0};
    if (!rt_io_parse_dict(&h, flags, &info))
        return false;

    size_t esize = (size_t)rt_dtypes[info.dtype].bits / 8, nbytes;
    char shape_text[256];
    rt_npy_format_shape(shape_text, sizeof shape_text, info.shape, info.ndim);
    if (!rt_npy_shape_bytes(info.shape, info.ndim, esize, &nbytes))
        return rt_io_fail(msg, cap, "the shape %s is too large", shape_text);
    size_t have = len - pre - hlen;
    if (have < nbytes)
        return rt_io_fail(msg, cap,
                          "the data is truncated: shape %s of %s needs %zu bytes, the file has %zu",
                          shape_text, rt_dtype_name(info.dtype), nbytes, have);
    if (have > nbytes)
        return rt_io_fail(
            msg, cap,
            "%zu bytes after the data of shape %s of %s (the shape does not match the data)",
            have - nbytes, shape_text, rt_dtype_name(info.dtype));

    const unsigned char *src = b + pre + hlen;
    if (info.dtype == RT_DT_BOOL)
        for (size_t i = 0; i < nbytes; i++)
            if (src[i] > 1)
                return rt_io_fail(msg, cap,
                                  "bool element %zu has the byte value %u (a bool must be 0 or 1)",
                                  i, src[i]);
    out->dtype = info.dtype;
    out->ndim = info.ndim;
    memcpy(out->shape, info.shape, sizeof info.shape);
    out->data_offset = pre + hlen;
    out->nbytes = nbytes;
    out->swap = info.swap;
    return true;
}

RT_IO_FN void rt_npy_byteswap(void *data, size_t nbytes, size_t esize)
{
    unsigned char *p = data;
    for (size_t i = 0; i + esize <= nbytes; i += esize)
        for (size_t a = i, z = i + esize - 1; a < z; a++, z--) {
            unsigned char t = p[a];
            p[a] = p[z];
            p[z] = t;
        }
}

RT_IO_FN const char *rt_file_not_regular(const struct stat *st)
{
    if (S_ISDIR(st->st_mode))
        return "is a directory, not a file";
    if (S_ISFIFO(st->st_mode))
        return "is not a regular file (a FIFO)";
    if (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode))
        return "is not a regular file (a device)";
    if (S_ISSOCK(st->st_mode))
        return "is not a regular file (a socket)";
    return "is not a regular file";
}

RT_IO_FN int rt_make_dirs(const char *path, unsigned mode, int *created, char *msg, size_t cap)
{
    char buf[4096];
    if (created)
        *created = 0;
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof buf)
        return rt_io_fail(msg, cap, n ? "the path is too long" : "the path is empty");
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] != '/' && buf[i] != 0)
            continue;
        if (buf[i - 1] == '/')
            continue; /* "a//b" */
        char c = buf[i];
        buf[i] = 0;
        struct stat st;
        int made = mkdir(buf, (mode_t)mode) == 0;
        if (created) /* ends as the last component's */
            *created = made;
        if (!made) {
            int e = errno;
            if (e != EEXIST)
                return rt_io_fail(msg, cap, "'%s': %s", buf, strerror(e));
            if (stat(buf, &st) != 0 || !S_ISDIR(st.st_mode))
                return rt_io_fail(msg, cap, "'%s' exists and is not a folder", buf);
        }
        buf[i] = c;
    }
    return 1;
}

/* Opens path for reading only if it is a regular file, as frontend/files.c's
 * fe_open_regular: stat first so a device or FIFO is never opened, O_NONBLOCK so a FIFO
 * swapped in never waits for a writer, no /proc or /sys file. -1 after a message. */
static int rt_io_open_regular(const char *path, struct stat *st, char *msg, size_t cap)
{
    if (stat(path, st) != 0)
        return rt_io_fail(msg, cap, "cannot open: %s", strerror(errno)), -1;
    if (!S_ISREG(st->st_mode))
        return rt_io_fail(msg, cap, "%s", rt_file_not_regular(st)), -1;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return rt_io_fail(msg, cap, "cannot open: %s", strerror(errno)), -1;
    const char *bad = NULL;
    if (fstat(fd, st) != 0)
        bad = "cannot open";
    else if (!S_ISREG(st->st_mode))
        bad = rt_file_not_regular(st);
#ifdef __linux__
    struct statfs fs;
    if (!bad && fstatfs(fd, &fs) == 0 &&
        (fs.f_type == RT_PROC_SUPER_MAGIC || fs.f_type == RT_SYSFS_MAGIC))
        bad = "is not a regular file (a /proc or /sys file)";
#endif
    int fl = bad ? -1 : fcntl(fd, F_GETFL);
    if (!bad && (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0))
        bad = "cannot open";
    if (bad) {
        close(fd);
        rt_io_fail(msg, cap, "%s", bad);
        return -1;
    }
    return fd;
}

RT_IO_FN int rt_npy_read_file(const char *path, unsigned flags, RtNpyArray *out, char *msg,
                              size_t cap)
{
    memset(out, 0, sizeof *out);
    struct stat st;
    int fd = rt_io_open_regular(path, &st, msg, cap);
    if (fd < 0)
        return 0;
    if ((uint64_t)st.st_size > (uint64_t)RT_MAX_TENSOR_BYTES) {
        close(fd);
        return rt_io_fail(msg, cap, "file too large to map");
    }
    size_t len = (size_t)st.st_size, got = 0;
    unsigned char *buf = malloc(len ? len : 1);
    if (!buf) {
        close(fd);
        return rt_io_fail(msg, cap, "out of memory for a file of %zu bytes", len);
    }
    while (got < len) {
        ssize_t r = read(fd, buf + got, len - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    int e = errno;
    close(fd);
    RtNpyInfo info;
    int ok = got == len ? rt_npy_parse(buf, len, flags, &info, msg, cap)
                        : rt_io_fail(msg, cap, "cannot read: %s",
                                     got < len && e ? strerror(e) : "short read");
    if (!ok) {
        free(buf);
        return 0;
    }
    /* the data moves to the front of the buffer: malloc's alignment, no second copy */
    memmove(buf, buf + info.data_offset, info.nbytes);
    if (info.swap)
        rt_npy_byteswap(buf, info.nbytes, (size_t)rt_dtypes[info.dtype].bits / 8);
    out->data = buf;
    out->dtype = info.dtype;
    out->ndim = info.ndim;
    memcpy(out->shape, info.shape, sizeof out->shape);
    out->nbytes = info.nbytes;
    return 1;
}

/* f16 bits as a float: exact (every f16 is an f32). */
static float rt_io_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, e = (h >> 10) & 0x1f, m = h & 0x3ff, bits;
    if (e == 31)
        bits = sign | 0x7f800000u | m << 13; /* inf, NaN */
    else if (e)
        bits = sign | (e + 112) << 23 | m << 13;
    else if (!m)
        bits = sign;
    else {                                 /* a subnormal f16: normal in f32 */
        int shift = __builtin_clz(m) - 21; /* to bring the top bit to bit 10 */
        bits = sign | (uint32_t)(113 - shift) << 23 | ((m << shift) & 0x3ff) << 13;
    }
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

RT_IO_FN int rt_convert_to_f32(int dtype, const void *data, size_t n, float *out)
{
    const unsigned char *p = data;
    for (size_t k = 0; k < n; k++) {
        uint16_t u;
        if (dtype == RT_DT_F64) {
            double v;
            memcpy(&v, p + 8 * k, sizeof v);
            out[k] = (float)v;
        } else if (dtype == RT_DT_F16) {
            memcpy(&u, p + 2 * k, sizeof u);
            out[k] = rt_io_f16_to_f32(u);
        } else if (dtype == RT_DT_BF16) {
            memcpy(&u, p + 2 * k, sizeof u);
            uint32_t bits = (uint32_t)u << 16;
            memcpy(&out[k], &bits, sizeof bits);
        } else
            return 0;
    }
    return 1;
}

/* ---- binding inputs ---- */

RT_IO_FN int rt_dim_eval(RtDimDesc d, const int64_t *syms, int64_t *out)
{
    int64_t v = d.c;
    for (int i = 0; i < RT_MAX_SYMS; i++)
        if ((d.syms & (1u << i)) && __builtin_mul_overflow(v, syms ? syms[i] : 1, &v))
            return 0;
    *out = v;
    return 1;
}

static int rt_io_input_fail(RtBindError *err, int i, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int rt_io_input_fail(RtBindError *err, int i, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    err->input = i;
    vsnprintf(err->why, sizeof err->why, fmt, ap);
    va_end(ap);
    return 1;
}

RT_IO_FN int rt_desc_derive(const RtModelDesc *m, int64_t *syms, uint32_t known, RtBindError *err)
{
    err->input = -1;
    for (int s = 0; s < m->n_syms && s < RT_MAX_SYMS; s++) {
        if (!(m->derived & (1u << s)))
            continue;
        const RtSymDef *d = &m->defs[s];
        const char *name = m->sym_names && m->sym_names[s] ? m->sym_names[s] : "?";
        int64_t a, b, y, n;
        if (!rt_dim_eval(d->xa, syms, &a) || !rt_dim_eval(d->xb, syms, &b) ||
            !rt_dim_eval(d->y, syms, &y) || __builtin_mul_overflow(a, b, &n) ||
            __builtin_add_overflow(n, y, &n) || __builtin_add_overflow(n, d->add, &n) ||
            d->div < 1) {
            snprintf(err->why, sizeof err->why, "the symbolic dim %s overflows", name);
            return 1;
        }
        int64_t v = n / d->div - (n % d->div != 0 && n < 0); /* floor */
        if (v < 1) {
            snprintf(err->why, sizeof err->why,
                     "the symbolic dim %s is %lld for these input shapes (must be >= 1%s%s)", name,
                     (long long)v, d->origin ? "; from " : "", d->origin ? d->origin : "");
            return 1;
        }
        if ((known & (1u << s)) && syms[s] != v) {
            snprintf(err->why, sizeof err->why,
                     "an input gives the symbolic dim %s the value %lld, its definition %lld", name,
                     (long long)syms[s], (long long)v);
            return 1;
        }
        syms[s] = v;
    }
    return 0;
}

/* The symbols' bounds (RtSymDef.max) and assumed equalities (RtSymDef.eq): 1 with
 * err->why naming the first not met, by the input dim that is the symbol where one is. */
static int rt_desc_bounds(const RtModelDesc *m, const RtInputView *in, const int64_t *syms,
                          RtBindError *err)
{
    for (int s = 0; s < m->n_syms && s < RT_MAX_SYMS; s++) {
        const RtSymDef *d = &m->defs[s];
        int64_t want = 0;
        if (d->eq.c && (!rt_dim_eval(d->eq, syms, &want) || want != syms[s])) {
            snprintf(err->why, sizeof err->why,
                     "the model's %s needs two dims equal that these input shapes make differ "
                     "(%s = %lld, the other %lld)",
                     d->eq_of ? d->eq_of : "shapes",
                     m->sym_names && m->sym_names[s] ? m->sym_names[s] : "?", (long long)syms[s],
                     (long long)want);
            return 1;
        }
        if (d->max <= 0 || syms[s] <= d->max)
            continue;
        const char *of = d->max_of ? d->max_of : "shapes";
        for (int i = 0; i < m->n_inputs; i++)
            for (int k = 0; k < m->inputs[i].rank; k++)
                if (m->inputs[i].dims[k].c == 1 && m->inputs[i].dims[k].syms == 1u << s) {
                    snprintf(err->why, sizeof err->why,
                             "input '%s' dim %d = %lld exceeds %lld, the largest the model's %s "
                             "allows",
                             m->inputs[i].shown ? m->inputs[i].shown : "?", k,
                             (long long)in[i].shape[k], (long long)d->max, of);
                    return 1;
                }
        snprintf(err->why, sizeof err->why,
                 "the symbolic dim %s = %lld exceeds %lld, the largest the model's %s allows",
                 m->sym_names && m->sym_names[s] ? m->sym_names[s] : "?", (long long)syms[s],
                 (long long)d->max, of);
        return 1;
    }
    return 0;
}

RT_IO_FN int rt_desc_bind(const RtModelDesc *m, const RtInputView *in, int64_t *syms,
                          RtBindError *err)
{
    uint32_t known = 0;
    for (int s = 0; s < RT_MAX_SYMS; s++)
        syms[s] = 1;
    for (int i = 0; i < m->n_inputs; i++) {
        const RtIoDesc *t = &m->inputs[i];
        if (in[i].dtype != t->dtype)
            return rt_io_input_fail(err, i, "wrong dtype");
        if (in[i].ndim != t->rank)
            return rt_io_input_fail(err, i, "wrong rank");
    }
    /* Binds every symbol from the first input dim that determines it (a dim with one
     * symbol not yet known), until no dim binds another. */
    for (bool progress = true; progress;) {
        progress = false;
        for (int i = 0; i < m->n_inputs; i++) {
            const RtIoDesc *t = &m->inputs[i];
            for (int k = 0; k < t->rank; k++) {
                RtDimDesc dm = t->dims[k];
                uint32_t unknown = dm.syms & ~known;
                if (!unknown || (unknown & (unknown - 1)))
                    continue; /* nothing to bind, or two unknowns in one dim */
                int s = __builtin_ctz(unknown);
                int64_t rest, given = in[i].shape[k];
                if (!rt_dim_eval((RtDimDesc){dm.c, dm.syms & ~unknown}, syms, &rest) || rest <= 0 ||
                    given <= 0 || given % rest)
                    return rt_io_input_fail(
                        err, i, "dim %d (%lld) does not give symbol %s a value >= 1", k,
                        (long long)given, m->sym_names && m->sym_names[s] ? m->sym_names[s] : "?");
                syms[s] = given / rest;
                known |= unknown;
                progress = true;
            }
        }
    }
    err->input = -1;
    for (int s = 0; s < m->n_syms; s++)
        if (!(known & (1u << s)) && !(m->derived & (1u << s))) {
            snprintf(err->why, sizeof err->why, "symbol %s is not set by any input's shape",
                     m->sym_names && m->sym_names[s] ? m->sym_names[s] : "?");
            return 1;
        }
    /* derived symbols (seq+1) from the others; one an input bound too must agree */
    if (m->derived && rt_desc_derive(m, syms, known, err))
        return 1;
    if (rt_desc_bounds(m, in, syms, err))
        return 1;
    /* Every size these symbol values give must fit before anything is allocated: the
     * arena bounds every planned value, the outputs are checked where they are made. */
    int64_t arena = 0;
    bool fits = true;
    for (int t = 0; fits && t < m->n_arena_terms; t++) {
        int64_t v;
        fits = rt_dim_eval((RtDimDesc){m->arena[t].c, m->arena[t].mask}, syms, &v) &&
               !__builtin_add_overflow(arena, v, &arena);
    }
    if (!fits || arena > RT_MAX_TENSOR_BYTES) {
        snprintf(err->why, sizeof err->why,
                 "model '%s': its working memory overflows for these input shapes",
                 m->name ? m->name : "?");
        return 1;
    }
    for (int i = 0; i < m->n_inputs; i++) {
        const RtIoDesc *t = &m->inputs[i];
        int64_t v, count = 1;
        bool counts = true;
        for (int k = 0; k < t->rank; k++) {
            if (!rt_dim_eval(t->dims[k], syms, &v) || v != in[i].shape[k])
                return rt_io_input_fail(err, i, "dim %d differs", k);
            counts = counts && !__builtin_mul_overflow(count, v, &count);
        }
        size_t need;
        if (!counts || !rt_dtype_bytes(t->dtype, count, &need))
            return rt_io_input_fail(err, i, "its size overflows");
        if (in[i].nbytes < need || (need && !in[i].data))
            return rt_io_input_fail(err, i, "%zu bytes of data for %zu needed", in[i].nbytes, need);
    }
    return 0;
}
