/* Fine-tuning inside slimc compress (api/finetune.c): the trainer hook of the finetune pass
 * (passes/finetune.h), installed by slimc_model_compress for the time its pipeline runs. */
#ifndef SLIMC_API_FINETUNE_H
#define SLIMC_API_FINETUNE_H

#include "api/api_internal.h"

/* slimc_train with the trained values written into wb's constants instead of a file: wb is
 * the graph model->g was cloned from (api/train.c). data: the samples and the labels already
 * in memory (o->data and o->labels name their files, for messages), or NULL to read the
 * files o names. */
SlimcStatus api_train_into_graph(SlimcContext *ctx, SlimcModel *model, const SlimcTrainOptions *o,
                                 const SlimcTensor *data, Graph *wb);
/* Installs (ctx) or removes (NULL) the finetune pass's trainer. */
void api_finetune_install(SlimcContext *ctx);

#endif
