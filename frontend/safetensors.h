/* safetensors files: an 8-byte little-endian header length, a JSON header mapping tensor
 * names to {dtype, shape, data_offsets}, then the data. Read with mmap, every field
 * checked; written atomically. */
#ifndef SLIMC_FE_SAFETENSORS_H
#define SLIMC_FE_SAFETENSORS_H

#include "ir/diag.h"
#include "ir/types.h"

typedef struct StTensor {
    char *name;
    DType dtype;           /* F64 F32 F16 BF16 I64 I32 I16 I8 U8 BOOL */
    int ndim;
    int64_t shape[IR_MAX_RANK];
    const void *data;      /* points into the mapping */
    size_t nbytes;
    bool used;             /* set by whoever binds it, to warn about unused tensors */
} StTensor;

typedef struct StFile {
    char *path;
    void *map;             /* the whole file, mmapped read-only */
    size_t map_len;
    int n_tensors;
    StTensor *tensors;     /* sorted by name */
    char *metadata_json;   /* the "__metadata__" object as text, or NULL */
} StFile;

/* Opens and validates path: header length within the file, valid JSON, known dtypes,
 * shapes whose byte size matches data_offsets, offsets inside the data area, no two
 * tensors overlapping, no duplicate names. Errors name the file and the tensor. */
StFile *fe_st_open(const char *path, Diag *d);
/* Validates an in-memory image (fuzzing, tests); buf must outlive the result. */
StFile *fe_st_parse(const char *name, const void *buf, size_t len, Diag *d);
void fe_st_close(StFile *f);
StTensor *fe_st_find(StFile *f, const char *name);

typedef struct StWriteTensor {
    const char *name;
    DType dtype;
    int ndim;
    const int64_t *shape;
    const void *data;
    size_t nbytes;
} StWriteTensor;
/* Writes the tensors (in the given order, 8-byte aligned header) atomically. */
bool fe_st_write(const char *path, const StWriteTensor *t, int n, const char *metadata_json,
                 Diag *d);

#endif
