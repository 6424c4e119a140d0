/* .npy reader and writer, and the file helpers (read-only mapping, atomic write) that
 * the safetensors code shares. The format: "\x93NUMPY", a major and a minor version byte,
 * the header length (2 bytes LE in 1.0, 4 bytes in 2.0 and 3.0), the header — a Python
 * dict literal {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } padded with
 * spaces and a '\n' so the data starts at a multiple of 64 — then the raw C-order data. */
#include "frontend/npy.h"

#include "frontend/files.h"
#include "frontend/json.h"
#include "ir/arena.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "slimc's file readers and writers assume a little-endian host"
#endif

#define NPY_MAGIC     "\x93NUMPY"
#define NPY_MAGIC_LEN 6
#define NPY_ALIGN     64
/* numpy leaves room after the header for the first dim to grow to this many digits */
#define NPY_GROWTH_DIGITS 21

/* The dtypes slimc reads, by the descr's kind letter and size in bytes. ('u', 2) is bf16
 * when the caller asks (FE_NPY_U2_AS_BF16), else u16. */
static const struct {
    char kind;
    int size;
    DType dtype;
} npy_types[] = {
    {'f', 8, IR_F64}, {'f', 4, IR_F32}, {'f', 2, IR_F16}, {'i', 8, IR_I64},  {'i', 4, IR_I32},
    {'i', 2, IR_I16}, {'i', 1, IR_I8},  {'u', 1, IR_U8},  {'b', 1, IR_BOOL}, {'u', 2, IR_BF16},
    {'u', 2, IR_U16}, {'u', 4, IR_U32}, {'u', 8, IR_U64},
};

/* The descr slimc writes for each dtype; NULL: no .npy form. */
static const char *npy_descr(DType t)
{
    switch (t) {
    case IR_F64: return "<f8";
    case IR_F32: return "<f4";
    case IR_F16: return "<f2";
    case IR_BF16: return "<u2";
    case IR_I64: return "<i8";
    case IR_I32: return "<i4";
    case IR_I16: return "<i2";
    case IR_I8: return "|i1";
    case IR_U8: return "|u1";
    case IR_BOOL: return "|b1";
    case IR_U16: return "<u2";
    case IR_U32: return "<u4";
    case IR_U64: return "<u8";
    case IR_F8E4M3FN: /* no numpy dtype */
    case IR_F8E4M3FNUZ:
    case IR_F8E5M2:
    case IR_F8E5M2FNUZ:
    case IR_U4:
    case IR_I2:
    case IR_U2:
    case IR_F4E2M1:
    case IR_F8E8M0:
    case IR_I4:
    case IR_NUM_DTYPES: break;
    }
    return NULL;
}

/* Reports a user error about file name (no line: these are binary files). */
static bool fail(const char *name, Diag *d, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static bool fail(const char *name, Diag *d, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    diag_error(d, (SrcLoc){name, 0, 0}, "%s", msg);
    return false;
}

/* "(2, 3)" as numpy prints a shape tuple: "()" for 0-d, "(3,)" for one dim. */
static void format_shape(char *buf, size_t cap, const int64_t *shape, int ndim)
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
 * product of its dims — zeros counted as ones, so that every stride fits as well —
 * times esize does not fit in int64_t. */
static bool shape_bytes(const int64_t *shape, int ndim, size_t esize, size_t *nbytes)
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

typedef struct Header {
    const char *name; /* file name for messages */
    Diag *d;
    const char *s; /* the header text (not NUL-terminated) */
    size_t len, pos;
    int version;
} Header;

static void hdr_ws(Header *h)
{
    while (h->pos < h->len && strchr(" \t\r\n", h->s[h->pos]) && h->s[h->pos])
        h->pos++;
}

static bool hdr_at(const Header *h, char c)
{
    return h->pos < h->len && h->s[h->pos] == c;
}

/* Describes what is at the current position, for "expected X, found Y". */
static const char *hdr_found(const Header *h, char *buf, size_t cap)
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

static bool hdr_expected(Header *h, const char *what)
{
    char buf[48];
    return fail(h->name, h->d, "malformed .npy header: expected %s, found %s", what,
                hdr_found(h, buf, sizeof buf));
}

/* A Python string literal in single or double quotes, without escapes (numpy's keys and
 * the descrs slimc reads have none). Points into the header. */
static bool hdr_string(Header *h, const char **s, size_t *n)
{
    if (!hdr_at(h, '\'') && !hdr_at(h, '"'))
        return hdr_expected(h, "a quoted string");
    char q = h->s[h->pos++];
    size_t start = h->pos;
    while (h->pos < h->len && h->s[h->pos] != q) {
        if (h->s[h->pos] == '\\' || h->s[h->pos] == '\n')
            return fail(h->name, h->d,
                        "malformed .npy header: escape or newline in a string at header byte %zu",
                        h->pos);
        h->pos++;
    }
    if (h->pos >= h->len)
        return fail(h->name, h->d, "malformed .npy header: unterminated string");
    *s = h->s + start;
    *n = h->pos - start;
    h->pos++;
    return true;
}

static bool hdr_word(Header *h, const char *w)
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
static bool hdr_dim(Header *h, int64_t *out)
{
    size_t start = h->pos;
    bool neg = hdr_at(h, '-');
    if (neg)
        h->pos++;
    if (h->pos >= h->len || h->s[h->pos] < '0' || h->s[h->pos] > '9')
        return hdr_expected(h, "an integer dimension");
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
        return fail(h->name, h->d, "malformed .npy header: integer '%.*s' has a leading zero", len,
                    h->s + start);
    if (h->version <= 2 && hdr_at(h, 'L'))
        h->pos++;
    if (neg)
        return fail(h->name, h->d, "negative dimension %.*s in the shape", len, h->s + start);
    if (overflow)
        return fail(h->name, h->d, "dimension %.*s%s in the shape is too large", len, h->s + start,
                    h->pos - start > 40 ? "..." : "");
    *out = (int64_t)v;
    return true;
}

/* A shape tuple: (), (3,), (2, 3) or (2, 3,); (3) is an int, not a tuple, and refused
 * as numpy refuses it. More than IR_MAX_RANK dims is an error. */
static bool hdr_shape(Header *h, int *ndim, int64_t *shape)
{
    if (hdr_at(h, '['))
        return fail(h->name, h->d, "the shape must be a tuple, not a list");
    if (!hdr_at(h, '('))
        return hdr_expected(h, "a shape tuple");
    h->pos++;
    hdr_ws(h);
    int n = 0;
    bool comma = false;
    while (!hdr_at(h, ')')) {
        int64_t dim = 0;
        if (!hdr_dim(h, &dim))
            return false;
        if (n < IR_MAX_RANK)
            shape[n] = dim;
        n++;
        hdr_ws(h);
        comma = hdr_at(h, ',');
        if (comma) {
            h->pos++;
            hdr_ws(h);
        } else if (!hdr_at(h, ')'))
            return hdr_expected(h, "',' or ')' in the shape");
    }
    h->pos++;
    if (n == 1 && !comma)
        return fail(h->name, h->d,
                    "the shape (%lld) is not a tuple (a one-dim shape is written (%lld,))",
                    (long long)shape[0], (long long)shape[0]);
    if (n > IR_MAX_RANK)
        return fail(h->name, h->d, "the shape has %d dimensions; slimc supports at most %d", n,
                    IR_MAX_RANK);
    *ndim = n;
    return true;
}

/* What a descr kind letter means, for the message refusing it. */
static const char *kind_meaning(char kind, int size)
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
static bool descr_dtype(Header *h, const char *s, size_t n, unsigned flags, DType *dtype,
                        bool *swap)
{
    char q[96];
    fe_quote_for_message(q, sizeof q, s, n);
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
            return fail(h->name, h->d, "dtype '%s' (%s) is not supported (%s)", q,
                        kind_meaning(kind, 0), supported);
        return fail(h->name, h->d, "dtype '%s' is not supported (%s)", q, supported);
    }
    for (size_t k = 0; k < sizeof npy_types / sizeof npy_types[0]; k++) {
        if (npy_types[k].kind != kind || npy_types[k].size != size)
            continue;
        if (npy_types[k].dtype == IR_BF16 && !(flags & FE_NPY_U2_AS_BF16))
            continue;
        if (order == '=')
            return fail(h->name, h->d,
                        "dtype '%s' has the native byte order '=', which a file cannot "
                        "have; expected '<' or '>'",
                        q);
        if (order == '|' && size > 1)
            return fail(h->name, h->d, "dtype '%s': byte order '|' is only for one-byte types", q);
        *dtype = npy_types[k].dtype;
        *swap = order == '>' && size > 1;
        return true;
    }
    return fail(h->name, h->d, "dtype '%s' (%s) is not supported (%s)", q, kind_meaning(kind, size),
                supported);
}

typedef struct NpyInfo {
    DType dtype;
    bool swap;
    int ndim;
    int64_t shape[IR_MAX_RANK];
} NpyInfo;

/* The header dict: the three keys numpy writes, in any order, each once, an optional
 * trailing comma, then only whitespace. */
static bool parse_dict(Header *h, unsigned flags, NpyInfo *info)
{
    enum { K_DESCR, K_FORTRAN, K_SHAPE };
    static const char *const keys[] = {"descr", "fortran_order", "shape"};
    bool seen[3] = {false, false, false}, fortran = false;
    const char *descr = NULL;
    size_t descr_len = 0;

    hdr_ws(h);
    if (!hdr_at(h, '{'))
        return hdr_expected(h, "'{'");
    h->pos++;
    for (;;) {
        hdr_ws(h);
        if (hdr_at(h, '}'))
            break;
        const char *key;
        size_t key_len;
        if (!hdr_string(h, &key, &key_len))
            return false;
        int k = -1;
        for (int j = 0; j < 3; j++)
            if (strlen(keys[j]) == key_len && memcmp(keys[j], key, key_len) == 0)
                k = j;
        char q[96];
        if (k < 0)
            return fail(h->name, h->d,
                        "unexpected key '%s' in the .npy header (expected descr, "
                        "fortran_order and shape)",
                        fe_quote_for_message(q, sizeof q, key, key_len));
        if (seen[k])
            return fail(h->name, h->d, "key '%s' appears twice in the .npy header", keys[k]);
        seen[k] = true;
        hdr_ws(h);
        if (!hdr_at(h, ':'))
            return hdr_expected(h, "':'");
        h->pos++;
        hdr_ws(h);
        if (k == K_DESCR) {
            if (hdr_at(h, '['))
                return fail(h->name, h->d,
                            "structured dtypes (a descr that lists fields) are not supported");
            if (!hdr_string(h, &descr, &descr_len))
                return false;
        } else if (k == K_FORTRAN) {
            if (hdr_word(h, "True"))
                fortran = true;
            else if (!hdr_word(h, "False"))
                return hdr_expected(h, "True or False for fortran_order");
        } else if (!hdr_shape(h, &info->ndim, info->shape))
            return false;
        hdr_ws(h);
        if (hdr_at(h, ','))
            h->pos++;
        else if (!hdr_at(h, '}'))
            return hdr_expected(h, "',' or '}'");
    }
    h->pos++;
    hdr_ws(h);
    if (h->pos < h->len)
        return hdr_expected(h, "only padding after the header dict");
    for (int j = 0; j < 3; j++)
        if (!seen[j])
            return fail(h->name, h->d, "the .npy header has no '%s' key", keys[j]);
    if (!descr_dtype(h, descr, descr_len, flags, &info->dtype, &info->swap))
        return false;
    if (fortran)
        return fail(h->name, h->d,
                    "the array is in Fortran order (fortran_order: True), which slimc "
                    "does not read; save a C-order copy (np.ascontiguousarray)");
    return true;
}

static void byteswap(unsigned char *p, size_t nbytes, size_t esize)
{
    for (size_t i = 0; i + esize <= nbytes; i += esize)
        for (size_t a = i, b = i + esize - 1; a < b; a++, b--) {
            unsigned char t = p[a];
            p[a] = p[b];
            p[b] = t;
        }
}

bool fe_npy_parse_ex(const char *name, const void *buf, size_t len, unsigned flags, NpyArray *out,
                     Diag *d)
{
    const unsigned char *b = buf;
    memset(out, 0, sizeof *out);
    if (len == 0)
        return fail(name, d, "file is empty (not a .npy file)");
    if (len < NPY_MAGIC_LEN + 2 || memcmp(b, NPY_MAGIC, NPY_MAGIC_LEN) != 0) {
        size_t n = len < NPY_MAGIC_LEN ? len : NPY_MAGIC_LEN;
        if (memcmp(b, NPY_MAGIC, n) == 0)
            return fail(name, d, "file is truncated (%zu bytes) inside the .npy preamble", len);
        return fail(name, d, "not a .npy file (it does not start with \\x93NUMPY)");
    }
    int major = b[6], minor = b[7];
    if ((major < 1 || major > 3) || minor != 0)
        return fail(name, d, ".npy format version %d.%d is not supported (1.0, 2.0 and 3.0 are)",
                    major, minor);
    size_t pre = major == 1 ? 10 : 12;
    if (len < pre)
        return fail(name, d, "file is truncated (%zu bytes) inside the .npy preamble", len);
    size_t hlen = b[8] | (size_t)b[9] << 8;
    if (major > 1)
        hlen |= (size_t)b[10] << 16 | (size_t)b[11] << 24;
    if (hlen > len - pre)
        return fail(name, d,
                    "the .npy header length %zu runs past the end of the file (%zu bytes after "
                    "the preamble)",
                    hlen, len - pre);

    Header h = {name, d, (const char *)b + pre, hlen, 0, major};
    NpyInfo info = {0};
    if (!parse_dict(&h, flags, &info))
        return false;

    size_t esize = (size_t)ir_dtype_bits(info.dtype) / 8, nbytes;
    char shape_text[256];
    format_shape(shape_text, sizeof shape_text, info.shape, info.ndim);
    if (!shape_bytes(info.shape, info.ndim, esize, &nbytes))
        return fail(name, d, "the shape %s is too large", shape_text);
    size_t have = len - pre - hlen;
    if (have < nbytes)
        return fail(name, d,
                    "the data is truncated: shape %s of %s needs %zu bytes, the file has %zu",
                    shape_text, ir_dtype_name(info.dtype), nbytes, have);
    if (have > nbytes)
        return fail(
            name, d,
            "%zu bytes after the data of shape %s of %s (the shape does not match the data)",
            have - nbytes, shape_text, ir_dtype_name(info.dtype));

    const unsigned char *src = b + pre + hlen;
    if (info.dtype == IR_BOOL)
        for (size_t i = 0; i < nbytes; i++)
            if (src[i] > 1)
                return fail(name, d,
                            "bool element %zu has the byte value %u (a bool must be 0 or 1)", i,
                            src[i]);
    unsigned char *data = malloc(nbytes ? nbytes : 1);
    if (!data)
        return fail(name, d, "out of memory for %zu bytes of data", nbytes);
    if (nbytes)
        memcpy(data, src, nbytes);
    if (info.swap)
        byteswap(data, nbytes, esize);
    out->dtype = info.dtype;
    out->ndim = info.ndim;
    memcpy(out->shape, info.shape, sizeof info.shape);
    out->data = data;
    out->nbytes = nbytes;
    return true;
}

bool fe_npy_parse(const char *name, const void *buf, size_t len, NpyArray *out, Diag *d)
{
    return fe_npy_parse_ex(name, buf, len, 0, out, d);
}

bool fe_npy_read_ex(const char *path, unsigned flags, NpyArray *out, Diag *d)
{
    void *map;
    size_t len;
    memset(out, 0, sizeof *out);
    if (!fe_map_file(path, &map, &len, d))
        return false;
    static const char empty[1];
    bool ok = fe_npy_parse_ex(path, map ? map : empty, len, flags, out, d);
    fe_unmap_file(map, len);
    return ok;
}

bool fe_npy_read(const char *path, NpyArray *out, Diag *d)
{
    return fe_npy_read_ex(path, 0, out, d);
}

void fe_npy_free(NpyArray *a)
{
    if (!a)
        return;
    free(a->data);
    memset(a, 0, sizeof *a);
}

bool fe_npy_write(const char *path, DType dtype, int ndim, const int64_t *shape, const void *data,
                  Diag *d)
{
    const char *descr = npy_descr(dtype);
    if (!descr)
        return fail(path, d,
                    "cannot write %s to .npy: the format has no such dtype (unpack i4 to i8 first)",
                    ir_dtype_name(dtype));
    if (ndim < 0 || ndim > IR_MAX_RANK)
        return fail(path, d, "cannot write an array of rank %d (at most %d)", ndim, IR_MAX_RANK);
    SLIMC_ASSERT(ndim == 0 || shape);
    for (int i = 0; i < ndim; i++)
        if (shape[i] < 0)
            return fail(path, d, "cannot write an array with the negative dimension %lld",
                        (long long)shape[i]);
    size_t nbytes;
    char shape_text[256];
    format_shape(shape_text, sizeof shape_text, shape, ndim);
    if (!shape_bytes(shape, ndim, (size_t)ir_dtype_bits(dtype) / 8, &nbytes))
        return fail(path, d, "cannot write an array of shape %s: too large", shape_text);
    SLIMC_ASSERT(nbytes == 0 || data);

    /* As numpy's _write_array_header: the dict with sorted keys, room for the first dim to
     * grow, then spaces and '\n' up to a multiple of 64 (always at least one space). */
    char header[512];
    int n = snprintf(header, sizeof header,
                     "{'descr': '%s', 'fortran_order': False, 'shape': %s, }", descr, shape_text);
    SLIMC_ASSERT(n > 0 && (size_t)n < sizeof header - 2 * NPY_ALIGN);
    size_t hlen = (size_t)n;
    if (ndim > 0) {
        char first[24];
        int digits = snprintf(first, sizeof first, "%lld", (long long)shape[0]);
        for (int i = digits; i < NPY_GROWTH_DIGITS; i++)
            header[hlen++] = ' ';
    }
    size_t pad = NPY_ALIGN - (10 + hlen + 1) % NPY_ALIGN;
    memset(header + hlen, ' ', pad);
    hlen += pad;
    header[hlen++] = '\n';
    unsigned char pre[10];
    memcpy(pre, NPY_MAGIC, NPY_MAGIC_LEN);
    pre[6] = 1;
    pre[7] = 0;
    pre[8] = (unsigned char)(hlen & 0xFF);
    pre[9] = (unsigned char)(hlen >> 8);
    FeChunk chunks[3] = {{pre, sizeof pre}, {header, hlen}, {data, nbytes}};
    return fe_write_file_atomic(path, chunks, 3, d);
}

/* ---- file helpers ---- */

bool fe_map_file(const char *path, void **map, size_t *len, Diag *d)
{
    *map = NULL;
    *len = 0;
    struct stat st;
    const char *why;
    int fd = fe_open_regular(path, &st, &why); /* no FIFO, device, folder or /proc file */
    if (fd < 0)
        return why ? fail(path, d, "%s", why) : fail(path, d, "cannot open: %s", strerror(errno));
    if ((uint64_t)st.st_size > SIZE_MAX) {
        close(fd);
        return fail(path, d, "file too large to map");
    }
    size_t n = (size_t)st.st_size;
    if (n > 0) {
        void *p = mmap(NULL, n, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            int e = errno;
            close(fd);
            return fail(path, d, "cannot map: %s", strerror(e));
        }
        *map = p;
    }
    close(fd);
    *len = n;
    return true;
}

void fe_unmap_file(void *map, size_t len)
{
    if (map)
        munmap(map, len);
}

/* write(2) until done, retrying on EINTR and short writes. */
static bool write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n > 0) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        c += w;
        n -= (size_t)w;
    }
    return true;
}

bool fe_write_file_atomic(const char *path, const FeChunk *chunks, int n_chunks, Diag *d)
{
    static atomic_uint counter;
    size_t cap = strlen(path) + 48;
    char *tmp = malloc(cap);
    if (!tmp)
        return fail(path, d, "out of memory");
    int fd = -1;
    for (int attempt = 0; attempt < 100; attempt++) {
        snprintf(tmp, cap, "%s.tmp%ld.%u", path, (long)getpid(), atomic_fetch_add(&counter, 1u));
        /* 0666 less the umask, as any file the user creates */
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0 || errno != EEXIST)
            break;
    }
    if (fd < 0) {
        int e = errno;
        free(tmp);
        return fail(path, d, "cannot create a file in its folder: %s", strerror(e));
    }
    const char *what = NULL;
    for (int i = 0; i < n_chunks && !what; i++)
        if (chunks[i].len && !write_all(fd, chunks[i].data, chunks[i].len))
            what = "cannot write";
    if (!what && fsync(fd) != 0)
        what = "cannot flush to disk";
    int e = errno;
    if (close(fd) != 0 && !what) {
        what = "cannot write";
        e = errno;
    }
    if (!what && rename(tmp, path) != 0) {
        what = "cannot replace";
        e = errno;
    }
    if (what) {
        unlink(tmp);
        free(tmp);
        return fail(path, d, "%s: %s", what, e ? strerror(e) : "short write");
    }
    free(tmp);
    return true;
}
