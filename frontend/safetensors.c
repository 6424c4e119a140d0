/* safetensors reader (mmap, every field checked) and writer (atomic). The format:
 *   u64 LE   N, the header length
 *   N bytes  a JSON object: "name": {"dtype": "F32", "shape": [2, 3], "data_offsets":
 *            [begin, end]} for each tensor, and optionally "__metadata__": {string: string}
 *   ...      the data area; offsets are relative to its start */
#include "frontend/safetensors.h"

#include "frontend/json.h"
#include "frontend/npy.h" /* fe_map_file, fe_write_file_atomic */
#include "ir/arena.h"
#include "runtime/model_desc.h" /* rt_file_kind */

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "slimc's file readers and writers assume a little-endian host"
#endif

#define ST_MAX_HEADER 100000000u /* as the reference implementation */
#define ST_MAX_ERRORS 20         /* per file; the rest are counted */

/* safetensors dtype names and the dtypes slimc maps them to. */
static const struct {
    const char *name;
    DType dtype;
} st_types[] = {
    {"F64", IR_F64}, {"F32", IR_F32}, {"F16", IR_F16}, {"BF16", IR_BF16}, {"I64", IR_I64},
    {"I32", IR_I32}, {"I16", IR_I16}, {"I8", IR_I8},   {"U8", IR_U8},     {"BOOL", IR_BOOL},
    {"U16", IR_U16}, {"U32", IR_U32}, {"U64", IR_U64},
};
#define ST_N_TYPES (sizeof st_types / sizeof st_types[0])

static const char *st_type_name(DType t)
{
    for (size_t i = 0; i < ST_N_TYPES; i++)
        if (st_types[i].dtype == t)
            return st_types[i].name;
    return NULL;
}

static size_t esize_of(DType t)
{
    return (size_t)ir_dtype_bits(t) / 8;
}

/* Byte size of a C-order tensor: false when the product of its dims — zeros counted as
 * ones, so that every stride fits as well — times esize does not fit in int64_t. */
static bool tensor_bytes(const int64_t *shape, int ndim, size_t esize, size_t *nbytes)
{
    uint64_t vol = esize, n = esize;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0)
            return false;
        uint64_t dim = (uint64_t)shape[i];
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

/* ---- reading ---- */

/* A tensor while its file is checked: what StTensor gets, plus its offsets. */
typedef struct Entry {
    StTensor t;
    uint64_t begin, end;
    bool ok; /* every field present and valid */
} Entry;

typedef struct Reader {
    const char *name; /* the file, for messages */
    Diag *d;
    JsonReader json;
    int n_errors;
    Entry *e;
    int n, cap;
    StMeta *meta;
    int n_meta, cap_meta;
    char *meta_json;
    bool seen_meta;
} Reader;

/* Reports an error about the file (the first ST_MAX_ERRORS; the rest are counted). */
static void rd_error(Reader *rd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void rd_error(Reader *rd, const char *fmt, ...)
{
    if (rd->n_errors++ >= ST_MAX_ERRORS)
        return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    ir_diag_error(rd->d, (SrcLoc){rd->name, 0, 0}, "%s", msg);
}

/* Reports the JSON reader's error, naming the tensor it was in (NULL: none). */
static bool json_error(Reader *rd, const char *tensor)
{
    char q[96];
    if (tensor)
        rd_error(rd, "invalid safetensors header at byte %zu (tensor '%s'): %s", rd->json.err_pos,
                 fe_quote_for_message(q, sizeof q, tensor, strlen(tensor)), rd->json.err);
    else
        rd_error(rd, "invalid safetensors header at byte %zu: %s", rd->json.err_pos, rd->json.err);
    return false;
}

static bool key_is(const char *key, size_t len, const char *want)
{
    return strlen(want) == len && memcmp(key, want, len) == 0;
}

/* A JSON array of at most max non-negative integers into v; *n is how many there were
 * (possibly more than max: only the first max are kept). Negative values are reported
 * (field names the array) and make *ok false. */
static bool read_ints(Reader *rd, const char *qname, const char *field, int64_t *v, int max, int *n,
                      bool *ok)
{
    JsonReader *r = &rd->json;
    *n = 0;
    if (!fe_json_begin_array(r))
        return false;
    while (fe_json_next_item(r)) {
        int64_t x;
        if (!fe_json_int(r, &x))
            return false;
        if (x < 0) {
            rd_error(rd, "tensor '%s': negative value %lld in %s", qname, (long long)x, field);
            *ok = false;
        }
        if (*n < max)
            v[*n] = x;
        (*n)++;
    }
    return !r->failed;
}

/* One tensor's entry {"dtype", "shape", "data_offsets"}; semantic errors are reported and
 * make e->ok false, JSON errors return false. */
static bool read_entry(Reader *rd, Entry *e, const char *qname)
{
    JsonReader *r = &rd->json;
    bool seen[3] = {false, false, false};
    static const char *const fields[] = {"dtype", "shape", "data_offsets"};
    int64_t offs[2] = {0, 0};
    int n_offs = 0;
    e->ok = true;
    if (!fe_json_begin_object(r))
        return false;
    char *key;
    size_t key_len;
    while (fe_json_next_key(r, &key, &key_len)) {
        int k = -1;
        for (int j = 0; j < 3; j++)
            if (key_is(key, key_len, fields[j]))
                k = j;
        char qkey[64];
        fe_quote_for_message(qkey, sizeof qkey, key, key_len);
        free(key);
        if (k >= 0 && seen[k]) {
            rd_error(rd, "tensor '%s': key '%s' appears twice", qname, fields[k]);
            e->ok = false;
        }
        if (k < 0) {
            rd_error(rd, "tensor '%s': unknown key '%s' (expected dtype, shape and data_offsets)",
                     qname, qkey);
            e->ok = false;
            if (!fe_json_skip(r))
                return false;
            continue;
        }
        seen[k] = true;
        if (k == 0) {
            char *dt;
            size_t dt_len;
            if (!fe_json_string(r, &dt, &dt_len))
                return false;
            size_t i = 0;
            while (i < ST_N_TYPES && !key_is(dt, dt_len, st_types[i].name))
                i++;
            if (i < ST_N_TYPES)
                e->t.dtype = st_types[i].dtype;
            else {
                char qdt[64];
                rd_error(
                    rd,
                    "tensor '%s': dtype '%s' is not supported (slimc reads F64 F32 F16 BF16 I64 "
                    "I32 I16 I8 U8 BOOL)",
                    qname, fe_quote_for_message(qdt, sizeof qdt, dt, dt_len));
                e->ok = false;
            }
            free(dt);
        } else if (k == 1) {
            int n;
            if (!read_ints(rd, qname, "shape", e->t.shape, IR_MAX_RANK, &n, &e->ok))
                return false;
            if (n > IR_MAX_RANK) {
                rd_error(rd, "tensor '%s': rank %d is more than slimc supports (%d)", qname, n,
                         IR_MAX_RANK);
                e->ok = false;
            }
            e->t.ndim = n > IR_MAX_RANK ? IR_MAX_RANK : n;
        } else {
            if (!read_ints(rd, qname, "data_offsets", offs, 2, &n_offs, &e->ok))
                return false;
            if (n_offs != 2) {
                rd_error(rd, "tensor '%s': data_offsets has %d values, not 2 [begin, end]", qname,
                         n_offs);
                e->ok = false;
            }
        }
    }
    if (r->failed)
        return false;
    for (int j = 0; j < 3; j++)
        if (!seen[j]) {
            rd_error(rd, "tensor '%s': no '%s'", qname, fields[j]);
            e->ok = false;
        }
    e->begin = (uint64_t)offs[0];
    e->end = (uint64_t)offs[1];
    return true;
}

/* "__metadata__": an object of strings. Kept decoded and as text. */
static bool read_metadata(Reader *rd)
{
    JsonReader *r = &rd->json;
    if (rd->seen_meta) {
        rd_error(rd, "\"__metadata__\" appears twice");
        return fe_json_skip(r);
    }
    rd->seen_meta = true;
    if (fe_json_peek(r) != FE_JSON_OBJECT) {
        rd_error(rd, "\"__metadata__\" must be an object of strings, not %s",
                 fe_json_kind_name(fe_json_peek(r)));
        return fe_json_skip(r);
    }
    size_t start = r->pos;
    if (!fe_json_begin_object(r))
        return false;
    char *key;
    size_t key_len;
    while (fe_json_next_key(r, &key, &key_len)) {
        char qkey[64], *value = NULL;
        size_t value_len;
        fe_quote_for_message(qkey, sizeof qkey, key, key_len);
        if (fe_json_peek(r) != FE_JSON_STRING) {
            rd_error(rd, "\"__metadata__\" value of '%s' must be a string, not %s", qkey,
                     fe_json_kind_name(fe_json_peek(r)));
            free(key);
            if (!fe_json_skip(r))
                return false;
            continue;
        }
        if (!fe_json_string(r, &value, &value_len)) {
            free(key);
            return false;
        }
        if (strlen(key) != key_len || strlen(value) != value_len) {
            rd_error(rd, "\"__metadata__\" entry '%s' holds a NUL character", qkey);
            free(key);
            free(value);
            continue;
        }
        if (rd->n_meta == rd->cap_meta) {
            int cap = rd->cap_meta ? 2 * rd->cap_meta : 8;
            StMeta *m = realloc(rd->meta, (size_t)cap * sizeof *m);
            if (!m) {
                free(key);
                free(value);
                return fe_json_fail(r, "out of memory");
            }
            rd->meta = m;
            rd->cap_meta = cap;
        }
        rd->meta[rd->n_meta++] = (StMeta){key, value};
    }
    if (r->failed)
        return false;
    size_t n = r->pos - start;
    rd->meta_json = malloc(n + 1);
    if (!rd->meta_json)
        return fe_json_fail(r, "out of memory");
    memcpy(rd->meta_json, r->text + start, n);
    rd->meta_json[n] = 0;
    return true;
}

/* The header object: each key a tensor, or "__metadata__". */
static bool read_header(Reader *rd)
{
    JsonReader *r = &rd->json;
    JsonKind kind = fe_json_peek(r);
    if (kind != FE_JSON_OBJECT && kind != FE_JSON_INVALID)
        fe_json_fail(r, "the header must be a JSON object, not %s", fe_json_kind_name(kind));
    if (!fe_json_begin_object(r))
        return json_error(rd, NULL);
    char *key;
    size_t key_len;
    while (fe_json_next_key(r, &key, &key_len)) {
        if (key_is(key, key_len, "__metadata__")) {
            free(key);
            if (!read_metadata(rd))
                return json_error(rd, NULL);
            continue;
        }
        char qname[96];
        fe_quote_for_message(qname, sizeof qname, key, key_len);
        if (rd->n == rd->cap) {
            int cap = rd->cap ? 2 * rd->cap : 16;
            Entry *e = realloc(rd->e, (size_t)cap * sizeof *e);
            if (!e) {
                free(key);
                rd_error(rd, "out of memory for %d tensors", rd->cap);
                return false;
            }
            rd->e = e;
            rd->cap = cap;
        }
        Entry *e = &rd->e[rd->n++];
        memset(e, 0, sizeof *e);
        e->t.name = key;
        if (!read_entry(rd, e, qname))
            return json_error(rd, key);
        if (strlen(key) != key_len) {
            rd_error(rd, "tensor '%s': the name holds a NUL character", qname);
            e->ok = false;
        }
    }
    if (r->failed || !fe_json_finish(r))
        return json_error(rd, NULL);
    return true;
}

/* Checks each tensor's size against its offsets and the data area. */
static void check_sizes(Reader *rd, uint64_t data_len)
{
    for (int i = 0; i < rd->n; i++) {
        Entry *e = &rd->e[i];
        if (!e->ok)
            continue;
        char qname[96];
        fe_quote_for_message(qname, sizeof qname, e->t.name, strlen(e->t.name));
        size_t nbytes;
        e->ok = false;
        if (!tensor_bytes(e->t.shape, e->t.ndim, esize_of(e->t.dtype), &nbytes))
            rd_error(rd, "tensor '%s': the shape is too large", qname);
        else if (e->end < e->begin)
            rd_error(rd, "tensor '%s': data_offsets [%llu, %llu] end before they begin", qname,
                     (unsigned long long)e->begin, (unsigned long long)e->end);
        else if (e->end - e->begin != nbytes)
            rd_error(rd,
                     "tensor '%s': data_offsets [%llu, %llu] hold %llu bytes, but its shape of %s "
                     "needs %zu",
                     qname, (unsigned long long)e->begin, (unsigned long long)e->end,
                     (unsigned long long)(e->end - e->begin), st_type_name(e->t.dtype), nbytes);
        else if (e->end > data_len)
            rd_error(rd,
                     "tensor '%s': data_offsets [%llu, %llu] run past the end of the data area "
                     "(%llu bytes)",
                     qname, (unsigned long long)e->begin, (unsigned long long)e->end,
                     (unsigned long long)data_len);
        else {
            e->t.nbytes = nbytes;
            e->ok = true;
        }
    }
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const Entry *)a)->t.name, ((const Entry *)b)->t.name);
}

static int by_key(const void *a, const void *b)
{
    return strcmp(((const StMeta *)a)->key, ((const StMeta *)b)->key);
}

/* A tensor's byte range, for the overlap check. */
typedef struct Span {
    uint64_t begin, end;
    int entry;
} Span;

static int by_offset(const void *a, const void *b)
{
    const Span *x = a, *y = b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end)
        return x->end < y->end ? -1 : 1;
    return 0;
}

/* Sorts the tensors by name and reports duplicate names, duplicate metadata keys and
 * tensors whose bytes overlap. */
static void check_layout(Reader *rd)
{
    if (rd->n > 1) /* qsort wants a non-NULL base even for nothing */
        qsort(rd->e, (size_t)rd->n, sizeof *rd->e, by_name);
    char q[96], q2[96];
    for (int i = 1; i < rd->n; i++)
        if (strcmp(rd->e[i - 1].t.name, rd->e[i].t.name) == 0) {
            rd_error(rd, "tensor '%s' appears twice",
                     fe_quote_for_message(q, sizeof q, rd->e[i].t.name, strlen(rd->e[i].t.name)));
            rd->e[i].ok = false;
        }
    if (rd->n_meta > 1)
        qsort(rd->meta, (size_t)rd->n_meta, sizeof *rd->meta, by_key);
    for (int i = 1; i < rd->n_meta; i++)
        if (strcmp(rd->meta[i - 1].key, rd->meta[i].key) == 0)
            rd_error(rd, "\"__metadata__\" key '%s' appears twice",
                     fe_quote_for_message(q, sizeof q, rd->meta[i].key, strlen(rd->meta[i].key)));
    if (rd->n == 0)
        return;

    /* With the valid tensors sorted by (begin, end), one overlaps an earlier one exactly
     * when it begins before the furthest end so far. Empty tensors overlap nothing. */
    Span *spans = malloc((size_t)rd->n * sizeof *spans);
    int n = 0;
    if (!spans) {
        rd_error(rd, "out of memory");
        return;
    }
    for (int i = 0; i < rd->n; i++)
        if (rd->e[i].ok && rd->e[i].end > rd->e[i].begin)
            spans[n++] = (Span){rd->e[i].begin, rd->e[i].end, i};
    if (n > 1)
        qsort(spans, (size_t)n, sizeof *spans, by_offset);
    int far = -1; /* the tensor that ends furthest so far */
    for (int k = 0; k < n; k++) {
        const Entry *e = &rd->e[spans[k].entry];
        if (far >= 0 && e->begin < rd->e[far].end) {
            const Entry *f = &rd->e[far];
            rd_error(rd, "tensors '%s' [%llu, %llu) and '%s' [%llu, %llu) overlap",
                     fe_quote_for_message(q, sizeof q, f->t.name, strlen(f->t.name)),
                     (unsigned long long)f->begin, (unsigned long long)f->end,
                     fe_quote_for_message(q2, sizeof q2, e->t.name, strlen(e->t.name)),
                     (unsigned long long)e->begin, (unsigned long long)e->end);
        }
        if (far < 0 || e->end > rd->e[far].end)
            far = spans[k].entry;
    }
    free(spans);
}

/* Checks that bool tensors hold only 0 and 1. */
static void check_bools(Reader *rd)
{
    for (int i = 0; i < rd->n; i++) {
        const StTensor *t = &rd->e[i].t;
        if (t->dtype != IR_BOOL)
            continue;
        const unsigned char *p = t->data;
        for (size_t j = 0; j < t->nbytes; j++)
            if (p[j] > 1) {
                char q[96];
                rd_error(
                    rd,
                    "tensor '%s': bool element %zu has the byte value %u (a bool must be 0 or 1)",
                    fe_quote_for_message(q, sizeof q, t->name, strlen(t->name)), j, p[j]);
                break;
            }
    }
}

static void free_reader(Reader *rd)
{
    for (int i = 0; i < rd->n; i++)
        free(rd->e[i].t.name);
    for (int i = 0; i < rd->n_meta; i++) {
        free(rd->meta[i].key);
        free(rd->meta[i].value);
    }
    free(rd->e);
    free(rd->meta);
    free(rd->meta_json);
}

StFile *fe_st_parse(const char *name, const void *buf, size_t len, Diag *d)
{
    Reader rd = {.name = name, .d = d};
    const unsigned char *b = buf;
    if (len < 8) {
        rd_error(&rd, "file is too short (%zu bytes) for a safetensors header length (8 bytes)",
                 len);
        return NULL;
    }
    int kind = rt_file_kind(b, len);
    if (kind != RT_FILE_UNKNOWN && kind != RT_FILE_SAFETENSORS) {
        rd_error(&rd, "not a safetensors file: %s", rt_file_kind_hint(kind, RT_ROLE_WEIGHTS));
        return NULL;
    }
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = hlen << 8 | b[i];
    /* The length is the file's first 8 bytes: a file that is not safetensors (a model
     * may name any file as its weights) must not see them echoed in the message. */
    if (hlen > ST_MAX_HEADER) {
        rd_error(&rd,
                 "the safetensors header length (its first 8 bytes) is more than the limit of %u "
                 "bytes: not a safetensors file?",
                 ST_MAX_HEADER);
        return NULL;
    }
    if (hlen > len - 8) {
        rd_error(&rd,
                 "the safetensors header length (its first 8 bytes) runs past the end of the file "
                 "(%zu bytes after the length): truncated, or not a safetensors file",
                 len - 8);
        return NULL;
    }
    const char *data = (const char *)b + 8 + hlen;
    uint64_t data_len = len - 8 - hlen;
    fe_json_init(&rd.json, (const char *)b + 8, (size_t)hlen);

    bool header_ok = read_header(&rd);
    if (!header_ok && rd.n_errors == 0)
        rd_error(&rd, "invalid safetensors header");
    if (header_ok && rd.n_errors == 0) {
        check_sizes(&rd, data_len);
        check_layout(&rd);
        for (int i = 0; i < rd.n && rd.n_errors == 0; i++) {
            StTensor *t = &rd.e[i].t;
            t->data = data + rd.e[i].begin;
            t->aligned = (uintptr_t)t->data % esize_of(t->dtype) == 0;
        }
        if (rd.n_errors == 0)
            check_bools(&rd);
    }
    if (rd.n_errors > ST_MAX_ERRORS)
        ir_diag_note(d, (SrcLoc){name, 0, 0}, "%d more errors not shown",
                     rd.n_errors - ST_MAX_ERRORS);
    StFile *f = rd.n_errors ? NULL : calloc(1, sizeof *f);
    if (!rd.n_errors && f)
        f->tensors = calloc((size_t)rd.n + 1, sizeof *f->tensors);
    if (!rd.n_errors && f && f->tensors)
        f->path = strdup(name);
    if (!f || !f->tensors || !f->path) {
        if (!rd.n_errors)
            rd_error(&rd, "out of memory");
        if (f) {
            free(f->tensors);
            free(f);
        }
        free_reader(&rd);
        return NULL;
    }
    for (int i = 0; i < rd.n; i++)
        f->tensors[i] = rd.e[i].t;
    f->n_tensors = rd.n;
    f->metadata = rd.meta;
    f->n_metadata = rd.n_meta;
    f->metadata_json = rd.meta_json;
    free(rd.e);
    return f;
}

StFile *fe_st_open(const char *path, Diag *d)
{
    void *map;
    size_t len;
    if (!fe_map_file(path, &map, &len, d))
        return NULL;
    static const char empty[8];
    StFile *f = fe_st_parse(path, map ? map : empty, len, d);
    if (!f) {
        fe_unmap_file(map, len);
        return NULL;
    }
    f->map = map;
    f->map_len = len;
    return f;
}

void fe_st_close(StFile *f)
{
    if (!f)
        return;
    for (int i = 0; i < f->n_tensors; i++)
        free(f->tensors[i].name);
    for (int i = 0; i < f->n_metadata; i++) {
        free(f->metadata[i].key);
        free(f->metadata[i].value);
    }
    free(f->tensors);
    free(f->metadata);
    free(f->metadata_json);
    free(f->path);
    fe_unmap_file(f->map, f->map_len);
    free(f);
}

static int find_name(const void *key, const void *elem)
{
    return strcmp(key, ((const StTensor *)elem)->name);
}

StTensor *fe_st_find(StFile *f, const char *name)
{
    if (!f || f->n_tensors == 0)
        return NULL;
    return bsearch(name, f->tensors, (size_t)f->n_tensors, sizeof *f->tensors, find_name);
}

static int find_key(const void *key, const void *elem)
{
    return strcmp(key, ((const StMeta *)elem)->key);
}

const char *fe_st_metadata_get(const StFile *f, const char *key)
{
    if (!f || f->n_metadata == 0)
        return NULL;
    const StMeta *m =
        bsearch(key, f->metadata, (size_t)f->n_metadata, sizeof *f->metadata, find_key);
    return m ? m->value : NULL;
}

/* ---- writing ---- */

/* Fails with an error about file path. */
static bool wfail(const char *path, Diag *d, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static bool wfail(const char *path, Diag *d, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    ir_diag_error(d, (SrcLoc){path, 0, 0}, "%s", msg);
    return false;
}

/* Parses metadata_json (an object of strings) and writes it compactly to m. */
static bool write_metadata(const char *path, FILE *m, const char *json, Diag *d)
{
    JsonReader r;
    fe_json_init(&r, json, strlen(json));
    bool first = true;
    char *key = NULL, *value = NULL;
    size_t key_len, value_len;
    if (fe_json_begin_object(&r)) {
        fputc('{', m);
        while (fe_json_next_key(&r, &key, &key_len)) {
            if (!fe_json_string(&r, &value, &value_len))
                break;
            if (strlen(key) != key_len || strlen(value) != value_len) {
                fe_json_fail(&r, "a NUL character in an entry");
                break;
            }
            if (!first)
                fputc(',', m);
            first = false;
            fe_json_write_string(m, key, key_len);
            fputc(':', m);
            fe_json_write_string(m, value, value_len);
            free(key);
            free(value);
            key = value = NULL;
        }
        fputc('}', m);
    }
    free(key);
    free(value);
    if (!r.failed && fe_json_finish(&r))
        return true;
    return wfail(path, d, "the metadata is not a JSON object of strings: at byte %zu: %s",
                 r.err_pos, r.err);
}

static int by_cstr(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Checks the tensors to write: names, dtypes, shapes, sizes. */
static bool check_write(const char *path, const StWriteTensor *t, int n, Diag *d)
{
    bool ok = true;
    char q[96], shape_err[32];
    for (int i = 0; i < n; i++) {
        SLIMC_ASSERT(t[i].name);
        size_t name_len = strlen(t[i].name), nbytes = 0;
        fe_quote_for_message(q, sizeof q, t[i].name, name_len);
        shape_err[0] = 0;
        if (t[i].ndim < 0 || t[i].ndim > IR_MAX_RANK)
            snprintf(shape_err, sizeof shape_err, "rank %d", t[i].ndim);
        else if (t[i].ndim > 0 && !t[i].shape)
            snprintf(shape_err, sizeof shape_err, "no shape");
        if (!fe_utf8_valid(t[i].name, name_len))
            ok = wfail(path, d, "cannot write tensor '%s': the name is not valid UTF-8", q);
        else if (strcmp(t[i].name, "__metadata__") == 0)
            ok = wfail(path, d,
                       "cannot write a tensor named \"__metadata__\" (the key is reserved)");
        else if (!st_type_name(t[i].dtype))
            ok = wfail(path, d,
                       "cannot write tensor '%s': safetensors has no %s dtype (store i4 packed "
                       "in U8; see docs/formats.md)",
                       q, ir_dtype_name(t[i].dtype));
        else if (shape_err[0])
            ok = wfail(path, d, "cannot write tensor '%s': invalid shape (%s)", q, shape_err);
        else if (!tensor_bytes(t[i].shape, t[i].ndim, esize_of(t[i].dtype), &nbytes))
            ok = wfail(path, d, "cannot write tensor '%s': negative or too large dimensions", q);
        else if (nbytes != t[i].nbytes)
            ok = wfail(path, d,
                       "cannot write tensor '%s': its shape of %s needs %zu bytes, %zu given", q,
                       st_type_name(t[i].dtype), nbytes, t[i].nbytes);
        else
            SLIMC_ASSERT(nbytes == 0 || t[i].data);
    }
    const char **names = malloc((size_t)(n > 0 ? n : 1) * sizeof *names);
    if (!names)
        return wfail(path, d, "out of memory");
    for (int i = 0; i < n; i++)
        names[i] = t[i].name;
    if (n > 1)
        qsort(names, (size_t)n, sizeof *names, by_cstr);
    for (int i = 1; i < n; i++)
        if (strcmp(names[i - 1], names[i]) == 0)
            ok = wfail(path, d, "cannot write tensor '%s' twice",
                       fe_quote_for_message(q, sizeof q, names[i], strlen(names[i])));
    free(names);
    return ok;
}

bool fe_st_write(const char *path, const StWriteTensor *t, int n, const char *metadata_json,
                 Diag *d)
{
    SLIMC_ASSERT(n >= 0 && (n == 0 || t));
    if (!check_write(path, t, n, d))
        return false;

    /* Data layout: by element size, largest first, stable; so every offset is a
     * multiple of the tensor's element size without gaps. */
    uint64_t *begin = malloc((size_t)(n > 0 ? n : 1) * sizeof *begin);
    int *order = malloc((size_t)(n > 0 ? n : 1) * sizeof *order);
    FeChunk *chunks = malloc((size_t)(n + 2) * sizeof *chunks);
    char *header = NULL;
    size_t header_size = 0;
    FILE *m = open_memstream(&header, &header_size);
    bool ok = begin && order && chunks && m;
    if (!ok)
        wfail(path, d, "out of memory");
    uint64_t at = 0;
    int n_order = 0;
    for (size_t es = 8; ok && es >= 1; es /= 2)
        for (int i = 0; i < n; i++)
            if (esize_of(t[i].dtype) == es) {
                begin[i] = at;
                at += t[i].nbytes;
                order[n_order++] = i;
            }

    if (ok) {
        fputc('{', m);
        if (metadata_json) {
            fputs("\"__metadata__\":", m);
            ok = write_metadata(path, m, metadata_json, d);
        }
        for (int i = 0; ok && i < n; i++) {
            if (i > 0 || metadata_json)
                fputc(',', m);
            fe_json_write_string(m, t[i].name, strlen(t[i].name));
            fprintf(m, ":{\"dtype\":\"%s\",\"shape\":[", st_type_name(t[i].dtype));
            for (int k = 0; k < t[i].ndim; k++)
                fprintf(m, k ? ",%lld" : "%lld", (long long)t[i].shape[k]);
            fprintf(m, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)begin[i],
                    (unsigned long long)(begin[i] + t[i].nbytes));
        }
        fputc('}', m);
        /* spaces up to a multiple of 8, so the data area starts 8-aligned */
        while (ok && ftell(m) % 8 != 0)
            fputc(' ', m);
    }
    if (m && fclose(m) != 0 && ok)
        ok = wfail(path, d, "out of memory");
    if (ok && header_size > ST_MAX_HEADER)
        ok = wfail(path, d, "the header would be %zu bytes, more than the limit of %u", header_size,
                   ST_MAX_HEADER);
    if (ok) {
        unsigned char len8[8];
        for (int i = 0; i < 8; i++)
            len8[i] = (unsigned char)((uint64_t)header_size >> (8 * i));
        chunks[0] = (FeChunk){len8, 8};
        chunks[1] = (FeChunk){header, header_size};
        for (int k = 0; k < n_order; k++)
            chunks[2 + k] = (FeChunk){t[order[k]].data, t[order[k]].nbytes};
        ok = fe_write_file_atomic(path, chunks, n + 2, d);
    }
    free(header);
    free(chunks);
    free(order);
    free(begin);
    return ok;
}
