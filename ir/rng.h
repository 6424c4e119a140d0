/* slimc's seeded generator: SplitMix64 (Steele, Lea and Flood 2014; the seeding generator of
 * xoshiro). The state is one uint64_t, which a checkpoint saves as it is; each draw adds
 * 0x9E3779B97F4A7C15 to it and mixes the sum. Used where a result must follow from a seed
 * alone: the default initialisation of a model without weights (frontend/init_params.c)
 * and the training loop's shuffles (api/train.c). docs/training.md documents the draws. */
#ifndef SLIMC_IR_RNG_H
#define SLIMC_IR_RNG_H

#include <math.h>
#include <stdint.h>

static inline uint64_t ir_rng_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Uniform in [0, 1): the top 53 bits of a draw. */
static inline double ir_rng_uniform(uint64_t *state)
{
    return (double)(ir_rng_next(state) >> 11) * 0x1.0p-53;
}

/* Uniform integer in [0, n), n >= 1: the high half of the 64x64-bit product of a draw and
 * n (Lemire's multiply-shift, without the rejection step: its bias is below 2^-32 for
 * n < 2^32). */
static inline uint64_t ir_rng_below(uint64_t *state, uint64_t n)
{
    uint64_t x = ir_rng_next(state);
    uint64_t xl = x & 0xFFFFFFFFu, xh = x >> 32, nl = n & 0xFFFFFFFFu, nh = n >> 32;
    uint64_t ll = xl * nl, lh = xl * nh, hl = xh * nl, hh = xh * nh;
    uint64_t mid = (ll >> 32) + (lh & 0xFFFFFFFFu) + (hl & 0xFFFFFFFFu);
    return hh + (lh >> 32) + (hl >> 32) + (mid >> 32);
}

/* Standard normal: Box-Muller on two uniform draws (the cosine branch only). */
static inline double ir_rng_normal(uint64_t *state)
{
    double u1 = 1.0 - ir_rng_uniform(state); /* (0, 1] */
    double u2 = ir_rng_uniform(state);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

#endif
