/* Writes a graph as a readable, flat .slim model plus the safetensors file of its
 * constants (`slimc import`). */
#ifndef SLIMC_FE_SLIM_WRITE_H
#define SLIMC_FE_SLIM_WRITE_H

#include "ir/graph.h"

#include <stdint.h>

/* Writes g (as imported: no passes run, no epilogues) to slim_path and its constants to
 * the safetensors file next to it (slim_path with .safetensors for .slim). Weighted ops
 * become modules (Conv2d, Linear, BatchNorm2d, LayerNorm, Embedding) with PyTorch's
 * parameter names; other constants become Parameter(...) modules; every other op its
 * function form. Reports each node or constant the language cannot express yet and
 * writes nothing then. Both files are written atomically. */
bool fe_slim_write(const Graph *g, const char *slim_path, Diag *d);

typedef struct FeSlimWriteInfo {
    bool compact;           /* in: sparse conv2d/linear f32 weights in the compact form
                               (frontend/st_sparse.h) where it takes fewer bytes */
    uint64_t weights_bytes; /* out: the size of the safetensors file written */
    uint64_t saved_bytes;   /* out: dense bytes minus compact bytes, over the weights
                               stored compactly */
    int n_compact;          /* out: how many weights were stored compactly */
} FeSlimWriteInfo;
/* fe_slim_write with options and figures (info may be NULL: dense, no figures). */
bool fe_slim_write_with(const Graph *g, const char *slim_path, FeSlimWriteInfo *info, Diag *d);

#endif
