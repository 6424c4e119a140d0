/* Training: reverse-mode differentiation of an inference graph into one training-step graph
 * (passes/autodiff.c, with the per-op gradient rules of the ops whose ops.def row says
 * IR_F_DIFF), which the API compiles like any model and drives from its training loop
 * (api/train.c: batches, optimizer, checkpoints). docs/training.md says how to use it.
 *
 * The step graph computes, for one mini-batch, the loss and the gradient of the loss with
 * respect to every parameter. Parameters are the float constants that differentiable
 * nodes read as learnable inputs (conv2d/linear weight and bias, batch_norm and layer_norm
 * weight and bias, embedding tables); in the step graph each is a graph input of the same
 * name, type and layout as the constant it replaces (PyTorch's layout: the graph given is
 * the one the frontend loaded, before any pass), so the loop owns the parameters as
 * mutable buffers and feeds them to every step. */
#ifndef SLIMC_PASSES_AUTODIFF_H
#define SLIMC_PASSES_AUTODIFF_H

#include "ir/diag.h"
#include "ir/graph.h"

typedef enum TrainLossKind {
    /* labels i64 [N]: class indices into the model output's last axis ([N, C]); a label of
     * ignore_index is skipped, the loss is the mean over the other samples (0 if none), as
     * F.cross_entropy(reduction="mean", ignore_index=-100). */
    TRAIN_LOSS_CROSS_ENTROPY,
    /* as above, the model's output taken as log-probabilities (F.nll_loss) */
    TRAIN_LOSS_NLL,
    /* target of the output's type and shape: mean of squares (F.mse_loss) */
    TRAIN_LOSS_MSE,
    /* Hinton's: alpha * T^2 * KL(softmax(t/T) || softmax(s/T)) (batchmean) + (1 - alpha) *
     * CE(s, labels) (mean over the labeled samples, 0 for a batch without any); t is the
     * teacher's output (an input of the output's type and shape), s the model's output */
    TRAIN_LOSS_DISTILL,
} TrainLossKind;

typedef struct TrainSpec {
    TrainLossKind loss;
    double temperature;   /* TRAIN_LOSS_DISTILL: T > 0 */
    double alpha;         /* TRAIN_LOSS_DISTILL: in [0, 1] */
    int64_t ignore_index; /* -100 unless set otherwise */
} TrainSpec;

/* TrainSpec with PyTorch's defaults (cross entropy, ignore_index -100, T 1, alpha 0.5). */
void pass_autodiff_spec_default(TrainSpec *s);

typedef struct TrainGraph {
    /* The step graph. Inputs: the model's inputs in order, then "labels" (i64 [N]) when the
     * loss takes labels (CE, NLL, DISTILL), then "target" (the output's type and shape)
     * for MSE and DISTILL (the teacher's output), then the n_params parameters. Outputs:
     * "loss" (f32, shape [] or [1]), then "<param>.grad" for each parameter in order,
     * of the parameter's type and shape. Owned: pass_autodiff_train_graph_free frees it. */
    Graph *g;
    int n_params;
    const char **param_names; /* [n_params]: the constants' names (the state_dict's) */
    ValueId *param_consts;    /* [n_params]: the constants of the graph given */
    int first_param_input;    /* g->inputs[first_param_input + i] is parameter i */
    int labels_input;         /* index in g->inputs, or -1 */
    int target_input;         /* index in g->inputs, or -1 */
    /* Batch norm trains on the batch's statistics (batch_norm_train); so that the loop can
     * update the running ones as PyTorch does, the step also outputs, after the gradients,
     * each batch norm's batch mean and biased variance ([C] each): outputs first_bn_output +
     * 2k and + 2k + 1 for layer k, whose running_mean and running_var constants (in the graph
     * given) are bn_running[2k] and bn_running[2k + 1], taken over the batch size times
     * bn_count[k] (the spatial size) values a channel, with momentum bn_momentum[k]. */
    int n_bn;
    int first_bn_output;
    ValueId *bn_running; /* [2 * n_bn] */
    int64_t *bn_count;   /* [n_bn] */
    double *bn_momentum; /* [n_bn]: the layer's momentum attribute (PyTorch's, 0.1 default) */
    /* Dropout (a model loaded for training has dropout nodes): dropout k becomes x times
     * mask k, inputs first_mask_input + k (right after the model's inputs, before labels),
     * named "<node>.mask", of x's type; the loop fills each with 0 (probability
     * dropout_ratio[k]) or 1 / (1 - ratio) for every step, as F.dropout scales. */
    int n_dropout;
    int first_mask_input;
    double *dropout_ratio; /* [n_dropout] */
} TrainGraph;

/* Builds the step graph of fwd (not modified: the step graph is a new graph that shares
 * fwd's names and constant payloads, so fwd must outlive it) for the model's first output.
 * Every node the loss depends on must have a gradient rule: if some do not, one error lists
 * every such op (and where it is) and nothing is built. False with errors in d. */
bool pass_autodiff_train_graph(const Graph *fwd, const TrainSpec *spec, TrainGraph *out, Diag *d);
void pass_autodiff_train_graph_free(TrainGraph *t);

#endif
