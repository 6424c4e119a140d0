/* .npy files (format versions 1.0, 2.0 and 3.0): C order only; dtypes f64, f32, f16,
 * i64, i32, i16, i8, u8, bool, little- or big-endian, and bf16, which numpy has no dtype
 * for: slimc writes bf16 as raw '<u2' and reads '<u2' as bf16 only when the caller asks
 * (FE_NPY_U2_AS_BF16). i4 has no .npy form. docs/formats.md has the whole contract. */
#ifndef SLIMC_FE_NPY_H
#define SLIMC_FE_NPY_H

#include "ir/diag.h"
#include "ir/types.h"

typedef struct NpyArray {
    DType dtype;
    int ndim;
    int64_t shape[IR_MAX_RANK];
    void *data; /* malloc'd, little-endian, C order; free with fe_npy_free */
    size_t nbytes;
} NpyArray;

/* Flags for fe_npy_read_ex and fe_npy_parse_ex. */
enum {
    /* Read '<u2' / '>u2' as bf16 bit patterns (how slimc and `t.view(torch.int16)`-style
     * exports store bf16). Without it, uint16 is refused like every other uint. */
    FE_NPY_U2_AS_BF16 = 1u << 0,
};

/* Reads path. Every header field is checked (magic, version, header length, dict syntax,
 * descr, fortran_order, shape, data size against the file size); an error names the file
 * and what is wrong, and returns false with *out zeroed. Big-endian data is converted. */
bool fe_npy_read(const char *path, NpyArray *out, Diag *d);
bool fe_npy_read_ex(const char *path, unsigned flags, NpyArray *out, Diag *d);
/* Parses an in-memory .npy image (for fuzzing and tests); the data is copied. name is
 * the file name used in messages. */
bool fe_npy_parse(const char *name, const void *buf, size_t len, NpyArray *out, Diag *d);
bool fe_npy_parse_ex(const char *name, const void *buf, size_t len, unsigned flags, NpyArray *out,
                     Diag *d);
/* Writes a version 1.0 file byte for byte as numpy's np.save would (bf16 as '<u2'),
 * atomically (a temp file in the same folder, then rename): on error no file is left
 * and an existing file at path is untouched. data holds the C-order elements
 * (ir_dtype_bytes(dtype, numel) bytes; may be NULL when there are none). */
bool fe_npy_write(const char *path, DType dtype, int ndim, const int64_t *shape, const void *data,
                  Diag *d);
void fe_npy_free(NpyArray *a);

/* ---- file helpers shared by the .npy and safetensors readers and writers ---- */

/* Maps path read-only. A regular file only; an empty file maps to *map == NULL with
 * *len == 0. Errors name the file. Release with fe_unmap_file. */
bool fe_map_file(const char *path, void **map, size_t *len, Diag *d);
void fe_unmap_file(void *map, size_t len);
/* Reports a user error about binary file name (no line), as printf; returns false. */
bool fe_file_error(const char *name, Diag *d, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

typedef struct FeChunk {
    const void *data;
    size_t len;
} FeChunk;
/* Writes the concatenated chunks to path atomically: a new file in the same folder,
 * flushed to disk, then renamed over path. On any error the temp file is removed, path
 * is left as it was, an error naming path is reported, and false returned. */
bool fe_write_file_atomic(const char *path, const FeChunk *chunks, int n_chunks, Diag *d);

#endif
