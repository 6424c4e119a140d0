/* The training loop's optimizers and learning-rate schedules (api/train_optim.c): plain C
 * over float buffers, with torch.optim's update formulas (SGD, Adam, AdamW) and its
 * schedulers' closed forms (StepLR, CosineAnnealingLR, LinearLR as a warm-up). The loop
 * (api/train.c) owns the parameters and this state; checkpoints save both. */
#ifndef SLIMC_API_TRAIN_OPTIM_H
#define SLIMC_API_TRAIN_OPTIM_H

#include "slimc/slimc.h"

/* One parameter tensor's optimizer state: SGD's momentum_buffer in m (when momentum > 0),
 * Adam's exp_avg in m and exp_avg_sq in v; NULL when the optimizer keeps none. */
typedef struct TrainOptimState {
    float *m, *v;
    bool m_started; /* SGD: the momentum buffer holds a value (torch: buf is not None) */
} TrainOptimState;

/* The state arrays the optimizer keeps for a parameter of n elements (zeroed), as
 * o->optimizer asks. */
void api_train_optim_state_init(TrainOptimState *s, const SlimcTrainOptions *o, size_t n);
void api_train_optim_state_free(TrainOptimState *s);
/* o's weight decay, the optimizer's default for -1. */
double api_train_weight_decay(const SlimcTrainOptions *o);
/* Updates p[0..n) from its gradient g as one optimizer.step() of torch does, at the
 * learning rate lr; step is the number of steps taken including this one (1 first: Adam's
 * bias correction). g is left as it was. */
void api_train_optim_step(const SlimcTrainOptions *o, double lr, int64_t step, float *p,
                          const float *g, TrainOptimState *s, size_t n);
/* The learning rate of epoch e (0-based) under o's schedule and warm-up. */
double api_train_lr_at(const SlimcTrainOptions *o, int epoch);
/* Checks the optimizer and schedule fields of o; false with a message in why. */
bool api_train_options_check(const SlimcTrainOptions *o, char *why, size_t size);

#endif
