/* safetensors files: an 8-byte little-endian header length, a JSON header mapping tensor
 * names to {dtype, shape, data_offsets}, then the data. Read with mmap, every field
 * checked; written atomically. docs/formats.md has the whole contract (what is refused,
 * how bf16, i4 and bool are stored). */
#ifndef SLIMC_FE_SAFETENSORS_H
#define SLIMC_FE_SAFETENSORS_H

#include "ir/diag.h"
#include "ir/types.h"

typedef struct StTensor {
    char *name;
    DType dtype; /* F64 F32 F16 BF16 I64 I32 I16 I8 U8 BOOL */
    int ndim;
    int64_t shape[IR_MAX_RANK];
    const void *data; /* points into the mapping */
    size_t nbytes;
    bool aligned; /* data is at a multiple of the element size in memory (true for
                     files slimc or the reference library wrote); when false, copy
                     the data out with memcpy instead of casting the pointer */
    bool used;    /* set by whoever binds it, to warn about unused tensors */
} StTensor;

typedef struct StMeta {
    char *key, *value; /* a "__metadata__" entry, decoded */
} StMeta;

typedef struct StFile {
    char *path;
    void *map; /* the whole file, mmapped read-only */
    size_t map_len;
    int n_tensors;
    StTensor *tensors;   /* sorted by name */
    char *metadata_json; /* the "__metadata__" object as text, or NULL */
    int n_metadata;
    StMeta *metadata; /* its entries, sorted by key */
} StFile;

/* Opens and validates path: header length within the file, valid JSON, known dtypes,
 * shapes whose byte size matches data_offsets, offsets inside the data area, no two
 * tensors overlapping, no duplicate names. Errors name the file and the tensor. */
StFile *fe_st_open(const char *path, Diag *d);
/* Validates an in-memory image (fuzzing, tests); buf must outlive the result. */
StFile *fe_st_parse(const char *name, const void *buf, size_t len, Diag *d);
void fe_st_close(StFile *f);
/* The tensor called name (binary search), or NULL. */
StTensor *fe_st_find(StFile *f, const char *name);
/* The "__metadata__" value of key, or NULL. */
const char *fe_st_metadata_get(const StFile *f, const char *key);

typedef struct StWriteTensor {
    const char *name;
    DType dtype;
    int ndim;
    const int64_t *shape;
    const void *data;
    size_t nbytes;
} StWriteTensor;
/* Writes the tensors atomically; readable by the reference safetensors library. The
 * header lists them in the given order and is padded with spaces to a multiple of 8
 * bytes. The data area holds them without gaps (the reference reader refuses gaps),
 * placed by element size, largest first, and in the given order within one size, so
 * that each tensor's offset is a multiple of its element size. metadata_json, when not
 * NULL, is a JSON object of strings written as "__metadata__". Every tensor is checked
 * (name unique, valid UTF-8 and not "__metadata__"; dtype with a safetensors name; shape;
 * nbytes matching it); errors name the file and the tensor. */
bool fe_st_write(const char *path, const StWriteTensor *t, int n, const char *metadata_json,
                 Diag *d);

#endif
