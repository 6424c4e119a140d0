/* One compiled training step (api/train_step.c): the step graph of passes/autodiff.h built
 * from a loaded model, optimized with the passes that keep it a training graph (no
 * bn_fold or weight packing: the parameters are inputs), JIT-compiled once, then run for
 * each mini-batch. The training loop (api/train.c: data, batches, optimizers, schedules,
 * checkpoints, `slimc train` and `slimc distill`) owns the parameters and calls it. */
#ifndef SLIMC_API_TRAIN_STEP_H
#define SLIMC_API_TRAIN_STEP_H

#include "api/api_internal.h"
#include "passes/autodiff.h"

typedef struct ApiTrainStep ApiTrainStep;

/* Builds and compiles the training step of m (loaded, not optimized: its graph is the one
 * differentiated, and m must outlive the step) with the loss spec and o's options
 * (threads, cache). NULL with errors in ctx (an op without a gradient: every one listed). */
ApiTrainStep *api_train_step_new(SlimcContext *ctx, SlimcModel *m, const TrainSpec *spec,
                                 const SlimcOptions *o);
void api_train_step_free(ApiTrainStep *s);
/* With SlimcOptions.profile: each node's time over the steps run since the last call
 * (slimc_exec_profile: the table to out, the Chrome trace to trace when not NULL). */
SlimcStatus api_train_step_profile(SlimcContext *ctx, ApiTrainStep *s, FILE *out,
                                   const char *trace);

/* The parameters, in the order run takes them: the state_dict name, dtype (f32) and shape
 * of each; params point into the model's constants (the initial values). */
int api_train_step_num_params(const ApiTrainStep *s);
const char *api_train_step_param_name(const ApiTrainStep *s, int i);
const SlimcTensor *api_train_step_param_init(const ApiTrainStep *s, int i);
/* The constant of the model's graph that parameter i starts from (the same id in a clone). */
ValueId api_train_step_param_value(const ApiTrainStep *s, int i);
/* Whether the loss takes labels (i64 [N]) and a target (the output's shape: MSE's target,
 * distillation's teacher output). */
bool api_train_step_takes_labels(const ApiTrainStep *s);
bool api_train_step_takes_target(const ApiTrainStep *s);

/* Batch norm layers, which the step trains on the batch's statistics (PyTorch's train()
 * mode): how many; the state_dict name of layer k's running_mean (var 0) or running_var
 * (var 1); and, after a run, layer k's batch mean and biased batch variance ([channels] each, valid
 * until the next run or free) with n, the values a channel they were taken over, for the loop
 * to update the running statistics as PyTorch does: running = (1 - momentum) * running +
 * momentum * batch, the variance times n / (n - 1) first. */
int api_train_step_num_batch_norms(const ApiTrainStep *s);
const char *api_train_step_bn_running_name(const ApiTrainStep *s, int k, int var);
void api_train_step_bn_batch_stats(const ApiTrainStep *s, int k, const float **mean,
                                   const float **var, int64_t *channels, int64_t *n);
/* Layer k's momentum: the model's attribute (BatchNorm2d(..., momentum=m)), 0.1 by default. */
double api_train_step_bn_momentum(const ApiTrainStep *s, int k);
/* The constant of the model's graph holding layer k's running_mean (var 0) or running_var. */
ValueId api_train_step_bn_running_value(const ApiTrainStep *s, int k, int var);

/* Dropout (a model loaded for training keeps its dropout layers; passes/autodiff.h): each
 * run draws every mask from a generator (ir/rng.h) seeded with the seed set here (0 until
 * set); the loop sets one per step, derived from --seed and the step's number, so that a
 * resumed run draws the same masks. The count, and mask k of the last run (count floats,
 * 0 or 1 / (1 - ratio): what the layer's input was multiplied by). */
void api_train_step_set_dropout_seed(ApiTrainStep *s, uint64_t seed);
int api_train_step_num_dropouts(const ApiTrainStep *s);
const float *api_train_step_dropout_mask(const ApiTrainStep *s, int k, size_t *count);

/* Runs one step on a mini-batch: inputs are the model's inputs (n_inputs of them, batch
 * dimension N), labels i64 [N] (NULL when the loss takes none), target (NULL when it takes
 * none), params[i] the current values of parameter i (the caller's buffers, of the
 * parameter's shape). Writes the mean loss to *loss and the gradient of parameter i into
 * grads[i] (caller-owned, the parameter's size). SLIMC_ERROR with a message on bad input. */
SlimcStatus api_train_step_run(SlimcContext *ctx, ApiTrainStep *s, const SlimcTensor *inputs,
                               int n_inputs, const SlimcTensor *labels, const SlimcTensor *target,
                               float *const *params, double *loss, float *const *grads);

#endif
