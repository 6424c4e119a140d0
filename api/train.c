/* The training loop (slimc_train; `slimc train` and `slimc distill`): the data, mini-batches,
 * the optimizer and schedule (api/train_optim.c), validation, checkpoints and the output
 * state_dict. One compiled training step (api/train_step.h) computes the loss and the
 * gradients of a mini-batch; this file owns the parameters and the optimizer state as plain
 * float buffers. docs/training.md describes the formats and the determinism. */
#include "api/api_internal.h"
#include "api/finetune.h"
#include "api/train_optim.h"
#include "api/train_step.h"
#include "frontend/safetensors.h"
#include "ir/rng.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHECKPOINT_FORMAT "slimc-train-checkpoint"
#define CHECKPOINT_NAME   "checkpoint.safetensors"

void slimc_train_options_default(SlimcTrainOptions *o)
{
    memset(o, 0, sizeof *o);
    o->epochs = 1;
    o->batch_size = 64;
    o->shuffle = true;
    o->optimizer = SLIMC_OPTIM_ADAM;
    o->lr = 1e-3;
    o->weight_decay = -1;
    o->beta1 = 0.9;
    o->beta2 = 0.999;
    o->eps = 1e-8;
    o->gamma = 0.1;
    o->warmup_start = 1.0 / 3.0;
    o->temperature = 4;
    o->alpha = 0.7;
}

static SrcLoc at_file(const char *path)
{
    return (SrcLoc){path, 0, 0};
}

/* ---- the data ---- */

typedef struct TrainData {
    const char *path, *labels_path;
    int64_t n;           /* samples */
    size_t sample_elems; /* floats per sample */
    float *x;            /* [n, ...] */
    int64_t *y;          /* [n], or NULL */
    SlimcTensor xt;      /* as loaded */
    float *t;            /* regression targets [n, ...] (MSE), or NULL */
    size_t target_elems; /* floats per target */
} TrainData;

static void data_free(TrainData *d)
{
    if (d->x != d->xt.data) /* converted */
        free(d->x);
    slimc_tensor_free(&d->xt);
    free(d->y);
    free(d->t);
    memset(d, 0, sizeof *d);
}

/* A malloc'd copy of t (data given in memory: the finetune pass's, loaded by the pipeline). */
static void tensor_copy(const SlimcTensor *t, SlimcTensor *out)
{
    *out = *t;
    out->data = malloc(t->nbytes + 1);
    SLIMC_ASSERT(out->data);
    memcpy(out->data, t->data, t->nbytes);
}

/* Loads samples (f32, or another float type converted) checked against the model's input
 * type in (rank; every dimension but the batch's), and labels (i64 or i32, one per sample,
 * in [0, classes) or ignore_index). Errors name the file. mem: the samples and labels
 * already in memory (their files' contents), or NULL to read the files. */
static bool data_load(SlimcContext *ctx, const char *path, const char *labels_path, const Graph *g,
                      const Type *in, int64_t classes, const SlimcTensor *mem, TrainData *d)
{
    memset(d, 0, sizeof *d);
    d->path = path;
    d->labels_path = labels_path;
    if (mem)
        tensor_copy(&mem[0], &d->xt);
    else if (slimc_npy_load(ctx, path, &d->xt) != SLIMC_OK)
        return false;
    SlimcTensor *t = &d->xt;
    char want[256];
    ir_type_str(g, in, want, sizeof want);
    if (t->ndim != in->shape.rank || t->ndim < 1) {
        ir_diag_error(&ctx->diag, at_file(path),
                      "the samples have %d dimensions; the model's input is %s, so the data "
                      "must be [samples, ...] with %d dimensions",
                      t->ndim, want, in->shape.rank);
        return false;
    }
    for (int i = 1; i < t->ndim; i++)
        if (ir_dim_static(in->shape.d[i]) && in->shape.d[i].c != t->shape[i]) {
            ir_diag_error(&ctx->diag, at_file(path),
                          "dimension %d of the samples is %lld, but the model's input %s needs "
                          "%lld",
                          i, (long long)t->shape[i], want, (long long)in->shape.d[i].c);
            return false;
        }
    d->n = t->shape[0];
    d->sample_elems = 1;
    for (int i = 1; i < t->ndim; i++)
        d->sample_elems *= (size_t)t->shape[i];
    if (d->n < 1) {
        ir_diag_error(&ctx->diag, at_file(path), "the data has no samples");
        return false;
    }
    size_t total = (size_t)d->n * d->sample_elems;
    switch (t->dtype) {
    case SLIMC_F32: d->x = t->data; break;
    case SLIMC_F64:
        d->x = malloc(total * sizeof(float) + 1);
        SLIMC_ASSERT(d->x);
        for (size_t i = 0; i < total; i++)
            d->x[i] = (float)((const double *)t->data)[i];
        break;
    default:
        ir_diag_error(&ctx->diag, at_file(path), "the samples are %s; they must be f32",
                      slimc_dtype_name(t->dtype));
        return false;
    }
    if (!labels_path)
        return true;
    SlimcTensor lt;
    if (mem)
        tensor_copy(&mem[1], &lt);
    else if (slimc_npy_load(ctx, labels_path, &lt) != SLIMC_OK)
        return false;
    bool ok = false;
    if (lt.dtype != SLIMC_I64 && lt.dtype != SLIMC_I32)
        ir_diag_error(&ctx->diag, at_file(labels_path),
                      "the labels are %s; they must be i64 or i32", slimc_dtype_name(lt.dtype));
    else if (lt.ndim != 1)
        ir_diag_error(&ctx->diag, at_file(labels_path),
                      "the labels have %d dimensions; they must be one label per sample [N]",
                      lt.ndim);
    else if (lt.shape[0] != d->n)
        ir_diag_error(&ctx->diag, at_file(labels_path),
                      "%lld labels for %lld samples in '%s': there must be one label per sample",
                      (long long)lt.shape[0], (long long)d->n, path);
    else
        ok = true;
    if (ok) {
        d->y = malloc((size_t)d->n * sizeof(int64_t) + 1);
        SLIMC_ASSERT(d->y);
        for (int64_t i = 0; i < d->n; i++) {
            int64_t v = lt.dtype == SLIMC_I64 ? ((const int64_t *)lt.data)[i]
                                              : ((const int32_t *)lt.data)[i];
            if (v != -100 && (v < 0 || v >= classes)) {
                ir_diag_error(&ctx->diag, at_file(labels_path),
                              "label %lld (sample %lld) is out of range: the model has %lld "
                              "classes (0 to %lld; -100 marks a sample without a label)",
                              (long long)v, (long long)i, (long long)classes,
                              (long long)classes - 1);
                ok = false;
                break;
            }
            d->y[i] = v;
        }
    }
    slimc_tensor_free(&lt);
    return ok;
}

/* Regression targets (f32, or f64 converted) for d's samples: one per sample, each of the
 * model output's type out without its batch dimension. Errors name the file. */
static bool targets_load(SlimcContext *ctx, const char *path, const Graph *g, const Type *out,
                         TrainData *d)
{
    SlimcTensor tt;
    if (slimc_npy_load(ctx, path, &tt) != SLIMC_OK)
        return false;
    char want[256];
    ir_type_str(g, out, want, sizeof want);
    bool ok = false;
    if (tt.dtype != SLIMC_F32 && tt.dtype != SLIMC_F64)
        ir_diag_error(&ctx->diag, at_file(path), "the targets are %s; they must be f32",
                      slimc_dtype_name(tt.dtype));
    else if (tt.ndim != out->shape.rank)
        ir_diag_error(&ctx->diag, at_file(path),
                      "the targets have %d dimensions; the model's output is %s, so they must "
                      "be [samples, ...] with %d dimensions",
                      tt.ndim, want, out->shape.rank);
    else if (tt.shape[0] != d->n)
        ir_diag_error(&ctx->diag, at_file(path),
                      "%lld targets for %lld samples in '%s': there must be one per sample",
                      (long long)tt.shape[0], (long long)d->n, d->path);
    else
        ok = true;
    d->target_elems = 1;
    for (int i = 1; ok && i < tt.ndim; i++) {
        if (!ir_dim_static(out->shape.d[i]) || out->shape.d[i].c != tt.shape[i]) {
            ir_diag_error(&ctx->diag, at_file(path),
                          "dimension %d of the targets is %lld, but the model's output is %s", i,
                          (long long)tt.shape[i], want);
            ok = false;
        }
        d->target_elems *= (size_t)tt.shape[i];
    }
    if (ok) {
        size_t total = (size_t)d->n * d->target_elems;
        d->t = malloc(total * sizeof(float) + 1);
        SLIMC_ASSERT(d->t);
        for (size_t i = 0; i < total; i++)
            d->t[i] = tt.dtype == SLIMC_F32 ? ((const float *)tt.data)[i]
                                            : (float)((const double *)tt.data)[i];
        for (size_t i = 0; i < total && ok; i++)
            if (!isfinite(d->t[i])) {
                ir_diag_error(&ctx->diag, at_file(path), "target %zu is not finite", i);
                ok = false;
            }
    }
    slimc_tensor_free(&tt);
    return ok;
}

/* ---- the loop's state ---- */

typedef struct Trainer {
    SlimcContext *ctx;
    SlimcModel *m;
    const SlimcTrainOptions *o;
    const SlimcOptions *compile; /* o->compile, or the defaults */
    ApiTrainStep *step;
    int n_params;
    float **params, **grads; /* [n_params], each the parameter's size */
    size_t *sizes;           /* elements of each */
    TrainOptimState *state;
    /* keep_zeros: mask[i][j] is 1 where element j of parameter i was 0 at the start and
     * stays 0 (NULL for a parameter with no such element or not masked) */
    uint8_t **mask;
    /* Batch norms' running statistics, as PyTorch's train() keeps them: running[2k] is
     * layer k's running_mean, running[2k + 1] its running_var ([bn_channels[k]] each);
     * num_batches_tracked is the optimizer steps taken (each step one forward). */
    int n_bn;
    float **running;
    int64_t *bn_channels;
    int epoch;     /* epochs done */
    int64_t steps; /* optimizer steps taken */
    uint64_t rng;  /* the shuffling generator's state (ir/rng.h) */
    char ckpt_path[4096];
    bool have_ckpt;     /* a checkpoint was written (or resumed from) */
    double last_finite; /* the last finite loss (NaN before the first step) */
    int64_t last_finite_step;
    double drawn_ms; /* when the progress line was last drawn */
} Trainer;

static void trainer_free(Trainer *t)
{
    for (int i = 0; i < t->n_params; i++) {
        free(t->params[i]);
        free(t->grads[i]);
        if (t->state)
            api_train_optim_state_free(&t->state[i]);
    }
    for (int i = 0; t->mask && i < t->n_params; i++)
        free(t->mask[i]);
    for (int k = 0; t->running && k < 2 * t->n_bn; k++)
        free(t->running[k]);
    free(t->mask);
    free(t->running);
    free(t->bn_channels);
    free(t->params);
    free(t->grads);
    free(t->sizes);
    free(t->state);
    api_train_step_free(t->step);
}

static size_t tensor_elems(const SlimcTensor *t)
{
    size_t n = 1;
    for (int i = 0; i < t->ndim; i++)
        n *= (size_t)t->shape[i];
    return n;
}

/* The constant of g named name (a running statistic), NULL if none. */
static const Value *const_named(const Graph *g, const char *name)
{
    for (int v = 0; name && v < g->n_values; v++)
        if (g->values[v].kind == IR_VALUE_CONST && g->values[v].name &&
            strcmp(g->values[v].name, name) == 0)
            return &g->values[v];
    return NULL;
}

/* keep_zeros: which elements of a weight (rank 2 or more: conv, linear, embedding; not a
 * norm's scale or a bias, where a 0 is an initial value, not a pruned one) are 0 at the
 * start; NULL when none is. */
static uint8_t *zero_mask(const SlimcTensor *init, const float *p, size_t n)
{
    if (init->ndim < 2)
        return NULL;
    uint8_t *mk = NULL;
    for (size_t j = 0; j < n; j++)
        if (p[j] == 0) {
            if (!mk) {
                mk = calloc(n + 1, 1);
                SLIMC_ASSERT(mk);
            }
            mk[j] = 1;
        }
    return mk;
}

static void trainer_alloc(Trainer *t)
{
    int n = t->n_params = api_train_step_num_params(t->step);
    t->params = calloc((size_t)n + 1, sizeof *t->params);
    t->grads = calloc((size_t)n + 1, sizeof *t->grads);
    t->sizes = calloc((size_t)n + 1, sizeof *t->sizes);
    t->state = calloc((size_t)n + 1, sizeof *t->state);
    SLIMC_ASSERT(t->params && t->grads && t->sizes && t->state);
    for (int i = 0; i < n; i++) {
        const SlimcTensor *init = api_train_step_param_init(t->step, i);
        SLIMC_ASSERT(init->dtype == SLIMC_F32);
        size_t k = t->sizes[i] = tensor_elems(init);
        t->params[i] = malloc(k * sizeof(float) + 1);
        t->grads[i] = calloc(k + 1, sizeof(float));
        SLIMC_ASSERT(t->params[i] && t->grads[i]);
        memcpy(t->params[i], init->data, k * sizeof(float));
        api_train_optim_state_init(&t->state[i], t->o, k);
    }
    t->mask = calloc((size_t)n + 1, sizeof *t->mask);
    SLIMC_ASSERT(t->mask);
    for (int i = 0; t->o->keep_zeros && i < n; i++)
        t->mask[i] = zero_mask(api_train_step_param_init(t->step, i), t->params[i], t->sizes[i]);
    int nb = t->n_bn = api_train_step_num_batch_norms(t->step);
    t->running = calloc(2 * (size_t)nb + 1, sizeof *t->running);
    t->bn_channels = calloc((size_t)nb + 1, sizeof *t->bn_channels);
    SLIMC_ASSERT(t->running && t->bn_channels);
    for (int k = 0; k < nb; k++) {
        const float *mean, *var;
        int64_t count;
        api_train_step_bn_batch_stats(t->step, k, &mean, &var, &t->bn_channels[k], &count);
        for (int j = 0; j < 2; j++) {
            const Value *v = const_named(t->m->g, api_train_step_bn_running_name(t->step, k, j));
            size_t c = (size_t)t->bn_channels[k];
            t->running[2 * k + j] = malloc(c * sizeof(float) + 1);
            SLIMC_ASSERT(t->running[2 * k + j]);
            SLIMC_ASSERT(v && v->type.dtype == IR_F32 && v->data_bytes == c * sizeof(float));
            memcpy(t->running[2 * k + j], v->data, c * sizeof(float));
        }
    }
}

/* After an optimizer update: the masked elements back to 0 and their optimizer state
 * cleared, so that a pruned weight stays pruned (PyTorch's prune: weight = weight_orig *
 * mask, whose gradient is 0 where the mask is). */
static void apply_mask(Trainer *t, int i)
{
    const uint8_t *mk = t->mask[i];
    if (!mk)
        return;
    TrainOptimState *st = &t->state[i];
    for (size_t j = 0; j < t->sizes[i]; j++)
        if (mk[j]) {
            t->params[i][j] = 0;
            if (st->m)
                st->m[j] = 0;
            if (st->v)
                st->v[j] = 0;
        }
}

/* Updates each batch norm's running statistics from the last step's batch statistics as
 * torch's batch_norm_cpu_update_stats does: running = (1 - momentum) * running + momentum *
 * batch, in double, the variance made unbiased (times n / (n - 1)) first. False when a
 * channel had one value (n = 1), which PyTorch refuses too. */
static bool bn_update(Trainer *t, const char *data_path, int64_t batch_no)
{
    for (int k = 0; k < t->n_bn; k++) {
        const float *mean, *var;
        int64_t c, n;
        api_train_step_bn_batch_stats(t->step, k, &mean, &var, &c, &n);
        if (n < 2) {
            ir_diag_error(&t->ctx->diag, at_file(data_path),
                          "batch %" PRId64 " of epoch %d gives batch norm '%s' one value a "
                          "channel: training needs more than one (a larger batch, or a batch "
                          "size that does not leave a last batch of one sample)",
                          batch_no, t->epoch + 1, api_train_step_bn_running_name(t->step, k, 0));
            return false;
        }
        double m = api_train_step_bn_momentum(t->step, k);
        double unbias = (double)n / (double)(n - 1);
        float *rm = t->running[2 * k], *rv = t->running[2 * k + 1];
        for (int64_t j = 0; j < c; j++) {
            rm[j] = (float)((1 - m) * (double)rm[j] + m * (double)mean[j]);
            rv[j] = (float)((1 - m) * (double)rv[j] + m * (double)var[j] * unbias);
        }
    }
    return true;
}

static const char *optimizer_name(SlimcOptimizer o)
{
    switch (o) {
    case SLIMC_OPTIM_SGD: return "sgd";
    case SLIMC_OPTIM_ADAM: return "adam";
    case SLIMC_OPTIM_ADAMW: return "adamw";
    }
    return "?";
}

/* ---- checkpoints ---- */

/* The checkpoint (docs/training.md): a safetensors file with "param.NAME" (the parameter),
 * "optim.NAME.exp_avg" and "optim.NAME.exp_avg_sq" (Adam, AdamW) or
 * "optim.NAME.momentum_buffer" (SGD with momentum) for each parameter, and in its
 * metadata format, version, optimizer, epoch (epochs done), step (optimizer steps taken),
 * rng (the shuffling generator's state, a decimal u64) and momentum_started. */
static bool checkpoint_write(Trainer *t, const char *path)
{
    int n = t->n_params, k = 0, cap = 3 * n + 2 * t->n_bn + 1;
    StWriteTensor *w = calloc((size_t)cap, sizeof *w);
    char **names = calloc((size_t)cap, sizeof *names);
    SLIMC_ASSERT(w && names);
    for (int i = 0; i < n; i++) {
        const SlimcTensor *init = api_train_step_param_init(t->step, i);
        const char *name = api_train_step_param_name(t->step, i);
        bool sgd = t->o->optimizer == SLIMC_OPTIM_SGD;
        const struct {
            const char *prefix, *suffix;
            const float *data;
        } parts[3] = {{"param.", "", t->params[i]},
                      {"optim.", sgd ? ".momentum_buffer" : ".exp_avg", t->state[i].m},
                      {"optim.", ".exp_avg_sq", t->state[i].v}};
        for (int p = 0; p < 3; p++) {
            if (!parts[p].data)
                continue;
            size_t len = strlen(name) + 32;
            names[k] = malloc(len);
            SLIMC_ASSERT(names[k]);
            snprintf(names[k], len, "%s%s%s", parts[p].prefix, name, parts[p].suffix);
            w[k] = (StWriteTensor){names[k],    IR_F32,        init->ndim,
                                   init->shape, parts[p].data, t->sizes[i] * sizeof(float)};
            k++;
        }
    }
    for (int j = 0; j < 2 * t->n_bn; j++) { /* "state.NAME": the running statistics */
        const char *name = api_train_step_bn_running_name(t->step, j / 2, j % 2);
        size_t len = strlen(name) + 8;
        names[k] = malloc(len);
        SLIMC_ASSERT(names[k]);
        snprintf(names[k], len, "state.%s", name);
        w[k] = (StWriteTensor){names[k],
                               IR_F32,
                               1,
                               &t->bn_channels[j / 2],
                               t->running[j],
                               (size_t)t->bn_channels[j / 2] * sizeof(float)};
        k++;
    }
    char meta[512];
    snprintf(meta, sizeof meta,
             "{\"format\": \"" CHECKPOINT_FORMAT "\", \"version\": \"1\", \"optimizer\": \"%s\", "
             "\"epoch\": \"%d\", \"step\": \"%" PRId64 "\", \"rng\": \"%" PRIu64 "\", "
             "\"momentum_started\": \"%d\"}",
             optimizer_name(t->o->optimizer), t->epoch, t->steps, t->rng,
             n > 0 && t->state[0].m_started);
    bool ok = fe_st_write(path, w, k, meta, &t->ctx->diag);
    for (int i = 0; i < k; i++)
        free(names[i]);
    free(names);
    free(w);
    return ok;
}

static bool meta_int(SlimcContext *ctx, const StFile *f, const char *key, int64_t lo, uint64_t *out)
{
    const char *v = fe_st_metadata_get(f, key);
    char *end = NULL;
    unsigned long long x = v ? strtoull(v, &end, 10) : 0;
    if (!v || !*v || *end || (v[0] == '-') || (lo > 0 && x < (unsigned long long)lo)) {
        ir_diag_error(&ctx->diag, at_file(f->path),
                      "not a slimc training checkpoint: metadata '%s' is missing or not a "
                      "number",
                      key);
        return false;
    }
    *out = x;
    return true;
}

/* Copies tensor name of f (f32, n elements) into dst; false with an error naming it. */
static bool checkpoint_tensor(SlimcContext *ctx, StFile *f, const char *name, float *dst, size_t n)
{
    StTensor *s = fe_st_find(f, name);
    if (!s || s->dtype != IR_F32 || s->nbytes != n * sizeof(float)) {
        ir_diag_error(&ctx->diag, at_file(f->path),
                      "the checkpoint %s '%s' of %zu f32 values: was it written for another "
                      "model or optimizer?",
                      s ? "has a tensor" : "lacks the tensor", name, n);
        return false;
    }
    memcpy(dst, s->data, n * sizeof(float));
    return true;
}

static bool checkpoint_read(Trainer *t, const char *path)
{
    SlimcContext *ctx = t->ctx;
    StFile *f = fe_st_open(path, &ctx->diag);
    if (!f)
        return false;
    bool ok = true;
    const char *fmt = fe_st_metadata_get(f, "format");
    const char *opt = fe_st_metadata_get(f, "optimizer");
    uint64_t epoch = 0, steps = 0, rng = 0, started = 0;
    if (!fmt || strcmp(fmt, CHECKPOINT_FORMAT) != 0) {
        ir_diag_error(&ctx->diag, at_file(path),
                      "not a slimc training checkpoint (no \"format\": \"" CHECKPOINT_FORMAT
                      "\" in its metadata)");
        ok = false;
    } else if (!opt || strcmp(opt, optimizer_name(t->o->optimizer)) != 0) {
        ir_diag_error(&ctx->diag, at_file(path),
                      "the checkpoint was written with the %s optimizer, not %s",
                      opt ? opt : "(unnamed)", optimizer_name(t->o->optimizer));
        ok = false;
    } else
        ok = meta_int(ctx, f, "epoch", 0, &epoch) && meta_int(ctx, f, "step", 0, &steps) &&
             meta_int(ctx, f, "rng", 0, &rng) && meta_int(ctx, f, "momentum_started", 0, &started);
    for (int i = 0; ok && i < t->n_params; i++) {
        const char *name = api_train_step_param_name(t->step, i);
        size_t len = strlen(name) + 32;
        char *buf = malloc(len);
        SLIMC_ASSERT(buf);
        snprintf(buf, len, "param.%s", name);
        ok = checkpoint_tensor(ctx, f, buf, t->params[i], t->sizes[i]);
        if (ok && t->o->optimizer == SLIMC_OPTIM_SGD && t->state[i].m) {
            snprintf(buf, len, "optim.%s.momentum_buffer", name);
            ok = checkpoint_tensor(ctx, f, buf, t->state[i].m, t->sizes[i]);
        } else if (ok && t->o->optimizer != SLIMC_OPTIM_SGD) {
            snprintf(buf, len, "optim.%s.exp_avg", name);
            ok = checkpoint_tensor(ctx, f, buf, t->state[i].m, t->sizes[i]);
            snprintf(buf, len, "optim.%s.exp_avg_sq", name);
            ok = ok && checkpoint_tensor(ctx, f, buf, t->state[i].v, t->sizes[i]);
        }
        t->state[i].m_started = started != 0;
        free(buf);
    }
    for (int j = 0; ok && j < 2 * t->n_bn; j++) {
        const char *name = api_train_step_bn_running_name(t->step, j / 2, j % 2);
        size_t len = strlen(name) + 8;
        char *buf = malloc(len);
        SLIMC_ASSERT(buf);
        snprintf(buf, len, "state.%s", name);
        ok = checkpoint_tensor(ctx, f, buf, t->running[j], (size_t)t->bn_channels[j / 2]);
        free(buf);
    }
    if (ok && epoch > (uint64_t)t->o->epochs) {
        ir_diag_error(&ctx->diag, at_file(path),
                      "the checkpoint is at epoch %llu, past the %d epochs asked for",
                      (unsigned long long)epoch, t->o->epochs);
        ok = false;
    }
    if (ok) {
        t->epoch = (int)epoch;
        t->steps = (int64_t)steps;
        t->rng = rng;
    }
    fe_st_close(f);
    return ok;
}

/* Makes dir (one level, as torch.save's callers do with os.makedirs) and checks that the
 * checkpoint would replace none of the model's files, before any training. */
static bool checkpoint_dir_ready(SlimcContext *ctx, const SlimcModel *m, const char *dir,
                                 const char *path)
{
    struct stat st;
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
        ir_diag_error(&ctx->diag, at_file(dir), "cannot make the checkpoint folder: %s",
                      strerror(errno));
        return false;
    }
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        ir_diag_error(&ctx->diag, at_file(dir), "the checkpoint folder is not a folder");
        return false;
    }
    return slimc_model_check_output(ctx, m, path) == SLIMC_OK;
}

/* ---- the output state_dict ---- */

static bool has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* Writes the parameters and the model's other state (batch norms' running statistics,
 * and the num_batches_tracked torch keeps with each) under their state_dict names. */
static bool output_write(Trainer *t, const char *path)
{
    const Graph *g = t->m->g;
    int cap = t->n_params + 3 * g->n_nodes + 1, k = 0;
    StWriteTensor *w = calloc((size_t)cap, sizeof *w);
    char **owned = calloc((size_t)cap, sizeof *owned);
    bool *taken = calloc((size_t)g->n_values + 1, sizeof *taken);
    const int64_t tracked = t->steps; /* num_batches_tracked: one forward a step */
    SLIMC_ASSERT(w && owned && taken);
    for (int i = 0; i < t->n_params; i++) {
        const SlimcTensor *init = api_train_step_param_init(t->step, i);
        w[k++] = (StWriteTensor){api_train_step_param_name(t->step, i),
                                 IR_F32,
                                 init->ndim,
                                 init->shape,
                                 t->params[i],
                                 t->sizes[i] * sizeof(float)};
    }
    for (int n = 0; n < g->n_nodes; n++) {
        const Node *node = &g->nodes[n];
        if (node->dead || node->op != IR_OP_BATCH_NORM)
            continue;
        for (int j = 1; j <= 2 && j < node->n_inputs; j++) { /* running_mean, running_var */
            ValueId v = node->inputs[j];
            const Value *val = v == IR_NONE ? NULL : &g->values[v];
            if (!val || val->kind != IR_VALUE_CONST || taken[v])
                continue;
            taken[v] = true;
            w[k++] = (StWriteTensor){val->name, val->type.dtype, val->type.shape.rank,
                                     NULL,      val->data,       val->data_bytes};
            for (int r = 0; r < 2 * t->n_bn; r++) /* the statistics as trained */
                if (strcmp(api_train_step_bn_running_name(t->step, r / 2, r % 2), val->name) == 0)
                    w[k - 1].data = t->running[r];
            int64_t *shape = calloc(IR_MAX_RANK, sizeof *shape);
            SLIMC_ASSERT(shape);
            for (int d = 0; d < val->type.shape.rank; d++)
                shape[d] = val->type.shape.d[d].c;
            w[k - 1].shape = shape;
            owned[k - 1] = (char *)shape;
            if (j == 1 && has_suffix(val->name, ".running_mean")) {
                size_t len = strlen(val->name) - strlen(".running_mean");
                char *name = malloc(len + 32);
                SLIMC_ASSERT(name);
                snprintf(name, len + 32, "%.*s.num_batches_tracked", (int)len, val->name);
                owned[k] = name;
                w[k++] = (StWriteTensor){name, IR_I64, 0, NULL, &tracked, sizeof tracked};
            }
        }
    }
    /* a name given twice (a running statistic that is also trained) is written once */
    bool ok = fe_st_write(path, w, k, "{\"format\": \"pt\"}", &t->ctx->diag);
    for (int i = 0; i < k; i++)
        free(owned[i]);
    free(owned);
    free(taken);
    free(w);
    return ok;
}

/* ---- validation ---- */

/* Accuracy (%) of the model with the current parameters on the validation data (with
 * targets: the mean squared error over every element instead): a copy of
 * the loaded graph whose parameter constants point at the loop's buffers, optimized and
 * compiled for inference like `slimc run` (the compile is cached by its code). Samples
 * labelled -100 are not counted. */
static bool evaluate(Trainer *t, const TrainData *val, double *accuracy)
{
    SlimcContext *ctx = t->ctx;
    Graph *g = ir_graph_clone(t->m->g);
    for (int i = 0; i < t->n_params; i++) {
        const char *name = api_train_step_param_name(t->step, i);
        for (int v = 0; v < g->n_values; v++)
            if (g->values[v].kind == IR_VALUE_CONST && g->values[v].name &&
                strcmp(g->values[v].name, name) == 0)
                g->values[v].data = t->params[i];
    }
    for (int r = 0; r < 2 * t->n_bn; r++) {
        const char *name = api_train_step_bn_running_name(t->step, r / 2, r % 2);
        for (int v = 0; v < g->n_values; v++)
            if (g->values[v].kind == IR_VALUE_CONST && g->values[v].name &&
                strcmp(g->values[v].name, name) == 0)
                g->values[v].data = t->running[r];
    }
    SlimcModel *vm = calloc(1, sizeof *vm);
    SLIMC_ASSERT(vm);
    vm->g = g;
    api_model_describe(vm);
    SlimcExec *e = NULL;
    bool ok = slimc_compile(ctx, vm, t->compile, &e) == SLIMC_OK;
    int64_t right = 0, counted = 0, bs = t->o->batch_size;
    double sq = 0;
    for (int64_t start = 0; ok && start < val->n; start += bs) {
        int64_t b = val->n - start < bs ? val->n - start : bs;
        SlimcTensor in = val->xt;
        in.dtype = SLIMC_F32;
        in.shape[0] = b;
        in.data = val->x + (size_t)start * val->sample_elems;
        in.nbytes = (size_t)b * val->sample_elems * sizeof(float);
        SlimcTensor out = {0};
        ok = slimc_exec_run(ctx, e, &in, 1, &out, 1) == SLIMC_OK;
        if (!ok)
            break;
        const float *o = out.data;
        if (val->t) { /* regression: the squared errors */
            size_t ne = (size_t)b * val->target_elems;
            const float *tg = val->t + (size_t)start * val->target_elems;
            for (size_t i = 0; i < ne && i < out.nbytes / sizeof(float); i++) {
                double dv = (double)o[i] - (double)tg[i];
                sq += dv * dv;
            }
            counted += (int64_t)ne;
            slimc_tensor_free(&out);
            continue;
        }
        int64_t classes = out.ndim ? out.shape[out.ndim - 1] : 1;
        for (int64_t r = 0; r < b; r++) {
            int64_t label = val->y[start + r], best = 0;
            for (int64_t c = 1; c < classes; c++)
                if (o[r * classes + c] > o[r * classes + best])
                    best = c;
            if (label != -100) {
                counted++;
                right += best == label;
            }
        }
        slimc_tensor_free(&out);
    }
    slimc_exec_free(e);
    slimc_model_free(vm);
    if (val->t)
        *accuracy = counted ? sq / (double)counted : 0; /* the MSE */
    else
        *accuracy = counted ? 100.0 * (double)right / (double)counted : 0;
    return ok;
}

/* ---- progress ---- */

static void format_eta(double s, char *buf, size_t size)
{
    long v = (long)(s + 0.5);
    if (v >= 3600)
        snprintf(buf, size, "%ld:%02ld:%02ld", v / 3600, v / 60 % 60, v % 60);
    else
        snprintf(buf, size, "%ld:%02ld", v / 60, v % 60);
}

/* ---- the loop ---- */

typedef struct Batches {
    int64_t *order;   /* [n]: this epoch's permutation of the samples */
    float *x;         /* [batch, ...] */
    int64_t *y;       /* [batch] */
    float *target;    /* [batch, classes]: the teacher's output */
    size_t out_elems; /* floats of one sample's output */
} Batches;

/* The permutation of epoch: Fisher-Yates from the last position down, j drawn with
 * ir_rng_below(rng, i + 1); the identity without shuffling. */
static void epoch_order(Trainer *t, int64_t *order, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        order[i] = i;
    if (!t->o->shuffle)
        return;
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)ir_rng_below(&t->rng, (uint64_t)i + 1);
        int64_t tmp = order[i];
        order[i] = order[j];
        order[j] = tmp;
    }
}

/* One epoch: the batches in order, a step and an update each. False after an error (a
 * NaN or infinite loss among them). */
static bool run_epoch(Trainer *t, const TrainData *data, SlimcExec *teacher, Batches *b,
                      double *mean_loss, double t_start, int first_epoch)
{
    const SlimcTrainOptions *o = t->o;
    SlimcContext *ctx = t->ctx;
    int64_t n = data->n, bs = o->batch_size;
    int64_t n_batches = (n + bs - 1) / bs;
    double lr = api_train_lr_at(o, t->epoch), sum = 0;
    bool tty = o->progress && isatty(fileno(o->progress));
    epoch_order(t, b->order, n);
    for (int64_t k = 0; k < n_batches; k++) {
        int64_t start = k * bs, rows = n - start < bs ? n - start : bs;
        for (int64_t r = 0; r < rows; r++) {
            int64_t s = b->order[start + r];
            memcpy(b->x + (size_t)r * data->sample_elems, data->x + (size_t)s * data->sample_elems,
                   data->sample_elems * sizeof(float));
            b->y[r] = data->y ? data->y[s] : -100;
            if (data->t)
                memcpy(b->target + (size_t)r * data->target_elems,
                       data->t + (size_t)s * data->target_elems,
                       data->target_elems * sizeof(float));
        }
        SlimcTensor x = data->xt, labels = {0}, target = {0};
        x.dtype = SLIMC_F32;
        x.shape[0] = rows;
        x.data = b->x;
        x.nbytes = (size_t)rows * data->sample_elems * sizeof(float);
        labels = (SlimcTensor){SLIMC_I64, 1, {rows}, b->y, (size_t)rows * sizeof(int64_t)};
        SlimcTensor tout = {0};
        if (data->t) {
            const Shape *os = &t->m->g->values[t->m->g->outputs[0]].type.shape;
            target.dtype = SLIMC_F32;
            target.ndim = os->rank;
            target.shape[0] = rows;
            for (int i = 1; i < os->rank; i++)
                target.shape[i] = os->d[i].c; /* static: targets_load checked */
            target.data = b->target;
            target.nbytes = (size_t)rows * data->target_elems * sizeof(float);
        }
        if (teacher) {
            if (slimc_exec_run(ctx, teacher, &x, 1, &tout, 1) != SLIMC_OK)
                return false;
            target = tout;
        }
        double loss = 0;
        /* the step's dropout masks follow from the seed and the step's number alone */
        uint64_t dseed = t->o->seed ^ 0x6A09E667F3BCC908ull;
        dseed += (uint64_t)t->steps * 0x9E3779B97F4A7C15ull;
        api_train_step_set_dropout_seed(t->step, ir_rng_next(&dseed));
        SlimcStatus st = api_train_step_run(
            ctx, t->step, &x, 1, api_train_step_takes_labels(t->step) ? &labels : NULL,
            api_train_step_takes_target(t->step) ? &target : NULL, t->params, &loss, t->grads);
        slimc_tensor_free(&tout);
        if (st != SLIMC_OK)
            return false;
        if (!isfinite(loss)) {
            char last[128] = "";
            if (isfinite(t->last_finite))
                snprintf(last, sizeof last, "; the last finite loss was %.6g, at step %" PRId64,
                         t->last_finite, t->last_finite_step);
            if (tty)
                fputc('\n', o->progress);
            ir_diag_error(&ctx->diag, at_file(data->path),
                          "training stopped: the loss is %s at step %" PRId64 " (epoch %d, batch "
                          "%" PRId64 ")%s; %s%s",
                          isnan(loss) ? "NaN" : "infinite", t->steps + 1, t->epoch + 1, k + 1, last,
                          t->have_ckpt ? "the last checkpoint is " : "no checkpoint was written",
                          t->have_ckpt ? t->ckpt_path : "");
            return false;
        }
        t->steps++;
        t->last_finite = loss;
        t->last_finite_step = t->steps;
        if (!bn_update(t, data->path, k + 1))
            return false;
        for (int i = 0; i < t->n_params; i++) {
            api_train_optim_step(o, lr, t->steps, t->params[i], t->grads[i], &t->state[i],
                                 t->sizes[i]);
            apply_mask(t, i);
        }
        sum += loss * (double)rows;
        if (tty && (k + 1 == n_batches || api_now_ms() - t->drawn_ms >= 100)) {
            t->drawn_ms = api_now_ms(); /* redrawn at most 10 times a second */
            double el = (api_now_ms() - t_start) / 1000;
            double done = (double)(t->epoch - first_epoch) * (double)n + (double)(start + rows);
            double left = (double)(o->epochs - t->epoch) * (double)n - (double)(start + rows);
            char eta[32];
            format_eta(el > 0 ? left * el / done : 0, eta, sizeof eta);
            fprintf(o->progress,
                    "\repoch %d/%d  step %" PRId64 "/%" PRId64 "  loss %.4f  %.0f samples/s  "
                    "ETA %s   ",
                    t->epoch + 1, o->epochs, k + 1, n_batches, loss, el > 0 ? done / el : 0, eta);
            fflush(o->progress);
        }
    }
    if (tty)
        fprintf(o->progress, "\r%*s\r", 78, "");
    *mean_loss = sum / (double)n;
    return true;
}

/* The folder out_path goes to exists and can be written: known before hours of training,
 * not after. */
static bool output_dir_writable(SlimcContext *ctx, const char *out_path)
{
    const char *slash = strrchr(out_path, '/');
    char dir[4096];
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - out_path + (slash == out_path)), out_path);
    if (access(dir, W_OK | X_OK) == 0)
        return true;
    ir_diag_error(&ctx->diag, at_file(out_path), "cannot write the output in '%s': %s", dir,
                  strerror(errno));
    return false;
}

/* Checks what the teacher gives against the student's output: the same rank and the same
 * static sizes past the batch dimension. */
static bool check_teacher(SlimcContext *ctx, SlimcModel *student, SlimcModel *teacher)
{
    const Type *s = &student->g->values[student->g->outputs[0]].type;
    const Type *t = &teacher->g->values[teacher->g->outputs[0]].type;
    bool same = s->shape.rank == t->shape.rank;
    for (int i = 1; same && i < s->shape.rank; i++)
        same = ir_dim_static(s->shape.d[i]) && ir_dim_static(t->shape.d[i]) &&
               s->shape.d[i].c == t->shape.d[i].c;
    if (!same)
        ir_diag_error(&ctx->diag, at_file(teacher->g->source),
                      "the teacher's output is %s, but the student's (%s) is %s: distillation "
                      "needs outputs of the same shape",
                      teacher->output_types[0], student->g->source, student->output_types[0]);
    return same;
}

/* The trained values into wb's constants, as new arena constants of wb (the graph the
 * trained model was cloned from, whose value ids the clone keeps): the parameters, with
 * their measured sparsity, and the running statistics. */
static void write_back(Trainer *t, Graph *wb)
{
    for (int i = 0; i < t->n_params; i++) {
        Value *v = &wb->values[api_train_step_param_value(t->step, i)];
        SLIMC_ASSERT(v->kind == IR_VALUE_CONST && v->data_bytes == t->sizes[i] * sizeof(float));
        void *mem = ir_arena_alloc(wb->arena, v->data_bytes);
        memcpy(mem, t->params[i], v->data_bytes);
        v->data = mem;
        size_t zeros = 0;
        for (size_t j = 0; j < t->sizes[i]; j++)
            zeros += t->params[i][j] == 0;
        v->sparsity = t->sizes[i] ? (float)zeros / (float)t->sizes[i] : 0;
    }
    for (int r = 0; r < 2 * t->n_bn; r++) {
        Value *v = &wb->values[api_train_step_bn_running_value(t->step, r / 2, r % 2)];
        void *mem = ir_arena_alloc(wb->arena, v->data_bytes);
        memcpy(mem, t->running[r], v->data_bytes);
        v->data = mem;
    }
}

static SlimcStatus train_impl(SlimcContext *ctx, SlimcModel *model, SlimcModel *teacher,
                              const SlimcTrainOptions *o, const char *out_path, Graph *wb,
                              const SlimcTensor *mem);

SlimcStatus slimc_train(SlimcContext *ctx, SlimcModel *model, SlimcModel *teacher,
                        const SlimcTrainOptions *o, const char *out_path)
{
    return train_impl(ctx, model, teacher, o, out_path, NULL, NULL);
}

SlimcStatus api_train_into_graph(SlimcContext *ctx, SlimcModel *model, const SlimcTrainOptions *o,
                                 const SlimcTensor *data, Graph *wb)
{
    return train_impl(ctx, model, NULL, o, NULL, wb, data);
}

static SlimcStatus train_impl(SlimcContext *ctx, SlimcModel *model, SlimcModel *teacher,
                              const SlimcTrainOptions *o, const char *out_path, Graph *wb,
                              const SlimcTensor *mem)
{
    char why[256];
    const char *src = model->g->source;
    if (!api_train_options_check(o, why, sizeof why)) {
        ir_diag_error(&ctx->diag, at_file(src), "%s", why);
        return SLIMC_ERROR;
    }
    const bool mse = o->targets != NULL;
    if (!o->data || (!o->labels && !teacher && !mse)) {
        ir_diag_error(&ctx->diag, at_file(src),
                      "training needs data and labels or targets (or, distilling, a teacher)");
        return SLIMC_ERROR;
    }
    if (mse && (o->labels || teacher || o->val_labels)) {
        ir_diag_error(&ctx->diag, at_file(o->targets),
                      "regression targets (MSE) go without labels%s",
                      teacher ? " or a teacher" : "");
        return SLIMC_ERROR;
    }
    if (o->val_targets && !mse) {
        ir_diag_error(&ctx->diag, at_file(o->val_targets),
                      "validation targets need training targets (MSE)");
        return SLIMC_ERROR;
    }
    if (!o->val_data != !(o->val_labels || o->val_targets)) {
        const char *f = o->val_data ? o->val_data : o->val_labels ? o->val_labels : o->val_targets;
        ir_diag_error(&ctx->diag, at_file(f), "validation needs both the samples and their %s",
                      mse ? "targets" : "labels");
        return SLIMC_ERROR;
    }
    if (model->optimized || model->g->n_inputs != 1 || model->g->n_outputs < 1) {
        ir_diag_error(&ctx->diag, at_file(src),
                      model->optimized ? "the model to train was already optimized: load it "
                                         "again"
                                       : "training takes a model with one input");
        return SLIMC_ERROR;
    }
    if (out_path && (slimc_model_check_output(ctx, model, out_path) != SLIMC_OK ||
                     !output_dir_writable(ctx, out_path)))
        return SLIMC_ERROR;
    if (teacher && !check_teacher(ctx, model, teacher))
        return SLIMC_ERROR;
    const Type *in = &model->g->values[model->g->inputs[0]].type;
    const Type *out = &model->g->values[model->g->outputs[0]].type;
    int64_t classes = out->shape.rank ? out->shape.d[out->shape.rank - 1].c : 1;
    if (!mse && (out->shape.rank < 2 || !ir_dim_static(out->shape.d[out->shape.rank - 1]))) {
        ir_diag_error(&ctx->diag, at_file(src),
                      "the model's output is %s: training needs [batch, classes] with a fixed "
                      "number of classes",
                      model->output_types[0]);
        return SLIMC_ERROR;
    }
    TrainData data, val = {0};
    if (!data_load(ctx, o->data, o->labels, model->g, in, classes, mem, &data) ||
        (mse && !targets_load(ctx, o->targets, model->g, out, &data)))
        return data_free(&data), SLIMC_ERROR;
    if (o->val_data &&
        (!data_load(ctx, o->val_data, o->val_labels, model->g, in, classes, NULL, &val) ||
         (mse && !targets_load(ctx, o->val_targets, model->g, out, &val)))) {
        data_free(&data);
        data_free(&val);
        return SLIMC_ERROR;
    }

    TrainSpec spec;
    pass_autodiff_spec_default(&spec);
    if (mse)
        spec.loss = TRAIN_LOSS_MSE;
    if (teacher) {
        spec.loss = TRAIN_LOSS_DISTILL;
        spec.temperature = o->temperature;
        spec.alpha = o->alpha;
    }
    SlimcOptions defaults;
    slimc_options_default(&defaults);
    const SlimcOptions *copts = o->compile ? o->compile : &defaults;
    Trainer t = {
        .ctx = ctx, .m = model, .o = o, .compile = copts, .rng = o->seed, .last_finite = NAN};
    SlimcExec *texec = NULL;
    Batches b = {0};
    bool ok = true;
    if (o->checkpoint_dir) {
        snprintf(t.ckpt_path, sizeof t.ckpt_path, "%s/" CHECKPOINT_NAME, o->checkpoint_dir);
        ok = checkpoint_dir_ready(ctx, model, o->checkpoint_dir, t.ckpt_path);
    }
    ok = ok && (t.step = api_train_step_new(ctx, model, &spec, copts)) != NULL;
    if (ok && teacher)
        ok = slimc_compile(ctx, teacher, copts, &texec) == SLIMC_OK;
    if (ok) {
        trainer_alloc(&t);
        if (o->resume) {
            ok = checkpoint_read(&t, o->resume);
            t.have_ckpt = ok;
            if (ok && !o->checkpoint_dir)
                snprintf(t.ckpt_path, sizeof t.ckpt_path, "%s", o->resume);
        }
    }
    if (ok) {
        b.order = malloc((size_t)data.n * sizeof(int64_t) + 1);
        size_t rows = (size_t)(o->batch_size < data.n ? o->batch_size : data.n);
        b.x = malloc(rows * data.sample_elems * sizeof(float) + 1);
        b.y = malloc(rows * sizeof(int64_t) + 1);
        SLIMC_ASSERT(b.order && b.x && b.y);
        if (mse) {
            b.target = malloc(rows * data.target_elems * sizeof(float) + 1);
            SLIMC_ASSERT(b.target);
        }
    }
    double t_start = api_now_ms();
    int first_epoch = t.epoch;
    while (ok && t.epoch < o->epochs) {
        double t0 = api_now_ms(), loss = 0, acc = 0;
        ok = run_epoch(&t, &data, texec, &b, &loss, t_start, first_epoch);
        if (!ok)
            break;
        double train_ms = api_now_ms() - t0; /* the steps, updates and teacher runs */
        t.epoch++;
        if (val.n)
            ok = evaluate(&t, &val, &acc);
        if (ok && o->checkpoint_dir) {
            ok = checkpoint_write(&t, t.ckpt_path);
            t.have_ckpt = ok;
        }
        if (ok && o->progress) {
            fprintf(o->progress, "epoch %d/%d: loss %.4f", t.epoch, o->epochs, loss);
            if (val.n && mse)
                fprintf(o->progress, ", val mse %.6g", acc);
            else if (val.n)
                fprintf(o->progress, ", val accuracy %.2f%%", acc);
            int64_t steps = (data.n + o->batch_size - 1) / o->batch_size;
            fprintf(o->progress, ", lr %.3g, %.2f s (%.2f ms/step)\n",
                    api_train_lr_at(o, t.epoch - 1), (api_now_ms() - t0) / 1000,
                    train_ms / (double)steps);
            fflush(o->progress);
        }
    }
    if (ok && out_path)
        ok = output_write(&t, out_path);
    if (ok && wb)
        write_back(&t, wb);
    free(b.order);
    free(b.x);
    free(b.y);
    free(b.target);
    slimc_exec_free(texec);
    trainer_free(&t);
    data_free(&data);
    data_free(&val);
    return ok ? SLIMC_OK : SLIMC_ERROR;
}
