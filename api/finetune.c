/* The finetune pass's trainer (api/finetune.h): the graph as it is at the pass's point of
 * the compress pipeline (pruned, not yet laid out or fused) is copied into a model of its
 * own, trained by the training loop (api/train.c) on the pass's data, and the trained
 * values written back into the graph's constants. */
#include "api/finetune.h"

#include "passes/finetune.h"
#include "passes/qat.h"

#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static bool finetune(void *user, Graph *g, const PassFinetune *f, Diag *d)
{
    SlimcContext *ctx = user;
    (void)d; /* the pipeline's diagnostics are ctx's */
    SlimcTrainOptions o;
    slimc_train_options_default(&o);
    o.data = f->data->path;
    o.labels = f->labels->path;
    o.epochs = f->epochs;
    o.batch_size = f->batch;
    o.lr = f->lr;
    o.momentum = f->momentum;
    o.weight_decay = f->weight_decay;
    o.optimizer = (SlimcOptimizer)f->optimizer;
    o.seed = f->seed;
    o.keep_zeros = f->keep_zeros;
    o.progress = stderr;
    SlimcModel *m = calloc(1, sizeof *m);
    SLIMC_ASSERT(m);
    m->g = ir_graph_clone(g);
    m->g->max_memory = g->max_memory;
    if (f->qat) {
        int layers = 0;
        if (!pass_qat_insert(m->g, f->data, &layers, &ctx->diag)) {
            ir_diag_note(&ctx->diag, f->at, "while preparing quantization-aware training");
            slimc_model_free(m);
            return false;
        }
        if (layers == 0)
            ir_diag_warning(&ctx->diag, f->at,
                            "finetune(qat=1): no conv2d or linear layer to fake-quantize (no f32 "
                            "constant weight): this trains in plain f32");
        else
            fprintf(stderr, "finetune: quantization-aware, %d layers fake-quantized to int8\n",
                    layers);
    }
    api_model_describe(m);
    SlimcTensor data[2]; /* the files' contents, loaded by the pipeline (api/pipeline.c) */
    for (int i = 0; i < 2; i++) {
        const PassFile *pf = i ? f->labels : f->data;
        data[i] = (SlimcTensor){.dtype = (SlimcDType)pf->dtype,
                                .ndim = pf->ndim,
                                .data = (void *)(uintptr_t)pf->data,
                                .nbytes = pf->nbytes};
        memcpy(data[i].shape, pf->shape, sizeof(int64_t) * (size_t)pf->ndim);
    }
    int before = ctx->diag.n_errors;
    bool ok = api_train_into_graph(ctx, m, &o, data, g) == SLIMC_OK;
    slimc_model_free(m);
    if (!ok && ctx->diag.n_errors > before)
        ir_diag_note(&ctx->diag, f->at, "while fine-tuning (this step of the pipeline)");
    return ok;
}

void api_finetune_install(SlimcContext *ctx)
{
    pass_set_trainer(ctx ? finetune : NULL, ctx);
}
