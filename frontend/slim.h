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

/* How fe_slim_load_ex loads. */
typedef struct FeSlimOptions {
    /* A model without a weights line is not an error: its parameters start from
     * PyTorch's default initialisation (frontend/init_params.c), drawn from slimc's
     * generator (ir/rng.h) seeded with seed. For training only: `slimc run` refuses such
     * a model (fe_slim_load). */
    bool init_missing_weights;
    uint64_t seed;
    /* Loaded for training: dropout(x, p) and Dropout(p) become dropout nodes (outside
     * training they are the identity and leave no node). */
    bool training;
    /* Input shapes and symbolic dims the user fixed (--shape, --dim); NULL: none. */
    const struct FeFixes *fixes;
} FeSlimOptions;
/* fe_slim_load with options (NULL: as fe_slim_load). */
Graph *fe_slim_load_ex(const char *path, const FeSlimOptions *o, Diag *d);
/* Same, from text in memory (path names it in messages; relative paths resolve from its folder). */
Graph *fe_slim_parse(const char *path, const char *text, size_t len, Diag *d);
Graph *fe_slim_parse_ex(const char *path, const char *text, size_t len, const FeSlimOptions *o,
                        Diag *d);

#endif
