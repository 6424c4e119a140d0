/* The model language front end: a .slim file to a shape-checked Graph. */
#ifndef SLIMC_FE_SLIM_H
#define SLIMC_FE_SLIM_H

#include "ir/graph.h"

/* Reads, parses and elaborates path: builds the graph of its model, binds the modules'
 * parameters to the weights file by their PyTorch names, infers shapes and checks the
 * declared output types. Reports every error of the file (syntax, unknown names, shapes,
 * weights) to d and returns NULL if there was any. The compress block, if present, is
 * left in g->compress. */
Graph *fe_slim_load(const char *path, Diag *d);
/* Same, from text in memory (path names it in messages; relative paths resolve from its folder). */
Graph *fe_slim_parse(const char *path, const char *text, size_t len, Diag *d);

#endif
