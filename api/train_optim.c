/* Optimizers and schedules of the training loop: torch.optim's formulas, in plain C
 * (api/train_optim.h). Each update is computed per element in float, in the order torch's
 * single-tensor (foreach=False) implementation computes it, so that the results agree
 * with torch to float rounding. */
#include "api/train_optim.h"

#include "ir/arena.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

double api_train_weight_decay(const SlimcTrainOptions *o)
{
    if (o->weight_decay >= 0)
        return o->weight_decay;
    return o->optimizer == SLIMC_OPTIM_ADAMW ? 0.01 : 0.0;
}

void api_train_optim_state_init(TrainOptimState *s, const SlimcTrainOptions *o, size_t n)
{
    s->m = s->v = NULL;
    s->m_started = false;
    bool adam = o->optimizer != SLIMC_OPTIM_SGD;
    if (adam || o->momentum > 0) {
        s->m = calloc(n + 1, sizeof(float));
        SLIMC_ASSERT(s->m);
    }
    if (adam) {
        s->v = calloc(n + 1, sizeof(float));
        SLIMC_ASSERT(s->v);
    }
}

void api_train_optim_state_free(TrainOptimState *s)
{
    free(s->m);
    free(s->v);
    s->m = s->v = NULL;
}

/* torch.optim.SGD (dampening 0):
 *   g = grad + weight_decay * p
 *   buf = g on the first step, else momentum * buf + g
 *   g = g + momentum * buf (nesterov), else buf
 *   p = p - lr * g */
static void sgd_step(const SlimcTrainOptions *o, float lr, float wd, float *p, const float *grad,
                     TrainOptimState *s, size_t n)
{
    const float mom = (float)o->momentum;
    for (size_t i = 0; i < n; i++) {
        float g = grad[i];
        if (wd != 0)
            g += wd * p[i];
        if (s->m) {
            float buf = s->m_started ? mom * s->m[i] + g : g;
            s->m[i] = buf;
            g = o->nesterov ? g + mom * buf : buf;
        }
        p[i] -= lr * g;
    }
    if (s->m)
        s->m_started = true;
}

/* torch.optim.Adam / AdamW (amsgrad off), step t:
 *   AdamW: p = p * (1 - lr * weight_decay);  Adam: g = grad + weight_decay * p
 *   m = m + (1 - beta1) * (g - m)            (exp_avg.lerp_(g, 1 - beta1))
 *   v = beta2 * v + (1 - beta2) * g * g
 *   p = p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps) */
static void adam_step(const SlimcTrainOptions *o, double lr, float wd, int64_t t, float *p,
                      const float *grad, TrainOptimState *s, size_t n)
{
    const bool decoupled = o->optimizer == SLIMC_OPTIM_ADAMW;
    const float b1 = (float)o->beta1, b2 = (float)o->beta2, eps = (float)o->eps;
    const double bc1 = 1.0 - pow(o->beta1, (double)t), bc2 = 1.0 - pow(o->beta2, (double)t);
    const float step_size = (float)(lr / bc1), bc2_sqrt = (float)sqrt(bc2);
    const float decay = (float)(1.0 - lr * wd);
    size_t i = 0;
#ifdef __SSE2__
    /* four at a time: the same IEEE operations in the same order as the loop below (no
     * FMA), so the same bits; sqrtf's errno handling kept the compiler from doing this */
    const __m128 vb1 = _mm_set1_ps(1 - b1), vb2 = _mm_set1_ps(b2), vb2c = _mm_set1_ps(1 - b2),
                 veps = _mm_set1_ps(eps), vbc2 = _mm_set1_ps(bc2_sqrt),
                 vstep = _mm_set1_ps(step_size), vdecay = _mm_set1_ps(decay), vwd = _mm_set1_ps(wd);
    for (; i + 4 <= n; i += 4) {
        __m128 g = _mm_loadu_ps(grad + i), pv = _mm_loadu_ps(p + i);
        if (decoupled)
            pv = _mm_mul_ps(pv, vdecay);
        else if (wd != 0)
            g = _mm_add_ps(g, _mm_mul_ps(vwd, pv));
        __m128 m = _mm_loadu_ps(s->m + i), v = _mm_loadu_ps(s->v + i);
        m = _mm_add_ps(m, _mm_mul_ps(vb1, _mm_sub_ps(g, m)));
        v = _mm_add_ps(_mm_mul_ps(vb2, v), _mm_mul_ps(_mm_mul_ps(vb2c, g), g));
        const __m128 denom = _mm_add_ps(_mm_div_ps(_mm_sqrt_ps(v), vbc2), veps);
        pv = _mm_sub_ps(pv, _mm_mul_ps(vstep, _mm_div_ps(m, denom)));
        _mm_storeu_ps(s->m + i, m);
        _mm_storeu_ps(s->v + i, v);
        _mm_storeu_ps(p + i, pv);
    }
#endif
    for (; i < n; i++) {
        float g = grad[i];
        if (decoupled)
            p[i] *= decay;
        else if (wd != 0)
            g += wd * p[i];
        s->m[i] += (1 - b1) * (g - s->m[i]);
        s->v[i] = b2 * s->v[i] + (1 - b2) * g * g;
        float denom = sqrtf(s->v[i]) / bc2_sqrt + eps;
        p[i] -= step_size * (s->m[i] / denom);
    }
}

void api_train_optim_step(const SlimcTrainOptions *o, double lr, int64_t step, float *p,
                          const float *g, TrainOptimState *s, size_t n)
{
    SLIMC_ASSERT(step >= 1);
    const float wd = (float)api_train_weight_decay(o);
    switch (o->optimizer) {
    case SLIMC_OPTIM_SGD: sgd_step(o, (float)lr, wd, p, g, s, n); return;
    case SLIMC_OPTIM_ADAM:
    case SLIMC_OPTIM_ADAMW: adam_step(o, lr, wd, step, p, g, s, n); return;
    }
    SLIMC_ASSERT(0 && "unknown optimizer");
}

double api_train_lr_at(const SlimcTrainOptions *o, int epoch)
{
    double lr = o->lr, e = epoch;
    switch (o->schedule) {
    case SLIMC_SCHEDULE_CONSTANT: break;
    case SLIMC_SCHEDULE_STEP: lr = o->lr * pow(o->gamma, floor(e / o->step_size)); break;
    case SLIMC_SCHEDULE_COSINE: {
        double t_max = o->t_max > 0 ? o->t_max : o->epochs;
        lr = o->eta_min + (o->lr - o->eta_min) * (1 + cos(3.141592653589793 * e / t_max)) / 2;
        break;
    }
    }
    if (o->warmup_epochs > 0) {
        double w = e < o->warmup_epochs ? e : o->warmup_epochs;
        lr *= o->warmup_start + (1 - o->warmup_start) * w / o->warmup_epochs;
    }
    return lr;
}

bool api_train_options_check(const SlimcTrainOptions *o, char *why, size_t size)
{
    const char *bad = NULL;
    if (o->epochs < 1)
        bad = "epochs must be at least 1";
    else if (o->batch_size < 1)
        bad = "the batch size must be at least 1";
    else if (!(o->lr >= 0) || !isfinite(o->lr))
        bad = "the learning rate must be a finite number >= 0";
    else if (!(o->momentum >= 0) || !isfinite(o->momentum))
        bad = "momentum must be a finite number >= 0";
    else if (o->nesterov && (o->optimizer != SLIMC_OPTIM_SGD || o->momentum <= 0))
        bad = "nesterov needs SGD with momentum > 0";
    else if (!isfinite(o->weight_decay) || (o->weight_decay < 0 && o->weight_decay != -1))
        bad = "weight decay must be a finite number >= 0";
    else if (!(o->beta1 >= 0 && o->beta1 < 1) || !(o->beta2 >= 0 && o->beta2 < 1))
        bad = "betas must be in [0, 1)";
    else if (!(o->eps >= 0) || !isfinite(o->eps))
        bad = "eps must be a finite number >= 0";
    else if (o->schedule == SLIMC_SCHEDULE_STEP && o->step_size < 1)
        bad = "the step schedule needs a step size of at least 1 epoch";
    else if (!isfinite(o->gamma) || o->gamma < 0)
        bad = "gamma must be a finite number >= 0";
    else if (o->t_max < 0 || !isfinite(o->eta_min) || o->eta_min < 0)
        bad = "the cosine schedule needs t_max >= 0 (0: the epochs) and eta_min >= 0";
    else if (o->warmup_epochs < 0 || !(o->warmup_start > 0 && o->warmup_start <= 1))
        bad = "the warm-up needs warmup_epochs >= 0 and a start factor in (0, 1]";
    else if (!(o->temperature > 0) || !isfinite(o->temperature))
        bad = "the temperature must be a finite number > 0";
    else if (!(o->alpha >= 0 && o->alpha <= 1))
        bad = "alpha must be in [0, 1]";
    if (bad)
        snprintf(why, size, "%s", bad);
    return !bad;
}
