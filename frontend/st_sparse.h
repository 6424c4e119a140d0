/* The compact form of a sparse f32 weight inside a safetensors file (docs/formats.md,
 * "Compact sparse weights"): instead of the dense tensor NAME, the file holds
 *   NAME.values  F32 [nnz]             the elements whose bits are not +0.0, row-major order
 *   NAME.mask    U8  [ceil(numel/8)]   bit i (byte i/8, bit i%8, LSB first) set when element
 *                                      i of the row-major dense tensor is in NAME.values
 * and the "__metadata__" entry NAME: "sparse_bitmask:[d0,d1,...]" (the dense shape).
 * `slimc compress` writes it for conv2d/linear weights when it is smaller; the weights
 * binding (frontend/build_weights.c) rebuilds the dense tensor bit for bit. */
#ifndef SLIMC_FE_ST_SPARSE_H
#define SLIMC_FE_ST_SPARSE_H

#include "frontend/safetensors.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FE_ST_SPARSE_FORMAT "sparse_bitmask"
/* What a compact tensor pair's names and metadata cost in the header, at most: the
 * compact form is used only when it saves more than this. */
#define FE_ST_SPARSE_HEADER_COST 256

/* The bytes of the compact form of count f32 elements of which nnz are not +0.0. */
size_t fe_st_sparse_bytes(size_t count, size_t nnz);
/* The elements of data[count] whose bits are not all zero (+0.0 is the only zero:
 * -0.0 and NaN are kept, so the rebuilt tensor is bit-identical). */
size_t fe_st_sparse_nnz(const float *data, size_t count);
/* True when the compact form of data[count] is smaller than the dense one by more than
 * FE_ST_SPARSE_HEADER_COST bytes. */
bool fe_st_sparse_pays(const float *data, size_t count);
/* Fills mask[ceil(count/8)] and values[nnz] (nnz from fe_st_sparse_nnz). */
void fe_st_sparse_encode(const float *data, size_t count, uint8_t *mask, float *values);

/* The dense shape of a metadata value "sparse_bitmask:[d0,...]" into dims[IR_MAX_RANK]:
 * false when meta is not that (another format, malformed, a dim past INT64_MAX / 10). */
bool fe_st_sparse_shape(const char *meta, int64_t *dims, int *rank);
/* The dense tensor called name, rebuilt from its compact form in f: false with
 * *present false when f has no compact form of name (no metadata entry); false with
 * *present true and why (a message naming the tensor) when the form is broken: an
 * unknown format, a shape that is not want[rank], a missing tensor, a wrong dtype or
 * count, a bit set past the end. On success out[count] (count = the product of want)
 * holds the dense tensor and the two tensors are marked used; with out NULL it only
 * checks (so that a caller allocates the dense tensor for a valid form only). */
bool fe_st_sparse_decode(StFile *f, const char *name, const int64_t *want, int rank, float *out,
                         bool *present, char *why, size_t why_size);

#endif
