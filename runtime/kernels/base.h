/* base.h - the first part of the generated runtime header (runtime/slimc_rt.h, see
 * cmake/rt_parts.cmake): the libc, pthread and math headers, and the small helpers that
 * generated code and every kernel family use. */
#ifndef SLIMC_RT_BASE_H
#define SLIMC_RT_BASE_H

#if !defined(_POSIX_C_SOURCE) && !defined(_GNU_SOURCE)
#define _POSIX_C_SOURCE 200809L
#endif

#include <math.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Vectorize loops whose trip count is only known at run time (gcc's -O2 cost model does
 * not), without any fast-math: IEEE results are kept. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("vect-cost-model=dynamic")
#endif

#if defined(__GNUC__)
#define SLIMC_RT_UNUSED __attribute__((unused))
#else
#define SLIMC_RT_UNUSED
#endif

/* Checked sizes, as slimc's ir/checked.h does them: adds c times the product of the symbol
 * values named by the bits of mask to *acc; 0 when a product or the sum overflows or the
 * total passes 2^62 (a size no machine holds). The generated code checks every size that
 * depends on symbol values with it before any is used. */
static SLIMC_RT_UNUSED int slimc_rt_ckd_mac(int64_t *acc, int64_t c, uint32_t mask,
                                            const int64_t *syms)
{
    for (int i = 0; i < 32; i++)
        if (((mask >> i) & 1u) && __builtin_mul_overflow(c, syms[i], &c))
            return 0;
    return !__builtin_add_overflow(*acc, c, acc) && *acc <= ((int64_t)1 << 62);
}

static SLIMC_RT_UNUSED inline int64_t slimc_rt_min(int64_t a, int64_t b)
{
    return a < b ? a : b;
}
static SLIMC_RT_UNUSED inline int64_t slimc_rt_max(int64_t a, int64_t b)
{
    return a > b ? a : b;
}
/* Floor and ceiling division for a >= 0 or any sign of a, b > 0. */
static SLIMC_RT_UNUSED inline int64_t slimc_rt_div_floor(int64_t a, int64_t b)
{
    return a >= 0 ? a / b : -((-a + b - 1) / b);
}
static SLIMC_RT_UNUSED inline int64_t slimc_rt_div_ceil(int64_t a, int64_t b)
{
    return a >= 0 ? (a + b - 1) / b : -((-a) / b);
}
/* PyTorch semantics: relu(NaN) = NaN, sigmoid via expf. */
static SLIMC_RT_UNUSED inline float slimc_rt_relu(float x)
{
    return x > 0.0f ? x : (x != x ? x : 0.0f);
}
static SLIMC_RT_UNUSED inline float slimc_rt_sigmoid(float x)
{
    return 1.0f / (1.0f + expf(-x));
}

#endif /* SLIMC_RT_BASE_H */
