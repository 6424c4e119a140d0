/* The finetune pass (passes/finetune.c): `finetune(epochs=3, data="x.npy", labels="y.npy",
 * lr=1e-3, batch=64, optimizer=adam, seed=0, momentum=0, weight_decay=0, keep_zeros=1, qat=0)` in
 * a compress pipeline trains the graph as it is at that point (a pruned graph, before
 * quantize) on the data, then leaves the trained values in the graph's constants. The pass
 * checks its arguments and the data against the graph; the training itself (compiling the
 * step, the loop) is the API's, installed as a hook by slimc_model_compress only: a pass
 * does no I/O and compiles nothing, and fine-tuning happens once, when compressing, never
 * when a model is compiled to run (docs/passes.md, docs/training.md). */
#ifndef SLIMC_PASSES_FINETUNE_H
#define SLIMC_PASSES_FINETUNE_H

#include "passes/pass.h"

/* What the pass hands the trainer: the options as given (defaults filled in) and the data,
 * checked: data f32 or f64 [N, ...] of the graph's input shape past its batch dimension,
 * labels i64 or i32 [N] in [0, classes) or -100. */
typedef struct PassFinetune {
    int epochs, batch;
    double lr, momentum, weight_decay; /* weight_decay -1: the optimizer's default */
    int optimizer;                     /* 0 sgd, 1 adam, 2 adamw (SlimcOptimizer's order) */
    uint64_t seed;
    bool keep_zeros; /* weights that are 0 (pruned) stay 0; default on */
    bool qat;        /* quantization-aware: fake_quant nodes while training (passes/qat.h) */
    const PassFile *data, *labels;
    SrcLoc at; /* the finetune step in the pipeline's text */
} PassFinetune;

/* Trains g in place (its parameter constants replaced by new arena constants holding the
 * trained values); false with errors in d. user is what pass_set_trainer was given. */
typedef bool (*PassTrainFn)(void *user, Graph *g, const PassFinetune *f, Diag *d);
/* Installs the trainer (NULL: none, and finetune is an error that says it runs only when
 * compressing). */
void pass_set_trainer(PassTrainFn fn, void *user);

bool pass_finetune(Graph *g, const PassArgs *args, Diag *d);

#endif
