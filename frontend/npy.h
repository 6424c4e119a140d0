/* .npy files (format versions 1.0, 2.0 and 3.0): C order only; dtypes f64, f32, f16,
 * bf16 (stored by numpy as raw '<u2' unless marked; see docs), i64, i32, i16, i8, u8, bool. */
#ifndef SLIMC_FE_NPY_H
#define SLIMC_FE_NPY_H

#include "ir/diag.h"
#include "ir/types.h"

typedef struct NpyArray {
    DType dtype;
    int ndim;
    int64_t shape[IR_MAX_RANK];
    void *data;        /* malloc'd, little-endian, C order; free with fe_npy_free */
    size_t nbytes;
} NpyArray;

/* Reads path. Every header field is checked (magic, version, header length, dict syntax,
 * descr, fortran_order, shape, data size against the file size); an error names the file
 * and what is wrong, and returns false with *out zeroed. Big-endian data is converted. */
bool fe_npy_read(const char *path, NpyArray *out, Diag *d);
/* Parses an in-memory .npy image (for fuzzing and tests); the data is copied. */
bool fe_npy_parse(const char *name, const void *buf, size_t len, NpyArray *out, Diag *d);
/* Writes atomically (a temp file in the same folder, then rename): on error no file is left. */
bool fe_npy_write(const char *path, DType dtype, int ndim, const int64_t *shape,
                  const void *data, Diag *d);
void fe_npy_free(NpyArray *a);

#endif
