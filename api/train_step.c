/* One compiled training step (api/train_step.h). The step graph (passes/autodiff.c) is
 * wrapped in a SlimcModel of its own and compiled by slimc_compile like any model, with a
 * pipeline that keeps it a training graph: fold, dce, cse, fuse and memplan only (no
 * bn_fold, no layout: the parameters are inputs, in PyTorch's layout, so nothing is
 * transposed or packed, and no pass can treat them as constants). Each run hands the
 * caller's parameter buffers to the compiled code as inputs and copies the loss and the
 * gradients out. */
#include "api/train_step.h"

#include "ir/rng.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What the step graph goes through before code generation. */
static const char train_pipeline[] = "fold,dce,cse,fuse,dce,memplan";

struct ApiTrainStep {
    SlimcModel *step; /* the step graph as a model (owns it) */
    SlimcExec *exec;
    TrainGraph tg;           /* tg.g moved into step */
    SlimcTensor *param_init; /* [n_params] views of the source model's constants */
    int n_model_inputs;
    int64_t n_classes; /* the output's last dim (losses over classes), else 0 */
    int64_t ignore_index;
    const Graph *src; /* the model's graph (names of the running statistics) */
    float **bn_stats; /* [2 * n_bn] the last run's batch mean and variance, [C] each */
    int64_t batch;    /* the last run's batch size */
    uint64_t dropout_seed;
    float **masks;      /* [n_dropout] the last run's dropout masks */
    size_t *mask_count; /* [n_dropout] their sizes */
    size_t *mask_cap;   /* [n_dropout] their buffers' */
};

static void tensor_of(const Graph *g, ValueId v, const void *data, SlimcTensor *t)
{
    const Type *ty = &g->values[v].type;
    memset(t, 0, sizeof *t);
    t->dtype = (SlimcDType)ty->dtype;
    t->ndim = ty->shape.rank;
    size_t n = 1;
    for (int i = 0; i < ty->shape.rank; i++) {
        t->shape[i] = ty->shape.d[i].c;
        n *= (size_t)ty->shape.d[i].c;
    }
    t->data = (void *)(uintptr_t)data;
    t->nbytes = n * ir_dtype_bytes(ty->dtype, 1);
}

ApiTrainStep *api_train_step_new(SlimcContext *ctx, SlimcModel *m, const TrainSpec *spec,
                                 const SlimcOptions *o)
{
    if (m->optimized) {
        ir_diag_error(&ctx->diag, (SrcLoc){m->g->source, 0, 0},
                      "model '%s' was optimized for inference: load it again to train it",
                      m->g->name);
        return NULL;
    }
    ApiTrainStep *s = calloc(1, sizeof *s);
    SLIMC_ASSERT(s);
    double t0 = api_now_ms();
    m->g->max_memory = ctx->max_memory;
    if (!pass_autodiff_train_graph(m->g, spec, &s->tg, &ctx->diag)) {
        free(s);
        return NULL;
    }
    ctx->t.passes += api_now_ms() - t0;
    s->n_model_inputs = m->g->n_inputs;
    s->src = m->g;
    s->bn_stats = calloc(2 * (size_t)s->tg.n_bn + 1, sizeof *s->bn_stats);
    SLIMC_ASSERT(s->bn_stats);
    for (int k = 0; k < 2 * s->tg.n_bn; k++) {
        const Type *rt = &m->g->values[s->tg.bn_running[k]].type;
        s->bn_stats[k] = calloc((size_t)rt->shape.d[0].c + 1, sizeof(float));
        SLIMC_ASSERT(s->bn_stats[k]);
    }
    s->masks = calloc((size_t)s->tg.n_dropout + 1, sizeof *s->masks);
    s->mask_count = calloc((size_t)s->tg.n_dropout + 1, sizeof *s->mask_count);
    s->mask_cap = calloc((size_t)s->tg.n_dropout + 1, sizeof *s->mask_cap);
    SLIMC_ASSERT(s->masks && s->mask_count && s->mask_cap);
    s->ignore_index = spec->ignore_index;
    const Type *yt = &m->g->values[m->g->outputs[0]].type;
    s->n_classes = spec->loss != TRAIN_LOSS_MSE ? yt->shape.d[yt->shape.rank - 1].c : 0;
    s->step = calloc(1, sizeof *s->step);
    SLIMC_ASSERT(s->step);
    s->step->g = s->tg.g;
    s->tg.g = NULL;
    s->step->g->max_memory = ctx->max_memory;
    s->step->weight_bytes_loaded = ir_weight_bytes(s->step->g);
    api_model_describe(s->step);
    s->param_init = calloc((size_t)s->tg.n_params + 1, sizeof *s->param_init);
    SLIMC_ASSERT(s->param_init);
    for (int i = 0; i < s->tg.n_params; i++) {
        ValueId v = s->tg.param_consts[i];
        tensor_of(m->g, v, m->g->values[v].data, &s->param_init[i]);
    }
    SlimcOptions so;
    if (o)
        so = *o;
    else
        slimc_options_default(&so);
    so.passes = train_pipeline;
    so.device = SLIMC_DEVICE_CPU;
    if (slimc_compile(ctx, s->step, &so, &s->exec) != SLIMC_OK) {
        api_train_step_free(s);
        return NULL;
    }
    return s;
}

SlimcStatus api_train_step_profile(SlimcContext *ctx, ApiTrainStep *s, FILE *out, const char *trace)
{
    return slimc_exec_profile(ctx, s->exec, out, trace);
}

void api_train_step_free(ApiTrainStep *s)
{
    if (!s)
        return;
    slimc_exec_free(s->exec);
    slimc_model_free(s->step);
    for (int k = 0; s->bn_stats && k < 2 * s->tg.n_bn; k++)
        free(s->bn_stats[k]);
    for (int k = 0; s->masks && k < s->tg.n_dropout; k++)
        free(s->masks[k]);
    free(s->masks);
    free(s->mask_count);
    free(s->mask_cap);
    free(s->bn_stats);
    pass_autodiff_train_graph_free(&s->tg);
    free(s->param_init);
    free(s);
}

int api_train_step_num_params(const ApiTrainStep *s)
{
    return s->tg.n_params;
}

const char *api_train_step_param_name(const ApiTrainStep *s, int i)
{
    return i >= 0 && i < s->tg.n_params ? s->tg.param_names[i] : NULL;
}

const SlimcTensor *api_train_step_param_init(const ApiTrainStep *s, int i)
{
    return i >= 0 && i < s->tg.n_params ? &s->param_init[i] : NULL;
}

bool api_train_step_takes_labels(const ApiTrainStep *s)
{
    return s->tg.labels_input >= 0;
}

bool api_train_step_takes_target(const ApiTrainStep *s)
{
    return s->tg.target_input >= 0;
}

int api_train_step_num_batch_norms(const ApiTrainStep *s)
{
    return s->tg.n_bn;
}

const char *api_train_step_bn_running_name(const ApiTrainStep *s, int k, int var)
{
    if (k < 0 || k >= s->tg.n_bn)
        return NULL;
    return s->src->values[s->tg.bn_running[2 * k + (var ? 1 : 0)]].name;
}

void api_train_step_bn_batch_stats(const ApiTrainStep *s, int k, const float **mean,
                                   const float **var, int64_t *channels, int64_t *n)
{
    SLIMC_ASSERT(k >= 0 && k < s->tg.n_bn);
    *channels = s->src->values[s->tg.bn_running[2 * k]].type.shape.d[0].c;
    *mean = s->bn_stats[2 * k];
    *var = s->bn_stats[2 * k + 1];
    *n = s->batch * s->tg.bn_count[k];
}

ValueId api_train_step_bn_running_value(const ApiTrainStep *s, int k, int var)
{
    SLIMC_ASSERT(k >= 0 && k < s->tg.n_bn);
    return s->tg.bn_running[2 * k + (var ? 1 : 0)];
}

ValueId api_train_step_param_value(const ApiTrainStep *s, int i)
{
    SLIMC_ASSERT(i >= 0 && i < s->tg.n_params);
    return s->tg.param_consts[i];
}

double api_train_step_bn_momentum(const ApiTrainStep *s, int k)
{
    SLIMC_ASSERT(k >= 0 && k < s->tg.n_bn);
    return s->tg.bn_momentum[k];
}

/* Every label a class or ignore_index: the error names the first that is not. */
static bool check_labels(SlimcContext *ctx, const ApiTrainStep *s, const SlimcTensor *labels)
{
    const Graph *g = s->step->g;
    if (labels->dtype != SLIMC_I64 || labels->ndim != 1) {
        ir_diag_error(&ctx->diag, (SrcLoc){g->source, 0, 0},
                      "labels must be i64 [N] (class indices), got %s of rank %d",
                      slimc_dtype_name(labels->dtype), labels->ndim);
        return false;
    }
    const int64_t *y = labels->data;
    for (int64_t i = 0; i < labels->shape[0]; i++)
        if (y[i] != s->ignore_index && (y[i] < 0 || y[i] >= s->n_classes)) {
            ir_diag_error(&ctx->diag, (SrcLoc){g->source, 0, 0},
                          "label %lld (sample %lld) is out of range: the model has %lld classes "
                          "(%lld marks a sample without a label)",
                          (long long)y[i], (long long)i, (long long)s->n_classes,
                          (long long)s->ignore_index);
            return false;
        }
    return true;
}

void api_train_step_set_dropout_seed(ApiTrainStep *s, uint64_t seed)
{
    s->dropout_seed = seed;
}

int api_train_step_num_dropouts(const ApiTrainStep *s)
{
    return s->tg.n_dropout;
}

const float *api_train_step_dropout_mask(const ApiTrainStep *s, int k, size_t *count)
{
    SLIMC_ASSERT(k >= 0 && k < s->tg.n_dropout);
    *count = s->mask_count[k];
    return s->masks[k];
}

/* Draws every dropout mask for this run, of the shape its input takes with the symbols the
 * model's inputs bind: 0 with probability ratio, else 1 / (1 - ratio). One generator
 * (ir/rng.h) seeded with the step's dropout seed, masks in order, elements in order. */
static bool draw_masks(SlimcContext *ctx, ApiTrainStep *s, const SlimcTensor *inputs,
                       SlimcTensor *in)
{
    const Graph *g = s->step->g;
    int64_t sym[IR_MAX_SYMS];
    for (int k = 0; k < IR_MAX_SYMS; k++)
        sym[k] = 1;
    for (int i = 0; i < s->n_model_inputs; i++) {
        const Shape *sh = &g->values[g->inputs[i]].type.shape;
        for (int j = 0; j < sh->rank && j < inputs[i].ndim; j++) {
            Dim dm = sh->d[j];
            if (dm.syms && !(dm.syms & (dm.syms - 1)) && dm.c > 0 && inputs[i].shape[j] % dm.c == 0)
                sym[__builtin_ctz(dm.syms)] = inputs[i].shape[j] / dm.c;
        }
    }
    uint64_t rng = s->dropout_seed;
    for (int k = 0; k < s->tg.n_dropout; k++) {
        ValueId v = g->inputs[s->tg.first_mask_input + k];
        const Shape *sh = &g->values[v].type.shape;
        SlimcTensor *t = &in[s->tg.first_mask_input + k];
        memset(t, 0, sizeof *t);
        t->dtype = SLIMC_F32;
        t->ndim = sh->rank;
        size_t n = 1;
        for (int j = 0; j < sh->rank; j++) {
            int64_t e;
            if (!ir_dim_eval_ckd(sh->d[j], sym, &e) || e <= 0 || (size_t)e > SIZE_MAX / 4 / n) {
                ir_diag_error(&ctx->diag, (SrcLoc){g->source, 0, 0},
                              "the dropout mask '%s' has no size for these inputs",
                              g->values[v].name);
                return false;
            }
            t->shape[j] = e;
            n *= (size_t)e;
        }
        if (n > s->mask_cap[k]) {
            free(s->masks[k]);
            s->masks[k] = malloc(n * sizeof(float));
            SLIMC_ASSERT(s->masks[k]);
            s->mask_cap[k] = n;
        }
        s->mask_count[k] = n;
        double p = s->tg.dropout_ratio[k];
        float keep = p < 1 ? (float)(1.0 / (1.0 - p)) : 0.0f;
        float *m = s->masks[k];
        for (size_t e = 0; e < n; e++)
            m[e] = ir_rng_uniform(&rng) < p ? 0.0f : keep;
        t->data = m;
        t->nbytes = n * sizeof(float);
    }
    return true;
}

SlimcStatus api_train_step_run(SlimcContext *ctx, ApiTrainStep *s, const SlimcTensor *inputs,
                               int n_inputs, const SlimcTensor *labels, const SlimcTensor *target,
                               float *const *params, double *loss, float *const *grads)
{
    const Graph *g = s->step->g;
    SrcLoc at = {g->source, 0, 0};
    if (n_inputs != s->n_model_inputs) {
        ir_diag_error(&ctx->diag, at, "model '%s' takes %d inputs (given %d)", g->name,
                      s->n_model_inputs, n_inputs);
        return SLIMC_ERROR;
    }
    if (!labels != (s->tg.labels_input < 0) || !target != (s->tg.target_input < 0)) {
        ir_diag_error(&ctx->diag, at, "this loss takes %s labels and %s target",
                      s->tg.labels_input >= 0 ? "" : "no", s->tg.target_input >= 0 ? "a" : "no");
        return SLIMC_ERROR;
    }
    if (labels && !check_labels(ctx, s, labels))
        return SLIMC_ERROR;
    int n_in = g->n_inputs, n_out = g->n_outputs, np = s->tg.n_params;
    SlimcTensor *in = calloc((size_t)n_in + 1, sizeof *in);
    SlimcTensor *out = calloc((size_t)n_out + 1, sizeof *out);
    SLIMC_ASSERT(in && out);
    for (int i = 0; i < n_inputs; i++)
        in[i] = inputs[i];
    if (!draw_masks(ctx, s, inputs, in)) {
        free(in);
        free(out);
        return SLIMC_ERROR;
    }
    if (labels)
        in[s->tg.labels_input] = *labels;
    if (target)
        in[s->tg.target_input] = *target;
    for (int i = 0; i < np; i++)
        tensor_of(g, g->inputs[s->tg.first_param_input + i], params[i],
                  &in[s->tg.first_param_input + i]);
    SlimcStatus st = slimc_exec_run(ctx, s->exec, in, n_in, out, n_out);
    if (st == SLIMC_OK) {
        *loss = (double)*(const float *)out[0].data;
        for (int i = 0; i < np; i++)
            memcpy(grads[i], out[1 + i].data, out[1 + i].nbytes);
        for (int k = 0; k < 2 * s->tg.n_bn; k++)
            memcpy(s->bn_stats[k], out[s->tg.first_bn_output + k].data,
                   out[s->tg.first_bn_output + k].nbytes);
        s->batch = inputs[0].ndim > 0 ? inputs[0].shape[0] : 1;
    }
    for (int i = 0; i < n_out; i++)
        slimc_tensor_free(&out[i]);
    free(in);
    free(out);
    return st;
}
