/* Writes a graph as a readable, flat .slim model plus the safetensors file of its
 * constants (`slimc import`). */
#ifndef SLIMC_FE_SLIM_WRITE_H
#define SLIMC_FE_SLIM_WRITE_H

#include "ir/graph.h"

/* Writes g (as imported: no passes run, no epilogues) to slim_path and its constants to
 * the safetensors file next to it (slim_path with .safetensors for .slim). Weighted ops
 * become modules (Conv2d, Linear, BatchNorm2d, LayerNorm, Embedding) with PyTorch's
 * parameter names; other constants become Parameter(...) modules; every other op its
 * function form. Reports each node or constant the language cannot express yet and
 * writes nothing then. Both files are written atomically. */
bool fe_slim_write(const Graph *g, const char *slim_path, Diag *d);

#endif
