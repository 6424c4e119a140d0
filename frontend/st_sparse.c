/* Compact sparse weights in safetensors files: the bitmask form's encoder and its checked
 * decoder (frontend/st_sparse.h; the format in docs/formats.md). */
#include "frontend/st_sparse.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool is_zero(const float *x)
{
    uint32_t bits;
    memcpy(&bits, x, sizeof bits);
    return bits == 0;
}

size_t fe_st_sparse_bytes(size_t count, size_t nnz)
{
    return nnz * sizeof(float) + (count + 7) / 8;
}

size_t fe_st_sparse_nnz(const float *data, size_t count)
{
    size_t nnz = 0;
    for (size_t i = 0; i < count; i++)
        nnz += !is_zero(&data[i]);
    return nnz;
}

bool fe_st_sparse_pays(const float *data, size_t count)
{
    size_t compact = fe_st_sparse_bytes(count, fe_st_sparse_nnz(data, count));
    return compact + FE_ST_SPARSE_HEADER_COST < count * sizeof(float);
}

void fe_st_sparse_encode(const float *data, size_t count, uint8_t *mask, float *values)
{
    memset(mask, 0, (count + 7) / 8);
    size_t k = 0;
    for (size_t i = 0; i < count; i++)
        if (!is_zero(&data[i])) {
            mask[i / 8] |= (uint8_t)(1u << (i % 8));
            values[k++] = data[i];
        }
}

/* "[d0,d1,...]" (no spaces, decimal dims) into dims; false when malformed. */
static bool parse_shape(const char *s, int64_t *dims, int *rank)
{
    *rank = 0;
    if (*s++ != '[')
        return false;
    if (*s == ']')
        return s[1] == 0;
    for (;;) {
        if (*rank == IR_MAX_RANK || *s < '0' || *s > '9')
            return false;
        int64_t v = 0;
        while (*s >= '0' && *s <= '9') {
            if (v > (INT64_MAX - 9) / 10)
                return false;
            v = v * 10 + (*s++ - '0');
        }
        dims[(*rank)++] = v;
        if (*s == ']')
            return s[1] == 0;
        if (*s++ != ',')
            return false;
    }
}

bool fe_st_sparse_shape(const char *meta, int64_t *dims, int *rank)
{
    size_t flen = strlen(FE_ST_SPARSE_FORMAT);
    return strncmp(meta, FE_ST_SPARSE_FORMAT, flen) == 0 && meta[flen] == ':' &&
           parse_shape(meta + flen + 1, dims, rank);
}

__attribute__((format(printf, 3, 4))) static bool fail(char *why, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, size, fmt, ap);
    va_end(ap);
    return false;
}

bool fe_st_sparse_decode(StFile *f, const char *name, const int64_t *want, int rank, float *out,
                         bool *present, char *why, size_t why_size)
{
    const char *meta = fe_st_metadata_get(f, name);
    *present = meta && strncmp(meta, "sparse_", 7) == 0;
    if (!*present)
        return false;
    size_t flen = strlen(FE_ST_SPARSE_FORMAT);
    if (strncmp(meta, FE_ST_SPARSE_FORMAT, flen) != 0 || meta[flen] != ':')
        return fail(why, why_size,
                    "'%s' is stored in an unknown compact format '%s' (slimc reads "
                    "sparse_bitmask)",
                    name, meta);
    int64_t dims[IR_MAX_RANK];
    int n_dims;
    if (!parse_shape(meta + flen + 1, dims, &n_dims))
        return fail(why, why_size, "the metadata of '%s' ('%s') is not sparse_bitmask:[d0,d1,...]",
                    name, meta);
    bool same = n_dims == rank;
    for (int i = 0; same && i < rank; i++)
        same = dims[i] == want[i];
    if (!same)
        return fail(why, why_size, "compact tensor '%s' has the dense shape %s, not the module's",
                    name, meta + flen + 1);
    size_t count = 1;
    for (int i = 0; i < rank; i++)
        count *= (size_t)want[i]; /* the module's shape: already checked */
    char tn[1100];
    snprintf(tn, sizeof tn, "%s.mask", name);
    StTensor *mask = fe_st_find(f, tn);
    snprintf(tn, sizeof tn, "%s.values", name);
    StTensor *values = fe_st_find(f, tn);
    if (!mask || !values)
        return fail(why, why_size, "compact tensor '%s' lacks its '%s' tensor", name,
                    !mask ? "mask" : "values");
    if (mask->dtype != IR_U8 || mask->ndim != 1)
        return fail(why, why_size, "'%s.mask' must be U8 of rank 1 (%s)", name,
                    mask->dtype != IR_U8 ? ir_dtype_name(mask->dtype) : "another rank");
    if (values->dtype != IR_F32 || values->ndim != 1)
        return fail(why, why_size, "'%s.values' must be F32 of rank 1 (%s)", name,
                    values->dtype != IR_F32 ? ir_dtype_name(values->dtype) : "another rank");
    char detail[96];
    if ((uint64_t)mask->shape[0] != (count + 7) / 8) {
        snprintf(detail, sizeof detail, "%" PRId64 " bytes, not %zu", mask->shape[0],
                 (count + 7) / 8);
        return fail(why, why_size, "'%s.mask' has %s", name, detail);
    }
    const uint8_t *m = mask->data;
    size_t nnz = 0;
    for (size_t i = 0; i < (count + 7) / 8; i++)
        nnz += (size_t)__builtin_popcount(m[i]);
    if (count % 8 && (m[count / 8] >> (count % 8)) != 0) {
        snprintf(detail, sizeof detail, "past the tensor's %zu elements", count);
        return fail(why, why_size, "'%s.mask' has a bit set %s", name, detail);
    }
    if ((uint64_t)values->shape[0] != nnz) {
        snprintf(detail, sizeof detail, "%" PRId64 " values, but its mask has %zu bits set",
                 values->shape[0], nnz);
        return fail(why, why_size, "'%s.values' has %s", name, detail);
    }
    if (!out)
        return true;                       /* checked only */
    const unsigned char *v = values->data; /* maybe unaligned: memcpy */
    size_t k = 0;
    for (size_t i = 0; i < count; i++)
        if (m[i / 8] >> (i % 8) & 1)
            memcpy(&out[i], v + sizeof(float) * k++, sizeof(float));
        else
            out[i] = 0.0f;
    mask->used = values->used = true;
    return true;
}
