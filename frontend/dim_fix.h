/* Input shapes and symbolic dims fixed by the user at import (--shape NAME=d0,d1,...,
 * --dim SYMBOL=N; slimc_fix_shape / slimc_fix_dim). Both front ends (ONNX, .slim) ask a
 * FeFixer while they make the graph's inputs, so a fixed dim is static from the first node
 * on: shape arithmetic over it folds, and convolutions or Resize on it import.
 *
 * A --shape fixes every dim of one input (named, or given by its position "0", "1"...);
 * the symbols its dims had in the model take those values everywhere (an ONNX dim_param
 * shared by two inputs, a .slim N). A --dim fixes one symbol by name. docs/cli.md. */
#ifndef SLIMC_FE_DIM_FIX_H
#define SLIMC_FE_DIM_FIX_H

#include "ir/diag.h"
#include "ir/types.h"

#define FE_MAX_FIXES 64 /* of each kind */

typedef struct FeShapeFix {
    const char *input; /* a graph input's name, or its position in decimal */
    int rank;
    int64_t dims[IR_MAX_RANK]; /* each >= 1 */
} FeShapeFix;

typedef struct FeDimFix {
    const char *symbol;
    int64_t value; /* >= 1 */
} FeDimFix;

typedef struct FeFixes {
    FeShapeFix shapes[FE_MAX_FIXES];
    int n_shapes;
    FeDimFix dims[FE_MAX_FIXES];
    int n_dims;
} FeFixes;

/* One import's use of the fixes. The front end calls, in order: fe_fixer_init (all input
 * names), fe_fixer_learn for each input (its dims' symbol names), then fe_fixer_symbol /
 * fe_fixer_shape while it makes the inputs, and fe_fixer_finish. */
typedef struct FeFixer {
    const FeFixes *f; /* NULL: nothing fixed (every call is a no-op) */
    const char *path;
    Diag *d;
    int shape_of[FE_MAX_FIXES]; /* the input each --shape names, or -1 */
    bool dim_used[FE_MAX_FIXES];
    /* symbol values learnt from --shape: symbol, value, the --shape that fixed it */
    const char *sym[FE_MAX_FIXES * IR_MAX_RANK];
    int64_t val[FE_MAX_FIXES * IR_MAX_RANK];
    int from[FE_MAX_FIXES * IR_MAX_RANK];
    int n_sym;
    const char *seen[FE_MAX_FIXES * IR_MAX_RANK]; /* the model's symbol names (did-you-mean) */
    int n_seen;
    bool ok;
} FeFixer;

/* Matches each --shape to an input by name, else by position; an unknown one is an error
 * with a did-you-mean. names: the graph inputs' names (not copied; must outlive x). */
void fe_fixer_init(FeFixer *x, const FeFixes *f, const char *const *names, int n_inputs,
                   const char *path, Diag *d);
/* Input i has rank dims, dim k symbolic with the name syms[k] (NULL: static or an
 * expression): checks a --shape's rank and learns the values of the symbols it fixes (two
 * different values for one symbol are an error). */
void fe_fixer_learn(FeFixer *x, int input, int rank, const char *const *syms);
/* The value the user gave the symbol name (by --dim or through a --shape): true and *value,
 * else false. Records the name for fe_fixer_finish's suggestions. */
bool fe_fixer_symbol(FeFixer *x, const char *name, int64_t *value);
/* Same for a name fe_fixer_symbol saw already (a model's expression naming a symbol). */
bool fe_fixer_symbol_seen(FeFixer *x, const char *name, int64_t *value);
/* The --shape of input i, or NULL. */
const FeShapeFix *fe_fixer_shape(const FeFixer *x, int input);
/* Checks input i's type against its --shape (a static dim that differs is an error) and
 * makes every dim static; false after an error. */
bool fe_fixer_apply(FeFixer *x, int input, const char *name, Shape *s);
/* Reports each --dim that named no symbol of the model (did you mean...); false when any
 * fix was wrong. */
bool fe_fixer_finish(FeFixer *x);

#endif
