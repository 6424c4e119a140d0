/* ONNX tensors: the dtypes of TensorProto, their data (raw, typed fields, or external data
 * files next to the model, mapped read-only) converted into constants, and the reader of
 * TensorProto (.pb) files. Split from frontend/onnx.c, whose importer uses these. */
#ifdef SLIMC_WITH_ONNX
#include "frontend/files.h"
#include "frontend/onnx_internal.h"
#include "ir/limits.h"
#include "ir/text_escape.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- dtypes ---- */

/* ONNX TensorProto.DataType to ours; false for the ones slimc has no dtype for. */
bool ox_onnx_dtype(int32_t t, DType *out)
{
    switch (t) {
    case 1: *out = IR_F32; return true;
    case 2: *out = IR_U8; return true;
    case 3: *out = IR_I8; return true;
    case 5: *out = IR_I16; return true;
    case 6: *out = IR_I32; return true;
    case 7: *out = IR_I64; return true;
    case 9: *out = IR_BOOL; return true;
    case 10: *out = IR_F16; return true;
    case 11: *out = IR_F64; return true;
    case 16: *out = IR_BF16; return true;
    case 4: *out = IR_U16; return true;
    case 12: *out = IR_U32; return true;
    case 13: *out = IR_U64; return true;
    case 17: *out = IR_F8E4M3FN; return true;
    case 18: *out = IR_F8E4M3FNUZ; return true;
    case 19: *out = IR_F8E5M2; return true;
    case 20: *out = IR_F8E5M2FNUZ; return true;
    case 21: *out = IR_U4; return true;
    case 22: *out = IR_I4; return true;
    case 23: *out = IR_F4E2M1; return true;
    case 24: *out = IR_F8E8M0; return true;
    case 25: *out = IR_U2; return true;
    case 26: *out = IR_I2; return true;
    default: return false;
    }
}

const char *ox_onnx_dtype_name(int32_t t)
{
    static const char *const names[] = {
        "undefined",      "float",      "uint8",          "int8",       "uint16",   "int16",
        "int32",          "int64",      "string",         "bool",       "float16",  "double",
        "uint32",         "uint64",     "complex64",      "complex128", "bfloat16", "float8e4m3fn",
        "float8e4m3fnuz", "float8e5m2", "float8e5m2fnuz", "uint4",      "int4",     "float4e2m1"};
    return t >= 0 && t < (int32_t)(sizeof names / sizeof names[0]) ? names[t] : "unknown";
}

/* ---- tensors ---- */

/* Refuses an external-data location that is absolute or climbs out of the model folder. */
static bool location_ok(const char *loc)
{
    if (!*loc || loc[0] == '/')
        return false;
    for (const char *p = loc; *p;) {
        const char *q = strchr(p, '/');
        size_t len = q ? (size_t)(q - p) : strlen(p);
        if (len == 2 && p[0] == '.' && p[1] == '.')
            return false;
        if (!q)
            break;
        p = q + 1;
    }
    return true;
}

static void unmap_cleanup(void *arg)
{
    size_t *rec = arg; /* [ptr, len] */
    munmap((void *)rec[0], rec[1]);
}

/* Reads [offset, offset+length) of the external file, mapped for the graph's life. */
static bool read_external(OxImporter *im, const Onnx__TensorProto *t, const char *what, size_t want,
                          const void **data)
{
    const char *loc = NULL;
    int64_t offset = 0, length = -1;
    for (size_t i = 0; i < t->n_external_data; i++) {
        const Onnx__StringStringEntryProto *kv = t->external_data[i];
        if (!kv->key || !kv->value)
            continue;
        char *end = NULL;
        int64_t *num = NULL;
        if (strcmp(kv->key, "location") == 0)
            loc = kv->value;
        else if (strcmp(kv->key, "offset") == 0)
            *(num = &offset) = strtoll(kv->value, &end, 10);
        else if (strcmp(kv->key, "length") == 0)
            *(num = &length) = strtoll(kv->value, &end, 10);
        if (num && (end == kv->value || *end || *num < 0)) { /* "12abc", "", "-8" */
            ir_diag_error(im->d, (SrcLoc){im->path, 0, 0},
                          "%s: external data %s '%s' is not a byte count", what, kv->key,
                          kv->value);
            return false;
        }
    }
    SrcLoc at = {im->path, 0, 0};
    if (!loc) {
        ir_diag_error(im->d, at, "%s: external data without a location", what);
        return false;
    }
    if (!location_ok(loc)) {
        ir_diag_error(im->d, at,
                      "%s: external data location '%s' is outside the model's folder "
                      "(absolute paths and '..' are refused)",
                      what, loc);
        return false;
    }
    if (offset < 0 || (length >= 0 && (size_t)length != want)) {
        ir_diag_error(im->d, at,
                      "%s: external data offset %lld / length %lld do not match the "
                      "tensor's %zu bytes",
                      what, (long long)offset, (long long)length, want);
        return false;
    }
    char *file = ir_arena_printf(im->g->arena, "%s/%s", im->dir, loc);
    /* a regular file inside the model's folder: a symlink out of it is refused */
    struct stat st;
    const char *why;
    int fd = fe_open_inside(im->dir, im->path, loc, &st, &why);
    if (fd < 0) {
        if (why)
            ir_diag_error(im->d, at, "%s: external data '%s' %s", what, file, why);
        else
            ir_diag_error(im->d, at, "%s: cannot read external data '%s': %s", what, file,
                          strerror(errno));
        return false;
    }
    fe_note_input(im->g, file, &st);
    if ((uint64_t)offset + want > (uint64_t)st.st_size) {
        ir_diag_error(im->d, at,
                      "%s: external data '%s' is %lld bytes, too short for %zu bytes at "
                      "offset %lld",
                      what, file, (long long)st.st_size, want, (long long)offset);
        close(fd);
        return false;
    }
    if (want == 0) {
        close(fd);
        *data = "";
        return true;
    }
    void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED) {
        ir_diag_error(im->d, at, "%s: cannot map '%s': %s", what, file, strerror(errno));
        return false;
    }
    size_t *rec = ir_arena_alloc(im->g->arena, 2 * sizeof(size_t));
    rec[0] = (size_t)map;
    rec[1] = (size_t)st.st_size;
    ir_graph_on_free(im->g, unmap_cleanup, rec);
    *data = (const unsigned char *)map + offset;
    return true;
}

/* The conversion shared by initializers and .pb files. arena: where to copy typed-field
 * data (NULL: malloc). Refers to raw_data in place when copy is false. */
static bool tensor_convert(const Onnx__TensorProto *t, const char *file, const char *what,
                           OxImporter *im, Arena *arena, bool copy, OxConst *out, Diag *d)
{
    memset(out, 0, sizeof *out);
    SrcLoc at = {file, 0, 0};
    int32_t dt = t->has_data_type ? t->data_type : 0;
    if (!ox_onnx_dtype(dt, &out->dtype)) {
        ir_diag_error(d, at, "%s: tensors of type %s (%d) are not supported", what,
                      ox_onnx_dtype_name(dt), (int)dt);
        return false;
    }
    if (t->n_dims > IR_MAX_RANK) {
        ir_diag_error(d, at, "%s: rank %zu is more than the %d slimc supports", what, t->n_dims,
                      IR_MAX_RANK);
        return false;
    }
    out->rank = (int)t->n_dims;
    int64_t numel = 1;
    for (size_t i = 0; i < t->n_dims; i++) {
        if (t->dims[i] < 0 || !ir_ckd_mul_i64(numel, t->dims[i], &numel)) {
            ir_diag_error(d, at, "%s: bad dimension %lld%s", what, (long long)t->dims[i],
                          t->dims[i] < 0 ? "" : " (the element count overflows)");
            return false;
        }
        out->shape[i] = t->dims[i];
    }
    size_t bytes;
    if (!ir_ckd_bytes(out->dtype, numel, &bytes)) {
        ir_diag_error(d, at, "%s: byte size overflows (%lld elements of %s)", what,
                      (long long)numel, ox_onnx_dtype_name(dt));
        return false;
    }
    out->nbytes = bytes;
    if (t->has_data_location && t->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL) {
        if (!im) {
            ir_diag_error(d, at, "%s: external data is not allowed here", what);
            return false;
        }
        return read_external(im, t, what, bytes, &out->data);
    }
    size_t count = 0;
    const char *field = NULL;
    if (t->has_raw_data) {
        if (t->raw_data.len != bytes) {
            ir_diag_error(d, at, "%s: raw_data holds %zu bytes, but %s%s needs %zu", what,
                          t->raw_data.len, ox_onnx_dtype_name(dt), "", bytes);
            return false;
        }
        if (!copy) {
            out->data = bytes ? (const void *)t->raw_data.data : "";
            return true;
        }
    } else {
        switch (out->dtype) {
        case IR_F32:
            count = t->n_float_data;
            field = "float_data";
            break;
        case IR_F64:
            count = t->n_double_data;
            field = "double_data";
            break;
        case IR_I64:
            count = t->n_int64_data;
            field = "int64_data";
            break;
        case IR_U32:
        case IR_U64:
            count = t->n_uint64_data;
            field = "uint64_data";
            break;
        case IR_I4:
        case IR_U4:
        case IR_I2:
        case IR_U2:
        case IR_F4E2M1:
            if (numel) {
                ir_diag_error(d, at, "%s: 2- and 4-bit tensors are read from raw_data only", what);
                return false;
            }
            count = t->n_int32_data;
            field = "int32_data";
            break;
        default:
            count = t->n_int32_data;
            field = "int32_data";
            break;
        }
        if (count != (size_t)numel) {
            ir_diag_error(d, at, "%s: %s holds %zu values, but the shape needs %lld", what, field,
                          count, (long long)numel);
            return false;
        }
    }
    unsigned char *p = arena ? ir_arena_alloc(arena, bytes ? bytes : 1) : malloc(bytes ? bytes : 1);
    SLIMC_ASSERT(p);
    if (t->has_raw_data) {
        if (bytes)
            memcpy(p, t->raw_data.data, bytes);
    } else {
        for (size_t i = 0; i < count; i++) {
            switch (out->dtype) {
            case IR_F32: memcpy(p + 4 * i, &t->float_data[i], 4); break;
            case IR_F64: memcpy(p + 8 * i, &t->double_data[i], 8); break;
            case IR_I64: memcpy(p + 8 * i, &t->int64_data[i], 8); break;
            case IR_I32: memcpy(p + 4 * i, &t->int32_data[i], 4); break;
            case IR_I16: {
                int16_t v = (int16_t)t->int32_data[i];
                memcpy(p + 2 * i, &v, 2);
                break;
            }
            case IR_F16:
            case IR_BF16: {
                uint16_t v = (uint16_t)t->int32_data[i];
                memcpy(p + 2 * i, &v, 2);
                break;
            }
            case IR_BOOL: p[i] = t->int32_data[i] != 0; break;
            case IR_U16: {
                uint16_t v = (uint16_t)t->int32_data[i];
                memcpy(p + 2 * i, &v, 2);
                break;
            }
            case IR_U32: {
                uint32_t v = (uint32_t)t->uint64_data[i];
                memcpy(p + 4 * i, &v, 4);
                break;
            }
            case IR_U64: memcpy(p + 8 * i, &t->uint64_data[i], 8); break;
            default: p[i] = (unsigned char)t->int32_data[i]; break;
            }
        }
    }
    out->data = p;
    return true;
}

bool ox_tensor_to_const(OxImporter *im, const Onnx__TensorProto *t, const char *what, OxConst *out)
{
    if (!tensor_convert(t, im->path, what, im, im->g->arena, false, out, im->d))
        return false;
    if (im->f16_as_f32 && (out->dtype == IR_F16 || out->dtype == IR_BF16)) {
        OxConst f;
        if (!ox_const_make(im, &f, IR_F32, out->rank, out->shape))
            return false;
        for (int64_t i = 0; i < ox_const_numel(out); i++)
            ox_const_set(&f, i, ox_const_get(out, i));
        *out = f;
    }
    return true;
}

bool fe_onnx_tensor_parse(const char *path, const void *buf, size_t len, NpyArray *out, char **name,
                          Diag *d)
{
    memset(out, 0, sizeof *out);
    if (name)
        *name = NULL;
    Onnx__TensorProto *t = onnx__tensor_proto__unpack(NULL, len, buf);
    if (!t) {
        ir_diag_error(d, (SrcLoc){path, 0, 0}, "not a valid ONNX TensorProto (protobuf) file");
        return false;
    }
    OxConst c;
    bool ok = tensor_convert(t, path, "tensor", NULL, NULL, true, &c, d);
    if (ok) {
        out->dtype = c.dtype;
        out->ndim = c.rank;
        for (int i = 0; i < c.rank; i++)
            out->shape[i] = c.shape[i];
        out->data = (void *)c.data;
        out->nbytes = c.nbytes;
        if (name) {
            *name = strdup(t->name ? t->name : "");
            SLIMC_ASSERT(*name);
        }
    }
    onnx__tensor_proto__free_unpacked(t, NULL);
    return ok;
}

bool fe_onnx_tensor_read(const char *path, NpyArray *out, char **name, Diag *d)
{
    void *map;
    size_t len;
    memset(out, 0, sizeof *out);
    if (!fe_map_file(path, &map, &len, d))
        return false;
    bool ok = fe_onnx_tensor_parse(path, map ? map : "", len, out, name, d);
    fe_unmap_file(map, len);
    return ok;
}

#endif
